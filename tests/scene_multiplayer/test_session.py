"""PeerSession and SessionTable: one record per peer, and one teardown for a leave,
a timeout and clear() alike."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from multiplayer import Node, PeerDisconnected, rpc
from multiplayer.scene_multiplayer.auth import AuthProgress
from multiplayer.scene_multiplayer.limits import RateLimits
from multiplayer.scene_multiplayer.session import PeerSession, SessionTable


class Waiter(Node):
    """A node whose RPC never returns, at /root/Waiter on every peer."""

    def __init__(self) -> None:
        super().__init__("Waiter")

    @rpc("any_peer")
    async def wait(self) -> None:
        await asyncio.Event().wait()


async def test_close_fails_and_cancels_what_waits_on_the_peer() -> None:
    """Its calls and pings fail with PeerDisconnected; its handlers are cancelled."""
    session = PeerSession(4, RateLimits())
    _, call = session.calls.open()
    ping: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    session.clock.start(0.0, ping)
    task = asyncio.ensure_future(asyncio.Event().wait())
    session.tasks.add(task)
    session.close()
    for future in (call, ping):
        with pytest.raises(PeerDisconnected):
            await future
    await asyncio.sleep(0)
    assert task.cancelled()


def test_the_table() -> None:
    """open() keeps one session per id; admit() ends authentication; drop() forgets it."""
    table = SessionTable(RateLimits())
    pending = table.open(2, AuthProgress(since=0.0))
    assert table.open(2) is pending
    table.open(3)
    assert table.authenticating() == [2]
    table.admit(pending)
    table.admit(table.all[3])
    assert pending.auth is None and list(table.admitted) == [2, 3]
    table.leaving[3] = table.all[3]
    assert table.staying() == [2]
    table.drop(pending)
    assert 2 not in table.all and 2 not in table.admitted


async def test_a_leave_drops_the_session(make_session: Any) -> None:
    """When a peer leaves, its record goes, and with it the handlers running for it."""
    session = make_session(clients=1)
    for tree in session.trees:
        tree.root.add_child(Waiter())
    session.trees[1].root.get_node("Waiter").wait.rpc_id(1)
    session.pump()
    server = session.api(0)
    record = server._sessions.all[2]
    (task,) = record.tasks
    session.api(1).multiplayer_peer = None
    session.pump()
    for _ in range(2):  # the task ends, then its done callback runs
        await asyncio.sleep(0)
    assert 2 not in server._sessions.all and 2 not in server._sessions.admitted
    assert task.cancelled() and not record.tasks


async def test_clear_tears_down_every_peer(make_session: Any) -> None:
    """clear() fails every waiting call and ping, cancels every peer's handlers, and
    forgets every book: the same teardown as a leave (it used to keep some)."""
    session = make_session(clients=2)
    for tree in session.trees:
        tree.root.add_child(Waiter())
    session.trees[1].root.get_node("Waiter").wait.rpc_id(1)
    server = session.api(0)
    session.craft(1, [0, 99, 99])  # a refused call: a violation in peer 2's budget
    session.pump()
    (handler,) = server._sessions.all[2].tasks
    assert server._refusals.count(2, ("unknown id", "path")) == 1
    call = asyncio.ensure_future(session.trees[0].root.get_node("Waiter").rpc_call(3, "wait"))
    ping = asyncio.ensure_future(server.ping(3))
    await asyncio.sleep(0)  # both sent; nobody polls, so no answer comes
    server.clear()
    for waiting in (call, ping):
        with pytest.raises(PeerDisconnected):
            await waiting
    await asyncio.sleep(0)
    assert handler.cancelled()
    assert server._sessions.all == {} and server._sessions.admitted == {}
    assert server.get_peers() == [] and server.get_authenticating_peers() == []
    assert server._refusals.count(2, ("unknown id", "path")) == 0
    assert server._cache.paths.local_id("Waiter") == 1  # our ids start over
