"""What arrived from the network, held until ``poll()`` and ``get_packet()`` take it.

This is the sans-I/O half of a transport peer, shared by the WebSocket peer and the
in-memory peers of :mod:`multiplayer.testing` (through
:class:`~multiplayer.transport.queued_peer.QueuedPeer`). The network side *stages*
events as they happen (a peer joined, a packet came, a peer left). ``poll()`` moves
them, in arrival order, into the packet queue that ``get_packet()`` reads, and
returns the joins and leaves for the peer to emit as signals.

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
from dataclasses import dataclass

from ..exceptions import InvalidState
from .peer import TransferMode

__all__ = ["Event", "Inbox", "Packet"]


class Event(enum.Enum):
    """A change of membership that ``poll()`` reports."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    DROPPED = "dropped"  # its connection was lost; its session waits to resume
    RESUMED = "resumed"


@dataclass(slots=True)  # not frozen: one is made per packet, on the hot path
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

    def stage_dropped(self, peer_id: int) -> None:
        """The connection of ``peer_id`` was lost; its session waits to resume."""
        self._staged.append((Event.DROPPED, peer_id))

    def stage_resumed(self, peer_id: int) -> None:
        """The session of ``peer_id`` resumed."""
        self._staged.append((Event.RESUMED, peer_id))

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
