"""Real Godot 4.6 clients (the web export in headless Chromium) play in the rooms of a
Python room server that speaks the godot profile: a Godot game needs nothing but a URL
to create, join by code, or join_or_create a room, reads a refusal as the close code
and reason of its WebSocketPeer, reads the listing as JSON, and never hears another
room.

The Godot side is tests/godot/projects/room_client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from multiplayer import Node, WebSocketMultiplayerPeer, rpc
from multiplayer.rooms import Room, RoomServer

pytestmark = pytest.mark.timeout(120)

PROJECT = Path(__file__).parent / "projects" / "room_client"


class Main(Node):
    """The room's node, /root/Main as in the Godot project (the same RPC names)."""

    def __init__(self) -> None:
        super().__init__("Main")
        self.hellos: list[tuple[int, str]] = []

    @rpc
    def welcome(self, code: str) -> None:
        pass

    @rpc("any_peer")
    def hello(self, text: str) -> None:
        self.hellos.append((self.multiplayer.get_remote_sender_id(), text))

    @rpc("call_local")
    def announce(self, text: str) -> None:
        pass


class Duel(Room):
    max_clients = 2

    def on_create(self, options: Any) -> None:
        self.main = Main()
        self.tree.root.add_child(self.main)

    def on_joined(self, peer_id: int) -> None:
        self.main.welcome.rpc_id(peer_id, self.code)


@asynccontextmanager
async def room_server() -> AsyncIterator[RoomServer]:
    server = RoomServer(peer_factory=lambda: WebSocketMultiplayerPeer("godot"), fps=120)
    server.define("duel", Duel)
    await server.listen(0, "127.0.0.1")
    task = asyncio.create_task(server.run(handle_signals=False))
    try:
        yield server
    finally:
        await asyncio.wait_for(server.shutdown(timeout=0), 10)
        await asyncio.wait_for(task, 5)


async def until(condition: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_godot_clients_play_in_rooms(browser: Any) -> None:
    async with room_server() as server:
        base = f"ws://127.0.0.1:{server.local_port}"

        def url(path: str) -> list[str]:
            return [f"--url={base}{path}"]

        async with browser.godot(PROJECT, user_args=url("/join_or_create/duel")) as alice:
            await alice.wait_for("TEST: connected")
            code = (await alice.wait_for("TEST: welcome ")).split()[-1]
            room = server.rooms[code]
            assert isinstance(room, Duel)
            # Joined by the code as a player would type it: case does not matter.
            async with browser.godot(PROJECT, user_args=url(f"/join/{code.lower()}")) as bob:
                await bob.wait_for(f"TEST: welcome {code}")
                await until(lambda: len(room.main.hellos) == 2)
                ids = sorted(room.clients)
                assert sorted(sender for sender, _ in room.main.hellos) == ids
                assert all(2 <= peer_id <= 2**31 - 1 for peer_id in ids)  # Godot's ids

                # Typed refusals reach a Godot game as its WebSocketPeer's close code.
                async with browser.godot(PROJECT, user_args=url(f"/join/{code}")) as carol:
                    line = await carol.wait_for("TEST: refused ")
                    assert line == f"TEST: refused 4101 room {code} is full (2 seats)"
                async with browser.godot(PROJECT, user_args=url("/join/ZZZZZZ")) as dave:
                    assert await dave.wait_for("TEST: refused ") == (
                        "TEST: refused 4100 no room ZZZZZZ"
                    )
                assert server.rooms[code].clients == ids  # (the refusals took no seat)

                # Another room hears nothing of this one.
                async with browser.godot(PROJECT, user_args=url("/create/duel")) as erin:
                    other = (await erin.wait_for("TEST: welcome ")).split()[-1]
                    assert other != code
                    room.main.announce.rpc("in the first room")
                    server.rooms[other].main.announce.rpc("in the second room")  # type: ignore[attr-defined]
                    await alice.wait_for("TEST: announce in the first room")
                    await bob.wait_for("TEST: announce in the first room")
                    await erin.wait_for("TEST: announce in the second room")
                    assert not [line for line in erin.lines if "first room" in line]
                    assert not [line for line in alice.lines if "second room" in line]

                    # The listing, read by a Godot lobby.
                    async with browser.godot(PROJECT, user_args=[f"--list={base}/list"]) as lobby:
                        line = await lobby.wait_for("TEST: listing ")
                        listed = sorted(line.removeprefix("TEST: listing ").split(", "))
                        assert listed == sorted([f"{code} duel 2/2", f"{other} duel 1/2"])

                # The room ends: its players are told, with 1001 (going away).
                room.dispose()
                await alice.wait_for("TEST: server_disconnected 1001")
                await bob.wait_for("TEST: server_disconnected 1001")
                for godot in (alice, bob):
                    assert godot.errors() == []
