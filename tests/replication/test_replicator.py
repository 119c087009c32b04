"""SceneReplicator: the entry points the multiplayer API calls, and how they reach
the spawning, sending, receiving and visibility parts."""

from __future__ import annotations

from multiplayer import (
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    ReplicationMode,
    SceneReplicationConfig,
    SceneTree,
)
from multiplayer.peer_sets import PeerSlots
from multiplayer.protocol.format import PacketFormat
from multiplayer.protocol.messages import Sync
from multiplayer.protocol.native.codec import default_codec
from multiplayer.protocol.native.format import NativeFormat
from multiplayer.replication.replicator import PeerStats, SceneReplicator
from multiplayer.testing import MemoryNetwork


class Host:
    """A multiplayer API with no peer, as replication sees it."""

    format: PacketFormat = NativeFormat(default_codec)

    def __init__(self) -> None:
        self.notices: list[tuple[int, str]] = []
        self.slots = PeerSlots()

    def peer_slots(self) -> PeerSlots:
        return self.slots

    def own_id(self) -> int | None:
        return None

    def get_peers(self) -> list[int]:
        return []

    def path_of(self, sender: int, path_id: int) -> str | None:
        return None

    def find_node(self, path: str) -> Node | None:
        return None

    def notice(self, peer_id: int, reason: str) -> None:
        self.notices.append((peer_id, reason))


def test_an_idle_replicator_needs_only_its_host() -> None:
    """Built on a ReplicationHost alone, with nothing to replicate: no frame sends,
    every RPC is visible, and state for unknown synchronizers is noticed, not refused."""
    host = Host()
    replicator = SceneReplicator(host)  # type: ignore[arg-type]
    replicator.on_network_process()
    assert not replicator.active()
    assert replicator.rpc_visible(Node(), 2)
    assert not replicator.hold_rpc(Node(), lambda: None)
    assert replicator.on_sync(2, Sync(1, [[1, []]], []), 10) is None
    assert host.notices == [(2, "SYNC for None, which is no synchronizer here")]
    assert replicator.stats == {2: PeerStats(bytes_received=10, packets_received=1)}
    replicator.on_peer_removed(2)
    assert replicator.stats == {}


class Boat(Node):
    def __init__(self) -> None:
        super().__init__("Boat")
        self.hp = 0
        config = SceneReplicationConfig()
        config.add_property(".:hp")
        config.property_set_replication_mode(".:hp", ReplicationMode.ON_CHANGE)
        self.sync = MultiplayerSynchronizer("Sync", replication_config=config)
        self.add_child(self.sync)


class Harbour(Node):
    """A spawner for boats, and a boat that is part of the scene on every peer."""

    def __init__(self) -> None:
        super().__init__("Harbour")
        self.boats = Node("Boats")
        self.add_child(self.boats)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Boats")
        self.spawner.add_spawnable_scene(Boat)
        self.add_child(self.spawner)
        self.moored = Boat()
        self.moored.name = "Moored"
        self.add_child(self.moored)


def connected(clients: int) -> tuple[list[SceneTree], list[Harbour]]:
    network = MemoryNetwork()
    trees, harbours = [], []
    for i in range(clients + 1):
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.ping_interval = 0
        api.multiplayer_peer = network.create_server() if i == 0 else network.create_client()
        harbour = Harbour()
        tree.root.add_child(harbour)
        trees.append(tree)
        harbours.append(harbour)
    pump(trees)
    return trees, harbours


def pump(trees: list[SceneTree]) -> None:
    for _ in range(3):
        for tree in trees:
            tree.process(0)


def test_rpc_visibility_follows_spawns_and_synchronizers() -> None:
    """A node we spawned: visible to the peers that have it. A node of the scene
    with synchronizers: to the peers that see one of them. Anything else: to all."""
    trees, harbours = connected(clients=2)
    replicator = trees[0].get_multiplayer()._replicator
    boat = Boat()
    harbours[0].boats.add_child(boat)
    boat.sync.public_visibility = False
    boat.sync.set_visibility_for(2, True)
    harbours[0].moored.sync.public_visibility = False
    harbours[0].moored.sync.set_visibility_for(3, True)
    pump(trees)
    assert [replicator.rpc_visible(boat, p) for p in (2, 3)] == [True, False]
    assert [replicator.rpc_visible(harbours[0].moored, p) for p in (2, 3)] == [False, True]
    assert [replicator.rpc_visible(harbours[0], p) for p in (2, 3)] == [True, True]


def test_traffic_is_counted_both_ways_per_peer_until_it_leaves() -> None:
    """One stats record per peer counts what was sent and received; a peer that
    leaves, or a reset, takes its records away."""
    trees, harbours = connected(clients=1)
    harbours[0].moored.hp = 5
    harbours[1].moored.sync.set_multiplayer_authority(2)
    harbours[1].moored.hp = 6
    harbours[0].moored.sync.set_multiplayer_authority(2)
    pump(trees)
    stats = trees[0].get_multiplayer()._replicator.stats[2]
    assert stats.packets_sent > 0 and stats.packets_received > 0
    assert harbours[0].moored.hp == 6
    trees[1].get_multiplayer().multiplayer_peer = None
    pump(trees)
    assert trees[0].get_multiplayer()._replicator.stats == {}
    assert trees[1].get_multiplayer()._replicator.stats == {}
