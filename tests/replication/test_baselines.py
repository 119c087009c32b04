"""Baselines: what each peer has of each synchronizer's state."""

from __future__ import annotations

from multiplayer import MultiplayerSynchronizer
from multiplayer.replication.baselines import Baselines, Outgoing


def test_a_reset_peer_gets_everything_next_time() -> None:
    """Once updates went out, a reset peer is set apart with no baseline (-1)."""
    out = Outgoing(got_all=5)
    out.reset(2)
    assert out.got == {2: -1}


def test_before_any_update_a_reset_peer_needs_no_entry() -> None:
    """While no peer has anything (got_all -1), a reset drops the peer's own entry:
    the shared number already says it has nothing."""
    out = Outgoing()
    out.got[2] = 3
    out.reset(2)
    assert out.got == {}


def test_the_registry_resets_forgets_and_clears() -> None:
    """Per synchronizer and per peer, the registry resets what peers have; a peer
    that leaves is forgotten; clearing leaves nothing to anyone."""
    baselines = Baselines()
    sync = MultiplayerSynchronizer()
    baselines.add(sync)
    out = baselines.records[sync]
    out.got_all = 4
    baselines.reset(sync, 2)
    baselines.reset_peer(3)
    assert out.got == {2: -1, 3: -1}
    baselines.forget_peer(2)
    assert out.got == {3: -1} and out.got_all == 4
    baselines.clear()
    assert out.got == {} and out.got_all == -1
    baselines.reset(MultiplayerSynchronizer(), 2)  # unknown: nothing to reset
    baselines.remove(sync)
    assert len(baselines) == 0
