"""Tests for :mod:`multiplayer.rooms.seating`: a seat for each request, in a room of
this process, through a real RoomServer on 127.0.0.1 and client peers.

What seating must get right: ``max_rooms`` (a refusal that leaves no entry in the
directory), a ``join_or_create`` whose room ended meanwhile (it asks again instead
of failing), a seat in a room still being created (it waits for it), and a seat in
a room another process hosts (refused at once)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from multiplayer import JoinRefused, RoomNotFound
from multiplayer.rooms import (
    JoinedRoom,
    LocalDirectory,
    Room,
    RoomDirectory,
    Seat,
    create,
    join,
    join_or_create,
    seating as seating_module,
)
from multiplayer.rooms.seating import START_WAIT
from tests.rooms.roomkit import lobby, until


def in_directory(
    directory: RoomDirectory, code: str, held: int | None = None
) -> Callable[[], Awaitable[bool]]:
    """A condition: the directory has room ``code`` (with ``held`` seats held)."""

    async def check() -> bool:
        rooms = {info.code: info for info in await directory.listing()}
        return code in rooms and (held is None or rooms[code].held == held)

    return check


def not_in_directory(directory: RoomDirectory, code: str) -> Callable[[], Awaitable[bool]]:
    """A condition: the directory has no room ``code`` (its removal is a task)."""

    async def check() -> bool:
        return code not in {info.code for info in await directory.listing()}

    return check


# max_rooms.


async def test_a_room_past_max_rooms_is_refused_with_1013_and_leaves_no_entry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two rooms at most: a third create (or a join_or_create that would make one)
    is refused with 1013 "server full (max_rooms 2)", one warning each; the entry
    the directory made for it is gone (no one is sent to a room that never was),
    and joins into the rooms that exist go on."""
    async with lobby(max_rooms=2) as served:
        served.server.define("solo", Room, max_clients=1)
        codes = [(await create(served.peer(), served.url, "solo")).code for _ in range(2)]
        for attempt in (create, join_or_create):
            with pytest.raises(ConnectionError) as refused:
                await asyncio.wait_for(attempt(served.peer(), served.url, "solo"), 5)
            assert "1013 server full (max_rooms 2)" in str(refused.value)
        assert sorted(served.server.rooms) == sorted(codes)
        # (the refused rooms' entries are removed before the refusal is sent)
        assert sorted(info.code for info in await served.server.directory.listing()) == sorted(
            codes
        )
        warnings = [
            r.getMessage()
            for r in caplog.records
            if r.name == "multiplayer.rooms"
            and r.levelno == logging.WARNING
            and "server full (max_rooms 2)" in r.getMessage()
        ]
        assert len(warnings) == 2 and all("refused (1013)" in w for w in warnings), warnings
        # (a room that ends makes room for a new one)
        served.server.rooms[codes[0]].dispose()
        await until(lambda: codes[0] not in served.server.rooms)
        joined = await asyncio.wait_for(create(served.peer(), served.url, "solo"), 5)
        assert joined.code not in codes


# A join_or_create whose room ended meanwhile.


class Laggy(LocalDirectory):
    """A directory whose join_or_create answers late once ``gate`` is set (a shared
    directory over the network): the room it chose may end before its answer
    arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Event | None = None
        self.chosen = asyncio.Event()

    async def join_or_create(
        self,
        room_type: str,
        owner: str,
        *,
        max_clients: int = 0,
        metadata: Mapping[str, Any] | None = None,
        criteria: Mapping[str, Any] | None = None,
    ) -> Seat:
        seat = await super().join_or_create(
            room_type, owner, max_clients=max_clients, metadata=metadata, criteria=criteria
        )
        if self.gate is not None:
            self.chosen.set()
            await self.gate.wait()
        return seat


async def test_a_join_or_create_whose_room_ended_meanwhile_lands_in_a_new_room() -> None:
    """The directory gives Bob a seat in Alice's room; before its answer arrives,
    that room is disposed (and its on_dispose takes its time). Bob asked for any
    room: he lands in a new one, at once (not after START_WAIT), not RoomNotFound."""
    saved = asyncio.Event()
    saving = asyncio.Event()

    class Saving(Room):
        async def on_dispose(self) -> None:
            saving.set()
            await saved.wait()  # (saving results: slow)

    laggy = Laggy()
    async with lobby(directory=laggy) as served:
        served.server.define("table", Saving, max_clients=4)
        alice = await asyncio.wait_for(join_or_create(served.peer(), served.url, "table"), 5)
        first = alice.code
        await until(in_directory(laggy, first, held=0))  # (Alice's seat confirmed)
        laggy.gate = asyncio.Event()
        bob = asyncio.create_task(join_or_create(served.peer(), served.url, "table"))
        try:
            await asyncio.wait_for(laggy.chosen.wait(), 5)
            assert (await laggy.get(first)).held == 1  # (Bob's seat is in Alice's room)
            served.server.rooms[first].dispose()
            await asyncio.wait_for(saving.wait(), 5)
            await until(not_in_directory(laggy, first))
            laggy.gate.set()
            start = time.monotonic()
            joined = await asyncio.wait_for(bob, 5)
            assert time.monotonic() - start < START_WAIT / 2
            assert joined.code != first and joined.code in served.server.rooms
            assert served.server._disposal._ending  # (while the old room still ends)
        finally:
            laggy.gate.set()
            saved.set()
            await asyncio.gather(bob, return_exceptions=True)


async def test_a_join_or_create_waiting_for_a_room_whose_creation_fails_asks_again() -> None:
    """Bob's join_or_create is given a seat in the room Alice's request is still
    creating; its on_create then refuses Alice. Bob lands in a new room of his own
    instead of being told the room could not be created."""
    creating = asyncio.Event()
    fail = asyncio.Event()

    class Fussy(Room):
        async def on_create(self, options: Mapping[str, str]) -> None:
            if options.get("name") == "alice":
                creating.set()
                await fail.wait()
                raise JoinRefused("not this one")

    async with lobby() as served:
        served.server.define("table", Fussy, max_clients=4)
        alice = asyncio.create_task(
            join_or_create(served.peer(), served.url, "table", {"name": "alice"})
        )
        bob: asyncio.Task[JoinedRoom] | None = None
        try:
            await asyncio.wait_for(creating.wait(), 5)
            (info,) = await served.server.directory.listing()
            first = info.code
            bob = asyncio.create_task(
                join_or_create(served.peer(), served.url, "table", {"name": "bob"})
            )
            await until(in_directory(served.server.directory, first, held=2))
            fail.set()
            with pytest.raises(JoinRefused, match="not this one"):
                await asyncio.wait_for(alice, 5)
            joined = await asyncio.wait_for(bob, 5)
            assert joined.code != first
            assert list(served.server.rooms) == [joined.code]
        finally:
            fail.set()
            await asyncio.gather(alice, *([bob] if bob else []), return_exceptions=True)


# A room still being created.


async def test_a_join_into_a_room_still_being_created_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bob joins by code the room Alice's create is still making (its async
    on_create runs): he waits for it, however long that takes, and is in once it
    is made. (START_WAIT, 0 here, bounds only the wait for a room neither here nor
    being made here: a room being made here is waited for, not looked for.)"""
    monkeypatch.setattr(seating_module, "START_WAIT", 0.0)
    creating = asyncio.Event()
    go = asyncio.Event()

    class SlowStart(Room):
        async def on_create(self, options: Mapping[str, str]) -> None:
            creating.set()
            await go.wait()

    async with lobby() as served:
        served.server.define("slow", SlowStart, max_clients=4)
        alice = asyncio.create_task(create(served.peer(), served.url, "slow"))
        bob: asyncio.Task[JoinedRoom] | None = None
        try:
            await asyncio.wait_for(creating.wait(), 5)
            (info,) = await served.server.directory.listing()
            code = info.code
            bob = asyncio.create_task(join(served.peer(), served.url, code))
            await until(in_directory(served.server.directory, code, held=2))
            assert not bob.done() and not served.server.rooms
            go.set()
            joined = await asyncio.wait_for(bob, 5)
            assert joined.code == code == (await asyncio.wait_for(alice, 5)).code
            assert len(served.server.rooms[code].clients) == 2
        finally:
            go.set()
            await asyncio.gather(alice, *([bob] if bob else []), return_exceptions=True)


async def test_a_room_in_the_directory_but_never_made_here_is_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The directory says a room is this process's, but it was never made here (its
    creation's answer from Redis was lost), and no seat is held or taken in it: a
    join by code is refused (RoomNotFound) and the entry removed; a join_or_create
    that was offered it asks again and lands in a new room."""
    monkeypatch.setattr(seating_module, "START_WAIT", 0.0)
    async with lobby() as served:
        served.server.define("duo", Room, max_clients=2)
        directory = served.server.directory
        owner = served.server._seating.owner
        for _ in range(2):
            orphan = await directory.create("duo", owner, max_clients=2)
            await directory.release(orphan)
        first, second = (info.code for info in await directory.listing())
        with pytest.raises(RoomNotFound):
            await asyncio.wait_for(join(served.peer(), served.url, first), 5)
        await until(not_in_directory(directory, first))
        joined = await asyncio.wait_for(join_or_create(served.peer(), served.url, "duo"), 5)
        assert joined.code not in (first, second)
        assert [info.code for info in await directory.listing()] == [joined.code]


# A room of another process.


async def test_a_seat_in_a_room_of_another_process_is_refused_at_once() -> None:
    """Two room servers share a directory: a join by code sent to the one that does
    not host the room gets RoomNotFound at once, saying so (not START_WAIT later),
    and its held seat is given back."""
    shared = LocalDirectory()
    async with lobby(directory=shared) as here, lobby(directory=shared) as there:
        here.server.define("duo", Room, max_clients=2)
        there.server.define("duo", Room, max_clients=2)
        alice = await asyncio.wait_for(create(here.peer(), here.url, "duo"), 5)
        start = time.monotonic()
        with pytest.raises(RoomNotFound) as refused:
            await asyncio.wait_for(join(there.peer(), there.url, alice.code), 5)
        assert time.monotonic() - start < START_WAIT / 2
        assert re.search(f"room {alice.code} lives in another process", str(refused.value))
        await until(in_directory(shared, alice.code, held=0))
        assert not there.server.rooms
        bob = await asyncio.wait_for(join(here.peer(), here.url, alice.code), 5)
        assert bob.code == alice.code


async def test_join_or_create_never_lands_in_the_room_of_a_refused_creator() -> None:
    """A creator refused by on_join leaves its room disposed at once, while its entry
    may still be offered: the players asking at the same instant never get
    RoomNotFound for it (found by the rooms benchmark: 50 of 900 did)."""

    class Picky(Room):
        max_clients = 2

        def on_join(self, request: Any) -> None:
            if request.options.get("name") == "mallory":
                raise JoinRefused("no mallory")

    async with lobby() as served:
        served.server.define("picky", Picky)
        for trial in range(10):
            names = [f"p{i}" for i in range(5)]
            names.insert(trial % 6, "mallory")
            peers = [served.peer() for _ in names]
            outcomes = await asyncio.gather(
                *(
                    join_or_create(peer, served.url, "picky", {"name": name})
                    for peer, name in zip(peers, names, strict=True)
                ),
                return_exceptions=True,
            )
            for name, outcome in zip(names, outcomes, strict=True):
                if name == "mallory":
                    assert isinstance(outcome, JoinRefused)
                else:
                    assert isinstance(outcome, JoinedRoom), (trial, name, outcome)
            for peer in peers:
                peer.close()
            await until(lambda: not served.server.rooms)
