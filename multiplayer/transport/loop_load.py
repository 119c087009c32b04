"""How far behind its event loop runs: the measure a server admits new clients by.

A server short of CPU does not fail loudly: its event loop runs every callback
later and later, frames stretch, and a newcomer's handshake, which needs a few
passes of the loop, runs past the client's ``handshake_timeout``. The client then
fails with a timeout that says nothing of the cause, after it cost the server a
join. :class:`LoopLoad` measures the delay: a probe asks to run every
``PROBE_INTERVAL`` seconds and notes how late it runs; the lag is the mean delay
of the probes of the last ``WINDOW`` seconds. (Not the delay of the probe due now:
the server asks while admitting a client, in a callback that may follow a long
frame in the same pass of the loop, which would make every burst look like a
saturation.) A mean, not the worst: one long frame (a join that sends a thousand spawns, a
garbage collection) delays a few handshakes and passes; a loop late all the time
is what times them out. A server whose lag passes its ``max_loop_lag`` is
saturated: it refuses new clients with 1013
(try again later) and a reason, and logs when it becomes saturated and when it
recovers, so that the players already in keep the CPU they need.

One gauge serves every server of a loop (a room server's rooms share one).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque

__all__ = ["PROBE_INTERVAL", "WINDOW", "LoopLoad"]

logger = logging.getLogger("multiplayer.transport")

PROBE_INTERVAL = 0.05
WINDOW = 2.0

_gauges: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopLoad] = (
    weakref.WeakKeyDictionary()
)


class LoopLoad:
    """The lag of one event loop, measured while a server uses it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._users = 0
        self._due = 0.0  # when the next probe should run
        self._handle: asyncio.TimerHandle | None = None
        self._delays: deque[tuple[float, float]] = deque()  # (when, how late)
        self._saturated = False

    @classmethod
    def acquire(cls, loop: asyncio.AbstractEventLoop) -> LoopLoad:
        """The gauge of ``loop``, probing until every user has released it."""
        gauge = _gauges.get(loop)
        if gauge is None:
            gauge = _gauges[loop] = cls(loop)
        gauge._users += 1
        if gauge._handle is None:
            gauge._schedule(loop.time())
        return gauge

    def release(self) -> None:
        self._users -= 1
        if self._users <= 0 and self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._delays.clear()

    def _schedule(self, now: float) -> None:
        self._due = now + PROBE_INTERVAL
        self._handle = self._loop.call_at(self._due, self._probe)

    def _probe(self) -> None:
        now = self._loop.time()
        delays = self._delays
        delays.append((now, max(0.0, now - self._due)))
        while delays[0][0] < now - WINDOW:
            delays.popleft()
        self._schedule(now)

    def lag(self) -> float:
        """Seconds: how late the loop ran its callbacks lately (see the module)."""
        now = self._loop.time()
        recent = [late for when, late in self._delays if when >= now - WINDOW]
        return sum(recent) / len(recent) if recent else 0.0

    def saturated(self, max_lag: float) -> bool:
        """Whether the lag is past ``max_lag`` (0: never); a change is logged."""
        if not max_lag:
            return False
        lag = self.lag()
        saturated = lag > max_lag
        if saturated != self._saturated:
            self._saturated = saturated
            if saturated:
                logger.warning(
                    "server saturated: its event loop runs %.2f s late (max_loop_lag %s s);"
                    " new clients are refused with 1013 until it catches up",
                    lag,
                    max_lag,
                )
            else:
                logger.info("server no longer saturated (%.2f s late): admitting again", lag)
        return saturated
