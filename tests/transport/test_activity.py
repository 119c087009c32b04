"""Tests for :mod:`multiplayer.transport.activity`: waiters and their shared timer."""

from __future__ import annotations

import asyncio
import math

import pytest

from multiplayer.transport.activity import ActivityWaiters


async def wait(waiters: ActivityWaiters, deadline: float) -> bool:
    """A wait as wait_for_activity does it: the waiter, awaited, then forgotten."""
    waiter = waiters.waiter(deadline)
    try:
        return await waiter
    finally:
        waiters.forget(waiter)


async def test_wake_ends_every_wait_with_true() -> None:
    """wake() settles every pending wait with True."""
    waiters = ActivityWaiters()
    waits = [asyncio.ensure_future(wait(waiters, math.inf)) for _ in range(3)]
    await asyncio.sleep(0)
    waiters.wake()
    assert await asyncio.wait_for(asyncio.gather(*waits), 1) == [True, True, True]
    assert not waiters._waiters  # each forgotten once awaited


async def test_a_wait_ends_with_false_at_its_deadline() -> None:
    """With nothing to wake it, a wait returns False once the loop time passes its deadline."""
    waiters = ActivityWaiters()
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await wait(waiters, start + 0.05) is False
    assert loop.time() >= start + 0.05


async def test_deadlines_each_end_on_time_with_one_timer() -> None:
    """Waits with different deadlines end at their own; the timer re-arms as it fires,
    and one timer serves them all."""
    waiters = ActivityWaiters()
    loop = asyncio.get_running_loop()
    start = loop.time()
    late = asyncio.ensure_future(wait(waiters, start + 0.2))
    early = asyncio.ensure_future(wait(waiters, start + 0.05))
    await asyncio.sleep(0)
    assert waiters._timer is not None and waiters._timer.when() == start + 0.05
    assert await early is False
    assert not late.done()
    assert await late is False
    assert loop.time() >= start + 0.2


async def test_a_wait_without_a_deadline_arms_no_timer() -> None:
    """A wait with no limit (math.inf) ends only on wake()."""
    waiters = ActivityWaiters()
    pending = asyncio.ensure_future(wait(waiters, math.inf))
    await asyncio.sleep(0.02)
    assert waiters._timer is None
    assert not pending.done()
    waiters.wake()
    assert await pending is True


async def test_deadline_from_timeout_or_until() -> None:
    """deadline(): timeout seconds from now, or until as given, or never."""
    loop = asyncio.get_running_loop()
    before = loop.time()
    assert before + 1 <= ActivityWaiters.deadline(1, None) <= loop.time() + 1
    assert ActivityWaiters.deadline(None, 123.5) == 123.5
    assert ActivityWaiters.deadline(None, None) == math.inf
    with pytest.raises(ValueError, match="not both"):
        ActivityWaiters.deadline(1, 2)


def test_a_timer_of_a_finished_loop_is_not_relied_on() -> None:
    """A wait cancelled in one event loop leaves a timer that a wait in the next loop
    must not count on: the later wait still times out."""
    waiters = ActivityWaiters()

    async def cancelled() -> None:
        deadline = asyncio.get_running_loop().time() + 0.2
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(wait(waiters, deadline), 0.01)

    async def later() -> bool:
        deadline = asyncio.get_running_loop().time() + 0.3
        return await asyncio.wait_for(wait(waiters, deadline), 2)

    asyncio.run(cancelled())
    assert asyncio.run(later()) is False


async def test_a_forgotten_waiter_is_not_woken() -> None:
    """A waiter given up (forget() without waiting) is left alone by wake()."""
    waiters = ActivityWaiters()
    waiter = waiters.waiter(math.inf)
    waiters.forget(waiter)
    waiters.wake()
    assert not waiter.done()
