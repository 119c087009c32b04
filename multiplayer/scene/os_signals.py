"""SIGINT and SIGTERM end ``await tree.run()`` cleanly, with no traceback.

Without this, Ctrl+C raises ``KeyboardInterrupt`` wherever the program happens to
be (``asyncio.run`` cancels the main task, then re-raises it), the process prints
a traceback, and the other side of each connection sees it drop (1006) rather than
close. A Godot game quits on a window close likewise: through the main loop.

While a tree runs on the main thread, this module's handler stands in for the
default ones. On a signal it asks every running tree to ``quit()`` after its
current frame (through ``loop.call_soon_threadsafe``: a Python signal handler runs
between two bytecodes, possibly mid-frame); each tree's ``run()`` then closes its
peers, and when the last tree stops the previous handlers are put back.

The contract, for SIGINT as for SIGTERM: ``run()`` returns, as after ``quit()``,
and raises nothing; a program whose main coroutine ends there exits with status 0.
A program that wants another status (130 for Ctrl+C is the shell's custom) or
other behaviour installs its own handler: a handler that is neither the default
one nor ``asyncio.run``'s (nor ``SIG_IGN``) is left alone, as is every handler
outside the main thread, where Python allows none.

A frame that never ends (a ``_process`` stuck in a loop or a blocking call) never
lets the loop run the ``quit()``. So a second SIGINT while a stop is pending (before
the last tree's ``run()`` has ended) is not taken as another request: it falls
through to the handler that was there before, and Python's raises
``KeyboardInterrupt`` at once, inside the stuck frame, with its traceback (so does
``asyncio.run``'s at a second Ctrl+C; the first was ours). Ctrl+C twice always
interrupts, as in a program without this module. A second SIGTERM is still only a
request (a supervisor may send it twice); SIGKILL ends a stuck process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
from types import FrameType
from typing import Any, Protocol

__all__ = ["STOP_SIGNALS", "Stoppable", "name_of", "unwatch", "watch"]


class Stoppable(Protocol):
    """What a signal stops: a ``SceneTree``, or a room server (which runs many)."""

    def _stop_by_signal(self, signum: int) -> None: ...


STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)

logger = logging.getLogger("multiplayer.scene")

_running: dict[Stoppable, asyncio.AbstractEventLoop] = {}
_previous: dict[int, Any] = {}  # signal -> the handler replaced while trees run
_stopping: set[Stoppable] = set()  # asked to stop by a signal, run() not ended yet


def name_of(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _replaceable(handler: Any) -> bool:
    """Whether ``handler`` is a default this module may stand in for: Python's own,
    or the one ``asyncio.run`` installs for SIGINT (it cancels the main task)."""
    if handler in (signal.SIG_DFL, signal.default_int_handler):
        return True
    if isinstance(handler, functools.partial):  # (asyncio.Runner binds its main task so)
        handler = handler.func
    return isinstance(getattr(handler, "__self__", None), asyncio.Runner)


def watch(tree: Stoppable, loop: asyncio.AbstractEventLoop) -> bool:
    """Let the stop signals end ``tree.run()``; False if they cannot here (not the
    main thread, or the program handles both signals itself)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if not _running:
        for signum in STOP_SIGNALS:
            handler = signal.getsignal(signum)
            if _replaceable(handler):
                _previous[signum] = handler
                signal.signal(signum, _on_signal)
    if not _previous:
        return False
    _running[tree] = loop
    return True


def unwatch(tree: Stoppable) -> None:
    """``tree.run()`` ended; the last one to end puts the previous handlers back."""
    _running.pop(tree, None)
    _stopping.discard(tree)
    if _running:
        return
    for signum, handler in _previous.items():
        if signal.getsignal(signum) is _on_signal:  # (unless replaced since)
            signal.signal(signum, handler)
    _previous.clear()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    running = [(tree, loop) for tree, loop in _running.items() if not loop.is_closed()]
    if signum == signal.SIGINT and any(tree in _stopping for tree, _ in running):
        _fall_through(signum, frame)
        return
    # (first: a second signal may run this handler again from within it, anywhere)
    _stopping.update(tree for tree, _ in running)
    # (logged here, not by the loop: a stuck frame would keep the loop from it)
    again = " (Ctrl+C again interrupts it)" if signum == signal.SIGINT else ""
    logger.info("%s: run() stops after the current frame%s", name_of(signum), again)
    for tree, loop in running:
        loop.call_soon_threadsafe(tree._stop_by_signal, signum)


def _fall_through(signum: int, frame: FrameType | None) -> None:
    """What the handler replaced would do: ``KeyboardInterrupt`` for Python's and
    ``asyncio.run``'s (the latter raises it at a second interrupt, and ours took the
    first); the default action, ending the process, for ``SIG_DFL``."""
    if _previous.get(signum) is signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
        return
    raise KeyboardInterrupt
