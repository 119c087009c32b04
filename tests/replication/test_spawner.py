"""MultiplayerSpawner: spawn, despawn, spawn properties, late join, authority."""

from __future__ import annotations

from typing import Any

import pytest

from multiplayer import (
    InvalidState,
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    SceneReplicationConfig,
    SceneTree,
    rpc,
)
from multiplayer.replication.spawner import CUSTOM_SPAWN
from multiplayer.testing import MemoryNetwork


class Player(Node):
    """A spawnable scene: a node with a synchronizer whose color is a spawn property."""

    def __init__(self) -> None:
        super().__init__("Player")
        self.color = "grey"
        self.color_at_ready: str | None = None
        self.hits: list[int] = []
        config = SceneReplicationConfig()
        config.add_property(".:color")
        self.add_child(MultiplayerSynchronizer("Sync", replication_config=config))

    def _ready(self) -> None:
        self.color_at_ready = self.color

    @rpc
    def hit(self, damage: int) -> None:
        self.hits.append(damage)


class Bomb(Node):
    def __init__(self, power: int) -> None:
        super().__init__("Bomb")
        self.power = power


class World(Node):
    """/root/World with a Players container and a spawner for it, on every peer."""

    def __init__(self) -> None:
        super().__init__("World")
        self.players = Node("Players")
        self.add_child(self.players)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Players")
        self.spawner.add_spawnable_scene(Player)
        self.spawner.spawn_function = lambda power: Bomb(power)
        self.add_child(self.spawner)
        self.events: list[str] = []
        self.spawner.spawned.connect(lambda n: self.events.append(f"spawned {n.name}"))
        self.spawner.despawned.connect(lambda n: self.events.append(f"despawned {n.name}"))


class Net:
    def __init__(self, clients: int = 2) -> None:
        self.network = MemoryNetwork()
        self.trees: list[SceneTree] = []
        self.worlds: list[World] = []
        self.join(server=True)
        for _ in range(clients):
            self.join()

    def join(self, server: bool = False) -> World:
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.ping_interval = 0
        api.multiplayer_peer = (
            self.network.create_server() if server else (self.network.create_client())
        )
        world = World()
        tree.root.add_child(world)
        self.trees.append(tree)
        self.worlds.append(world)
        self.pump()
        return world

    def pump(self, frames: int = 4) -> None:
        for _ in range(frames):
            for tree in self.trees:
                tree.process(0)

    def names(self, i: int) -> list[str]:
        return [n.name for n in self.worlds[i].players.get_children()]


def test_spawn_and_despawn_everywhere() -> None:
    """A spawnable child added by the authority appears on every peer, and goes."""
    net = Net()
    player = Player()
    player.name = "7"
    net.worlds[0].players.add_child(player)
    net.pump()
    assert net.names(1) == ["7"] and net.names(2) == ["7"]
    assert isinstance(net.worlds[1].players.get_node("7"), Player)
    assert net.worlds[1].events == ["spawned 7"]
    assert net.worlds[0].events == []  # spawned/despawned fire on receivers only
    net.worlds[0].players.remove_child(player)
    net.pump()
    assert net.names(1) == [] and net.names(2) == []
    assert net.worlds[2].events == ["spawned 7", "despawned 7"]


def test_spawn_properties_are_set_before_ready() -> None:
    """A synchronizer's spawn properties arrive before the node's _ready runs."""
    net = Net(clients=1)
    player = Player()
    player.color = "red"
    net.worlds[0].players.add_child(player)
    net.pump()
    received = net.worlds[1].players.get_node("Player")
    assert isinstance(received, Player)
    assert received.color_at_ready == "red"


def test_custom_spawn_with_data_and_readable_names() -> None:
    """spawn(data) runs spawn_function(data) on every peer; names are Bomb, Bomb2..."""
    net = Net(clients=1)
    first = net.worlds[0].spawner.spawn(3)
    second = net.worlds[0].spawner.spawn(5)
    assert (first.name, second.name) == ("Bomb", "Bomb2")
    net.pump()
    bombs = net.worlds[1].players.get_children()
    assert [(b.name, b.power) for b in bombs] == [("Bomb", 3), ("Bomb2", 5)]  # type: ignore[attr-defined]


def test_spawn_misuse_raises() -> None:
    """spawn() needs the authority, a spawn_function and room under the limit."""
    net = Net(clients=1)
    with pytest.raises(InvalidState, match="authority"):
        net.worlds[1].spawner.spawn(1)
    spawner = net.worlds[0].spawner
    spawner.spawn_limit = 1
    spawner.spawn(1)
    with pytest.raises(InvalidState, match="spawn_limit"):
        spawner.spawn(2)
    spawner.spawn_function = None
    spawner.spawn_limit = 0
    with pytest.raises(InvalidState, match="spawn_function"):
        spawner.spawn(3)


def test_late_joiner_gets_current_spawns_with_current_state() -> None:
    """A peer joining later receives every spawned node, with current spawn values."""
    net = Net(clients=1)
    player = Player()
    net.worlds[0].players.add_child(player)
    net.worlds[0].spawner.spawn(9)
    player.color = "blue"  # changed after the first spawn
    net.pump()
    late = net.join()
    assert [n.name for n in late.players.get_children()] == ["Player", "Bomb"]
    received = late.players.get_node("Player")
    assert isinstance(received, Player) and received.color_at_ready == "blue"


def test_only_the_authority_spawns(caplog: pytest.LogCaptureFixture) -> None:
    """A client adding a spawnable child spawns nothing; a crafted SPAWN is refused."""
    import msgpack

    net = Net(clients=1)
    net.worlds[1].players.add_child(Player())  # the client is not the authority
    net.pump()
    assert net.names(0) == []
    peer = net.trees[1].get_multiplayer().multiplayer_peer
    assert peer is not None
    peer.set_target_peer(1)
    peer.put_packet(msgpack.packb([1, 1, "World/Spawner"]))
    peer.put_packet(msgpack.packb([4, 1, 1, 0, "Fake", None, [["red"]]]))
    net.pump()
    assert net.names(0) == []
    assert "SPAWN refused: SPAWN from a peer that is not the spawner's authority (2)" in (
        caplog.text
    )


def test_nodes_of_a_leaving_peer_are_freed() -> None:
    """When the authority of a spawner leaves, what it spawned goes on the others."""
    net = Net(clients=2)
    for world in net.worlds:
        world.spawner.set_multiplayer_authority(2)
    net.worlds[1].spawner.spawn(1)
    net.pump()
    assert net.names(0) == ["Bomb"] and net.names(2) == ["Bomb"]
    net.trees[1].get_multiplayer().multiplayer_peer = None
    net.pump()
    assert net.names(0) == [] and net.names(2) == []


def test_rpc_right_after_spawn_arrives_after_it() -> None:
    """An RPC to a node sent right after adding it reaches the spawned copy."""
    net = Net(clients=1)
    player = Player()
    net.worlds[0].players.add_child(player)
    player.hit.rpc(10)
    net.pump()
    received = net.worlds[1].players.get_node("Player")
    assert isinstance(received, Player) and received.hits == [10]


def test_client_owned_synchronizer_spawn_properties_travel() -> None:
    """Spawn properties of a client-owned synchronizer under a server-spawned node are
    sent too (Godot drops them: #85019)."""
    net = Net(clients=1)
    player = Player()
    player.color = "green"
    sync = player.get_node("Sync")
    sync.set_multiplayer_authority(2)
    net.worlds[0].players.add_child(player)
    net.pump()
    received = net.worlds[1].players.get_node("Player")
    assert isinstance(received, Player) and received.color_at_ready == "green"


def test_spawnable_scene_list() -> None:
    """Scenes keep their order; clearing forgets them; instantiate tags the node."""
    spawner = MultiplayerSpawner()
    spawner.add_spawnable_scene(Player)
    spawner.add_spawnable_scene(lambda: Bomb(1))
    assert spawner.get_spawnable_scene_count() == 2
    assert spawner.get_spawnable_scene(0) is Player
    node: Any = spawner.instantiate_scene(1)
    assert isinstance(node, Bomb) and spawner.scene_index_of(node) == 1
    assert spawner.scene_index_of(Player()) == 0
    assert spawner.scene_index_of(Node()) is None
    spawner.clear_spawnable_scenes()
    assert spawner.get_spawnable_scene_count() == 0


def test_spawn_info_says_how_a_node_is_spawned() -> None:
    """A node spawn(data) made goes as a custom spawn with its data; an instance of
    a spawnable scene by its index; anything else is not spawned."""
    net = Net(clients=0)
    spawner = net.worlds[0].spawner
    bomb = spawner.spawn(4)
    assert spawner.spawn_info(bomb) == (CUSTOM_SPAWN, 4)
    assert spawner.spawn_info(Player()) == (0, None)
    assert spawner.spawn_info(Bomb(1)) is None
    assert MultiplayerSpawner().spawn_info(bomb) is None  # another spawner's node


def test_instantiate_custom_checks_what_spawn_function_returns() -> None:
    """No spawn_function, or one that returns no node or a node with a parent: the
    spawner refuses it."""
    spawner = MultiplayerSpawner()
    with pytest.raises(InvalidState, match="no spawn_function"):
        spawner.instantiate_custom(None)
    spawner.spawn_function = lambda data: data
    with pytest.raises(InvalidState, match="not a Node"):
        spawner.instantiate_custom(3)
    parent = Node("Parent")
    child = Node("Child")
    parent.add_child(child)
    with pytest.raises(InvalidState, match="no parent"):
        spawner.instantiate_custom(child)
    assert spawner.instantiate_custom(Node("Free")).name == "Free"
