"""The server side of the benchmarks, run as its own process.

    python bench/serve.py KIND

KIND is ``ours`` (a SceneTree with WebSocketMultiplayerPeer), ``raw`` (plain
``websockets``) or ``socketio`` (python-socketio on aiohttp). Each listens on a free
port on 127.0.0.1, prints ``port N`` on its first line, and serves until killed:

* a call ``ping(n)`` is answered with ``pong(n)`` to the caller (an RPC back, an
  echo, or socket.io's acknowledgement);
* ``count(n)`` calls are counted; ``count(-1)`` asks for ``done(total)``;
* ``blast(m)`` makes the server broadcast ``tick(i)`` ``m`` times to every client.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from multiplayer import Node, SceneTree, WebSocketMultiplayerPeer, rpc


class Bench(Node):
    """The same node on the benchmark's server and clients."""

    def __init__(self) -> None:
        super().__init__("Bench")
        self.counted = 0
        self.pongs: list[int] = []
        self.done_total: int | None = None
        self.ticks = 0

    @rpc("any_peer")
    def ping(self, n: int) -> None:
        self.pong.rpc_id(self.multiplayer.get_remote_sender_id(), n)

    @rpc
    def pong(self, n: int) -> None:
        self.pongs.append(n)

    @rpc("any_peer")
    def count(self, n: int) -> None:
        if n < 0:
            self.done.rpc_id(self.multiplayer.get_remote_sender_id(), self.counted)
            self.counted = 0
        else:
            self.counted += 1

    @rpc
    def done(self, total: int) -> None:
        self.done_total = total

    @rpc("any_peer")
    def blast(self, m: int) -> None:
        for i in range(m):
            self.tick.rpc(i)

    @rpc
    def tick(self, n: int) -> None:
        self.ticks += 1


async def serve_ours() -> None:
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer()
    await peer.create_server(0, "127.0.0.1")
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    api.rate_limits.packets_per_second = 0  # a benchmark floods on purpose
    api.rate_limits.bytes_per_second = 0
    api.ping_interval = 0
    tree.root.add_child(Bench())
    print(f"port {peer.get_local_port()}", flush=True)
    await tree.run(fps=60, event_driven=True)


async def serve_raw() -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        counted = 0
        clients.add(ws)
        async for message in ws:
            if message[:1] == b"p":  # ping: echo
                await ws.send(message)
            elif message[:1] == b"b":  # blast: broadcast m ticks to everyone
                for i in range(int(message[1:])):
                    broadcast(clients, b"t" + i.to_bytes(4, "little"))
            elif message == b"c-1":
                await ws.send(b"d" + str(counted).encode())
                counted = 0
            else:
                counted += 1

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Future()


async def serve_socketio() -> None:
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp")
    counts: dict[str, int] = {}

    @sio.event  # type: ignore[misc]
    async def ping(sid: str, n: int) -> int:
        return n

    @sio.event  # type: ignore[misc]
    async def count(sid: str, n: int) -> None:
        if n < 0:
            await sio.emit("done", counts.pop(sid, 0), to=sid)
        else:
            counts[sid] = counts.get(sid, 0) + 1

    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server: Any = site._server
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    kinds = {"ours": serve_ours, "raw": serve_raw, "socketio": serve_socketio}
    asyncio.run(kinds[sys.argv[1]]())
