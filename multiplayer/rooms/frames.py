"""``RoomFrames``: the frames of every room of a server, from one task.

A room is a ``SceneTree`` of its own, but a server of a hundred rooms does not run a
hundred ``tree.run()`` loops with a timer each: one task runs a frame of every
room, ``fps`` times a second. With ``event_driven``, a room whose packets arrive
runs its RPCs at once, from the read (as ``SceneTree.run(event_driven=True)``), so
that a round trip waits for no frame.

An exception from a room's frame (its ``_process``, a timer, a signal) is handed to
``failed``, which disposes that room: the others go on. One from an RPC handler is
logged by the room's SceneMultiplayer, which goes on, as in any server (a bad call
does not end a game).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .room import Room

__all__ = ["RoomFrames"]


class RoomFrames:
    """Runs the frames of ``rooms`` (code: room) until :meth:`stop`."""

    def __init__(self, fps: float, event_driven: bool, failed: Callable[[Room, str], None]) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self.event_driven = event_driven
        self.rooms: dict[str, Room] = {}
        self._failed = failed
        self._wake = asyncio.Event()
        self._stopped = False

    def add(self, room: Room) -> None:
        """Run ``room``'s frames from the next one on."""
        room._last_frame = asyncio.get_running_loop().time()
        self.rooms[room.code] = room
        if self.event_driven:
            room.peer._on_arrival(lambda: self._arrived(room))
        self._wake.set()

    def remove(self, room: Room) -> None:
        """No more frames for ``room``."""
        self.rooms.pop(room.code, None)
        room.peer._on_arrival(None)

    def stop(self) -> None:
        """End :meth:`run` after the current frame."""
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.fps
        next_frame = loop.time()
        while not self._stopped:
            now = loop.time()
            if now + 1e-4 >= next_frame:  # (a timer may fire a hair early)
                for room in list(self.rooms.values()):
                    self._frame(room, now)
                next_frame = max(next_frame + period, now)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_frame - loop.time()))
            except TimeoutError:
                pass

    def _frame(self, room: Room, now: float) -> None:
        if room.disposed:
            return
        delta = now - room._last_frame
        room._last_frame = now
        try:
            room.tree.process(delta)
        except Exception:
            self._failed(room, "a frame")

    def _arrived(self, room: Room) -> bool:
        """Packets came for ``room``: run its RPCs now."""
        if room.disposed:
            return False
        try:
            room.tree._poll_network()
        except Exception:  # (not an RPC's own error: SceneMultiplayer logs those)
            self._failed(room, "taking in packets")
        return True
