"""Tests for :mod:`multiplayer.rooms.redis_directory`, against a real redis-server:
what the shared directory does beyond the interface (its semantics are
tests/rooms/test_directory.py's, run against both): holds that expire by Redis's
clock, codes unique across processes, processes that die, drain, and Redis
restarting."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from multiplayer.exceptions import DirectoryUnavailable, RoomGone, RoomNotFound
from multiplayer.rooms import RoomInfo, redis_directory as module
from multiplayer.rooms.redis_directory import RedisDirectory
from tests.redis_server import RedisServer


@pytest.fixture
async def connect(
    redis_server: RedisServer, redis_namespace: str
) -> AsyncIterator[Callable[..., RedisDirectory]]:
    """Directories on the session's Redis, in this test's namespace: each one is a
    process of the cluster as Redis sees it (a connection pool of its own)."""
    made: list[RedisDirectory] = []

    def make(**settings: Any) -> RedisDirectory:
        directory = RedisDirectory(redis_server.url, namespace=redis_namespace, **settings)
        made.append(directory)
        return directory

    yield make
    for directory in made:
        await directory.aclose()


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.02)


async def test_a_hold_expires_by_redis_clock(connect: Callable[..., RedisDirectory]) -> None:
    directory = connect(hold_time=0.2)
    seat = await directory.create("dice", "a", max_clients=2)
    await directory.reserve(seat.code)
    assert (await directory.get(seat.code)).held == 2
    started = time.monotonic()

    async def expired() -> bool:
        return (await directory.get(seat.code)).held == 0

    await until(expired)
    assert time.monotonic() - started >= 0.15  # (not before its time)
    await directory.confirm(seat)  # (late: the player is in all the same, and counted)
    assert (await directory.get(seat.code)).taken == 1


async def test_codes_are_unique_across_processes(
    connect: Callable[..., RedisDirectory], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes whose random codes collide: the second gets another."""
    codes = iter(["AAAAAA", "AAAAAA", "BBBBBB", "CCCCCC"] * 2)
    monkeypatch.setattr(module, "new_code", lambda: next(codes))
    first, second = connect(), connect()
    one = await first.create("dice", "a")
    two = await second.create("dice", "b")
    assert (one.code, two.code) == ("AAAAAA", "BBBBBB")
    assert (await first.get("BBBBBB")).owner == "b"


async def test_join_or_create_is_single_flight_across_processes(
    connect: Callable[..., RedisDirectory],
) -> None:
    """Twelve players asking four processes at the same instant: rooms of 4, filled
    one after another (never two half-empty rooms made by two processes at once)."""
    processes = [connect() for _ in range(4)]
    seats = await asyncio.gather(
        *(processes[i % 4].join_or_create("dice", f"p{i % 4}", max_clients=4) for i in range(12))
    )
    codes = [seat.code for seat in seats]
    assert [seat.created for seat in seats].count(True) == 3
    assert sorted(codes.count(code) for code in set(codes)) == [4, 4, 4]


async def test_a_dead_process_is_swept_and_its_rooms_are_gone(
    connect: Callable[..., RedisDirectory],
) -> None:
    directory = connect(heartbeat_interval=0.05, dead_after=0.3)
    assert not await directory.heartbeat("dead", {"url": "ws://10.0.0.1:9000"})
    assert await directory.heartbeat("dead", {"url": "ws://10.0.0.1:9000"})  # (known now)
    await directory.heartbeat("alive", {"url": "ws://10.0.0.2:9000"})
    doomed = await directory.create("dice", "dead", max_clients=4)
    await directory.confirm(doomed)
    kept = await directory.create("dice", "alive", max_clients=4)
    assert await directory.addresses("dead") == {"url": "ws://10.0.0.1:9000"}
    assert await directory.sweep() == {}  # (both beat within dead_after)
    started = time.monotonic()
    swept: dict[str, list[str]] = {}

    async def dead_swept() -> bool:
        await directory.heartbeat("alive", {"url": "ws://10.0.0.2:9000"})
        swept.update(await directory.sweep())
        return bool(swept)

    await until(dead_swept)
    assert time.monotonic() - started >= 0.25
    assert swept == {"dead": [doomed.code]}
    with pytest.raises(RoomGone, match=f"room {doomed.code} has gone"):
        await directory.reserve(doomed.code)
    with pytest.raises(RoomGone):
        await directory.get(doomed.code)
    assert [room.code for room in await directory.listing()] == [kept.code]
    assert await directory.addresses("dead") is None
    with pytest.raises(RoomNotFound) as never:
        await directory.reserve("ZZZZZZ")
    assert not isinstance(never.value, RoomGone)


async def test_join_or_create_skips_the_rooms_of_a_draining_process(
    connect: Callable[..., RedisDirectory],
) -> None:
    directory = connect()
    draining = await directory.create("dice", "old", max_clients=4)
    await directory.drain("old")
    seat = await directory.join_or_create("dice", "new", max_clients=4)
    assert seat.created and seat.code != draining.code
    await directory.reserve(draining.code)  # (by code it is still joined)
    await directory.drain("old", False)
    again = await directory.join_or_create("dice", "new", max_clients=4)
    assert again.code in {draining.code, seat.code} and not again.created


async def test_a_stopping_process_forgets_its_rooms(
    connect: Callable[..., RedisDirectory],
) -> None:
    directory = connect()
    await directory.heartbeat("a", {})
    mine = await directory.create("dice", "a")
    other = await directory.create("dice", "b")
    await directory.deregister("a")
    with pytest.raises(RoomNotFound):
        await directory.get(mine.code)
    assert [room.code for room in await directory.listing()] == [other.code]
    assert await directory.addresses("a") is None


async def test_redis_restarting_empty_loses_nothing_the_processes_hold(
    own_redis: RedisServer,
) -> None:
    """While Redis is down, the directory says so (DirectoryUnavailable: a join gets
    "try again later"); once it is back, empty, a process finds its entry gone and
    puts its rooms back, except one whose code another process took meanwhile."""
    directory = RedisDirectory(own_redis.url, namespace="cluster")
    try:
        await directory.heartbeat("a", {"url": "ws://a"})
        room = await directory.create("dice", "a", max_clients=4, metadata={"map": "x"})
        await directory.confirm(room)
        lost = await directory.create("dice", "a")
        info, lost_info = await directory.get(room.code), await directory.get(lost.code)
        own_redis.stop()
        with pytest.raises(DirectoryUnavailable, match="Redis"):
            await directory.reserve(room.code)
        own_redis.start()  # (on the same port, with nothing in it)
        with pytest.raises(RoomNotFound):
            await directory.get(room.code)
        assert not await directory.heartbeat("a", {"url": "ws://a"})  # lost: restore
        # Another process took one of the codes before this one came back.
        await directory.redis.hset(
            f"cluster:room:{lost.code}",
            mapping={"type": "dice", "owner": "b", "max": 0, "taken": 0, "private": 0,
                     "locked": 0, "meta": "{}"},
        )  # fmt: skip
        assert await directory.restore("a", info)
        assert not await directory.restore("a", lost_info)
        back = await directory.get(room.code)
        assert back == RoomInfo(
            room.code, "dice", "a", max_clients=4, taken=1, metadata=info.metadata
        )
        assert (await directory.get(lost.code)).owner == "b"  # (not double-owned)
        assert await directory.heartbeat("a", {"url": "ws://a"})
    finally:
        await directory.aclose()


async def test_a_watcher_hears_of_changes_made_by_another_process(
    connect: Callable[..., RedisDirectory],
) -> None:
    """A change made by another process is published: this one's subscriber hears
    it (not only its one-second read of the version), and changed() returns."""
    here, there = connect(), connect()
    version = await here.changed(-1)  # (and it subscribes)
    channel = f"{here.namespace}:changes"

    async def subscribed() -> bool:
        counts = dict(await here.redis.pubsub_numsub(channel))
        return bool(counts.get(channel))

    await until(subscribed)
    here._change.clear()
    await there.create("dice", "b")

    async def heard() -> bool:
        return here._change.is_set()

    await until(heard)
    assert await here.changed(version) > version


async def test_a_burst_of_calls_queues_for_the_connections(
    connect: Callable[..., RedisDirectory],
) -> None:
    """Every room of a process ending at once: 3,000 calls at the same instant, over
    4 connections, all get there (they wait for a free connection, none fails)."""
    directory = connect(max_connections=4)
    seat = await directory.create("dice", "a", max_clients=0)
    await directory.confirm(seat)
    await asyncio.gather(*(directory.leave(seat.code) for _ in range(3000)))
    await directory.update(seat.code, locked=True)
    assert (await directory.get(seat.code)).locked


async def test_a_redis_that_stops_answering_is_unavailable_within_the_timeout(
    own_redis: RedisServer,
) -> None:
    """A Redis that hangs (stopped, or a network that drops everything) does not
    hang a call: it raises DirectoryUnavailable after ``timeout``; once Redis
    answers again, so does the directory."""
    directory = RedisDirectory(own_redis.url, namespace="cluster", timeout=0.3)
    try:
        seat = await directory.create("dice", "a")
        assert own_redis.process is not None
        own_redis.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        try:
            with pytest.raises(DirectoryUnavailable):
                await directory.get(seat.code)
            assert time.monotonic() - started < 2.0
        finally:
            own_redis.process.send_signal(signal.SIGCONT)
        assert (await directory.get(seat.code)).owner == "a"
    finally:
        await directory.aclose()


async def test_forget_removes_a_room_only_for_its_owner(
    connect: Callable[..., RedisDirectory],
) -> None:
    directory = connect()
    seat = await directory.create("dice", "a")
    await directory.forget("b", seat.code)  # (not b's: Redis restarted, say)
    assert (await directory.get(seat.code)).owner == "a"
    await directory.forget("a", seat.code)
    with pytest.raises(RoomNotFound):
        await directory.get(seat.code)
    assert await directory.listing() == []


async def test_join_or_create_reads_only_the_open_rooms(
    connect: Callable[..., RedisDirectory],
) -> None:
    """The rooms join_or_create may choose are kept apart (``ns:open:TYPE``): a
    room leaves that set when its last seat is taken, it is locked, made private
    or removed, and comes back when a seat is free again or it is unlocked; so a
    match among many full rooms reads the open ones only."""
    directory = connect()
    key = f"{directory.namespace}:open:dice"

    async def open_rooms() -> set[str]:
        return {str(code) for code in await directory.redis.smembers(key)}

    seat = await directory.create("dice", "a", max_clients=2)
    code = seat.code
    await directory.create("dice", "a", private=True)
    assert await open_rooms() == {code}
    await directory.confirm(seat)
    await directory.confirm(await directory.join_or_create("dice", "b"))
    assert await open_rooms() == set()  # (full)
    await directory.leave(code)
    assert await open_rooms() == {code}
    await directory.update(code, locked=True)
    assert await open_rooms() == set()
    await directory.update(code, locked=False)
    assert await open_rooms() == {code}
    await directory.update(code, private=True)
    assert await open_rooms() == set()
    await directory.update(code, private=False)
    assert (await directory.join_or_create("dice", "b")).code == code
    await directory.remove(code)
    assert await open_rooms() == set()


def test_dead_after_must_be_longer_than_the_heartbeat() -> None:
    with pytest.raises(ValueError, match="dead_after"):
        RedisDirectory(heartbeat_interval=2.0, dead_after=2.0)
