"""The scene replicator: spawns and despawns across peers (Godot's
SceneReplicationInterface). One per SceneMultiplayer.

On the spawner's authority, a spawnable node added under a spawner's ``spawn_path``
is tracked once it is ready: it gets a net id and a SPAWN goes to every peer; when it
leaves the tree, a DESPAWN. A peer that joins later gets a SPAWN for every tracked
node, with the current spawn properties. On receivers, a SPAWN is checked (the
sender must be the spawner's authority there too), the node is built, its spawn
properties set before it enters the tree, and it is added; nodes a peer spawned are
freed when it leaves. Spawn properties of every synchronizer under the node travel,
whoever owns the synchronizer (Godot sends only the spawner authority's: #85019).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .exceptions import EncodingError, InvalidState
from .messages import Despawn, Spawn
from .peer import TransferMode
from .synchronizer import MultiplayerSynchronizer
from .tree import Node, validate_node_name

if TYPE_CHECKING:
    from .scene_multiplayer import SceneMultiplayer
    from .spawner import MultiplayerSpawner

__all__ = ["SceneReplicator"]

logger = logging.getLogger("multiplayer.scene")

_RELIABLE = TransferMode.RELIABLE


class SceneReplicator:
    """Spawning and despawning for one multiplayer API."""

    def __init__(self, api: SceneMultiplayer) -> None:
        self._api = api
        self._spawners: list[MultiplayerSpawner] = []
        self._next_net_id = 0
        # on the authority: every tracked node, in spawn order -> (spawner, net id)
        self._tracked: dict[Node, tuple[MultiplayerSpawner, int]] = {}
        # on receivers: (sender, net id) -> the node spawned for it
        self._received: dict[tuple[int, int], Node] = {}

    # Spawners.

    def add_spawner(self, spawner: MultiplayerSpawner) -> None:
        self._spawners.append(spawner)
        parent = spawner.get_spawn_node()
        if parent is not None:
            spawner._watched = parent
            parent.child_entered_tree.connect(self._child_entered_for(spawner))

    def remove_spawner(self, spawner: MultiplayerSpawner) -> None:
        if spawner in self._spawners:
            self._spawners.remove(spawner)
        parent, spawner._watched = spawner._watched, None
        if parent is not None:
            for connection in list(parent.child_entered_tree._connections):
                if getattr(connection.callback, "spawner", None) is spawner:
                    parent.child_entered_tree.disconnect(connection.callback)

    def _child_entered_for(self, spawner: MultiplayerSpawner) -> Any:
        def on_child(node: Node) -> None:
            self._on_child_entered(spawner, node)

        on_child.spawner = spawner  # type: ignore[attr-defined]
        return on_child

    def _on_child_entered(self, spawner: MultiplayerSpawner, node: Node) -> None:
        if node in spawner._remote or not self._is_authority(spawner):
            return  # a node this peer received, or not ours to spawn
        custom = getattr(node, "_spawn_data", None)
        scene = -1 if custom is not None else spawner.scene_index_of(node)
        if scene is None:
            return  # not a spawnable scene: an ordinary child
        # Godot waits for the node to be ready: its children (synchronizers) exist.
        node.ready.connect(lambda: self._track(spawner, node, scene), one_shot=True)

    def _is_authority(self, spawner: MultiplayerSpawner) -> bool:
        peer = self._api.multiplayer_peer
        return peer is not None and spawner.get_multiplayer_authority() == peer.get_unique_id()

    # The authority's side.

    def _track(self, spawner: MultiplayerSpawner, node: Node, scene: int) -> None:
        if spawner.spawn_limit and len(spawner._tracked) >= spawner.spawn_limit:
            logger.warning("%s: spawn_limit reached, %s not spawned", spawner.name, node.name)
            return
        self._next_net_id += 1
        net_id = self._next_net_id
        spawner._tracked[node] = net_id
        self._tracked[node] = (spawner, net_id)
        node.tree_exiting.connect(lambda: self._untrack(node), one_shot=True)
        for peer_id in self._api.get_peers():
            self._send_spawn(peer_id, spawner, node, net_id, scene)

    def _untrack(self, node: Node) -> None:
        entry = self._tracked.pop(node, None)
        if entry is None:
            return
        spawner, net_id = entry
        spawner._tracked.pop(node, None)
        packet = Despawn(net_id).serialize(self._api.codec)
        for peer_id in self._api.get_peers():
            self._api._send(peer_id, packet, _RELIABLE, 0)

    def _send_spawn(
        self, peer_id: int, spawner: MultiplayerSpawner, node: Node, net_id: int, scene: int
    ) -> None:
        custom = getattr(node, "_spawn_data", None)
        data = custom[0] if custom is not None and scene == -1 else None
        try:
            states = [
                sync.get_state(sync.replication_config.spawn_properties())
                for sync in _synchronizers(node)
            ]
            path_id = self._api._announce_path(peer_id, spawner)
            packet = Spawn(path_id, net_id, scene, node.name, data, states).serialize(
                self._api.codec
            )
        except (EncodingError, LookupError) as exc:
            logger.error("cannot spawn %s on peer %d: %s", node.name, peer_id, exc)
            return
        self._api._send(peer_id, packet, _RELIABLE, 0)

    def on_peer_admitted(self, peer_id: int) -> None:
        """A peer joined: it gets every node spawned here so far, in spawn order."""
        for node, (spawner, net_id) in list(self._tracked.items()):
            scene = (
                -1
                if getattr(node, "_spawn_data", None) is not None
                else (spawner.scene_index_of(node))
            )
            if scene is not None:
                self._send_spawn(peer_id, spawner, node, net_id, scene)

    # The receivers' side.

    def on_spawn(self, sender: int, spawner: Node, message: Spawn) -> str | None:
        """Build and add the node a SPAWN describes; the reason if it is refused."""
        from .spawner import MultiplayerSpawner

        if not isinstance(spawner, MultiplayerSpawner):
            return "SPAWN for a node that is not a MultiplayerSpawner"
        if sender != spawner.get_multiplayer_authority():
            return f"SPAWN from a peer that is not the spawner's authority ({sender})"
        key = (sender, message.net_id)
        if key in self._received:
            return f"duplicate net id {message.net_id}"
        parent = spawner.get_spawn_node()
        if parent is None:
            return f"the spawner has no node at spawn_path {spawner.spawn_path!r}"
        try:
            validate_node_name(message.name)
        except ValueError as exc:
            return str(exc)
        if parent.has_node(message.name):
            return f"{message.name!r} exists already under the spawn path"
        try:
            spawner._check_limit()
            node = self._instantiate(spawner, message)
            syncs = _synchronizers(node)
            if len(syncs) != len(message.states):
                return f"{len(message.states)} spawn states for {len(syncs)} synchronizers"
            for sync, state in zip(syncs, message.states, strict=True):
                if not isinstance(state, list):
                    return "a spawn state is not a list"
                sync.set_state(sync.replication_config.spawn_properties(), state)
        except (InvalidState, LookupError, ValueError, TypeError, AttributeError) as exc:
            return f"cannot spawn {message.name!r}: {exc}"
        node.name = message.name
        spawner._remote[node] = key
        self._received[key] = node
        node.tree_exited.connect(lambda: self._forget_received(spawner, node, key), one_shot=True)
        parent.add_child(node)
        spawner.spawned.emit(node)
        return None

    def _instantiate(self, spawner: MultiplayerSpawner, message: Spawn) -> Node:
        if message.scene == -1:
            return spawner._build_custom(message.data)
        if not 0 <= message.scene < spawner.get_spawnable_scene_count():
            raise LookupError(f"no spawnable scene {message.scene}")
        return spawner.instantiate_scene(message.scene)

    def _forget_received(
        self, spawner: MultiplayerSpawner, node: Node, key: tuple[int, int]
    ) -> None:
        spawner._remote.pop(node, None)
        if self._received.get(key) is node:
            del self._received[key]

    def on_despawn(self, sender: int, message: Despawn) -> str | None:
        node = self._received.get((sender, message.net_id))
        if node is None:
            return f"DESPAWN of unknown net id {message.net_id}"
        self._free(node)
        return None

    def on_peer_removed(self, peer_id: int) -> None:
        """A peer left: the nodes it spawned go (Godot's _free_remotes)."""
        for (sender, _), node in list(self._received.items()):
            if sender == peer_id:
                self._free(node)

    def _free(self, node: Node) -> None:
        spawner = next((s for s in self._spawners if node in s._remote), None)
        parent = node.get_parent()
        if parent is not None:
            parent.remove_child(node)
        if spawner is not None:
            spawner.despawned.emit(node)

    def clear(self) -> None:
        """This side disconnected: remote nodes go; our own stay (Godot's on_reset)."""
        for node in list(self._received.values()):
            self._free(node)
        self._received.clear()


def _synchronizers(node: Node) -> list[MultiplayerSynchronizer]:
    """The synchronizers of a spawned node: itself and its descendants, in tree order."""
    return [n for n in node._walk() if isinstance(n, MultiplayerSynchronizer)]
