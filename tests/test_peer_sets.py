"""PeerSet and PeerSlots: sets of peer ids at a bit per peer."""

from __future__ import annotations

import gc

from multiplayer.peer_sets import PeerSet, PeerSlots


def test_a_peer_set_is_a_set_of_peer_ids() -> None:
    slots = PeerSlots()
    peers = PeerSet(slots, [5, 2])
    peers.add(9)
    peers.discard(5)
    peers.discard(77)  # never there: nothing happens
    assert peers == {2, 9} and len(peers) == 2 and peers
    assert 2 in peers and 5 not in peers and 77 not in peers and "2" not in peers
    assert sorted(peers) == [2, 9]
    assert peers.issuperset([9, 2]) and not peers.issuperset([2, 3])
    peers.clear()
    assert not peers and peers == set()


def test_masks_answer_for_many_peers_in_one_operation() -> None:
    """covers, among and lacking against the mask of a frame's peers."""
    slots = PeerSlots()
    has = PeerSet(slots, [2, 4])
    everyone = slots.mask_of([2, 3, 4])
    assert not has.covers(everyone)
    assert sorted(has.among(everyone)) == [2, 4]
    assert has.lacking(everyone) == [3]
    has.add(3)
    assert has.covers(everyone) and has.lacking(everyone) == []
    # A peer new to the slots counts in a mask: it is lacking, not left out.
    assert has.lacking(slots.mask_of([2, 8])) == [8]


def test_a_released_peer_leaves_every_set_and_its_bit_is_never_inherited() -> None:
    slots = PeerSlots()
    told, spawned, other = PeerSet(slots, [2, 3]), PeerSet(slots, [3]), PeerSet(slots, [2])
    slots.release(3)
    slots.release(3)  # (again: nothing)
    assert told == {2} and spawned == set() and other == {2}
    # Peer 4 takes the freed bit: it is in no set that peer 3 was in.
    slots.bit(4)
    assert 4 not in told and 4 not in spawned
    assert told.lacking(slots.mask_of([2, 4])) == [4]
    slots.clear()
    assert told == set() and other == set()


def test_sets_that_are_gone_are_not_kept_by_the_slots() -> None:
    slots = PeerSlots()
    kept = PeerSet(slots, [2])
    PeerSet(slots, [2])  # dropped at once
    gc.collect()
    assert list(slots._sets.values()) == [kept]
    slots.release(2)
    assert kept == set()


def test_a_thousand_peers_cost_bits_not_entries() -> None:
    """The point of it: a set of 1,000 peers is one integer of 1,000 bits."""
    slots = PeerSlots()
    peers = PeerSet(slots, range(2, 1002))
    assert len(peers) == 1000
    assert peers._mask.bit_length() == 1000
    assert peers.covers(slots.mask_of(range(2, 1002)))
