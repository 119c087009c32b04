"""``QueuedPeer``: the part of a transport peer that does not depend on the network.

The WebSocket peer and the in-memory peers of :mod:`multiplayer.testing` both
derive from it, so they report joins, leaves and packets alike, and share one
close/disconnect state machine. A subclass provides the links: it stages what
arrives in ``self._inbox`` and implements two hooks, :meth:`QueuedPeer._end_link`
and :meth:`QueuedPeer._end_every_link`.
"""

from __future__ import annotations

import abc
from collections.abc import Container

from ..exceptions import InvalidState, PeerNotFound
from ..signals import Signal
from .inbox import Event, Inbox
from .peer import (
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    TransferMode,
    resolve_targets,
)

__all__ = ["QueuedPeer"]


class QueuedPeer(MultiplayerPeer):
    """A ``MultiplayerPeer`` whose received side is an :class:`~.inbox.Inbox`.

    Implements the receiving half of the API, ``poll()``, and the leaving half:
    ``disconnect_peer``, ``kick_peer`` and ``close`` (Godot's rules, reference.md
    §1.5), on top of the two link hooks.
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

    # Receiving.

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
            signal = self._take_in(event, peer_id)
            if signal is not None:
                signal.emit(peer_id)

    def _take_in(self, event: Event, peer_id: int) -> Signal[int] | None:
        """Apply one join or leave that ``poll()`` took from the inbox; return the
        signal to emit for it, if any. (Split from the emitting so that a peer shared
        with another thread can apply it under its lock and emit outside it.)"""
        if peer_id in self._forced:
            return None  # a callback forgot this peer (disconnect_peer(force=True))
        if event is Event.CONNECTED:
            if self._status is ConnectionStatus.CONNECTING:  # a client, told its id
                self._unique_id = self._assigned_id
                self._status = ConnectionStatus.CONNECTED
            self._known[peer_id] = None
            return self.peer_connected
        if event is Event.DROPPED:
            return self.peer_dropped
        if event is Event.RESUMED:
            return self.peer_resumed
        if self._unique_id != TARGET_PEER_SERVER:  # a client lost the server
            was_connected = self._status is ConnectionStatus.CONNECTED
            self._reset(keep_packets=True)  # what the server sent stays readable
            return self.peer_disconnected if was_connected else None
        self._known.pop(peer_id, None)
        return self.peer_disconnected

    # Leaving: one state machine for every transport.

    def disconnect_peer(self, peer_id: int, force: bool = False) -> None:
        """Close the link to ``peer_id`` (on a client, 1: the server).

        The other side is always told. Without ``force`` our own
        ``peer_disconnected`` follows at a later ``poll()``; with it the peer is
        forgotten at once, silently, and a client forgets everything (Godot:
        ``disconnect_peer(id, true)`` erases the peer, and ``_clear()``s a client).

        Raises:
            PeerNotFound: ``peer_id`` is not a peer ``poll()`` reported connected.
        """
        self._check_known(peer_id)
        self._end_link(peer_id, notify=not force)
        if not force:
            return
        if self._unique_id == TARGET_PEER_SERVER:
            self._forget(peer_id)
        else:
            self._reset()

    def kick_peer(self, peer_id: int, reason: str) -> None:
        self._check_known(peer_id)
        self._end_link(peer_id, notify=True, kick_reason=reason)

    def close(self) -> None:
        self._end_every_link()
        self._reset()

    @abc.abstractmethod
    def _end_link(self, peer_id: int, *, notify: bool, kick_reason: str | None = None) -> None:
        """Close the link to ``peer_id`` and tell the other side; stage our own leave
        if ``notify``. A ``kick_reason`` says the peer misbehaved (a WebSocket closes
        with 1008 and that reason; otherwise what was put for it is sent first).
        Nothing happens if the link is gone already: its leave is staged."""

    @abc.abstractmethod
    def _end_every_link(self) -> None:
        """``close()``: stop accepting or connecting, close every link and tell the
        other sides, with no event for this peer (``_reset()`` follows)."""

    # For subclasses.

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
