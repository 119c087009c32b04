"""What arrived from the network, held until ``poll()`` and ``get_packet()`` take it.

This is the sans-I/O half of a transport peer, shared by the WebSocket peer and the
in-memory peers of :mod:`multiplayer.testing`. The network side *stages* events as
they happen (a peer joined, a packet came, a peer left). ``poll()`` moves them, in
arrival order, into the packet queue that ``get_packet()`` reads, and returns the
joins and leaves for the peer to emit as signals.

Two rules keep anything from being lost:

* a peer's packets are never visible before its join, and
* a leave is reported only once every packet that peer sent before leaving has been
  taken with ``get_packet()``; until then the leave waits for a later ``poll()``.
  (Godot reports the leave at once, and SceneMultiplayer then drops the packets of a
  peer it no longer knows.)
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .exceptions import InvalidState
from .peer import TARGET_PEER_SERVER, ConnectionStatus, MultiplayerPeer, TransferMode

__all__ = ["Event", "Inbox", "Packet", "QueuedPeer"]


class Event(enum.Enum):
    """A change of membership that ``poll()`` reports."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class Packet:
    """One received packet and where it came from."""

    peer: int
    data: bytes
    channel: int = 0
    mode: TransferMode = TransferMode.RELIABLE


class Inbox:
    """Staged events, the packet queue, and per-peer counts for flow control.

    Args:
        on_take: Called with a peer id and its remaining count whenever a packet
            of that peer is taken; the WebSocket peer resumes reading from a
            connection it paused (see ``max_queued_packets``).
    """

    def __init__(self, on_take: Callable[[int, int], None] | None = None) -> None:
        self._staged: deque[Packet | tuple[Event, int]] = deque()
        self._queue: deque[Packet] = deque()
        self._pending: dict[int, int] = {}
        self._deferred: list[int] = []
        self._on_take = on_take

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
        return bool(self._staged) or any(not self.pending(p) for p in self._deferred)

    # Poll side.

    def poll(self) -> list[tuple[Event, int]]:
        """Move staged packets into the queue; return the joins and leaves to report."""
        events: list[tuple[Event, int]] = []
        if self._deferred:
            ready = [p for p in self._deferred if not self.pending(p)]
            for peer_id in ready:
                self._deferred.remove(peer_id)
                events.append((Event.DISCONNECTED, peer_id))
        staged = self._staged
        while staged:
            item = staged.popleft()
            if isinstance(item, Packet):
                self._queue.append(item)
            elif item[0] is Event.DISCONNECTED and self.pending(item[1]):
                self._deferred.append(item[1])
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
        if self._on_take is not None:
            self._on_take(packet.peer, remaining)
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
        if peer_id in self._deferred:
            self._deferred.remove(peer_id)

    def clear(self) -> None:
        """Drop everything (``close()``)."""
        self._staged.clear()
        self._queue.clear()
        self._pending.clear()
        self._deferred.clear()


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
        self._inbox = Inbox(on_take=self._on_take)

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

    def get_packet_channel(self) -> int:
        return self._inbox.peek().channel

    def get_packet_mode(self) -> TransferMode:
        return self._inbox.peek().mode

    def poll(self) -> None:
        for event, peer_id in self._inbox.poll():
            if event is Event.CONNECTED:
                if self._status is ConnectionStatus.CONNECTING:  # a client, told its id
                    self._unique_id = self._assigned_id
                    self._status = ConnectionStatus.CONNECTED
                self.peer_connected.emit(peer_id)
            elif self._unique_id != TARGET_PEER_SERVER:  # a client lost the server
                was_connected = self._status is ConnectionStatus.CONNECTED
                self._reset()
                if was_connected:
                    self.peer_disconnected.emit(peer_id)
            else:
                self.peer_disconnected.emit(peer_id)

    def _check_connected(self, action: str) -> None:
        if self._status is not ConnectionStatus.CONNECTED:
            raise InvalidState(f"{action} needs a connected peer; status is {self._status.name}")

    def _on_take(self, peer_id: int, remaining: int) -> None:
        """A packet of ``peer_id`` was taken; ``remaining`` are left."""

    def _reset(self) -> None:
        """Forget every peer and packet; become DISCONNECTED."""
        self._inbox.clear()
        self._status = ConnectionStatus.DISCONNECTED
        self._unique_id = 0
        self._assigned_id = 0
