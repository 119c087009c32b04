"""``Membership``: a room server as one process of a cluster that shares a directory.

With a shared directory (:class:`~.redis_directory.RedisDirectory`), every
``heartbeat_interval`` the server:

* renews its entry, with the addresses the others reach it at;
* puts its live rooms back if the directory lost them (its entry was gone: Redis
  restarted empty, or the process was cut off past ``dead_after`` and swept), or
  if a write of its was lost while Redis was unreachable (the seat counts written
  then are the process's own, which are the truth), and removes the rooms that
  ended meanwhile (else they would stay listed for as long as the process lives);
* sweeps the processes that stopped beating: their rooms are marked gone.

A room whose code another process took while the directory was away cannot be put
back: it is disposed (its players are closed with 1001), so that no room is ever
owned twice. With the in-process directory there is nothing to do.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import DirectoryUnavailable
from ..transport.log_budget import LineBudget, log_within
from .directory import RoomDirectory, RoomInfo
from .room import Room
from .room_types import RoomTypes
from .seating import process_name
from .writes import Writes

__all__ = ["Membership"]

logger = logging.getLogger("multiplayer.rooms")

directory_lines = LineBudget(logger, "lines about the directory being unreachable")
"""Redis down is one line per heartbeat and per lost write otherwise."""


class Membership:
    """Keeps this process's entry and rooms in a shared directory."""

    def __init__(
        self,
        directory: RoomDirectory,
        rooms: Mapping[str, Room],
        types: RoomTypes,
        writes: Writes,
        unremoved: set[str],
    ) -> None:
        self.directory = directory
        self._rooms = rooms
        self._types = types
        self._writes = writes
        writes.on_lost = self.lost_write
        self._unremoved = unremoved  # rooms ended whose removal was lost
        self.owner = ""  # this process, as the directory knows it
        self.addresses: dict[str, str] = {}  # where the other processes reach it
        self._stale = False  # a write was lost: put the rooms back at the next beat
        self._away = False  # the directory is unreachable (said once)
        self._beating: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        """Whether the directory is shared by processes (else nothing is done)."""
        return self.directory.shared

    def lost_write(self) -> None:
        """A write for one of the rooms did not reach the directory."""
        self._stale = True

    def listening(
        self, bind_address: str, port: int, host: str | None, public_host: str | None = None
    ) -> str:
        """The server listens on ``port``: the other processes reach it at ``host``
        (by default the address it is bound to, or the machine's name if it is
        bound to all), and players who follow redirects at ``public_host`` (None:
        they are forwarded). Returns this process's name in the directory."""
        self.owner = process_name(port)
        if host is None:
            host = socket.gethostname() if bind_address in ("*", "") else bind_address
        self.addresses = {"host": host, "port": str(port)}
        if public_host:
            bare = ":" in public_host and not public_host.startswith("[")  # (IPv6)
            public = f"[{public_host}]" if bare else public_host
            self.addresses["public"] = f"{public}:{port}"
        return self.owner

    def start(self, spawn: Callable[[Any], asyncio.Task[Any]]) -> None:
        """Beat until :meth:`stop` (with a shared directory; else nothing)."""
        if self.shared and self._beating is None:
            self._beating = spawn(self._run())

    def stop(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
            self._beating = None

    async def _run(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(self.directory.heartbeat_interval)

    async def beat(self) -> None:
        """One heartbeat: renew, put the rooms back if needed, sweep the dead."""
        directory, owner = self.directory, self.owner
        try:
            known = await directory.heartbeat(owner, self.addresses)
            if not known or self._stale:
                self._stale = False
                await self._put_back(owner)
            swept = await directory.sweep()
        except DirectoryUnavailable as exc:
            self._stale = True
            if not self._away:
                self._away = True
                log_within(directory_lines, logger, logging.WARNING, "%s; retrying", exc)
            return
        if self._away:
            self._away = False
            logger.info("the room directory is reachable again: this process's rooms are in it")
        for dead, codes in swept.items():
            logger.warning(
                "process %s stopped beating: its rooms are gone (%s)",
                dead,
                ", ".join(codes) or "none",
            )

    async def _put_back(self, owner: str) -> None:
        """Write this process's rooms again: the live ones, and the removal of
        those that ended while the directory was unreachable."""
        for code in list(self._unremoved):
            if code not in self._rooms:
                await self.directory.forget(owner, code)
            self._unremoved.discard(code)
        for room in list(self._rooms.values()):
            if room.disposed:
                continue
            restore = functools.partial(self._restore, owner, room)
            if not await self._writes.run(room.code, restore):
                logger.error(
                    "room %s: another process took its code while the directory was "
                    "away; disposing it (a room is never owned twice)",
                    room.code,
                )
                room.dispose()

    async def _restore(self, owner: str, room: Room) -> bool:
        """Put ``room`` back, as it is now (in its turn among the room's writes)."""
        info = RoomInfo(
            room.code,
            room.room_type,
            owner,
            max_clients=self._types.get(room.room_type).max_clients,
            taken=len(room.clients),
            private=room.private,
            locked=room.locked,
            metadata=room.metadata,
        )
        return await self.directory.restore(owner, info)

    async def drain(self) -> None:
        """This process makes no new room: the others' ``join_or_create`` looks
        elsewhere."""
        if not self.shared or not self.owner:
            return
        try:
            await self.directory.drain(self.owner)
        except DirectoryUnavailable as exc:
            logger.warning("%s: the other processes may still send players here", exc)

    async def leave(self) -> None:
        """This process stops: forget its entry and rooms (a dead one is swept)."""
        if not self.shared or not self.owner:
            return
        try:
            await self.directory.deregister(self.owner)
        except DirectoryUnavailable as exc:
            logger.warning("%s: this process's entry will be swept instead", exc)
