"""SceneMultiplayer over the in-memory network: peers, RPC rules, relay, wire size."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from multiplayer import (
    ConnectionStatus,
    InvalidState,
    Node,
    PeerNotFound,
    SceneMultiplayer,
    SceneTree,
    rpc,
)
from multiplayer.testing import MemoryMultiplayerPeer, MemoryNetwork


class Game(Node):
    """The same node at /root/Game on every peer."""

    def __init__(self) -> None:
        super().__init__("Game")
        self.calls: list[tuple[str, int, Any]] = []

    def _record(self, method: str, value: Any) -> None:
        self.calls.append((method, self.multiplayer.get_remote_sender_id(), value))

    @rpc("any_peer")
    def hello(self, value: Any) -> None:
        self._record("hello", value)

    @rpc
    def from_authority(self, value: Any) -> None:
        self._record("from_authority", value)

    @rpc("any_peer", "call_local")
    def both(self, value: Any) -> None:
        self._record("both", value)

    @rpc("call_local", "reliable")
    def local_authority(self, value: Any) -> None:
        self._record("local_authority", value)

    @rpc("any_peer")
    def b_func(self, x: int) -> None:
        self._record("b_func", x)

    @rpc("any_peer")
    async def slow(self, value: Any) -> None:
        before = self.multiplayer.get_remote_sender_id()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.calls.append(("slow", before, self.multiplayer.get_remote_sender_id()))

    def plain(self, value: Any) -> None:
        self._record("plain", value)


class Session:
    """A server and clients, each with its own SceneTree and Game node."""

    def __init__(self, clients: int = 2, relay: bool = True) -> None:
        self.network = MemoryNetwork()
        self.trees: list[SceneTree] = []
        self.games: list[Game] = []
        self.sent: list[list[bytes]] = []
        self._add(self.network.create_server(), relay)
        for _ in range(clients):
            self._add(self.network.create_client(), relay)
        self.pump()

    def _add(self, peer: MemoryMultiplayerPeer, relay: bool) -> None:
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.server_relay = relay
        api.ping_interval = 0  # no pings among the packets these tests count
        api.multiplayer_peer = peer
        game = Game()
        tree.root.add_child(game)
        sent: list[bytes] = []
        original = peer.put_packet

        def record(data: bytes) -> None:
            sent.append(bytes(data))
            original(data)

        peer.put_packet = record  # type: ignore[method-assign]
        self.trees.append(tree)
        self.games.append(game)
        self.sent.append(sent)

    def api(self, index: int) -> SceneMultiplayer:
        return self.trees[index].get_multiplayer()

    def pump(self, frames: int = 4) -> None:
        for _ in range(frames):
            for tree in self.trees:
                tree.process(0.0)


# Peers and signals.


def test_ids_and_peer_connected_order() -> None:
    """Each peer learns of every other: the server of clients, a client of 1 then the rest."""
    seen: dict[int, list[int]] = {}
    network = MemoryNetwork()
    apis = []
    for i in range(3):
        api = SceneMultiplayer()
        seen[i] = []
        api.peer_connected.connect(seen[i].append)
        api.multiplayer_peer = network.create_server() if i == 0 else network.create_client()
        apis.append(api)
        for _ in range(3):
            for a in apis:
                a.poll()
    assert [a.get_unique_id() for a in apis] == [1, 2, 3]
    assert seen == {0: [2, 3], 1: [1, 3], 2: [1, 2]}
    assert sorted(apis[1].get_peers()) == [1, 3]


def test_without_relay_clients_know_only_the_server() -> None:
    """With server_relay off a client learns only of peer 1."""
    session = Session(clients=2, relay=False)
    assert session.api(1).get_peers() == [1]
    assert session.api(0).get_peers() == [2, 3]
    with pytest.raises(PeerNotFound):
        session.games[1].rpc_id(3, "hello", 1)


def test_client_only_signals() -> None:
    """connected_to_server, connection_failed and server_disconnected fire on clients only."""
    network = MemoryNetwork()
    server, client = SceneMultiplayer(), SceneMultiplayer()
    events: list[str] = []
    for name, api in (("server", server), ("client", client)):
        api.connected_to_server.connect(lambda n=name: events.append(f"{n} connected"))
        api.server_disconnected.connect(lambda n=name: events.append(f"{n} lost server"))
        api.connection_failed.connect(lambda n=name: events.append(f"{n} failed"))
    server.multiplayer_peer = network.create_server()
    client.multiplayer_peer = network.create_client()
    for _ in range(2):
        server.poll()
        client.poll()
    assert events == ["client connected"]
    server.multiplayer_peer = None  # closes the server
    client.poll()
    assert events == ["client connected", "client lost server"]
    assert client.get_peers() == []

    lonely = SceneMultiplayer()
    lonely.connection_failed.connect(lambda: events.append("lonely failed"))
    lonely.multiplayer_peer = MemoryNetwork().create_client()  # no server there
    lonely.poll()
    assert events[-1] == "lonely failed"


def test_peer_disconnected_everywhere() -> None:
    """When a client leaves, the server and the other clients get peer_disconnected."""
    session = Session(clients=2)
    left: list[list[int]] = [[], [], []]
    for i in range(3):
        session.api(i).peer_disconnected.connect(left[i].append)
    session.api(2).multiplayer_peer = None
    session.pump()
    assert left[0] == [3]
    assert left[1] == [3]
    assert session.api(1).get_peers() == [1]


def test_many_peers_leaving_in_one_poll() -> None:
    """Clients that leave together are all reported gone, and poll() does not fail
    telling one leaver that another left (the transport forgot them both)."""
    session = Session(clients=3)
    left: list[int] = []
    session.api(0).peer_disconnected.connect(left.append)
    for index in (1, 2, 3):
        session.api(index).multiplayer_peer.close()
    session.api(0).poll()  # one poll sees the three leaves
    assert sorted(left) == [2, 3, 4]
    assert session.api(0).get_peers() == []


# What may be called.


def test_rpc_reaches_every_peer_with_sender_id() -> None:
    """rpc() from the server reaches every client; the handler sees sender 1."""
    session = Session()
    session.games[0].rpc("hello", "hi")
    session.pump()
    assert session.games[1].calls == [("hello", 1, "hi")]
    assert session.games[2].calls == [("hello", 1, "hi")]
    assert session.games[0].calls == []


def test_bound_method_spelling() -> None:
    """self.method.rpc(...) and .rpc_id(...) work like rpc('method', ...)."""
    session = Session()
    session.games[1].hello.rpc_id(1, 5)
    session.games[0].hello.rpc(6)
    session.pump()
    assert session.games[0].calls == [("hello", 2, 5)]
    assert session.games[2].calls == [("hello", 1, 6)]
    session.games[0].hello(7)  # a plain local call
    assert session.games[0].calls[-1] == ("hello", 0, 7)


def test_only_rpc_methods_are_callable(caplog: pytest.LogCaptureFixture) -> None:
    """A crafted call to a plain method is refused with one log line naming path, method, peer."""
    session = Session(clients=1)
    client_game = session.games[1]
    client_game.rpc_config("plain", {"rpc_mode": 1})  # only the client thinks it's an RPC
    for _ in range(50):
        client_game.rpc_id(1, "plain", 1)
    session.pump()
    assert session.games[0].calls == []
    lines = [r.getMessage() for r in caplog.records if "plain" in r.getMessage()]
    assert lines[0] == "refused from peer 2: RPC 'plain' on 'Game': not an RPC method"
    assert len(lines) == 2  # the first, then a count at the 10th: no flood
    assert "(10 times)" in lines[1]


def test_call_to_a_missing_node_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """An RPC on a node path the receiver lacks is refused and the sender is told."""
    session = Session(clients=1)
    extra = Game()
    extra.name = "Extra"
    session.trees[1].root.add_child(extra)
    extra.rpc_id(1, "hello", 1)
    session.pump()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused from peer 2: RPC 'hello' on 'Extra': no such node",
        "refused from peer 1: peer has no node at 'Extra': RPCs to it will fail",
    ]


def test_a_peer_lacking_nodes_is_not_kicked_for_saying_so() -> None:
    """A client answering "no such node" for many paths the server calls is told
    apart from a misbehaving one: it stays connected (its answers are no violations)."""
    session = Session(clients=1)
    for i in range(session.api(0).rate_limits.max_violations + 10):
        extra = Game()
        extra.name = f"Extra{i}"
        session.trees[0].root.add_child(extra)
        extra.rpc_id(2, "hello", i)
    session.pump()
    assert session.api(0).get_peers() == [2]
    assert session.api(1).get_peers() == [1]


def test_lookup_caches_keep_no_freed_node_alive() -> None:
    """A node that was called and then left the tree is not kept alive by the API's
    lookup caches once a poll has run."""
    import gc
    import weakref

    session = Session(clients=1)
    extra = Game()
    extra.name = "Extra"
    session.trees[0].root.add_child(extra)
    twin = Game()
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


def test_broadcasts_define_ids_for_peers_that_join_later() -> None:
    """A broadcast goes to every client in one go; a client that joins afterwards
    is told the path and method ids before the next broadcast's call."""
    session = Session(clients=2)
    session.games[0].rpc("hello", "first")
    session.pump()
    late = SceneTree()
    late.get_multiplayer().ping_interval = 0
    late.get_multiplayer().multiplayer_peer = session.network.create_client()
    game = Game()
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


def test_unknown_method_is_an_error_not_a_wrong_call(caplog: pytest.LogCaptureFixture) -> None:
    """If the receiver's node lacks the method, the call is refused, never misrouted."""

    class Older(Node):
        @rpc("any_peer")
        def hello(self, value: Any) -> None:
            raise AssertionError("must not be called")

    session = Session(clients=1)
    session.games[0].get_parent().remove_child(session.games[0])  # type: ignore[union-attr]
    older = Older("Game")
    session.trees[0].root.add_child(older)
    session.games[1].rpc_id(1, "b_func", 5)
    session.pump()
    assert "RPC 'b_func' on 'Game': not an RPC method" in caplog.text


def test_authority_mode(caplog: pytest.LogCaptureFixture) -> None:
    """authority methods are refused from others (log names mode and authority)."""
    session = Session(clients=2)
    session.games[1].rpc_id(1, "from_authority", "x")
    session.games[1].rpc_id(1, "hello", "y")
    session.pump()
    assert session.games[0].calls == [("hello", 2, "y")]
    assert "mode is AUTHORITY, authority is 1" in caplog.text
    for game in session.games:
        game.set_multiplayer_authority(2)
    session.games[1].rpc_id(1, "from_authority", "now ok")
    session.pump()
    assert session.games[0].calls[-1] == ("from_authority", 2, "now ok")


def test_wrong_argument_count(caplog: pytest.LogCaptureFixture) -> None:
    """The caller's count mistake raises at the call; a mismatch on arrival is refused."""
    session = Session(clients=1)
    with pytest.raises(TypeError, match="3 arguments, expected 1"):
        session.games[1].rpc_id(1, "hello", 1, 2, 3)

    class Wider(Game):
        @rpc("any_peer")
        def hello(self, a: Any, b: Any, c: Any) -> None:  # type: ignore[override]
            pass

    old = session.games[1]
    tree = session.trees[1]
    tree.root.remove_child(old)
    wider = Wider()
    tree.root.add_child(wider)
    wider.rpc_id(1, "hello", 1, 2, 3)
    session.pump()
    assert session.games[0].calls == []
    assert "refused from peer 2: RPC 'hello' on 'Game': 3 arguments, expected 1" in caplog.text


# call_local and targets.


def test_call_local_runs_synchronously_with_own_id() -> None:
    """call_local runs inside rpc(), after sending, with the caller's own id as sender."""
    session = Session(clients=1)
    session.games[1].both.rpc(3)
    assert session.games[1].calls == [("both", 2, 3)]
    session.pump()
    assert session.games[0].calls == [("both", 2, 3)]


def test_rpc_id_to_self() -> None:
    """rpc_id(own id) runs locally only with call_local, and raises without it."""
    session = Session(clients=1)
    session.games[0].rpc_id(1, "local_authority", 1)
    assert session.games[0].calls == [("local_authority", 1, 1)]
    with pytest.raises(ValueError, match="on yourself"):
        session.games[0].rpc_id(1, "hello", 1)
    session.pump()
    assert session.games[1].calls == []


def test_rpc_id_unknown_peer_raises() -> None:
    """rpc_id to a peer that is not connected raises PeerNotFound (Godot returns OK)."""
    session = Session(clients=1)
    with pytest.raises(PeerNotFound):
        session.games[0].rpc_id(9, "hello", 1)


def test_negative_id_excludes() -> None:
    """rpc_id(-id) reaches everyone but that peer (and runs here if call_local)."""
    session = Session(clients=2)
    session.games[0].rpc_id(-2, "both", "x")
    session.pump()
    assert session.games[0].calls == [("both", 1, "x")]
    assert session.games[1].calls == []
    assert session.games[2].calls == [("both", 1, "x")]


def test_rpc_misuse_raises() -> None:
    """A method that is not an RPC, or a node outside the tree, raises at the call."""
    session = Session(clients=1)
    with pytest.raises(ValueError, match="plain"):
        session.games[0].rpc("plain", 1)
    with pytest.raises(InvalidState):
        Game().rpc("hello", 1)


def test_offline_call_local_works() -> None:
    """With the default offline peer, a call_local RPC runs locally (Godot)."""
    tree = SceneTree()
    game = Game()
    tree.root.add_child(game)
    assert tree.get_multiplayer().is_server()
    game.both.rpc(1)
    assert game.calls == [("both", 1, 1)]


# Relay.


def test_client_to_client_through_the_server() -> None:
    """A client's rpc_id to another client arrives with the original sender's id."""
    session = Session(clients=2)
    session.games[1].rpc_id(3, "hello", "psst")
    session.pump()
    assert session.games[2].calls == [("hello", 2, "psst")]
    assert session.games[0].calls == []
    session.games[2].rpc("hello", "all")
    session.pump()
    assert session.games[0].calls == [("hello", 3, "all")]
    assert session.games[1].calls == [("hello", 3, "all")]


def test_a_client_cannot_spoof_membership(caplog: pytest.LogCaptureFixture) -> None:
    """Peer-list updates sent by a client are refused by the server."""
    session = Session(clients=1)
    peer = session.api(1).multiplayer_peer
    assert peer is not None
    peer.set_target_peer(1)
    peer.put_packet(b"\x93\x07\x01\x05")  # [SYS, ADD_PEER, 5]
    session.pump()
    assert session.api(0).get_peers() == [2]
    assert "refused from peer 2: peer list update not from the server" in caplog.text


# Sender id, async, order, size.


def test_sender_id_is_zero_outside_handlers() -> None:
    """get_remote_sender_id() is 0 outside an RPC."""
    session = Session(clients=1)
    assert session.api(0).get_remote_sender_id() == 0


async def test_async_handler_keeps_the_sender_across_await() -> None:
    """An async def RPC sees the right sender before and after await."""
    session = Session(clients=2)
    session.games[1].rpc_id(1, "slow", 0)
    session.games[2].rpc_id(1, "slow", 0)
    session.pump()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(session.games[0].calls) == [("slow", 2, 2), ("slow", 3, 3)]


def test_calls_run_in_order() -> None:
    """Calls from one sender to one receiver run in the order they were made."""
    session = Session(clients=2)
    for i in range(200):
        session.games[1].rpc_id(3 if i % 2 else 1, "hello", i)
    session.pump()
    assert [c[2] for c in session.games[0].calls] == list(range(0, 200, 2))
    assert [c[2] for c in session.games[2].calls] == list(range(1, 200, 2))


def test_a_cached_call_costs_no_more_than_godot() -> None:
    """Once path and name are cached, b_func(5) is at most 6 bytes (Godot's size)."""
    session = Session(clients=1)
    session.games[0].rpc_id(2, "b_func", 5)
    session.pump()
    first = list(session.sent[0])
    session.sent[0].clear()
    session.games[0].rpc_id(2, "b_func", 5)
    session.pump()
    assert session.sent[0] == [b"\x94\x00\x01\x01\x05"]
    assert len(first) == 3  # path, name, call
    assert session.games[1].calls == [("b_func", 1, 5), ("b_func", 1, 5)]


def test_last_rpc_before_a_leave_is_processed() -> None:
    """An RPC a client sent right before leaving runs before its peer_disconnected."""
    session = Session(clients=1)
    order: list[str] = []
    session.api(0).peer_disconnected.connect(lambda i: order.append(f"left {i}"))
    session.games[1].hello.rpc_id(1, "bye")
    session.api(1).multiplayer_peer = None
    session.pump()
    assert session.games[0].calls == [("hello", 2, "bye")]
    assert order == ["left 2"]


def test_kicked_peer_is_reported_gone() -> None:
    """disconnect_peer(id) ends with peer_disconnected(id) here and on the others."""
    session = Session(clients=2)
    left: list[list[int]] = [[], [], []]
    for i in range(3):
        session.api(i).peer_disconnected.connect(left[i].append)
    session.api(0).disconnect_peer(2)
    session.pump()
    assert left[0] == [2]
    assert left[2] == [2]
    assert left[1] == [1]
    with pytest.raises(PeerNotFound):
        session.api(0).disconnect_peer(2)


def test_value_types_travel_and_unsupported_ones_raise() -> None:
    """Vectors, colors, tuples and dicts arrive intact; an unsupported type raises at the call."""
    from multiplayer import Color, EncodingError, Vector2, Vector3i

    session = Session(clients=1)
    value = {
        "pos": Vector2(1.5, -2.0),
        "cell": Vector3i(1, 2, 3),
        "tint": Color(1, 0.5, 0),
        7: (1, "a"),
    }
    session.games[0].hello.rpc(value)
    session.pump()
    assert session.games[1].calls == [("hello", 1, value)]
    with pytest.raises(EncodingError, match="set"):
        session.games[0].hello.rpc({1, 2})
    session.pump()
    assert len(session.games[1].calls) == 1


# Raw bytes.


def packets_of(session: Session) -> list[list[tuple[int, bytes]]]:
    got: list[list[tuple[int, bytes]]] = [[] for _ in session.trees]
    for i in range(len(session.trees)):
        session.api(i).peer_packet.connect(lambda sender, data, i=i: got[i].append((sender, data)))
    return got


def test_send_bytes_routes_like_rpc_id() -> None:
    """send_bytes: > 0 one peer, 0 all, < 0 all but one; relayed with the true sender."""
    session = Session(clients=2)
    got = packets_of(session)
    session.api(0).send_bytes(b"to 2", 2)
    session.api(1).send_bytes(b"all from 2")
    session.api(1).send_bytes(b"not the server", -1)
    session.api(2).send_bytes(b"3 to 2", 2)
    session.pump()
    assert got[0] == [(2, b"all from 2")]
    assert got[1] == [(1, b"to 2"), (3, b"3 to 2")]
    assert got[2] == [(2, b"all from 2"), (2, b"not the server")]


def test_send_bytes_misuse() -> None:
    """Empty data, an unknown peer or oneself raise at the call."""
    session = Session(clients=1)
    with pytest.raises(ValueError):
        session.api(0).send_bytes(b"")
    with pytest.raises(PeerNotFound):
        session.api(0).send_bytes(b"x", 7)
    with pytest.raises(ValueError):
        session.api(0).send_bytes(b"x", 1)


# Hostile packets (crafted by hand, sent with the raw transport).


def craft(session: Session, index: int, items: list[Any], to: int = 1) -> None:
    """Send a hand-made high-level packet from peer ``index``."""
    import msgpack

    peer = session.api(index).multiplayer_peer
    assert peer is not None
    peer.set_target_peer(to)
    peer.put_packet(msgpack.packb(items))


def test_nested_relays_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    """A relay inside a relay is refused: one packet cannot multiply."""
    import msgpack

    session = Session(clients=2)
    inner = msgpack.packb([7, 3, 0, msgpack.packb([3, b"boom"])])
    got = packets_of(session)
    craft(session, 1, [7, 3, 0, inner])
    session.pump()
    assert got == [[], [], []]
    assert "refused from peer 2: a SYS packet inside a relay" in caplog.text


def test_relay_to_self_or_server_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """A relay aimed at the sender itself or at the server is refused."""
    import msgpack

    session = Session(clients=1)
    for target in (2, 1):
        craft(session, 1, [7, 3, target, msgpack.packb([3, b"x"])])
    session.pump()
    assert "refused from peer 2: relay to 2 makes no sense" in caplog.text
    assert session.api(0)._refusals.count(2, ("relay target",)) == 2  # logged once


def test_relay_minus_one_is_not_read_by_the_server() -> None:
    """send_bytes(-1) from a client reaches the others but not the server (Godot)."""
    session = Session(clients=2)
    got = packets_of(session)
    session.api(1).send_bytes(b"x", -1)
    session.pump()
    assert got == [[], [], [(2, b"x")]]


def test_a_client_cannot_claim_another_id() -> None:
    """Whatever a client writes in a relay, the receiver sees the true sender."""
    import msgpack

    session = Session(clients=2)
    got = packets_of(session)
    craft(session, 1, [7, 3, 3, msgpack.packb([3, b"I am 1"])])
    session.pump()
    assert got[2] == [(2, b"I am 1")]


def test_relays_from_a_client_to_a_client_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    """A client accepts relays only from the server."""
    session = Session(clients=1)
    server_peer = session.api(0).multiplayer_peer
    assert server_peer is not None
    import msgpack

    # the server itself cannot forge membership either: only ADD/DEL of real peers
    craft(session, 0, [7, 1, 1], to=2)
    session.pump()
    assert "bad peer id 1" in caplog.text
    del msgpack


def test_paths_cannot_leave_the_branch(caplog: pytest.LogCaptureFixture) -> None:
    """Announced paths with '/', '..' or '.' parts are refused: no escape from root_path."""
    session = Session(clients=1)
    for path_id, path in enumerate(["/root/Game", "../Game", "Game/../Game", "Game//x"], 1):
        craft(session, 1, [1, path_id, path])
    craft(session, 1, [8, 1, "hello"])
    craft(session, 1, [0, 1, 1, "pwned"])
    session.pump()
    assert session.games[0].calls == []
    assert "node path '/root/Game' is not relative to the root" in caplog.text
    assert session.api(0)._refusals.count(2, ("define", "path")) == 4


def test_oversized_names_and_paths_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Paths over 1024 characters and names that are not identifiers are refused."""
    session = Session(clients=1)
    craft(session, 1, [1, 1, "x" * 2000])
    craft(session, 1, [8, 1, "not a name"])
    session.pump()
    assert "longer than 1024" in caplog.text
    assert "is not an identifier" in caplog.text


def test_ids_of_nodes_that_leave_are_forgotten() -> None:
    """When a node leaves the tree its path id is retired on both sides."""
    session = Session(clients=1)
    session.games[0].hello.rpc(1)
    session.pump()
    receiver = session.api(1)
    assert receiver._paths.remote_count(1) == 1
    session.trees[0].root.remove_child(session.games[0])
    session.pump()
    assert receiver._paths.remote_count(1) == 0
    session.trees[0].root.add_child(session.games[0])
    session.games[0].hello.rpc(2)
    session.pump()
    assert [c[2] for c in session.games[1].calls] == [1, 2]


async def test_sender_id_does_not_leak_into_callbacks() -> None:
    """A callback scheduled by a sync handler does not see the sender afterwards."""
    session = Session(clients=1)
    seen: list[int] = []
    game = session.games[0]
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def later() -> None:
        seen.append(game.multiplayer.get_remote_sender_id())
        done.set()

    game.calls.clear()
    original = game._record

    def record(method: str, value: Any) -> None:
        original(method, value)
        loop.call_soon(later)

    game._record = record  # type: ignore[method-assign]
    session.games[1].hello.rpc_id(1, 1)
    session.pump()
    await asyncio.wait_for(done.wait(), 2)
    assert game.calls == [("hello", 2, 1)]
    assert seen == [0]


def test_setting_the_same_peer_again_changes_nothing() -> None:
    """multiplayer_peer = the same peer keeps the session (Godot returns early)."""
    session = Session(clients=1)
    api = session.api(0)
    api.multiplayer_peer = api.multiplayer_peer
    assert api.get_peers() == [2]


def test_annotated_arguments_are_checked(caplog: pytest.LogCaptureFixture) -> None:
    """A call whose arguments do not match the handler's annotations is refused, logged."""
    session = Session(clients=1)
    crafted = session.games[1]
    crafted.b_func.rpc_id(1, 5)
    session.pump()
    assert session.games[0].calls == [("b_func", 2, 5)]
    # path id 1 is Game, name id 1 is b_func: now a hand-made call with a str
    craft(session, 1, [0, 1, 1, "five"])
    session.pump()
    assert ("b_func", 2, "five") not in session.games[0].calls
    assert "RPC 'b_func' on 'Game': argument 'x' must be int, not str" in caplog.text


def test_an_unstarted_peer_is_refused() -> None:
    """Assigning a peer that was never started raises (a forgotten await, typically)."""
    from multiplayer import WebSocketMultiplayerPeer

    api = SceneMultiplayer()
    with pytest.raises(InvalidState, match="not started"):
        api.multiplayer_peer = WebSocketMultiplayerPeer()


def test_no_peer_means_id_0() -> None:
    """Without a multiplayer peer, get_unique_id() is 0 and is_server() False (Godot)."""
    api = SceneMultiplayer()
    api.multiplayer_peer = None
    assert api.get_unique_id() == 0
    assert not api.is_server()
    assert api.get_peers() == []


def test_relayed_junk_is_refused_at_the_server(caplog: pytest.LogCaptureFixture) -> None:
    """Junk relayed towards a client is refused by the server, which keeps the books."""
    session = Session(clients=2)
    craft(session, 1, [7, 3, 3, b"\x00garbage"])
    craft(session, 1, [7, 3, 3, b"\x93\xcc\x07\x01"])  # SYS written as a uint8
    session.pump()
    assert "refused from peer 2: malformed relayed packet" in caplog.text
    assert session.api(0)._refusals.count(2, ("relay junk",)) >= 1


def test_a_client_never_disconnects_the_server_for_relayed_floods() -> None:
    """Many bad packets relayed by the server do not make a client drop the server."""
    session = Session(clients=2)
    for _ in range(200):
        craft(session, 1, [7, 3, 3, b"\x93\x00\x05\x05"])  # calls with unknown ids
    session.pump(8)
    victim = session.api(2)
    assert 1 in victim.get_peers()  # still connected to the server
    assert victim._refusals.count(2, ("unknown id", "path")) == 200  # refused, counted


# The remaining members of SceneMultiplayer.


def test_refuse_new_connections_and_clear() -> None:
    """refuse_new_connections goes to the transport; clear() forgets every peer."""
    session = Session(clients=1)
    api = session.api(0)
    assert api.has_multiplayer_peer()
    api.refuse_new_connections = True
    assert api.refuse_new_connections
    late = session.network.create_client()
    late.poll()
    assert late.get_connection_status() == ConnectionStatus.DISCONNECTED
    api.clear()
    assert api.get_peers() == []
    api.multiplayer_peer = None
    assert not api.has_multiplayer_peer()
    with pytest.raises(InvalidState):
        _ = api.refuse_new_connections


def test_allow_object_decoding_guards_registered_types() -> None:
    """Registered classes travel only with allow_object_decoding on both sides."""
    from multiplayer.protocol.native.codec import Codec

    class Card:
        def __init__(self, rank: int) -> None:
            self.rank = rank

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Card) and other.rank == self.rank

    codec = Codec()
    codec.register_type(Card, 40, lambda c: bytes([c.rank]), lambda b: Card(b[0]))
    session = Session(clients=1)
    for i in range(2):
        session.api(i).codec = codec
    from multiplayer import EncodingError

    with pytest.raises(EncodingError, match="allow_object_decoding"):
        session.games[0].hello.rpc(Card(7))
    for i in range(2):
        session.api(i).allow_object_decoding = True
    session.games[0].hello.rpc(Card(7))
    session.pump()
    assert session.games[1].calls == [("hello", 1, Card(7))]


def test_process_polls_branch_apis() -> None:
    """SceneTree.process() polls every branch's API: a server and a client in one tree."""
    network = MemoryNetwork()
    tree = SceneTree()
    apis = []
    for name, peer in (("Server", network.create_server()), ("Client", network.create_client())):
        branch = Node(name)
        tree.root.add_child(branch)
        api = SceneMultiplayer()
        tree.set_multiplayer(api, branch.get_path())
        api.multiplayer_peer = peer
        branch.add_child(Game())
        apis.append(api)
    for _ in range(3):
        tree.process(0)
    assert apis[0].get_peers() == [2] and apis[1].get_peers() == [1]
    server_game = tree.root.get_node("Server/Game")
    assert isinstance(server_game, Game)
    server_game.hello.rpc("hi")
    tree.process(0)
    client_game = tree.root.get_node("Client/Game")
    assert isinstance(client_game, Game) and client_game.calls == [("hello", 1, "hi")]
