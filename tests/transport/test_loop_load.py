"""LoopLoad: how late the event loop runs, the measure of a saturated server."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from multiplayer.transport import loop_load
from multiplayer.transport.loop_load import LoopLoad


async def until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the timeout"
        await asyncio.sleep(0.01)


async def test_a_loop_held_up_is_late_for_the_window_then_on_time_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loop_load, "WINDOW", 0.5)
    gauge = LoopLoad.acquire(asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.12)  # a couple of probes, on time
        assert gauge.lag() < 0.05
        time.sleep(0.4)  # a callback that holds the loop
        assert gauge.lag() < 0.05  # (the probe due now has not run: not counted yet)
        await asyncio.sleep(0.01)  # the late probe ran: the mean of the window has it
        assert 0.4 / 4 <= gauge.lag() < 0.4
        await until(lambda: gauge.lag() < 0.01)  # the window moved past it
    finally:
        gauge.release()


async def test_a_loop_late_all_the_time_is_late_on_average(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Frames of 0.1 s back to back: each probe waits for one; a short hold-up among
    on-time probes counts for its share only."""
    monkeypatch.setattr(loop_load, "WINDOW", 0.5)
    gauge = LoopLoad.acquire(asyncio.get_running_loop())
    try:
        for _ in range(8):
            time.sleep(0.1)
            await asyncio.sleep(0)
        assert gauge.lag() >= 0.04
    finally:
        gauge.release()


async def test_one_gauge_per_loop_probing_while_used() -> None:
    loop = asyncio.get_running_loop()
    first, second = LoopLoad.acquire(loop), LoopLoad.acquire(loop)
    assert first is second
    first.release()
    assert second._handle is not None  # still used
    second.release()
    assert second._handle is None  # no probe left behind


async def test_saturation_is_logged_when_it_starts_and_when_it_ends(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(loop_load, "WINDOW", 0.3)
    gauge = LoopLoad.acquire(asyncio.get_running_loop())
    caplog.set_level(logging.INFO, "multiplayer.transport")
    try:
        assert not gauge.saturated(0.1)
        time.sleep(0.3)
        await asyncio.sleep(0.01)  # (the late probe runs)
        assert gauge.saturated(0.1) and gauge.saturated(0.1)
        assert not gauge.saturated(0)  # 0: no limit
        await until(lambda: not gauge.saturated(0.1))
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 2, lines
        assert lines[0].startswith("server saturated: its event loop runs 0.")
        assert "max_loop_lag 0.1 s" in lines[0]
        assert lines[1].startswith("server no longer saturated")
    finally:
        gauge.release()
