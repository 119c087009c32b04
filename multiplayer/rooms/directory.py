"""The room directory: which rooms exist, where each lives, and its seats.

A room server asks its directory before it creates or joins a room, and tells it
when a seat is taken or given back; players find public rooms in its listing. The
directory is the one thing several processes would have to share, so it sits
behind a small asynchronous interface, :class:`RoomDirectory`: this module has the
in-process one, :class:`LocalDirectory`; a Redis one can take its place without
the rooms noticing (each operation is one atomic step there too: a Lua script).

**The seat ledger.** A join takes time (a WebSocket handshake, the room's join
hook, maybe authentication), and a room must not be over-filled by joins that race
for its last seat. So a join first *holds* a seat (:meth:`RoomDirectory.reserve`,
which fails at once if every seat is taken or held), then *confirms* it once the
player is in, or *releases* it if the join failed. A hold that is neither expires
after ``hold_time`` seconds (the joining process died, say), so seats never leak.

**Single flight.** :meth:`RoomDirectory.join_or_create` finds a public, unlocked
room of the type with a free seat, or creates one, in one atomic step: two players
asking at the same instant land in the same room, not in two.
"""

from __future__ import annotations

import abc
import asyncio
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..exceptions import RoomFull, RoomLocked, RoomNotFound
from .codes import new_code

__all__ = [
    "DEFAULT_HOLD_TIME",
    "LocalDirectory",
    "RoomDirectory",
    "RoomInfo",
    "Seat",
    "check_max_clients",
]

DEFAULT_HOLD_TIME = 10.0
"""Seconds a seat is held for a join that neither completes nor fails."""


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """What the directory knows of a room (a snapshot)."""

    code: str
    room_type: str
    owner: str
    """Where the room lives (a process's address; one value in a single process)."""
    max_clients: int = 0
    """Seats (0: no limit)."""
    taken: int = 0
    """Seats of players who are in."""
    held: int = 0
    """Seats held for joins in progress."""
    private: bool = False
    """Not listed: joined by code only."""
    locked: bool = False
    """Takes no one new."""
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The room's own data for the listing (a map name, a game mode)."""

    @property
    def free(self) -> int | None:
        """Seats neither taken nor held (None: no limit)."""
        if not self.max_clients:
            return None
        return max(0, self.max_clients - self.taken - self.held)

    def matches(self, criteria: Mapping[str, Any]) -> bool:
        """Whether its metadata has every key of ``criteria`` with that value."""
        return all(self.metadata.get(key, _MISSING) == value for key, value in criteria.items())


_MISSING = object()


@dataclass(frozen=True, slots=True)
class Seat:
    """A seat held in a room for a join in progress (see the seat ledger)."""

    code: str
    ticket: str
    """Names the hold (a confirm or release of another's hold does nothing)."""
    created: bool = False
    """The room was created for this join (``join_or_create``, ``create``)."""


def check_max_clients(max_clients: int) -> None:
    """Raise ValueError unless ``max_clients`` is 0 (no limit) or more (each
    directory's ``create`` and ``join_or_create`` call it)."""
    if max_clients < 0:
        raise ValueError(f"max_clients must be 0 (no limit) or more, not {max_clients}")


class RoomDirectory(abc.ABC):
    """Which rooms exist, where, and their seats. Every method is one atomic step.

    Raises (where a room is named by its code):
        RoomNotFound: No room has that code.
    """

    @abc.abstractmethod
    async def create(
        self,
        room_type: str,
        owner: str,
        *,
        max_clients: int = 0,
        private: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> Seat:
        """Create a room with a fresh code, and hold its first seat."""

    @abc.abstractmethod
    async def reserve(self, code: str) -> Seat:
        """Hold a seat in the room ``code``.

        Raises:
            RoomNotFound: No room has that code.
            RoomLocked: It is locked.
            RoomFull: Every seat is taken or held.
        """

    @abc.abstractmethod
    async def join_or_create(
        self,
        room_type: str,
        owner: str,
        *,
        max_clients: int = 0,
        metadata: Mapping[str, Any] | None = None,
        criteria: Mapping[str, Any] | None = None,
    ) -> Seat:
        """Hold a seat in a public, unlocked room of ``room_type`` whose metadata
        matches ``criteria`` and that has one free (the fullest such room, so that
        rooms fill up), or else create one (with ``max_clients`` and ``metadata``)."""

    @abc.abstractmethod
    async def confirm(self, seat: Seat) -> None:
        """The join succeeded: the held seat is taken (counted even if the hold
        expired meanwhile: the player is in)."""

    @abc.abstractmethod
    async def release(self, seat: Seat) -> None:
        """The join failed: the held seat is free again."""

    @abc.abstractmethod
    async def leave(self, code: str) -> None:
        """A player left the room: a taken seat is free again."""

    @abc.abstractmethod
    async def update(
        self,
        code: str,
        *,
        locked: bool | None = None,
        private: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RoomInfo:
        """Change what is given; return the room as it is now."""

    @abc.abstractmethod
    async def remove(self, code: str) -> None:
        """The room is disposed: forget it (nothing if it is gone already)."""

    @abc.abstractmethod
    async def get(self, code: str) -> RoomInfo:
        """The room ``code`` as it is now."""

    @abc.abstractmethod
    async def listing(self, room_type: str | None = None) -> list[RoomInfo]:
        """The public rooms (of ``room_type``, if given), locked ones included (a
        lobby shows them as such)."""

    @abc.abstractmethod
    async def changed(self, since: int) -> int:
        """Wait until the listing is not as it was at version ``since``; the new
        version (``changed(-1)`` returns the current one at once)."""

    # The processes, where several share the directory (see .membership): in one
    # process there is nothing to keep.

    shared = False
    """Whether several processes share it (each then keeps an entry in it)."""
    heartbeat_interval = 1.0
    """Seconds between two heartbeats of a process."""

    async def heartbeat(self, owner: str, addresses: Mapping[str, str]) -> bool:
        """Renew ``owner``'s entry (with the addresses others reach it at); False if
        the directory did not know it (first start, or its entry was lost)."""
        return True

    async def sweep(self) -> dict[str, list[str]]:
        """Forget the processes that stopped beating; their rooms, by process."""
        return {}

    async def restore(self, owner: str, room: RoomInfo) -> bool:
        """Put ``room`` of ``owner`` back; False if another process has its code."""
        return True

    async def addresses(self, owner: str) -> dict[str, str] | None:
        """Where the process ``owner`` is reached (None: unknown, or not alive)."""
        return None

    async def drain(self, owner: str, draining: bool = True) -> None:
        """``owner`` takes no new room (``join_or_create`` looks elsewhere)."""
        return None  # (one process: it is the only one there is)

    async def deregister(self, owner: str) -> None:
        """``owner`` stops: its entry and rooms are forgotten."""
        return None  # (one process: its rooms are removed as they end)

    async def forget(self, owner: str, code: str) -> None:
        """Remove room ``code`` if ``owner`` still owns it (its removal was lost, or
        its creation failed half-way)."""
        return None


class LocalDirectory(RoomDirectory):
    """The directory of one process: each method runs without yielding in between,
    which makes it atomic.

    Args:
        hold_time: Seconds a held seat waits for its confirm or release.
        clock: The time (for the holds); the event loop's by default.
    """

    def __init__(
        self, hold_time: float = DEFAULT_HOLD_TIME, clock: Callable[[], float] | None = None
    ) -> None:
        self.hold_time = hold_time
        self._clock = clock or time.monotonic
        self._rooms: dict[str, RoomInfo] = {}
        self._holds: dict[str, dict[str, float]] = {}  # code: ticket: expiry
        self._version = 0
        self._change = asyncio.Event()

    # Creating and joining.

    async def create(
        self,
        room_type: str,
        owner: str,
        *,
        max_clients: int = 0,
        private: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> Seat:
        return self._create(room_type, owner, max_clients, private, metadata)

    async def reserve(self, code: str) -> Seat:
        room = self._room(code)
        if room.locked:
            raise RoomLocked(f"room {code} is locked")
        if room.free == 0:
            raise RoomFull(f"room {code} is full ({room.max_clients} seats)")
        return self._hold(room)

    async def join_or_create(
        self,
        room_type: str,
        owner: str,
        *,
        max_clients: int = 0,
        metadata: Mapping[str, Any] | None = None,
        criteria: Mapping[str, Any] | None = None,
    ) -> Seat:
        self._expire_all()
        candidates = [
            room
            for room in self._rooms.values()
            if room.room_type == room_type
            and not room.private
            and not room.locked
            and room.free != 0
            and room.matches(criteria or {})
        ]
        if candidates:
            fullest = max(candidates, key=lambda room: room.taken + room.held)
            return self._hold(self._room(fullest.code))
        return self._create(room_type, owner, max_clients, False, metadata)

    async def confirm(self, seat: Seat) -> None:
        room = self._rooms.get(seat.code)
        if room is None:
            return
        held = self._holds.get(seat.code, {}).pop(seat.ticket, None) is not None
        # (a hold that expired meanwhile still ends in a player who is in: counted)
        self._set(replace(room, taken=room.taken + 1, held=room.held - held))

    async def release(self, seat: Seat) -> None:
        if self._holds.get(seat.code, {}).pop(seat.ticket, None) is not None:
            room = self._rooms[seat.code]
            self._set(replace(room, held=room.held - 1))

    async def leave(self, code: str) -> None:
        room = self._rooms.get(code)
        if room is not None and room.taken:
            self._set(replace(room, taken=room.taken - 1))

    # Changing and forgetting.

    async def update(
        self,
        code: str,
        *,
        locked: bool | None = None,
        private: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RoomInfo:
        room = self._room(code)
        changes: dict[str, Any] = {}
        if locked is not None:
            changes["locked"] = locked
        if private is not None:
            changes["private"] = private
        if metadata is not None:
            changes["metadata"] = MappingProxyType(dict(metadata))
        return self._set(replace(room, **changes))

    async def remove(self, code: str) -> None:
        if self._rooms.pop(code, None) is not None:
            self._holds.pop(code, None)
            self._bump()

    async def forget(self, owner: str, code: str) -> None:
        room = self._rooms.get(code)
        if room is not None and room.owner == owner:
            await self.remove(code)

    # Reading.

    async def get(self, code: str) -> RoomInfo:
        return self._room(code)

    async def listing(self, room_type: str | None = None) -> list[RoomInfo]:
        self._expire_all()
        return [
            room
            for room in self._rooms.values()
            if not room.private and (room_type is None or room.room_type == room_type)
        ]

    async def changed(self, since: int) -> int:
        while self._version <= since:
            await self._change.wait()
        return self._version

    # The ledger.

    def _create(
        self,
        room_type: str,
        owner: str,
        max_clients: int,
        private: bool,
        metadata: Mapping[str, Any] | None,
    ) -> Seat:
        check_max_clients(max_clients)
        code = new_code()
        while code in self._rooms:
            code = new_code()
        room = RoomInfo(
            code,
            room_type,
            owner,
            max_clients=max_clients,
            private=private,
            metadata=MappingProxyType(dict(metadata or {})),
        )
        self._rooms[code] = room
        return replace(self._hold(room), created=True)

    def _hold(self, room: RoomInfo) -> Seat:
        ticket = secrets.token_hex(8)
        self._holds.setdefault(room.code, {})[ticket] = self._clock() + self.hold_time
        self._set(replace(room, held=room.held + 1))
        return Seat(room.code, ticket)

    def _room(self, code: str) -> RoomInfo:
        """The room ``code``, with its expired holds let go."""
        room = self._rooms.get(code)
        if room is None:
            raise RoomNotFound(f"no room {code}")
        return self._expire(room)

    def _expire(self, room: RoomInfo) -> RoomInfo:
        holds = self._holds.get(room.code)
        if not holds:
            return room
        now = self._clock()
        stale = [ticket for ticket, expiry in holds.items() if expiry <= now]
        for ticket in stale:
            del holds[ticket]
        if not stale:
            return room
        return self._set(replace(room, held=room.held - len(stale)))

    def _expire_all(self) -> None:
        for room in list(self._rooms.values()):
            self._expire(room)

    def _set(self, room: RoomInfo) -> RoomInfo:
        self._rooms[room.code] = room
        self._bump()
        return room

    def _bump(self) -> None:
        self._version += 1
        change, self._change = self._change, asyncio.Event()
        change.set()
