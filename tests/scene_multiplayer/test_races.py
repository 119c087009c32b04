"""Races between honest peers are never counted against them (issue 14, item 5).

Each side's view lags the other's by the time a packet takes. In that window an
honest peer can send what no longer fits this side: a confirmation for a path whose
node was freed meanwhile, a call for such a node, state for it, a relay to a peer
that just left. These are logged quietly and never counted as violations, so fast
spawn and free churn (bombs, projectiles) over a slow link cannot get a well-behaved
client kicked. The in-memory network's ``latency`` opens those windows.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from multiplayer import (
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    SceneReplicationConfig,
    SceneTree,
    rpc,
)
from multiplayer.protocol.godot.format import GodotFormat
from multiplayer.protocol.messages import RemoteCall
from multiplayer.protocol.native.codec import Codec
from multiplayer.testing import MemoryNetwork


class Bomb(Node):
    """A short-lived spawned node with an RPC and a synchronizer."""

    def __init__(self) -> None:
        super().__init__("Bomb")
        self.fuse = 3
        config = SceneReplicationConfig()
        config.add_property(".:fuse")
        self.add_child(MultiplayerSynchronizer("Sync", replication_config=config))

    @rpc("any_peer")
    def defuse(self) -> None:
        pass


class Field(Node):
    def __init__(self) -> None:
        super().__init__("Field")
        self.bombs = Node("Bombs")
        self.add_child(self.bombs)
        self.spawner = MultiplayerSpawner("Spawner", spawn_path="../Bombs")
        self.spawner.add_spawnable_scene(Bomb)
        self.add_child(self.spawner)


def play(protocol: str, latency: int) -> tuple[list[SceneTree], list[Field]]:
    network = MemoryNetwork(protocol=protocol, latency=latency)
    trees, fields = [], []
    for peer in (network.create_server(), network.create_client()):
        tree, field = SceneTree(), Field()
        tree.root.add_child(field)
        api = tree.get_multiplayer()
        api.multiplayer_peer = peer
        api.rate_limits.max_violations = 3  # so that a handful of miscounts would show
        trees.append(tree)
        fields.append(field)
    pump(trees, 2 + 2 * latency)
    return trees, fields


def pump(trees: list[SceneTree], frames: int) -> None:
    for _ in range(frames):
        for tree in trees:
            tree.process(1 / 60)


@pytest.mark.parametrize("protocol", ["native", "godot"])
@pytest.mark.parametrize("latency", [1, 3])
def test_spawn_and_free_at_once_never_gets_a_client_kicked(
    protocol: str, latency: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The server spawns a bomb, waits until the client has it, frees it at once,
    forty times: the client's confirmations, calls and state for bombs that are gone
    by the time they arrive are not violations, and it stays connected."""
    caplog.set_level(logging.INFO, "multiplayer")
    trees, fields = play(protocol, latency)
    server, client = fields
    for _ in range(40):
        bomb = Bomb()
        server.bombs.add_child(bomb, force_readable_name=True)
        for _ in range(50):  # until the client has it
            pump(trees, 1)
            if client.bombs.get_children():
                break
        (copy,) = client.bombs.get_children()
        copy.defuse.rpc_id(1)  # a call that arrives after the bomb is gone
        server.bombs.remove_child(bomb)
        pump(trees, 2 * latency + 2)
    assert trees[0].get_multiplayer().get_peers() == [2]
    assert "refused" not in caplog.text and "disconnecting" not in caplog.text
    assert "which left the tree" in caplog.text  # the late calls were seen, quietly


def test_a_call_for_a_node_that_never_was_is_still_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only nodes that were here lately make a race: a call for a path that never
    named a node is a refusal, counted."""
    trees, _ = play("godot", 0)
    peer = trees[1].get_multiplayer().multiplayer_peer
    assert peer is not None
    peer.set_target_peer(1)
    peer.put_packet(GodotFormat(Codec()).encode(RemoteCall(0, 0, [], "Field/Bombs/Nothing")))
    pump(trees, 2)
    assert "refused from peer 2: RPC 'defuse' on 'Field/Bombs/Nothing'" not in caplog.text
    assert "refused from peer 2:" in caplog.text and "no such node" in caplog.text


def test_the_race_window_is_bounded(make_session: Any) -> None:
    """The paths of freed nodes are remembered up to a bound, oldest forgotten first."""
    from multiplayer.scene_multiplayer.cache import MAX_GONE

    session = make_session(clients=0)
    game = session.games[0]
    for i in range(MAX_GONE + 10):
        child = Node(f"N{i}")
        game.add_child(child)
        game.remove_child(child)
    gone = session.api(0)._cache._gone
    assert len(gone) == MAX_GONE and "Game/N0" not in gone and f"Game/N{MAX_GONE + 9}" in gone


def test_a_call_for_a_node_freed_long_ago_is_refused(
    make_session: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race window closes: past RACE_WINDOW seconds after a node left, a call for
    it is a refusal again, so a peer cannot call freed nodes uncounted for ever."""
    from multiplayer.scene_multiplayer import cache

    session = make_session(clients=1)
    client_game = session.games[1]
    session.games[0].get_parent().remove_child(session.games[0])  # freed on the server
    client_game.rpc_id(1, "hello", 1)  # on its way
    session.pump()
    assert "which left the tree" in caplog.text and "refused" not in caplog.text
    monkeypatch.setattr(cache, "RACE_WINDOW", 0.0)  # as if the window had passed
    client_game.rpc_id(1, "hello", 2)
    session.pump()
    assert "refused from peer 2: RPC 'hello' on 'Game': no such node" in caplog.text
