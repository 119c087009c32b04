"""The scene replicator: spawns, despawns and state across peers (Godot's
SceneReplicationInterface). One per SceneMultiplayer.

On the spawner's authority, a spawnable node added under a spawner's ``spawn_path``
is tracked once it is ready: it gets a net id and a SPAWN goes to every peer; when it
leaves the tree, a DESPAWN. A peer that joins later gets a SPAWN for every tracked
node, with the current spawn properties. On receivers, a SPAWN is checked (the
sender must be the spawner's authority there too), the node is built, its spawn
properties set before it enters the tree, and it is added; nodes a peer spawned are
freed when it leaves. Spawn properties of every synchronizer under the node travel,
whoever owns the synchronizer (Godot sends only the spawner authority's: #85019).

State: every network frame (the end of ``poll()``), each synchronizer this peer is
the authority of is checked; what is due for one peer, from all synchronizers, goes
in one SYNC packet. ON_CHANGE values are compared in their packed form, so a change
inside a list or a dict is seen, and each peer gets what changed since what it last
got (all of it the first time). Synchronizers are addressed by their node path id.
A state too large for one packet is split over several; one synchronizer too large
for a packet is an error, logged, never a silent skip (Godot skips over 1350 bytes).

Cost: a server sends the same state to many peers, so each entry is packed once per
frame for every peer that gets the same bytes, and when every peer gets the same
entries (everyone sees everything and got the same updates: the usual case) the
packet body is built once and only its sequence number differs per peer. Filters
run once per peer and frame. A frame where nothing is due reads nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ..exceptions import InvalidState, PacketTooLarge
from ..protocol.messages import Command, Despawn, Spawn, Sync
from ..protocol.native.codec import array_header
from ..scene.node import Node, validate_node_name
from ..transport.peer import TransferMode
from ..values import Color, Vector2, Vector2i, Vector3, Vector3i
from .synchronizer import MultiplayerSynchronizer, VisibilityUpdateMode

if TYPE_CHECKING:
    from .host import ReplicationHost
    from .spawner import MultiplayerSpawner

__all__ = ["PeerStats", "SceneReplicator"]

logger = logging.getLogger("multiplayer.scene")

_RELIABLE = TransferMode.RELIABLE
_now = time.monotonic  # the replication clock (tests replace it)

# A SYNC packet, [6, seq, always, delta], is put together from entries packed once
# (see Sync in messages.py for the same packet built from values).
_SYNC_HEAD = array_header(4) + bytes((Command.SYNC,))
_ENTRY_HEAD = array_header(2)  # an entry: [path_id, values] or [path_id, pairs]
_PARTS_ROOM = 16  # room kept in a packet for what is not entries (head, seq, headers)

# Values that cannot change without becoming another object: the same object as at
# the last check has the same packed form, and need not be packed again to know.
_IMMUTABLE = frozenset(
    {bool, int, float, str, bytes, type(None), Vector2, Vector2i, Vector3, Vector3i, Color}
)


@dataclass(slots=True)
class _Outgoing:
    """What the authority remembers of one synchronizer."""

    # When the last send was due (not when it went: see _advance).
    last_always: float = float("-inf")
    last_delta: float = float("-inf")
    packed: list[bytes] = field(default_factory=list)  # watched values, packed
    values: list[Any] = field(default_factory=list)  # the objects that were packed
    changed_at: list[int] = field(default_factory=list)  # check number of last change
    checks: int = 0
    last_change: int = 0  # the latest of changed_at
    # The check each peer has (its baseline, -1: none): got_all, unless got says
    # otherwise for it. Usually every peer has every update, and got is empty: one
    # number for all peers, read and moved in one step whatever their count.
    got_all: int = -1
    got: dict[int, int] = field(default_factory=dict)

    def reset(self, peer_id: int) -> None:
        """``peer_id`` gets all of the state next time (it has none of it)."""
        if self.got_all == -1:
            self.got.pop(peer_id, None)
        else:
            self.got[peer_id] = -1


class _Entry(NamedTuple):
    """One synchronizer's state in a SYNC packet, packed."""

    data: bytes
    sync: MultiplayerSynchronizer
    size: int  # of the values part (what synchronizer.bytes_sent counts)
    checks: int | None  # for ON_CHANGE entries: the check they bring the peer to


class _Part(NamedTuple):
    """The entries of one SYNC packet, and the packet after its sequence number."""

    always: list[_Entry]
    delta: list[_Entry]
    body: bytes


@dataclass(slots=True)
class _Due:
    """A synchronizer with something due this frame."""

    sync: MultiplayerSynchronizer
    out: _Outgoing
    always: bytes | None  # its ALWAYS values, packed, if they are due
    checked: bool  # its ON_CHANGE values were checked
    audience: list[int] | None = None  # the peers that get it (None: every peer)


def _advance(last_due: float, interval: float, now: float) -> float:
    """When the send going out now was due: one ``interval`` after the last one.

    State is checked once a frame, so a send goes out up to a frame after it is due;
    counting the next interval from that late frame would make intervals up to a frame
    longer (20 Hz at 60 frames a second could be 15 Hz). A sender more than an
    interval behind (its first send, a long frame, a shorter interval) starts again
    from now instead of catching up with a burst."""
    due = last_due + interval
    return due if now - due < interval else now


@dataclass(slots=True)
class PeerStats:
    """State traffic with one peer (what Godot's network profiler shows)."""

    bytes_sent: int = 0
    bytes_received: int = 0
    packets_sent: int = 0
    packets_received: int = 0


class SceneReplicator:
    """Spawning and despawning for one multiplayer API."""

    def __init__(self, host: ReplicationHost) -> None:
        self._api = host
        self._spawners: list[MultiplayerSpawner] = []
        self._queue: list[tuple[MultiplayerSpawner, Node, int]] = []  # waiting for ready
        self._ready: set[Node] = set()  # queued nodes that are ready
        self._held: dict[
            Node, list[Callable[[], None]]
        ] = {}  # RPC sends waiting for a queued spawn
        self._next_net_id = 0
        # on the authority: every tracked node, in spawn order -> (spawner, net id)
        self._tracked: dict[Node, tuple[MultiplayerSpawner, int]] = {}
        # on receivers: (sender, net id) -> the node spawned for it
        self._received: dict[tuple[int, int], Node] = {}
        self._syncs: dict[MultiplayerSynchronizer, _Outgoing] = {}
        # tracked node -> its synchronizers (_synchronizers), for visibility checks;
        # emptied whenever a synchronizer enters or leaves, or a node is (un)tracked
        self._node_syncs: dict[Node, list[MultiplayerSynchronizer]] = {}
        # during on_network_process: synchronizer -> the peers that see it (None: all)
        self._frame_visible: dict[MultiplayerSynchronizer, set[int] | None] = {}
        self._in_frame = False
        self._has_spawn: dict[Node, set[int]] = {}  # our spawned node -> peers that have it
        self._seq_out: dict[int, int] = {}
        self._seq_in: dict[int, int] = {}
        self.stats: dict[int, PeerStats] = {}

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
        for node in list(spawner._tracked):  # Godot despawns them with their spawner
            self._untrack(node)
        self._queue = [entry for entry in self._queue if entry[0] is not spawner]
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
        # Godot waits for the node to be ready (its synchronizers exist), and keeps
        # spawns in the order nodes entered the tree: a level that adds players in its
        # _ready is spawned before them although they are ready first.
        node._spawned = True  # from now on, not part of an enclosing spawn's state
        self._node_syncs.clear()  # (so the synchronizers of nodes above it changed)
        self._queue.append((spawner, node, scene))
        if node._ready_done:  # re-added: it will not be ready again
            self._mark_ready(node)
        else:
            node.ready.connect(lambda: self._mark_ready(node), one_shot=True)

    def hold_rpc(self, node: Node, send: Callable[[], None]) -> bool:
        """If ``node`` (or a node above it) waits to be spawned, keep ``send`` until its
        SPAWN is out, so the RPC cannot arrive first; True if it was kept."""
        if not self._queue:
            return False
        queued = {entry[1] for entry in self._queue}
        current: Node | None = node
        while current is not None:
            if current in queued:
                self._held.setdefault(current, []).append(send)
                return True
            current = current.get_parent()
        return False

    def _mark_ready(self, node: Node) -> None:
        self._ready.add(node)
        while self._queue and self._queue[0][1] in self._ready:
            spawner, queued, scene = self._queue.pop(0)
            self._ready.discard(queued)
            if queued.is_inside_tree():
                self._track(spawner, queued, scene)
            for send in self._held.pop(queued, []):  # RPCs made before its spawn went
                send()

    def _is_authority(self, spawner: MultiplayerSpawner) -> bool:
        return spawner.get_multiplayer_authority() == self._api.own_id()

    # The authority's side.

    def _track(self, spawner: MultiplayerSpawner, node: Node, scene: int) -> None:
        if spawner.spawn_limit and len(spawner._tracked) >= spawner.spawn_limit:
            logger.warning("%s: spawn_limit reached, %s not spawned", spawner.name, node.name)
            return
        self._next_net_id += 1
        net_id = self._next_net_id
        spawner._tracked[node] = net_id
        node._spawned = True
        self._node_syncs.clear()
        self._tracked[node] = (spawner, net_id)
        node.tree_exiting.connect(lambda: self._untrack(node), one_shot=True)
        self._has_spawn[node] = set()
        for peer_id in self._api.get_peers():
            if self._node_visible(node, peer_id):
                self._spawn_for(node, peer_id)

    def _untrack(self, node: Node) -> None:
        entry = self._tracked.pop(node, None)
        if entry is None:
            return
        spawner, net_id = entry
        spawner._tracked.pop(node, None)
        self._node_syncs.clear()
        packet = Despawn(net_id).serialize(self._api.codec)
        for peer_id in self._has_spawn.pop(node, ()):
            if self._api.is_admitted(peer_id):
                self._api.send_command(peer_id, packet)

    def _send_spawn(
        self, peer_id: int, spawner: MultiplayerSpawner, node: Node, net_id: int, scene: int
    ) -> bool:
        custom = getattr(node, "_spawn_data", None)
        data = custom[0] if custom is not None and scene == -1 else None
        try:
            states = [
                sync.get_state(sync.replication_config.spawn_properties())
                for sync in _synchronizers(node)
            ]
            path_id = self._api.path_id_for(peer_id, spawner)
            packet = Spawn(path_id, net_id, scene, node.name, data, states).serialize(
                self._api.codec
            )
            self._api.send_command(peer_id, packet)
        except Exception as exc:  # too large, a getter that raised, a spawner gone...
            logger.error("cannot spawn %s on peer %d: %s", node.name, peer_id, exc)
            return False
        return True

    def on_peer_admitted(self, peer_id: int) -> None:
        """A peer joined: it gets every node spawned here so far, in spawn order."""
        for out in self._syncs.values():
            out.reset(peer_id)  # not among the peers that have got_all
        for node in list(self._tracked):  # parents come before what they hold
            self._refresh_spawn(node, peer_id)

    def _spawn_for(self, node: Node, peer_id: int) -> None:
        spawner, net_id = self._tracked[node]
        custom = getattr(node, "_spawn_data", None)
        scene = -1 if custom is not None else spawner.scene_index_of(node)
        if scene is None:
            return
        for sync in self._syncs_of(node):
            out = self._syncs.get(sync)
            if out is not None:
                out.reset(peer_id)  # its first delta carries all
        if self._send_spawn(peer_id, spawner, node, net_id, scene):
            self._has_spawn.setdefault(node, set()).add(peer_id)

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
        node._spawned = True
        self._node_syncs.clear()
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
        for peers in self._has_spawn.values():
            peers.discard(peer_id)
        for out in self._syncs.values():
            out.got.pop(peer_id, None)  # (got_all is about the peers still here)
        self._seq_out.pop(peer_id, None)
        self._seq_in.pop(peer_id, None)
        self.stats.pop(peer_id, None)

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
        for out in self._syncs.values():
            out.got.clear()
            out.got_all = -1
        for peers in self._has_spawn.values():
            peers.clear()
        self._seq_out.clear()
        self._seq_in.clear()
        self.stats.clear()

    # Synchronizers.

    def add_synchronizer(self, sync: MultiplayerSynchronizer) -> None:
        self._syncs[sync] = _Outgoing()
        self._node_syncs.clear()

    def remove_synchronizer(self, sync: MultiplayerSynchronizer) -> None:
        self._syncs.pop(sync, None)  # its baselines with it
        self._node_syncs.clear()
        self._frame_visible.pop(sync, None)

    def _syncs_of(self, node: Node) -> list[MultiplayerSynchronizer]:
        """``_synchronizers(node)``, remembered for tracked nodes (for visibility:
        spawn states walk the node afresh, their order matters)."""
        found = self._node_syncs.get(node)
        if found is None:
            found = _synchronizers(node)
            if node in self._tracked:
                self._node_syncs[node] = found
        return found

    def visibility_changed(self, sync: MultiplayerSynchronizer, for_peer: int) -> None:
        """Spawn or despawn the synchronizer's node for peers that gained or lost it."""
        node = self._spawned_ancestor(sync)
        memo = self._frame_visible
        if for_peer == 0:
            # Filters run once per peer; the spawn checks below and, during a network
            # frame, the sending use what they said.
            peers = self._api.get_peers()
            memo[sync] = visible = sync._visible_among(peers)
        else:
            memo.pop(sync, None)  # one peer's flag changed: ask the filters again
            peers = [for_peer]
            visible = None if sync.is_visible_to(for_peer) else set()
        try:
            out = self._syncs.get(sync)
            for peer_id in peers:
                if out is not None and visible is not None and peer_id not in visible:
                    out.reset(peer_id)  # a fresh start when visible again
                if node is not None:
                    self._refresh_spawn(node, peer_id)
        finally:
            if not self._in_frame:
                memo.pop(sync, None)  # outside a frame, filters may say otherwise later

    def _refresh_spawn(self, node: Node, peer_id: int) -> None:
        if not self._api.is_admitted(peer_id):
            return
        has = peer_id in self._has_spawn.get(node, set())
        wants = self._node_visible(node, peer_id) and self._parent_spawned_for(node, peer_id)
        if wants and not has:
            self._spawn_for(node, peer_id)
        elif has and not wants:
            self._has_spawn[node].discard(peer_id)
            net_id = self._tracked[node][1]
            self._api.send_command(peer_id, Despawn(net_id).serialize(self._api.codec))
            for child in self._tracked:  # what was spawned under it went with it there
                if child is not node and node.is_ancestor_of(child):
                    self._has_spawn.get(child, set()).discard(peer_id)
        if wants and not has:
            for child in list(self._tracked):  # and comes back with it, in order
                if child is not node and node.is_ancestor_of(child):
                    self._refresh_spawn(child, peer_id)

    def _parent_spawned_for(self, node: Node, peer_id: int) -> bool:
        """Whether every node we spawned above ``node`` exists at ``peer_id``."""
        current = node.get_parent()
        while current is not None:
            if current in self._tracked and peer_id not in self._has_spawn.get(current, set()):
                return False
            current = current.get_parent()
        return True

    def _spawned_ancestor(self, node: Node) -> Node | None:
        """The node we spawned that ``node`` is (or is under), if any."""
        current: Node | None = node
        while current is not None:
            if current in self._tracked:
                return current
            current = current.get_parent()
        return None

    def _node_visible(self, node: Node, peer_id: int) -> bool:
        """A spawned node is visible to a peer if any synchronizer of it that we are the
        authority of is, or if it has none (Godot's spawn visibility)."""
        own = [s for s in self._syncs_of(node) if self._is_own(s)]
        return not own or any(self._sees(s, peer_id) for s in own)

    def _sees(self, sync: MultiplayerSynchronizer, peer_id: int) -> bool:
        """``sync.is_visible_to(peer_id)``, from this frame's answer if there is one."""
        if sync in self._frame_visible:
            visible = self._frame_visible[sync]
            return visible is None or peer_id in visible
        return sync.is_visible_to(peer_id)

    def active(self) -> bool:
        """Whether anything is replicated (else RPCs need no visibility checks)."""
        return bool(self._tracked or self._syncs or self._queue)

    def rpc_visible(self, node: Node, peer_id: int) -> bool:
        """Whether a broadcast RPC on ``node`` goes to ``peer_id`` (Godot's rule)."""
        if not self._tracked and not self._syncs:
            return True  # no replication at all: everything is visible
        spawned = self._spawned_ancestor(node)
        if spawned is not None:
            return peer_id in self._has_spawn.get(spawned, set())
        syncs = [s for s in _synchronizers(node) if s.get_root() is node]
        return not syncs or any(s.is_visible_to(peer_id) for s in syncs)

    def _is_own(self, sync: MultiplayerSynchronizer) -> bool:
        return sync.get_multiplayer_authority() == self._api.own_id()

    # Sending state.

    def on_network_process(self) -> None:
        """Send what is due, to every peer that sees it, one SYNC packet per peer."""
        api = self._api
        peers = api.get_peers()
        if not peers or not self._syncs:
            return
        now = _now()
        own_id = api.own_id()
        due: list[_Due] = []
        self._in_frame = True
        try:
            for sync, out in list(self._syncs.items()):
                if sync.get_multiplayer_authority() != own_id or not sync.is_inside_tree():
                    continue
                try:
                    if sync.has_filters() and (
                        sync.visibility_update_mode is not VisibilityUpdateMode.NONE
                    ):
                        sync.update_visibility(0)  # Godot re-evaluates filters every frame
                    item = self._collect(sync, out, now)
                    if item is not None:
                        item.audience = self._audience(sync, peers)
                        due.append(item)
                except Exception as exc:  # a getter or a filter of the user's raised
                    api.report(
                        own_id,
                        ("state", sync.get_path()),
                        f"{sync.get_path()}: cannot read its state: {exc!r}",
                    )
            if due:
                self._send_due(due, peers)
        finally:
            self._in_frame = False
            self._frame_visible.clear()

    def _collect(self, sync: MultiplayerSynchronizer, out: _Outgoing, now: float) -> _Due | None:
        """What ``sync`` has due now: its ALWAYS values (packed), and whether its
        ON_CHANGE values were checked; None if nothing is due."""
        always_due = now - out.last_always >= sync.replication_interval
        delta_due = now - out.last_delta >= sync.delta_interval
        if not (always_due or delta_due):
            return None  # between two intervals: nothing is read
        config = sync.replication_config
        always = None
        if always_due and (props := config.sync_properties()):
            out.last_always = _advance(out.last_always, sync.replication_interval, now)
            always = self._api.codec.packb(sync.get_state(props))
        checked = False
        if delta_due and (props := config.watch_properties()):
            out.last_delta = _advance(out.last_delta, sync.delta_interval, now)
            self._check_changes(sync, out, props)
            checked = True
        if always is None and (not checked or (not out.got and out.last_change <= out.got_all)):
            return None  # nothing, or no change that any peer lacks
        return _Due(sync, out, always, checked)

    def _check_changes(
        self, sync: MultiplayerSynchronizer, out: _Outgoing, props: list[str]
    ) -> None:
        values = sync.get_state(props)
        packb = self._api.codec.packb
        out.checks += 1
        checks = out.checks
        if len(out.packed) != len(values):  # first check, or the config changed
            out.packed = [packb(v) for v in values]
            out.values = values
            out.changed_at = [checks] * len(values)
            out.last_change = checks
            return
        old, packed = out.values, out.packed
        for i, value in enumerate(values):
            if value is old[i] and type(value) in _IMMUTABLE:
                continue  # the very object packed last time: the same bytes
            old[i] = value
            blob = packb(value)
            if blob != packed[i]:
                packed[i] = blob
                out.changed_at[i] = checks
                out.last_change = checks

    def _audience(self, sync: MultiplayerSynchronizer, peers: list[int]) -> list[int] | None:
        """The peers that get ``sync``'s state: those that see it and have its node
        (None: all of ``peers``). Filters run at most once per peer and frame."""
        if sync in self._frame_visible:
            visible = self._frame_visible[sync]
        else:
            visible = sync._visible_among(peers)
        node = self._spawned_ancestor(sync)
        if node is None:
            return None if visible is None else [p for p in peers if p in visible]
        has = self._has_spawn.get(node)
        if not has:
            return []
        if visible is None:
            return None if has.issuperset(peers) else [p for p in peers if p in has]
        return [p for p in peers if p in visible and p in has]

    def _send_due(self, due: list[_Due], peers: list[int]) -> None:
        """Pack each entry once; send every peer its packets."""
        api = self._api
        packb = api.codec.packb
        told = api.peers_told  # path id -> peers it was sent to
        # Entries for every peer, and the ones only some peers get.
        shared: tuple[list[_Entry], list[_Entry]] = ([], [])
        extra: dict[int, tuple[list[_Entry], list[_Entry]]] = {}
        for item in due:
            audience = peers if item.audience is None else item.audience
            if not audience:
                continue
            # (kind 0: always, 1: delta; the values part; its check; its peers)
            found: list[tuple[int, bytes, int | None, list[int] | None]] = []
            if item.always is not None:
                found.append((0, item.always, None, item.audience))
            if item.checked:
                for group, since in _baselines(item.out, audience, item.audience is None):
                    pairs = _changed_pairs(item.out, since, packb)
                    if pairs is not None:
                        found.append((1, pairs, item.out.checks, group))
            if not found:
                continue
            sync = item.sync
            # The path id is the same for all peers; each must have been told it.
            path_id = api.path_id_for(audience[0], sync)
            if not told(path_id).issuperset(audience):
                for peer_id in audience:
                    if peer_id not in told(path_id):
                        api.path_id_for(peer_id, sync)
            head = _ENTRY_HEAD + packb(path_id)
            for kind, values, checks, group in found:
                _place(_Entry(head + values, sync, len(values), checks), kind, group, shared, extra)
        if not (shared[0] or shared[1] or extra):
            return
        limit = max(64, api.max_packet_size() - 64)
        common = _split(shared, limit)  # for every peer with no entries of its own
        common_sent: list[list[int]] = [[] for _ in common]
        for peer_id in peers:
            own = extra.get(peer_id)
            if own is None:
                for part, sent in zip(common, common_sent, strict=True):
                    if self._send_part(peer_id, part):
                        sent.append(peer_id)
            else:
                for part in _split((shared[0] + own[0], shared[1] + own[1]), limit):
                    if self._send_part(peer_id, part):
                        self._sent(part, [peer_id], everyone=False)
        for part, sent in zip(common, common_sent, strict=True):
            if sent:
                self._sent(part, sent, everyone=len(sent) == len(peers))

    def _send_part(self, peer_id: int, part: _Part) -> bool:
        """Send one SYNC packet; False if it could not go (logged)."""
        api = self._api
        seq = self._seq_out.get(peer_id, 0) + 1
        self._seq_out[peer_id] = seq
        packet = _SYNC_HEAD + api.codec.packb(seq) + part.body
        try:
            api.send_command(peer_id, packet)
        except PacketTooLarge as exc:
            # Not skipped in silence: logged (throttled), and the changes stay due.
            api.report(
                api.own_id() or 0,
                ("state too large", peer_id),
                f"state for peer {peer_id} does not fit in a packet: {exc}",
            )
            return False
        stats = self.stats.get(peer_id)
        if stats is None:
            stats = self.stats[peer_id] = PeerStats()
        stats.bytes_sent += len(packet)
        stats.packets_sent += 1
        return True

    def _sent(self, part: _Part, peers: list[int], *, everyone: bool) -> None:
        """``part`` reached ``peers`` (``everyone``: every peer there is): count its
        bytes, and move their baselines (only now, so that changes that could not be
        sent stay due)."""
        count = len(peers)
        for entry in part.always:
            entry.sync.bytes_sent += entry.size * count
        for entry in part.delta:
            entry.sync.bytes_sent += entry.size * count
            out = self._syncs.get(entry.sync)
            if out is None or entry.checks is None:
                continue
            if everyone:
                out.got_all = entry.checks
                out.got.clear()
            else:
                out.got.update(dict.fromkeys(peers, entry.checks))

    # Receiving state.

    def on_sync(self, sender: int, message: Sync, size: int) -> str | None:
        """Apply a SYNC; the reason (already partly applied is fine) if refused."""
        last = self._seq_in.get(sender, 0)
        if message.seq <= last:
            return None  # stale: newer state was applied already (never on one link)
        self._seq_in[sender] = message.seq
        stats = self.stats.setdefault(sender, PeerStats())
        stats.bytes_received += size
        stats.packets_received += 1
        reasons = [self._apply(sender, entry, delta=False) for entry in message.always]
        reasons += [self._apply(sender, entry, delta=True) for entry in message.delta]
        refused = [r for r in reasons if r is not None]  # the other entries still apply
        return "; ".join(refused[:3]) if refused else None

    def _apply(self, sender: int, entry: Any, *, delta: bool) -> str | None:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and type(entry[0]) is int
            and isinstance(entry[1], list)
        ):
            return "a SYNC entry is not [path_id, [values]]"
        path = self._api.path_of(sender, entry[0])
        sync = self._api.find_node(path) if path is not None else None
        if not isinstance(sync, MultiplayerSynchronizer):
            return f"SYNC for {path!r}, which is no synchronizer here"
        if sender != sync.get_multiplayer_authority():
            return f"SYNC for {path!r} from a peer that is not its authority"
        config = sync.replication_config
        try:
            if delta:
                props = config.watch_properties()
                pairs = entry[1]
                if len(pairs) % 2 or not all(
                    type(i) is int and 0 <= i < len(props) for i in pairs[::2]
                ):
                    return f"bad delta indices for {path!r}"
                sync.set_state([props[i] for i in pairs[::2]], list(pairs[1::2]))
            else:
                sync.set_state(config.sync_properties(), entry[1])
        except (LookupError, ValueError, TypeError, AttributeError) as exc:
            return f"cannot apply state to {path!r}: {exc}"
        sync.bytes_received += len(self._api.codec.packb(entry[1]))
        (sync.delta_synchronized if delta else sync.synchronized).emit()
        return None


def _place(
    entry: _Entry,
    kind: int,
    group: list[int] | None,
    shared: tuple[list[_Entry], list[_Entry]],
    extra: dict[int, tuple[list[_Entry], list[_Entry]]],
) -> None:
    """File ``entry`` (kind 0: always, 1: delta) for every peer (``group`` None), or
    for each peer of ``group``."""
    if group is None:
        shared[kind].append(entry)
        return
    for peer_id in group:
        lists = extra.get(peer_id)
        if lists is None:
            lists = extra[peer_id] = ([], [])
        lists[kind].append(entry)


def _baselines(
    out: _Outgoing, audience: list[int], everyone: bool
) -> list[tuple[list[int] | None, int]]:
    """The peers of ``audience`` (``everyone``: all the peers there are) grouped by
    the check they have of ``out`` (-1: none yet), as (group, check); the group is
    None for every peer."""
    got, got_all = out.got, out.got_all
    if not got:
        return [(None if everyone else audience, got_all)]
    groups: dict[int, list[int]] = {}
    for peer_id in audience:
        since = got.get(peer_id, got_all)
        group = groups.get(since)
        if group is None:
            groups[since] = [peer_id]
        else:
            group.append(peer_id)
    if len(groups) == 1:
        ((since, _),) = groups.items()
        if everyone:  # every peer has the same again: one number says it
            out.got_all = since
            got.clear()
            return [(None, since)]
        return [(audience, since)]
    return [(group, since) for since, group in groups.items()]


def _changed_pairs(out: _Outgoing, since: int, packb: Callable[[Any], bytes]) -> bytes | None:
    """The packed ``[index, value, ...]`` of what changed after check ``since``, or
    None if nothing did."""
    if out.last_change <= since:
        return None
    changed = [i for i, at in enumerate(out.changed_at) if at > since]
    packed = out.packed
    return array_header(2 * len(changed)) + b"".join(packb(i) + packed[i] for i in changed)


def _split(entries: tuple[list[_Entry], list[_Entry]], limit: int) -> list[_Part]:
    """Entries grouped in packets of at most ``limit`` bytes (one entry per packet at
    worst: a single entry over the limit goes alone, and the send reports it)."""
    parts: list[tuple[list[_Entry], list[_Entry]]] = []
    current: tuple[list[_Entry], list[_Entry]] = ([], [])
    size = _PARTS_ROOM
    for kind in (0, 1):
        for entry in entries[kind]:
            cost = len(entry.data)
            if size + cost > limit and (current[0] or current[1]):
                parts.append(current)
                current, size = ([], []), _PARTS_ROOM
            current[kind].append(entry)
            size += cost
    if current[0] or current[1]:
        parts.append(current)
    return [
        _Part(
            always,
            delta,
            array_header(len(always))
            + b"".join(e.data for e in always)
            + array_header(len(delta))
            + b"".join(e.data for e in delta),
        )
        for always, delta in parts
    ]


def _synchronizers(node: Node) -> list[MultiplayerSynchronizer]:
    """The synchronizers of a spawned node: in it and under it, in tree order, but not
    under nodes spawned on their own (a player in a spawned level): those travel with
    their own spawn."""
    found: list[MultiplayerSynchronizer] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MultiplayerSynchronizer):
            found.append(current)
        stack.extend(child for child in reversed(current.get_children()) if not _is_spawned(child))
    return found


def _is_spawned(node: Node) -> bool:
    """Whether ``node`` was spawned by a spawner (here, or received from a peer)."""
    return node._spawned
