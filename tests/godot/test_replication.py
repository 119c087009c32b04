"""Replication with the real Godot 4.6 engine (the web export in headless Chromium), in
the godot profile: MultiplayerSpawner and MultiplayerSynchronizer, both ways.

The Godot side is tests/godot/projects/replication: a spawner of res://player.tscn,
whose synchronizer replicates ``position`` (spawn + ALWAYS) and ``score`` (spawn +
ON_CHANGE); it prints one ``TEST: ...`` line per thing it sees. The Python side
registers its Player under the same path, so both spawners list the same scene.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from multiplayer import (
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    ReplicationMode,
    SceneReplicationConfig,
    SceneTree,
    Vector2,
    WebSocketMultiplayerPeer,
    register_scene,
    rpc,
    unregister_scene,
)
from multiplayer.testing import MemoryNetwork
from tools.webgodot import TunnelBridge

pytestmark = pytest.mark.timeout(120)

PROJECT = Path(__file__).parent / "projects" / "replication"
SCENE = "res://player.tscn"


class Player(Node):
    """player.tscn in Python: a node with position and score, and its synchronizer."""

    def __init__(self) -> None:
        super().__init__("Player")
        self.position = Vector2()
        self.score = 0
        self.at_ready: tuple[Vector2, int] | None = None
        config = SceneReplicationConfig()
        config.add_property(".:position")  # spawn + ALWAYS
        config.add_property(".:score")
        config.property_set_replication_mode(".:score", ReplicationMode.ON_CHANGE)
        self.add_child(MultiplayerSynchronizer("Sync", replication_config=config))

    def _ready(self) -> None:
        self.at_ready = (self.position, self.score)


class Main(Node):
    """main.tscn in Python: Players, the Spawner, and main.gd's RPC names."""

    def __init__(self) -> None:
        super().__init__("Main")
        self.players = Node("Players")
        self.add_child(self.players)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Players")
        self.spawner.add_spawnable_scene(SCENE)
        self.add_child(self.spawner)
        self.greetings: list[str] = []

    @rpc("any_peer")
    def move(self, x: int, y: int, new_score: int) -> None:
        pass

    @rpc
    def hello(self, text: str) -> None:
        self.greetings.append(text)

    def player(self, name: str) -> Player | None:
        node = self.players.get_node_or_null(name)
        return node if isinstance(node, Player) else None


@pytest.fixture(autouse=True)
def player_scene() -> Iterator[None]:
    register_scene(SCENE, Player)
    try:
        yield
    finally:
        unregister_scene(SCENE)


def add_player(main: Main, name: str, position: Vector2, score: int) -> Player:
    player = Player()
    player.name = name
    player.position = position
    player.score = score
    main.players.add_child(player)
    return player


async def until(condition: Any, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(tree: SceneTree) -> AsyncIterator[None]:
    task = asyncio.create_task(tree.run(fps=60))
    try:
        yield
    finally:
        tree.quit()
        await asyncio.wait_for(task, 5)


async def test_godot_clients_see_what_a_python_server_spawns(browser: Any) -> None:
    """(a) Two Godot clients see the Python server's players appear with their spawn
    properties, follow position (ALWAYS) and score (ON_CHANGE), and see them go; a
    late joiner gets the players there are, as they are now."""
    tree, main = SceneTree(), Main()
    tree.root.add_child(main)
    peer = WebSocketMultiplayerPeer(protocol="godot")
    await peer.create_server(0, "127.0.0.1")
    tree.get_multiplayer().multiplayer_peer = peer
    args = [f"--port={peer.get_local_port()}"]
    async with running(tree), browser.godot(PROJECT, user_args=args) as alice:
        async with browser.godot(PROJECT, user_args=args) as bob:
            await alice.wait_for("TEST: connected")
            await bob.wait_for("TEST: connected")
            await until(lambda: len(tree.get_multiplayer().get_peers()) == 2)
            one = add_player(main, "P1", Vector2(10, 20), 1)
            two = add_player(main, "P2", Vector2(30, 40), 2)
            for godot in (alice, bob):
                # spawn properties are set before _ready
                await godot.wait_for("TEST: ready P1 10 20 1")
                await godot.wait_for("TEST: ready P2 30 40 2")
            one.position = Vector2(11, 21)
            two.score = 7
            for godot in (alice, bob):
                await godot.wait_for("TEST: moved P1 11 21")
                await godot.wait_for("TEST: score P2 7")
            async with browser.godot(PROJECT, user_args=args) as carol:
                await carol.wait_for("TEST: ready P1 11 21 1")
                await carol.wait_for("TEST: ready P2 30 40 7")
                main.players.remove_child(one)
                for godot in (alice, bob, carol):
                    await godot.wait_for("TEST: despawned P1")
                two.position = Vector2(31, 41)
                await carol.wait_for("TEST: moved P2 31 41")
                assert carol.errors() == []
            assert alice.errors() == [] and bob.errors() == []
    peer.close()
    await peer.wait_closed()  # (its closing handshakes end before the loop does)


class RecordingBridge(TunnelBridge):
    """A tunnel that keeps every packet the Godot server sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []

    async def _deliver(self, target: int, packet: bytes) -> None:
        self.sent.append(packet)
        await super()._deliver(target, packet)


def first(packets: list[bytes], command: int) -> bytes:
    return next(p for p in packets if p[0] == command)


async def test_a_python_client_follows_a_godot_server(browser: Any) -> None:
    """(b) A Python client of a Godot server: the server's player appears with its spawn
    properties set before _ready, follows the synchronizer, and RPCs go both ways.
    And the SPAWN, the first SYNC and the first delta Godot sent are, byte for byte,
    what a Python server sends for the same scene and values."""
    tree, main = SceneTree(), Main()
    tree.root.add_child(main)
    async with (
        RecordingBridge() as bridge,
        browser.godot(PROJECT, user_args=[bridge.user_arg, "--server"]) as godot,
    ):
        await godot.wait_for("TEST: serving")
        await bridge.wait_tunnel()
        peer = WebSocketMultiplayerPeer(protocol="godot")
        await peer.create_client(bridge.client_url)
        tree.get_multiplayer().multiplayer_peer = peer
        async with running(tree):
            await until(lambda: main.player("Player") is not None)
            player = main.player("Player")
            assert player is not None
            assert player.at_ready == (Vector2(3, 4), 5)
            await until(lambda: main.greetings)
            own_id = tree.get_multiplayer().get_unique_id()
            assert main.greetings == [f"welcome {own_id}"]
            main.rpc_id(1, "move", 7, 8, 9)
            await godot.wait_for(f"TEST: moved_by {own_id} 7 8 9")
            await until(lambda: (player.position, player.score) == (Vector2(7, 8), 9))
        peer.close()
        await peer.wait_closed()  # (its closing handshakes end before the loop does)
        assert godot.errors() == []
    # SPAWN, SYNC (time 1: the first frame), delta (every ON_CHANGE value at first)
    ours = python_server_packets()
    for command in (4, 6, 6 | 0x10):
        assert first(bridge.sent, command) == first(ours, command), hex(command)


def python_server_packets() -> list[bytes]:
    """What a Python server sends its one client when it adds the Godot server's player
    (at (3, 4), score 5) once the client has joined, as main.gd does."""
    network = MemoryNetwork(protocol="godot")
    trees, mains, sent = [], [], []
    server = network.create_server()
    original = server.put_packet
    server.put_packet = lambda data: (sent.append(bytes(data)), original(data))[1]  # type: ignore[method-assign]
    for peer in (server, network.create_client()):
        tree, main = SceneTree(), Main()
        tree.root.add_child(main)
        tree.get_multiplayer().multiplayer_peer = peer
        trees.append(tree)
        mains.append(main)
    for _ in range(3):
        for tree in trees:
            tree.process(0)
    add_player(mains[0], "Player", Vector2(3, 4), 5)
    for _ in range(3):
        for tree in trees:
            tree.process(0)
    assert mains[1].player("Player") is not None
    return sent
