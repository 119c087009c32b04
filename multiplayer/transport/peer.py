"""The abstract packet transport: Godot's ``MultiplayerPeer``, and ``OfflineMultiplayerPeer``.

A multiplayer peer moves opaque packets between numbered peers. The server is peer 1;
clients get ids of 2 and up. Sending is ``set_target_peer(id)`` then ``put_packet(data)``;
receiving is ``poll()`` then, while ``get_available_packet_count()`` is positive,
``get_packet_peer()`` and ``get_packet()``. Signals fire only inside ``poll()``, so user
code never runs behind the caller's back (Godot: everything is driven by ``poll()``).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Iterable, Sequence

from ..exceptions import InvalidState, PeerNotFound
from ..signals import Signal

__all__ = [
    "TARGET_PEER_BROADCAST",
    "TARGET_PEER_SERVER",
    "ConnectionStatus",
    "MultiplayerPeer",
    "OfflineMultiplayerPeer",
    "TransferMode",
    "as_packet",
    "resolve_targets",
]

TARGET_PEER_BROADCAST = 0
"""``set_target_peer`` value that sends to every peer."""
TARGET_PEER_SERVER = 1
"""``set_target_peer`` value that sends to the server."""


class ConnectionStatus(enum.IntEnum):
    """``MultiplayerPeer.ConnectionStatus``."""

    DISCONNECTED = 0
    CONNECTING = 1
    CONNECTED = 2


class TransferMode(enum.IntEnum):
    """``MultiplayerPeer.TransferMode``.

    Over WebSocket every mode is delivered reliably and in order: there is one TCP
    stream per link (Godot's WebSocketMultiplayerPeer behaves the same).
    """

    UNRELIABLE = 0
    UNRELIABLE_ORDERED = 1
    RELIABLE = 2


class MultiplayerPeer(abc.ABC):
    """A packet transport between numbered peers.

    Signals:
        peer_connected(id): a peer joined; on a client, ``1`` once connected.
        peer_disconnected(id): a peer left; on a client, ``1`` when the link drops
            (with resuming, when the session ends: see docs/resume.md).
        peer_dropped(id): the connection of a peer was lost and its session waits to
            be resumed (on a client, ``1``: it is reconnecting). Only transports
            that resume sessions emit it.
        peer_resumed(id): that peer is back, with nothing lost.
    """

    TARGET_PEER_BROADCAST = TARGET_PEER_BROADCAST
    TARGET_PEER_SERVER = TARGET_PEER_SERVER

    def __init__(self) -> None:
        self.peer_connected: Signal[int] = Signal("peer_connected")
        self.peer_disconnected: Signal[int] = Signal("peer_disconnected")
        self.peer_dropped: Signal[int] = Signal("peer_dropped")
        self.peer_resumed: Signal[int] = Signal("peer_resumed")
        self._target_peer = TARGET_PEER_BROADCAST
        self._transfer_mode = TransferMode.RELIABLE
        self._transfer_channel = 0
        self._refuse_new_connections = False

    # Settings for the next put_packet.

    @property
    def transfer_mode(self) -> TransferMode:
        """Transfer mode of the next ``put_packet`` (default RELIABLE)."""
        return self._transfer_mode

    @transfer_mode.setter
    def transfer_mode(self, mode: TransferMode) -> None:
        self._transfer_mode = mode if type(mode) is TransferMode else TransferMode(mode)

    @property
    def transfer_channel(self) -> int:
        """Channel of the next ``put_packet``, 0 to 255 (default 0)."""
        return self._transfer_channel

    @transfer_channel.setter
    def transfer_channel(self, channel: int) -> None:
        if not 0 <= channel <= 255:
            raise ValueError(f"transfer_channel must be in 0..255, not {channel}")
        self._transfer_channel = channel

    @property
    def refuse_new_connections(self) -> bool:
        """While true, a server turns new connections away."""
        return self._refuse_new_connections

    @refuse_new_connections.setter
    def refuse_new_connections(self, refuse: bool) -> None:
        self._refuse_new_connections = bool(refuse)

    def set_target_peer(self, peer_id: int) -> None:
        """Target of the next ``put_packet``: > 0 one peer, 0 all, < 0 all but ``-peer_id``.

        On a client every packet goes to the server, whatever the target (Godot).
        """
        if not isinstance(peer_id, int) or isinstance(peer_id, bool):
            raise TypeError(f"a peer id is an int, not {type(peer_id).__name__}")
        self._target_peer = peer_id

    def get_target_peer(self) -> int:
        """The target set by ``set_target_peer``."""
        return self._target_peer

    # The transport itself.

    @abc.abstractmethod
    def put_packet(self, data: bytes) -> None:
        """Send ``data`` to the target peer(s).

        Raises:
            InvalidState: The peer is not connected.
            PeerNotFound: The target is not a connected peer.
            PacketTooLarge: ``data`` is larger than ``get_max_packet_size()``.
        """

    @abc.abstractmethod
    def get_packet(self) -> bytes:
        """Take the next received packet.

        Raises:
            InvalidState: No packet is available.
        """

    @abc.abstractmethod
    def get_available_packet_count(self) -> int:
        """How many received packets wait to be taken."""

    @abc.abstractmethod
    def get_packet_peer(self) -> int:
        """Sender of the next packet (on a client, always 1)."""

    @abc.abstractmethod
    def get_packet_channel(self) -> int:
        """Channel of the next packet."""

    @abc.abstractmethod
    def get_packet_mode(self) -> TransferMode:
        """Transfer mode of the next packet."""

    def _take_packet(self) -> tuple[int, bytes, TransferMode, int]:
        """The next packet as (sender, data, mode, channel), taken off the queue.

        What SceneMultiplayer reads a packet with: one call where Godot's API needs
        four. Peers with a faster way override it.
        """
        sender, mode, channel = (
            self.get_packet_peer(),
            self.get_packet_mode(),
            self.get_packet_channel(),
        )
        return sender, self.get_packet(), mode, channel

    def _put_many(
        self, targets: Sequence[int], data: bytes, mode: TransferMode, channel: int
    ) -> None:
        """``put_packet(data)`` for each of ``targets`` (peer ids > 0), with ``mode``
        and ``channel``: how SceneMultiplayer sends. Peers with a faster way to send
        one packet to many override it."""
        for target in targets:
            self.set_target_peer(target)
            self.transfer_mode = mode
            self.transfer_channel = channel
            self.put_packet(data)

    def _on_arrival(self, hook: Callable[[], bool] | None) -> None:
        """Ask to have ``hook()`` called as soon as packets arrive, from the event
        loop's I/O callback (None: stop). It returns whether it took them in (else the
        peer wakes ``wait_for_activity`` as usual). ``SceneTree.run(event_driven=True)``
        uses it; a peer that cannot ignores it."""
        return

    def _off_arrival(self, hook: Callable[[], bool]) -> None:
        """Stop calling ``hook`` (if it is still the one set: another tree may have
        set its own since)."""
        return

    def _defer_flush(self) -> None:
        """A frame starts: a peer that sends in batches may hold what is put until
        ``_end_deferred_flush()`` (called once per call of this, at the frame's end)."""
        return  # (most peers send at once: nothing to hold)

    def _end_deferred_flush(self) -> None:
        """The frame ended: send what was held."""
        return

    @abc.abstractmethod
    def get_max_packet_size(self) -> int:
        """The largest packet ``put_packet`` accepts."""

    @abc.abstractmethod
    def poll(self) -> None:
        """Take in what arrived since the last poll and fire the signals."""

    @abc.abstractmethod
    def close(self) -> None:
        """Drop every connection at once, with no signal; the peer becomes DISCONNECTED."""

    @abc.abstractmethod
    def disconnect_peer(self, peer_id: int, force: bool = False) -> None:
        """Close the link to one peer.

        Without ``force`` ``peer_disconnected`` follows at a later ``poll()``; with it the
        peer is forgotten at once and no signal is emitted (Godot's semantics).
        """

    def kick_peer(self, peer_id: int, reason: str) -> None:
        """Disconnect a peer for misbehaving (a WebSocket closes with 1008 and ``reason``).

        Its ``peer_disconnected`` follows at a later ``poll()``.
        """
        self.disconnect_peer(peer_id)

    @abc.abstractmethod
    def get_connection_status(self) -> ConnectionStatus:
        """DISCONNECTED, CONNECTING or CONNECTED."""

    @abc.abstractmethod
    def get_unique_id(self) -> int:
        """This peer's id: 1 on a server, 2 and up on a client, 0 before it has one."""

    def is_server(self) -> bool:
        """Whether this peer is the server (its id is 1)."""
        return self.get_unique_id() == TARGET_PEER_SERVER

    def is_server_relay_supported(self) -> bool:
        """Whether the server can relay packets between clients (SceneMultiplayer asks)."""
        return False

    @property
    def protocol(self) -> str:
        """The wire profile this peer speaks; SceneMultiplayer encodes to match it.

        Read-only: ``"native"``, this library's own, unless the peer was made for
        another (``WebSocketMultiplayerPeer(protocol=...)``).
        """
        return "native"


def as_packet(data: bytes | bytearray | memoryview) -> bytes:
    """``data`` as bytes, for ``put_packet``.

    Raises:
        TypeError: It is not bytes-like (a str must be encoded first).
    """
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"put_packet takes bytes, not {type(data).__name__}")


def resolve_targets(target: int, own_id: int, peers: Iterable[int]) -> list[int]:
    """The peers a packet for ``target`` goes to, by Godot's routing rules.

    A client only has a link to the server, so everything it sends goes to peer 1.
    On the server, ``target`` > 0 is that peer, 0 is every client and < 0 every client
    but ``-target``.

    Raises:
        PeerNotFound: A positive target is not connected.
    """
    if own_id != TARGET_PEER_SERVER:
        return [TARGET_PEER_SERVER]
    if target > 0:
        if target not in peers:
            raise PeerNotFound(target)
        return [target]
    return [p for p in peers if p != -target]


class OfflineMultiplayerPeer(MultiplayerPeer):
    """A peer with no network: always connected, id 1, a server; packets go nowhere.

    It is the default peer of ``SceneMultiplayer``, so ``call_local`` RPCs work offline.
    """

    def put_packet(self, data: bytes) -> None:
        pass

    def get_packet(self) -> bytes:
        raise InvalidState("no packet available: an offline peer receives nothing")

    def get_available_packet_count(self) -> int:
        return 0

    def get_packet_peer(self) -> int:
        raise InvalidState("no packet available: an offline peer receives nothing")

    def get_packet_channel(self) -> int:
        return 0

    def get_packet_mode(self) -> TransferMode:
        return TransferMode.RELIABLE

    def get_max_packet_size(self) -> int:
        return 2**31 - 1

    def poll(self) -> None:
        pass

    def close(self) -> None:
        pass

    def disconnect_peer(self, peer_id: int, force: bool = False) -> None:
        raise PeerNotFound(peer_id)

    def get_connection_status(self) -> ConnectionStatus:
        return ConnectionStatus.CONNECTED

    def get_unique_id(self) -> int:
        return TARGET_PEER_SERVER
