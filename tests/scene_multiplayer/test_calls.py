"""PendingCalls: one peer's awaited calls, their answers, late answers, its leave."""

from __future__ import annotations

import asyncio

import pytest

from multiplayer import PeerDisconnected, RemoteError, RPCRefused
from multiplayer.protocol.messages import Response, Status
from multiplayer.scene_multiplayer.calls import PendingCalls


async def test_answers_settle_their_call() -> None:
    """OK gives the value; ERROR a RemoteError with type and message; REFUSED RPCRefused."""
    calls = PendingCalls(2)
    (ok_id, ok), (error_id, error), (refused_id, refused) = (calls.open() for _ in range(3))
    assert len(calls) == 3
    assert calls.answer(Response(ok_id, Status.OK, 42))
    assert calls.answer(Response(error_id, Status.ERROR, ["ValueError", "no"]))
    assert calls.answer(Response(refused_id, Status.REFUSED, "not allowed"))
    assert await ok == 42
    with pytest.raises(RemoteError, match="ValueError: no") as raised:
        await error
    assert raised.value.peer_id == 2
    with pytest.raises(RPCRefused, match="not allowed"):
        await refused


async def test_late_and_unknown_answers() -> None:
    """An answer to a closed call is late (None); to an id never used, refused (False)."""
    calls = PendingCalls(2)
    request_id, future = calls.open()
    calls.close(request_id)
    assert calls.answer(Response(request_id, Status.OK, 1)) is None
    assert calls.answer(Response(request_id + 1, Status.OK, 1)) is False
    assert calls.answer(Response(0, Status.OK, 1)) is False
    assert not future.done() and len(calls) == 0


async def test_fail_when_the_peer_leaves() -> None:
    """Every waiting caller gets PeerDisconnected at once; the book is then empty."""
    calls = PendingCalls(3)
    futures = [calls.open()[1] for _ in range(2)]
    calls.fail()
    assert len(calls) == 0
    for future in futures:
        with pytest.raises(PeerDisconnected):
            await future
    await asyncio.sleep(0)
