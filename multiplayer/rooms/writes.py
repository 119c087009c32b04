"""``Writes``: a room server's changes to the directory, in order per room.

Game code and the transport's callbacks are synchronous: they cannot await the
directory (which may be Redis, a network away). So each change is a task, and the
tasks of one room wait for each other: a seat confirmed before the player leaves is
confirmed first there too. A write that fails is logged; one for a room removed
meanwhile is nothing to do; one lost while a shared directory is unreachable is
told (``on_lost``): the process writes its rooms again once it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..exceptions import DirectoryUnavailable, RoomNotFound
from ..transport.log_budget import LineBudget, log_within

__all__ = ["Writes"]

logger = logging.getLogger("multiplayer.rooms")

lost_lines = LineBudget(logger, "lines about directory writes lost")

T = TypeVar("T")


class Writes:
    """Runs directory writes as tasks, in order per room code: each waits for the
    one queued before it for the same room (queued as the call is made, not when
    its task first runs)."""

    def __init__(self, spawn: Callable[[Any], asyncio.Task[Any]]) -> None:
        self._spawn = spawn
        self.on_lost: Callable[[], None] | None = None  # a write that did not get there
        self.pending: dict[str, asyncio.Future[None]] = {}  # each room's last write

    async def run(self, code: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation()`` after the writes queued for room ``code`` (and before
        those queued after it), and return what it returns: a write of the room's
        state as it is when the write runs (a room put back in the directory with
        its players counted then: a seat confirmed meanwhile is counted once).

        Raises:
            Whatever ``operation()`` raises.
        """
        before, mine = self._queue(code)
        try:
            if before is not None:
                await asyncio.shield(before)
            return await operation()
        finally:
            self._done(code, mine)

    def write(
        self, code: str, operation: Awaitable[Any], lost: Callable[[], None] | None = None
    ) -> None:
        """Run ``operation`` (a directory call for room ``code``) after the others
        queued for that room; ``lost`` is called too if it did not get there."""
        before, mine = self._queue(code)

        async def write() -> None:
            try:
                if before is not None:
                    await asyncio.shield(before)
                await operation
            except RoomNotFound:
                pass  # (removed meanwhile: nothing left to change)
            except DirectoryUnavailable as exc:
                # (The process's rooms are written again once it is back.)
                log_within(lost_lines, logger, logging.WARNING, "room %s: %s", code, exc)
                if self.on_lost is not None:
                    self.on_lost()
                if lost is not None:
                    lost()
            except Exception:
                logger.exception("room %s: a directory write failed", code)
            finally:
                self._done(code, mine)

        self._spawn(write())

    def _queue(self, code: str) -> tuple[asyncio.Future[None] | None, asyncio.Future[None]]:
        """The write before this one for ``code`` (None: none), and this one's."""
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        before = self.pending.get(code)
        self.pending[code] = mine
        return before, mine

    def _done(self, code: str, mine: asyncio.Future[None]) -> None:
        mine.set_result(None)
        if self.pending.get(code) is mine:
            del self.pending[code]
