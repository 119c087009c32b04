"""Tests for :mod:`multiplayer.rooms.directory`: the room directory's seat ledger
under races, single-flight join_or_create, and the listing. Each runs against the
in-process directory and against the Redis one (a real redis-server): the same
semantics. (What needs a clock of the test's own is the in-process one's alone;
tests/rooms/test_redis_directory.py has Redis's own.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from multiplayer.exceptions import RoomFull, RoomLocked, RoomNotFound
from multiplayer.rooms import LocalDirectory, RoomDirectory


@pytest.fixture(params=["local", "redis"])
async def directory(request: pytest.FixtureRequest) -> AsyncIterator[RoomDirectory]:
    """A fresh directory: in-process, or in Redis (a namespace of its own)."""
    if request.param == "local":
        yield LocalDirectory()
        return
    from multiplayer.rooms.redis_directory import RedisDirectory

    server = request.getfixturevalue("redis_server")
    shared = RedisDirectory(server.url, namespace=request.getfixturevalue("redis_namespace"))
    try:
        yield shared
    finally:
        await shared.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_room_is_created_with_its_first_seat_held(directory: RoomDirectory) -> None:
    seat = await directory.create("dice", "here", max_clients=4, metadata={"mode": "fast"})
    assert seat.created
    room = await directory.get(seat.code)
    assert (room.room_type, room.owner, room.max_clients, room.taken, room.held) == (
        "dice",
        "here",
        4,
        0,
        1,
    )
    assert room.metadata == {"mode": "fast"} and room.free == 3
    await directory.confirm(seat)
    room = await directory.get(seat.code)
    assert (room.taken, room.held) == (1, 0)


async def test_the_last_seat_is_not_over_filled_by_a_race(directory: RoomDirectory) -> None:
    """Fifty joins race for three free seats: three get one, the rest RoomFull."""
    first = await directory.create("dice", "here", max_clients=4)
    results = await asyncio.gather(
        *(directory.reserve(first.code) for _ in range(50)), return_exceptions=True
    )
    seats = [r for r in results if not isinstance(r, BaseException)]
    assert len(seats) == 3
    assert all(isinstance(r, RoomFull) for r in results if isinstance(r, BaseException))
    room = await directory.get(first.code)
    assert room.held == 4 and room.free == 0


async def test_a_released_or_expired_hold_frees_its_seat() -> None:
    clock = Clock()
    directory = LocalDirectory(hold_time=5.0, clock=clock)
    seat = await directory.create("dice", "here", max_clients=2)
    other = await directory.reserve(seat.code)
    with pytest.raises(RoomFull):
        await directory.reserve(seat.code)
    await directory.release(other)
    again = await directory.reserve(seat.code)  # (the released seat)
    clock.now = 5.0  # both holds expire: the joining process died, say
    assert (await directory.get(seat.code)).held == 0
    assert (await directory.get(seat.code)).taken == 0
    await directory.confirm(again)  # (late: the player is in all the same, and counted)
    info = await directory.get(seat.code)
    assert (info.taken, info.held) == (1, 0)
    await directory.release(other)  # (an expired hold released: nothing to give back)
    assert (await directory.get(seat.code)).held == 0


async def test_join_or_create_is_single_flight(directory: RoomDirectory) -> None:
    """Many players asking at the same instant fill one room before another is made."""
    seats = await asyncio.gather(
        *(directory.join_or_create("dice", "here", max_clients=4) for _ in range(10))
    )
    codes = [seat.code for seat in seats]
    assert [seat.created for seat in seats].count(True) == 3
    assert sorted(codes.count(code) for code in set(codes)) == [2, 4, 4]


async def test_join_or_create_skips_private_locked_and_other_rooms(
    directory: RoomDirectory,
) -> None:
    private = await directory.create("dice", "here", private=True)
    locked = await directory.create("dice", "here")
    await directory.update(locked.code, locked=True)
    other_mode = await directory.create("dice", "here", metadata={"mode": "slow"})
    chess = await directory.create("chess", "here")
    seat = await directory.join_or_create("dice", "here", criteria={"mode": "fast"})
    assert seat.created
    assert seat.code not in {private.code, locked.code, other_mode.code, chess.code}
    joined = await directory.join_or_create("dice", "here", criteria={"mode": "slow"})
    assert (joined.code, joined.created) == (other_mode.code, False)


async def test_typed_refusals(directory: RoomDirectory) -> None:
    with pytest.raises(RoomNotFound):
        await directory.reserve("ZZZZZZ")
    seat = await directory.create("dice", "here")
    await directory.update(seat.code, locked=True)
    with pytest.raises(RoomLocked):
        await directory.reserve(seat.code)
    await directory.remove(seat.code)
    with pytest.raises(RoomNotFound):
        await directory.get(seat.code)


async def test_the_listing_shows_public_rooms_and_says_when_it_changes(
    directory: RoomDirectory,
) -> None:
    version = await directory.changed(0) if (await directory.listing()) else 0
    public = await directory.create("dice", "here", max_clients=2)
    await directory.create("dice", "here", private=True)
    listing = await directory.listing()
    assert [room.code for room in listing] == [public.code]
    seen = await directory.changed(version)
    waiting = asyncio.create_task(directory.changed(seen))
    await asyncio.sleep(0)
    assert not waiting.done()
    await directory.confirm(public)
    assert await asyncio.wait_for(waiting, 1) > seen
    assert (await directory.listing("dice"))[0].taken == 1
    assert await directory.listing("chess") == []


async def test_join_or_create_lets_expired_holds_go_before_choosing() -> None:
    """Holds whose joins died (their process, say) expire: join_or_create must count
    them gone before it chooses, or a room with a free seat looks full (a new room
    is made beside it) and a room of stale holds looks fullest (it is chosen over
    one with more players)."""
    clock = Clock()
    directory = LocalDirectory(hold_time=5.0, clock=clock)
    duo = await directory.create("duo", "here", max_clients=2)
    await directory.confirm(duo)
    await directory.reserve(duo.code)  # (a join that will never end: duo is full)
    stale = await directory.create("dice", "here", max_clients=4)
    for _ in range(2):
        await directory.reserve(stale.code)  # (3 held, 0 taken)
    busy = await directory.create("dice", "here", max_clients=4)
    await directory.confirm(busy)
    await directory.confirm(await directory.reserve(busy.code))  # (2 taken)
    clock.now = 5.0  # (the holds of duo and stale expire; busy's were confirmed)
    seat = await directory.join_or_create("duo", "here", max_clients=2)
    assert (seat.code, seat.created) == (duo.code, False)
    seat = await directory.join_or_create("dice", "here", max_clients=4)
    assert (seat.code, seat.created) == (busy.code, False)
