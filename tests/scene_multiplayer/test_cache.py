"""The path cache: our ids and who was told them, each peer's ids, node lookups."""

from __future__ import annotations

import time
from typing import Any

import pytest

from multiplayer import DecodingError, SceneTree
from multiplayer.scene_multiplayer.cache import IdCache, RemoteIds

# Our ids (IdCache).


def test_local_ids_start_at_1_and_stay() -> None:
    """Each string gets the next id once; the same string keeps it."""
    cache = IdCache("path")
    assert cache.local_id("A") == 1
    assert cache.local_id("B") == 2
    assert cache.local_id("A") == 1
    assert cache.text_of(2) == "B"


def test_tell_many_peers_at_once() -> None:
    """id_for() gives the id and the peers new to it, in order, now marked told."""
    cache = IdCache("path")
    assert cache.id_for("A", [3]) == (1, [3])
    assert cache.id_for("A", [2, 3, 4]) == (1, [2, 4])
    assert cache.id_for("A", [2, 3, 4]) == (1, [])
    assert set(cache.told(1)) == {2, 3, 4}
    assert cache.id_for("B", []) == (2, [])


def test_confirmed_per_peer() -> None:
    """What each told peer answered is kept; answers from others or twice are refused."""
    cache = IdCache("path")
    ident, _ = cache.id_for("A", [2])
    assert cache.is_confirmed(ident, 2) is None
    assert cache.confirm(2, ident, True)
    assert cache.is_confirmed(ident, 2) is True
    assert not cache.confirm(3, ident, True)  # never told: the answer is refused
    assert not cache.confirm(2, 99, True)
    assert not cache.confirm(2, ident, False)  # a second answer: refused, first kept
    assert cache.is_confirmed(ident, 2) is True


def test_retired_ids_are_never_reused() -> None:
    """retire() returns the id and its peers; the text then gets a new id."""
    cache = IdCache("path")
    ident, _ = cache.id_for("A", [2, 3])
    assert cache.retire("A") == (ident, {2, 3})
    assert cache.retire("A") is None
    assert cache.local_id("A") == ident + 1


def test_a_confirmation_of_a_retired_id_is_a_race_not_a_refusal() -> None:
    """The node left while its confirmation was on its way: confirm() says None
    (ignore it), not False (refuse it); an id never given is still refused."""
    cache = IdCache("path")
    ident, _ = cache.id_for("A", [2])
    cache.retire("A")
    assert cache.confirm(2, ident, True) is None
    assert cache.confirm(2, ident + 5, True) is False


def test_forget_peer_and_clear() -> None:
    """A leaving peer was told nothing; clear() drops everything and restarts at 1."""
    cache = IdCache("path")
    ident, _ = cache.id_for("A", [2, 3])
    cache.confirm(2, ident, True)
    cache.forget_peer(2)
    assert set(cache.told(ident)) == {3}
    assert cache.is_confirmed(ident, 2) is None
    cache.clear()
    assert cache.local_id("B") == 1


# Each peer's ids (RemoteIds).


def test_remote_ids_are_looked_up_with_get() -> None:
    """A peer's table maps its ids to its strings; undefine() forgets one."""
    ids = RemoteIds("name")
    ids.define(1, "roll")
    assert ids.get(1) == "roll" and ids.get(2) is None
    assert ids.undefine(1) and not ids.undefine(1)


@pytest.mark.parametrize("ident", [0, -1])
def test_bad_remote_ids_are_refused(ident: int) -> None:
    """Non-positive ids are refused."""
    with pytest.raises(DecodingError, match=r"path id .* is not positive"):
        RemoteIds("path").define(ident, "x")


def test_duplicate_and_too_many_ids_are_refused() -> None:
    """A peer cannot redefine an id, nor define more than its limit."""
    ids = RemoteIds("path", limit=2)
    ids.define(1, "a")
    with pytest.raises(DecodingError, match="duplicate"):
        ids.define(1, "b")
    ids.define(2, "b")
    with pytest.raises(DecodingError, match="more than 2"):
        ids.define(3, "c")
    assert len(ids) == 2


def test_two_peers_may_use_the_same_id(make_session: Any) -> None:
    """Each peer's ids live in its own session: the same id may mean different paths."""
    session = make_session(clients=2)
    session.craft(1, [1, 1, "Game"])
    session.craft(2, [1, 1, "Other"])
    session.pump()
    sessions = session.api(0)._sessions.all
    assert sessions[2].paths == {1: "Game"} and sessions[3].paths == {1: "Other"}


# PathCache, through SceneMultiplayer.


def test_a_peer_lacking_nodes_is_not_kicked_for_saying_so(make_session: Any) -> None:
    """A client answering "no such node" for many paths the server calls is told
    apart from a misbehaving one: it stays connected (its answers are no violations)."""
    session = make_session(clients=1)
    for i in range(session.api(0).rate_limits.max_violations + 10):
        extra = make_session.Game()
        extra.name = f"Extra{i}"
        session.trees[0].root.add_child(extra)
        extra.rpc_id(2, "hello", i)
    session.pump()
    assert session.api(0).get_peers() == [2]
    assert session.api(1).get_peers() == [1]


def test_lookup_caches_keep_no_freed_node_alive(make_session: Any) -> None:
    """A node that was called and then left the tree is not kept alive by the API's
    lookup caches once a poll has run."""
    import gc
    import weakref

    session = make_session(clients=1)
    extra = make_session.Game()
    extra.name = "Extra"
    session.trees[0].root.add_child(extra)
    twin = make_session.Game()
    twin.name = "Extra"
    session.trees[1].root.add_child(twin)
    extra.rpc_id(2, "hello", 1)
    session.pump()
    assert twin.calls == [("hello", 1, 1)]
    gone = weakref.ref(extra), weakref.ref(twin)
    for tree, node in ((session.trees[0], extra), (session.trees[1], twin)):
        tree.root.remove_child(node)
    del extra, twin, node
    session.pump()
    gc.collect()
    assert [ref() for ref in gone] == [None, None]


def test_broadcasts_define_ids_for_peers_that_join_later(make_session: Any) -> None:
    """A broadcast goes to every client in one go; a client that joins afterwards
    is told the path and method ids before the next broadcast's call."""
    session = make_session(clients=2)
    session.games[0].rpc("hello", "first")
    session.pump()
    late = SceneTree()
    late.get_multiplayer().ping_interval = 0
    late.get_multiplayer().multiplayer_peer = session.network.create_client()
    game = make_session.Game()
    late.root.add_child(game)
    session.trees.append(late)
    session.pump()
    session.games[0].rpc("hello", "second")
    session.pump()
    assert [g.calls for g in session.games[1:]] == [
        [("hello", 1, "first"), ("hello", 1, "second")],
        [("hello", 1, "first"), ("hello", 1, "second")],
    ]
    assert game.calls == [("hello", 1, "second")]


def test_paths_cannot_leave_the_branch(make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Announced paths with '/', '..' or '.' parts are refused: no escape from root_path."""
    session = make_session(clients=1)
    for path_id, path in enumerate(["/root/Game", "../Game", "Game/../Game", "Game//x"], 1):
        session.craft(1, [1, path_id, path])
    session.craft(1, [8, 1, "hello"])
    session.craft(1, [0, 1, 1, "pwned"])
    session.pump()
    assert session.games[0].calls == []
    assert "node path '/root/Game' is not relative to the root" in caplog.text
    assert session.api(0)._refusals.count(2, ("define", "path")) == 4


def test_oversized_names_and_paths_are_refused(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Paths over 1024 characters and names that are not identifiers are refused (one
    kind, "define": the second is in the count of repeats, at the interval's end)."""
    session = make_session(clients=1)
    session.craft(1, [1, 1, "x" * 2000])
    session.craft(1, [8, 1, "not a name"])
    session.pump()
    assert "longer than 1024" in caplog.text
    log = session.api(0)._refusals
    log.flush(time.monotonic() + log.interval)
    assert "is not an identifier (1 more of this kind in" in caplog.text


def test_ids_of_nodes_that_leave_are_forgotten(make_session: Any) -> None:
    """When a node leaves the tree its path id is retired on both sides."""
    session = make_session(clients=1)
    session.games[0].hello.rpc(1)
    session.pump()
    from_server = session.api(1)._sessions.all[1]
    assert from_server.paths == {1: "Game"}
    session.trees[0].root.remove_child(session.games[0])
    session.pump()
    assert from_server.paths == {}
    session.trees[0].root.add_child(session.games[0])
    session.games[0].hello.rpc(2)
    session.pump()
    assert [c[2] for c in session.games[1].calls] == [1, 2]


# The godot profile's path cache.


def godot_sent(session: Any, index: int) -> list[Any]:
    from multiplayer.protocol.godot.format import GodotFormat
    from multiplayer.protocol.native.codec import Codec

    decode = GodotFormat(Codec()).decode
    return [decode(packet, allow_objects=False) for packet in session.sent[index]]


def test_godot_confirmation_after_the_node_left_is_not_refused(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A call on a node that then leaves: its path's confirmation comes back for an
    id that is gone. Godot ignores it; so do we, and nobody is refused."""
    session = make_session(clients=1, protocol="godot")
    game = session.games[1]
    game.rpc_id(1, "hello", 1)
    game.get_parent().remove_child(game)  # before the confirmation arrives
    session.pump()
    assert session.games[0].calls == [("hello", 2, 1)]
    assert "refused" not in caplog.text


def test_godot_paths_a_peer_lacks_are_logged_as_one_kind(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A peer announcing many paths we lack gets one line (the rest counted, and
    summed up at the interval's end), and is not answered (Godot sends no
    CONFIRM_PATH for a missing node)."""
    from multiplayer.protocol.messages import SimplifyPath

    session = make_session(clients=1, protocol="godot")
    encode = session.api(1)._relay.format.encode
    session.sent[0].clear()
    for i in range(50):
        session.send_raw(1, encode(SimplifyPath(i + 1, f"Nowhere{i}", "0" * 32)))
    session.pump()
    lines = [r.getMessage() for r in caplog.records if "no node here" in r.getMessage()]
    log = session.api(0)._refusals
    assert lines == ["peer 2: peer announced 'Nowhere0', which has no node here"]
    log.flush(time.monotonic() + log.interval)
    assert "'Nowhere49', which has no node here (49 more of this kind in" in caplog.text
    assert godot_sent(session, 0) == []
    assert 2 in session.api(0).get_peers()


def test_godot_full_path_table_leaves_calls_by_path(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Godot never forgets a path id. Once a peer's table is full, a new path is not
    confirmed, so the peer's calls go on carrying the path, and still arrive."""
    from multiplayer.protocol.messages import RemoteCall

    session = make_session(clients=1, protocol="godot")
    session.api(0)._sessions.all[2].paths.limit = 0
    session.games[1].rpc_id(1, "hello", 1)
    session.pump()
    session.sent[1].clear()
    session.games[1].rpc_id(1, "hello", 2)
    session.pump()
    assert session.games[0].calls == [("hello", 2, 1), ("hello", 2, 2)]
    (call,) = godot_sent(session, 1)
    assert isinstance(call, RemoteCall) and call.path == "Game"
    assert caplog.text.count("calls by path from now on") == 1
