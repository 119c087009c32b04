"""Tests for :mod:`multiplayer.transport.log_budget`: capped lines with a summary."""

from __future__ import annotations

import asyncio
import logging

import pytest

from multiplayer.transport.log_budget import LineBudget, log_within

LOGGER = logging.getLogger("multiplayer.test_budget")


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER.name]


async def test_past_its_lines_a_budget_counts_then_sums_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = LineBudget(LOGGER, "knocks", lines=3, interval=0.2)
    for i in range(10):
        budget.log(logging.WARNING, "knock %d", i)
    assert lines(caplog) == ["knock 0", "knock 1", "knock 2"]
    for _ in range(200):  # (until the interval ends: one line sums up the rest)
        if len(lines(caplog)) > 3:
            break
        await asyncio.sleep(0.01)
    assert lines(caplog)[3:] == ["7 more knocks in 0.2 s, not logged (more than 3)"]
    budget.log(logging.WARNING, "knock %d", 10)  # a new interval: lines again
    assert lines(caplog)[-1] == "knock 10"


def test_without_a_loop_the_next_line_sums_up(caplog: pytest.LogCaptureFixture) -> None:
    budget = LineBudget(LOGGER, "knocks", lines=1, interval=0.0)
    budget.log(logging.INFO, "a")
    budget._logged = 1  # (spent, and no loop to end the interval: the next call does)
    budget._since = float("inf")
    budget.log(logging.INFO, "b")
    budget._since = float("-inf")
    budget.log(logging.INFO, "c")
    assert lines(caplog) == ["a", "1 more knocks in 0 s, not logged (more than 1)", "c"]


def test_log_within_no_budget_is_a_plain_line(caplog: pytest.LogCaptureFixture) -> None:
    log_within(None, LOGGER, logging.WARNING, "plain %s", "line")
    other = logging.getLogger("multiplayer.test_budget.other")
    log_within(LineBudget(LOGGER, "x"), other, logging.WARNING, "on %s", "other")
    assert lines(caplog) == ["plain line"]
    assert [r.getMessage() for r in caplog.records if r.name == other.name] == ["on other"]
