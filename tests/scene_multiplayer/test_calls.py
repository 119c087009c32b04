"""Awaitable RPCs: results, remote errors, refusals, timeouts, disconnects, relay."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from multiplayer import (
    Node,
    PeerDisconnected,
    PeerNotFound,
    RemoteError,
    RPCRefused,
    SceneTree,
    rpc,
)
from multiplayer.testing import MemoryNetwork


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
    assert len(net.trees[1].get_multiplayer()._calls) == 0


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
