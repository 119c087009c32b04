"""Tests for :mod:`multiplayer.rooms.membership`: room servers sharing one directory
in a real redis-server keep their entries and rooms in it, get them back after Redis
restarts empty, sweep a process that stopped beating, and leave nothing behind when
they shut down. (Each server has a directory, and so a connection pool, of its own:
to Redis they are separate processes; tests/cluster runs real ones.)"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import pytest

from multiplayer import RoomGone, rooms
from multiplayer.rooms import Room, RoomInfo
from multiplayer.rooms.directory import LocalDirectory
from multiplayer.rooms.membership import Membership
from multiplayer.rooms.redis_directory import RedisDirectory
from multiplayer.rooms.room_types import RoomTypes
from multiplayer.rooms.writes import Writes
from multiplayer.testing import FaultProxy
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


async def test_a_room_that_ends_while_redis_hangs_is_removed_once_it_answers(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """The last player leaves while Redis does not answer (a proxy holds every
    byte): the room ends here, its removal times out and is lost (the proxy's
    links are cut, with what they held). Once Redis answers again, the next
    heartbeat removes it, rather than leave it listed for as long as the process
    lives."""
    direct = RedisDirectory(redis_server.url, namespace=redis_namespace)
    async with FaultProxy(redis_server.port) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}/0"
        directory = RedisDirectory(url, namespace=redis_namespace, timeout=0.3, **FAST)
        try:
            async with lobby(directory=directory) as a:
                a.server.define("match", Match)
                peer = a.peer()
                joined = await rooms.create(peer, a.url, "match")
                await until(lambda: joined.code in a.server.rooms)
                proxy.blackhole()
                peer.close()
                await until(lambda: not a.server.rooms)  # (ended here)
                await until(lambda: bool(a.server._disposal.unremoved), timeout=3)
                proxy.cut()  # (what it held is lost)
                assert (await direct.get(joined.code)).owner == a.server._seating.owner
                proxy.restore()

                async def gone() -> bool:
                    return await info(direct, joined.code) is None

                await until(gone, timeout=5)
                assert await direct.listing() == [] and not a.server._disposal.unremoved
        finally:
            await directory.aclose()
            await direct.aclose()


class Ledger(LocalDirectory):
    """A shared directory that lost this process's entry (each heartbeat says so),
    whose restore is slow (until ``gate``): it counts a room's seats taken."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0
        self.restoring = False
        self.gate = asyncio.Event()

    async def heartbeat(self, owner: str, addresses: Mapping[str, str]) -> bool:
        return False

    async def sweep(self) -> dict[str, list[str]]:
        return {}

    async def restore(self, owner: str, room: RoomInfo) -> bool:
        self.restoring = True
        await self.gate.wait()
        self.taken = room.taken
        return True

    async def seat_taken(self) -> None:
        self.taken += 1


@dataclasses.dataclass
class Played:
    """What the membership reads of a live room."""

    code: str = "K3M9QZ"
    room_type: str = "match"
    clients: list[int] = dataclasses.field(default_factory=lambda: [2])
    private: bool = False
    locked: bool = False
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    disposed: bool = False


async def test_a_room_put_back_while_a_player_joins_counts_it() -> None:
    """The directory lost the room: a heartbeat puts it back, with its one player;
    while that write is on its way, a second player is admitted and its seat
    confirmed. The confirm waits for the restore (the room's writes are in order):
    two seats are taken in the end, not the one the restore counted."""
    ledger, room = Ledger(), Played()
    types = RoomTypes()
    types.define("match", Match)
    writes = Writes(asyncio.ensure_future)
    rooms_here = cast(Mapping[str, Room], {room.code: room})
    membership = Membership(ledger, rooms_here, types, writes, set())
    membership.listening("127.0.0.1", 9000, None)
    beat = asyncio.ensure_future(membership.beat())
    await until(lambda: ledger.restoring)
    room.clients = [2, 3]  # (admitted: its seat's confirm is written)
    writes.write(room.code, ledger.seat_taken())
    for _ in range(20):  # (turns of the loop: the write would run now if it could)
        await asyncio.sleep(0)
    ledger.gate.set()
    await beat
    await until(lambda: not writes.pending)
    assert ledger.taken == 2
