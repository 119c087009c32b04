"""Tests for :class:`multiplayer.inbox.Inbox`."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import InvalidState
from multiplayer.inbox import Event, Inbox, Packet
from multiplayer.peer import TransferMode

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


def test_leave_is_deferred_until_the_peer_packets_are_taken() -> None:
    """A DISCONNECTED for a peer with untaken packets waits for a poll after they are taken."""
    inbox = Inbox()
    inbox.stage_connected(2)
    inbox.stage_packet(Packet(2, b"last words"))
    inbox.stage_disconnected(2)

    assert inbox.poll() == [(CONNECTED, 2)]
    assert inbox.count() == 1
    assert not inbox.has_staged()
    assert inbox.poll() == []  # still untaken: still deferred

    assert inbox.take() == Packet(2, b"last words")
    assert inbox.has_staged()
    assert inbox.poll() == [(DISCONNECTED, 2)]
    assert inbox.poll() == []
    assert not inbox.has_staged()


def test_leave_is_deferred_for_packets_already_queued() -> None:
    """A leave staged after the peer's packets reached the queue also waits for them."""
    inbox = Inbox()
    inbox.stage_packet(Packet(2, b"a"))
    inbox.stage_packet(Packet(2, b"b"))
    inbox.poll()
    inbox.stage_disconnected(2)

    assert inbox.poll() == []
    inbox.take()
    assert inbox.poll() == []  # one packet of peer 2 is still untaken
    inbox.take()
    assert inbox.poll() == [(DISCONNECTED, 2)]


def test_deferred_leave_does_not_hold_back_other_peers() -> None:
    """Only the leaving peer's packets defer its leave; other peers' events go through."""
    inbox = Inbox()
    inbox.stage_packet(Packet(2, b"a"))
    inbox.stage_disconnected(2)
    inbox.stage_packet(Packet(3, b"b"))
    inbox.stage_disconnected(3)
    inbox.stage_disconnected(4)

    assert inbox.poll() == [(DISCONNECTED, 4)]
    assert inbox.take() == Packet(2, b"a")
    assert inbox.poll() == [(DISCONNECTED, 2)]
    assert inbox.take() == Packet(3, b"b")
    assert inbox.poll() == [(DISCONNECTED, 3)]


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


def test_on_take_receives_peer_and_remaining_count() -> None:
    """The on_take callback gets the sender's id and its packets left after each take."""
    taken: list[tuple[int, int]] = []
    inbox = Inbox(on_take=lambda peer, remaining: taken.append((peer, remaining)))
    inbox.stage_packet(Packet(2, b"a"))
    inbox.stage_packet(Packet(3, b"b"))
    inbox.stage_packet(Packet(2, b"c"))
    inbox.poll()
    inbox.stage_packet(Packet(2, b"staged, not polled"))

    inbox.take()
    inbox.take()
    inbox.take()

    assert taken == [(2, 2), (3, 0), (2, 1)]


def test_on_take_is_not_called_by_peek_or_poll() -> None:
    """peek() and poll() leave the packet in place and do not call on_take."""
    taken: list[tuple[int, int]] = []
    inbox = Inbox(on_take=lambda peer, remaining: taken.append((peer, remaining)))
    inbox.stage_packet(Packet(2, b"a"))
    inbox.poll()
    inbox.peek()
    inbox.peek()

    assert taken == []
    assert inbox.count() == 1


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
    """forget() drops one peer's queued and staged packets, events and deferred leave."""
    inbox = Inbox()
    inbox.stage_connected(2)
    inbox.stage_connected(3)
    inbox.stage_packet(Packet(2, b"queued 2"))
    inbox.stage_packet(Packet(3, b"queued 3"))
    inbox.stage_disconnected(2)
    assert inbox.poll() == [(CONNECTED, 2), (CONNECTED, 3)]  # leave of 2 deferred
    inbox.stage_packet(Packet(2, b"staged 2"))
    inbox.stage_packet(Packet(3, b"staged 3"))
    inbox.stage_connected(4)
    inbox.stage_disconnected(3)

    inbox.forget(2)

    assert inbox.pending(2) == 0
    assert inbox.count() == 1
    assert inbox.poll() == [(CONNECTED, 4)]  # 3's leave waits for its packets
    assert inbox.take() == Packet(3, b"queued 3")
    assert inbox.take() == Packet(3, b"staged 3")
    assert inbox.poll() == [(DISCONNECTED, 3)]
    assert inbox.poll() == []
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
    """clear() drops staged events and packets, the queue, counts and deferred leaves."""
    taken: list[tuple[int, int]] = []
    inbox = Inbox(on_take=lambda peer, remaining: taken.append((peer, remaining)))
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
    assert taken == []
