"""Tests for :mod:`multiplayer.rooms.frames`: one task runs the frames of every room,
``fps`` times a second; with ``event_driven``, a room's RPCs run as its packets
arrive; an error in one room's code is that room's alone.

The frame-rate tests use rooms that are not in a listening server (nothing reaches
them); the RPC tests join rooms of a real RoomServer over 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Mapping

import pytest

from multiplayer import ConnectionStatus, Node, SceneTree, rpc
from multiplayer.rooms import Room, RoomServer, create
from multiplayer.rooms.frames import RoomFrames
from multiplayer.transport.websocket_multiplayer_peer import WebSocketMultiplayerPeer
from tests.rooms.roomkit import lobby, until

DISCONNECTED = ConnectionStatus.DISCONNECTED


class Ticker(Node):
    """Counts its frames and what each was given."""

    def __init__(self) -> None:
        super().__init__("Ticker")
        self.deltas: list[float] = []

    def _process(self, delta: float) -> None:
        self.deltas.append(delta)


class Broken(Node):
    def _process(self, delta: float) -> None:
        raise RuntimeError("a bug in this room's game")


_codes = (f"ROOM{n:02d}" for n in itertools.count())


def detached_room(server: RoomServer, *nodes: Node) -> Room:
    """A room as the server makes one (its own tree and server-side peer), holding
    ``nodes``, but in no listening server: only its frames run."""
    room = Room()
    peer = WebSocketMultiplayerPeer()
    room._side = peer._host()
    room._attach(server, next(_codes), "test", {}, peer, False, {})
    for node in nodes:
        room.tree.root.add_child(node)
    return room


@contextlib.asynccontextmanager
async def running(frames: RoomFrames) -> AsyncIterator[asyncio.Task[None]]:
    """``frames.run()`` as a task, stopped (and waited for) at the end."""
    task = asyncio.create_task(frames.run())
    try:
        yield task
    finally:
        frames.stop()
        await asyncio.wait_for(task, 2)
        for room in frames.rooms.values():
            room.peer.close()


async def ticks(
    ticker: Ticker, count: int, timeout: float = 5.0, *, more_than: int | None = None
) -> None:
    """Wait until ``ticker`` has had ``count`` frames (or ``count`` more than it had)."""
    target = count + (len(ticker.deltas) if more_than is None else more_than)
    await until(lambda: len(ticker.deltas) >= target, timeout=timeout)


def record_failures() -> tuple[list[tuple[str, str]], Callable[[Room, str], None]]:
    failures: list[tuple[str, str]] = []
    return failures, lambda room, where: failures.append((room.code, where))


def test_fps_must_be_positive() -> None:
    for fps in (0.0, -1.0):
        with pytest.raises(ValueError, match="fps must be positive"):
            RoomFrames(fps, True, lambda room, where: None)


async def test_every_room_gets_one_frame_per_period() -> None:
    """Rooms added together get the same frames, at ``fps``: one a period, each
    given the time since the last."""
    fps = 50.0
    frames = RoomFrames(fps, False, lambda room, where: None)
    a, b = Ticker(), Ticker()
    server = RoomServer()
    loop = asyncio.get_running_loop()
    async with running(frames):
        started = loop.time()
        for ticker in (a, b):
            frames.add(detached_room(server, ticker))
        await ticks(a, 10)
        elapsed = loop.time() - started
    # (The first frame comes at most a period after the add, then one a period; a
    # late timer may shift one, never add frames.)
    assert 9 / fps * 0.95 <= elapsed < 5
    assert len(a.deltas) <= elapsed * fps + 2
    assert abs(len(a.deltas) - len(b.deltas)) <= 1
    assert a.deltas[1:10] == b.deltas[1:10]  # (the same frames: the same clock)
    assert sum(a.deltas) == pytest.approx(elapsed, abs=0.1)  # (real time, give or take)
    assert all(delta >= 0 for delta in a.deltas)


async def test_a_room_added_later_starts_at_the_next_frame() -> None:
    """Its first delta is the time since it was added, not since the loop began."""
    fps = 50.0
    frames = RoomFrames(fps, False, lambda room, where: None)
    early, late = Ticker(), Ticker()
    server = RoomServer()
    loop = asyncio.get_running_loop()
    async with running(frames):
        frames.add(detached_room(server, early))
        await ticks(early, 5)
        added = loop.time()
        frames.add(detached_room(server, late))
        await ticks(late, 3)
    assert late.deltas[0] <= loop.time() - added
    assert late.deltas[0] < 2 / fps
    # (from then on, the same frames as the room that was there)
    offset = len(early.deltas) - len(late.deltas)
    assert late.deltas[1:] == early.deltas[offset + 1 :]


async def test_a_removed_or_disposed_room_gets_no_more_frames() -> None:
    frames = RoomFrames(100.0, False, lambda room, where: None)
    kept, removed, disposed = Ticker(), Ticker(), Ticker()
    server = RoomServer()
    async with running(frames):
        rooms = [detached_room(server, ticker) for ticker in (kept, removed, disposed)]
        for room in rooms:
            frames.add(room)
        await ticks(removed, 2)
        await ticks(disposed, 2)
        frames.remove(rooms[1])
        rooms[2]._disposed = True  # (what the server sets as it starts disposing)
        seen = len(removed.deltas), len(disposed.deltas)
        await ticks(kept, 5)  # (five frames of the room still there)
        assert (len(removed.deltas), len(disposed.deltas)) == seen
        assert rooms[1].code not in frames.rooms
        rooms[1].peer.close()


async def test_an_error_in_one_rooms_frame_is_handed_to_failed_for_that_room() -> None:
    """The other rooms go on; ``failed`` (the server: it disposes the room) is told
    which room and where, and the error does not end run()."""
    failures, failed = record_failures()
    removed: list[Room] = []

    def dispose(room: Room, where: str) -> None:
        failed(room, where)
        frames.remove(room)  # (as the server's disposal does)
        removed.append(room)

    frames = RoomFrames(100.0, False, dispose)
    good, after = Ticker(), Ticker()
    server = RoomServer()
    async with running(frames) as task:
        first = detached_room(server, Ticker())
        bad = detached_room(server, Broken("Broken"))
        last = detached_room(server, after)
        others = detached_room(server, good)
        for room in (first, bad, last, others):
            frames.add(room)
        await ticks(good, 5)
        assert not task.done()
        assert len(after.deltas) >= 4  # (a room after the broken one in the same frame)
    assert failures == [(bad.code, "a frame")]
    bad.peer.close()


async def test_stop_ends_run_at_once() -> None:
    """Even a second before the next frame is due (fps=1), stop() ends run() now."""
    frames = RoomFrames(1.0, True, lambda room, where: None)
    ticker = Ticker()
    frames.add(detached_room(RoomServer(), ticker))
    task = asyncio.create_task(frames.run())
    await ticks(ticker, 1)  # (the first frame, at once)
    frames.stop()
    await asyncio.wait_for(task, 0.5)
    assert len(ticker.deltas) == 1
    for room in frames.rooms.values():
        room.peer.close()


async def test_stop_before_run_means_run_returns_at_once() -> None:
    frames = RoomFrames(60.0, True, lambda room, where: None)
    frames.stop()
    await asyncio.wait_for(frames.run(), 0.5)


# Event-driven RPCs, over a real connection.


class Echo(Node):
    """The same node in the room and on its player."""

    def __init__(self) -> None:
        super().__init__("Echo")
        self.heard: list[tuple[int, bool]] = []  # (number, in a frame)
        self.in_frame = False  # (the room's tree is in a frame: set by FrameFlag)

    @rpc("any_peer")
    def ping(self, number: int) -> None:
        self.heard.append((number, self.in_frame))
        self.pong.rpc_id(self.multiplayer.get_remote_sender_id(), number)

    @rpc("authority")
    def pong(self, number: int) -> None:
        self.heard.append((number, False))


class EchoRoom(Room):
    def on_create(self, options: Mapping[str, str]) -> None:
        self.echo = Echo()
        self.tree.root.add_child(self.echo)
        self.frames = 0
        process = self.tree.process

        def frame(delta: float) -> None:
            """The tree's frame, which says so to the Echo while it runs."""
            self.frames += 1
            self.echo.in_frame = True
            try:
                process(delta)
            finally:
                self.echo.in_frame = False

        setattr(self.tree, "process", frame)  # noqa: B010  # (an instance's method)


async def joined_echo(url: str, peer: WebSocketMultiplayerPeer) -> tuple[SceneTree, Echo, str]:
    """A player in a new echo room, seen by it: its tree, its Echo and the room's code."""
    tree = SceneTree()
    echo = Echo()
    tree.root.add_child(echo)
    joined = await create(peer, url, "echo")
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    await until(lambda: api.get_peers() == [1], tree)
    return tree, echo, joined.code


async def test_event_driven_rpcs_run_as_they_arrive_not_at_the_next_frame() -> None:
    """At fps=0.2 the room has no frame in the whole test, yet the RPC is answered."""
    async with lobby(fps=0.2, event_driven=True) as served:
        served.server.define("echo", EchoRoom)
        tree, echo, code = await joined_echo(served.url, served.peer())
        room = served.server.rooms[code]
        assert isinstance(room, EchoRoom)
        echo.ping.rpc_id(1, 7)
        await until(lambda: echo.heard == [(7, False)], tree, timeout=2)
        assert room.echo.heard == [(7, False)]
        assert room.frames == 0


async def test_without_event_driven_rpcs_wait_for_a_frame() -> None:
    async with lobby(fps=20, event_driven=False) as served:
        served.server.define("echo", EchoRoom)
        tree, echo, code = await joined_echo(served.url, served.peer())
        room = served.server.rooms[code]
        assert isinstance(room, EchoRoom)
        echo.ping.rpc_id(1, 7)
        await until(lambda: echo.heard == [(7, False)], tree, timeout=2)
        assert room.echo.heard == [(7, True)]  # (taken in by a frame)


class Fragile(Node):
    """An RPC frees it, and its _exit_tree raises (once): an error out of the room's
    code that no RPC handler catches."""

    def __init__(self) -> None:
        super().__init__("Fragile")
        self.broken = True

    @rpc("any_peer")
    def leave(self) -> None:
        self.queue_free()

    def _exit_tree(self) -> None:
        if self.broken:
            self.broken = False
            raise ValueError("broken _exit_tree")


class FragileRoom(EchoRoom):
    def on_create(self, options: Mapping[str, str]) -> None:
        super().on_create(options)
        self.tree.root.add_child(Fragile())


async def test_an_error_from_an_event_driven_rpc_ends_that_room_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with lobby(fps=0.2, event_driven=True) as served:
        served.server.define("echo", FragileRoom)
        bad_tree, _, bad_code = await joined_echo(served.url, served.peer())
        good_tree, good_echo, good_code = await joined_echo(served.url, served.peer())
        fragile = Fragile()
        bad_tree.root.add_child(fragile)
        bad_room = served.server.rooms[bad_code]
        bad_peer = served.peers[0]
        fragile.leave.rpc_id(1)
        await until(lambda: bad_room.disposed, bad_tree, timeout=2)
        (error, *_) = [r for r in caplog.records if r.exc_info]
        assert error.getMessage().startswith(f"room {bad_code} (echo): error in ")
        assert error.getMessage().endswith("; disposing the room")
        assert error.exc_info is not None and isinstance(error.exc_info[1], ValueError)
        caplog.clear()  # (the error above, logged as it must be)
        await until(lambda: bad_code not in served.server.rooms, timeout=2)
        await until(lambda: bad_peer.get_connection_status() is DISCONNECTED, bad_tree)
        good_echo.ping.rpc_id(1, 1)
        await until(lambda: good_echo.heard == [(1, False)], good_tree, timeout=2)
        assert good_code in served.server.rooms
