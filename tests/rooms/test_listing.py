"""Tests for :mod:`multiplayer.rooms.listing`: the public rooms as JSON text, sent to
each watcher now and when they change (at most one every LISTING_INTERVAL), to at
most ``max_watchers``. Watchers are plain websockets clients (as a browser's lobby
would be) of a front door on 127.0.0.1 that routes every request to the listing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from types import MappingProxyType
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect as ws_connect
from websockets.exceptions import ConnectionClosed

from multiplayer import WebSocketMultiplayerPeer
from multiplayer.rooms import LocalDirectory, RoomInfo, parse_path
from multiplayer.rooms.front import Front, FrontDoor
from multiplayer.rooms.listing import LISTING_INTERVAL, Listing, listing_json


class Watched:
    """A directory, its Listing behind a front door, and the listing's tasks."""

    def __init__(self, max_watchers: int) -> None:
        self.directory = LocalDirectory()
        self.listing = Listing(self.directory, max_watchers)
        self.tasks: list[asyncio.Task[None]] = []
        self.door = FrontDoor(WebSocketMultiplayerPeer(), self._route)

    def _route(self, front: Front, path: str, headers: dict[str, str]) -> None:
        target = parse_path(path).target
        self.tasks.append(asyncio.create_task(self.listing.serve(front, target)))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.door.local_port}/list"

    async def create(self, room_type: str = "dice", **settings: Any) -> str:
        """A room in the directory, its creator in (its seat confirmed)."""
        seat = await self.directory.create(room_type, "here", **settings)
        await self.directory.confirm(seat)
        return seat.code


@contextlib.asynccontextmanager
async def watched(max_watchers: int = 16) -> AsyncIterator[Watched]:
    made = Watched(max_watchers)
    made.door.listen(0, "127.0.0.1", None)
    try:
        yield made
    finally:
        made.listing.closing = True
        made.door.stop()
        await asyncio.wait_for(made.door.close_all(1001, "the server is shutting down"), 5)
        await asyncio.wait_for(asyncio.gather(*made.tasks), 5)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


async def next_listing(ws: ClientConnection) -> list[dict[str, Any]]:
    """The next listing a watcher gets: a text message of JSON."""
    message = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(message, str)
    rooms: list[dict[str, Any]] = json.loads(message)["rooms"]
    return rooms


def codes(rooms: list[dict[str, Any]]) -> set[str]:
    return {room["code"] for room in rooms}


# The JSON.


def test_listing_json_shape() -> None:
    rooms = [
        RoomInfo(
            "K3M9QZ",
            "dice",
            "here",
            max_clients=4,
            taken=2,
            held=1,
            locked=True,
            metadata=MappingProxyType({"mode": "duel", "round": 3}),
        ),
        RoomInfo("ABCDEF", "chat", "there"),
    ]
    assert json.loads(listing_json(rooms)) == {
        "rooms": [
            {
                "code": "K3M9QZ",
                "type": "dice",
                "clients": 2,
                "max_clients": 4,
                "free": 1,
                "locked": True,
                "metadata": {"mode": "duel", "round": 3},
            },
            {
                "code": "ABCDEF",
                "type": "chat",
                "clients": 0,
                "max_clients": 0,
                "free": None,  # (no limit)
                "locked": False,
                "metadata": {},
            },
        ]
    }
    assert listing_json([]) == '{"rooms":[]}'  # (compact: sent often, to many)


def test_metadata_that_is_not_json_is_sent_as_text() -> None:
    """A room's metadata is the game's: a value JSON has no type for is its str."""

    class Map:
        def __str__(self) -> str:
            return "dust"

    (room,) = json.loads(
        listing_json([RoomInfo("K3M9QZ", "dice", "", metadata=MappingProxyType({"map": Map()}))])
    )["rooms"]
    assert room["metadata"] == {"map": "dust"}
    assert "owner" not in room  # (where a room lives is not the players' business)


# Watchers.


async def test_a_watcher_gets_the_listing_at_once_and_again_after_a_change() -> None:
    async with watched() as served:
        first = await served.create(max_clients=4)
        async with ws_connect(served.url) as ws:
            (room,) = await next_listing(ws)
            assert (room["code"], room["clients"], room["free"]) == (first, 1, 3)
            second = await served.create("chat")
            assert codes(await next_listing(ws)) == {first, second}


async def test_a_watcher_of_one_type_sees_only_that_type() -> None:
    async with watched() as served:
        async with ws_connect(served.url + "/dice") as ws:
            assert await next_listing(ws) == []
            await served.create("chat")
            dice = await served.create("dice")
            assert codes(await next_listing(ws)) == {dice}


async def test_private_rooms_are_not_listed() -> None:
    async with watched() as served:
        await served.create(private=True)
        async with ws_connect(served.url) as ws:
            assert await next_listing(ws) == []


async def test_nothing_is_sent_again_without_a_change() -> None:
    """A listing is sent when the rooms changed: not a second time, unchanged, just
    because the directory had changed before the watcher came. (Waiting for a
    message that must not come takes a wait: three listing intervals.)"""
    async with watched() as served:
        await served.create()
        async with ws_connect(served.url) as ws:
            await next_listing(ws)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 3 * LISTING_INTERVAL)


async def test_changes_in_a_burst_are_one_listing() -> None:
    """Ten rooms made one after the other, each in a task step of its own: the
    watcher gets one listing with all of them, not ten; the next change is the next
    listing."""
    async with watched() as served:
        async with ws_connect(served.url) as ws:
            assert await next_listing(ws) == []
            made = set()
            for _ in range(10):
                made.add(await served.create())
                await asyncio.sleep(0)
            assert codes(await next_listing(ws)) == made
            made.add(await served.create())
            assert codes(await next_listing(ws)) == made


async def test_listings_are_at_least_an_interval_apart() -> None:
    async with watched() as served:
        async with ws_connect(served.url) as ws:
            await next_listing(ws)
            arrivals = []
            for count in range(1, 4):
                await served.create()
                while len(await next_listing(ws)) < count:
                    pass
                arrivals.append(time.monotonic())
            gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
            assert all(gap >= LISTING_INTERVAL * 0.9 for gap in gaps), gaps


async def test_what_a_watcher_says_is_ignored() -> None:
    async with watched() as served:
        async with ws_connect(served.url) as ws:
            await next_listing(ws)
            await ws.send("hello?")
            await ws.send(b"\x00\x01")
            code = await served.create()
            assert codes(await next_listing(ws)) == {code}


async def test_past_max_watchers_a_watcher_is_told_to_try_again_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """1013 after the 101 (what a browser shows), with a log line; once a watcher has
    left, another is taken."""
    async with watched(max_watchers=2) as served:
        first = await ws_connect(served.url)
        second = await ws_connect(served.url)
        for ws in (first, second):
            await next_listing(ws)
        assert served.listing.watchers == 2
        refused = await ws_connect(served.url)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(refused.recv(), 5)
        reason = "too many listing watchers (max_watchers 2)"
        assert (refused.close_code, refused.close_reason) == (1013, reason)
        assert f"refused (1013): {reason}" in caplog.text
        await first.close()
        await until(lambda: served.listing.watchers == 1)
        async with ws_connect(served.url) as third:
            assert await next_listing(third) == []
        await second.close()


async def test_a_watcher_that_leaves_is_forgotten() -> None:
    """Its serving task ends, the watcher count is back to 0, the door forgets it."""
    async with watched() as served:
        clients = [await ws_connect(served.url) for _ in range(3)]
        for ws in clients:
            await next_listing(ws)
        assert served.listing.watchers == 3
        for ws in clients:
            await ws.close()
        await until(lambda: served.listing.watchers == 0)
        await asyncio.wait_for(asyncio.gather(*served.tasks), 5)
        await until(lambda: not served.door.fronts)


async def test_a_watcher_that_vanishes_is_forgotten() -> None:
    """No close frame (the process died): the same, as soon as the socket ends."""
    async with watched() as served:
        ws = await ws_connect(served.url)
        await next_listing(ws)
        ws.transport.abort()
        await until(lambda: served.listing.watchers == 0)
        await until(lambda: not served.door.fronts)


async def test_closing_ends_every_watch() -> None:
    async with watched() as served:
        ws = await ws_connect(served.url)
        await next_listing(ws)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1001
    assert served.listing.watchers == 0
