"""Shared fixtures.

Every test runs under a guard: a log record with a traceback from the library
(an exception that a callback or a task swallowed and logged) fails the test, so a
bug cannot hide behind the library's "log and carry on" rule.
"""

from __future__ import annotations

import gc
import inspect
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_report_header() -> str:
    import multiplayer

    build = "compiled with mypyc" if multiplayer.COMPILED else "pure Python"
    return f"multiplayer: {build}, from {Path(multiplayer.__file__).parent}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """``MULTIPLAYER_EXPECT_BUILD=compiled|pure`` (run.py sets it): stop at once if
    the suite would test the other build."""
    import multiplayer

    expected = os.environ.get("MULTIPLAYER_EXPECT_BUILD")
    actual = "compiled" if multiplayer.COMPILED else "pure"
    if expected and expected != actual:
        pytest.exit(
            f"MULTIPLAYER_EXPECT_BUILD={expected}, but the multiplayer package at "
            f"{Path(multiplayer.__file__).parent} is {actual}",
            returncode=3,
        )


@pytest.fixture(autouse=True)
def _fresh_line_budgets() -> None:
    """Each test starts with the process's log budgets unspent (what one test's
    connections logged does not silence the next test's)."""
    from multiplayer.rooms import disposal, front
    from multiplayer.transport import tls, websocket_server

    for budget in (
        tls.handshake_failures,
        websocket_server.handshake_lines,
        front.refusal_lines,
        disposal.room_lines,
    ):
        budget.reset()


@pytest.fixture(autouse=True)
def _no_swallowed_exceptions(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger="multiplayer")
    yield
    if inspect.iscoroutinefunction(request.function):
        # report a leaked socket or transport on the test that leaked it (only tests
        # with an event loop open sockets; a full collection costs ~0.1 s)
        gc.collect()
    swallowed = [
        r
        for r in caplog.records
        if r.exc_info
        and r.name.startswith(("multiplayer", "websockets"))
        and not getattr(r, "expected", False)
    ]
    assert not swallowed, "exceptions were logged:\n" + "\n".join(
        caplog.handler.format(r) for r in swallowed
    )
