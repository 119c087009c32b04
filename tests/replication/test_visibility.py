"""Visibility: filters asked once per peer and frame, answers kept only in a frame."""

from __future__ import annotations

from multiplayer import MultiplayerSynchronizer
from multiplayer.replication.visibility import Visibility


def filtered(allowed: set[int]) -> tuple[MultiplayerSynchronizer, list[int]]:
    """A synchronizer whose one filter lets ``allowed`` see it, and what it was asked."""
    sync = MultiplayerSynchronizer()
    asked: list[int] = []

    def near(peer_id: int) -> bool:
        asked.append(peer_id)
        return peer_id in allowed

    sync.add_visibility_filter(near)
    return sync, asked


def test_in_a_frame_each_filter_is_asked_once_per_peer() -> None:
    """The answer of an evaluation serves every question of the same frame."""
    sync, asked = filtered({2, 3})
    visibility = Visibility()
    visibility.begin_frame()
    assert visibility.evaluate(sync, 0, [2, 3, 4]) == {2, 3}
    visibility.settle(sync)
    assert visibility.among(sync, [2, 3, 4]) == {2, 3}
    assert visibility.sees(sync, 2) and not visibility.sees(sync, 4)
    assert asked == [2, 3, 4]
    visibility.end_frame()
    assert visibility.sees(sync, 4) is False
    assert asked == [2, 3, 4, 4]  # the frame is over: asked again


def test_outside_a_frame_nothing_is_kept() -> None:
    """Between frames, filters may change their mind: each question asks them."""
    sync, asked = filtered({2})
    visibility = Visibility()
    visibility.evaluate(sync, 0, [2, 3])
    visibility.settle(sync)
    visibility.sees(sync, 2)
    assert asked == [2, 3, 2]


def test_a_change_for_one_peer_asks_again() -> None:
    """When one peer's flag changes, the frame's answer is dropped and the rule is
    applied anew (for that peer: everyone or no one)."""
    sync, asked = filtered({2, 3})
    visibility = Visibility()
    visibility.begin_frame()
    visibility.evaluate(sync, 0, [2, 3])
    sync.set_visibility_for(0, False)  # (not in a tree: the replicator is not told)
    assert visibility.evaluate(sync, 3, [3]) == set()
    sync.set_visibility_for(3, True)
    assert visibility.evaluate(sync, 3, [3]) is None
    assert visibility.among(sync, [2, 3]) == {3}
    assert asked == [2, 3, 3, 3, 2, 3]


def test_everyone_sees_a_public_synchronizer_without_filters() -> None:
    """No filter, public: every peer sees it, said as None (no set to build)."""
    visibility = Visibility()
    sync = MultiplayerSynchronizer()
    assert visibility.among(sync, [2, 3]) is None
    sync.public_visibility = False
    sync.set_visibility_for(3, True)
    assert visibility.among(sync, [2, 3]) == {3}


def test_a_synchronizer_that_left_is_forgotten() -> None:
    """The answer for a synchronizer that left the tree is not kept for the frame."""
    sync, asked = filtered({2})
    visibility = Visibility()
    visibility.begin_frame()
    visibility.evaluate(sync, 0, [2])
    visibility.forget(sync)
    visibility.sees(sync, 2)
    assert asked == [2, 2]
