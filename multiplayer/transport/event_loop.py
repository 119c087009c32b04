"""``run()``: ``asyncio.run`` on the fastest event loop installed.

uvloop (the ``fast`` extra) runs the same asyncio programs on libuv, with cheaper
sockets and callbacks: the transport's round trips take about a quarter less time
on it (``bench/fast_path.py``). ``run()`` uses it when it is installed, unless told
not to, and asyncio's own loop otherwise, so a program written for one runs on
both.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

__all__ = ["loop_name", "run"]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], *, loop: Literal["auto", "uvloop", "asyncio"] = "auto") -> T:
    """Run ``main`` to its end on a new event loop, and return its result.

    Args:
        loop: ``"auto"`` (uvloop if installed, else asyncio's), ``"uvloop"`` or
            ``"asyncio"``.

    Raises:
        ImportError: ``loop="uvloop"`` and uvloop is not installed.
        ValueError: ``loop`` names no loop.
    """
    if loop not in ("auto", "uvloop", "asyncio"):
        main.close()
        raise ValueError(f"loop must be 'auto', 'uvloop' or 'asyncio', not {loop!r}")
    if loop != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            if loop == "uvloop":
                main.close()
                raise ImportError(
                    "uvloop is not installed: pip install 'pygodot-multiplayer[fast]'"
                ) from None
        else:
            result: T = uvloop.run(main)
            return result
    return asyncio.run(main)


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``"uvloop"`` or ``"asyncio"``: which kind of loop ``loop`` is."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
