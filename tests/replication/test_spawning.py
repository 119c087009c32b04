"""SpawnReplicator: what replication keeps about spawned nodes, and where.

Spawning as users see it is tested in test_spawner.py; here, the bookkeeping: it
stays inside the replicator (nodes and spawners carry none of it), callbacks it
connects are disconnected when they are no longer wanted, and counts are derived
from what is spawned now.
"""

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
)
from multiplayer.testing import MemoryNetwork


class Crate(Node):
    def __init__(self) -> None:
        super().__init__("Crate")
        self.add_child(MultiplayerSynchronizer("Sync", replication_config=SceneReplicationConfig()))


class Hold(Node):
    """A spawnable node that holds a spawner of its own (a level holding players)."""

    def __init__(self) -> None:
        super().__init__("Hold")
        self.crates = Node("Crates")
        self.add_child(self.crates)
        self.add_child(MultiplayerSynchronizer("Sync", replication_config=SceneReplicationConfig()))
        spawner = MultiplayerSpawner("CrateSpawner", spawn_path="../Crates")
        spawner.add_spawnable_scene(Crate)
        self.add_child(spawner)


class Dock(Node):
    def __init__(self) -> None:
        super().__init__("Dock")
        self.crates = Node("Crates")
        self.add_child(self.crates)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Crates")
        self.spawner.add_spawnable_scene(Crate)
        self.spawner.add_spawnable_scene(Hold)
        self.spawner.spawn_function = lambda _: Crate()
        self.add_child(self.spawner)


def connected(clients: int = 1) -> tuple[list[SceneTree], list[Dock]]:
    network = MemoryNetwork()
    trees, docks = [], []
    for i in range(clients + 1):
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.ping_interval = 0
        api.multiplayer_peer = network.create_server() if i == 0 else network.create_client()
        dock = Dock()
        tree.root.add_child(dock)
        trees.append(tree)
        docks.append(dock)
    pump(trees)
    return trees, docks


def pump(trees: list[SceneTree]) -> None:
    for _ in range(3):
        for tree in trees:
            tree.process(0)


def spawn_marks(node: Node) -> dict[str, Any]:
    """What a node carries about being spawned (nothing, since the replicator
    keeps it)."""
    return {k: v for k, v in vars(node).items() if "spawn" in k}


def test_nodes_carry_no_spawn_bookkeeping() -> None:
    """Spawning, receiving and despawning leave what nodes carry about spawning as
    it was."""
    trees, docks = connected()
    crate, custom = Crate(), Crate()
    marks = spawn_marks(crate)
    docks[0].crates.add_child(crate)
    custom = docks[0].spawner.spawn("data")
    pump(trees)
    received = docks[1].crates.get_children()
    assert len(received) == 2
    assert spawn_marks(crate) == spawn_marks(custom) == marks
    assert all(spawn_marks(node) == marks for node in received)
    docks[0].crates.remove_child(crate)
    pump(trees)
    assert spawn_marks(crate) == marks


def test_a_spawner_that_leaves_lets_go_of_its_spawn_node() -> None:
    """The callback a spawner's registration connects to its spawn node is
    disconnected when it leaves, and connected again when it comes back."""
    _, docks = connected(clients=0)
    signal = docks[0].crates.child_entered_tree
    count = signal.get_connection_count()
    spawner = docks[0].spawner
    docks[0].remove_child(spawner)
    assert signal.get_connection_count() == count - 1
    docks[0].add_child(spawner)
    assert signal.get_connection_count() == count


def test_a_node_despawned_with_its_spawner_keeps_no_callback() -> None:
    """A node still in the tree when its spawner leaves (so it is despawned) is no
    longer watched: leaving the tree later despawns nothing twice."""
    trees, docks = connected()
    crate = Crate()
    watching = crate.tree_exiting.get_connection_count()
    docks[0].crates.add_child(crate)
    pump(trees)
    assert crate.tree_exiting.get_connection_count() == watching + 1
    docks[0].remove_child(docks[0].spawner)
    pump(trees)
    assert crate.tree_exiting.get_connection_count() == watching
    assert docks[1].crates.get_child_count() == 0


def test_spawn_limit_counts_the_nodes_spawned_now() -> None:
    """A despawned node no longer counts against spawn_limit, here and on receivers."""
    trees, docks = connected()
    for dock in docks:
        dock.spawner.spawn_limit = 1
    first = docks[0].spawner.spawn(None)
    with pytest.raises(InvalidState, match="spawn_limit"):
        docks[0].spawner.spawn(None)
    pump(trees)
    docks[0].crates.remove_child(first)
    pump(trees)
    second = docks[0].spawner.spawn(None)
    pump(trees)
    assert [n.name for n in docks[1].crates.get_children()] == [second.name]


def test_a_node_spawned_on_its_own_travels_with_its_own_spawn() -> None:
    """The synchronizers of a node spawned inside a spawned node are not part of the
    enclosing node's spawn: late joiners get each with its own spawn."""
    trees, docks = connected()
    hold = Hold()
    docks[0].crates.add_child(hold)
    hold.crates.add_child(Crate())
    pump(trees)
    spawns = trees[0].get_multiplayer()._replicator._spawns
    assert spawns.synchronizers_of(hold) == [hold.get_node("Sync")]
    assert docks[1].get_node("Crates/Hold/Crates/Crate") is not None
