# examples/rooms/first_room.py: a room server and four players, in one process
"""Rooms: one server, many sessions, joined by code.

A room server hosts rooms of the type "chat" (two seats each). Ann creates a room and
reads its code; Bob joins it by that code, typed as a person types it; Cid asks for it
too and is refused (it is full), so he calls join_or_create, which opens a second
room, where Dee lands. Each room is a session of its own: ids start at 2 in each, and
what is said in one is never heard in the other. Then the server shuts down.

    python examples/rooms/first_room.py
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from multiplayer import JoinRefused, Node, RoomFull, SceneTree, WebSocketMultiplayerPeer, rooms, rpc


class Chat(Node):
    """The same node in the room (on its server) and on each of its players."""

    def __init__(self, name: str) -> None:
        super().__init__("Chat")
        self.player = name
        self.heard: list[str] = []

    @rpc("any_peer")
    def speak(self, text: str) -> None:
        """A player speaks; the room's server tells everyone in the room."""
        sender = self.multiplayer.get_remote_sender_id()
        self.hear.rpc(f"{sender} says {text!r}")

    @rpc
    def hear(self, line: str) -> None:
        self.heard.append(line)
        print(f"{self.player:>5} hears: {line}")


class ChatRoom(rooms.Room):
    max_clients = 2

    def on_create(self, options: Mapping[str, str]) -> None:
        self.tree.root.add_child(Chat(f"[{self.code}]"))

    def on_join(self, request: rooms.JoinRequest) -> None:
        if not request.options.get("name"):
            raise JoinRefused("tell us your name (?name=...)")

    def on_joined(self, peer_id: int) -> None:
        print(f"room {self.code}: peer {peer_id} is in ({len(self.clients)} of 2)")


class Player:
    """A player: a tree with the Chat node, whose peer joins a room."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tree = SceneTree()
        self.chat = Chat(name)
        self.tree.root.add_child(self.chat)
        self.peer = WebSocketMultiplayerPeer()
        self.running: asyncio.Task[None] | None = None

    async def play(self, joined: rooms.JoinedRoom) -> None:
        """Run the tree with the joined peer, until its first frame has seen the server."""
        print(f"{self.name:>5} is peer {joined.peer_id} in room {joined.code}")
        api = self.tree.get_multiplayer()
        connected = asyncio.Event()
        api.connected_to_server.connect(connected.set)
        api.multiplayer_peer = self.peer
        self.running = asyncio.create_task(self.tree.run(handle_signals=False))
        await connected.wait()


async def main() -> None:
    server = rooms.RoomServer()
    server.define("chat", ChatRoom)
    await server.listen(0, "127.0.0.1")
    serving = asyncio.create_task(server.run())
    url = f"ws://127.0.0.1:{server.local_port}"

    ann, bob, cid, dee = (Player(name) for name in ("Ann", "Bob", "Cid", "Dee"))
    joined = await rooms.create(ann.peer, url, "chat", {"name": "Ann"})
    await ann.play(joined)
    typed = joined.code.lower()[:3] + "-" + joined.code.lower()[3:]  # as Ann read it out
    await bob.play(await rooms.join(bob.peer, url, typed, {"name": "Bob"}))
    try:
        await rooms.join(cid.peer, url, joined.code, {"name": "Cid"})
    except RoomFull as refusal:
        print(f"  Cid was refused: {refusal}")
    await cid.play(await rooms.join_or_create(cid.peer, url, "chat", {"name": "Cid"}))
    await dee.play(await rooms.join_or_create(dee.peer, url, "chat", {"name": "Dee"}))
    print("public rooms:", [(r.code, r.taken) for r in await rooms.list_rooms(url)])

    ann.chat.speak.rpc_id(1, "hello from the first room")
    cid.chat.speak.rpc_id(1, "hello from the second room")
    while not all(player.chat.heard for player in (ann, bob, cid, dee)):
        await asyncio.sleep(0.01)

    await server.shutdown()  # every room is told, then its players: 1001, going away
    await serving
    for player in (ann, bob, cid, dee):
        player.tree.quit()
        if player.running is not None:
            await player.running
        player.peer.close()
    print("the server has shut down")


if __name__ == "__main__":
    asyncio.run(main())
