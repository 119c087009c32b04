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

    def join(self, server: bool = False, prepare: Any = None) -> Sea:
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.ping_interval = 0
        peer = self.network.create_server() if server else self.network.create_client()
        sent: list[bytes] = []
        original = peer.put_packet
        peer.put_packet = lambda data: (sent.append(bytes(data)), original(data))[1]  # type: ignore[method-assign]
        api.multiplayer_peer = peer
        sea = Sea()
        if prepare is not None:
            prepare(sea)
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
    last = net.trees[1].get_multiplayer()._replicator._receiver.last_seq(1)
    peer.set_target_peer(2)
    peer.put_packet(msgpack.packb([6, last + 10, [], [[path_id, [0, 60]]]]))
    peer.put_packet(msgpack.packb([6, last + 5, [], [[path_id, [0, 30]]]]))  # older
    net.trees[1].process(0)
    assert net.ship(1).hp == 60


def test_state_for_a_missing_node_is_logged_not_counted(caplog: pytest.LogCaptureFixture) -> None:
    """State for a node the receiver does not have is logged, but not counted against
    the sender: its node may have been despawned here while the state was on its way."""
    import msgpack

    net = Net(clients=1)
    peer = net.trees[0].get_multiplayer().multiplayer_peer
    assert peer is not None
    peer.set_target_peer(2)
    peer.put_packet(msgpack.packb([1, 50, "Sea/Nowhere/Sync"]))
    peer.put_packet(msgpack.packb([6, 999, [[50, [1]]], []]))
    net.pump()
    assert "SYNC for 'Sea/Nowhere/Sync', which is no synchronizer here" in caplog.text
    # (a notice: logged like a refusal, but not a violation that counts toward a kick)
    assert net.trees[1].get_multiplayer()._refusals.count(1, ("note", "sync")) == 1


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


# Nested spawns, failures contained, despawns, limits and RPC ordering.


class Level(Node):
    """Adds a spawnable ship in its own _ready, as levels do."""

    def __init__(self) -> None:
        super().__init__("Level")
        self.ships = Node("Ships")
        self.add_child(self.ships)
        spawner = MultiplayerSpawner("ShipSpawner", spawn_path="../Ships")
        spawner.add_spawnable_scene(Ship)
        self.add_child(spawner)

    def _ready(self) -> None:
        if self.multiplayer.is_server():
            self.ships.add_child(Ship())


def add_level_spawner(sea: Sea) -> None:
    spawner = MultiplayerSpawner("LevelSpawner", spawn_path="..")
    spawner.add_spawnable_scene(Level)
    sea.add_child(spawner)


def test_nested_spawns_keep_their_order_and_reach_late_joiners() -> None:
    """A level that spawns a ship in its _ready is spawned first, here and for late joiners."""
    net = Net(clients=1)
    for sea in net.seas:
        add_level_spawner(sea)
    net.seas[0].add_child(Level())
    net.pump()
    assert net.seas[1].get_node("Level/Ships").get_child_count() == 1
    late = net.join(prepare=add_level_spawner)
    assert late.get_node("Level/Ships").get_child_count() == 1


def test_a_failing_spawn_does_not_break_later_joins(caplog: pytest.LogCaptureFixture) -> None:
    """A spawn that cannot be sent is logged; later peers still join normally."""
    net = Net(clients=0)
    net.network.max_packet_size = 300
    ship = Ship()
    ship.cargo = ["x" * 1000]  # too large for the SPAWN
    net.seas[0].ships.add_child(ship)
    net.pump()
    joined: list[int] = []
    net.trees[0].get_multiplayer().peer_connected.connect(joined.append)
    net.join()
    net.join()
    assert joined == [2, 3]
    assert "cannot spawn Ship on peer 2" in caplog.text
    caplog.clear()


def test_a_bad_entry_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    """If a receiver lost one node, the others in the same SYNC still update."""
    net = Net(clients=1)
    a, b = Ship(), Ship()
    a.name, b.name = "A", "B"
    net.seas[0].ships.add_child(a)
    net.seas[0].ships.add_child(b)
    net.pump()
    net.seas[1].ships.remove_child(net.seas[1].ships.get_node("A"))  # the client's own doing
    a.hp, b.hp = 1, 2
    net.pump()
    copy = net.seas[1].ships.get_node("B")
    assert isinstance(copy, Ship) and copy.hp == 2


def test_a_raising_getter_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    """A property getter that raises is logged; other synchronizers keep sending."""

    class Broken(Ship):
        @property
        def hp(self) -> int:  # type: ignore[override]
            raise RuntimeError("broken getter")

        @hp.setter
        def hp(self, value: int) -> None:
            pass

    net = Net(clients=1)
    ok = Ship()
    net.seas[0].ships.add_child(ok)
    broken = Broken()
    broken.name = "Broken"
    net.seas[0].ships.add_child(broken)
    net.pump()
    ok.hp = 9
    net.pump()
    assert net.ship(1).hp == 9
    assert "broken getter" in caplog.text
    caplog.clear()


def test_readded_node_is_spawned_again() -> None:
    """A spawned node removed and added again is spawned again everywhere."""
    net = Net(clients=1)
    ship = launch(net)
    net.seas[0].ships.remove_child(ship)
    net.pump()
    assert net.seas[1].ships.get_child_count() == 0
    net.seas[0].ships.add_child(ship)
    net.pump()
    assert net.seas[1].ships.get_child_count() == 1


def test_spawner_leaving_despawns_its_nodes() -> None:
    """When a spawner leaves the authority's tree, its nodes are despawned (Godot)."""
    net = Net(clients=1)
    launch(net)
    net.seas[0].remove_child(net.seas[0].spawner)
    net.pump()
    assert net.seas[1].ships.get_child_count() == 0


def test_hidden_peer_gets_no_state_nor_broadcast_rpcs(caplog: pytest.LogCaptureFixture) -> None:
    """A peer that cannot see a node gets neither its state nor its broadcast RPCs."""
    net = Net(clients=2)
    ship = launch(net)
    ship.sync.set_visibility_for(0, False)
    ship.sync.set_visibility_for(2, True)
    net.pump()
    ship.ping.rpc("hi")
    ship.hp = 3
    net.pump()
    assert net.ship(1).pings == ["hi"] and net.ship(1).hp == 3
    # had anything about the ship reached peer 3, which no longer has it, it would
    # have been refused there with a log line
    assert "no such node" not in caplog.text
    assert "no synchronizer here" not in caplog.text


def test_intervals_deliver_later() -> None:
    """With intervals, values arrive once the interval has passed."""
    import time

    net = Net(clients=1)
    ship = launch(net)
    ship.sync.replication_interval = 0.3
    ship.sync.delta_interval = 0.3
    net.pump()
    ship.position = Vector2(5, 5)
    ship.hp = 11
    net.pump(1)
    assert net.ship(1).hp != 11  # not yet: the interval has not passed
    deadline = time.monotonic() + 5
    while net.ship(1).hp != 11 and time.monotonic() < deadline:
        net.pump(1)
    assert (net.ship(1).position, net.ship(1).hp) == (Vector2(5, 5), 11)


def test_one_sync_packet_per_peer_per_frame() -> None:
    """State of two synchronizers for one peer goes in one packet."""
    import msgpack

    net = Net(clients=1)
    a, b = Ship(), Ship()
    a.name, b.name = "A", "B"
    for ship in (a, b):
        net.seas[0].ships.add_child(ship)
    net.pump()
    net.sent[0].clear()
    a.hp, b.hp = 1, 2
    net.trees[0].process(0)
    syncs = [msgpack.unpackb(p) for p in net.sent[0] if msgpack.unpackb(p)[0] == 6]
    assert len(syncs) == 1 and len(syncs[0][3]) == 2


def test_clear_frees_remote_nodes() -> None:
    """When a client loses the server, what the server spawned there is freed."""
    net = Net(clients=1)
    launch(net)
    net.trees[0].get_multiplayer().multiplayer_peer = None
    net.pump()
    assert net.seas[1].ships.get_child_count() == 0


def test_receiver_spawn_limit(caplog: pytest.LogCaptureFixture) -> None:
    """spawn_limit holds on receivers too."""
    net = Net(clients=1)
    net.seas[1].spawner.spawn_limit = 1
    for name in ("A", "B"):
        ship = Ship()
        ship.name = name
        net.seas[0].ships.add_child(ship)
    net.pump()
    assert net.seas[1].ships.get_child_count() == 1
    assert "spawn_limit (1) reached" in caplog.text


def test_filter_results_and_visibility_signal() -> None:
    """A filter returning a non-bool hides; visibility changes are signalled."""
    net = Net(clients=1)
    ship = launch(net)
    seen: list[int] = []
    ship.sync.visibility_changed.connect(seen.append)
    ship.sync.add_visibility_filter(lambda peer: 1)  # truthy, but not True
    net.pump()
    assert net.seas[1].ships.get_child_count() == 0
    assert 0 in seen


def test_rpc_from_ready_of_a_spawning_node_arrives_after_its_spawn() -> None:
    """An RPC made in _ready of a node about to be spawned waits for its SPAWN."""

    class Greeter(Ship):
        def _ready(self) -> None:
            if self.multiplayer.is_server():
                self.ping.rpc("born")

    net = Net(clients=1)
    for sea in net.seas:
        sea.spawner.add_spawnable_scene(Greeter)
    greeter = Greeter()
    greeter.name = "G"
    net.seas[0].ships.add_child(greeter)
    net.pump()
    copy = net.seas[1].ships.get_node("G")
    assert isinstance(copy, Greeter) and copy.pings == ["born"]


def test_public_replication_stats() -> None:
    """get_replication_stats(peer) reports state traffic; zeros for an unknown peer."""
    net = Net(clients=1)
    ship = launch(net)
    ship.hp = 2
    net.pump()
    api = net.trees[0].get_multiplayer()
    assert api.get_replication_stats(2).bytes_sent > 0
    assert api.get_replication_stats(9).bytes_sent == 0


# How state is sent: each entry packed once for every peer, one packet body for all
# peers when they all get the same, baselines shared, intervals kept on average.


def sync_packets(sent: list[bytes]) -> list[list[Any]]:
    from multiplayer.protocol.native.codec import unpackb

    decoded = [unpackb(p) for p in sent]
    return [d for d in decoded if d[0] == 6]


def test_sync_packets_are_the_message_format() -> None:
    """SYNC packets put together from entries packed once are byte for byte what
    the Sync message makes of the same content."""
    from multiplayer.protocol.messages import Sync
    from multiplayer.protocol.native.codec import default_codec, unpackb
    from multiplayer.protocol.native.format import NativeFormat

    net = Net(clients=2)
    ship = launch(net)
    ship.position = Vector2(1.5, -2.25)
    ship.hp = 70000  # a u32
    ship.cargo = ["rum", "gold"]
    net.pump(1)
    packets = [p for p in net.sent[0] if unpackb(p)[0] == 6]
    assert len(packets) >= 2  # one for each peer at least
    for packet in packets:
        _, seq, always, delta = unpackb(packet)
        assert NativeFormat(default_codec).encode(Sync(seq, always, delta)) == packet
    last = sync_packets(net.sent[0])[-1]
    assert last[2][0][1] == [Vector2(1.5, -2.25)]
    assert last[3][0][1] == [0, 70000, 1, ["rum", "gold"]]


def test_every_peer_gets_the_same_state_and_its_own_sequence() -> None:
    """Peers share the packet body, not the sequence number: each counts up."""
    net = Net(clients=3)
    launch(net)
    net.sent[0].clear()
    net.pump(2)
    syncs = sync_packets(net.sent[0])
    assert len(syncs) == 6  # 3 peers, 2 frames
    assert [s[2:] for s in syncs[:3]] == [syncs[0][2:]] * 3
    for peer in range(3):
        assert syncs[3 + peer][1] == syncs[peer][1] + 1


def test_byte_counter_counts_every_peer() -> None:
    """synchronizer.bytes_sent adds up the state of every packet to every peer."""
    from multiplayer.protocol.native.codec import packb

    net = Net(clients=3)
    ship = launch(net)
    ship.hp = 5
    net.pump()
    counted = sum(
        len(packb(entry[1])) for sync in sync_packets(net.sent[0]) for entry in sync[2] + sync[3]
    )
    assert ship.sync.bytes_sent == counted > 0


def test_interval_is_kept_on_average_whatever_the_frame_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """20 Hz at 60 frames a second is 20 updates a second, not 15: an interval is
    counted from when the last update was due, not from the later frame it went in."""
    import multiplayer.replication.sync_sender as replication

    clock = [100.0]
    monkeypatch.setattr(replication, "_now", lambda: clock[0])
    net = Net(clients=1)
    ship = launch(net)
    ship.sync.replication_interval = 0.05
    ship.sync.replication_config.property_set_replication_mode(".:hp", ReplicationMode.NEVER)
    ship.sync.replication_config.property_set_replication_mode(".:cargo", ReplicationMode.NEVER)
    net.pump(1)
    net.sent[0].clear()
    for frame in range(600):  # 10 s at 60 frames a second, frames a little late
        clock[0] += 1 / 60 + (0.004 if frame % 2 else 0.0)
        net.pump(1)
    elapsed = clock[0] - 100.0
    sent = len(sync_packets(net.sent[0]))
    assert abs(sent - elapsed / 0.05) <= 1


def test_a_long_frame_does_not_cause_a_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a frame much longer than the interval, updates do not catch up."""
    import multiplayer.replication.sync_sender as replication

    clock = [100.0]
    monkeypatch.setattr(replication, "_now", lambda: clock[0])
    net = Net(clients=1)
    ship = launch(net)
    ship.sync.replication_interval = 0.05
    net.pump(1)
    clock[0] += 1.0  # a one-second hitch
    net.pump(1)
    net.sent[0].clear()
    for _ in range(3):
        clock[0] += 0.01
        net.pump(1)
    assert sync_packets(net.sent[0]) == []  # the next update is an interval away


def test_a_peer_that_joins_later_gets_on_change_state_of_a_scene_node() -> None:
    """A synchronizer that is not spawned (the same node in every peer's scene) sends
    a peer that joins after its last change everything, though every peer before it
    got every update."""

    def add_flagship(sea: Sea) -> None:
        flagship = Ship()
        flagship.name = "Flagship"
        sea.add_child(flagship)

    net = Net(clients=0)
    add_flagship(net.seas[0])
    first = net.join(prepare=add_flagship)
    flagship = net.seas[0].get_node("Flagship")
    assert isinstance(flagship, Ship)
    flagship.hp = 5
    flagship.cargo = ["tea"]
    net.pump()
    copy = first.get_node("Flagship")
    assert isinstance(copy, Ship) and (copy.hp, copy.cargo) == (5, ["tea"])
    late = net.join(prepare=add_flagship)
    net.pump()
    copy = late.get_node("Flagship")
    assert isinstance(copy, Ship) and (copy.hp, copy.cargo) == (5, ["tea"])


class Buoy(Node):
    """A node whose ON_CHANGE state does not travel with its spawn."""

    def __init__(self) -> None:
        super().__init__("Buoy")
        self.hp = 0
        config = SceneReplicationConfig()
        config.add_property(".:hp")
        config.property_set_replication_mode(".:hp", ReplicationMode.ON_CHANGE)
        config.property_set_spawn(".:hp", False)
        self.sync = MultiplayerSynchronizer("Sync", replication_config=config)
        self.add_child(self.sync)


def test_a_peer_that_sees_a_node_again_gets_all_of_its_state() -> None:
    """Hidden, then visible again, a node is spawned anew and its ON_CHANGE state
    all comes again, although it did not change meanwhile."""
    net = Net(clients=2)
    for sea in net.seas:
        sea.spawner.add_spawnable_scene(Buoy)
    buoy = Buoy()
    net.seas[0].ships.add_child(buoy)
    net.pump()
    buoy.hp = 5
    net.pump()
    buoy.sync.set_visibility_for(0, False)
    buoy.sync.set_visibility_for(2, True)
    net.pump()
    assert net.seas[2].ships.get_child_count() == 0
    buoy.sync.set_visibility_for(3, True)
    net.pump()
    copy = net.seas[2].ships.get_node("Buoy")
    assert isinstance(copy, Buoy) and copy.hp == 5
    buoy.hp = 6  # and the updates follow for both
    net.pump()
    for i in (1, 2):
        copy = net.seas[i].ships.get_node("Buoy")
        assert isinstance(copy, Buoy) and copy.hp == 6


def test_peers_with_different_baselines_each_get_what_they_miss() -> None:
    """A peer that missed updates (it could not see the node) and peers that got
    them are sent different deltas in the same frame, each correct."""
    net = Net(clients=2)
    ship = launch(net)
    allowed = {2, 3}
    ship.sync.add_visibility_filter(lambda peer: peer in allowed)
    net.pump()
    allowed.discard(3)
    net.pump()
    ship.cargo = ["silk"]
    net.pump()
    ship.hp = 9
    allowed.add(3)
    net.pump()
    for i in (1, 2):
        assert (net.ship(i).hp, net.ship(i).cargo) == (9, ["silk"])


def test_filters_run_once_per_peer_and_frame() -> None:
    """A visibility filter is asked once per peer and frame, for the spawn and the
    state alike."""
    net = Net(clients=3)
    ship = launch(net)
    asked: list[int] = []

    def near(peer: int) -> bool:
        asked.append(peer)
        return peer != 4

    ship.sync.add_visibility_filter(near)
    net.pump(1)
    asked.clear()
    ship.hp = 3
    net.trees[0].process(0)
    assert sorted(asked) == [2, 3, 4]
    assert net.seas[3].ships.get_child_count() == 0


class Twin(Node):
    """A node with two synchronizers."""

    def __init__(self) -> None:
        super().__init__("Twin")
        self.hp = 0
        self.add_child(MultiplayerSynchronizer("A", replication_config=SceneReplicationConfig()))
        self.add_child(MultiplayerSynchronizer("B", replication_config=SceneReplicationConfig()))


def test_a_removed_synchronizer_no_longer_makes_its_node_visible() -> None:
    """Spawn visibility follows the synchronizers a node has now: one that left the
    tree no longer keeps its node visible."""
    net = Net(clients=1)
    for sea in net.seas:
        sea.spawner.add_spawnable_scene(Twin)
    twin = Twin()
    net.seas[0].ships.add_child(twin)
    net.pump()
    a, b = twin.get_node("A"), twin.get_node("B")
    assert isinstance(a, MultiplayerSynchronizer) and isinstance(b, MultiplayerSynchronizer)
    b.public_visibility = False  # A still shows it
    net.pump()
    assert net.seas[1].ships.get_child_count() == 1
    twin.remove_child(a)
    b.update_visibility()
    net.pump()
    assert net.seas[1].ships.get_child_count() == 0


def test_same_values_in_new_objects_are_not_changes() -> None:
    """An equal value in a new object (a new Vector2, a big int computed again) is
    no change; a list changed in place is one."""
    net = Net(clients=1)
    ship = launch(net)
    config = ship.sync.replication_config
    config.property_set_replication_mode(".:position", ReplicationMode.ON_CHANGE)
    for copy in (net.ship(1),):
        copy.sync.replication_config.property_set_replication_mode(
            ".:position", ReplicationMode.ON_CHANGE
        )
    ship.hp = int("1000000")
    ship.position = Vector2(1, 2)
    net.pump()
    net.sent[0].clear()
    ship.hp = int("1000000")
    ship.position = Vector2(1, 2)
    net.pump()
    assert sync_packets(net.sent[0]) == []
    ship.cargo.append("salt")
    net.pump()
    assert net.ship(1).cargo == ["salt"]


def test_baselines_of_peers_that_got_everything_are_one_number() -> None:
    """When every peer has every update, what they have is kept as one number, so a
    frame costs the same for 3 peers or 300; a peer that was behind rejoins it once
    it caught up."""
    net = Net(clients=3)
    ship = launch(net)
    out = net.trees[0].get_multiplayer()._replicator._baselines.records[ship.sync]
    ship.hp = 1
    net.trees[0].process(0)  # one frame of the server
    assert out.got == {} and out.got_all == out.checks == out.last_change
    allowed = {2, 3}
    ship.sync.add_visibility_filter(lambda peer: peer in allowed)
    ship.hp = 2
    net.pump()
    assert out.got  # peer 4 is behind
    allowed.add(4)
    ship.hp = 3
    net.pump()
    assert out.got == {} and out.got_all >= out.last_change
    assert net.ship(3).hp == 3


def test_unchanged_immutable_values_are_not_packed_again() -> None:
    """An idle ON_CHANGE property holding the same immutable object costs no packing
    (a list could have changed in place: it is packed to compare)."""
    from multiplayer.protocol.native.codec import Codec

    class Counting(Codec):
        def __init__(self) -> None:
            super().__init__()
            self.packed: list[Any] = []

        def packb(self, value: Any, *, allow_objects: bool = True) -> bytes:
            self.packed.append(value)
            return super().packb(value, allow_objects=allow_objects)

    net = Net(clients=1)
    ship = launch(net)
    ship.sync.replication_config.property_set_replication_mode(".:position", ReplicationMode.NEVER)
    counting = Counting()
    net.trees[0].get_multiplayer().codec = counting
    for _ in range(3):
        net.trees[0].process(0)
    assert counting.packed == [[], [], []]  # the cargo, every frame; never the hp
