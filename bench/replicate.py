"""The ``sync`` benchmark: a server replicating moving objects to many clients.

The server (``serve.py sync-always`` / ``sync-onchange``, a process of its own)
runs at 60 frames a second and holds 100 objects, each with a ``Vector2`` and an
``int`` that change every frame, spawned with a ``MultiplayerSpawner`` and
replicated by a ``MultiplayerSynchronizer`` every 1/20 s, either as ALWAYS or as
ON_CHANGE properties. 100 clients connect; what is measured:

* the server's CPU share: the CPU time its process used over the measuring window,
  divided by the window (1.0 = one core busy);
* bytes per second per client: what the clients received on the wire (WebSocket
  payload and frame headers), against what the data calls for (a SYNC packet of
  every object, ``hz`` times a second);
* the rate: how many updates of each object a full client applied per second (a
  server short of CPU replicates less often than asked).

A few of the clients are full ones (a SceneTree and WebSocketMultiplayerPeer) that
check that the state arrives and applies; the rest speak just enough of the
protocol (the HELLO greeting, docs/protocol.md) to be admitted, and count bytes:
100 full scene trees in one process would measure the bench, not the server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from served import Served, served
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from multiplayer import (
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    ReplicationMode,
    SceneReplicationConfig,
    SceneTree,
    Vector2,
    WebSocketMultiplayerPeer,
)
from multiplayer.transport.framing.native import Hello

OBJECTS = 100
SERVER_FPS = 60.0
HZ = 20.0
MODES = {"always": ReplicationMode.ALWAYS, "onchange": ReplicationMode.ON_CHANGE}
LABELS = {"always": "ALWAYS", "onchange": "ON_CHANGE"}


# The scene, the same on the server and on the full clients.


class Mover(Node):
    """An object whose position and step count change every frame on the server."""

    MODE = ReplicationMode.ALWAYS

    def __init__(self) -> None:
        super().__init__("Mover")
        self.position = Vector2()
        self.steps = 0
        self.driven = False  # on the server: it moves
        config = SceneReplicationConfig()
        for prop in (".:position", ".:steps"):
            config.add_property(prop)
            config.property_set_replication_mode(prop, self.MODE)
        self.sync = MultiplayerSynchronizer("Sync", replication_config=config)
        self.add_child(self.sync)

    def _process(self, delta: float) -> None:
        if self.driven:
            self.steps += 1
            # halves and quarters are exact in f32, so a Vector2 travels in 8 bytes
            self.position = Vector2(self.steps * 0.5, self.steps * -0.25)


class OnChangeMover(Mover):
    MODE = ReplicationMode.ON_CHANGE


class Arena(Node):
    def __init__(self) -> None:
        super().__init__("Arena")
        self.movers = Node("Movers")
        self.add_child(self.movers)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Movers")
        self.spawner.add_spawnable_scene(Mover)
        self.spawner.add_spawnable_scene(OnChangeMover)
        self.add_child(self.spawner)

    def get_movers(self) -> list[Mover]:
        return [m for m in self.movers.get_children() if isinstance(m, Mover)]


def server_arena(mode: str, objects: int, hz: float) -> Arena:
    """The server's arena; add it to the tree, then its objects are spawned."""
    arena = Arena()
    kind = Mover if MODES[mode] is ReplicationMode.ALWAYS else OnChangeMover

    def populate() -> None:
        for i in range(objects):
            mover = kind()
            mover.name = f"M{i}"
            mover.driven = True
            mover.steps = 1000  # a u16 from the start: every update has the same size
            mover.sync.replication_interval = 1 / hz
            mover.sync.delta_interval = 1 / hz
            arena.movers.add_child(mover)

    arena.ready.connect(populate, one_shot=True)
    return arena


# The clients.


class FullClient:
    """A SceneTree client: it applies the state, and counts the updates applied."""

    def __init__(self) -> None:
        self.tree = SceneTree()
        self.peer = WebSocketMultiplayerPeer()
        self.arena = Arena()
        self.applied = 0
        self.arena.spawner.spawned.connect(self._on_spawned)

    def _on_spawned(self, node: Node) -> None:
        if isinstance(node, Mover):
            node.sync.synchronized.connect(self._count)
            node.sync.delta_synchronized.connect(self._count)

    def _count(self) -> None:
        self.applied += 1

    async def connect(self, url: str) -> None:
        await self.peer.create_client(url)
        api = self.tree.get_multiplayer()
        api.multiplayer_peer = self.peer
        api.ping_interval = 0
        self.tree.root.add_child(self.arena)

    async def close(self) -> None:
        self.peer.close()
        await self.peer.wait_closed()


def frame_bytes(payload: int) -> int:
    """A server-to-client WebSocket frame: header (unmasked) and payload."""
    return payload + (2 if payload < 126 else 4 if payload < 1 << 16 else 10)


class CountingClient:
    """A client that greets the server (HELLO) and then only counts what it gets."""

    ws: ClientConnection

    def __init__(self) -> None:
        self.received = 0  # bytes on the wire, above TCP
        self.task: asyncio.Task[None] | None = None

    async def connect(self, url: str) -> None:
        self.ws = await connect(url, compression=None, max_size=None)
        await self.ws.send(Hello(0, 1 << 20).serialize())
        Hello.parse(await self.ws.recv())  # our id: we are in
        self.task = asyncio.ensure_future(self._count())

    async def _count(self) -> None:
        try:
            async for message in self.ws:
                self.received += frame_bytes(len(message))
        except ConnectionClosed:
            pass  # the server went first

    async def close(self) -> None:
        await self.ws.close()
        if self.task is not None:
            await self.task


async def pump(clients: list[FullClient], stop: asyncio.Event) -> None:
    """Frames for the full clients, 100 a second."""
    while not stop.is_set():
        for client in clients:
            client.tree.process(0)
        try:
            await asyncio.wait_for(stop.wait(), 0.01)
        except TimeoutError:
            pass


# The measurement.


@dataclass
class Result:
    cpu_share: float  # of one core
    bytes_per_client: float  # per second
    expected: float  # per second, from the data
    rate: float  # updates a full client applied per object per second (the worst one)


def _uint(n: int) -> int:
    """Bytes of a msgpack unsigned integer (the msgpack spec: fixint, uint8/16/32)."""
    return 1 if n < 128 else 2 if n < 256 else 3 if n < 1 << 16 else 5


def _array(n: int) -> int:
    """Bytes of a msgpack array header (fixarray, array16, array32)."""
    return 1 if n < 16 else 3 if n < 1 << 16 else 5


VECTOR2 = 1 + 1 + 8  # fixext 8: its type byte, ext code 1, 2 x f32 (docs/protocol.md 2.7)


def expected_message(mode: str, objects: int, seq: int = 200) -> int:
    """Bytes on the wire of one SYNC of ``objects`` synchronizers, worked out from
    the documents rather than with the library's encoder: docs/protocol.md 2.5
    (``[6, seq, always, delta]``, entries ``[path_id, [values]]`` or ``[path_id,
    [index, value, ...]]``), its 2.7 and the msgpack spec for the values (a Vector2
    of exact halves and quarters: f32; a step count from 1000: a uint16), its 1.3
    (a lone packet is a bare message) and RFC 6455 5.2 (a server's frame header).
    Path ids are the server's, one per synchronizer after the spawner's."""
    steps = _uint(2000)
    entries = 0
    for path_id in range(2, objects + 2):
        if MODES[mode] is ReplicationMode.ALWAYS:
            entries += _array(2) + _uint(path_id) + _array(2) + VECTOR2 + steps
        else:
            entries += _array(2) + _uint(path_id) + _array(4) + 1 + VECTOR2 + 1 + steps
    lists = _array(objects) + entries + _array(0)
    payload = _array(4) + 1 + _uint(seq) + lists
    return frame_bytes(payload)


def expected_rate(mode: str, objects: int, hz: float) -> float:
    """Bytes a second a client needs: one SYNC of every object, ``hz`` times."""
    return expected_message(mode, objects) * hz


async def wait_until(check: Any, what: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


async def measure(mode: str, clients: int, full: int, seconds: float) -> Result:
    args = ["--objects", str(OBJECTS), "--fps", str(SERVER_FPS), "--hz", str(HZ)]
    fulls = [FullClient() for _ in range(full)]
    counting = [CountingClient() for _ in range(clients - full)]
    stop = asyncio.Event()
    pumping = asyncio.ensure_future(pump(fulls, stop))
    try:
        async with served(f"sync-{mode}", *args) as server:
            return await _measure(server, mode, fulls, counting, seconds)
    finally:
        # The server is gone first: a hundred clients leaving at once is not what is
        # measured here.
        stop.set()
        await pumping
        for client in fulls:
            await client.close()
        await asyncio.gather(*(c.close() for c in counting if c.task is not None))


async def _measure(
    server: Served,
    mode: str,
    fulls: list[FullClient],
    counting: list[CountingClient],
    seconds: float,
) -> Result:
    clients = len(fulls) + len(counting)
    for client in fulls:
        await client.connect(server.url)
    for start in range(0, len(counting), 20):  # a few at a time: the listen backlog
        await asyncio.gather(*(c.connect(server.url) for c in counting[start : start + 20]))
    await server.wait_for_peers(clients)
    await wait_until(
        lambda: all(len(c.arena.get_movers()) == OBJECTS for c in fulls),
        "the full clients did not get every object",
    )
    await asyncio.sleep(0.5)  # spawns delivered, state flowing
    bytes_before = [c.received for c in counting]
    applied_before = [c.applied for c in fulls]
    before = await server.stats()
    await asyncio.sleep(seconds)
    after = await server.stats()
    received = [c.received - b for c, b in zip(counting, bytes_before, strict=True)]
    applied = [c.applied - b for c, b in zip(fulls, applied_before, strict=True)]
    window = after.wall - before.wall
    assert after.peers == clients, f"the server has {after.peers} of {clients} peers"
    # Every client is served: the counting ones got about as much as each other...
    mean = sum(received) / len(received)
    assert min(received) > 0.5 * mean, f"some clients got little: {sorted(received)[:5]}"
    # ...and the full ones applied updates of every object, in consistent states
    # (how often is the rate reported: a server short of CPU replicates less often).
    assert min(applied) > 0, f"updates applied: {applied}"
    for client in fulls:
        for mover in client.arena.get_movers():
            assert mover.position == Vector2(mover.steps * 0.5, mover.steps * -0.25)
    return Result(
        cpu_share=(after.cpu - before.cpu) / window,
        bytes_per_client=mean / window,
        expected=expected_rate(mode, OBJECTS, HZ),
        rate=min(applied) / OBJECTS / window,
    )


async def sync(smoke: bool) -> list[dict[str, Any]]:
    """The rows: server CPU share and bytes per client, for ALWAYS and ON_CHANGE."""
    clients, full, seconds = (10, 2, 1.0) if smoke else (100, 5, 5.0)
    rows: list[dict[str, Any]] = []
    for mode in MODES:
        result = await measure(mode, clients, full, seconds)
        label = LABELS[mode]
        rows.append(
            dict(
                benchmark=f"sync {label} server CPU",
                subject="ours",
                value=100 * result.cpu_share,
                unit="% core",
            )
        )
        rows.append(
            dict(
                benchmark=f"sync {label} rate",
                subject="ours",
                value=result.rate,
                unit="Hz",
                ratio=result.rate / HZ,
                target=f"{HZ:g} Hz",
                met=result.rate >= 0.95 * HZ,
            )
        )
        rows.append(
            dict(
                benchmark=f"sync {label} per client",
                subject="ours",
                value=result.bytes_per_client,
                unit="B/s",
                ratio=result.bytes_per_client / result.expected,
            )
        )
        rows.append(
            dict(
                benchmark=f"sync {label} per client",
                subject="expected",
                value=result.expected,
                unit="B/s",
                ratio=1.0,
            )
        )
    return rows
