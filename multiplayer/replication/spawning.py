"""Spawning and despawning across peers: the spawn side of Godot's
SceneReplicationInterface (``on_spawn``, ``on_despawn``, ``_update_spawn_visibility``,
``_make_spawn_packet``, ``on_spawn_receive``, ``_free_remotes``).

On the spawner's authority, a spawnable node added under a spawner's ``spawn_path``
is tracked once it is ready: it gets a net id and a SPAWN goes to every peer that
sees it; when it leaves the tree, a DESPAWN. A peer that joins later gets a SPAWN
for every tracked node, in spawn order, with the current spawn properties. On
receivers, a SPAWN is checked (the sender must be the spawner's authority there too),
the node is built, its spawn properties set before it enters the tree, and it is
added; the nodes a peer spawned are freed when it leaves.

The spawn properties of every synchronizer under the node travel, whoever owns the
synchronizer (Godot sends only the spawner authority's: godotengine/godot#85019).
Synchronizers under a node that was spawned on its own (a player in a spawned level)
travel with that node's spawn, not with the enclosing one. In a profile with
``sync_net_ids`` (Godot's) a SPAWN is Godot's instead: it carries the synchronizers
whose root is the node and whose authority is the sender, each with a net id, and a
node gets its own net id when first spawned to a peer (``_make_spawn_packet``); the
receiver hands the ids and the values out as the synchronizers enter its tree
(:mod:`.net_ids`), and refuses the spawn, removing the node, if they do not fit.

Everything this module knows about a node (tracked, received, waiting to be ready)
is kept here, keyed by the node: nodes and spawners carry none of it.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidState
from ..peer_sets import PeerSet
from ..protocol.messages import Despawn, Spawn
from ..scene.node import Node, validate_node_name
from .spawner import CUSTOM_SPAWN, MultiplayerSpawner
from .synchronizer import MultiplayerSynchronizer

if TYPE_CHECKING:
    from .baselines import Baselines
    from .host import ReplicationHost
    from .net_ids import NetIds
    from .visibility import Visibility

__all__ = ["SpawnReplicator"]

logger = logging.getLogger("multiplayer.scene")


@dataclass(slots=True)
class _Tracked:
    """A node this peer spawned (Godot's TrackedNode, on the spawner's authority)."""

    spawner: MultiplayerSpawner
    net_id: int
    on_exit: Callable[[], None]  # connected to the node's tree_exiting
    peers: PeerSet  # that have it (Godot: spawn_nodes)
    order: int = field(default_factory=itertools.count().__next__)  # spawn order


@dataclass(slots=True)
class _Received:
    """A node a peer spawned here."""

    spawner: MultiplayerSpawner
    key: tuple[int, int]  # (sender, its net id)


@dataclass(slots=True)
class _Watch:
    """A spawner's spawn node, and the callback connected to its child_entered_tree."""

    parent: Node
    on_child: Callable[[Node], None]


class SpawnReplicator:
    """Spawns and despawns for one multiplayer API.

    Args:
        host: The API, as replication sees it.
        visibility: Decides which peers see a synchronizer (and so a node).
        baselines: Reset for a peer when it gets a node spawned anew.
        net_ids: The net id counter, and the synchronizers' ids both ways.
    """

    def __init__(
        self, host: ReplicationHost, visibility: Visibility, baselines: Baselines, net_ids: NetIds
    ) -> None:
        self._host = host
        self._visibility = visibility
        self._baselines = baselines
        self._ids = net_ids
        self._watches: dict[MultiplayerSpawner, _Watch | None] = {}  # registered spawners
        # Nodes waiting to be ready before they are tracked, in tree-entry order ->
        # (spawner, scene index); those of them that are ready; RPCs made on them.
        self._queue: dict[Node, tuple[MultiplayerSpawner, int]] = {}
        self._ready: set[Node] = set()
        self._held: dict[Node, list[Callable[[], None]]] = {}
        self._tracked: dict[Node, _Tracked] = {}  # in spawn order
        self._joining: dict[MultiplayerSpawner, int] | None = None  # (_spawner_id)
        self._received: dict[tuple[int, int], Node] = {}  # (sender, net id) -> node
        self._remote: dict[Node, _Received] = {}
        # spawner -> its tracked and received nodes (spawn_limit counts them)
        self._by_spawner: dict[MultiplayerSpawner, dict[Node, None]] = {}
        # tracked node -> its synchronizers, for visibility checks; emptied whenever a
        # synchronizer enters or leaves or a node starts or stops being spawned
        self._node_syncs: dict[Node, list[MultiplayerSynchronizer]] = {}

    # Spawners.

    def add_spawner(self, spawner: MultiplayerSpawner) -> None:
        """Watch ``spawner``'s spawn node for spawnable children."""
        parent = spawner.get_spawn_node()
        watch = None
        if parent is not None:
            on_child = functools.partial(self._on_child_entered, spawner)
            parent.child_entered_tree.connect(on_child)
            watch = _Watch(parent, on_child)
        self._watches[spawner] = watch

    def remove_spawner(self, spawner: MultiplayerSpawner) -> None:
        """Stop watching; what ``spawner`` spawned here is despawned everywhere
        (Godot despawns a spawner's nodes with it)."""
        watch = self._watches.pop(spawner, None)
        for node in [n for n in self._by_spawner.get(spawner, ()) if n in self._tracked]:
            self._untrack(node)
        self._queue = {n: entry for n, entry in self._queue.items() if entry[0] is not spawner}
        if watch is not None:
            watch.parent.child_entered_tree.disconnect(watch.on_child)

    def spawned_count(self, spawner: MultiplayerSpawner) -> int:
        """How many nodes ``spawner`` has spawned or received here (its spawn_limit)."""
        return len(self._by_spawner.get(spawner, ()))

    def _on_child_entered(self, spawner: MultiplayerSpawner, node: Node) -> None:
        if node in self._remote or spawner.get_multiplayer_authority() != self._host.own_id():
            return  # a node this peer received, or not ours to spawn
        info = spawner.spawn_info(node)
        if info is None:
            return  # not a spawnable scene: an ordinary child
        # Godot waits for the node to be ready (its synchronizers exist), and keeps
        # spawns in the order nodes entered the tree: a level that adds players in its
        # _ready is spawned before them although they are ready first.
        self._queue[node] = (spawner, info[0])
        self._node_syncs.clear()  # it no longer belongs to an enclosing spawn
        if node.is_node_ready():  # re-added: it will not be ready again
            self._mark_ready(node)
        else:
            node.ready.connect(lambda: self._mark_ready(node), one_shot=True)

    def hold_rpc(self, node: Node, send: Callable[[], None]) -> bool:
        """If ``node`` (or a node above it) waits to be spawned, keep ``send`` until its
        SPAWN is out, so the RPC cannot arrive first; True if it was kept."""
        if not self._queue:
            return False
        current: Node | None = node
        while current is not None:
            if current in self._queue:
                self._held.setdefault(current, []).append(send)
                return True
            current = current.get_parent()
        return False

    def _mark_ready(self, node: Node) -> None:
        if node not in self._queue:
            return  # its spawner left meanwhile
        self._ready.add(node)
        queue = self._queue
        while queue and (first := next(iter(queue))) in self._ready:
            spawner, scene = queue.pop(first)
            self._ready.discard(first)
            if first.is_inside_tree():
                self._track(spawner, first, scene)
            for send in self._held.pop(first, []):  # RPCs made before its spawn went
                send()

    # The authority's side.

    def _track(self, spawner: MultiplayerSpawner, node: Node, scene: int) -> None:
        if spawner.spawn_limit and self.spawned_count(spawner) >= spawner.spawn_limit:
            logger.warning("%s: spawn_limit reached, %s not spawned", spawner.name, node.name)
            return
        # (Godot numbers a node when it is first spawned to a peer)
        net_id = 0 if self._host.format.sync_net_ids else self._ids.next_id()
        on_exit = functools.partial(self._untrack, node)
        peers = PeerSet(self._host.peer_slots())
        self._tracked[node] = _Tracked(spawner, net_id, on_exit, peers)
        self._by_spawner.setdefault(spawner, {})[node] = None
        self._node_syncs.clear()
        node.tree_exiting.connect(on_exit, one_shot=True)
        for peer_id in self._host.get_peers():
            if self._node_visible(node, peer_id):
                self._spawn_for(node, peer_id)

    def _untrack(self, node: Node) -> None:
        tracked = self._tracked.pop(node, None)
        if tracked is None:
            return
        self._unlist(tracked.spawner, node)
        if node.tree_exiting.is_connected(tracked.on_exit):  # untracked while in the tree
            node.tree_exiting.disconnect(tracked.on_exit)
        self._node_syncs.clear()
        packet = self._host.format.encode(Despawn(tracked.net_id))
        for peer_id in tracked.peers:
            if self._host.is_admitted(peer_id):
                self._host.send_command(peer_id, packet)

    def _spawn_for(self, node: Node, peer_id: int) -> None:
        tracked = self._tracked[node]
        info = tracked.spawner.spawn_info(node)
        if info is None:
            return  # its scene was removed from the spawnable ones
        for sync in self._syncs_of(node):
            self._baselines.reset(sync, peer_id)  # its first delta carries everything
        if self._send_spawn(peer_id, tracked, node, info):
            tracked.peers.add(peer_id)

    def _send_spawn(
        self, peer_id: int, tracked: _Tracked, node: Node, info: tuple[int, Any]
    ) -> bool:
        host = self._host
        scene, data = info
        try:
            message = self._spawn_message(tracked, node, scene, data)
            message.spawner_path_id = self._spawner_id(peer_id, tracked.spawner)
            host.send_command(peer_id, host.format.encode(message))
        except Exception as exc:  # too large, a getter that raised, a spawner gone...
            logger.error("cannot spawn %s on peer %d: %s", node.name, peer_id, exc)
            return False
        return True

    def _spawn_message(self, tracked: _Tracked, node: Node, scene: int, data: Any) -> Spawn:
        """The SPAWN of ``node``, its spawner's path id left to fill."""
        if not self._host.format.sync_net_ids:
            states = [
                sync.get_state(sync.replication_config.spawn_properties())
                for sync in self.synchronizers_of(node)
            ]
            return Spawn(0, tracked.net_id, scene, node.name, data, states)
        if not tracked.net_id:
            tracked.net_id = self._ids.next_id()
        own_id = self._host.own_id()
        syncs = [
            sync
            for sync in self.synchronizers_of(node)
            if sync.get_root() is node and sync.get_multiplayer_authority() == own_id
        ]
        ids, values = self._ids.spawn_state(syncs)
        return Spawn(0, tracked.net_id, scene, node.name, data, values, ids)

    def _spawner_id(self, peer_id: int, spawner: MultiplayerSpawner) -> int:
        """The spawner's path id, told to ``peer_id`` if new to it (during a join,
        asked of the path cache once per spawner, not per node)."""
        ids = self._joining
        if ids is None:
            return self._host.path_id_for(peer_id, spawner)
        found = ids.get(spawner)
        if found is None:
            found = ids[spawner] = self._host.path_id_for(peer_id, spawner)
        return found

    def on_peer_admitted(self, peer_id: int) -> None:
        """A peer joined: it gets every node spawned so far that it sees, in spawn
        order, where parents come first; a node tracked before a node above it (moved
        there later) is left to a second, slower pass."""
        if not self._host.is_admitted(peer_id):
            return
        tracked = self._tracked
        self._joining = {}
        try:
            skipped = False
            for node, entry in list(tracked.items()):
                if tracked.get(node) is not entry or peer_id in entry.peers:
                    continue  # untracked meanwhile, or spawned there already
                if not self._node_visible(node, peer_id):
                    continue
                if _parent_spawned_for(tracked, node, peer_id):
                    self._spawn_for(node, peer_id)
                else:
                    skipped = True
            if skipped:
                for node in list(tracked):
                    self.update_spawn_visibility(node, peer_id)
        finally:
            self._joining = None

    def update_spawn_visibility(self, node: Node, peer_id: int) -> None:
        """Spawn ``node`` (one we spawned) for ``peer_id`` if it should have it and
        does not, or despawn it there in the opposite case (Godot's
        _update_spawn_visibility). What we spawned under it follows."""
        tracked = self._tracked.get(node)
        if tracked is None or not self._host.is_admitted(peer_id):
            return
        has, spawned = peer_id in tracked.peers, self._tracked
        wants = self._node_visible(node, peer_id) and _parent_spawned_for(spawned, node, peer_id)
        if wants and not has:
            self._spawn_for(node, peer_id)
            for child in _tracked_inside(self._tracked, node):  # what it holds comes back, in order
                self.update_spawn_visibility(child, peer_id)
        elif has and not wants:
            tracked.peers.discard(peer_id)
            self._host.send_command(peer_id, self._host.format.encode(Despawn(tracked.net_id)))
            for child in _tracked_inside(self._tracked, node):  # what it held went with it there
                self._tracked[child].peers.discard(peer_id)

    def _node_visible(self, node: Node, peer_id: int) -> bool:
        """A spawned node is visible to a peer if any synchronizer of it that we are the
        authority of is, or if it has none (Godot's spawn visibility)."""
        own_id = self._host.own_id()
        own = [s for s in self._syncs_of(node) if s.get_multiplayer_authority() == own_id]
        return not own or any(self._visibility.sees(s, peer_id) for s in own)

    # The receivers' side.

    def on_spawn(self, sender: int, spawner: Node, message: Spawn) -> str | None:
        """Build and add the node a SPAWN describes; the reason if it is refused."""
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
        if spawner.spawn_limit and self.spawned_count(spawner) >= spawner.spawn_limit:
            return f"cannot spawn {message.name!r}: spawn_limit ({spawner.spawn_limit}) reached"
        with_ids = self._host.format.sync_net_ids
        if with_ids and (reason := self._ids.check_spawn(sender, message)) is not None:
            return reason
        try:
            node = self._instantiate(spawner, message)
            reason = None if with_ids else _spawn_states(self.synchronizers_of(node), message)
        except (InvalidState, LookupError, ValueError, TypeError, AttributeError) as exc:
            return f"cannot spawn {message.name!r}: {exc}"
        if reason is not None:
            return reason
        node.name = message.name
        self._remote[node] = _Received(spawner, key)
        self._received[key] = node
        self._by_spawner.setdefault(spawner, {})[node] = None
        self._node_syncs.clear()
        node.tree_exited.connect(lambda: self._forget_received(node), one_shot=True)
        if with_ids:
            reason = self._ids.add_spawned(sender, parent, node, message)
            if reason is not None:
                return f"cannot spawn {message.name!r}: {reason}"
        else:
            parent.add_child(node)
        spawner.spawned.emit(node)
        return None

    def _instantiate(self, spawner: MultiplayerSpawner, message: Spawn) -> Node:
        if message.scene == CUSTOM_SPAWN:
            return spawner.instantiate_custom(message.data)
        if not 0 <= message.scene < spawner.get_spawnable_scene_count():
            raise LookupError(f"no spawnable scene {message.scene}")
        return spawner.instantiate_scene(message.scene)

    def _forget_received(self, node: Node) -> None:
        received = self._remote.pop(node, None)
        if received is None:
            return
        if self._received.get(received.key) is node:
            del self._received[received.key]
        self._unlist(received.spawner, node)
        self._node_syncs.clear()

    def on_despawn(self, sender: int, message: Despawn) -> str | None:
        """Free the node a DESPAWN names; the reason if it is refused."""
        node = self._received.get((sender, message.net_id))
        if node is None:
            return f"DESPAWN of unknown net id {message.net_id}"
        self._free(node)
        return None

    def _free(self, node: Node) -> None:
        received = self._remote.get(node)
        parent = node.get_parent()
        if parent is not None:
            parent.remove_child(node)
        if received is not None and received.spawner in self._watches:
            received.spawner.despawned.emit(node)

    # Peers.

    def on_peer_removed(self, peer_id: int) -> None:
        """A peer left: the nodes it spawned go (Godot's _free_remotes)."""
        for (sender, _), node in list(self._received.items()):
            if sender == peer_id:
                self._free(node)
        self._host.peer_slots().release(peer_id)  # it leaves every tracked.peers

    def clear(self) -> None:
        """This side disconnected: remote nodes go, our own stay (Godot's on_reset)."""
        for node in list(self._received.values()):
            self._free(node)
        for node in list(self._remote):  # (any that had left the tree already)
            self._forget_received(node)
        for tracked in self._tracked.values():
            tracked.peers.clear()

    # What other parts of replication ask.

    def active(self) -> bool:
        """Whether anything is spawned or about to be."""
        return bool(self._tracked or self._queue)

    def tracks_any(self) -> bool:
        return bool(self._tracked)

    def is_spawned(self, node: Node) -> bool:
        """Whether ``node`` was spawned by a spawner, here or by a peer (or is about to
        be): its synchronizers travel with its own spawn."""
        return node in self._tracked or node in self._remote or node in self._queue

    def spawned_ancestor(self, node: Node) -> Node | None:
        """The node we spawned that ``node`` is, or is under; None if there is none."""
        current: Node | None = node
        tracked = self._tracked
        while current is not None:
            if current in tracked:
                return current
            current = current.get_parent()
        return None

    def spawn_peers(self, node: Node) -> PeerSet | None:
        """The peers that have the node we spawned that ``node`` is or is under (read
        only); None if ``node`` is under no node we spawned."""
        spawned = self.spawned_ancestor(node)
        return None if spawned is None else self._tracked[spawned].peers

    def synchronizers_changed(self) -> None:
        """A synchronizer entered or left the tree: the nodes' lists are stale."""
        self._node_syncs.clear()

    def synchronizers_of(self, node: Node) -> list[MultiplayerSynchronizer]:
        """The synchronizers of a spawned node: in it and under it, in tree order, but
        not under nodes spawned on their own (a player in a spawned level): those
        travel with their own spawn."""
        found: list[MultiplayerSynchronizer] = []
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, MultiplayerSynchronizer):
                found.append(current)
            stack.extend(
                child for child in reversed(current.get_children()) if not self.is_spawned(child)
            )
        return found

    def _syncs_of(self, node: Node) -> list[MultiplayerSynchronizer]:
        """``synchronizers_of(node)``, remembered while ``node`` is tracked. Spawn
        states walk the node afresh: their order is that of the tree now."""
        found = self._node_syncs.get(node)
        if found is None:
            found = self.synchronizers_of(node)
            if node in self._tracked:
                self._node_syncs[node] = found
        return found

    def _unlist(self, spawner: MultiplayerSpawner, node: Node) -> None:
        nodes = self._by_spawner.get(spawner)
        if nodes is not None:
            nodes.pop(node, None)
            if not nodes:
                del self._by_spawner[spawner]


def _tracked_inside(tracked: dict[Node, _Tracked], node: Node) -> list[Node]:
    """The nodes of ``tracked`` below ``node``, in spawn order. The walk is over the
    node's branch, not over every spawned node: a peer's join visits each spawned
    node once, not once per other spawned node (N*N for N objects)."""
    found: list[Node] = []
    below = node.get_children()
    while below:
        current = below.pop()
        if current in tracked:
            found.append(current)
        below.extend(current.get_children())
    found.sort(key=lambda inner: tracked[inner].order)
    return found


def _parent_spawned_for(tracked: dict[Node, _Tracked], node: Node, peer_id: int) -> bool:
    """Whether every node of ``tracked`` above ``node`` exists at ``peer_id``."""
    current = node.get_parent()
    while current is not None:
        found = tracked.get(current)
        if found is not None and peer_id not in found.peers:
            return False
        current = current.get_parent()
    return True


def _spawn_states(syncs: list[MultiplayerSynchronizer], message: Spawn) -> str | None:
    """Set a received node's spawn properties, before it enters the tree (Godot sets
    them as each synchronizer enters it, before ``_ready``); the reason if it cannot."""
    states = message.states
    if len(syncs) != len(states):
        return f"{len(states)} spawn states for {len(syncs)} synchronizers"
    for sync, state in zip(syncs, states, strict=True):
        if not isinstance(state, list):
            return "a spawn state is not a list"
        sync.set_state(sync.replication_config.spawn_properties(), state)
    return None
