"""examples/websocket_chat, its people (chat.Person: the program a user runs with
--host or --join) in one process, with Ann's link through a FaultProxy: the link
breaks in the middle of the conversation, and every line arrives exactly once, in
order, at everyone."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from multiplayer import WebSocketMultiplayerPeer
from multiplayer.testing import FaultProxy
from tests.faults.pair import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("server", "Ann", "Bob")
LINES = 30  # each says this many
SAID = re.compile(r"(server|Ann|Bob): ")


def load_chat() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "chat_example", ROOT / "examples" / "websocket_chat" / "chat.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chat = load_chat()


def fast() -> WebSocketMultiplayerPeer:
    """A peer with the fault scenarios' short keepalive and grace."""
    peer = WebSocketMultiplayerPeer()
    for name, value in SETTINGS.items():
        setattr(peer, name, value)
    return peer


class Room:
    """The server's operator, Ann (through ``proxy``) and Bob, and what each was shown."""

    def __init__(self, people: dict[str, chat.Person], proxy: FaultProxy) -> None:
        self.people = people
        self.proxy = proxy
        self.shown: dict[str, list[str]] = {name: [] for name in people}
        for name, person in people.items():
            person.chat.show = self.shown[name].append

    async def until(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not reached in time"
            await self.frame()

    async def frame(self) -> None:
        for person in self.people.values():
            person.tree.process(1 / 60)
        await asyncio.sleep(0.005)

    async def talk(self, first: int, last: int) -> None:
        """Each says lines ``first`` to ``last - 1``, one a frame, as if typed."""
        for number in range(first, last):
            for name, person in self.people.items():
                person.command(f"{name} line {number}")
            await self.frame()

    def said(self, name: str) -> list[str]:
        """The chat lines ``name`` was shown, in order."""
        return [line for line in self.shown[name] if SAID.match(line)]


async def open_room() -> Room:
    server = chat.Person("server")
    peer = fast()
    await peer.create_server(0, "127.0.0.1")
    server.use(peer)
    port = peer.get_local_port()
    proxy = FaultProxy(port)
    await proxy.start()
    people = {"server": server}
    for name, url in (("Ann", proxy.url), ("Bob", f"ws://127.0.0.1:{port}")):
        person = chat.Person(name)
        peer = fast()
        await peer.create_client(url)
        person.use(peer)
        people[name] = person
    room = Room(people, proxy)
    await room.until(lambda: all(len(p.chat.names) == 3 for p in people.values()))
    return room


def ann_saw_the_drop(room: Room) -> bool:
    return (
        "* Ann lost the connection; waiting for them to come back" in room.shown["server"]
        and "connection lost, reconnecting..." in room.shown["Ann"]
    )


@pytest.mark.parametrize("fault", ["cut", "blackhole"])
async def test_every_line_arrives_once_in_order_at_everyone_across_a_broken_link(
    fault: str,
) -> None:
    """Ann's link is cut (or silenced past the keepalive, then back) while all three
    talk: Ann is told she lost the connection and reconnected, the server's operator
    that she is gone for a while and back; nobody leaves; and every participant shows
    the same lines, each once, each speaker's in the order said."""
    room = await open_room()
    try:
        ann_id, bob_id = (room.people[n].tree.get_multiplayer().get_unique_id() for n in NAMES[1:])
        await room.talk(0, 10)
        if fault == "cut":
            room.proxy.cut()
            await room.talk(10, LINES)
        else:
            room.proxy.blackhole()
            await room.talk(10, 20)
            await room.until(lambda: ann_saw_the_drop(room), 5)  # (0.2 + 0.3 s)
            await room.talk(20, 25)
            room.proxy.restore()
            await room.talk(25, LINES)
        # (a line replayed twice would come before the lines said after it: in by now)
        await room.until(lambda: all(len(room.said(name)) >= 3 * LINES for name in NAMES))
        assert room.people["Ann"].tree.get_multiplayer().get_unique_id() == ann_id
        assert sorted(room.people["server"].chat.names) == sorted([1, ann_id, bob_id])
    finally:
        for person in reversed(room.people.values()):
            await person.leave()
        await room.proxy.close()

    heard = room.said("server")
    for name in NAMES:
        assert room.said(name) == heard, name  # the same lines in the same order
        spoken = [line.partition(": ")[2] for line in heard if line.startswith(f"{name}: ")]
        assert spoken == [f"{name} line {n}" for n in range(LINES)], name
    assert (
        room.shown["server"].count("* Ann lost the connection; waiting for them to come back") == 1
    )
    assert room.shown["server"].count("* Ann is back") == 1
    assert room.shown["Ann"].count("connection lost, reconnecting...") == 1
    assert room.shown["Ann"].count("reconnected") == 1
    for name in NAMES:
        assert not [line for line in room.shown[name] if line.endswith(" left")], name
