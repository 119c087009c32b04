"""HandlerRunner: sender ids, errors, async handlers, caps and cancellation."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from multiplayer.protocol.messages import Status
from multiplayer.scene_multiplayer.handlers import HandlerRunner, cancel


def test_sync_sender_and_result() -> None:
    """The sender is set while a handler runs, 0 after; the reply gets the result."""
    runner = HandlerRunner()
    seen: list[int] = []
    replies: list[tuple[Status, Any]] = []

    def f() -> int:
        seen.append(runner.sender())
        return 42

    runner.run(5, set(), "f", f, (), lambda s, v: replies.append((s, v)))
    assert seen == [5] and runner.sender() == 0
    assert replies == [(Status.OK, 42)]


def test_errors_are_logged_with_their_traceback_and_replied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception is logged at ERROR with its traceback, for a call (rpc) and for a
    request (rpc_call) alike; a request's caller also gets its type and message."""
    runner = HandlerRunner()
    replies: list[tuple[Status, Any]] = []

    def boom() -> None:
        raise ValueError("nope")

    runner.run(2, set(), "f", boom, (), lambda s, v: replies.append((s, v)))
    assert replies == [(Status.ERROR, ["ValueError", "nope"])]
    runner.run(2, set(), "g", boom)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == ["error in f for peer 2", "error in g for peer 2"]
    assert all(r.exc_info and r.exc_info[0] is ValueError for r in errors)
    caplog.clear()


async def test_async_keeps_sender_and_is_capped_and_cancelled() -> None:
    """Async handlers see their sender after await; a cap refuses more; cancel() stops them."""
    runner = HandlerRunner(max_running=2)
    gate = asyncio.Event()
    seen: list[int] = []

    async def slow() -> None:
        await gate.wait()
        seen.append(runner.sender())

    tasks: set[asyncio.Task[Any]] = set()
    assert runner.run(3, tasks, "a", slow)
    assert runner.run(3, tasks, "b", slow)
    replies: list[tuple[Status, Any]] = []
    assert not runner.run(3, tasks, "c", slow, (), lambda s, v: replies.append((s, v)))
    assert replies == [(Status.REFUSED, "more than 2 calls in progress")]
    assert len(tasks) == 2
    assert runner.run(4, set(), "other peer", slow)  # the cap is per set (per peer)
    gate.set()
    for _ in range(3):
        await asyncio.sleep(0)
    assert seen == [3, 3, 4] and not tasks
    gate.clear()
    runner.run(4, tasks, "d", slow, (), lambda s, v: replies.append((s, v)))
    await asyncio.sleep(0)
    cancel(tasks)
    for _ in range(2):  # the task ends, then its done callback runs
        await asyncio.sleep(0)
    assert not tasks
    assert replies[-1] == (Status.ERROR, ["CancelledError", "the call was cancelled"])


def test_the_time_of_sync_handlers_is_added_up(caplog: pytest.LogCaptureFixture) -> None:
    """What a peer's time budget leaves out: the handlers' own time, errors included."""
    runner = HandlerRunner()

    def slow() -> None:
        time.sleep(0.02)

    def failing() -> None:
        time.sleep(0.02)
        raise ValueError("expected")

    runner.run(2, set(), "slow", slow)
    assert 0.02 <= runner.handler_time < 1
    runner.run(2, set(), "failing", failing, reply=lambda status, value: None)
    assert 0.04 <= runner.handler_time < 2
    caplog.clear()  # (the failing handler's error, logged with its traceback)
