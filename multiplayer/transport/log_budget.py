"""``LineBudget``: log lines about what anyone on the network can cause, capped.

Anyone who can reach a server's port can make it fail handshakes: junk on a TLS
port, a WebSocket upgrade that never finishes, a greeting of another protocol.
Each deserves a line (the address and what was wrong), but an attacker who opens
thousands of connections must not turn that into thousands of lines a second. A
budget allows ``lines`` lines per ``interval`` seconds for one kind of event, in
the whole process (new connections get no new budget); past it, the events are
counted, and the count is logged in one line when the interval ends.
"""

from __future__ import annotations

import asyncio
import logging
import time

__all__ = ["BUDGET_INTERVAL", "BUDGET_LINES", "LineBudget", "log_within"]

BUDGET_LINES = 20
"""Lines a budget allows each interval (the rest are counted)."""
BUDGET_INTERVAL = 10.0
"""Seconds of that interval."""


class LineBudget:
    """A capped stream of log lines about ``what`` (plural: "failed TLS handshakes").

    Args:
        logger: Where the lines go.
        what: What the lines are about, for the summary line.
        lines: Lines allowed each interval.
        interval: Seconds of the interval.
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        lines: int = BUDGET_LINES,
        interval: float = BUDGET_INTERVAL,
    ) -> None:
        self.logger = logger
        self.what = what
        self.lines = lines
        self.interval = interval
        self._since = float("-inf")  # when the interval began
        self._logged = 0
        self._held = 0
        self._timer: asyncio.TimerHandle | None = None

    def reset(self) -> None:
        """Start afresh: the interval's lines unspent, nothing held (for tests)."""
        if self._timer is not None:
            self._timer.cancel()
        self._since, self._logged, self._held, self._timer = float("-inf"), 0, 0, None

    def log(
        self, level: int, message: str, *args: object, logger: logging.Logger | None = None
    ) -> None:
        """Log one line (on ``logger``, if not the budget's own), or count it if the
        interval's lines are spent."""
        now = time.monotonic()
        if now - self._since >= self.interval:
            self._sum_up()
            self._since, self._logged = now, 0
        if self._logged < self.lines:
            self._logged += 1
            (logger or self.logger).log(level, message, *args)
            return
        self._held += 1
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # (no loop: the next line sums up)
                return
            delay = self._since + self.interval - now
            self._timer = loop.call_later(delay, self._interval_over)

    def _interval_over(self) -> None:
        self._timer = None
        self._sum_up()

    def _sum_up(self) -> None:
        if self._held:
            self.logger.warning(
                "%d more %s in %g s, not logged (more than %d)",
                self._held,
                self.what,
                self.interval,
                self.lines,
            )
            self._held = 0


def log_within(
    budget: LineBudget | None, logger: logging.Logger, level: int, message: str, *args: object
) -> None:
    """Log a line on ``logger``, within ``budget`` if there is one."""
    if budget is None:
        logger.log(level, message, *args)
    else:
        budget.log(level, message, *args, logger=logger)
