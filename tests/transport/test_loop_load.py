"""LoopLoad: how late the event loop runs, the measure of a saturated server.

The gauge is driven by a loop of the test's own (its clock and its timers), so a
loop "held up" for seconds takes no time here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

import pytest

from multiplayer.transport import loop_load
from multiplayer.transport.loop_load import PROBE_INTERVAL, LoopLoad


class Handle:
    def __init__(self, loop: ClockLoop, when: float, callback: Callable[[], None]) -> None:
        self.loop, self.when, self.callback = loop, when, callback

    def cancel(self) -> None:
        self.loop.timers.remove(self)


class ClockLoop:
    """What LoopLoad asks of a loop (``time``, ``call_at``), with a clock the test
    moves: ``run_until(t)`` runs the timers due by ``t`` as a loop would, each at
    the time given (a loop that was busy runs them late)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(self, when, callback)
        self.timers.append(handle)
        return handle

    def run_timers_at(self, now: float) -> None:
        """The loop gets to its timers at ``now``: those due run (late if ``now`` is
        past their time)."""
        self.now = now
        for handle in [h for h in self.timers if h.when <= now]:
            self.timers.remove(handle)
            handle.callback()

    def on_time_until(self, end: float) -> None:
        """Every timer runs when it is due, until ``end``."""
        while self.timers and min(h.when for h in self.timers) <= end:
            self.run_timers_at(min(h.when for h in self.timers))
        self.now = end


def gauge_of(loop: ClockLoop) -> LoopLoad:
    return LoopLoad.acquire(cast(asyncio.AbstractEventLoop, loop))


def test_a_loop_held_up_is_late_for_the_window_then_on_time_again() -> None:
    """The lag is the mean delay of the window's probes: one held-up pass counts
    for its share, and only once its probe has run; the window then moves past it."""
    loop = ClockLoop()
    gauge = gauge_of(loop)
    try:
        loop.on_time_until(1.0)  # 20 probes, on time
        assert gauge.lag() == 0.0
        held = gauge._due + 0.4  # a callback holds the loop past the next probe's time
        loop.now = held - 0.1
        assert gauge.lag() == 0.0  # (the probe due now has not run: not counted yet)
        loop.run_timers_at(held)
        probes = sum(1 for when, _ in gauge._delays if when >= held - loop_load.WINDOW)
        assert gauge.lag() == pytest.approx(0.4 / probes)
        loop.on_time_until(held + loop_load.WINDOW + 0.01)
        assert gauge.lag() == 0.0  # the window moved past it
    finally:
        gauge.release()


def test_a_loop_late_all_the_time_is_late_on_average() -> None:
    """Passes of 0.1 s back to back: every probe waits for one."""
    loop = ClockLoop()
    gauge = gauge_of(loop)
    try:
        for _ in range(30):
            loop.run_timers_at(loop.now + 0.1)
        assert gauge.lag() == pytest.approx(0.1 - PROBE_INTERVAL)
    finally:
        gauge.release()


def test_one_gauge_per_loop_probing_while_used() -> None:
    loop = ClockLoop()
    first, second = gauge_of(loop), gauge_of(loop)
    assert first is second
    first.release()
    assert loop.timers  # still used: still probing
    second.release()
    assert not loop.timers  # no probe left behind


def test_saturation_is_logged_when_it_starts_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = ClockLoop()
    gauge = gauge_of(loop)
    caplog.set_level(logging.INFO, "multiplayer.transport")
    try:
        loop.on_time_until(0.5)
        assert not gauge.saturated(0.1)
        for _ in range(10):  # passes of 0.3 s
            loop.run_timers_at(loop.now + 0.3)
        assert gauge.saturated(0.1) and gauge.saturated(0.1)
        assert not gauge.saturated(0)  # 0: no limit
        loop.on_time_until(loop.now + loop_load.WINDOW + 0.01)
        assert not gauge.saturated(0.1)
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 2, lines
        assert lines[0].startswith("server saturated: its event loop runs 0.25 s late")
        assert "max_loop_lag 0.1 s" in lines[0]
        assert lines[1].startswith("server no longer saturated")
    finally:
        gauge.release()


async def test_on_a_real_loop_the_probe_runs_by_itself() -> None:
    """The probe is asyncio's timer: on a running loop it runs and notes its delays."""
    loop = asyncio.get_running_loop()
    gauge = LoopLoad.acquire(loop)
    try:
        deadline = loop.time() + 5
        while len(gauge._delays) < 3:
            assert loop.time() < deadline, "the probe did not run"
            await asyncio.sleep(0.01)
        assert gauge.lag() >= 0.0
    finally:
        gauge.release()
