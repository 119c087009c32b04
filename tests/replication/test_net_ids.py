"""Net ids, and replication in the godot profile between Python peers.

In Godot's profile a SPAWN numbers the synchronizers it carries, SYNC names them by
those numbers (or by a confirmed path id with bit 31 set), and ON_CHANGE values go in
packets of their own. What a peer sends wrong is refused with one log line naming
it, reaches no user code, and the others go on.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import pytest

from multiplayer import (
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    ReplicationMode,
    SceneReplicationConfig,
    SceneTree,
    Vector2,
)
from multiplayer.protocol.godot.format import GodotFormat
from multiplayer.protocol.messages import Spawn, Sync
from multiplayer.protocol.native.codec import Codec
from multiplayer.replication.net_ids import PATH_ID_FLAG, NetIds
from multiplayer.testing import MemoryNetwork

GODOT = GodotFormat(Codec())


def synced(owner: Node, name: str, always: list[str], on_change: list[str]) -> None:
    config = SceneReplicationConfig()
    for prop in always + on_change:
        config.add_property(prop)
    for prop in on_change:
        config.property_set_replication_mode(prop, ReplicationMode.ON_CHANGE)
    owner.add_child(MultiplayerSynchronizer(name, replication_config=config))


class Ship(Node):
    """position ALWAYS, hp ON_CHANGE, both spawn properties; records what _ready saw."""

    readied: ClassVar[list[tuple[str, Vector2, int]]] = []

    def __init__(self) -> None:
        super().__init__("Ship")
        self.position = Vector2()
        self.hp = 100
        synced(self, "Sync", [".:position"], [".:hp"])

    def _ready(self) -> None:
        Ship.readied.append((self.name, self.position, self.hp))


class Pilot(Ship):
    """A ship whose synchronizer the peer named in the ship's name owns, set in
    ``_enter_tree`` as Godot games do."""

    def _enter_tree(self) -> None:
        self.get_node("Sync").set_multiplayer_authority(int(self.name.removeprefix("Pilot")))


class Sea(Node):
    def __init__(self) -> None:
        super().__init__("Sea")
        self.wind = 0  # replicated by a synchronizer that every peer's scene has
        synced(self, "Weather", [".:wind"], [])
        self.ships = Node("Ships")
        self.add_child(self.ships)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Ships")
        self.spawner.add_spawnable_scene(Ship)
        self.spawner.add_spawnable_scene(Pilot)
        self.spawned: list[str] = []
        self.spawner.spawned.connect(lambda node: self.spawned.append(node.name))
        self.add_child(self.spawner)


class Net:
    """A server and clients in the godot profile, each packet they send recorded."""

    def __init__(self, clients: int = 2) -> None:
        self.network = MemoryNetwork(protocol="godot")
        self.trees: list[SceneTree] = []
        self.seas: list[Sea] = []
        self.sent: list[list[bytes]] = []
        for i in range(clients + 1):
            self.join(server=i == 0)
        Ship.readied.clear()

    def join(self, server: bool = False, frames: int = 3) -> Sea:
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
        self.pump(frames)
        return sea

    def pump(self, frames: int = 3) -> None:
        for _ in range(frames):
            for tree in self.trees:
                tree.process(0)

    def ship(self, i: int, name: str = "Ship") -> Ship | None:
        node = self.seas[i].ships.get_node_or_null(name)
        return node if isinstance(node, Ship) else None

    def launch(self, scene: type[Ship] = Ship, name: str = "Ship") -> Ship:
        ship = scene()
        ship.name = name
        ship.position, ship.hp = Vector2(1, 2), 90
        self.seas[0].ships.add_child(ship)
        self.pump()
        return ship

    def sent_by(self, i: int, command: int) -> list[Any]:
        return [GODOT.decode(p, allow_objects=False) for p in self.sent[i] if p[0] == command]

    def send(self, i: int, data: bytes, to: int = 1) -> None:
        peer = self.trees[i].get_multiplayer().multiplayer_peer
        assert peer is not None
        peer.set_target_peer(to)
        peer.put_packet(data)

    def announce(self, i: int, peer_id: int, node: Node) -> int:
        """Our path id for ``node``, defined for ``peer_id`` (and confirmed)."""
        path_id: int = self.trees[i].get_multiplayer()._cache.announce([peer_id], node)[0]
        self.pump()
        return path_id


def test_python_peers_replicate_in_the_godot_profile() -> None:
    """Spawn properties set before _ready, ALWAYS and ON_CHANGE followed, the spawn's
    synchronizer numbered from the node counter, a late joiner, a despawn."""
    net = Net()
    ship = net.launch()
    assert Ship.readied == [("Ship", Vector2(1, 2), 90)] * 3  # the server's, and copies
    spawner_id = net.trees[0].get_multiplayer()._paths.local_id("Sea/Spawner")
    spawn = Spawn(spawner_id, 1, 0, "Ship", None, [Vector2(1, 2), 90], [2])
    assert net.sent_by(0, 4) == [spawn] * 2
    ship.position, ship.hp = Vector2(5, 6), 7
    net.pump()
    for i in (1, 2):
        copy = net.ship(i)
        assert copy is not None and (copy.position, copy.hp) == (Vector2(5, 6), 7)
    deltas = [m for m in net.sent_by(0, 6) if m.delta]
    assert all(not m.always for m in deltas)  # deltas travel apart
    late = net.join()
    assert late.ships.get_node("Ship").hp == 7  # type: ignore[attr-defined]
    net.seas[0].ships.remove_child(ship)
    net.pump()
    assert all(net.ship(i) is None for i in (1, 2, 3))


def test_a_spawn_carries_only_the_senders_synchronizers() -> None:
    """Godot's rule (#85019): a client-owned synchronizer gets no id in the server's
    SPAWN; the authority set in _enter_tree counts on both sides; its state then goes
    by path id, once the server confirmed the path."""
    net = Net(clients=1)
    net.launch(Pilot, "Pilot2")
    (spawn,) = net.sent_by(0, 4)
    assert (spawn.sync_ids, spawn.states) == ([], [])
    copy = net.ship(1, "Pilot2")
    assert copy is not None
    copy.position = Vector2(8, 9)
    net.pump()
    server_ship = net.ship(0, "Pilot2")
    assert server_ship is not None and server_ship.position == Vector2(8, 9)
    ids = {entry[0] for m in net.sent_by(1, 6) for entry in m.always + m.delta}
    assert ids and all(i & PATH_ID_FLAG for i in ids)


def test_a_synchronizer_outside_spawns_waits_for_the_confirmation() -> None:
    """Nothing is sent for a scene synchronizer until the peer confirmed its path;
    then it is named by its path id with bit 31 set."""
    net = Net(clients=0)
    net.seas[0].wind = 3
    net.join(frames=0)
    api = net.trees[0].get_multiplayer()
    seen = []
    for _ in range(4):
        for tree in net.trees[::-1]:  # the client first: it connects
            tree.process(0)
        path_id = api._paths.local_id("Sea/Weather")
        confirmed = api._paths.is_confirmed(path_id, 2) is not None
        seen.append((confirmed, len(net.sent_by(0, 6))))
    assert (False, 0) in seen and all(count == 0 for confirmed, count in seen if not confirmed)
    assert seen[-1][1] > 0 and net.seas[1].wind == 3
    assert net.sent_by(0, 6)[0].always == [[path_id | PATH_ID_FLAG, [3]]]


def spawn_packet(
    path_id: int,
    net_id: int = 5,
    ids: tuple[int, ...] = (9,),
    values: tuple[Any, ...] = (),
    scene: int = 0,
) -> bytes:
    name = "Ship" if scene == 0 else "Pilot2"
    return GODOT.encode(Spawn(path_id, net_id, scene, name, None, list(values), list(ids)))


# Refused before the node is added: the counts exceed what the scene could read.
EARLY = "before"
# Refused once the synchronizers entered (Godot's order: authority set in _enter_tree
# decides which take ids): _enter_tree and _ready ran, but the node goes again.
LATE = "after"


@pytest.mark.parametrize(
    ("make", "reason", "when"),
    [
        (lambda p: spawn_packet(p, net_id=0), "net id out of range", EARLY),
        (lambda p: spawn_packet(p, ids=(PATH_ID_FLAG | 1,)), "net id out of range", EARLY),
        (lambda p: spawn_packet(p, ids=(9, 9), values=(Vector2(), 1)), "id in use", EARLY),
        (lambda p: spawn_packet(p, values=(Vector2(), 1))[:-1], "malformed packet", EARLY),
        (lambda p: spawn_packet(p, values=(Vector2(), 1, 2)), "3 values, for 1", EARLY),
        (lambda p: spawn_packet(p, ids=(9, 10), values=(Vector2(), 1)), "2 synchronizer", EARLY),
        (lambda p: spawn_packet(p, ids=(), values=(Vector2(), 1)), "has no id", LATE),
        (lambda p: spawn_packet(p, values=(Vector2(),)), "lacks spawn values", LATE),
        (
            lambda p: spawn_packet(p, values=(Vector2(), 1), scene=1),
            "1 synchronizer ids of the SPAWN were not taken",
            LATE,
        ),
    ],
)
def test_a_bad_spawn_is_refused(
    make: Any, reason: str, when: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One log line naming the server; no node stays, no spawned signal; the other
    client goes on. What the counts rule out is refused before any user code."""
    net = Net()
    path_id = net.announce(0, 2, net.seas[0].spawner)
    caplog.set_level(logging.WARNING, "multiplayer")
    net.send(0, make(path_id), to=2)
    net.pump()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("refused from peer 1: ")
    assert reason in lines[0]
    assert net.seas[1].ships.get_children() == [] and net.seas[1].spawned == []
    assert (Ship.readied == []) == (when == EARLY)
    net.launch()
    assert net.ship(1) is not None and net.ship(2) is not None


def test_a_spawn_from_a_peer_not_the_spawners_authority_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = Net()
    path_id = net.announce(1, 1, net.seas[1].spawner)
    caplog.set_level(logging.WARNING, "multiplayer")
    net.send(1, spawn_packet(path_id, values=(Vector2(), 1)))
    net.pump()
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("refused from peer 2: ") and "not the spawner's authority" in line
    assert net.ship(0) is None and Ship.readied == []


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (Sync(30000, [[77, [Vector2()]]], []), "synchronizer id 77, which is no synchronizer"),
        (Sync(0, [], [[77, [0, 5]]]), "synchronizer id 77, which is no synchronizer"),
        (Sync(30000, [[2, [Vector2(), 3]]], []), "2 values for 1 properties"),
        (Sync(0, [], [[2, [3, 5]]]), "bad delta indices"),
        (Sync(30000, [[PATH_ID_FLAG | 99, [1]]], []), "SYNC for None, which is no synchronizer"),
    ],
)
def test_bad_state_is_refused_entry_by_entry(
    message: Sync, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A SYNC or a delta naming an id never given, or with more values than the
    receiver's configuration reads: one line naming the peer, nothing set. (An id
    that names no synchronizer is logged without "refused": its node may have been
    freed here while the state was on its way, which is no fault of the sender.)"""
    net = Net()
    net.launch()
    copy = net.ship(1)
    assert copy is not None
    caplog.set_level(logging.WARNING, "multiplayer")
    net.send(0, GODOT.encode(message), to=2)
    net.pump()
    lines = [r.getMessage() for r in caplog.records]
    prefix = "peer 1: " if "no synchronizer" in reason else "refused from peer 1: "
    assert len(lines) == 1 and lines[0].startswith(prefix)
    assert reason in lines[0]
    assert (copy.position, copy.hp) == (Vector2(1, 2), 90)


def test_stale_times_are_dropped_per_synchronizer() -> None:
    """Godot's 16-bit rule: an older time is dropped, a wrapped one is newer; the
    first is always taken."""
    net = Net(clients=1)
    net.launch()
    copy = net.ship(1)
    assert copy is not None
    for time, x, kept in [(40000, 1, 1), (39999, 2, 1), (40001, 3, 3), (5, 4, 4)]:
        net.send(0, GODOT.encode(Sync(time, [[2, [Vector2(x, 0)]]], [])), to=2)
        net.trees[1].process(0)
        assert copy.position == Vector2(kept, 0)


def test_net_ids_are_kept_while_registered() -> None:
    """One counter for nodes and synchronizers; an id stays until the synchronizer
    leaves; a peer's ids go with it."""
    ids = NetIds()
    sync = MultiplayerSynchronizer("S")
    assert ids.next_id() == 1 and ids.own_id(sync) == 0
    assert ids.own(sync) == 2 and ids.own(sync) == 2
    ids.remove(sync)
    assert ids.own_id(sync) == 0 and ids.own(sync) == 3
    ids.clear()
    assert ids.own_id(sync) == 0
