"""What arrived from the network, held until ``poll()`` and ``get_packet()`` take it.

This is the sans-I/O half of a transport peer, shared by the WebSocket peer and the
in-memory peers of :mod:`multiplayer.testing`. The network side *stages* events as
they happen (a peer joined, a packet came, a peer left). ``poll()`` moves them, in
arrival order, into the packet queue that ``get_packet()`` reads, and returns the
joins and leaves for the peer to emit as signals.

Two rules keep anything from being lost:

* a peer's packets are never visible before its join, and
* a leave is reported by the ``poll()`` that moves the last packets the peer sent,
  and those packets stay in the queue: they can still be taken, with
  ``get_packet_peer()`` naming the peer that left. (Godot's SceneMultiplayer drops
  the packets of a peer it no longer knows; ours reads them before it forgets the
  peer.)
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Container
from dataclasses import dataclass

from ..exceptions import InvalidState, PeerNotFound
from .peer import (
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    TransferMode,
    resolve_targets,
)

__all__ = ["Event", "Inbox", "Packet", "QueuedPeer"]


class Event(enum.Enum):
    """A change of membership that ``poll()`` reports."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(slots=True)  # not frozen: that costs a microsecond per packet
class Packet:
    """One received packet and where it came from."""

    peer: int
    data: bytes
    channel: int = 0
    mode: TransferMode = TransferMode.RELIABLE


class Inbox:
    """Staged events, the packet queue, and per-peer counts of untaken packets."""

    def __init__(self) -> None:
        self._staged: deque[Packet | tuple[Event, int]] = deque()
        self._queue: deque[Packet] = deque()
        self._pending: dict[int, int] = {}

    # Network side.

    def stage_connected(self, peer_id: int) -> None:
        """``peer_id`` joined."""
        self._staged.append((Event.CONNECTED, peer_id))

    def stage_packet(self, packet: Packet) -> None:
        """A packet arrived."""
        self._pending[packet.peer] = self._pending.get(packet.peer, 0) + 1
        self._staged.append(packet)

    def stage_disconnected(self, peer_id: int) -> None:
        """``peer_id`` left (or, on a client, the connection attempt failed)."""
        self._staged.append((Event.DISCONNECTED, peer_id))

    def pending(self, peer_id: int) -> int:
        """Packets from ``peer_id`` received and not yet taken."""
        return self._pending.get(peer_id, 0)

    def has_staged(self) -> bool:
        """Whether ``poll()`` has anything to move or report."""
        return bool(self._staged)

    # Poll side.

    def poll(self) -> list[tuple[Event, int]]:
        """Move staged packets into the queue; return the joins and leaves to report."""
        events: list[tuple[Event, int]] = []
        staged = self._staged
        while staged:
            item = staged.popleft()
            if isinstance(item, Packet):
                self._queue.append(item)
            else:
                events.append(item)
        return events

    def count(self) -> int:
        """Packets ready for ``get_packet()``."""
        return len(self._queue)

    def peek(self) -> Packet:
        """The next packet, left in place.

        Raises:
            InvalidState: The queue is empty.
        """
        if not self._queue:
            raise InvalidState("no packet available (check get_available_packet_count())")
        return self._queue[0]

    def take(self) -> Packet:
        """Remove and return the next packet.

        Raises:
            InvalidState: The queue is empty.
        """
        packet = self.peek()
        self._queue.popleft()
        remaining = self._pending[packet.peer] - 1
        if remaining:
            self._pending[packet.peer] = remaining
        else:
            del self._pending[packet.peer]
        return packet

    def forget(self, peer_id: int) -> None:
        """Drop everything from ``peer_id`` (``disconnect_peer(force=True)``)."""
        self._staged = deque(
            item
            for item in self._staged
            if (item.peer if isinstance(item, Packet) else item[1]) != peer_id
        )
        self._queue = deque(p for p in self._queue if p.peer != peer_id)
        self._pending.pop(peer_id, None)

    def clear(self) -> None:
        """Drop everything (``close()``)."""
        self._staged.clear()
        self._queue.clear()
        self._pending.clear()


class QueuedPeer(MultiplayerPeer):
    """A ``MultiplayerPeer`` whose received side is an :class:`Inbox`.

    Implements the receiving half of the API and ``poll()`` once for the WebSocket
    peer and the in-memory peers, so both report joins, leaves and packets alike.
    """

    def __init__(self) -> None:
        super().__init__()
        self._status = ConnectionStatus.DISCONNECTED
        self._unique_id = 0
        self._assigned_id = 0  # a client's id, received and not yet reported by poll()
        self._inbox = Inbox()
        # The peers poll() has reported joined and not yet left: what the user knows.
        # Targets are checked against it, so a peer that left a moment ago is not
        # "unknown" before the user was told (what is put for it goes nowhere: its
        # leave, reported at the next poll(), says so), and a peer that joined a
        # moment ago gets nothing before its peer_connected.
        self._known: dict[int, None] = {}
        self._generation = 0  # bumped by _reset(): stops a poll() in progress
        self._forced: set[int] = set()  # forgotten during the current poll()

    def get_connection_status(self) -> ConnectionStatus:
        return self._status

    def get_unique_id(self) -> int:
        return self._unique_id

    def get_available_packet_count(self) -> int:
        return self._inbox.count()

    def get_packet(self) -> bytes:
        return self._inbox.take().data

    def get_packet_peer(self) -> int:
        return self._inbox.peek().peer

    def _take_packet(self) -> tuple[int, bytes, TransferMode, int]:
        packet = self._inbox.take()
        return packet.peer, packet.data, packet.mode, packet.channel

    def get_packet_channel(self) -> int:
        return self._inbox.peek().channel

    def get_packet_mode(self) -> TransferMode:
        return self._inbox.peek().mode

    def poll(self) -> None:
        generation = self._generation
        self._forced.clear()
        for event, peer_id in self._inbox.poll():
            if self._generation != generation:
                return  # a callback closed this peer: the rest is moot
            if peer_id in self._forced:
                continue  # a callback forgot this peer (disconnect_peer(force=True))
            if event is Event.CONNECTED:
                if self._status is ConnectionStatus.CONNECTING:  # a client, told its id
                    self._unique_id = self._assigned_id
                    self._status = ConnectionStatus.CONNECTED
                self._known[peer_id] = None
                self.peer_connected.emit(peer_id)
            elif self._unique_id != TARGET_PEER_SERVER:  # a client lost the server
                was_connected = self._status is ConnectionStatus.CONNECTED
                self._reset(keep_packets=True)  # what the server sent stays readable
                if was_connected:
                    self.peer_disconnected.emit(peer_id)
            else:
                self._known.pop(peer_id, None)
                self.peer_disconnected.emit(peer_id)

    def _check_connected(self, action: str) -> None:
        if self._status is not ConnectionStatus.CONNECTED:
            raise InvalidState(f"{action} needs a connected peer; status is {self._status.name}")

    def _live_targets(self, links: Container[int]) -> list[int]:
        """Where a packet for the current target goes: the known peers it names that
        still have a link.

        Raises:
            PeerNotFound: The target is not a peer poll() reported connected.
        """
        targets = resolve_targets(self._target_peer, self._unique_id, self._known)
        return [p for p in targets if p in links]

    def _check_known(self, peer_id: int) -> None:
        if peer_id not in self._known:
            raise PeerNotFound(peer_id)

    def _forget(self, peer_id: int) -> None:
        """Drop ``peer_id`` without a signal (``disconnect_peer(force=True)``)."""
        self._known.pop(peer_id, None)
        self._inbox.forget(peer_id)
        self._forced.add(peer_id)

    def _reset(self, keep_packets: bool = False) -> None:
        """Forget every peer (and every packet, unless told); become DISCONNECTED."""
        if not keep_packets:
            self._inbox.clear()
        self._known.clear()
        self._generation += 1
        self._status = ConnectionStatus.DISCONNECTED
        self._unique_id = 0
        self._assigned_id = 0
