"""Tests for :mod:`multiplayer.rooms.room`: a room as its class makes it, as a room
server creates it (its own tree, multiplayer and server peer), and what it changes
in the directory (lock, private, metadata) through a real RoomServer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

import pytest

from multiplayer import (
    ConnectionStatus,
    InvalidState,
    Node,
    RoomLocked,
    RoomNotFound,
    SceneMultiplayer,
    SceneTree,
    WebSocketMultiplayerPeer,
)
from multiplayer.rooms import JoinedRoom, JoinRequest, Room, RoomInfo, create, join, list_rooms
from tests.rooms.roomkit import Lobby, lobby, until


class Duel(Room):
    max_clients = 3
    filter_by = ("mode",)

    def on_join(self, request: JoinRequest) -> None:
        self.requests = [*getattr(self, "requests", []), request]


async def directory_says(
    served: Lobby, code: str, holds: Callable[[RoomInfo], bool], timeout: float = 5.0
) -> RoomInfo:
    """The directory's entry for ``code`` once ``holds`` (the room's writes are tasks)."""
    deadline = time.monotonic() + timeout
    while True:
        info = await served.server.directory.get(code)
        if holds(info):
            return info
        assert time.monotonic() < deadline, f"the directory still has {info}"
        await asyncio.sleep(0.002)


async def directory_forgets(served: Lobby, code: str, timeout: float) -> None:
    """Wait until the directory has no room ``code`` (its removal is a task)."""
    with pytest.raises(RoomNotFound):
        await directory_says(served, code, lambda info: False, timeout)


async def duel(served: Lobby, **options: str) -> tuple[Duel, JoinedRoom]:
    """A duel room created by a client (with ``options``), as the server has it."""
    served.server.define("duel", Duel)
    joined = await create(served.peer(), served.url, "duel", options)
    room = served.server.rooms[joined.code]
    assert isinstance(room, Duel)
    return room, joined


def polled(peer: WebSocketMultiplayerPeer) -> ConnectionStatus:
    """The peer's status after a poll."""
    peer.poll()
    return peer.get_connection_status()


# A room as its class makes it.


def test_the_class_settings_and_hooks_default_to_nothing_special() -> None:
    room = Room()
    assert (Room.max_clients, Room.dispose_delay, Room.filter_by) == (0, 0.0, ())
    request = JoinRequest("K3M9QZ", {}, "127.0.0.1", {}, True)
    for result in (
        room.on_create({}),
        room.on_join(request),
        room.on_joined(2),
        room.on_leave(2),
        room.on_dispose(),
        room.on_shutdown(),  # (disposes the room: here, in no server, nothing to do)
    ):
        assert result is None
    assert repr(room) == "<Room (not created)>"


@pytest.mark.parametrize(
    "change",
    [
        Room.lock,
        Room.unlock,
        lambda room: setattr(room, "private", True),
        lambda room: setattr(room, "metadata", {"map": "dust"}),
    ],
    ids=["lock", "unlock", "private", "metadata"],
)
def test_a_room_in_no_server_cannot_change(change: Callable[[Room], None]) -> None:
    """A room made by hand, not by a RoomServer: what it would tell the directory
    has nowhere to go, and it says so (InvalidState, not an AttributeError)."""
    room = Room()
    with pytest.raises(InvalidState, match="room server"):
        change(room)


def test_what_a_room_is_cannot_be_read_before_a_server_creates_it() -> None:
    """A subclass's __init__ (or a test) reading ``room.code`` too early gets the
    library's InvalidState, as the changes above do, not an AttributeError about a
    private attribute it never heard of."""
    room = Room()
    wrong = {}
    for name in (
        "code",
        "room_type",
        "options",
        "tree",
        "multiplayer",
        "peer",
        "clients",
        "locked",
        "private",
        "metadata",
    ):
        try:
            getattr(room, name)
        except InvalidState:
            continue
        except Exception as exc:
            wrong[name] = repr(exc)
        else:
            wrong[name] = "no error"
    assert wrong == {}


def test_dispose_of_a_room_in_no_server_does_nothing() -> None:
    Room().dispose()


# A room as the server makes it.


async def test_what_a_created_room_is() -> None:
    async with lobby() as served:
        room, joined = await duel(served, mode="duel", name="Ann")
        assert (room.code, room.room_type) == (joined.code, "duel")
        assert repr(room) == f"<Duel {joined.code}>"
        assert dict(room.options) == {"mode": "duel", "name": "Ann"}
        with pytest.raises(TypeError):
            room.options["mode"] = "solo"  # type: ignore[index]
        assert isinstance(room.tree, SceneTree)
        assert isinstance(room.multiplayer, SceneMultiplayer)
        assert room.multiplayer is room.tree.get_multiplayer()
        assert room.multiplayer.multiplayer_peer is room.peer
        assert room.peer.get_unique_id() == 1 and room.peer.is_server()
        assert room.clients == [joined.peer_id] == [2]
        assert (room.disposed, room.locked, room.private) == (False, False, False)
        assert dict(room.metadata) == {"mode": "duel"}  # (its type filters by mode)


async def test_each_room_is_its_own_session() -> None:
    """Two rooms: two trees, two APIs, two server peers, ids from 2 in each."""
    async with lobby() as served:
        first, joined_first = await duel(served)
        joined_second = await create(served.peer(), served.url, "duel")
        second = served.server.rooms[joined_second.code]
        assert first is not second
        assert first.tree is not second.tree and first.peer is not second.peer
        assert first.multiplayer is not second.multiplayer
        assert joined_first.peer_id == joined_second.peer_id == 2


async def test_clients_are_the_players_in_the_room() -> None:
    async with lobby() as served:
        room, joined = await duel(served)
        second = served.peer()
        await join(second, served.url, joined.code)
        await until(lambda: room.clients == [2, 3])
        second.close()
        await until(lambda: room.clients == [2])


async def test_on_join_is_given_the_request() -> None:
    """The code, the URL's options, the player's address, the handshake's headers
    (names in lower case), and whether the room was created for this player."""
    async with lobby() as served:
        room, joined = await duel(served, name="Ann")
        peer = served.peer(handshake_headers={"X-Token": "secret"})
        await join(peer, served.url, joined.code.lower(), {"name": "Bob"})
        creator, joiner = room.requests
        assert (creator.code, dict(creator.options), creator.created) == (
            joined.code,
            {"name": "Ann"},
            True,
        )
        assert (joiner.code, dict(joiner.options), joiner.created) == (
            joined.code,
            {"name": "Bob"},
            False,
        )
        assert joiner.address == "127.0.0.1"
        assert joiner.headers["x-token"] == "secret"
        assert all(name == name.lower() for name in joiner.headers)


# What a room changes in the directory.


async def test_lock_and_unlock() -> None:
    """A locked room is locked in the directory: joins fail with RoomLocked, and
    the listing shows it locked; unlocked, it takes players again."""
    async with lobby() as served:
        room, joined = await duel(served)
        room.lock()
        assert room.locked
        await directory_says(served, joined.code, lambda info: info.locked)
        with pytest.raises(RoomLocked):
            await join(served.peer(), served.url, joined.code)
        assert [info.locked for info in await list_rooms(served.url)] == [True]
        room.unlock()
        assert not room.locked
        await directory_says(served, joined.code, lambda info: not info.locked)
        await join(served.peer(), served.url, joined.code)
        await until(lambda: len(room.clients) == 2)


async def test_a_private_room_is_not_listed_but_can_be_joined_by_code() -> None:
    async with lobby() as served:
        room, joined = await duel(served)
        assert [info.code for info in await list_rooms(served.url)] == [joined.code]
        room.private = 1  # type: ignore[assignment]  # (any truthy value: made a bool)
        assert room.private is True
        await directory_says(served, joined.code, lambda info: info.private)
        assert await list_rooms(served.url) == []
        await join(served.peer(), served.url, joined.code)
        room.private = False
        await directory_says(served, joined.code, lambda info: not info.private)
        assert [info.code for info in await list_rooms(served.url)] == [joined.code]


async def test_a_room_created_private_is_private() -> None:
    async with lobby() as served:
        room, joined = await duel(served, private="1")
        assert room.private
        assert (await served.server.directory.get(joined.code)).private
        assert await list_rooms(served.url) == []


async def test_metadata_is_a_copy_that_the_listing_shows() -> None:
    async with lobby() as served:
        room, joined = await duel(served, mode="duel")
        given = {"map": "dust", "round": 2}
        room.metadata = given
        given["map"] = "changed after"
        # (what filter_by matches it by stays: join_or_create still finds it)
        shown = {"map": "dust", "round": 2, "mode": "duel"}
        assert room.metadata == shown
        assert isinstance(room.metadata, MappingProxyType)
        info = await directory_says(served, joined.code, lambda info: "map" in info.metadata)
        assert dict(info.metadata) == shown
        (listed,) = await list_rooms(served.url)
        assert dict(listed.metadata) == shown
        room.metadata = {"mode": "solo"}  # (a filter is not changed so either)
        assert room.metadata == {"mode": "duel"}


# Disposing.


async def test_dispose_ends_the_room_and_closes_its_players() -> None:
    async with lobby() as served:
        room, joined = await duel(served)
        player = served.peers[0]
        room.dispose()
        assert room.disposed
        await until(lambda: joined.code not in served.server.rooms)
        await directory_forgets(served, joined.code, timeout=1)
        await until(lambda: polled(player) is DISCONNECTED)
        with pytest.raises(RoomNotFound):
            await join(served.peer(), served.url, joined.code)


class Fragile(Node):
    """A node whose teardown fails (a bug in the game's _exit_tree)."""

    def _exit_tree(self) -> None:
        raise ValueError("broken _exit_tree")


class FragileRoom(Room):
    def on_create(self, options: Mapping[str, str]) -> None:
        self.tree.root.add_child(Fragile("Fragile"))


async def test_dispose_ends_the_room_even_if_its_scene_fails_to_free(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A game's error while its scene is freed is logged: its players are still
    closed and the room still leaves the directory (else the seat is taken for good
    and the player hangs on in a room that is gone)."""
    async with lobby() as served:
        served.server.define("fragile", FragileRoom)
        player = served.peer()
        joined = await create(player, served.url, "fragile")
        served.server.rooms[joined.code].dispose()
        await until(lambda: polled(player) is DISCONNECTED, timeout=3)
        await directory_forgets(served, joined.code, timeout=3)
        assert any(r.exc_info for r in caplog.records)
        caplog.clear()  # (the game's error, logged as it must be)


async def test_a_disposed_room_changes_nothing_any_more() -> None:
    """Changes after the end are ignored, not written for a room that is gone."""
    async with lobby() as served:
        room, joined = await duel(served)
        room.dispose()
        room.lock()
        room.private = True
        room.metadata = {"late": True}
        assert (room.locked, room.private, dict(room.metadata)) == (False, False, {})
        room.dispose()  # (twice: nothing more)
        await until(lambda: joined.code not in served.server.rooms)


async def test_on_shutdown_disposes_the_room_by_default() -> None:
    async with lobby() as served:
        room, _ = await duel(served)
        assert room.on_shutdown() is None
        assert room.disposed


DISCONNECTED = ConnectionStatus.DISCONNECTED
