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
"""

from __future__ import annotations

import asyncio
import functools
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tree import SceneTree

__all__ = ["STOP_SIGNALS", "name_of", "unwatch", "watch"]

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)

_running: dict[SceneTree, asyncio.AbstractEventLoop] = {}
_previous: dict[int, Any] = {}  # signal -> the handler replaced while trees run


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


def watch(tree: SceneTree, loop: asyncio.AbstractEventLoop) -> bool:
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


def unwatch(tree: SceneTree) -> None:
    """``tree.run()`` ended; the last one to end puts the previous handlers back."""
    _running.pop(tree, None)
    if _running:
        return
    for signum, handler in _previous.items():
        if signal.getsignal(signum) is _on_signal:  # (unless replaced since)
            signal.signal(signum, handler)
    _previous.clear()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for tree, loop in list(_running.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(tree._stop_by_signal, signum)
