# examples/websocket_chat/chat.py: chat rooms with names, whispers and announcements
"""Chat over WebSocket with RPCs.

    python examples/websocket_chat/chat.py                     # a scripted demo in one process
    python examples/websocket_chat/chat.py --host --port 8081  # a server
    python examples/websocket_chat/chat.py --join ws://localhost:8081 --name Ann

Type a line to say it to everyone, ``/w ID text`` to whisper to one peer (it goes
through the server, which stamps your id on it), ``/who`` for the list, ``/ping ID``
for the round trip to a peer, ``/roll`` to ask the server for a dice roll (an RPC
that returns a value), ``/quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from multiplayer import Node, SceneMultiplayer, SceneTree, WebSocketMultiplayerPeer, rpc


class Chat(Node):
    """The same node on every peer; the server (its authority) owns the names."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__("Chat")
        self.show = show
        self.names: dict[int, str] = {1: "server"}
        self.tasks: set[asyncio.Task[None]] = set()

    def _ready(self) -> None:
        api = self.multiplayer
        api.peer_disconnected.connect(self._on_peer_left)

    def _on_peer_left(self, peer_id: int) -> None:
        if self.multiplayer.is_server() and peer_id in self.names:
            self.left.rpc(peer_id)

    # Client -> server.

    @rpc("any_peer", "reliable")
    def register(self, name: str) -> None:
        if not self.multiplayer.is_server():
            return
        sender = self.multiplayer.get_remote_sender_id()
        name = str(name).strip()[:16] or f"guest{sender}"
        for peer_id, known in self.names.items():  # the newcomer learns who is here
            self.joined.rpc_id(sender, peer_id, known)
        self.joined.rpc(sender, name)

    @rpc("any_peer", "reliable")
    def say(self, text: str) -> None:
        if self.multiplayer.is_server():
            sender = self.multiplayer.get_remote_sender_id()
            self.message.rpc(sender, str(text)[:500])

    # Anyone -> anyone (through the server's relay).

    @rpc("any_peer", "reliable")
    async def roll(self, sides: int) -> int:
        """Answered by the server: awaited with rpc_call, it returns a value."""
        await asyncio.sleep(0)  # a handler may await (a database, another peer...)
        return random.randint(1, max(2, min(sides, 1000)))

    @rpc("any_peer", "reliable")
    def whisper(self, text: str) -> None:
        sender = self.multiplayer.get_remote_sender_id()
        self.show(f"(whisper) {self.names.get(sender, sender)}: {text}")

    # Server -> everyone.

    @rpc("call_local", "reliable")
    def joined(self, peer_id: int, name: str) -> None:
        new = peer_id not in self.names
        self.names[peer_id] = name
        if new:
            self.show(f"* {name} joined (id {peer_id})")

    @rpc("call_local", "reliable")
    def left(self, peer_id: int) -> None:
        name = self.names.pop(peer_id, str(peer_id))
        self.show(f"* {name} left")

    @rpc("call_local", "reliable")
    def message(self, peer_id: int, text: str) -> None:
        self.show(f"{self.names.get(peer_id, peer_id)}: {text}")

    @rpc("call_local", "reliable")
    def announce(self, text: str) -> None:
        self.show(f"[server] {text}")

    # What a person types.

    def command(self, line: str) -> bool:
        """Handle one typed line; False means quit."""
        if line == "/quit":
            return False
        if line == "/who":
            self.show("here: " + ", ".join(f"{n} ({i})" for i, n in sorted(self.names.items())))
        elif line.startswith("/w "):
            _, target, *words = [*line.split(" ", 2), ""]
            if not target.isdigit() or int(target) not in self.names:
                self.show(f"no peer {target}; try /who")
            else:
                self.whisper.rpc_id(int(target), " ".join(words).strip())
        elif line.startswith("/ping "):
            target = line.split()[1]
            if target.isdigit() and int(target) in self.names:
                self.spawn(self._ping(int(target)))
            else:
                self.show(f"no peer {target}; try /who")
        elif line == "/roll":
            self.spawn(self._roll())
        elif line:
            self.say.rpc_id(1, line)
        return True

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a command that awaits an answer; show its error if it fails."""
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self.show(f"failed: {task.exception()}")

        task.add_done_callback(done)

    async def _ping(self, peer_id: int) -> None:
        rtt = await self.multiplayer.ping(peer_id)
        self.show(f"ping {self.names.get(peer_id, peer_id)}: {rtt * 1000:.1f} ms")

    async def _roll(self) -> None:
        value = await self.roll.rpc_call(1, 6)
        self.show(f"the server rolled {value} for you")


def printer(prefix: str) -> Callable[[str], None]:
    return lambda text: print(f"{prefix:>6} | {text}", flush=True)


async def frames(tree: SceneTree, until: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not until():
            tree.process(1 / 60)
            await asyncio.sleep(1 / 60)


async def demo() -> None:
    """A server and three scripted clients in one tree, each in its own branch."""
    tree = SceneTree()
    chats: dict[str, Chat] = {}
    peers = []
    for name in ("server", "Ann", "Bob", "Cy"):
        peer = WebSocketMultiplayerPeer()
        if name == "server":
            await peer.create_server(0, "127.0.0.1")
            url = f"ws://127.0.0.1:{peer.get_local_port()}"
        else:
            await peer.create_client(url)
        branch = Node(name)
        tree.root.add_child(branch)
        api = SceneMultiplayer()
        tree.set_multiplayer(api, branch.get_path())
        api.multiplayer_peer = peer
        # Everyone sees everything; printing only Cy's screen keeps it readable.
        chat = Chat(printer(name) if name in ("server", "Cy") else (lambda _: None))
        branch.add_child(chat)
        if name != "server":
            api.connected_to_server.connect(lambda c=chat, n=name: c.register.rpc_id(1, n))
        chats[name] = chat
        peers.append(peer)

    server, ann, bob, cy = chats.values()
    await frames(tree, lambda: len(cy.names) == 4, 10)
    script: list[tuple[Chat, str]] = [
        (ann, "hello everyone"),
        (bob, "hi Ann!"),
        (ann, f"/w {cy.multiplayer.get_unique_id()} psst, Cy: only you can read this"),
        (cy, "/who"),
        (cy, "/roll"),
        (cy, f"/ping {ann.multiplayer.get_unique_id()}"),
    ]
    for chat, line in script:
        chat.command(line)
        for _ in range(6):  # a few frames between lines, so the output reads in order
            tree.process(1 / 60)
            await asyncio.sleep(0.01)
    server.announce.rpc("the server closes in a moment")
    peers[2].close()  # Bob leaves
    await frames(tree, lambda: 3 not in cy.names, 5)
    for peer in peers:
        peer.close()
    for peer in peers:
        await peer.wait_closed()
    print("chat demo done", flush=True)


async def host(port: int) -> None:
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer()
    await peer.create_server(port)
    tree.get_multiplayer().multiplayer_peer = peer
    tree.root.add_child(Chat(printer("server")))
    print(f"chat server on port {peer.get_local_port()}", flush=True)
    await tree.run(event_driven=True)  # messages are relayed as soon as they arrive


async def join(url: str, name: str) -> None:
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer()
    await peer.create_client(url)
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    chat = Chat(printer(name))
    tree.root.add_child(chat)
    api.connected_to_server.connect(lambda: chat.register.rpc_id(1, name))
    api.connection_failed.connect(lambda: (print(peer.connection_error), tree.quit()))
    api.server_disconnected.connect(tree.quit)

    def on_line() -> None:
        if not chat.command(sys.stdin.readline().strip()):
            tree.quit()

    asyncio.get_running_loop().add_reader(sys.stdin, on_line)
    await tree.run(event_driven=True)
    peer.close()
    await peer.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description="chat over WebSocket with RPCs")
    parser.add_argument("--host", action="store_true")
    parser.add_argument("--join", metavar="URL")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--name", default="guest")
    args = parser.parse_args()
    if args.host:
        asyncio.run(host(args.port))
    elif args.join:
        asyncio.run(join(args.join, args.name))
    else:
        asyncio.run(demo())


if __name__ == "__main__":
    main()
