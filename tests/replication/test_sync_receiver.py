"""SyncReceiver: SYNC packets applied, checked entry by entry, never out of order.

The receiver is built here on a stand-in for the multiplayer API, holding just the
path ids and the nodes a SYNC may name: what replication asks of the API is all a
ReplicationHost gives.
"""

from __future__ import annotations

from typing import Any

from multiplayer import (
    MultiplayerSynchronizer,
    Node,
    ReplicationMode,
    SceneReplicationConfig,
)
from multiplayer.protocol.format import PacketFormat
from multiplayer.protocol.messages import Sync
from multiplayer.protocol.native.codec import default_codec
from multiplayer.protocol.native.format import NativeFormat
from multiplayer.replication.net_ids import NetIds
from multiplayer.replication.stats import PeerStats
from multiplayer.replication.sync_receiver import SyncReceiver

PATH = "World/Ship/Sync"


class Host:
    """What the receiver asks of the API: the sender's path ids, and nodes."""

    def __init__(self) -> None:
        self.paths: dict[tuple[int, int], str] = {}
        self.nodes: dict[str, Node] = {}
        self.notices: list[tuple[int, str]] = []

    @property
    def format(self) -> PacketFormat:
        return NativeFormat(default_codec)

    def path_of(self, sender: int, path_id: int) -> str | None:
        return self.paths.get((sender, path_id))

    def find_node(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def notice(self, peer_id: int, reason: str) -> None:
        self.notices.append((peer_id, reason))


class Ship(Node):
    """Position always, hp and cargo on change; owned by peer 2."""

    def __init__(self) -> None:
        super().__init__("Ship")
        self.position = 0
        self.hp = 100
        self.cargo: list[str] = []
        config = SceneReplicationConfig()
        config.add_property(".:position")
        for prop in (".:hp", ".:cargo"):
            config.add_property(prop)
            config.property_set_replication_mode(prop, ReplicationMode.ON_CHANGE)
        self.sync = MultiplayerSynchronizer("Sync", replication_config=config)
        self.add_child(self.sync)
        self.set_multiplayer_authority(2)


HOSTS: list[Host] = []  # the last setup()'s host, for its notices


def setup() -> tuple[SyncReceiver, Ship, dict[int, PeerStats]]:
    host = Host()
    HOSTS[:] = [host]
    ship = Ship()
    host.paths[(2, 7)] = PATH
    host.nodes[PATH] = ship.sync
    stats: dict[int, PeerStats] = {}
    return SyncReceiver(host, stats, NetIds()), ship, stats  # type: ignore[arg-type]


def test_state_is_applied_and_signalled() -> None:
    """ALWAYS values and ON_CHANGE pairs are set; the signals fire; bytes are counted
    for the peer and the synchronizer."""
    receiver, ship, stats = setup()
    fired: list[str] = []
    ship.sync.synchronized.connect(lambda: fired.append("always"))
    ship.sync.delta_synchronized.connect(lambda: fired.append("delta"))
    assert receiver.on_sync(2, Sync(1, [[7, [5]]], [[7, [1, ["tea"]]]]), 40) is None
    assert (ship.position, ship.hp, ship.cargo) == (5, 100, ["tea"])
    assert fired == ["always", "delta"]
    assert stats[2] == PeerStats(bytes_received=40, packets_received=1)
    assert ship.sync.bytes_received == len(default_codec.packb([5])) + len(
        default_codec.packb([1, ["tea"]])
    )
    assert receiver.last_seq(2) == 1


def test_an_older_sync_is_dropped() -> None:
    """A SYNC numbered at or below the last applied one changes nothing."""
    receiver, ship, stats = setup()
    receiver.on_sync(2, Sync(5, [[7, [5]]], []), 10)
    assert receiver.on_sync(2, Sync(4, [[7, [4]]], []), 10) is None
    assert receiver.on_sync(2, Sync(5, [[7, [3]]], []), 10) is None
    assert ship.position == 5 and stats[2].packets_received == 1


def test_state_from_another_peer_than_the_authority_is_refused() -> None:
    """Only the synchronizer's authority may set its state (Godot's rule)."""
    receiver, ship, _ = setup()
    ship.sync.set_multiplayer_authority(1)
    reason = receiver.on_sync(2, Sync(1, [[7, [5]]], []), 10)
    assert reason == f"SYNC for {PATH!r} from a peer that is not its authority"
    assert ship.position == 0


def test_malformed_entries_are_refused_one_by_one() -> None:
    """Each bad entry is named (three at most); the good ones still apply."""
    receiver, ship, _ = setup()
    always: list[Any] = [[7, [5]], "junk", [True, [1]], [9, [1]]]
    delta: list[Any] = [[7, [0]], [7, [2, 1]], [7, [False, 1]], [7, [0, 8]]]
    reason = receiver.on_sync(2, Sync(1, always, delta), 10)
    assert reason == (
        "a SYNC entry is not [path_id, [values]]; a SYNC entry is not [path_id, [values]]; "
        f"bad delta indices for {PATH!r}"
    )
    assert (ship.position, ship.hp) == (5, 8)
    # State for a synchronizer that is not here: logged, not refused (a race).
    assert HOSTS[0].notices == [(2, "SYNC for None, which is no synchronizer here")]


def test_bad_delta_indices_and_values_are_refused() -> None:
    """An odd list, an index out of range, a bool for an index, or values that do
    not fit the properties: refused, with the synchronizer's path."""
    for delta in ([7, [0]], [7, [2, 1]], [7, [False, 1]]):
        receiver, ship, _ = setup()
        reason = receiver.on_sync(2, Sync(1, [], [delta]), 10)
        assert reason == f"bad delta indices for {PATH!r}"
        assert ship.hp == 100
    receiver, ship, _ = setup()
    reason = receiver.on_sync(2, Sync(1, [[7, [1, 2]]], []), 10)
    assert reason is not None and reason.startswith(f"cannot apply state to {PATH!r}")


def test_a_peer_that_left_starts_again_from_one() -> None:
    """Sequence numbers are per peer, forgotten when it leaves or on a reset."""
    receiver, ship, _ = setup()
    receiver.on_sync(2, Sync(5, [[7, [5]]], []), 10)
    receiver.forget_peer(2)
    assert receiver.last_seq(2) == 0
    receiver.on_sync(2, Sync(1, [[7, [6]]], []), 10)
    receiver.clear()
    receiver.on_sync(2, Sync(1, [[7, [7]]], []), 10)
    assert ship.position == 7
