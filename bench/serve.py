"""The server side of the benchmarks, run as its own process.

    python bench/serve.py KIND

KIND is ``ours`` (a SceneTree with WebSocketMultiplayerPeer; ``ours-norelay`` with
``server_relay`` off), ``raw`` (plain
``websockets``) or ``socketio`` (python-socketio on aiohttp). Each listens on a free
port on 127.0.0.1, prints ``port N`` on its first line, and serves until killed:

* a call ``ping(n)`` is answered with ``pong(n)`` to the caller (an RPC back, an
  echo, or socket.io's acknowledgement);
* ``count(n)`` calls are counted; ``count(-1)`` asks for ``done(total)``;
* ``blast(m)`` makes the server broadcast ``tick(i)`` ``m`` times to every client,
  at once; ``blast_spread(m)`` (``B`` for raw) the same, one per event-loop pass.

``sync-always`` and ``sync-onchange`` are ours too: ``--objects`` synchronized
objects that change every frame (``--fps``) and are replicated ``--hz`` times a
second (``bench/replicate.py``).

``rooms`` is a ``RoomServer`` (``bench/rooms.py``) with two room types, each room a
tree with the same ``Bench`` node and settings as ``ours``: ``room``, of
``--room-size`` seats, and ``one``, of any number.

With ``--stats``, each line read on stdin is answered on stdout with
``stats {json}``: the process's CPU time, its resident memory and the peers it has
admitted, so the bench can measure the server from outside (``bench/served.py``).
A ``gc`` line collects garbage first (for memory readings); ``profile start``
starts a cProfile of the server, and ``profile PATH`` stops it and writes it to
PATH. ``quit``, or stdin closing, makes the server close every connection (1001,
going away) and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import Any

from multiplayer import Node, SceneMultiplayer, SceneTree, WebSocketMultiplayerPeer, rpc
from multiplayer.rooms import Room, RoomServer


class Bench(Node):
    """The same node on the benchmark's server and clients."""

    def __init__(self) -> None:
        super().__init__("Bench")
        self.counted = 0
        self.pongs: list[int] = []
        self.done_total: int | None = None
        self.answered: asyncio.Future[None] | None = None  # resolved by pong and done
        self.ticks = 0

    @rpc("any_peer")
    def ping(self, n: int) -> None:
        self.pong.rpc_id(self.multiplayer.get_remote_sender_id(), n)

    @rpc
    def pong(self, n: int) -> None:
        self.pongs.append(n)
        self._answer()

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
        self._answer()

    def _answer(self) -> None:
        if self.answered is not None and not self.answered.done():
            self.answered.set_result(None)

    @rpc("any_peer")
    def blast(self, m: int) -> None:
        for i in range(m):
            self.tick.rpc(i)

    @rpc("any_peer")
    async def blast_spread(self, m: int) -> None:
        for i in range(m):
            self.tick.rpc(i)
            await asyncio.sleep(0)  # one tick per pass of the event loop

    @rpc
    def tick(self, n: int) -> None:
        self.ticks += 1


class _Hooks:
    """What --stats needs from the server of each kind."""

    peers: Callable[[], int] = staticmethod(lambda: -1)  # admitted peers (-1: not known)
    close: Callable[[], Any] = staticmethod(lambda: None)  # closes every connection
    rooms: Callable[[], int] = staticmethod(lambda: -1)  # rooms alive (-1: not a room server)


def stats_hooks(
    peers: Callable[[], int], close: Callable[[], Any], rooms: Callable[[], int] | None = None
) -> None:
    _Hooks.peers = peers
    _Hooks.close = close
    if rooms is not None:
        _Hooks.rooms = rooms


def bench_settings(api: SceneMultiplayer) -> None:
    """The settings of every server of ours here."""
    api.rate_limits.packets_per_second = 0  # a benchmark floods on purpose
    api.rate_limits.bytes_per_second = 0
    api.rate_limits.cpu_per_second = 0
    api.ping_interval = 0


async def serve_ours(relay: bool = True, protocol: str = "native") -> None:
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer(protocol)
    await peer.create_server(0, "127.0.0.1")
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    bench_settings(api)
    api.server_relay = relay
    tree.root.add_child(Bench())
    stats_hooks(lambda: len(api.get_peers()), peer.close)
    print(f"port {peer.get_local_port()}", flush=True)
    await tree.run(fps=60, event_driven=True)


async def serve_raw() -> None:
    import msgpack
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.exceptions import ConnectionClosed

    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        # (one coroutine: a message's way through it is that of websockets' own echo)
        counted = 0
        unpacker = msgpack.Unpacker()
        clients.add(ws)
        try:
            async for message in ws:
                if message[:1] == b"p":  # ping: echo
                    await ws.send(message)
                elif message[:1] == b"b":  # blast: broadcast m ticks to everyone
                    for i in range(int(message[1:])):
                        broadcast(clients, b"t" + i.to_bytes(4, "little"))
                elif message[:1] == b"B":  # the same, one tick per pass of the event loop
                    for i in range(int(message[1:])):
                        broadcast(clients, b"t" + i.to_bytes(4, "little"))
                        await asyncio.sleep(0)
                elif message[:1] == b"m":  # calls, msgpack-encoded and batched: count each
                    unpacker.feed(memoryview(message)[1:])
                    for _ in unpacker:
                        counted += 1
                elif message == b"c-1":
                    await ws.send(b"d" + str(counted).encode())
                    counted = 0
                else:
                    counted += 1
        except ConnectionClosed:
            pass  # (a client that leaves without a closing handshake: not the bench's)
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        stats_hooks(lambda: len(clients), server.close)
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


async def serve_sync(mode: str, args: argparse.Namespace) -> None:
    from replicate import server_arena

    tree = SceneTree()
    peer = WebSocketMultiplayerPeer()
    if args.max_loop_lag is not None:
        peer.max_loop_lag = args.max_loop_lag
    await peer.create_server(0, "127.0.0.1")
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    api.ping_interval = 0
    tree.root.add_child(server_arena(mode, args.objects, args.hz))
    stats_hooks(lambda: len(api.get_peers()), peer.close)
    print(f"port {peer.get_local_port()}", flush=True)
    await tree.run(fps=args.fps)


class BenchRoom(Room):
    """A room of the ``rooms`` server: what ``ours`` serves, in a room."""

    def on_create(self, options: Mapping[str, str]) -> None:
        bench_settings(self.multiplayer)
        self.tree.root.add_child(Bench())


async def serve_rooms(room_size: int, fps: float) -> None:
    server = RoomServer(fps=fps)  # event-driven, as serve_ours (at 60 frames a second)
    server.define("room", BenchRoom, max_clients=room_size)
    server.define("one", BenchRoom, max_clients=0)
    await server.listen(0, "127.0.0.1")
    closing: list[asyncio.Task[None]] = []  # (a reference, while it runs)
    stats_hooks(
        lambda: sum(len(room.multiplayer.get_peers()) for room in server.rooms.values()),
        lambda: closing.append(asyncio.ensure_future(server.shutdown(timeout=0))),
        lambda: len(server.rooms),
    )
    print(f"port {server.local_port}", flush=True)
    await server.run(handle_signals=False)


def resident_kib() -> int | None:
    """This process's resident memory (VmRSS) in KiB; None where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


async def answer_stats() -> None:
    """Answer each line on stdin with a ``stats`` line; return after ``quit`` or when
    stdin closes, once the connections are closed."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    profiler: cProfile.Profile | None = None
    while (line := await reader.readline()) and line.strip() != b"quit":
        command, _, argument = line.decode().strip().partition(" ")
        if command == "gc":
            gc.collect()
        elif command == "profile" and argument == "start":
            profiler = cProfile.Profile()
            profiler.enable()
        elif command == "profile" and profiler is not None:
            profiler.disable()
            profiler.dump_stats(argument)
            profiler = None
        stats = {
            "cpu": time.process_time(),  # user + system, this process only
            "wall": time.monotonic(),
            "rss_kib": resident_kib(),
            "peers": _Hooks.peers(),
            "rooms": _Hooks.rooms(),
        }
        print("stats " + json.dumps(stats), flush=True)
    # The clients see the server go away, as from a server that shuts down; a kill
    # would have them log "connection lost".
    if _Hooks.peers():  # (0: none to close; -1: it cannot say, so close)
        _Hooks.close()
        await asyncio.sleep(0.5)  # the close frames go out


async def main(server: Coroutine[Any, Any, None], stats: bool) -> None:
    if not stats:
        await server
        return
    tasks = [asyncio.ensure_future(server), asyncio.ensure_future(answer_stats())]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()  # a server that failed says why


if __name__ == "__main__":
    kinds: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, None]]] = {
        "ours": lambda _: serve_ours(),
        "ours-norelay": lambda _: serve_ours(relay=False),
        "ours-godot": lambda _: serve_ours(protocol="godot"),
        "raw": lambda _: serve_raw(),
        "socketio": lambda _: serve_socketio(),
        "sync-always": partial(serve_sync, "always"),
        "sync-onchange": partial(serve_sync, "onchange"),
        "rooms": lambda args: serve_rooms(args.room_size, args.fps),
    }
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=list(kinds))
    parser.add_argument("--stats", action="store_true", help="answer stats requests on stdin")
    parser.add_argument("--objects", type=int, default=100, help="sync: synchronized objects")
    parser.add_argument(
        "--fps", type=float, default=60.0, help="sync, rooms: server frames a second"
    )
    parser.add_argument("--hz", type=float, default=20.0, help="sync: replications a second")
    parser.add_argument(
        "--max-loop-lag", type=float, default=None, help="sync: the peer's max_loop_lag"
    )
    parser.add_argument("--room-size", type=int, default=4, help="rooms: seats of a 'room'")
    args = parser.parse_args()
    asyncio.run(main(kinds[args.kind](args), args.stats))
