"""RPCInterface: calls out and in, Godot's rules on the receiver, awaited calls."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from multiplayer import (
    InvalidState,
    Node,
    PeerDisconnected,
    PeerNotFound,
    RemoteError,
    RPCRefused,
    SceneTree,
    rpc,
)
from multiplayer.testing import MemoryNetwork

# Calls (rpc, rpc_id) and how the receiver checks them.


def test_rpc_reaches_every_peer_with_sender_id(make_session: Any) -> None:
    """rpc() from the server reaches every client; the handler sees sender 1."""
    session = make_session()
    session.games[0].rpc("hello", "hi")
    session.pump()
    assert session.games[1].calls == [("hello", 1, "hi")]
    assert session.games[2].calls == [("hello", 1, "hi")]
    assert session.games[0].calls == []


def test_bound_method_spelling(make_session: Any) -> None:
    """self.method.rpc(...) and .rpc_id(...) work like rpc('method', ...)."""
    session = make_session()
    session.games[1].hello.rpc_id(1, 5)
    session.games[0].hello.rpc(6)
    session.pump()
    assert session.games[0].calls == [("hello", 2, 5)]
    assert session.games[2].calls == [("hello", 1, 6)]
    session.games[0].hello(7)  # a plain local call
    assert session.games[0].calls[-1] == ("hello", 0, 7)


def test_only_rpc_methods_are_callable(make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A crafted call to a plain method is refused with one log line naming path, method, peer."""
    session = make_session(clients=1)
    client_game = session.games[1]
    client_game.rpc_config("plain", {"rpc_mode": 1})  # only the client thinks it's an RPC
    for _ in range(20):  # (fewer than the 25 refusals that get a peer kicked)
        client_game.rpc_id(1, "plain", 1)
    session.pump()
    assert session.games[0].calls == []
    lines = [r.getMessage() for r in caplog.records if "plain" in r.getMessage()]
    assert lines == ["refused from peer 2: RPC 'plain' on 'Game': not an RPC method"]
    # the repeats are counted, and the count is logged once the interval is over
    session.api(0)._refusals.flush(time.monotonic() + 10)
    lines = [r.getMessage() for r in caplog.records if "plain" in r.getMessage()]
    assert lines[1].startswith("refused from peer 2: RPC 'plain' on 'Game': not an RPC method")
    assert "(19 more times in " in lines[1] and len(lines) == 2


def test_call_to_a_missing_node_is_refused(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An RPC on a node path the receiver lacks is refused and the sender is told."""
    session = make_session(clients=1)
    extra = make_session.Game()
    extra.name = "Extra"
    session.trees[1].root.add_child(extra)
    extra.rpc_id(1, "hello", 1)
    session.pump()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused from peer 2: RPC 'hello' on 'Extra': no such node",
        "peer 1: peer has no node at 'Extra': RPCs to it will fail",
    ]


def test_unknown_method_is_an_error_not_a_wrong_call(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """If the receiver's node lacks the method, the call is refused, never misrouted."""

    class Older(Node):
        @rpc("any_peer")
        def hello(self, value: Any) -> None:
            raise AssertionError("must not be called")

    session = make_session(clients=1)
    session.games[0].get_parent().remove_child(session.games[0])  # type: ignore[union-attr]
    older = Older("Game")
    session.trees[0].root.add_child(older)
    session.games[1].rpc_id(1, "b_func", 5)
    session.pump()
    assert "RPC 'b_func' on 'Game': not an RPC method" in caplog.text


def test_authority_mode(make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    """authority methods are refused from others (log names mode and authority)."""
    session = make_session(clients=2)
    session.games[1].rpc_id(1, "from_authority", "x")
    session.games[1].rpc_id(1, "hello", "y")
    session.pump()
    assert session.games[0].calls == [("hello", 2, "y")]
    assert "mode is AUTHORITY, authority is 1" in caplog.text
    server = session.api(0)
    assert (server.get_peer_refusals(2), server.get_peer_refusals(3)) == (1, 0)
    for game in session.games:
        game.set_multiplayer_authority(2)
    session.games[1].rpc_id(1, "from_authority", "now ok")
    session.pump()
    assert session.games[0].calls[-1] == ("from_authority", 2, "now ok")


def test_wrong_argument_count(make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The caller's count mistake raises at the call; a mismatch on arrival is refused."""
    session = make_session(clients=1)
    with pytest.raises(TypeError, match="3 arguments, expected 1"):
        session.games[1].rpc_id(1, "hello", 1, 2, 3)

    class Wider(make_session.Game):
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


def test_call_local_runs_synchronously_with_own_id(make_session: Any) -> None:
    """call_local runs inside rpc(), after sending, with the caller's own id as sender."""
    session = make_session(clients=1)
    session.games[1].both.rpc(3)
    assert session.games[1].calls == [("both", 2, 3)]
    session.pump()
    assert session.games[0].calls == [("both", 2, 3)]


def test_rpc_id_to_self(make_session: Any) -> None:
    """rpc_id(own id) runs locally only with call_local, and raises without it."""
    session = make_session(clients=1)
    session.games[0].rpc_id(1, "local_authority", 1)
    assert session.games[0].calls == [("local_authority", 1, 1)]
    with pytest.raises(ValueError, match="on yourself"):
        session.games[0].rpc_id(1, "hello", 1)
    session.pump()
    assert session.games[1].calls == []


def test_rpc_id_unknown_peer_raises(make_session: Any) -> None:
    """rpc_id to a peer that is not connected raises PeerNotFound (Godot returns OK)."""
    session = make_session(clients=1)
    with pytest.raises(PeerNotFound):
        session.games[0].rpc_id(9, "hello", 1)


def test_negative_id_excludes(make_session: Any) -> None:
    """rpc_id(-id) reaches everyone but that peer (and runs here if call_local)."""
    session = make_session(clients=2)
    session.games[0].rpc_id(-2, "both", "x")
    session.pump()
    assert session.games[0].calls == [("both", 1, "x")]
    assert session.games[1].calls == []
    assert session.games[2].calls == [("both", 1, "x")]


def test_rpc_misuse_raises(make_session: Any) -> None:
    """A method that is not an RPC, or a node outside the tree, raises at the call."""
    session = make_session(clients=1)
    with pytest.raises(ValueError, match="plain"):
        session.games[0].rpc("plain", 1)
    with pytest.raises(InvalidState):
        make_session.Game().rpc("hello", 1)


def test_offline_call_local_works(make_session: Any) -> None:
    """With the default offline peer, a call_local RPC runs locally (Godot)."""
    tree = SceneTree()
    game = make_session.Game()
    tree.root.add_child(game)
    assert tree.get_multiplayer().is_server()
    game.both.rpc(1)
    assert game.calls == [("both", 1, 1)]


async def test_async_handler_keeps_the_sender_across_await(make_session: Any) -> None:
    """An async def RPC sees the right sender before and after await."""
    session = make_session(clients=2)
    session.games[1].rpc_id(1, "slow", 0)
    session.games[2].rpc_id(1, "slow", 0)
    session.pump()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(session.games[0].calls) == [("slow", 2, 2), ("slow", 3, 3)]


def test_calls_run_in_order(make_session: Any) -> None:
    """Calls from one sender to one receiver run in the order they were made."""
    session = make_session(clients=2)
    for i in range(200):
        session.games[1].rpc_id(3 if i % 2 else 1, "hello", i)
    session.pump()
    assert [c[2] for c in session.games[0].calls] == list(range(0, 200, 2))
    assert [c[2] for c in session.games[2].calls] == list(range(1, 200, 2))


def test_a_cached_call_costs_no_more_than_godot(make_session: Any) -> None:
    """Once path and name are cached, b_func(5) is at most 6 bytes (Godot's size)."""
    session = make_session(clients=1)
    session.games[0].rpc_id(2, "b_func", 5)
    session.pump()
    first = list(session.sent[0])
    session.sent[0].clear()
    session.games[0].rpc_id(2, "b_func", 5)
    session.pump()
    assert session.sent[0] == [b"\x94\x00\x01\x01\x05"]
    assert len(first) == 3  # path, name, call
    assert session.games[1].calls == [("b_func", 1, 5), ("b_func", 1, 5)]


def test_value_types_travel_and_unsupported_ones_raise(make_session: Any) -> None:
    """Vectors, colors, tuples and dicts arrive intact; an unsupported type raises at the call."""
    from multiplayer import Color, EncodingError, Vector2, Vector3i

    session = make_session(clients=1)
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


async def test_sender_id_does_not_leak_into_callbacks(make_session: Any) -> None:
    """A callback scheduled by a sync handler does not see the sender afterwards."""
    session = make_session(clients=1)
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


def test_annotated_arguments_are_checked(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A call whose arguments do not match the handler's annotations is refused, logged."""
    session = make_session(clients=1)
    crafted = session.games[1]
    crafted.b_func.rpc_id(1, 5)
    session.pump()
    assert session.games[0].calls == [("b_func", 2, 5)]
    # path id 1 is Game, name id 1 is b_func: now a hand-made call with a str
    session.craft(1, [0, 1, 1, "five"])
    session.pump()
    assert ("b_func", 2, "five") not in session.games[0].calls
    assert "RPC 'b_func' on 'Game': argument 'x' must be int, not str" in caplog.text


class Level(Node):
    def __init__(self) -> None:
        super().__init__("Game")
        self.levels: list[object] = []

    @rpc("any_peer", "call_local")
    def set_level(self, level: int) -> None:
        self.levels.append(level)


@pytest.mark.parametrize("protocol", ["native", "godot"])
def test_the_sender_checks_what_the_receiver_checks(make_session: Any, protocol: str) -> None:
    """set_level.rpc(True) with level: int raises TypeError naming the method, the
    parameter and the type, before anything is sent or run locally: a bool is not an
    int, on either side (Godot keeps them apart too)."""
    session = make_session(clients=1, protocol=protocol)
    trees = session.trees
    levels = []
    for tree in trees:
        tree.root.remove_child(tree.root.get_node("Game"))
        levels.append(Level())
        tree.root.add_child(levels[-1])
    session.sent[0].clear()
    with pytest.raises(TypeError, match=r"RPC 'set_level': argument 'level' must be int, not bool"):
        levels[0].set_level.rpc(True)
    with pytest.raises(TypeError, match="argument 'level' must be int, not str"):
        levels[0].rpc_id(2, "set_level", "3")
    session.pump()
    assert session.sent[0] == [] and levels[0].levels == [] and levels[1].levels == []
    levels[0].set_level.rpc(3)
    session.pump()
    assert levels[0].levels == levels[1].levels == [3]
    session.api(0).validate_arguments = False  # then neither side checks types
    session.api(1).validate_arguments = False
    levels[0].set_level.rpc(True)
    session.pump()
    assert levels[1].levels == [3, True]


async def test_rpc_call_checks_types_at_the_sender(make_session: Any) -> None:
    session = make_session(clients=1)
    game = session.games[1]
    with pytest.raises(TypeError, match="RPC 'b_func': argument 'x' must be int, not str"):
        await game.b_func.rpc_call(1, "five")


# Awaited calls (rpc_call).


class Bank(Node):
    def __init__(self) -> None:
        super().__init__("Bank")
        self.balance = 100

    @rpc("any_peer")
    def get_balance(self) -> int:
        return self.balance

    @rpc("any_peer")
    def whoami(self) -> int:
        return self.multiplayer.get_remote_sender_id()

    @rpc("any_peer")
    async def slow_double(self, x: int) -> int:
        await asyncio.sleep(0)
        return x * 2 + 0 * self.multiplayer.get_remote_sender_id()

    @rpc("any_peer")
    def fail(self) -> None:
        raise ValueError("insufficient funds")

    @rpc("any_peer")
    async def never(self) -> None:
        await asyncio.Event().wait()

    @rpc
    def admin_only(self) -> str:
        return "secret"

    @rpc("any_peer", "call_local")
    def local_too(self, x: int) -> int:
        return x + 1

    @rpc("any_peer")
    def unsendable(self) -> object:
        return object()


class Net:
    def __init__(self, clients: int = 2) -> None:
        self.network = MemoryNetwork()
        self.trees: list[SceneTree] = []
        self.banks: list[Bank] = []
        for i in range(clients + 1):
            tree = SceneTree()
            peer = self.network.create_server() if i == 0 else self.network.create_client()
            tree.get_multiplayer().multiplayer_peer = peer
            bank = Bank()
            tree.root.add_child(bank)
            self.trees.append(tree)
            self.banks.append(bank)
        self.pump_now()
        self._task = asyncio.get_running_loop().create_task(self._pump_forever())

    def pump_now(self) -> None:
        for _ in range(3):
            for tree in self.trees:
                tree.process(0)

    async def _pump_forever(self) -> None:
        while True:
            self.pump_now()
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._task.cancel()


@pytest.fixture
async def net() -> Any:
    network = Net()
    yield network
    network.stop()


async def test_client_to_server_result(net: Net) -> None:
    """A client awaits the server's return value."""
    assert await net.banks[1].get_balance.rpc_call(1) == 100
    assert await net.banks[1].rpc_call(1, "whoami") == 2


async def test_server_to_client_and_async_handler(net: Net) -> None:
    """The server awaits a client's async handler's result."""
    assert await net.banks[0].slow_double.rpc_call(2, 21) == 42


async def test_client_to_client_through_the_relay(net: Net) -> None:
    """A client awaits another client; the callee sees the true caller."""
    assert await net.banks[1].whoami.rpc_call(3) == 2


async def test_remote_error_is_raised_without_traceback(net: Net) -> None:
    """An exception in the handler arrives as RemoteError with type name and message."""
    with pytest.raises(RemoteError) as info:
        await net.banks[1].fail.rpc_call(1)
    assert info.value.type_name == "ValueError"
    assert info.value.remote_message == "insufficient funds"
    assert "Traceback" not in str(info.value)


async def test_refused_calls_raise(net: Net, caplog: pytest.LogCaptureFixture) -> None:
    """Permission rules of rpc_id apply: a refused call raises RPCRefused."""
    with pytest.raises(RPCRefused, match="not allowed"):
        await net.banks[1].admin_only.rpc_call(1)
    assert "refused from peer 2" in caplog.text


async def test_timeout_and_cancellation(net: Net) -> None:
    """No answer within the timeout raises TimeoutError; a cancelled wait cleans up."""
    with pytest.raises(TimeoutError, match=r"within 0\.05 s"):
        await net.banks[1].rpc_call(1, "never", timeout=0.05)
    task = asyncio.ensure_future(net.banks[1].rpc_call(1, "never"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(net.trees[1].get_multiplayer()._sessions.admitted[1].calls) == 0


async def test_pending_calls_fail_when_the_peer_leaves(net: Net) -> None:
    """A call waiting on a peer that disconnects fails promptly with PeerDisconnected."""
    task = asyncio.ensure_future(net.banks[0].rpc_call(2, "never"))
    await asyncio.sleep(0.01)
    net.trees[1].get_multiplayer().multiplayer_peer = None
    with pytest.raises(PeerDisconnected):
        await asyncio.wait_for(task, 2)


async def test_call_yourself_and_misuse(net: Net) -> None:
    """Own id runs locally when call_local; bad targets raise at the call."""
    assert await net.banks[0].local_too.rpc_call(1, 1) == 2
    with pytest.raises(ValueError, match="yourself"):
        await net.banks[0].get_balance.rpc_call(1)
    with pytest.raises(PeerNotFound):
        await net.banks[0].get_balance.rpc_call(9)
    with pytest.raises(ValueError, match="one peer"):
        await net.banks[0].get_balance.rpc_call(0)


async def test_unsendable_result_is_an_error(net: Net, caplog: pytest.LogCaptureFixture) -> None:
    """A result that cannot be encoded comes back as a RemoteError, not a hang."""
    with pytest.raises(RemoteError, match="cannot be sent"):
        await net.banks[1].unsendable.rpc_call(1)


async def test_late_answers_after_cancel_are_not_violations(net: Net) -> None:
    """Answers to calls whose caller stopped waiting are ignored, not held against anyone."""
    for _ in range(40):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(net.banks[0].slow_double.rpc_call(2, 1), 0.0001)
    await asyncio.sleep(0.05)
    assert net.trees[0].get_multiplayer().get_peers() == [2, 3]


async def test_too_large_result_is_a_prompt_error(net: Net) -> None:
    """A result too large for a packet comes back as a RemoteError, at once."""

    class Big(Bank):
        @rpc("any_peer")
        def huge(self) -> bytes:
            return bytes(2 << 20)

    for tree, old in zip(net.trees, net.banks, strict=True):
        tree.root.remove_child(old)
        tree.root.add_child(Big())
    big = net.trees[1].root.get_node("Bank")
    with pytest.raises(RemoteError, match="cannot be sent"):
        await asyncio.wait_for(big.rpc_call(1, "huge"), 2)


async def test_own_id_sees_itself_as_sender(net: Net) -> None:
    """rpc_call to one's own id runs locally with the own id as sender."""

    class Me(Bank):
        @rpc("any_peer", "call_local")
        def me(self) -> int:
            return self.multiplayer.get_remote_sender_id()

    tree = net.trees[0]
    tree.root.remove_child(net.banks[0])
    node = Me()
    tree.root.add_child(node)
    assert await node.rpc_call(1, "me") == 1


# The godot profile: Godot's calls (inline paths until confirmed, sorted method ids).


def godot_messages(data: list[bytes]) -> list[Any]:
    from multiplayer.protocol.godot.format import GodotFormat
    from multiplayer.protocol.native.codec import Codec

    decode = GodotFormat(Codec()).decode
    return [decode(packet, allow_objects=False) for packet in data]


# Game's RPC methods, sorted: b_func 0, both 1, from_authority 2, hello 3,
# local_authority 4, slow 5.
HELLO = 3


def test_godot_first_call_names_the_path_then_the_id(make_session: Any) -> None:
    """As Godot's _send_rpc: SIMPLIFY_PATH, then a call carrying the path itself;
    once the server confirmed, calls carry the 8-bit path id."""
    from multiplayer.protocol.messages import ConfirmPath, RemoteCall, SimplifyPath

    session = make_session(clients=1, protocol="godot")
    session.sent[1].clear()
    session.games[1].rpc_id(1, "hello", 5)
    session.pump()
    first = godot_messages(session.sent[1])
    assert isinstance(first[0], SimplifyPath) and first[0].path == "Game"
    assert len(first[0].checksum) == 32
    assert first[1] == RemoteCall(0, HELLO, [5], "Game")
    assert any(m == ConfirmPath(first[0].path_id, True) for m in godot_messages(session.sent[0]))
    session.sent[1].clear()
    session.games[1].rpc_id(1, "hello", 6)
    session.pump()
    assert godot_messages(session.sent[1]) == [RemoteCall(first[0].path_id, HELLO, [6])]
    assert session.sent[1][0][0] == 0x00  # 8-bit ids
    assert session.games[0].calls == [("hello", 2, 5), ("hello", 2, 6)]


def test_godot_broadcast_gives_unconfirmed_peers_the_path(make_session: Any) -> None:
    """A server broadcast to peers that have not confirmed yet carries the path; the
    next one, once both confirmed, is one compact packet for both."""
    from multiplayer.protocol.messages import RemoteCall

    session = make_session(clients=2, protocol="godot")
    session.sent[0].clear()
    session.games[0].rpc("hello", "a")
    session.pump()
    calls = [m for m in godot_messages(session.sent[0]) if isinstance(m, RemoteCall)]
    assert [c.path for c in calls] == ["Game", "Game"]
    session.sent[0].clear()
    session.games[0].rpc("hello", "b")
    session.pump()
    calls = [m for m in godot_messages(session.sent[0]) if isinstance(m, RemoteCall)]
    assert [(c.path, c.args) for c in calls] == [(None, ["b"]), (None, ["b"])]
    both = [("hello", 1, "a"), ("hello", 1, "b")]
    assert session.games[1].calls == session.games[2].calls == both


def data_offset(calls: list[Any]) -> str:
    (data,) = [d for d, m in calls if m.path is not None]
    return (0x80000000 | data.index(b"Game\x00")).to_bytes(4, "little").hex()


def test_godot_mixed_broadcast_widens_the_confirmed_peers_id(make_session: Any) -> None:
    """As Godot's _send_rpc: when some targets have not confirmed the path, those get
    the path and the others the id in 32 bits (meta 0x20), not the smallest width."""
    from multiplayer.protocol.messages import RemoteCall

    session = make_session(clients=1, protocol="godot")
    session.games[0].rpc("hello", "a")
    session.pump()  # client 2 confirmed the path
    session._add(session.network.create_client(), True)
    session.pump()
    session.sent[0].clear()
    session.games[0].rpc("hello", "b")
    session.pump()
    calls = [
        (data, message)
        for data, message in zip(session.sent[0], godot_messages(session.sent[0]), strict=True)
        if isinstance(message, RemoteCall)
    ]
    assert sorted((m.path or "", data[:5].hex()) for data, m in calls) == [
        ("", "2001000000"),  # meta 0x20: a 32-bit id, the confirmed path id 1
        ("Game", "20" + data_offset(calls)),  # 0x80000000 | where the path starts
    ]
    assert session.games[2].calls[-1] == session.games[1].calls[-1] == ("hello", 1, "b")


def test_godot_relayed_call_keeps_the_sender(make_session: Any) -> None:
    session = make_session(clients=2, protocol="godot")
    session.games[1].rpc_id(3, "hello", "to 3")
    session.games[1].rpc_id(3, "hello", "again")
    session.pump()
    assert session.games[2].calls == [("hello", 2, "to 3"), ("hello", 2, "again")]


def test_godot_method_ids_are_sorted_indices(make_session: Any) -> None:
    from multiplayer.protocol.messages import RemoteCall

    session = make_session(clients=1, protocol="godot")
    session.games[1].rpc_id(1, "b_func", 1)
    session.games[1].rpc_id(1, "slow", 2)
    session.pump()
    calls = [m for m in godot_messages(session.sent[1]) if isinstance(m, RemoteCall)]
    assert [c.name_id for c in calls] == [0, 5]


def test_godot_checksum_mismatch_is_logged_on_both_sides(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Godot warns on both sides when the nodes list different RPCs: ids may then
    name other methods. The peer is not punished: it is a difference, not an attack."""
    session = make_session(clients=1, protocol="godot")
    session.games[0].rpc_config("plain", {"rpc_mode": 1})  # only the server has it
    session.games[1].rpc_id(1, "hello", 1)
    session.pump()
    lines = [r.getMessage() for r in caplog.records if "checksum" in r.getMessage()]
    assert len(lines) == 2 and not any("refused" in line for line in lines)
    server_line = next(line for line in lines if line.startswith("peer 2:"))
    assert "(here, in id order: plain, b_func, both, from_authority, hello" in server_line
    assert any(line.startswith("peer 1:") for line in lines)


def test_godot_has_no_awaited_calls_or_pings(make_session: Any) -> None:
    from multiplayer import ProfileError

    session = make_session(clients=1, protocol="godot")
    api = session.api(1)
    with pytest.raises(ProfileError, match=r"rpc_call.*'godot'"):
        asyncio.run(api.rpc_call(1, session.games[1], "hello", [1]))
    with pytest.raises(ProfileError, match="ping"):
        asyncio.run(api.ping(1))


def test_godot_pings_are_never_sent(make_session: Any) -> None:
    session = make_session(clients=1, protocol="godot")
    for i in range(2):
        session.api(i).ping_interval = 0.001
    session.sent[0].clear()
    session.sent[1].clear()
    session.pump(20)
    assert session.sent[0] == session.sent[1] == []


def test_godot_value_without_a_godot_type_raises_at_the_caller(make_session: Any) -> None:
    from multiplayer import EncodingError

    session = make_session(clients=1, protocol="godot")
    with pytest.raises(EncodingError):
        session.games[1].rpc_id(1, "hello", {1, 2})


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xa0\x06\x00\x00\x80\x03" + b"../Game\x00", "not relative"),  # a path out
        (b"\xa0\x06\x00\x00\x80\x63" + b"Game\x00", "method id 99"),  # no such method
        (b"\x00\x09\x03\x01\x02\x05", "unknown path id"),  # never announced
        (b"\xa0\x06\x00\x00\x80\x03" + b"Nope\x00", "no such node"),
    ],
)
def test_godot_hostile_calls_are_refused_and_logged(
    make_session: Any, caplog: pytest.LogCaptureFixture, data: bytes, why: str
) -> None:
    session = make_session(clients=1, protocol="godot")
    session.send_raw(1, data)
    session.pump()
    assert session.games[0].calls == []
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert len(lines) == 1 and "peer 2" in lines[0] and why in lines[0]
