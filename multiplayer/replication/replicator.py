"""The scene replicator: spawns, despawns and state across peers (Godot's
SceneReplicationInterface). One per SceneMultiplayer, which calls its entry points.

It is the coordinator of four parts, each in a module of its own:

* :mod:`.spawning`: spawning and despawning, late joiners, spawn visibility;
* :mod:`.sync_sender`: collecting the state that is due and sending SYNC packets;
* :mod:`.sync_receiver`: applying the SYNC packets peers send;
* :mod:`.visibility`: which peers see a synchronizer, asked once per peer and frame;

and :mod:`.baselines`, what each peer has of each synchronizer's state, which the
spawn side and the visibility changes reset and the sender moves on; and
:mod:`.net_ids`, the ids of nodes and synchronizers both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .baselines import Baselines
from .net_ids import NetIds
from .spawning import SpawnReplicator
from .stats import PeerStats
from .sync_receiver import SyncReceiver
from .sync_sender import SyncSender
from .visibility import Visibility

if TYPE_CHECKING:
    from ..protocol.messages import Despawn, Spawn, Sync
    from ..scene.node import Node
    from .host import ReplicationHost
    from .spawner import MultiplayerSpawner
    from .synchronizer import MultiplayerSynchronizer

__all__ = ["PeerStats", "SceneReplicator"]


class SceneReplicator:
    """Replication for one multiplayer API, seen only through ``host``.

    Attributes:
        stats: Peer id -> state traffic with that peer.
    """

    def __init__(self, host: ReplicationHost) -> None:
        self._host = host
        self.stats: dict[int, PeerStats] = {}
        self._visibility = Visibility()
        self._baselines = Baselines()
        self._net_ids = ids = NetIds()
        self._spawns = SpawnReplicator(host, self._visibility, self._baselines, ids)
        self._sender = SyncSender(
            host, self._visibility, self._baselines, self._spawns, self.stats, ids
        )
        self._receiver = SyncReceiver(host, self.stats, ids)

    # What spawners and synchronizers register (Godot: object_configuration_add).

    def add_spawner(self, spawner: MultiplayerSpawner) -> None:
        self._spawns.add_spawner(spawner)

    def remove_spawner(self, spawner: MultiplayerSpawner) -> None:
        self._spawns.remove_spawner(spawner)

    def spawned_count(self, spawner: MultiplayerSpawner) -> int:
        """How many nodes ``spawner`` has spawned or received here."""
        return self._spawns.spawned_count(spawner)

    def add_synchronizer(self, sync: MultiplayerSynchronizer) -> None:
        self._baselines.add(sync)
        self._spawns.synchronizers_changed()
        self._net_ids.on_added(sync)  # (a received spawn's: its id and spawn state)

    def remove_synchronizer(self, sync: MultiplayerSynchronizer) -> None:
        self._baselines.remove(sync)
        self._spawns.synchronizers_changed()
        self._visibility.forget(sync)
        self._net_ids.remove(sync)
        self._receiver.forget_synchronizer(sync)

    def visibility_changed(self, sync: MultiplayerSynchronizer, for_peer: int) -> None:
        """Spawn or despawn the synchronizer's node for peers that gained or lost it
        (``for_peer`` 0: any peer may have)."""
        node = self._spawns.spawned_ancestor(sync)
        peers = self._host.get_peers() if for_peer == 0 else [for_peer]
        visible = self._visibility.evaluate(sync, for_peer, peers)
        out = self._baselines.records.get(sync)
        try:
            for peer_id in peers:
                if out is not None and visible is not None and peer_id not in visible:
                    out.reset(peer_id)  # a fresh start when visible again
                if node is not None:
                    self._spawns.update_spawn_visibility(node, peer_id)
        finally:
            self._visibility.settle(sync)

    # The API's entry points.

    def on_network_process(self) -> None:
        """Send the state that is due (once a network frame, at the end of poll())."""
        self._sender.send_due()

    def on_peer_admitted(self, peer_id: int) -> None:
        """A peer joined: it gets every node spawned so far, then all of the state."""
        self._baselines.reset_peer(peer_id)
        self._spawns.on_peer_admitted(peer_id)

    def on_peer_removed(self, peer_id: int) -> None:
        """A peer left: the nodes it spawned go, and all that was kept for it."""
        self._spawns.on_peer_removed(peer_id)
        self._baselines.forget_peer(peer_id)
        self._sender.forget_peer(peer_id)
        self._receiver.forget_peer(peer_id)
        self._net_ids.forget_peer(peer_id)
        self.stats.pop(peer_id, None)

    def clear(self) -> None:
        """This side disconnected: remote nodes go; our own stay (Godot's on_reset)."""
        self._spawns.clear()
        self._baselines.clear()
        self._sender.clear()
        self._receiver.clear()
        self._net_ids.clear()
        self.stats.clear()

    def active(self) -> bool:
        """Whether anything is replicated (else RPCs need no visibility checks)."""
        return self._spawns.active() or bool(self._baselines)

    def hold_rpc(self, node: Node, send: Callable[[], None]) -> bool:
        """If ``node`` (or a node above it) waits to be spawned, keep ``send`` until its
        SPAWN is out, so the RPC cannot arrive first; True if it was kept."""
        return self._spawns.hold_rpc(node, send)

    def rpc_visible(self, node: Node, peer_id: int) -> bool:
        """Whether a broadcast RPC on ``node`` goes to ``peer_id`` (Godot's
        is_rpc_visible): to the peers that have it if we spawned it, else if any of
        its synchronizers is visible to that peer, or it has none."""
        if not self._spawns.tracks_any() and not self._baselines:
            return True  # no replication at all: everything is visible
        peers = self._spawns.spawn_peers(node)
        if peers is not None:
            return peer_id in peers
        syncs = [s for s in self._spawns.synchronizers_of(node) if s.get_root() is node]
        return not syncs or any(s.is_visible_to(peer_id) for s in syncs)

    def on_spawn(self, sender: int, spawner: Node, message: Spawn) -> str | None:
        """Build and add the node a SPAWN describes; the reason if it is refused."""
        return self._spawns.on_spawn(sender, spawner, message)

    def on_despawn(self, sender: int, message: Despawn) -> str | None:
        """Free the node a DESPAWN names; the reason if it is refused."""
        return self._spawns.on_despawn(sender, message)

    def on_sync(self, sender: int, message: Sync, size: int) -> str | None:
        """Apply a SYNC of ``size`` bytes; the reason if (some of) it was refused."""
        return self._receiver.on_sync(sender, message, size)
