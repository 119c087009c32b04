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
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.redis_server import RedisServer


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


# A real redis-server, for the Redis room directory and the cluster.

_redis_unavailable: list[str] = []


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (each test keeps to a namespace of its own);
    else skip, or fail with MULTIPLAYER_REQUIRE_REDIS=1 (CI sets it)."""
    from tests.redis_server import REQUIRE_ENV, RedisServer, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        _redis_unavailable.append(reason)
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but Redis cannot run: {reason}", pytrace=False)
        pytest.skip(f"Redis cannot run: {reason}")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(redis_server: RedisServer, tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, to stop and restart (it skips or fails as
    ``redis_server`` does)."""
    from tests.redis_server import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_namespace(request: pytest.FixtureRequest) -> str:
    """Keys of this test's own (the session's Redis is shared)."""
    return f"test-{request.node.name}-{os.urandom(4).hex()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "Redis cannot run" in str(report.longrepr)
    ]
    if skipped:
        reason = _redis_unavailable[0] if _redis_unavailable else "no redis-server"
        terminalreporter.write_sep(
            "!", f"{len(skipped)} Redis tests SKIPPED: {reason}", red=True, bold=True
        )
