"""Tests for :mod:`multiplayer.rooms.client`: joining rooms from Python (create, join,
join_or_create), each refusal as its typed error, and the listing (list_rooms,
watch_rooms), against a real RoomServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator

import pytest
from websockets.asyncio.server import ServerConnection, serve as ws_serve

from multiplayer import (
    ConnectionStatus,
    InvalidState,
    JoinRefused,
    RoomError,
    RoomFull,
    RoomLocked,
    RoomNotFound,
    SceneTree,
    ShuttingDown,
    WebSocketMultiplayerPeer,
)
from multiplayer.rooms import (
    JoinedRoom,
    JoinRequest,
    Room,
    RoomInfo,
    create,
    join,
    join_or_create,
    list_rooms,
    watch_rooms,
)
from tests.rooms.roomkit import Lobby, lobby, until

CONNECTED = ConnectionStatus.CONNECTED
DISCONNECTED = ConnectionStatus.DISCONNECTED


class Duel(Room):
    """Two seats; refuses a player without a name; its join waits while ``gate``
    is set and not open (to hold a join in progress)."""

    max_clients = 2
    filter_by = ("mode",)
    gate: asyncio.Event | None = None

    async def on_join(self, request: JoinRequest) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if not request.options.get("name"):
            raise JoinRefused("tell us your name (?name=...)")


def served_duels(served: Lobby) -> None:
    served.server.define("duel", Duel)


# Joining.


async def test_create_returns_the_room_and_leaves_the_first_poll_to_the_game() -> None:
    """The peer has its id, but it is the game's poll that makes it CONNECTED (and
    emits peer_connected(1)): nothing was polled behind its back."""
    async with lobby() as served:
        served_duels(served)
        peer = served.peer()
        events: list[int] = []
        peer.peer_connected.connect(events.append)
        joined = await create(peer, served.url, "duel", {"name": "Ann"})
        assert joined == JoinedRoom(joined.code, "duel", 2)
        assert joined.code in served.server.rooms
        assert peer.get_connection_status() is ConnectionStatus.CONNECTING and events == []
        peer.poll()
        assert peer.get_connection_status() is CONNECTED
        assert (peer.get_unique_id(), events) == (2, [1])


async def test_join_reads_the_code_as_a_player_typed_it() -> None:
    async with lobby() as served:
        served_duels(served)
        created = await create(served.peer(), served.url, "duel", {"name": "Ann"})
        typed = f"{created.code[:3].lower()}-{created.code[3:].lower()}"
        joined = await join(served.peer(), served.url, typed, {"name": "Bob"})
        assert joined == JoinedRoom(created.code, "duel", 3)


async def test_a_joined_peer_plays_in_its_room() -> None:
    """Set as a tree's multiplayer_peer after the join, it is an ordinary client."""
    async with lobby() as served:
        served_duels(served)
        peer = served.peer()
        joined = await create(peer, served.url, "duel", {"name": "Ann"})
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.multiplayer_peer = peer
        await until(lambda: api.get_peers() == [1], tree)
        room = served.server.rooms[joined.code]
        await until(lambda: room.multiplayer.get_peers() == [2])


async def test_join_or_create_lands_players_in_one_room_by_their_options() -> None:
    async with lobby() as served:
        served_duels(served)
        first = await join_or_create(served.peer(), served.url, "duel", {"name": "A", "mode": "x"})
        other = await join_or_create(served.peer(), served.url, "duel", {"name": "B", "mode": "y"})
        second = await join_or_create(served.peer(), served.url, "duel", {"name": "C", "mode": "x"})
        assert second.code == first.code != other.code
        assert (first.peer_id, second.peer_id, other.peer_id) == (2, 3, 2)


async def test_a_url_without_scheme_or_with_a_trailing_slash_is_read() -> None:
    async with lobby() as served:
        served_duels(served)
        address = f"127.0.0.1:{served.server.local_port}"
        joined = await create(served.peer(), address, "duel", {"name": "Ann"})
        await join(served.peer(), served.url + "/", joined.code, {"name": "Bob"})
        assert [room.code for room in await list_rooms(address + "/")] == [joined.code]


# Refusals: each its typed error, and the peer ready for another try.


async def refused(served: Lobby, peer: WebSocketMultiplayerPeer, error: type[RoomError]) -> str:
    """Check that the refused ``peer`` is closed, and can join at once (its message)."""
    assert peer.get_connection_status() is DISCONNECTED
    assert isinstance(peer.connection_error, error)
    joined = await create(peer, served.url, "duel", {"name": "Zed"})
    assert joined.peer_id == 2
    return str(peer.connection_error)


async def test_an_unknown_code_is_room_not_found() -> None:
    async with lobby() as served:
        served_duels(served)
        peer = served.peer()
        with pytest.raises(RoomNotFound, match="no room ZZZZZZ"):
            await join(peer, served.url, "zzzzzz", {"name": "Ann"})
        await refused(served, peer, RoomNotFound)


async def test_what_is_not_a_code_is_room_not_found_without_connecting() -> None:
    async with lobby() as served:
        peer = served.peer()
        with pytest.raises(RoomNotFound, match="is not a room code"):
            await join(peer, served.url, "no such")
        assert peer.get_connection_status() is DISCONNECTED
        assert peer.connection_error is None  # (never started)


async def test_a_full_room_is_room_full() -> None:
    async with lobby() as served:
        served_duels(served)
        created = await create(served.peer(), served.url, "duel", {"name": "Ann"})
        await join(served.peer(), served.url, created.code, {"name": "Bob"})
        peer = served.peer()
        with pytest.raises(RoomFull, match=f"room {created.code} is full"):
            await join(peer, served.url, created.code, {"name": "Cid"})
        await refused(served, peer, RoomFull)


async def test_a_locked_room_is_room_locked() -> None:
    async with lobby() as served:
        served_duels(served)
        created = await create(served.peer(), served.url, "duel", {"name": "Ann"})
        served.server.rooms[created.code].lock()
        peer = served.peer()
        with pytest.raises(RoomLocked):  # (the lock is written by a task; this join
            # comes over the network, well after it)
            await join(peer, served.url, created.code, {"name": "Bob"})
        await refused(served, peer, RoomLocked)


async def test_a_refusal_by_the_room_is_join_refused_with_its_reason() -> None:
    async with lobby() as served:
        served_duels(served)
        peer = served.peer()
        with pytest.raises(JoinRefused, match=r"tell us your name \(\?name=...\)") as caught:
            await create(peer, served.url, "duel")
        assert caught.value.reason == "tell us your name (?name=...)"
        await refused(served, peer, JoinRefused)


async def test_an_unknown_type_is_a_room_error() -> None:
    async with lobby() as served:
        served_duels(served)
        peer = served.peer()
        with pytest.raises(RoomError, match="no room type 'chess' on this server") as caught:
            await join_or_create(peer, served.url, "chess")
        assert caught.type is RoomError
        await refused(served, peer, RoomError)


async def test_a_join_in_progress_at_shutdown_is_shutting_down() -> None:
    async with lobby() as served:
        gate = asyncio.Event()

        class Gated(Duel):
            pass

        Gated.gate = gate
        served.server.define("duel", Gated)
        peer = served.peer()
        joining = asyncio.create_task(create(peer, served.url, "duel", {"name": "Ann"}))
        await until(lambda: bool(served.server.rooms))  # (its on_join is waiting)
        stopping = asyncio.create_task(served.server.shutdown(timeout=0.5))
        await until(lambda: served.server._closing)
        gate.set()
        with pytest.raises(ShuttingDown):
            await asyncio.wait_for(joining, 5)
        await asyncio.wait_for(stopping, 5)
        assert peer.get_connection_status() is DISCONNECTED


async def test_a_server_that_is_no_room_server_is_a_room_error() -> None:
    """A plain WebSocketMultiplayerPeer server admits the client, but its 101 names
    no room: the client says so, and leaves."""
    server = WebSocketMultiplayerPeer()
    await server.create_server(0, "127.0.0.1")
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    peer = WebSocketMultiplayerPeer()
    try:
        url = f"ws://127.0.0.1:{server.get_local_port()}"
        with pytest.raises(RoomError, match=f"{url} is not a room server") as caught:
            await create(peer, url, "duel")
        assert caught.type is RoomError
        assert peer.get_connection_status() is DISCONNECTED

        async def poll_server() -> None:
            while not left:
                server.poll()
                await asyncio.sleep(0.002)

        await asyncio.wait_for(poll_server(), 5)
        assert left == [2]
    finally:
        for made in (peer, server):
            made.close()
            await asyncio.wait_for(made.wait_closed(), 5)


async def test_no_server_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    peer = WebSocketMultiplayerPeer()
    with pytest.raises(OSError):
        await create(peer, f"ws://127.0.0.1:{port}", "duel")
    await asyncio.wait_for(peer.wait_closed(), 5)


async def test_a_server_that_never_answers_is_a_timeout() -> None:
    """Never a hang: the peer's handshake_timeout bounds the join."""

    async def silent(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with ws_serve(silent, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        peer = WebSocketMultiplayerPeer()
        peer.handshake_timeout = 0.3
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(create(peer, f"ws://127.0.0.1:{port}", "duel"), 3)
        await asyncio.wait_for(peer.wait_closed(), 5)


async def test_a_peer_in_use_is_refused() -> None:
    async with lobby() as served:
        served_duels(served)
        peer = served.peer()
        await create(peer, served.url, "duel", {"name": "Ann"})
        with pytest.raises(InvalidState, match="already in use"):
            await join(peer, served.url, "ZZZZZZ")
        server_peer = served.peer()
        await server_peer.create_server(0, "127.0.0.1")
        with pytest.raises(InvalidState, match="already in use"):
            await create(server_peer, served.url, "duel")


# The listing.


async def test_list_rooms_returns_room_infos() -> None:
    async with lobby() as served:
        served.server.define("duel", Duel, max_clients=4)
        served.server.define("chat", Room)
        ann = await create(served.peer(), served.url, "duel", {"name": "Ann", "mode": "x"})
        await join(served.peer(), served.url, ann.code, {"name": "Bob"})
        chat = await create(served.peer(), served.url, "chat")
        await create(served.peer(), served.url, "chat", {"private": "1"})
        room = served.server.rooms[ann.code]
        await until(lambda: len(room.clients) == 2)
        listed = {info.code: info for info in await list_rooms(served.url)}
        assert set(listed) == {ann.code, chat.code}
        assert listed[ann.code] == RoomInfo(
            ann.code, "duel", "", max_clients=4, taken=2, metadata={"mode": "x"}
        )
        assert listed[ann.code].free == 2
        assert (listed[chat.code].max_clients, listed[chat.code].free) == (0, None)
        assert [info.code for info in await list_rooms(served.url, "chat")] == [chat.code]
        assert await list_rooms(served.url, "nothing") == []
        await until(lambda: served.server._listing.watchers == 0)  # (each one closed)


async def test_list_rooms_counts_the_seats_held_for_joins_in_progress() -> None:
    """A join still deciding holds its seat: the listing shows it as not free."""
    async with lobby() as served:
        gate = asyncio.Event()
        asked: list[str] = []

        class Gated(Duel):
            async def on_join(self, request: JoinRequest) -> None:
                asked.append(request.options["name"])
                await super().on_join(request)

        served.server.define("duel", Gated, max_clients=3)
        ann = await create(served.peer(), served.url, "duel", {"name": "Ann"})
        Gated.gate = gate
        joining = asyncio.create_task(join(served.peer(), served.url, ann.code, {"name": "Bob"}))
        await until(lambda: asked == ["Ann", "Bob"])  # (Bob's on_join waits)
        (listed,) = await list_rooms(served.url)
        assert (listed.taken, listed.held, listed.free) == (1, 1, 1)
        gate.set()
        await asyncio.wait_for(joining, 5)


async def test_watch_rooms_yields_now_and_at_each_change_then_closes() -> None:
    async with lobby() as served:
        served_duels(served)
        listings = watch_rooms(served.url, "duel")
        assert await anext(listings) == []
        created = await create(served.peer(), served.url, "duel", {"name": "Ann"})
        while not (rooms := await asyncio.wait_for(anext(listings), 5)) or rooms[0].taken < 1:
            pass
        assert [(info.code, info.room_type, info.taken) for info in rooms] == [
            (created.code, "duel", 1)
        ]
        assert isinstance(listings, AsyncGenerator)
        await listings.aclose()  # (the iteration stops: the connection closes)
        await until(lambda: served.server._listing.watchers == 0)


async def test_watch_rooms_ends_with_a_connection_error_when_the_server_goes() -> None:
    async with lobby() as served:
        listings = watch_rooms(served.url)
        assert await anext(listings) == []
        await served.server.shutdown(timeout=0.5)
        with pytest.raises(ConnectionError, match="the listing closed: 1001"):
            await asyncio.wait_for(anext(listings), 2)


async def test_a_listing_refused_is_a_connection_error() -> None:
    async with lobby(max_watchers=0) as served:
        with pytest.raises(ConnectionError, match="the listing closed: 1013 too many"):
            await list_rooms(served.url)


async def test_a_listing_that_is_not_one_is_a_room_error() -> None:
    async def liar(ws: ServerConnection) -> None:
        await ws.send('{"no rooms": []}')
        await ws.wait_closed()

    async with ws_serve(liar, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        with pytest.raises(RoomError, match="unreadable listing"):
            await list_rooms(f"ws://127.0.0.1:{port}")
