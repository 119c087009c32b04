"""Tests for :mod:`multiplayer.rooms.disposal`: how rooms end, through a real
RoomServer on 127.0.0.1 and client peers.

What ending a room must get right: it leaves the directory first (no one is sent
to a room that ends, however long its on_dispose takes), its on_dispose is bounded
(DISPOSE_TIMEOUT), its players are let go with 1001 whatever its game's code does
on the way, and the lines about rooms coming and going have a budget."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping

import pytest

from multiplayer import ConnectionStatus, Node, RoomNotFound, WebSocketMultiplayerPeer
from multiplayer.rooms import (
    Room,
    create,
    disposal as disposal_module,
    join,
    join_or_create,
    list_rooms,
)
from multiplayer.rooms.seating import START_WAIT
from tests.rooms.roomkit import Lobby, lobby, until

DISCONNECTED = ConnectionStatus.DISCONNECTED


def closed_with(peer: WebSocketMultiplayerPeer, code: int) -> Callable[[], bool]:
    """A condition: ``peer``'s link to its room was closed with ``code`` (it is
    polled, as its game's frames would). Made while the link is up: a peer forgets
    a link that closed."""
    link = peer.get_peer(1)

    def check() -> bool:
        peer.poll()
        link.poll()
        return peer.get_connection_status() is DISCONNECTED and link.get_close_code() == code

    return check


async def connected(peer: WebSocketMultiplayerPeer) -> WebSocketMultiplayerPeer:
    """``peer`` once polled into its room (a join leaves its first poll to the game)."""

    def check() -> bool:
        peer.poll()
        return peer.get_connection_status() is ConnectionStatus.CONNECTED

    await until(check)
    return peer


async def players_in(
    served: Lobby, room_type: str, count: int
) -> tuple[str, list[WebSocketMultiplayerPeer]]:
    """A room of ``room_type`` created by one player and joined by ``count - 1``,
    each connected."""
    peers = [served.peer() for _ in range(count)]
    code = (await asyncio.wait_for(create(peers[0], served.url, room_type), 5)).code
    for peer in peers[1:]:
        await asyncio.wait_for(join(peer, served.url, code), 5)
    for peer in peers:
        await connected(peer)
    return code, peers


# The directory goes first.


async def test_a_room_leaves_the_directory_before_its_slow_on_dispose() -> None:
    """While a room's on_dispose saves its results (slowly), the room is no longer
    listed, a join by its code gets RoomNotFound at once (not START_WAIT later),
    and a join_or_create lands in a new room at once; its players get 1001 once
    on_dispose returns."""
    saving = asyncio.Event()
    saved = asyncio.Event()

    class Saving(Room):
        async def on_dispose(self) -> None:
            saving.set()
            await saved.wait()

    async with lobby() as served:
        served.server.define("table", Saving, max_clients=4)
        code, (alice,) = await players_in(served, "table", 1)
        let_go = closed_with(alice, 1001)
        served.server.rooms[code].dispose()
        try:
            await asyncio.wait_for(saving.wait(), 5)

            async def unlisted() -> bool:
                return code not in {info.code for info in await list_rooms(served.url)}

            await until(unlisted, timeout=1.0)
            start = time.monotonic()
            with pytest.raises(RoomNotFound):
                await asyncio.wait_for(join(served.peer(), served.url, code), 5)
            other = await asyncio.wait_for(join_or_create(served.peer(), served.url, "table"), 5)
            assert time.monotonic() - start < START_WAIT / 2
            assert other.code != code
            alice.poll()  # (its players are let go after on_dispose, not before)
            assert alice.get_connection_status() is ConnectionStatus.CONNECTED
        finally:
            saved.set()
        await until(let_go)


# on_dispose is bounded.


async def test_an_on_dispose_that_hangs_still_lets_the_players_go(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An on_dispose that never returns: after DISPOSE_TIMEOUT (0.2 s here) its
    players are closed with 1001 all the same, and one warning says why."""
    monkeypatch.setattr(disposal_module, "DISPOSE_TIMEOUT", 0.2)
    never = asyncio.Event()

    class Stuck(Room):
        async def on_dispose(self) -> None:
            await never.wait()

    async with lobby() as served:
        served.server.define("stuck", Stuck, max_clients=2)
        code, players = await players_in(served, "stuck", 2)
        let_go = [closed_with(peer, 1001) for peer in players]
        served.server.rooms[code].dispose()
        for condition in let_go:
            await until(condition, timeout=3.0)
        warnings = [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and "on_dispose" in r.getMessage()
        ]
        assert warnings == [
            f"room {code} (stuck): on_dispose still ran after 0.2 s; its players are let go"
        ]
        assert not served.server.rooms


# A scene that fails to free.


class Fragile(Node):
    """A node whose teardown fails (a bug in the game's _exit_tree)."""

    def _exit_tree(self) -> None:
        raise ValueError("broken _exit_tree")


async def test_a_scene_whose_exit_tree_raises_still_lets_the_players_go(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The game's error while its scene is freed is logged (naming the room); the
    players are still closed with 1001, after on_dispose ran, and the room is gone
    from the server and the directory."""
    events: list[str] = []

    class FragileRoom(Room):
        def on_create(self, options: Mapping[str, str]) -> None:
            self.tree.root.add_child(Fragile("Fragile"))

        def on_dispose(self) -> None:
            events.append("on_dispose")

    async with lobby() as served:
        served.server.define("fragile", FragileRoom, max_clients=2)
        code, players = await players_in(served, "fragile", 2)
        let_go = [closed_with(peer, 1001) for peer in players]
        served.server.rooms[code].dispose()
        for condition in let_go:
            await until(condition, timeout=3.0)
        assert events == ["on_dispose"]
        assert not served.server.rooms and await served.server.directory.listing() == []
        errors = [r.getMessage() for r in caplog.records if r.exc_info]
        assert errors == [f"room {code} (fragile): freeing its scene failed"]
        caplog.clear()  # (the game's error, logged as it must be)


# The lines about rooms have a budget.

ROOM_LINE = re.compile(r"room \w{6} \(many\) (created|disposed)\Z")
SUMMARY = re.compile(r"(\d+) more lines about rooms created and disposed in ")


async def test_the_lines_about_rooms_created_and_disposed_have_a_budget(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rooms come and go at the clients' request: with a budget of 4 lines a
    second, eight rooms created and disposed at once (16 events) do not log 16
    lines; the rest are counted in the summary lines: none is lost, none is
    logged twice."""
    budget = disposal_module.room_lines  # (the server's lines go through it too)
    monkeypatch.setattr(budget, "lines", 4)
    monkeypatch.setattr(budget, "interval", 1.0)
    async with lobby() as served:
        served.server.define("many", Room)
        for _ in range(8):
            code, (peer,) = await players_in(served, "many", 1)
            let_go = closed_with(peer, 1001)
            served.server.rooms[code].dispose()
            await until(let_go)

        def lines() -> int:
            return sum(1 for r in caplog.records if ROOM_LINE.match(r.getMessage()))

        def counted() -> int:
            return sum(
                int(match.group(1))
                for r in caplog.records
                if (match := SUMMARY.match(r.getMessage())) is not None
            )

        assert 4 <= lines() < 16
        await until(lambda: lines() + counted() == 16, timeout=5.0)
