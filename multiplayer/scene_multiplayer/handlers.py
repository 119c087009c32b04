"""Running user code on behalf of a remote peer: RPC handlers and auth callbacks.

While a handler runs, ``get_remote_sender_id()`` names the peer it runs for. Sync
handlers use a plain stack, so that callbacks they schedule (``call_later``, a new
task) do not inherit the sender; ``async def`` handlers run as tasks in a context of
their own where the sender is set, so it survives every ``await`` (Godot loses it).

A handler's exception is logged (or, for an awaited call, sent back as the
answer) and never escapes ``poll()``. The tasks of a peer's async handlers are kept
in a set the caller gives (its session's): at most ``max_running`` run at once (more
are refused), and they are cancelled when the peer leaves. The time sync handlers
take is added up (``handler_time``), so that a peer's time budget (:mod:`.limits`)
counts what reading its packets costs, not what the application does about them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ..protocol.messages import Status

__all__ = ["HandlerRunner", "Reply", "cancel"]

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
        self.local_tasks: set[asyncio.Task[Any]] = set()
        """The async handlers this peer runs for itself (``call_local``)."""
        self.handler_time = 0.0
        """Seconds spent in sync handlers (and in starting async ones) so far."""

    def sender(self) -> int:
        """The peer whose handler is running here, else 0."""
        if self._senders:
            return self._senders[-1]
        current = _async_sender.get()
        return current[1] if current is not None and current[0] is self else 0

    def run(
        self,
        sender: int,
        tasks: set[asyncio.Task[Any]],
        what: What,
        function: Callable[..., object],
        args: Sequence[Any] = (),
        reply: Reply | None = None,
    ) -> bool:
        """Run ``function(*args)`` for ``sender``; ``reply`` gets its result or its error.

        An async handler's task joins ``tasks`` until it ends. False if it was
        refused: ``tasks`` holds ``max_running`` tasks already.
        """
        if len(tasks) >= self.max_running:
            if reply is not None:
                reply(Status.REFUSED, f"more than {self.max_running} calls in progress")
            return False
        self._senders.append(sender)
        start = time.perf_counter()
        try:
            result = function(*args)
        except Exception as exc:
            self._failed(sender, what, exc, reply)
            return True
        finally:
            self._senders.pop()
            self.handler_time += time.perf_counter() - start
        if result is not None and asyncio.iscoroutine(result):
            self._start(sender, tasks, what, result, reply)
        elif reply is not None:
            reply(Status.OK, result)
        return True

    def _failed(self, sender: int, what: What, exc: BaseException, reply: Reply | None) -> None:
        if not isinstance(what, str):
            what = what()
        # Logged with its traceback either way: it is a bug on this side. An awaited
        # call's caller also gets the type name and message (never the traceback).
        logger.error("error in %s for peer %d", what, sender, exc_info=exc)
        if reply is not None:
            reply(Status.ERROR, [type(exc).__name__, str(exc)])

    def _start(
        self,
        sender: int,
        tasks: set[asyncio.Task[Any]],
        what: What,
        coroutine: Coroutine[Any, Any, Any],
        reply: Reply | None,
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
        tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, tasks, sender, what, reply))

    def _done(
        self,
        task: asyncio.Task[Any],
        tasks: set[asyncio.Task[Any]],
        sender: int,
        what: str,
        reply: Reply | None,
    ) -> None:
        tasks.discard(task)
        if task.cancelled():
            if reply is not None:
                reply(Status.ERROR, ["CancelledError", "the call was cancelled"])
            return
        exc = task.exception()
        if exc is not None:
            self._failed(sender, what, exc, reply)
        elif reply is not None:
            reply(Status.OK, task.result())


def cancel(tasks: set[asyncio.Task[Any]]) -> None:
    """Stop the handlers of a peer that left."""
    for task in list(tasks):
        task.cancel()
