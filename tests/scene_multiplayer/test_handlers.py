"""HandlerRunner: sender ids, errors, async handlers, caps and cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from multiplayer.protocol.messages import Status
from multiplayer.scene_multiplayer.handlers import HandlerRunner


def test_sync_sender_and_result() -> None:
    """The sender is set while a handler runs, 0 after; the reply gets the result."""
    runner = HandlerRunner()
    seen: list[int] = []
    replies: list[tuple[Status, Any]] = []
    runner.run(
        5, "f", lambda: seen.append(runner.sender()) or 42, (), lambda s, v: replies.append((s, v))
    )
    assert seen == [5] and runner.sender() == 0
    assert replies == [(Status.OK, 42)]


def test_errors_are_replied_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    """An exception becomes an ERROR reply (for a request) or a log line (for a call)."""
    runner = HandlerRunner()
    replies: list[tuple[Status, Any]] = []

    def boom() -> None:
        raise ValueError("nope")

    runner.run(2, "f", boom, (), lambda s, v: replies.append((s, v)))
    assert replies == [(Status.ERROR, ["ValueError", "nope"])]
    runner.run(2, "g", boom)
    assert "error in g for peer 2" in caplog.text
    caplog.clear()


async def test_async_keeps_sender_and_is_capped_and_cancelled() -> None:
    """Async handlers see their sender after await; a cap refuses more; leaving cancels."""
    runner = HandlerRunner(max_running=2)
    gate = asyncio.Event()
    seen: list[int] = []

    async def slow() -> None:
        await gate.wait()
        seen.append(runner.sender())

    assert runner.run(3, "a", slow)
    assert runner.run(3, "b", slow)
    replies: list[tuple[Status, Any]] = []
    assert not runner.run(3, "c", slow, (), lambda s, v: replies.append((s, v)))
    assert replies == [(Status.REFUSED, "more than 2 calls in progress")]
    assert runner.running(3) == 2
    gate.set()
    for _ in range(3):
        await asyncio.sleep(0)
    assert seen == [3, 3] and runner.running(3) == 0
    gate.clear()
    runner.run(4, "d", slow)
    await asyncio.sleep(0)
    runner.cancel(4)
    await asyncio.sleep(0)
    assert runner.running(4) == 0
