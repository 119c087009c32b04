"""IdCache: our ids, what each peer was told, and each peer's own ids."""

from __future__ import annotations

import pytest

from multiplayer import DecodingError
from multiplayer.scene_multiplayer.cache import IdCache


def test_local_ids_start_at_1_and_stay() -> None:
    """Each string gets the next id once; the same string keeps it."""
    cache = IdCache("path")
    assert cache.local_id("A") == 1
    assert cache.local_id("B") == 2
    assert cache.local_id("A") == 1
    assert cache.text_of(2) == "B"


def test_told_and_confirmed_per_peer() -> None:
    """Which peers were told an id, and what they answered, is kept per peer."""
    cache = IdCache("path")
    ident = cache.local_id("A")
    assert not cache.is_told(ident, 2)
    cache.mark_told(ident, 2)
    assert cache.is_told(ident, 2) and not cache.is_told(ident, 3)
    assert cache.is_confirmed(ident, 2) is None
    assert cache.confirm(2, ident, True)
    assert cache.is_confirmed(ident, 2) is True
    assert not cache.confirm(3, ident, True)  # never told: the answer is refused
    assert not cache.confirm(2, 99, True)
    assert not cache.confirm(2, ident, False)  # a second answer: refused, first kept
    assert cache.is_confirmed(ident, 2) is True


def test_remote_ids_are_kept_apart_per_peer() -> None:
    """Two peers may use the same id for different strings."""
    cache = IdCache("name")
    cache.define(2, 1, "roll")
    cache.define(3, 1, "pass")
    assert cache.lookup(2, 1) == "roll"
    assert cache.lookup(3, 1) == "pass"
    assert cache.lookup(4, 1) is None


@pytest.mark.parametrize("ident", [0, -1])
def test_bad_remote_ids_are_refused(ident: int) -> None:
    """Non-positive ids are refused."""
    with pytest.raises(DecodingError, match="not positive"):
        IdCache("path").define(2, ident, "x")


def test_duplicate_and_too_many_ids_are_refused() -> None:
    """A peer cannot redefine an id, nor define more than max_remote_ids."""
    cache = IdCache("path", max_remote_ids=2)
    cache.define(2, 1, "a")
    with pytest.raises(DecodingError, match="duplicate"):
        cache.define(2, 1, "b")
    cache.define(2, 2, "b")
    with pytest.raises(DecodingError, match="more than 2"):
        cache.define(2, 3, "c")
    assert cache.remote_count(2) == 2


def test_forget_peer_and_clear() -> None:
    """A leaving peer's ids and tells are dropped; clear() drops everything."""
    cache = IdCache("path")
    ident = cache.local_id("A")
    cache.mark_told(ident, 2)
    cache.define(2, 1, "x")
    cache.forget_peer(2)
    assert not cache.is_told(ident, 2)
    assert cache.lookup(2, 1) is None
    cache.clear()
    assert cache.local_id("B") == 1


def test_tell_many_peers_at_once() -> None:
    """tell() returns the peers new to an id, in order, and marks them told."""
    cache = IdCache("path")
    ident = cache.local_id("A")
    cache.mark_told(ident, 3)
    assert cache.tell(ident, [2, 3, 4]) == [2, 4]
    assert cache.tell(ident, [2, 3, 4]) == []
    assert all(cache.is_told(ident, peer) for peer in (2, 3, 4))
