"""``Disposal``: how rooms end.

A room ends when its game says so (``room.dispose()``), when its code fails, when
the server shuts down, or ``dispose_delay`` seconds after it is left empty: no
player (one away for a resume still counts) and no join in progress. Ending it
removes it from the directory first (no one new is sent to a room that ends), takes
it out of the frames, runs its ``on_dispose`` (``DISPOSE_TIMEOUT`` seconds at
most: a hook that hangs does not keep its players), frees its scene, and closes
its players with 1001 (going away).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from ..transport.log_budget import LineBudget
from .directory import RoomDirectory
from .frames import RoomFrames
from .room import Room
from .writes import Writes

__all__ = ["DISPOSE_TIMEOUT", "Disposal", "cancel_dispose", "room_lines"]

logger = logging.getLogger("multiplayer.rooms")

DISPOSE_TIMEOUT = 5.0
"""Seconds a room's ``on_dispose`` may take; then its players are let go all the same."""

room_lines = LineBudget(logger, "lines about rooms created and disposed")
"""Rooms come and go at the clients' request: their lines have a budget."""


class Disposal:
    """Ends the rooms of one server."""

    def __init__(
        self,
        frames: RoomFrames,
        directory: RoomDirectory,
        writes: Writes,
        spawn: Callable[[Any], asyncio.Task[Any]],
    ) -> None:
        self._frames = frames
        self._directory = directory
        self._writes = writes
        self._spawn = spawn
        self._ending: set[asyncio.Task[Any]] = set()
        self.unremoved: set[str] = set()  # ended, their removal from the directory lost

    def check_empty(self, room: Room, delay: float) -> None:
        """Dispose ``room`` ``delay`` seconds from now if it is empty (a join
        meanwhile cancels it: see :func:`cancel_dispose`)."""
        if room.disposed or room._joining or room.peer._links or room._dispose_timer:
            return
        loop = asyncio.get_running_loop()
        room._dispose_timer = loop.call_later(delay, self.dispose_soon, room)

    def dispose_soon(self, room: Room) -> None:
        """End ``room`` now (its ending runs as a task)."""
        if room.disposed:
            return
        room._disposed = True
        cancel_dispose(room)
        task = self._spawn(self._dispose(room))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def wait(self) -> None:
        """Until every room being disposed has ended."""
        while self._ending:
            await asyncio.wait(set(self._ending))

    async def _dispose(self, room: Room) -> None:
        code = room.code
        self._writes.write(code, self._directory.remove(code), lambda: self.unremoved.add(code))
        self._frames.remove(room)
        try:
            result = room.on_dispose()
            if result is not None and inspect.isawaitable(result):
                await asyncio.wait_for(result, DISPOSE_TIMEOUT)
        except TimeoutError:
            logger.warning(
                "room %s (%s): on_dispose still ran after %s s; its players are let go",
                code,
                room.room_type,
                DISPOSE_TIMEOUT,
            )
        except Exception:
            logger.exception("room %s (%s): on_dispose failed", code, room.room_type)
        except asyncio.CancelledError:  # (a shutdown that could wait no longer)
            room.peer.close()
            raise
        try:
            for child in room.tree.root.get_children():
                child.queue_free()
            room.tree._flush_free_queue()
        except Exception:  # (its players are let go all the same)
            logger.exception("room %s (%s): freeing its scene failed", code, room.room_type)
        room.peer.close()
        room_lines.log(logging.INFO, "room %s (%s) disposed", code, room.room_type)
        await room.peer.wait_closed()


def cancel_dispose(room: Room) -> None:
    """A join came: ``room`` is not empty after all."""
    timer = room._dispose_timer
    if timer is not None:
        timer.cancel()
        room._dispose_timer = None
