"""Tests for :mod:`multiplayer.rooms.server`: a ``RoomServer`` on 127.0.0.1 with real
client peers (``WebSocketMultiplayerPeer`` and the ``multiplayer.rooms`` helpers).

What issue 16 asks of it: races on ``join_or_create`` and on the last seat, a refused
join that leaves nothing behind, typed refusals that never hang, rooms that cannot
hear each other, disposal and graceful shutdown, auth, resume inside a room, the
godot profile and ``wss://``."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import os
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from websockets.asyncio.client import connect as ws_connect

from multiplayer import (
    ConnectionStatus,
    JoinRefused,
    Node,
    RoomError,
    RoomFull,
    RoomLocked,
    RoomNotFound,
    SceneMultiplayer,
    SceneTree,
    ShuttingDown,
    WebSocketMultiplayerPeer,
    rooms,
    rpc,
)
from multiplayer.rooms import (
    JoinedRoom,
    JoinRequest,
    LocalDirectory,
    Room,
    RoomInfo,
    RoomServer,
    Seat,
    listing as listing_module,
    new_code,
)
from multiplayer.rooms.listing import listing_json
from multiplayer.testing import FaultProxy
from tests.redis_server import RedisServer
from tests.rooms.roomkit import RESUMABLE, resumable_peer

DISCONNECTED = ConnectionStatus.DISCONNECTED

# Short keepalives, so that a link lost through a FaultProxy is noticed in 0.5 s
# (as tests/faults/pair.py); a grace long enough to outlast any test.

# Helpers.


async def until(
    condition: Callable[[], bool | Awaitable[bool]],
    timeout: float = 5.0,
    *,
    players: Iterable[Player] = (),
) -> None:
    """Poll ``players`` (a frame of their trees) and check ``condition`` every 5 ms
    until it holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    polled = list(players)
    while True:
        for player in polled:
            player.poll()
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert loop.time() < deadline, f"condition not reached within {timeout} s"
        await asyncio.sleep(0.005)


class Game(Node):
    """The same node at /root/Game in every room and on every client."""

    def __init__(self) -> None:
        super().__init__("Game")
        self.heard: list[tuple[int, str]] = []
        self.fail_in_process = False

    @rpc("any_peer")
    def say(self, text: str) -> None:
        self.heard.append((self.multiplayer.get_remote_sender_id(), text))

    @rpc("any_peer")
    def boom(self) -> None:
        raise RuntimeError("a bug in an RPC")

    def _process(self, delta: float) -> None:
        if self.fail_in_process:
            raise RuntimeError("a bug in a frame")


class Arena(Room):
    """A room with a Game node (``self.game``)."""

    def on_create(self, options: Mapping[str, str]) -> None:
        self.game = Game()
        self.tree.root.add_child(self.game)


def arena_of(server: RoomServer, code: str) -> Arena:
    room = server.rooms[code]
    assert isinstance(room, Arena)
    return room


@dataclass
class Player:
    """A client: its peer, its own tree with a Game node, and the room it is in."""

    peer: WebSocketMultiplayerPeer
    tree: SceneTree = field(default_factory=SceneTree)
    game: Game = field(default_factory=Game)
    joined: JoinedRoom | None = None

    def __post_init__(self) -> None:
        self.tree.root.add_child(self.game)

    @property
    def room(self) -> JoinedRoom:
        assert self.joined is not None, "this player is in no room"
        return self.joined

    @property
    def api(self) -> SceneMultiplayer:
        return self.tree.get_multiplayer()

    def poll(self) -> None:
        self.tree.process(0.005)


Helper = Callable[..., Awaitable[JoinedRoom]]
HELPERS: dict[str, Helper] = {
    "create": rooms.create,
    "join": rooms.join,
    "join_or_create": rooms.join_or_create,
}


class Rig:
    """A listening, running RoomServer, and the players a test makes (all closed at
    the end)."""

    def __init__(
        self, server: RoomServer, scheme: str = "ws", tls: ssl.SSLContext | None = None
    ) -> None:
        self.server = server
        self.port = server.local_port  # (kept: it says nothing once shut down)
        self.scheme = scheme
        self.tls = tls
        self.players: list[Player] = []
        self.running: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "wss" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}"

    def player(
        self, protocol: str = "native", settings: Mapping[str, float] | None = None
    ) -> Player:
        peer = WebSocketMultiplayerPeer(protocol)
        for name, value in (settings or {}).items():
            setattr(peer, name, value)
        player = Player(peer)
        self.players.append(player)
        return player

    async def enter(
        self,
        how: str,
        target: str,
        options: Mapping[str, str] | None = None,
        *,
        player: Player | None = None,
        url: str | None = None,
    ) -> Player:
        """A new (or the given) player creates or joins a room; the typed error of a
        refusal is raised as it is."""
        player = player or self.player()
        player.joined = await asyncio.wait_for(
            HELPERS[how](player.peer, url or self.url, target, options, tls=self.tls), 5
        )
        player.api.multiplayer_peer = player.peer
        return player

    async def refused(
        self, how: str, target: str, options: Mapping[str, str] | None = None
    ) -> Exception:
        """What a new player's join raised (it must raise)."""
        try:
            await self.enter(how, target, options)
        except Exception as exc:
            return exc
        raise AssertionError(f"{how} {target} was not refused")

    async def until(
        self, condition: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0
    ) -> None:
        await until(condition, timeout, players=self.players)

    async def admitted(self, *players: Player) -> None:
        """Until each of ``players`` and its room know each other (peer_connected on
        both sides: the room's comes at its next poll, not with the client's id)."""

        def both() -> bool:
            return all(
                1 in p.api.get_peers()
                and p.room.peer_id in self.server.rooms[p.room.code].multiplayer.get_peers()
                for p in players
            )

        await self.until(both)

    async def listed(self, room_type: str = "") -> list[RoomInfo]:
        return await asyncio.wait_for(rooms.list_rooms(self.url, room_type, tls=self.tls), 5)

    async def close(self) -> None:
        for player in self.players:
            player.peer.close()
        await asyncio.wait_for(self.server.shutdown(), 10)
        if self.running is not None:
            await asyncio.wait_for(self.running, 5)
        for player in self.players:
            await asyncio.wait_for(player.peer.wait_closed(), 5)


@asynccontextmanager
async def serving(
    tls: tuple[ssl.SSLContext, ssl.SSLContext] | None = None, **settings: Any
) -> AsyncIterator[Rig]:
    """A RoomServer(**settings) listening on 127.0.0.1 and running; ``tls`` is
    (server context, client context) for wss://."""
    server = RoomServer(**settings)
    await server.listen(0, "127.0.0.1", tls[0] if tls is not None else None)
    rig = Rig(server, "wss" if tls is not None else "ws", tls[1] if tls is not None else None)
    rig.running = asyncio.create_task(server.run(handle_signals=False))
    try:
        yield rig
    finally:
        await rig.close()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with serving() as made:
        yield made


def taken(listing: list[RoomInfo], code: str) -> tuple[int, int | None]:
    """(players, free seats) of room ``code`` in a listing."""
    (info,) = [room for room in listing if room.code == code]
    return info.taken, info.free


async def upgrade_request(port: int, path: str, then: bytes = b"") -> asyncio.StreamWriter:
    """Open a TCP connection and send a WebSocket upgrade for ``path``, by hand: a
    client whose 101 the server may hold (nothing more is sent but ``then``, in the
    same write)."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        + then
    )
    await writer.drain()
    return writer


def take_errors(caplog: pytest.LogCaptureFixture, clear: bool = True) -> list[str]:
    """The messages of the records logged with a traceback (expected ones: they are
    taken out, so that the suite's guard against swallowed exceptions passes)."""
    errors = [r.getMessage() for r in caplog.records if r.exc_info]
    if clear:
        caplog.clear()
    return errors


# 1. Races.


async def test_forty_concurrent_join_or_create_fill_ten_rooms_of_four(rig: Rig) -> None:
    """Forty players ask at once for a room of four: ten rooms, each of exactly four
    players (2 to 5 inside it), none over-filled, each room created once."""
    created: list[str] = []

    class Match(Room):
        async def on_create(self, options: Mapping[str, str]) -> None:
            created.append(self.code)
            # (a creation that takes a while: others join the room meanwhile)
            await asyncio.sleep(0.01)

    rig.server.define("match", Match, max_clients=4)
    players = await asyncio.gather(*(rig.enter("join_or_create", "match") for _ in range(40)))
    per_room = Counter(player.room.code for player in players)
    assert sorted(per_room.values()) == [4] * 10
    assert sorted(created) == sorted(per_room) == sorted(rig.server.rooms)
    for code, room in rig.server.rooms.items():
        ids = sorted(p.room.peer_id for p in players if p.room.code == code)
        assert ids == [2, 3, 4, 5]
        assert room.clients == [2, 3, 4, 5]

    async def listing_settled() -> bool:
        listing = await rig.listed("match")
        return len(listing) == 10 and all(taken(listing, c) == (4, 0) for c in per_room)

    await rig.until(listing_settled)


async def test_two_players_at_the_same_instant_land_in_the_same_room(rig: Rig) -> None:
    rig.server.define("pair", Arena, max_clients=4)
    first, second = await asyncio.gather(
        rig.enter("join_or_create", "pair"), rig.enter("join_or_create", "pair")
    )
    assert first.room.code == second.room.code
    assert {first.room.peer_id, second.room.peer_id} == {2, 3}
    assert list(rig.server.rooms) == [first.room.code]


async def test_the_last_seat_goes_to_exactly_one_of_many_racing_joins(rig: Rig) -> None:
    """A room of four with three players; twelve players race for its last seat: one
    gets it, the others RoomFull; the listing counts four players, no seat free."""
    rig.server.define("four", Arena, max_clients=4)
    host = await rig.enter("create", "four")
    code = host.room.code
    for _ in range(2):
        await rig.enter("join", code)
    results = await asyncio.gather(
        *(rig.enter("join", code) for _ in range(12)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Player)]
    refusals = [r for r in results if not isinstance(r, Player)]
    assert len(winners) == 1 and winners[0].room.peer_id == 5
    assert len(refusals) == 11 and all(type(r) is RoomFull for r in refusals), refusals
    assert rig.server.rooms[code].clients == [2, 3, 4, 5]

    async def listing_says_full() -> bool:
        return taken(await rig.listed(), code) == (4, 0)

    await rig.until(listing_says_full)
    assert type(await rig.refused("join", code)) is RoomFull


# 2. A refused join leaves nothing behind.


class Picky(Arena):
    """Refuses Mallory, with a reason."""

    def on_join(self, request: JoinRequest) -> None:
        if request.options.get("name") == "mallory":
            raise JoinRefused("no Mallory here")


async def test_a_create_refused_by_on_join_leaves_no_room(rig: Rig) -> None:
    """The creator refused: the client reads the hook's reason, and the room is gone
    from the server, the directory and the listing."""
    rig.server.define("picky", Picky)
    refusal = await rig.refused("create", "picky", {"name": "mallory"})
    assert type(refusal) is JoinRefused and str(refusal) == "no Mallory here"
    await rig.until(lambda: not rig.server.rooms)
    assert await rig.server.directory.listing() == []
    assert await rig.listed() == []


async def test_a_create_refused_by_on_join_leaves_no_room_even_with_a_dispose_delay(
    rig: Rig,
) -> None:
    """A room whose type keeps empty rooms a while: the room made for a refused
    creator had no player, ever; it must not linger in the listing (where
    join_or_create would send others to it) for the dispose delay."""
    rig.server.define("picky_slow", Picky, dispose_delay=30.0)
    refusal = await rig.refused("create", "picky_slow", {"name": "mallory"})
    assert type(refusal) is JoinRefused
    await rig.until(lambda: not rig.server.rooms, timeout=2.0)
    assert await rig.listed() == []


async def test_a_create_refused_by_on_create_leaves_no_room(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """on_create raising JoinRefused: its reason reaches the client; any other error
    is logged and the client told the room could not be created; no room either way."""

    class Fussy(Room):
        def on_create(self, options: Mapping[str, str]) -> None:
            if options.get("mode") == "bad":
                raise JoinRefused("no such mode")
            raise RuntimeError("a bug in on_create")

    rig.server.define("fussy", Fussy)
    refusal = await rig.refused("create", "fussy", {"mode": "bad"})
    assert type(refusal) is JoinRefused and str(refusal) == "no such mode"
    refusal = await rig.refused("join_or_create", "fussy")
    assert type(refusal) is JoinRefused and str(refusal) == "the room could not be created"
    assert not rig.server.rooms
    assert await rig.server.directory.listing() == []
    assert [m for m in take_errors(caplog) if "on_create failed" in m] != []


async def test_a_join_refused_by_on_join_frees_its_seat(rig: Rig) -> None:
    """A room of two with one player: Mallory is refused (the reason reaches her),
    and the seat she held goes to the next player."""
    joined: list[int] = []

    class Watched(Picky):
        def on_joined(self, peer_id: int) -> None:
            joined.append(peer_id)

    rig.server.define("duo", Watched, max_clients=2)
    host = await rig.enter("create", "duo")
    code = host.room.code
    for _ in range(3):  # (each refusal must give its seat back)
        refusal = await rig.refused("join", code, {"name": "mallory"})
        assert type(refusal) is JoinRefused and str(refusal) == "no Mallory here"
    bob = await rig.enter("join", code, {"name": "bob"})
    assert bob.room.peer_id == 3
    await rig.until(lambda: joined == [2, 3])

    async def counted() -> bool:
        return taken(await rig.listed(), code) == (2, 0)

    await rig.until(counted)


async def test_a_client_gone_before_its_101_frees_its_held_seat(rig: Rig) -> None:
    """A client sends its upgrade request and closes its socket while the room's
    on_join still decides: the seat it held (the room is full meanwhile) is free
    again once the hook returns, and no one joined."""
    asked = asyncio.Event()
    decide = asyncio.Event()
    events: list[str] = []

    class Slow(Arena):
        async def on_join(self, request: JoinRequest) -> None:
            if request.options.get("name") == "slow":
                asked.set()
                await decide.wait()

        def on_joined(self, peer_id: int) -> None:
            events.append(f"joined {peer_id}")

        def on_leave(self, peer_id: int) -> None:
            events.append(f"left {peer_id}")

    rig.server.define("slow", Slow, max_clients=2)
    host = await rig.enter("create", "slow")
    code = host.room.code
    writer = await upgrade_request(rig.server.local_port, f"/join/{code}?name=slow")
    try:
        await asyncio.wait_for(asked.wait(), 5)
        assert type(await rig.refused("join", code)) is RoomFull  # (the seat is held)
        writer.transport.abort()
        # (the server must see it gone before on_join returns: the path tested is
        # the one where the 101 finds no one to go to)
        await rig.until(lambda: not rig.server._door.fronts)
    finally:
        writer.close()
        decide.set()

    async def seat_free() -> bool:
        return taken(await rig.listed(), code) == (1, 1)

    await rig.until(seat_free)
    late = await rig.enter("join", code)
    assert late.room.peer_id == 3
    await rig.until(lambda: events == ["joined 2", "joined 3"])
    assert rig.server.rooms[code].clients == [2, 3]


async def test_a_client_gone_after_its_101_before_its_greeting_frees_its_held_seat(
    rig: Rig,
) -> None:
    """A raw WebSocket client gets its 101 for /join/CODE and closes before the
    greeting that would give it an id: its seat is held until then, free after."""
    rig.server.define("raw", Arena, max_clients=2)
    host = await rig.enter("create", "raw")
    code = host.room.code
    ws = await asyncio.wait_for(ws_connect(f"{rig.url}/join/{code}"), 5)
    try:
        assert ws.response is not None
        assert ws.response.headers["Multiplayer-Room"] == code
        assert type(await rig.refused("join", code)) is RoomFull  # (the seat is held)
    finally:
        await asyncio.wait_for(ws.close(), 5)

    async def seat_free() -> bool:
        return taken(await rig.listed(), code) == (1, 1)

    await rig.until(seat_free)
    late = await rig.enter("join", code)
    assert late.room.peer_id == 3
    assert rig.server.rooms[code].clients == [2, 3]


# 3. Typed refusals.


async def connection_error_at(url: str) -> BaseException:
    """Connect a plain client peer to ``url`` and wait until it gives up: why."""
    peer = WebSocketMultiplayerPeer()
    await peer.create_client(url)
    try:

        def ended() -> bool:
            peer.poll()
            return peer.get_connection_status() is DISCONNECTED

        await until(ended)
        error = peer.connection_error
        assert error is not None
        return error
    finally:
        peer.close()
        await asyncio.wait_for(peer.wait_closed(), 5)


async def test_each_refusal_is_its_own_error(rig: Rig) -> None:
    """Unknown code, full, locked (and unlocked again), unknown type, a path that is
    no room request: each a distinct typed error, each in bounded time."""
    rig.server.define("solo", Arena, max_clients=1)
    rig.server.define("open", Arena)
    host = await rig.enter("create", "solo")
    code = host.room.code
    unknown = next(c for c in ("ZZZZZZ", "YYYYYY") if c not in rig.server.rooms)
    assert type(await rig.refused("join", unknown)) is RoomNotFound
    assert type(await rig.refused("join", code)) is RoomFull
    assert type(await rig.refused("create", "chess")) is RoomError  # (no such type)
    assert type(await rig.refused("join_or_create", "chess")) is RoomError

    other = await rig.enter("create", "open")
    room = rig.server.rooms[other.room.code]
    room.lock()
    assert room.locked
    assert type(await rig.refused("join", other.room.code)) is RoomLocked
    room.unlock()
    again = await rig.enter("join", other.room.code)
    assert (again.room.code, again.room.peer_id) == (other.room.code, 3)

    base = rig.url
    for path, kind in (
        ("/", RoomError),
        ("/play/solo", RoomError),
        ("/create/solo/extra", RoomError),
        ("/create/no%20spaces", RoomError),
        ("/join/not-a-code!", RoomNotFound),
        ("/resume/ZZZZZZ", RoomNotFound),
    ):
        error = await connection_error_at(base + path)
        assert type(error) is kind, (path, error)


async def test_a_join_in_progress_when_the_server_shuts_down_gets_shutting_down(rig: Rig) -> None:
    """A join whose on_join decides while the server starts shutting down (a room
    there is finishing its game): the client reads ShuttingDown."""
    asked = asyncio.Event()
    decide = asyncio.Event()
    told = asyncio.Event()
    finish = asyncio.Event()

    class Slow(Arena):
        async def on_join(self, request: JoinRequest) -> None:
            if request.options.get("name") == "slow":
                asked.set()
                await decide.wait()

        async def on_shutdown(self) -> None:
            told.set()
            await finish.wait()
            self.dispose()

    rig.server.define("slow", Slow)
    host = await rig.enter("create", "slow")
    joining = asyncio.create_task(rig.enter("join", host.room.code, {"name": "slow"}))
    try:
        await asyncio.wait_for(asked.wait(), 5)
        stopping = asyncio.create_task(rig.server.shutdown())
        await asyncio.wait_for(told.wait(), 5)
        decide.set()
        with pytest.raises(ShuttingDown):
            await asyncio.wait_for(joining, 5)
        finish.set()
        await asyncio.wait_for(stopping, 5)
    finally:
        decide.set()
        finish.set()
        await asyncio.gather(joining, return_exceptions=True)


async def test_a_join_still_deciding_when_the_shutdown_ends_gets_shutting_down(
    rig: Rig,
) -> None:
    """A join whose on_join has not decided when the server has ended: it is refused
    with ShuttingDown (4104) too, not left to a bare close."""
    asked = asyncio.Event()
    decide = asyncio.Event()

    class Slow(Arena):
        async def on_join(self, request: JoinRequest) -> None:
            if request.options.get("name") == "slow":
                asked.set()
                await decide.wait()

    rig.server.define("slow", Slow)
    host = await rig.enter("create", "slow")
    joining = asyncio.create_task(rig.enter("join", host.room.code, {"name": "slow"}))
    try:
        await asyncio.wait_for(asked.wait(), 5)
        await asyncio.wait_for(rig.server.shutdown(), 5)
        with pytest.raises(ShuttingDown):
            await asyncio.wait_for(joining, 5)
    finally:
        decide.set()
        await asyncio.gather(joining, return_exceptions=True)


# 4. Isolation.


async def test_rooms_of_the_same_type_never_hear_each_other(rig: Rig) -> None:
    """Two rooms of two, the same Game node at the same path everywhere, the same
    ids (2 and 3) in each: broadcasts from a client and from the room's server node,
    and a call to peer 2, reach only their own room."""
    rig.server.define("duel", Arena, max_clients=2)
    alice = await rig.enter("create", "duel")
    bob = await rig.enter("join", alice.room.code)
    carol = await rig.enter("create", "duel")
    dave = await rig.enter("join", carol.room.code)
    assert alice.room.code != carol.room.code
    assert [p.room.peer_id for p in (alice, bob, carol, dave)] == [2, 3, 2, 3]
    room_a = arena_of(rig.server, alice.room.code)
    room_b = arena_of(rig.server, carol.room.code)
    assert room_a.clients == room_b.clients == [2, 3]
    everyone = (alice, bob, carol, dave)
    await rig.admitted(*everyone)

    alice.game.say.rpc("alice")
    carol.game.say.rpc("carol")
    room_a.game.say.rpc("room A")
    room_b.game.say.rpc("room B")
    room_a.game.say.rpc_id(2, "A to 2")
    room_b.game.say.rpc_id(3, "B to 3")
    # (a last call in each room: once it arrived, anything sent before it on these
    # links has too)
    for room in (room_a, room_b):
        room.game.say.rpc("end")
    ends = lambda: all((1, "end") in p.game.heard for p in everyone)  # noqa: E731
    await rig.until(ends)
    assert room_a.game.heard == [(2, "alice")]
    assert room_b.game.heard == [(2, "carol")]
    assert alice.game.heard == [(1, "room A"), (1, "A to 2"), (1, "end")]
    assert sorted(bob.game.heard) == sorted([(2, "alice"), (1, "room A"), (1, "end")])
    assert carol.game.heard == [(1, "room B"), (1, "end")]
    assert sorted(dave.game.heard) == sorted(
        [(2, "carol"), (1, "room B"), (1, "B to 3"), (1, "end")]
    )


# Private rooms and filters.


async def test_private_rooms_are_unlisted_and_join_or_create_matches_filters(rig: Rig) -> None:
    """A room created with private=1 is joined by its code only: not listed, never
    given by join_or_create (until it is made public); the options its type filters
    by choose the room of a join_or_create, and show in the listing as metadata."""
    rig.server.define("game", Arena, max_clients=4, filter_by=("mode",))
    secret = await rig.enter("create", "game", {"private": "1", "mode": "duel"})
    duel = await rig.enter("join_or_create", "game", {"mode": "duel"})
    assert duel.room.code != secret.room.code
    friend = await rig.enter("join", secret.room.code)
    assert friend.room.code == secret.room.code
    second = await rig.enter("join_or_create", "game", {"mode": "duel", "name": "Ann"})
    assert second.room.code == duel.room.code
    brawl = await rig.enter("join_or_create", "game", {"mode": "brawl"})
    assert brawl.room.code not in (duel.room.code, secret.room.code)
    room = rig.server.rooms[secret.room.code]
    assert room.private and room.metadata == {"mode": "duel"}

    async def listed(expected: set[tuple[str, str, int]]) -> bool:
        listing = await rig.listed("game")
        return {(i.code, i.metadata.get("mode"), i.taken) for i in listing} == expected

    public = {(duel.room.code, "duel", 2), (brawl.room.code, "brawl", 1)}
    await rig.until(lambda: listed(public))
    room.private = False
    await rig.until(lambda: listed(public | {(secret.room.code, "duel", 2)}))


# 5. Lifecycle.


async def test_a_room_is_disposed_at_once_after_its_last_player_left(rig: Rig) -> None:
    events: list[str] = []

    class Kept(Arena):
        def on_joined(self, peer_id: int) -> None:
            events.append(f"joined {peer_id}")

        def on_leave(self, peer_id: int) -> None:
            events.append(f"left {peer_id}")

        def on_dispose(self) -> None:
            events.append("disposed")

    rig.server.define("kept", Kept, dispose_delay=0)
    alice = await rig.enter("create", "kept")
    bob = await rig.enter("join", alice.room.code)
    code = alice.room.code
    await rig.until(lambda: events == ["joined 2", "joined 3"])
    bob.peer.close()
    await rig.until(lambda: events[-1:] == ["left 3"])
    assert code in rig.server.rooms  # (alice is still in)
    alice.peer.close()
    await rig.until(lambda: events[-1:] == ["disposed"])
    assert events == ["joined 2", "joined 3", "left 3", "left 2", "disposed"]
    assert code not in rig.server.rooms
    assert await rig.listed() == []
    assert type(await rig.refused("join", code)) is RoomNotFound


async def test_a_dispose_delay_keeps_the_room_and_a_join_meanwhile_cancels_it(rig: Rig) -> None:
    """dispose_delay=0.4: the empty room stays 0.4 s, then is disposed; a player who
    joins within the delay keeps it alive past it (and it is disposed 0.4 s after
    that one leaves in turn)."""
    loop = asyncio.get_running_loop()
    times: dict[str, float] = {}

    class Lingering(Arena):
        def on_leave(self, peer_id: int) -> None:
            times[f"left {self.code}"] = loop.time()

        def on_dispose(self) -> None:
            times[f"disposed {self.code}"] = loop.time()

    rig.server.define("linger", Lingering, dispose_delay=0.4)
    alice = await rig.enter("create", "linger")
    code = alice.room.code
    alice.peer.close()
    await rig.until(lambda: f"disposed {code}" in times)
    assert times[f"disposed {code}"] - times[f"left {code}"] >= 0.38
    assert code not in rig.server.rooms

    bob = await rig.enter("create", "linger")
    code = bob.room.code
    dave = await rig.enter("create", "linger")  # (a clock: his room is left after bob's)
    clock = dave.room.code
    bob.peer.close()
    await rig.until(lambda: f"left {code}" in times)
    dave.peer.close()
    carol = await rig.enter("join", code)  # (within the delay)
    assert carol.room.code == code
    # Dave's room, left after bob's with the same delay, is disposed after bob's
    # delay has run out: bob's room, joined meanwhile, must still be there.
    await rig.until(lambda: f"disposed {clock}" in times)
    assert times[f"left {clock}"] > times[f"left {code}"]
    assert f"disposed {code}" not in times
    assert rig.server.rooms[code].clients == [3]
    carol.peer.close()
    await rig.until(lambda: f"disposed {code}" in times)


async def test_dispose_from_game_code_closes_the_players_with_1001(rig: Rig) -> None:
    events: list[str] = []

    class Ended(Arena):
        def on_dispose(self) -> None:
            events.append("disposed")

    rig.server.define("ended", Ended)
    alice = await rig.enter("create", "ended")
    bob = await rig.enter("join", alice.room.code)
    code = alice.room.code
    gone: list[int] = []
    await rig.admitted(alice, bob)
    for player in (alice, bob):
        player.api.server_disconnected.connect(functools.partial(gone.append, player.room.peer_id))
    links = [alice.peer.get_peer(1), bob.peer.get_peer(1)]
    rig.server.rooms[code].dispose()
    await rig.until(lambda: sorted(gone) == [2, 3])
    for link in links:
        link.poll()
        assert link.get_close_code() == 1001
    assert alice.peer.get_connection_status() is bob.peer.get_connection_status() is DISCONNECTED
    assert events == ["disposed"]
    assert code not in rig.server.rooms
    assert await rig.listed() == []


async def two_arenas(rig: Rig, room_type: str) -> tuple[Player, Player, Arena, Arena]:
    """A player alone in each of two rooms of ``room_type``, both admitted."""
    alice = await rig.enter("create", room_type)
    carol = await rig.enter("create", room_type)
    await rig.admitted(alice, carol)
    return (
        alice,
        carol,
        arena_of(rig.server, alice.room.code),
        arena_of(rig.server, carol.room.code),
    )


async def round_trip(rig: Rig, player: Player, room: Arena, text: str) -> None:
    """A call from ``player`` to its room's Game, and one back."""
    player.game.say.rpc_id(1, text)
    await rig.until(lambda: (player.room.peer_id, text) in room.game.heard)
    room.game.say.rpc_id(player.room.peer_id, text)
    await rig.until(lambda: (1, text) in player.game.heard)


async def test_an_error_in_a_frame_disposes_only_that_room(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.server.define("frames", Arena)
    alice, carol, room_a, room_b = await two_arenas(rig, "frames")
    room_a.game.fail_in_process = True
    await rig.until(lambda: room_a.disposed and alice.peer.get_connection_status() is DISCONNECTED)
    assert list(rig.server.rooms) == [room_b.code]
    await round_trip(rig, carol, room_b, "still here")
    errors = take_errors(caplog)
    assert len(errors) == 1 and room_a.code in errors[0], errors  # (the room is named)


async def test_an_error_in_an_rpc_is_logged_and_the_room_goes_on(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises is one bad call, not a broken game: the room's
    SceneMultiplayer logs it (as any server's does) and the room keeps playing."""
    rig.server.define("calls", Arena)
    alice, carol, room_a, room_b = await two_arenas(rig, "calls")
    alice.game.boom.rpc_id(1)
    await rig.until(lambda: any("boom" in m for m in take_errors(caplog, clear=False)))
    await round_trip(rig, alice, room_a, "after the error")
    await round_trip(rig, carol, room_b, "still here")
    assert not room_a.disposed and sorted(rig.server.rooms) == sorted([room_a.code, room_b.code])
    take_errors(caplog)


# 6. Graceful shutdown.


async def test_shutdown_tells_every_room_lets_them_end_and_closes_players_with_1001() -> None:
    """Two rooms: one disposed by the default on_shutdown, one that finishes its
    game first (a last call to its players, then a timer of its own tree disposes
    it). Every player sees 1001, run() returns, and new connections are refused."""
    events: list[str] = []

    class Quick(Arena):
        def on_shutdown(self) -> Awaitable[None] | None:
            events.append("quick told")
            return super().on_shutdown()

        def on_dispose(self) -> None:
            events.append("quick disposed")

    class Finishing(Arena):
        def on_shutdown(self) -> None:
            events.append("finishing told")
            self.game.say.rpc("game over")
            self.tree.create_timer(0.1).timeout.connect(self.dispose)

        def on_dispose(self) -> None:
            events.append("finishing disposed")

    async with serving(shutdown_timeout=5.0) as rig:
        rig.server.define("quick", Quick)
        rig.server.define("finishing", Finishing)
        alice = await rig.enter("create", "quick")
        carol = await rig.enter("create", "finishing")
        await rig.admitted(alice, carol)
        links = {p.room.room_type: p.peer.get_peer(1) for p in (alice, carol)}
        loop = asyncio.get_running_loop()
        start = loop.time()
        stopping = asyncio.create_task(rig.server.shutdown())
        await rig.until(stopping.done)
        await stopping
        assert loop.time() - start < 2.0  # (not the 5 s timeout: the rooms ended)
        assert sorted(events) == [
            "finishing disposed",
            "finishing told",
            "quick disposed",
            "quick told",
        ]
        assert events.index("finishing told") < events.index("finishing disposed")
        assert rig.running is not None
        await asyncio.wait_for(rig.running, 2)
        await rig.until(
            lambda: all(p.peer.get_connection_status() is DISCONNECTED for p in (alice, carol))
        )
        assert (1, "game over") in carol.game.heard
        for link in links.values():
            link.poll()
            assert link.get_close_code() == 1001
        assert not rig.server.rooms
        refusal = await rig.refused("create", "quick")
        assert isinstance(refusal, (ConnectionRefusedError, ShuttingDown)), refusal


async def test_shutdown_disposes_rooms_that_do_not_end_within_its_timeout() -> None:
    told: list[str] = []

    class Stubborn(Arena):
        def on_shutdown(self) -> None:
            told.append(self.code)  # (and does not end)

    async with serving() as rig:
        rig.server.define("stubborn", Stubborn)
        alice = await rig.enter("create", "stubborn")
        await rig.admitted(alice)
        link = alice.peer.get_peer(1)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.wait_for(rig.server.shutdown(timeout=0.2), 5)
        assert 0.15 <= loop.time() - start < 2.0
        assert told == [alice.room.code]
        assert not rig.server.rooms
        await rig.until(lambda: alice.peer.get_connection_status() is DISCONNECTED)
        link.poll()
        assert link.get_close_code() == 1001


# 7. Auth.


def authenticating(player: Player, token: bytes) -> Player:
    """Make ``player`` answer the server's authentication with ``token``."""
    api = player.api

    def send(peer_id: int) -> None:
        api.send_auth(peer_id, token)
        api.complete_auth(peer_id)

    api.auth_callback = lambda peer_id, data: None
    api.peer_authenticating.connect(send)
    return player


async def test_a_server_wide_auth_callback_guards_every_room() -> None:
    """Every room asks the server's auth_callback (with the server's auth_timeout); a
    player without the token is dropped and never joins, and its seat is free again;
    on_joined comes only after the auth; a room's own callback, set in on_create,
    replaces the server's."""
    events: list[str] = []
    server_checked: list[tuple[str, bytes]] = []

    class Guarded(Arena):
        def on_joined(self, peer_id: int) -> None:
            events.append(f"joined {self.code} {peer_id}")

        def on_leave(self, peer_id: int) -> None:
            events.append(f"left {self.code} {peer_id}")

    class Vip(Guarded):
        def on_create(self, options: Mapping[str, str]) -> None:
            super().on_create(options)
            api = self.multiplayer

            def own(peer_id: int, data: bytes) -> None:
                events.append(f"vip checked {peer_id} {data.decode()}")
                if data == b"vip":
                    api.complete_auth(peer_id)
                else:
                    api.disconnect_peer(peer_id)

            api.auth_callback = own

    def check(room: Room, peer_id: int, data: bytes) -> None:
        server_checked.append((room.code, data))
        events.append(f"checked {room.code} {peer_id}")
        if data == b"secret":
            room.multiplayer.complete_auth(peer_id)
        else:
            room.multiplayer.disconnect_peer(peer_id)

    async with serving(auth_callback=check, auth_timeout=1.5) as rig:
        rig.server.define("guarded", Guarded, max_clients=2)
        rig.server.define("vip", Vip, max_clients=2)
        alice = await rig.enter("create", "guarded", player=authenticating(rig.player(), b"secret"))
        code = alice.room.code
        await rig.admitted(alice)
        assert events == [f"checked {code} 2", f"joined {code} 2"]
        assert rig.server.rooms[code].multiplayer.auth_timeout == 1.5

        mallory = authenticating(rig.player(), b"wrong")
        failed: list[int] = []
        mallory.api.peer_authentication_failed.connect(failed.append)
        await rig.enter("join", code, player=mallory)
        await rig.until(lambda: mallory.peer.get_connection_status() is DISCONNECTED)
        assert failed == [1]
        assert f"joined {code} 3" not in events and f"left {code} 3" not in events
        assert server_checked[-1] == (code, b"wrong")
        # (her seat is free again: the room of two takes another player)
        bob = await rig.enter("join", code, player=authenticating(rig.player(), b"secret"))
        await rig.until(lambda: f"joined {code} 4" in events)
        assert bob.room.peer_id == 4

        vip = await rig.enter("create", "vip", player=authenticating(rig.player(), b"vip"))
        vcode = vip.room.code
        await rig.until(lambda: f"joined {vcode} 2" in events)
        intruder = authenticating(rig.player(), b"secret")
        await rig.enter("join", vcode, player=intruder)
        await rig.until(lambda: intruder.peer.get_connection_status() is DISCONNECTED)
        assert f"joined {vcode} 3" not in events
        assert "vip checked 3 secret" in events
        assert all(checked_code != vcode for checked_code, _ in server_checked)


# 8. Resume inside a room.


async def test_a_player_who_created_a_room_resumes_in_it_not_in_a_new_one() -> None:
    """The creator's link is cut (through a FaultProxy): it comes back through
    /resume/CODE to the same room, with the same id; no second room is made; on_leave
    is never called; calls work after."""
    events: list[str] = []

    class Watched(Arena):
        def on_joined(self, peer_id: int) -> None:
            events.append(f"joined {peer_id}")

        def on_leave(self, peer_id: int) -> None:
            events.append(f"left {peer_id}")

    async with (
        serving(peer_factory=resumable_peer) as rig,
        FaultProxy(rig.server.local_port) as proxy,
    ):
        rig.server.define("watched", Watched)
        player = rig.player(settings=RESUMABLE)
        await rig.enter("create", "watched", player=player, url=proxy.url)
        assert (
            player.peer.response_headers["multiplayer-resume-path"] == f"/resume/{player.room.code}"
        )
        room = arena_of(rig.server, player.room.code)
        resumed: list[int] = []
        player.peer.peer_resumed.connect(resumed.append)
        await rig.until(lambda: events == ["joined 2"])
        proxy.cut()
        await rig.until(lambda: resumed == [1])
        assert player.peer.get_unique_id() == 2
        assert list(rig.server.rooms) == [room.code] and room.clients == [2]
        await round_trip(rig, player, room, "after the cut")
        assert events == ["joined 2"]
        assert taken(await rig.listed(), room.code) == (1, None)


async def test_a_full_room_stays_full_while_a_player_is_away() -> None:
    """A room of two: one player's network goes silent (blackhole); while it is away
    its seat is still counted (a third player gets RoomFull); it resumes with its id."""
    async with (
        serving(peer_factory=resumable_peer) as rig,
        FaultProxy(rig.server.local_port) as proxy,
    ):
        rig.server.define("pair", Arena, max_clients=2)
        away = rig.player(settings=RESUMABLE)
        await rig.enter("create", "pair", player=away, url=proxy.url)
        code = away.room.code
        stays = await rig.enter("join", code, player=rig.player(settings=RESUMABLE))
        room = arena_of(rig.server, code)
        dropped: list[int] = []
        room.peer.peer_dropped.connect(dropped.append)
        resumed: list[int] = []
        away.peer.peer_resumed.connect(resumed.append)
        proxy.blackhole()
        try:
            await rig.until(lambda: dropped == [2])
            assert room.clients == [2, 3]
            assert type(await rig.refused("join", code)) is RoomFull
            assert taken(await rig.listed(), code) == (2, 0)
        finally:
            proxy.restore()
        await rig.until(lambda: resumed == [1])
        assert (away.peer.get_unique_id(), stays.peer.get_unique_id()) == (2, 3)
        assert room.clients == [2, 3]
        await round_trip(rig, away, room, "back")
        assert type(await rig.refused("join", code)) is RoomFull


# 9. The godot profile.


async def test_godot_profile_rooms_join_by_code_and_call() -> None:
    async with serving(peer_factory=lambda: WebSocketMultiplayerPeer("godot")) as rig:
        rig.server.define("duel", Arena, max_clients=2)
        alice = await rig.enter("create", "duel", player=rig.player("godot"))
        bob = await rig.enter("join", alice.room.code.lower(), player=rig.player("godot"))
        assert alice.room.code == bob.room.code
        assert alice.room.peer_id != bob.room.peer_id
        room = arena_of(rig.server, alice.room.code)
        await rig.admitted(alice, bob)
        await round_trip(rig, alice, room, "hi from alice")
        await round_trip(rig, bob, room, "hi from bob")
        assert sorted(room.clients) == sorted([alice.room.peer_id, bob.room.peer_id])
        refusal = await rig.refused("join", alice.room.code)
        assert type(refusal) is RoomFull


# 10. wss.


async def test_a_room_over_wss() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with serving(tls=(server_context, client_context)) as rig:
        rig.server.define("secure", Arena)
        alice = await rig.enter("join_or_create", "secure")
        assert rig.url.startswith("wss://")
        room = arena_of(rig.server, alice.room.code)
        await rig.admitted(alice)
        await round_trip(rig, alice, room, "over TLS")
        assert [info.code for info in await rig.listed()] == [alice.room.code]


# 11. What a hostile review found.


@pytest.mark.parametrize("path", ["/join/{code}", "/join_or_create/plain"])
async def test_a_request_that_breaks_the_protocol_before_its_101_leaves_nothing_behind(
    rig: Rig, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """A request and an unmasked frame (a client must mask its frames) in one write:
    the connection is cut before its 101 and the seat it held is settled once (the
    room's count of joins in progress never goes below 0); the room, once its last
    player left, is disposed, not kept alive; nothing is logged as an error."""
    rig.server.define("plain", Room)
    host = await rig.enter("create", "plain")
    code = host.room.code
    room = rig.server.rooms[code]
    counts = [room._joining]

    def settled() -> bool:
        counts.append(room._joining)
        # (websockets reads the frame and refuses its masking; the picows backend
        # cuts a connection that sends a frame before its 101)
        why = ("incorrect masking", "sent a frame before the handshake's response")
        cut = any(w in r.getMessage() for r in caplog.records for w in why)
        return cut and not rig.server._joins and not rig.server._door.fronts

    writer = await upgrade_request(rig.server.local_port, path.format(code=code), b"\x82\x01x")
    try:
        await rig.until(settled)
    finally:
        writer.close()
    assert min(counts) == 0 and room._joining == 0, counts
    assert room.clients == [2] and not room.disposed
    host.peer.close()
    await rig.until(lambda: room.disposed and code not in rig.server.rooms, timeout=2.0)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_long_refusal_reasons_are_cut_to_fit_a_close_frame(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A close frame carries 123 bytes of reason at most: a hook's long JoinRefused
    reason, and the messages about long paths, reach the client cut to fit (at a
    character boundary) as the typed error, in bounded time; nothing is logged as
    an error (asyncio's "Fatal error" about a control frame too long included)."""

    class Wordy(Arena):
        def on_join(self, request: JoinRequest) -> None:
            if request.options.get("lang") == "fr":
                raise JoinRefused("non : " + "é" * 100)
            if not request.created:
                raise JoinRefused("you may not come in: " + "blah " * 40)

    rig.server.define("wordy", Wordy)
    host = await rig.enter("create", "wordy")
    refusal = await rig.refused("join", host.room.code)
    assert type(refusal) is JoinRefused
    assert str(refusal).startswith("you may not come in: blah blah")
    assert 120 <= len(str(refusal).encode()) <= 123
    refusal = await rig.refused("join", host.room.code, {"lang": "fr"})
    # ("non : " is 6 bytes, each "é" 2: 58 of them fit in the 117 left, not half of one)
    assert type(refusal) is JoinRefused and str(refusal) == "non : " + "é" * 58
    for path, kind in (
        ("/join/" + "A" * 200, RoomNotFound),
        ("/create/" + "e" * 200, RoomError),
        ("/create/wordy?" + "n" * 150 + "=1&" + "n" * 150 + "=2", RoomError),
    ):
        error = await connection_error_at(rig.url + path)
        assert type(error) is kind, (path, error)
        assert 100 <= len(str(error).encode()) <= 123, (path, error)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def quick_handshakes() -> WebSocketMultiplayerPeer:
    """A room peer whose closing handshakes take 1 s at most."""
    peer = WebSocketMultiplayerPeer()
    peer.handshake_timeout = 1.0
    return peer


async def test_shutdown_is_bounded_even_when_on_shutdown_and_on_dispose_hang() -> None:
    """One room's on_shutdown never returns, another's on_dispose never returns:
    shutdown(0.3) still returns within its timeout plus what closing takes
    (handshake_timeout, 1 s here, and a little more), and run() returns."""
    never = asyncio.Event()

    class Deaf(Arena):
        async def on_shutdown(self) -> None:
            await never.wait()

    class Hoarding(Arena):
        async def on_dispose(self) -> None:
            await never.wait()

    async with serving(peer_factory=quick_handshakes) as rig:
        rig.server.define("deaf", Deaf)
        rig.server.define("hoarding", Hoarding)
        alice = await rig.enter("create", "deaf")
        carol = await rig.enter("create", "hoarding")
        await rig.admitted(alice, carol)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.wait_for(rig.server.shutdown(timeout=0.3), 10)
        assert loop.time() - start < 0.3 + 1.0 + 1.0
        assert rig.running is not None
        await asyncio.wait_for(rig.running, 1)
        assert not rig.server.rooms


async def test_shutdown_closes_the_players_of_a_room_whose_on_dispose_still_runs() -> None:
    """A room whose on_dispose hangs (it would be let go after DISPOSE_TIMEOUT, 5 s)
    when shutdown(0.3) ends: its players are still closed with 1001 (shutdown
    "disposes those left: their players are closed with 1001"), not left connected
    to a room whose frames have stopped."""
    never = asyncio.Event()

    class Hoarding(Arena):
        async def on_dispose(self) -> None:
            await never.wait()

    async with serving(peer_factory=quick_handshakes) as rig:
        rig.server.define("hoarding", Hoarding)
        carol = await rig.enter("create", "hoarding")
        await rig.admitted(carol)
        link = carol.peer.get_peer(1)
        await asyncio.wait_for(rig.server.shutdown(timeout=0.3), 10)
        await rig.until(lambda: carol.peer.get_connection_status() is DISCONNECTED, timeout=2.0)
        link.poll()
        assert link.get_close_code() == 1001


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_on_joined_that_raises_disposes_its_room_sync_or_async(
    rig: Rig, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    """A bug in on_joined, whether it raises at once (a plain def) or from its
    coroutine: the error is logged naming the hook and the room, and that room
    alone is disposed (its player let go)."""

    class Sync(Arena):
        def on_joined(self, peer_id: int) -> None:
            raise RuntimeError("a bug in on_joined")

    class Async(Arena):
        async def on_joined(self, peer_id: int) -> None:
            await asyncio.sleep(0)
            raise RuntimeError("a bug in on_joined")

    rig.server.define("faulty", Sync if kind == "sync" else Async)
    rig.server.define("fine", Arena)
    carol = await rig.enter("create", "fine")
    alice = await rig.enter("create", "faulty")
    room = rig.server.rooms[alice.room.code]
    await rig.until(lambda: room.disposed and alice.peer.get_connection_status() is DISCONNECTED)
    assert list(rig.server.rooms) == [carol.room.code]
    await round_trip(rig, carol, arena_of(rig.server, carol.room.code), "still here")
    errors = take_errors(caplog)
    assert errors == [f"room {room.code} (faulty): error in on_joined; disposing the room"]


async def test_unknown_codes_from_one_address_close_its_joins_by_code_for_a_while(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes are not guessed: after 10 unknown codes from 127.0.0.1 (within 10 s),
    its 11th join by code and those after get 1013 "too many unknown room codes
    from this address", unread (the directory is not asked); its resumes by code
    too.

    The trade-off, on purpose: the gate is per address, not per code, so a good
    code from that address within the window is refused as well (players behind
    one NAT share the penalty of a guesser among them, 10 s at most); creating
    rooms is not gated."""
    rig.server.define("open", Arena)
    host = await rig.enter("create", "open")
    directory = rig.server.directory
    reserve = directory.reserve
    asked: list[str] = []

    async def counted(code: str) -> Seat:
        asked.append(code)
        return await reserve(code)

    monkeypatch.setattr(directory, "reserve", counted)
    unknown = [code for code in (new_code() for _ in range(20)) if code != host.room.code]
    for code in unknown[:10]:
        assert type(await rig.refused("join", code)) is RoomNotFound
    assert asked == unknown[:10]
    gated = "1013 too many unknown room codes from this address"
    for code in (unknown[10], unknown[11], host.room.code):
        refusal = await rig.refused("join", code)
        assert type(refusal) is ConnectionError and gated in str(refusal), refusal
    error = await connection_error_at(f"{rig.url}/resume/{host.room.code}")
    assert gated in str(error), error
    assert asked == unknown[:10]
    other = await rig.enter("create", "open")
    assert other.room.code in rig.server.rooms


async def test_a_join_whose_client_leaves_while_on_join_hangs_holds_no_seat(rig: Rig) -> None:
    """A room of two; a join's on_join never returns, and its client leaves: the
    hook is cancelled and the seat is free at once (not when the hook returns, or
    its hold expires); once the last player left, the room is disposed (the join
    that hung does not keep it alive)."""
    asked = asyncio.Event()
    never = asyncio.Event()
    cancelled: list[str] = []

    class Hanging(Arena):
        async def on_join(self, request: JoinRequest) -> None:
            if request.options.get("name") == "stuck":
                asked.set()
                try:
                    await never.wait()
                except asyncio.CancelledError:
                    cancelled.append(request.options["name"])
                    raise

    rig.server.define("hanging", Hanging, max_clients=2)
    host = await rig.enter("create", "hanging")
    code = host.room.code
    writer = await upgrade_request(rig.server.local_port, f"/join/{code}?name=stuck")
    try:
        await asyncio.wait_for(asked.wait(), 5)
        assert type(await rig.refused("join", code)) is RoomFull  # (the seat is held)
        writer.transport.abort()

        async def seat_free() -> bool:
            return taken(await rig.listed(), code) == (1, 1)

        await rig.until(seat_free, timeout=3.0)
        assert cancelled == ["stuck"]
    finally:
        writer.close()
    room = rig.server.rooms[code]
    assert room._joining == 0
    host.peer.close()
    await rig.until(lambda: code not in rig.server.rooms, timeout=2.0)


async def test_a_room_that_sets_its_metadata_keeps_the_options_it_is_matched_by(
    rig: Rig,
) -> None:
    """A type that filters by mode, whose rooms set their own metadata (a map name
    for the listing): the mode stays in the metadata whatever the room sets, so
    join_or_create mode=duel still finds the room, and the listing shows both."""

    class Mapped(Arena):
        def on_create(self, options: Mapping[str, str]) -> None:
            super().on_create(options)
            self.metadata = {"map": "canyon"}

    rig.server.define("mapped", Mapped, max_clients=4, filter_by=("mode",))
    first = await rig.enter("join_or_create", "mapped", {"mode": "duel"})
    code = first.room.code
    room = rig.server.rooms[code]
    assert room.metadata == {"map": "canyon", "mode": "duel"}
    second = await rig.enter("join_or_create", "mapped", {"mode": "duel"})
    assert second.room.code == code
    room.metadata = {"map": "desert", "mode": "brawl"}  # (the filter's value wins)
    assert room.metadata == {"map": "desert", "mode": "duel"}
    third = await rig.enter("join_or_create", "mapped", {"mode": "duel"})
    assert third.room.code == code
    brawl = await rig.enter("join_or_create", "mapped", {"mode": "brawl"})
    assert brawl.room.code != code

    async def listed() -> bool:
        listing = {info.code: dict(info.metadata) for info in await rig.listed("mapped")}
        return listing.get(code) == {"map": "desert", "mode": "duel"}

    await rig.until(listed)


async def many_rooms(rig: Rig, count: int) -> None:
    """``count`` public rooms of four in the directory, none here (entries of another
    process: the listing reads the directory); then the listing is over 64 KiB."""
    directory = rig.server.directory
    for _ in range(count):
        await directory.create("dice", "elsewhere", max_clients=4)
    assert len(listing_json(await directory.listing()).encode()) > 65536


async def test_a_listing_over_64_kib_reaches_its_watcher(rig: Rig) -> None:
    """About 700 public rooms make a listing of more than 64 KiB, past a peer's
    outbound_buffer_size: a watcher (a browser's lobby: a plain WebSocket client)
    gets it whole all the same, and the next one after a change."""
    await many_rooms(rig, 700)
    watcher = await asyncio.wait_for(ws_connect(f"{rig.url}/list", max_size=1 << 20), 5)
    try:
        first = json.loads(await asyncio.wait_for(watcher.recv(), 5))
        assert len(first["rooms"]) == 700
        await rig.server.directory.create("dice", "elsewhere", max_clients=4)
        second = json.loads(await asyncio.wait_for(watcher.recv(), 5))
        assert len(second["rooms"]) == 701
    finally:
        await asyncio.wait_for(watcher.close(), 5)


async def test_list_rooms_and_watch_rooms_read_a_listing_over_64_kib(rig: Rig) -> None:
    """The client helpers read the listing of about 700 rooms too (the server sends
    it whole: see the test above)."""
    await many_rooms(rig, 700)
    assert len(await rig.listed()) == 700
    async with aclosing(rooms.watch_rooms(rig.url)) as listings:
        assert len(await asyncio.wait_for(anext(listings), 5)) == 700


async def test_the_listing_is_made_once_per_change_whatever_the_watchers(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty watchers: the listing's JSON is made once for all of them, and once
    more for a change (not once per watcher: a change would cost as many listings
    as there are lobbies open)."""
    made: list[int] = []

    def counting(listed: list[RoomInfo]) -> str:
        made.append(len(listed))
        return listing_json(listed)

    monkeypatch.setattr(listing_module, "listing_json", counting)
    watchers = [await asyncio.wait_for(ws_connect(f"{rig.url}/list"), 5) for _ in range(20)]
    try:
        firsts = await asyncio.wait_for(asyncio.gather(*(w.recv() for w in watchers)), 5)
        assert all(json.loads(text)["rooms"] == [] for text in firsts)
        assert made == [0]
        await rig.server.directory.create("dice", "elsewhere")
        seconds = await asyncio.wait_for(asyncio.gather(*(w.recv() for w in watchers)), 5)
        assert all(len(json.loads(text)["rooms"]) == 1 for text in seconds)
        assert made == [0, 1]
    finally:
        for watcher in watchers:
            await asyncio.wait_for(watcher.close(), 5)


def slow_handshakes() -> WebSocketMultiplayerPeer:
    peer = WebSocketMultiplayerPeer()
    peer.handshake_timeout = 3.0
    return peer


async def test_a_directory_that_holds_seats_for_less_than_a_join_may_take_is_refused() -> None:
    """A join may take two handshakes (the request's, then the greeting's), each up
    to handshake_timeout: with 3 s, a seat must stay held 7 s. A directory that
    holds them 5 s is refused at once, naming hold_time (else a slow join's seat
    would be given to another and the room over-filled); 7 s is enough."""
    with pytest.raises(ValueError, match="hold_time"):
        RoomServer(directory=LocalDirectory(hold_time=5), peer_factory=slow_handshakes)
    server = RoomServer(directory=LocalDirectory(hold_time=7), peer_factory=slow_handshakes)
    assert server.directory.hold_time == 7  # type: ignore[attr-defined]


async def test_while_a_shared_directory_is_down_joins_are_told_to_try_again_later(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down: a join is refused with 1013 (the player may try again), not left
    to hang nor closed as an internal error; Redis back (empty): joins work again."""
    from multiplayer.rooms.redis_directory import RedisDirectory

    directory = RedisDirectory(own_redis.url, namespace="server")
    try:
        async with serving(directory=directory) as rig:
            rig.server.define("open", Arena)
            await rig.enter("create", "open")
            own_redis.stop()
            refusal = await rig.refused("create", "open")
            assert type(refusal) is ConnectionError, refusal
            assert "1013 the room directory (Redis) is unreachable" in str(refusal)
            assert "internal error" not in caplog.text
            own_redis.start()
            player = await rig.enter("join_or_create", "open")
            assert player.room.code in rig.server.rooms
    finally:
        await directory.aclose()


async def test_a_draining_server_makes_no_room_and_stops_once_its_rooms_end(rig: Rig) -> None:
    """drain(): a create or a join_or_create gets 1013 (another process of a
    cluster may take it), a join by code of a room here still works, and the
    server stops once its last room ended (its players left), well before the
    timeout."""
    rig.server.define("open", Arena)
    alice = await rig.enter("create", "open")
    loop = asyncio.get_running_loop()
    start = loop.time()
    draining = asyncio.create_task(rig.server.drain(timeout=10.0))
    await rig.until(lambda: rig.server._seating.draining)
    for how in ("create", "join_or_create"):
        refusal = await rig.refused(how, "open")
        assert type(refusal) is ConnectionError, refusal
        assert "1013 this server is draining: it takes joins by code only" in str(refusal)
    bob = await rig.enter("join", alice.room.code)
    assert not draining.done()
    for player in (alice, bob):
        player.peer.close()
    await asyncio.wait_for(draining, 5)
    assert loop.time() - start < 5.0  # (not the 10 s: the room ended)
    assert rig.running is not None
    await asyncio.wait_for(rig.running, 2)


async def test_a_drain_timeout_closes_the_players_left_with_1001(rig: Rig) -> None:
    rig.server.define("open", Arena)
    alice = await rig.enter("create", "open")
    await rig.admitted(alice)
    link = alice.peer.get_peer(1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.wait_for(rig.server.drain(timeout=0.3), 5)
    assert loop.time() - start >= 0.25
    await rig.until(lambda: alice.peer.get_connection_status() is DISCONNECTED)
    link.poll()
    assert link.get_close_code() == 1001
    assert not rig.server.rooms
