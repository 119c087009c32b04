"""``Tasks``: what a room server runs in the background, kept so that none is lost.

Directory writes, hooks that are coroutines, the serving of each request: each is a
task of the server's. One that fails is logged (none fails in silence), and a
shutdown lets those still running finish, until its deadline, then cancels them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["Tasks"]

logger = logging.getLogger("multiplayer.rooms")


class Tasks:
    """A room server's background tasks."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run ``coroutine`` as a task of the server's."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.running.add(task)
        task.add_done_callback(self._done)
        return task

    def call(self, function: Callable[..., Any], *args: Any, failed: Callable[[], None]) -> None:
        """Call ``function(*args)``; a coroutine it returns runs as a task. An error,
        raised at once or later, calls ``failed`` (in its ``except``: it may log it)."""
        try:
            result = function(*args)
        except Exception:
            failed()
            return
        if result is None or not inspect.isawaitable(result):
            return

        async def run() -> None:
            try:
                await result
            except Exception:
                failed()

        self.spawn(run())

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("room server task failed: %r", task, exc_info=task.exception())

    async def finish(self, deadline: float) -> None:
        """Let the tasks still running (but the caller's) finish until the loop's
        time ``deadline``; cancel the rest, one line each."""
        here = asyncio.current_task()
        running = [task for task in self.running if task is not here]
        if not running:
            return
        timeout = max(0.0, deadline - asyncio.get_running_loop().time())
        _, late = await asyncio.wait(running, timeout=timeout)
        for task in late:
            logger.warning("shutdown: cancelling %r, still running", task)
            task.cancel()
