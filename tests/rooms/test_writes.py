"""Tests for :mod:`multiplayer.rooms.writes`: directory writes run as tasks, in order per
room, whatever each awaits; a failure is logged and the next write still runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import pytest

from multiplayer.exceptions import RoomError, RoomNotFound
from multiplayer.rooms.writes import Writes


class Spawner:
    """The ``spawn`` of a Writes: keeps its tasks, to wait for them."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def __call__(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.append(task)
        return task

    async def settle(self) -> None:
        """Wait for every task spawned so far (each within a second)."""
        await asyncio.wait_for(asyncio.gather(*self.tasks), 1)


async def turns(count: int = 20) -> None:
    """Let the event loop run ``count`` times: what is not held up is done after that."""
    for _ in range(count):
        await asyncio.sleep(0)


async def step(done: list[str], name: str, gate: asyncio.Event | None = None) -> None:
    """A directory write that may have to wait (for Redis, say) before it is done."""
    if gate is not None:
        await gate.wait()
    await asyncio.sleep(0)
    done.append(name)


async def test_a_rooms_writes_keep_their_order_when_one_awaits() -> None:
    """The first write waits; those queued after it for the same room wait too, and
    then run in the order they were written."""
    spawn = Spawner()
    writes = Writes(spawn)
    done: list[str] = []
    gate = asyncio.Event()
    writes.write("AAAAAA", step(done, "confirm", gate))
    for name in ("leave", "update", "remove"):
        writes.write("AAAAAA", step(done, name))
    await turns()  # (were they not queued, the later ones would be done by now)
    assert done == []
    gate.set()
    await spawn.settle()
    assert done == ["confirm", "leave", "update", "remove"]


async def test_another_rooms_writes_do_not_wait() -> None:
    spawn = Spawner()
    writes = Writes(spawn)
    done: list[str] = []
    gate = asyncio.Event()
    writes.write("AAAAAA", step(done, "A1", gate))
    writes.write("AAAAAA", step(done, "A2"))
    other = asyncio.Event()
    writes.write("BBBBBB", step(done, "B1"))
    writes.write("BBBBBB", step(done, "B2", other))
    writes.write("BBBBBB", step(done, "B3"))
    other.set()
    await asyncio.wait_for(asyncio.gather(*spawn.tasks[2:]), 1)
    assert done == ["B1", "B2", "B3"]
    gate.set()
    await spawn.settle()
    assert done == ["B1", "B2", "B3", "A1", "A2"]


async def fail(error: Exception) -> None:
    await asyncio.sleep(0)
    raise error


async def test_a_failing_write_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spawn = Spawner()
    writes = Writes(spawn)
    done: list[str] = []
    writes.write("AAAAAA", fail(ConnectionError("directory unreachable")))
    writes.write("AAAAAA", step(done, "next"))
    await spawn.settle()
    assert done == ["next"]
    errors = [r for r in caplog.records if r.exc_info]
    assert [r.getMessage() for r in errors] == ["room AAAAAA: a directory write failed"]
    assert errors[0].levelno == logging.ERROR and errors[0].name == "multiplayer.rooms"
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], ConnectionError)
    caplog.clear()  # (the failure above, logged as it must be)


async def test_a_write_for_a_room_removed_meanwhile_is_nothing_to_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RoomNotFound: the room is gone, so there is nothing left to change. Any other
    RoomError is a failure like any other."""
    spawn = Spawner()
    writes = Writes(spawn)
    done: list[str] = []
    writes.write("AAAAAA", fail(RoomNotFound("no room AAAAAA")))
    writes.write("AAAAAA", step(done, "next"))
    await spawn.settle()
    assert done == ["next"]
    assert "AAAAAA" not in caplog.text
    writes.write("AAAAAA", fail(RoomError("something else")))
    await spawn.settle()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [
        "room AAAAAA: a directory write failed"
    ]
    caplog.clear()


async def test_a_rooms_bookkeeping_ends_with_its_last_write() -> None:
    """A server writes for many rooms over its life: nothing is kept for a room
    once its writes are done, failed or not."""
    spawn = Spawner()
    writes = Writes(spawn)
    done: list[str] = []
    gate = asyncio.Event()
    writes.write("AAAAAA", step(done, "A1", gate))
    writes.write("AAAAAA", fail(RoomNotFound("gone")))
    writes.write("BBBBBB", step(done, "B1"))
    assert set(writes.pending) == {"AAAAAA", "BBBBBB"}
    await asyncio.wait_for(spawn.tasks[2], 1)
    assert set(writes.pending) == {"AAAAAA"}
    gate.set()
    await spawn.settle()
    assert writes.pending == {}
    # (and a later write for the same room starts afresh)
    writes.write("AAAAAA", step(done, "A2"))
    await spawn.settle()
    assert done == ["B1", "A1", "A2"]
    assert writes.pending == {}


async def test_a_cancelled_write_does_not_stop_the_next() -> None:
    """A write whose task is cancelled while it waits (the process shutting down)
    neither runs the rest out of order nor holds the room's lock."""
    spawn = Spawner()
    writes = Writes(spawn)
    done: list[str] = []
    gate = asyncio.Event()
    writes.write("AAAAAA", step(done, "first", gate))
    writes.write("AAAAAA", step(done, "second"))
    await turns()
    assert done == []
    spawn.tasks[0].cancel()
    await asyncio.wait_for(spawn.tasks[1], 1)
    assert done == ["second"]
    assert writes.pending == {}


async def test_a_run_waits_for_the_writes_queued_before_it() -> None:
    """A write queued just before a run (in the same turn of the loop, before its
    task has started) still goes first; one queued while the run is on its way
    goes after it; the run returns its operation's result."""
    spawn = Spawner()
    writes = Writes(spawn)
    done: list[str] = []
    writes.write("AAAAAA", step(done, "confirm"))

    async def restore() -> str:
        done.append("restore")
        await turns()
        return "restored"

    running = asyncio.ensure_future(writes.run("AAAAAA", restore))
    await asyncio.sleep(0)
    writes.write("AAAAAA", step(done, "leave"))
    assert await running == "restored"
    await spawn.settle()
    assert done == ["confirm", "restore", "leave"]
    assert writes.pending == {}
