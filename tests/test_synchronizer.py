"""MultiplayerSynchronizer: ALWAYS and ON_CHANGE state, authority, visibility."""

from __future__ import annotations

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
    rpc,
)
from multiplayer.testing import MemoryNetwork


class Ship(Node):
    def __init__(self) -> None:
        super().__init__("Ship")
        self.position = Vector2()
        self.hp = 100
        self.cargo: list[str] = []
        self.pings: list[str] = []
        config = SceneReplicationConfig()
        config.add_property(".:position")  # ALWAYS
        config.add_property(".:hp")
        config.property_set_replication_mode(".:hp", ReplicationMode.ON_CHANGE)
        config.add_property(".:cargo")
        config.property_set_replication_mode(".:cargo", ReplicationMode.ON_CHANGE)
        self.sync = MultiplayerSynchronizer("Sync", replication_config=config)
        self.add_child(self.sync)

    @rpc
    def ping(self, text: str) -> None:
        self.pings.append(text)


class Sea(Node):
    def __init__(self) -> None:
        super().__init__("Sea")
        self.ships = Node("Ships")
        self.add_child(self.ships)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Ships")
        self.spawner.add_spawnable_scene(Ship)
        self.add_child(self.spawner)


class Net:
    def __init__(self, clients: int = 2) -> None:
        self.network = MemoryNetwork()
        self.trees: list[SceneTree] = []
        self.seas: list[Sea] = []
        self.sent: list[list[bytes]] = []
        for i in range(clients + 1):
            self.join(server=i == 0)

    def join(self, server: bool = False) -> Sea:
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.ping_interval = 0
        peer = self.network.create_server() if server else self.network.create_client()
        sent: list[bytes] = []
        original = peer.put_packet
        peer.put_packet = lambda data: (sent.append(bytes(data)), original(data))[1]  # type: ignore[method-assign]
        api.multiplayer_peer = peer
        sea = Sea()
        tree.root.add_child(sea)
        self.trees.append(tree)
        self.seas.append(sea)
        self.sent.append(sent)
        self.pump()
        return sea

    def pump(self, frames: int = 3) -> None:
        for _ in range(frames):
            for tree in self.trees:
                tree.process(0)

    def ship(self, i: int) -> Ship:
        node = self.seas[i].ships.get_node_or_null("Ship")
        assert isinstance(node, Ship), f"peer {i} has no ship"
        return node


def launch(net: Net) -> Ship:
    ship = Ship()
    net.seas[0].ships.add_child(ship)
    net.pump()
    return ship


def test_always_and_on_change_reach_every_peer() -> None:
    """ALWAYS values follow every frame; ON_CHANGE values when they change; the
    receiver's synchronized / delta_synchronized signals fire."""
    net = Net()
    ship = launch(net)
    fired: list[str] = []
    net.ship(1).sync.synchronized.connect(lambda: fired.append("always"))
    net.ship(1).sync.delta_synchronized.connect(lambda: fired.append("delta"))
    ship.position = Vector2(3, 4)
    ship.hp = 80
    ship.cargo.append("rum")  # a change inside a list is seen
    net.pump()
    for i in (1, 2):
        copy = net.ship(i)
        assert (copy.position, copy.hp, copy.cargo) == (Vector2(3, 4), 80, ["rum"])
    assert "always" in fired and "delta" in fired


def test_on_change_sends_only_what_changed_and_nothing_when_idle() -> None:
    """An idle ON_CHANGE property costs nothing; a change sends only that property."""
    net = Net(clients=1)
    ship = launch(net)
    ship.sync.replication_config.property_set_replication_mode(".:position", ReplicationMode.NEVER)
    net.pump()
    net.sent[0].clear()
    net.pump()
    assert net.sent[0] == []  # idle: nothing at all
    ship.hp = 50
    net.pump()
    import msgpack

    syncs = [msgpack.unpackb(p) for p in net.sent[0] if msgpack.unpackb(p)[0] == 6]
    assert len(syncs) == 1
    (_, _, always, delta) = syncs[0]
    assert always == [] and len(delta) == 1 and delta[0][1] == [0, 50]  # index 0 = hp


def test_replication_interval() -> None:
    """ALWAYS properties go every replication_interval, not every frame."""
    net = Net(clients=1)
    ship = launch(net)
    ship.sync.replication_interval = 3600
    ship.sync.replication_config.property_set_replication_mode(".:hp", ReplicationMode.NEVER)
    ship.sync.replication_config.property_set_replication_mode(".:cargo", ReplicationMode.NEVER)
    net.pump()
    ship.position = Vector2(9, 9)
    net.pump()
    assert net.ship(1).position != Vector2(9, 9)


def test_only_the_authority_sends_state(caplog: pytest.LogCaptureFixture) -> None:
    """A peer that is not the synchronizer's authority sends nothing; forged state is refused."""
    import msgpack

    net = Net(clients=1)
    launch(net)
    copy = net.ship(1)
    copy.hp = 1  # the client's own change: not its to send
    net.pump()
    assert net.ship(0).hp == 100
    peer = net.trees[1].get_multiplayer().multiplayer_peer
    assert peer is not None
    peer.set_target_peer(1)
    peer.put_packet(msgpack.packb([1, 1, "Sea/Ships/Ship/Sync"]))
    peer.put_packet(msgpack.packb([6, 1, [], [[1, [0, 0]]]]))
    net.pump()
    assert net.ship(0).hp == 100
    assert "from a peer that is not its authority" in caplog.text


def test_client_owned_input_synchronizer() -> None:
    """A synchronizer owned by a client sends from that client to the server."""
    net = Net(clients=1)
    ship = launch(net)
    for i in (0, 1):
        (ship if i == 0 else net.ship(1)).sync.set_multiplayer_authority(2)
    copy = net.ship(1)
    copy.position = Vector2(7, 7)
    net.pump()
    assert ship.position == Vector2(7, 7)


def test_late_joiner_sees_current_state() -> None:
    """A peer joining later gets the spawn with current values, then the updates."""
    net = Net(clients=0)
    ship = launch(net)
    ship.hp = 42
    ship.position = Vector2(1, 1)
    net.pump()
    late = net.join()
    copy = late.ships.get_node("Ship")
    assert isinstance(copy, Ship) and (copy.hp, copy.position) == (42, Vector2(1, 1))
    ship.hp = 41
    net.pump()
    assert copy.hp == 41


def test_visibility_despawns_and_respawns() -> None:
    """Made invisible to a peer, a node is despawned there and gets no state nor RPCs;
    visible again, it is spawned with current state."""
    net = Net(clients=2)
    ship = launch(net)
    ship.sync.set_visibility_for(0, False)  # not public
    ship.sync.set_visibility_for(2, True)
    net.pump()
    assert net.seas[1].ships.get_child_count() == 1
    assert net.seas[2].ships.get_child_count() == 0
    ship.ping.rpc("ahoy")
    ship.hp = 7
    net.pump()
    assert net.ship(1).pings == ["ahoy"] and net.ship(1).hp == 7
    ship.sync.set_visibility_for(3, True)
    net.pump()
    assert net.ship(2).hp == 7


def test_visibility_filters_and_them_with_public() -> None:
    """Filters must all agree; they are re-evaluated every frame."""
    net = Net(clients=2)
    ship = launch(net)
    allowed = {2}
    ship.sync.add_visibility_filter(lambda peer: peer in allowed)
    net.pump()
    assert net.seas[2].ships.get_child_count() == 0
    allowed.add(3)
    net.pump()
    assert net.seas[2].ships.get_child_count() == 1
    assert ship.sync.get_visibility_for(0) and not ship.sync.get_visibility_for(3)


def test_many_properties_work() -> None:
    """More than 64 watched properties replicate (Godot's bitmask stops at 64)."""

    class Wide(Node):
        def __init__(self) -> None:
            super().__init__("Wide")
            config = SceneReplicationConfig()
            for i in range(100):
                setattr(self, f"p{i}", 0)
                config.add_property(f".:p{i}")
                config.property_set_replication_mode(f".:p{i}", ReplicationMode.ON_CHANGE)
            self.add_child(MultiplayerSynchronizer("Sync", replication_config=config))

    net = Net(clients=1)
    for sea in net.seas:
        sea.spawner.add_spawnable_scene(Wide)
    wide = Wide()
    net.seas[0].ships.add_child(wide)
    net.pump()
    wide.p99 = 99
    wide.p70 = 70
    net.pump()
    copy: Any = net.seas[1].ships.get_node("Wide")
    assert (copy.p99, copy.p70) == (99, 70)


def test_byte_counters() -> None:
    """Bytes of state are counted per peer and per synchronizer."""
    net = Net(clients=1)
    ship = launch(net)
    ship.hp = 3
    net.pump()
    stats = net.trees[0].get_multiplayer()._replicator.stats[2]
    assert stats.bytes_sent > 0 and stats.packets_sent > 0
    assert ship.sync.bytes_sent > 0
    assert net.ship(1).sync.bytes_received > 0


def test_stale_state_never_overwrites_newer(caplog: pytest.LogCaptureFixture) -> None:
    """A SYNC older than one already applied is dropped."""
    import msgpack

    net = Net(clients=1)
    ship = launch(net)
    ship.hp = 5
    net.pump()
    peer = net.trees[0].get_multiplayer().multiplayer_peer
    assert peer is not None
    path_id = net.trees[0].get_multiplayer()._paths.local_id("Sea/Ships/Ship/Sync")
    replicator = net.trees[1].get_multiplayer()._replicator
    last = replicator._seq_in[1]
    peer.set_target_peer(2)
    peer.put_packet(msgpack.packb([6, last + 10, [], [[path_id, [0, 60]]]]))
    peer.put_packet(msgpack.packb([6, last + 5, [], [[path_id, [0, 30]]]]))  # older
    net.trees[1].process(0)
    assert net.ship(1).hp == 60


def test_state_for_a_missing_node_is_refused_loudly(caplog: pytest.LogCaptureFixture) -> None:
    """State for a node the receiver does not have is refused with a log line."""
    import msgpack

    net = Net(clients=1)
    peer = net.trees[0].get_multiplayer().multiplayer_peer
    assert peer is not None
    peer.set_target_peer(2)
    peer.put_packet(msgpack.packb([1, 50, "Sea/Nowhere/Sync"]))
    peer.put_packet(msgpack.packb([6, 999, [[50, [1]]], []]))
    net.pump()
    assert "SYNC for 'Sea/Nowhere/Sync', which is no synchronizer here" in caplog.text


def test_large_state_is_split_not_skipped() -> None:
    """State bigger than one packet goes in several packets; none is skipped."""
    net = Net(clients=1)
    net.network.max_packet_size = 600
    ships = []
    for i in range(6):
        ship = Ship()
        ship.name = f"S{i}"
        ship.cargo = ["x" * 150]
        net.seas[0].ships.add_child(ship)
        ships.append(ship)
    net.pump()
    for ship in ships:
        ship.cargo = ["y" * 150]
    net.pump()
    copies = [net.seas[1].ships.get_node(f"S{i}") for i in range(6)]
    assert all(c.cargo == ["y" * 150] for c in copies)  # type: ignore[attr-defined]
