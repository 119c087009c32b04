"""Tests for :mod:`multiplayer.rooms.membership`: room servers sharing one directory
in a real redis-server keep their entries and rooms in it, get them back after Redis
restarts empty, sweep a process that stopped beating, and leave nothing behind when
they shut down. (Each server has a directory, and so a connection pool, of its own:
to Redis they are separate processes; tests/cluster runs real ones.)"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from multiplayer import RoomGone, rooms
from multiplayer.rooms import Room, RoomInfo
from multiplayer.rooms.redis_directory import RedisDirectory
from tests.redis_server import RedisServer
from tests.rooms.roomkit import Lobby, lobby, until

FAST = {"heartbeat_interval": 0.05, "dead_after": 0.4}


class Match(Room):
    max_clients = 4


@contextlib.asynccontextmanager
async def process(redis: RedisServer, namespace: str) -> AsyncIterator[Lobby]:
    """A room server of the cluster (its own directory client), with "match" rooms."""
    directory = RedisDirectory(redis.url, namespace=namespace, **FAST)
    try:
        async with lobby(directory=directory) as made:
            made.server.define("match", Match)
            yield made
    finally:
        await directory.aclose()


async def info(directory: RedisDirectory, code: str) -> RoomInfo | None:
    with contextlib.suppress(Exception):
        return await directory.get(code)
    return None


async def test_every_process_sees_the_rooms_of_the_others(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    async with (
        process(redis_server, redis_namespace) as a,
        process(redis_server, redis_namespace) as b,
    ):
        joined = await rooms.create(b.peer(), b.url, "match")
        listed = await rooms.list_rooms(a.url, "match")  # (asked of the other process)
        assert [room.code for room in listed] == [joined.code]
        assert (await a.server.directory.get(joined.code)).owner == b.server._seating.owner
        assert a.server._seating.owner != b.server._seating.owner
        # (bound to 127.0.0.1: that is where the others reach it)
        assert await a.server.directory.addresses(b.server._seating.owner) == {
            "host": "127.0.0.1",
            "port": str(b.server.local_port),
        }


async def test_redis_restarting_empty_gets_every_room_back_with_its_players(
    own_redis: RedisServer,
) -> None:
    async with process(own_redis, "cluster") as a:
        joined = await rooms.create(a.peer(), a.url, "match")
        directory = a.server.directory
        assert isinstance(directory, RedisDirectory)

        async def one_player() -> bool:
            room = await info(directory, joined.code)
            return room is not None and room.taken == 1

        await until(one_player)
        own_redis.restart()  # (empty: it keeps nothing on disk)
        assert await info(directory, joined.code) is None
        await until(one_player)  # (put back by the next heartbeat)
        room = await directory.get(joined.code)
        assert (room.owner, room.max_clients) == (a.server._seating.owner, 4)


async def test_a_process_that_stops_beating_is_swept_by_the_others(
    redis_server: RedisServer, redis_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with process(redis_server, redis_namespace) as a:
        directory = a.server.directory
        assert isinstance(directory, RedisDirectory)
        await directory.heartbeat("ghost", {})  # (it beats once, then never again)
        ghost = await directory.create("match", "ghost")

        async def gone() -> bool:
            try:
                await directory.get(ghost.code)
            except RoomGone:
                return True
            return False

        await until(gone)
        assert f"process ghost stopped beating: its rooms are gone ({ghost.code})" in caplog.text


async def test_a_process_that_shuts_down_leaves_nothing_behind(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    async with process(redis_server, redis_namespace) as a:
        directory = a.server.directory
        assert isinstance(directory, RedisDirectory)
        async with process(redis_server, redis_namespace) as b:
            joined = await rooms.create(b.peer(), b.url, "match")
            owner = b.server._seating.owner

            async def beating() -> Any:
                return await directory.addresses(owner)

            await until(beating)
        assert await directory.addresses(owner) is None
        assert await info(directory, joined.code) is None
        assert await directory.listing() == []
