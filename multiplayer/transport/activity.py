"""``ActivityWaiters``: the tasks waiting in ``wait_for_activity``, and one timer.

A frame loop sleeps in ``peer.wait_for_activity(until=frame_time)`` until packets
arrive or its frame is due, thousands of times a second under load. A timer per
wait (made, then cancelled when packets come first) would cost more than the rest
of a wait, so one timer serves every waiter: it is armed for the earliest deadline
and re-armed, as it fires, for the next one.
"""

from __future__ import annotations

import asyncio
import math

__all__ = ["ActivityWaiters"]


class ActivityWaiters:
    """Futures that :meth:`wake` settles with True, or the timer with False.

    Waiting is two plain calls around the caller's own ``await`` (:meth:`waiter`,
    then :meth:`forget`) rather than a coroutine of its own: a frame loop waits once
    or twice per frame, and a nested coroutine would add its cost to every wait.
    """

    def __init__(self) -> None:
        self._waiters: dict[asyncio.Future[bool], float] = {}  # and their deadlines
        self._timer: asyncio.TimerHandle | None = None  # fires at the earliest deadline
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    @staticmethod
    def deadline(timeout: float | None, until: float | None) -> float:
        """The event loop time a wait ends: ``timeout`` seconds from now, or
        ``until``, or never (``math.inf``).

        Raises:
            ValueError: Both were given.
        """
        if timeout is not None and until is not None:
            raise ValueError("give timeout or until, not both")
        if until is not None:
            return until
        if timeout is None:
            return math.inf
        return asyncio.get_running_loop().time() + timeout

    def waiter(self, deadline: float) -> asyncio.Future[bool]:
        """A future that :meth:`wake` settles with True, or the loop time
        ``deadline`` with False. Pass it to :meth:`forget` once awaited (or given up)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters[waiter] = deadline
        if deadline != math.inf:
            self._arm(loop, deadline)
        return waiter

    def forget(self, waiter: asyncio.Future[bool]) -> None:
        """Stop tracking ``waiter``."""
        del self._waiters[waiter]

    def wake(self) -> None:
        """Something happened: end every wait with True."""
        for waiter in self._waiters:
            _settle(waiter, True)

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Have the timer fire by ``deadline``."""
        timer = self._timer
        if timer is not None and self._timer_loop is loop and not timer.cancelled():
            if timer.when() <= deadline:
                return  # it fires first, and re-arms for the later deadlines
            timer.cancel()
        self._timer = loop.call_at(deadline, self._time_out, loop)
        self._timer_loop = loop  # (a timer of a loop that ended would never fire)

    def _time_out(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        later = math.inf
        for waiter, deadline in self._waiters.items():
            if deadline <= now:
                _settle(waiter, False)
            elif not waiter.done():
                later = min(later, deadline)
        if later != math.inf:
            self._arm(loop, later)


def _settle(waiter: asyncio.Future[bool], result: bool) -> None:
    if not waiter.done():
        waiter.set_result(result)
