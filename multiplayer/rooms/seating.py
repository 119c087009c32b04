"""``Seating``: a seat for each request, in a room of this process.

A request holds a seat in the directory first (:mod:`.directory`: the ledger that
never over-fills a room), then finds its room here: alive, being created by another
request (it waits for it), or made for it (it creates it, ``max_rooms`` allowing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

from ..exceptions import JoinRefused, RoomError, RoomNotFound
from .directory import RoomDirectory, RoomInfo, Seat
from .disposal import cancel_dispose
from .paths import Action, RoomRequest
from .room import Room
from .room_types import RoomTypes
from .writes import Writes

__all__ = ["START_WAIT", "AtCapacity", "Elsewhere", "Seating", "process_name"]

logger = logging.getLogger("multiplayer.rooms")

_ATTEMPTS = 3
"""Times a join_or_create asks the directory, when the room it got ended meanwhile."""

_LOOK_AGAIN = 0.05
"""Seconds between two looks at the directory while waiting for a room to start."""

START_WAIT = 2.0
"""Seconds a join waits for a room the directory says is here, not started yet."""


def process_name(port: int | None = None) -> str:
    """This process's name in a directory: its machine, the port it is reached at
    (once it listens) and its pid."""
    middle = f":{port}" if port is not None else ""
    return f"{socket.gethostname()}{middle}:{os.getpid()}"


class AtCapacity(RoomError):
    """The server hosts ``max_rooms`` rooms: a new one must wait (1013)."""


class Elsewhere(RoomError):
    """The room of a seat held here lives in another process, ``owner``: the player
    is forwarded there, and the seat goes with it (not released here)."""

    def __init__(self, seat: Seat, owner: str) -> None:
        super().__init__(f"room {seat.code} lives in another process ({owner})")
        self.seat = seat
        self.owner = owner


class Seating:
    """Seats and rooms for the requests of one server."""

    def __init__(
        self,
        directory: RoomDirectory,
        types: RoomTypes,
        rooms: Mapping[str, Room],
        writes: Writes,
        create: Callable[[RoomInfo, Mapping[str, str]], Awaitable[Room]],
        max_rooms: int,
    ) -> None:
        self.directory = directory
        self.owner = process_name()  # this process, as the directory knows it
        self.max_rooms = max_rooms
        self.draining = False  # (RoomServer.drain: no new room here)
        self._types = types
        self._rooms = rooms
        self._writes = writes
        self._create = create
        self._starting: dict[str, asyncio.Future[Room]] = {}  # being created here
        self._started = asyncio.Event()  # set when one is

    def release(self, seat: Seat) -> None:
        """Give a held seat back (its join failed)."""
        self._writes.write(seat.code, self.directory.release(seat))

    async def take(self, wanted: RoomRequest) -> tuple[Seat, Room]:
        """Hold a seat for ``wanted``, and find (or create) its room here. A
        ``join_or_create`` whose room ended meanwhile asks again (the directory
        then finds another, or makes one): the player asked for any room."""
        for _ in range(_ATTEMPTS - 1):
            try:
                return await self._take(wanted)
            except RoomNotFound:
                if wanted.action is not Action.JOIN_OR_CREATE:
                    raise
        return await self._take(wanted)

    async def _take(self, wanted: RoomRequest) -> tuple[Seat, Room]:
        seat = await self._hold(wanted)
        try:
            room = await self._room_for(seat, wanted.options)
        except Elsewhere:
            raise  # (the seat goes with the player)
        except BaseException:
            self.release(seat)
            raise
        room._joining += 1
        cancel_dispose(room)
        return seat, room

    async def take_held(self, seat: Seat) -> Room:
        """The room of ``seat``, held by another process for a player it forwarded
        here: alive here, or the seat is given back and this raises.

        Raises:
            RoomNotFound: The room is not here (it ended, or lives elsewhere).
        """
        try:
            room = await self._existing(seat)
        except Elsewhere:
            self.release(seat)
            raise RoomNotFound(f"room {seat.code} is not here") from None
        except BaseException:
            self.release(seat)
            raise
        room._joining += 1
        cancel_dispose(room)
        return room

    async def _hold(self, wanted: RoomRequest) -> Seat:
        directory = self.directory
        if wanted.action is Action.JOIN:
            return await directory.reserve(wanted.target)
        if self.draining:  # (its rooms are ending: matchmaking looks elsewhere)
            raise AtCapacity("this server is draining: it takes joins by code only")
        kind = self._types.get(wanted.target)
        filters = {k: wanted.options[k] for k in kind.filter_by if k in wanted.options}
        if wanted.action is Action.CREATE:
            private = wanted.options.get("private", "").lower() in ("1", "true", "yes")
            return await directory.create(
                kind.name,
                self.owner,
                max_clients=kind.max_clients,
                private=private,
                metadata=filters,
            )
        return await directory.join_or_create(
            kind.name,
            self.owner,
            max_clients=kind.max_clients,
            metadata=filters,
            criteria=filters,
        )

    async def _room_for(self, seat: Seat, options: Mapping[str, str]) -> Room:
        """The room of ``seat``: created now if the seat made it."""
        code = seat.code
        if not seat.created:
            return await self._existing(seat)
        if self.draining:
            await self.directory.remove(code)
            raise AtCapacity("this server is draining: it takes joins by code only")
        if len(self._rooms) + len(self._starting) >= self.max_rooms:
            await self.directory.remove(code)
            raise AtCapacity(f"server full (max_rooms {self.max_rooms})")
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._starting[code] = future  # (before any await: joiners of it wait for it)
        self._started.set()
        try:
            info = await self.directory.get(code)
            room = await self._create(info, options)
        except BaseException as exc:
            future.set_exception(RoomNotFound(f"room {code} could not be created"))
            future.exception()  # (retrieved: no warning if no one else waited)
            await self.directory.remove(code)
            if isinstance(exc, Exception) and not isinstance(exc, RoomError):
                logger.exception("room %s: on_create failed", code)
                raise JoinRefused("the room could not be created") from exc
            raise
        finally:
            del self._starting[code]
        future.set_result(room)
        return room

    async def _existing(self, seat: Seat) -> Room:
        """The room ``code`` of a seat held in it: alive here, or being created here
        (a directory shared by tasks may give out its seats before the task that
        created it has started it: so wait, a moment at most, for that). A room
        that is ending is no room (its directory entry may not be gone yet)."""
        code = seat.code
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_WAIT
        while True:
            room = self._rooms.get(code)
            if room is not None:
                if room.disposed:
                    raise RoomNotFound(f"room {code} has ended")
                return room
            starting = self._starting.get(code)
            if starting is not None:
                created: Room = await asyncio.shield(starting)
                return created
            info = await self.directory.get(code)
            if info.owner != self.owner:
                raise Elsewhere(seat, info.owner)
            remaining = deadline - loop.time()
            if remaining <= 0:
                if not info.taken and info.held <= 1:  # (only this seat: its creation
                    await self.directory.forget(self.owner, code)  # here failed half-way)
                raise RoomNotFound(f"room {code} has ended")
            self._started.clear()
            with contextlib.suppress(TimeoutError):  # (or its entry goes: look again)
                await asyncio.wait_for(self._started.wait(), min(remaining, _LOOK_AGAIN))
