"""Tests for :class:`multiplayer.inbox.Inbox`."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import InvalidState
from multiplayer.transport.inbox import Event, Inbox, Packet
from multiplayer.transport.peer import TransferMode

CONNECTED = Event.CONNECTED
DISCONNECTED = Event.DISCONNECTED


def test_packets_are_not_visible_before_poll() -> None:
    """A staged packet is counted and readable only after poll()."""
    inbox = Inbox()
    inbox.stage_packet(Packet(2, b"a"))

    assert inbox.count() == 0
    with pytest.raises(InvalidState):
        inbox.peek()
    assert inbox.has_staged()

    assert inbox.poll() == []
    assert inbox.count() == 1
    assert inbox.peek() == Packet(2, b"a")
    assert not inbox.has_staged()


def test_take_returns_packets_in_arrival_order_with_their_metadata() -> None:
    """take() returns packets in the order they were staged, channel and mode kept."""
    inbox = Inbox()
    first = Packet(2, b"one", channel=3, mode=TransferMode.UNRELIABLE)
    second = Packet(3, b"two")
    third = Packet(2, b"three", channel=1, mode=TransferMode.UNRELIABLE_ORDERED)
    for packet in (first, second, third):
        inbox.stage_packet(packet)
    inbox.poll()

    assert inbox.peek() is first
    assert [inbox.take(), inbox.take(), inbox.take()] == [first, second, third]
    assert inbox.count() == 0


def test_poll_returns_membership_events_in_order() -> None:
    """poll() returns the staged joins and leaves in the order they happened."""
    inbox = Inbox()
    inbox.stage_connected(2)
    inbox.stage_connected(3)
    inbox.stage_disconnected(3)
    inbox.stage_connected(4)
    inbox.stage_disconnected(2)

    assert inbox.poll() == [
        (CONNECTED, 2),
        (CONNECTED, 3),
        (DISCONNECTED, 3),
        (CONNECTED, 4),
        (DISCONNECTED, 2),
    ]
    assert inbox.poll() == []
    assert not inbox.has_staged()


def test_leave_comes_with_the_poll_that_moves_the_last_packets() -> None:
    """A leave is reported by the poll that queues the peer's last packets, which stay."""
    inbox = Inbox()
    inbox.stage_connected(2)
    inbox.stage_packet(Packet(2, b"last words"))
    inbox.stage_disconnected(2)

    assert inbox.poll() == [(CONNECTED, 2), (DISCONNECTED, 2)]
    assert inbox.count() == 1
    assert inbox.take() == Packet(2, b"last words")
    assert not inbox.has_staged()


def test_pending_counts_staged_and_queued_packets_per_peer() -> None:
    """pending() counts a peer's packets from staging until they are taken."""
    inbox = Inbox()
    assert inbox.pending(2) == 0
    inbox.stage_packet(Packet(2, b"a"))
    inbox.stage_packet(Packet(3, b"b"))
    inbox.stage_packet(Packet(2, b"c"))
    assert (inbox.pending(2), inbox.pending(3)) == (2, 1)

    inbox.poll()
    assert (inbox.pending(2), inbox.pending(3)) == (2, 1)
    inbox.stage_packet(Packet(2, b"d"))
    assert inbox.pending(2) == 3

    inbox.take()
    assert (inbox.pending(2), inbox.pending(3)) == (2, 1)
    inbox.take()
    assert (inbox.pending(2), inbox.pending(3)) == (2, 0)
    inbox.take()
    assert inbox.pending(2) == 1
    inbox.poll()
    inbox.take()
    assert inbox.pending(2) == 0


def test_take_and_peek_on_empty_queue_raise_invalid_state() -> None:
    """take() and peek() raise InvalidState when no packet is ready."""
    inbox = Inbox()
    with pytest.raises(InvalidState):
        inbox.take()
    with pytest.raises(InvalidState):
        inbox.peek()

    inbox.stage_packet(Packet(2, b"a"))
    inbox.poll()
    inbox.take()
    with pytest.raises(InvalidState):
        inbox.take()


def test_forget_drops_a_peer_packets_and_events() -> None:
    """forget() drops one peer's queued and staged packets and events, not the others'."""
    inbox = Inbox()
    inbox.stage_connected(2)
    inbox.stage_connected(3)
    inbox.stage_packet(Packet(2, b"queued 2"))
    inbox.stage_packet(Packet(3, b"queued 3"))
    assert inbox.poll() == [(CONNECTED, 2), (CONNECTED, 3)]
    inbox.stage_packet(Packet(2, b"staged 2"))
    inbox.stage_packet(Packet(3, b"staged 3"))
    inbox.stage_disconnected(2)
    inbox.stage_connected(4)

    inbox.forget(2)

    assert inbox.pending(2) == 0
    assert inbox.count() == 1
    assert inbox.poll() == [(CONNECTED, 4)]
    assert inbox.take() == Packet(3, b"queued 3")
    assert inbox.take() == Packet(3, b"staged 3")
    assert inbox.count() == 0


def test_forget_drops_a_staged_join() -> None:
    """forget() of a peer whose join is not yet polled means poll() never reports it."""
    inbox = Inbox()
    inbox.stage_connected(2)
    inbox.stage_packet(Packet(2, b"a"))
    inbox.forget(2)

    assert not inbox.has_staged()
    assert inbox.poll() == []
    assert inbox.count() == 0


def test_clear_drops_everything() -> None:
    """clear() drops staged events and packets, the queue and the counts."""
    inbox = Inbox()
    inbox.stage_packet(Packet(2, b"a"))
    inbox.stage_disconnected(2)
    inbox.poll()
    inbox.stage_connected(3)
    inbox.stage_packet(Packet(3, b"b"))

    inbox.clear()

    assert inbox.count() == 0
    assert inbox.pending(2) == inbox.pending(3) == 0
    assert not inbox.has_staged()
    assert inbox.poll() == []
    with pytest.raises(InvalidState):
        inbox.take()
