"""Running user code on behalf of a remote peer: RPC handlers and auth callbacks.

While a handler runs, ``get_remote_sender_id()`` names the peer it runs for. Sync
handlers use a plain stack, so that callbacks they schedule (``call_later``, a new
task) do not inherit the sender; ``async def`` handlers run as tasks in a context of
their own where the sender is set, so it survives every ``await`` (Godot loses it).

A handler's exception is logged (or, for an awaited call, sent back as the
answer) and never escapes ``poll()``. A peer may have at most ``max_running`` async
handlers running at once (more are refused); when it leaves, they are cancelled.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ..protocol.messages import Status

__all__ = ["HandlerRunner", "Reply"]

logger = logging.getLogger("multiplayer.scene")

Reply = Callable[[Status, Any], None]
What = str | Callable[[], str]
"""What a handler is, for log lines: a text, or a function making it (only called
when a line is written, to keep its formatting off the hot path)."""

# The (runner, sender) of the async handler whose task is running.
_async_sender: contextvars.ContextVar[tuple[HandlerRunner, int] | None] = contextvars.ContextVar(
    "multiplayer_async_sender", default=None
)


class HandlerRunner:
    """Runs handlers for one multiplayer API and knows whose call is running."""

    def __init__(self, max_running: int = 256) -> None:
        self.max_running = max_running
        self._senders: list[int] = []  # the peers whose sync handlers are running
        self._tasks: dict[int, set[asyncio.Task[Any]]] = {}  # per sender

    def running(self, sender: int) -> int:
        """How many async handlers run for ``sender``."""
        return len(self._tasks.get(sender, ()))

    def cancel(self, sender: int) -> None:
        """``sender`` left: stop the async handlers running for it."""
        for task in self._tasks.pop(sender, set()):
            task.cancel()

    def sender(self) -> int:
        """The peer whose handler is running here, else 0."""
        if self._senders:
            return self._senders[-1]
        current = _async_sender.get()
        return current[1] if current is not None and current[0] is self else 0

    def run(
        self,
        sender: int,
        what: What,
        function: Callable[..., object],
        args: Sequence[Any] = (),
        reply: Reply | None = None,
    ) -> bool:
        """Run ``function(*args)`` for ``sender``; ``reply`` gets its result or its error.

        False if it was refused: ``sender`` has ``max_running`` async handlers running.
        """
        tasks = self._tasks.get(sender)
        if tasks is not None and len(tasks) >= self.max_running:
            if reply is not None:
                reply(Status.REFUSED, f"more than {self.max_running} calls in progress")
            return False
        self._senders.append(sender)
        try:
            result = function(*args)
        except Exception as exc:
            self._failed(sender, what, exc, reply)
            return True
        finally:
            self._senders.pop()
        if result is not None and asyncio.iscoroutine(result):
            self._start(sender, what, result, reply)
        elif reply is not None:
            reply(Status.OK, result)
        return True

    def _failed(self, sender: int, what: What, exc: BaseException, reply: Reply | None) -> None:
        if not isinstance(what, str):
            what = what()
        if reply is None:
            logger.error("error in %s for peer %d", what, sender, exc_info=exc)
        else:
            # The caller gets the type name and message; the traceback stays here.
            logger.info("%s for peer %d raised %r", what, sender, exc)
            reply(Status.ERROR, [type(exc).__name__, str(exc)])

    def _start(
        self, sender: int, what: What, coroutine: Coroutine[Any, Any, Any], reply: Reply | None
    ) -> None:
        if not isinstance(what, str):
            what = what()
        context = contextvars.copy_context()
        context.run(_async_sender.set, (self, sender))
        try:
            task = asyncio.get_running_loop().create_task(coroutine, context=context)
        except RuntimeError:
            coroutine.close()
            logger.error("%s is async but no asyncio loop is running: not run", what)
            if reply is not None:
                reply(Status.ERROR, ["RuntimeError", "no asyncio loop to run an async RPC"])
            return
        self._tasks.setdefault(sender, set()).add(task)
        task.add_done_callback(lambda t: self._done(t, sender, what, reply))

    def _done(self, task: asyncio.Task[Any], sender: int, what: What, reply: Reply | None) -> None:
        tasks = self._tasks.get(sender)
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._tasks[sender]
        if task.cancelled():
            if reply is not None:
                reply(Status.ERROR, ["CancelledError", "the call was cancelled"])
            return
        exc = task.exception()
        if exc is not None:
            self._failed(sender, what, exc, reply)
        elif reply is not None:
            reply(Status.OK, task.result())
