# examples/websocket_chat/chat.py: chat rooms with names, whispers and announcements
"""Chat over WebSocket with RPCs.

    python examples/websocket_chat/chat.py                     # a scripted demo in one process
    python examples/websocket_chat/chat.py --host --port 8081  # a server
    python examples/websocket_chat/chat.py --join ws://localhost:8081 --name Ann

Type a line to say it to everyone, ``/w ID text`` to whisper to one peer (it goes
through the server, which stamps your id on it), ``/who`` for the list, ``/ping ID``
for the round trip to a peer, ``/roll`` to ask the server for a dice roll (an RPC
that returns a value). As in Godot's demo, you can ``/leave`` and then ``/host PORT``
or ``/join URL`` again; ``/quit`` (or the end of input, or Ctrl-C) ends the program.
The server's operator types too: what they say comes from "server".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
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

    def in_room(self) -> bool:
        """Connected, and welcomed by the server (which is in its own room)."""
        return self.multiplayer.get_unique_id() in self.names

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

    @rpc("any_peer", "call_local", "reliable")  # (call_local: the server's operator says too)
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

    def command(self, line: str) -> None:
        """Handle one typed line, in the room."""
        if line == "/who":
            self.show("here: " + ", ".join(f"{n} ({i})" for i, n in sorted(self.names.items())))
        elif line.startswith("/w "):
            _, target, *words = [*line.split(" ", 2), ""]
            if self.other_peer(target):
                self.whisper.rpc_id(int(target), " ".join(words).strip())
        elif line.startswith("/ping "):
            target = line.split()[1]
            if self.other_peer(target):
                self.spawn(self._ping(int(target)))
        elif line == "/roll":
            if self.multiplayer.is_server():
                self.show("the server rolls for the others: /roll is for its clients")
            else:
                self.spawn(self._roll())
        elif line:
            self.say.rpc_id(1, line)

    def other_peer(self, target: str) -> bool:
        """Whether ``target`` is the id of someone else here; if not, say why."""
        if not target.isdigit() or int(target) not in self.names:
            self.show(f"no peer {target}; try /who")
        elif int(target) == self.multiplayer.get_unique_id():
            self.show(f"{target} is you; try /who")
        else:
            return True
        return False

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
    try:
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
    finally:  # the end of the script, or Ctrl-C: everyone leaves cleanly
        for peer in peers:
            peer.close()
        for peer in peers:
            await peer.wait_closed()
    print("chat demo done", flush=True)


class Person:
    """Someone at a keyboard: hosts or joins a room, and may leave it and host or
    join again, as in Godot's demo."""

    def __init__(self, name: str) -> None:
        self.tree = SceneTree()
        self.chat = Chat(printer(name))
        self.tree.root.add_child(self.chat)
        self.peer: WebSocketMultiplayerPeer | None = None
        self.failed = False  # what the command line asked for failed: exit status 1
        self.was_in_a_room = False
        api = self.tree.get_multiplayer()
        api.connected_to_server.connect(self._on_connected)
        api.connection_failed.connect(self._on_connection_failed)
        api.server_disconnected.connect(self._on_server_left)
        # A link lost without a goodbye (Wi-Fi, a phone changing networks) is resumed:
        # the client reconnects by itself, the server keeps its place meanwhile, and
        # every line said either way arrives once, in order. Each side says so.
        api.connection_lost.connect(lambda: self.chat.show("connection lost, reconnecting..."))
        api.reconnected.connect(lambda: self.chat.show("reconnected"))
        api.peer_dropped.connect(self._on_peer_dropped)
        api.peer_resumed.connect(self._on_peer_resumed)
        self.name = name

    async def run(self, host_port: int | None, join_url: str | None) -> None:
        """Host or join, then read what is typed until /quit."""
        try:
            if host_port is not None:
                await self.host(host_port)
            elif join_url is not None:
                await self.join(join_url)
            if self.peer is None:  # (it said why)
                self.failed = True
                return
            if not Keyboard(self.command).start():
                self.chat.show("nothing can be typed here (stdin cannot be read): watching")
            await self.tree.run(event_driven=True)  # messages are relayed as soon as they come
        finally:  # /quit, the end of input, or Ctrl-C: the others see us leave
            await self.leave()

    def command(self, line: str | None) -> None:
        """One typed line (None: the end of input)."""
        if line is None or line == "/quit":
            self.tree.quit()
        elif line == "/leave":
            self.chat.spawn(self.leave())
        elif line.startswith("/host"):
            port = line.removeprefix("/host").strip()
            self.chat.spawn(self.host(int(port) if port.isdigit() else 8081))
        elif line.startswith("/join "):
            self.chat.spawn(self.join(line.split()[1]))
        elif self.chat.in_room():
            self.chat.command(line)
        elif self.peer is not None:
            self.chat.show("not in the room yet: wait for the welcome")
        elif line:
            self.chat.show("not in a room: /host PORT, /join URL or /quit")

    async def host(self, port: int) -> None:
        await self.leave()
        peer = WebSocketMultiplayerPeer()
        try:
            await peer.create_server(port)
        except OSError as exc:
            self.chat.show(f"cannot host on port {port}: {exc.strerror}")
            return
        self.use(peer)
        self.chat.show(f"chat server on port {peer.get_local_port()}")

    async def join(self, url: str) -> None:
        await self.leave()
        peer = WebSocketMultiplayerPeer()
        try:
            await peer.create_client(url)
        except ValueError as exc:  # not a ws:// or wss:// URL
            self.chat.show(f"cannot join {url}: {exc}")
            return
        self.use(peer)

    def use(self, peer: WebSocketMultiplayerPeer) -> None:
        self.peer = peer
        self.chat.names = {1: "server"}  # a new room
        self.tree.get_multiplayer().multiplayer_peer = peer

    async def leave(self) -> None:
        """Close the link(s): the others get a close frame and see us leave."""
        peer, self.peer = self.peer, None
        if peer is not None:
            self.tree.get_multiplayer().multiplayer_peer = None  # (this closes it)
            await peer.wait_closed()

    def _on_connected(self) -> None:
        self.was_in_a_room = True
        self.chat.register.rpc_id(1, self.name)

    def _on_connection_failed(self) -> None:
        if self.peer is not None:
            self.chat.show(f"could not connect: {self.peer.connection_error}")
        self.peer = None
        if not self.was_in_a_room:  # the --join of the command line: the program fails
            self.failed = True
            self.tree.quit()

    def _on_server_left(self) -> None:
        self.peer = None
        self.chat.show("the server left: /host PORT, /join URL or /quit")

    def _on_peer_dropped(self, peer_id: int) -> None:
        if self.tree.get_multiplayer().is_server():
            name = self.chat.names.get(peer_id, peer_id)
            self.chat.show(f"* {name} lost the connection; waiting for them to come back")

    def _on_peer_resumed(self, peer_id: int) -> None:
        if self.tree.get_multiplayer().is_server():
            self.chat.show(f"* {self.chat.names.get(peer_id, peer_id)} is back")


class Keyboard:
    """The lines typed on stdin, handed to ``on_line`` as they come (the frames go on
    meanwhile); ``None`` at the end of input."""

    def __init__(self, on_line: Callable[[str | None], None]) -> None:
        self.on_line = on_line
        self.unfinished = b""

    def start(self) -> bool:
        """Watch stdin; False if it cannot be (from /dev/null, say: nobody types)."""
        try:
            asyncio.get_running_loop().add_reader(sys.stdin.fileno(), self._read)
        except (OSError, ValueError):
            return False
        return True

    def _read(self) -> None:
        data = os.read(sys.stdin.fileno(), 4096)  # what is there (a line may come in parts)
        if not data:  # the end of input (Ctrl-D): stop watching, or this would spin
            asyncio.get_running_loop().remove_reader(sys.stdin.fileno())
            self.on_line(None)
            return
        *lines, self.unfinished = (self.unfinished + data).split(b"\n")
        for line in lines:
            self.on_line(line.decode(errors="replace").strip())


async def stoppable(program: Coroutine[Any, Any, None]) -> None:
    """Run ``program`` until it ends, or until Ctrl-C (SIGINT) or SIGTERM cancels it:
    then its ``finally`` blocks close the peers, so that the others get a close frame,
    and the program ends quietly (no traceback, exit status 0)."""
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    try:
        await program
    except asyncio.CancelledError:
        print("stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="chat over WebSocket with RPCs")
    parser.add_argument("--host", action="store_true")
    parser.add_argument("--join", metavar="URL")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--name", help="your name (default: guest, or server with --host)")
    args = parser.parse_args()
    if args.host or args.join:
        person = Person(args.name or ("server" if args.host else "guest"))
        asyncio.run(stoppable(person.run(args.port if args.host else None, args.join)))
        sys.exit(1 if person.failed else 0)
    asyncio.run(stoppable(demo()))


if __name__ == "__main__":
    main()
