"""RefusalLog: one line per kind, counts at powers of ten, bounded."""

from __future__ import annotations

import logging

import pytest

from multiplayer.scene_multiplayer.refusals import RefusalLog


def test_first_then_powers_of_ten(caplog: pytest.LogCaptureFixture) -> None:
    """A kind is logged the first time, then at 10, 100, 1000 repeats."""
    log = RefusalLog(logging.getLogger("multiplayer.test"))
    for _ in range(1000):
        log.refuse(2, ("bad",), "bad packet")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused from peer 2: bad packet",
        "refused from peer 2: bad packet (10 times)",
        "refused from peer 2: bad packet (100 times)",
        "refused from peer 2: bad packet (1000 times)",
    ]
    assert log.count(2, ("bad",)) == 1000


def test_bounded_and_forgotten() -> None:
    """The oldest kinds go past the bound; a peer's kinds go when it leaves."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), max_kinds=3)
    for kind in ("a", "b", "c", "d"):
        log.refuse(2, (kind,), kind)
    assert log.count(2, ("a",)) == 0 and log.count(2, ("d",)) == 1
    log.refuse(3, ("x" * 1000,), "long")
    assert log.count(3, ("x" * 1000,)) == 1  # long parts are shortened the same way
    log.forget_peer(2)
    assert log.count(2, ("d",)) == 0
