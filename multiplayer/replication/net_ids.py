"""Network ids of nodes and synchronizers, both ways (Godot's ``last_net_id``,
``MultiplayerSynchronizer::net_id`` and ``PeerInfo::recv_sync_ids``).

Spawned nodes are numbered by one counter. In a profile with ``sync_net_ids``
(Godot's), the same counter numbers synchronizers too: a SPAWN gives an id to each
synchronizer of the node that the sender sends the state of, the first time it is
spawned, and the id is kept while the synchronizer stays registered
(``_make_spawn_packet``). SYNC names it by that id; a synchronizer without one is
named by its path id with bit 31 set (:data:`PATH_ID_FLAG`, ``_verify_synchronizer``).

A receiver learns a sender's ids as the spawned node's synchronizers enter its tree:
each one whose root is the node and whose authority is the sender takes the next id
of the SPAWN, and its spawn properties from the SPAWN's values, before ``_ready``
(``on_replication_start``: authority set in ``_enter_tree`` counts, as in Godot).
What the SPAWN held that no synchronizer took is an error the spawn reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .synchronizer import MultiplayerSynchronizer

if TYPE_CHECKING:
    from ..protocol.messages import Spawn
    from ..scene.node import Node

__all__ = ["PATH_ID_FLAG", "NetIds", "PendingSpawn"]

PATH_ID_FLAG = 0x80000000
"""Set in a synchronizer id that is a path id (``SceneReplicationInterface::
_verify_synchronizer`` / ``_find_synchronizer``)."""


@dataclass(slots=True)
class PendingSpawn:
    """A received SPAWN whose node is entering the tree (Godot's ``pending_spawn``)."""

    sender: int
    node: Node
    ids: list[int]
    values: list[Any]
    used: int = 0  # values taken so far
    error: str | None = None

    def leftover(self) -> str | None:
        """Why the SPAWN did not fit the node's synchronizers, or None if it did."""
        if self.error is not None:
            return self.error
        if self.ids:
            return f"{len(self.ids)} synchronizer ids of the SPAWN were not taken"
        if self.used != len(self.values):
            return f"{len(self.values) - self.used} spawn values were not read"
        return None


class NetIds:
    """The net id counter, our synchronizers' ids, and the ids peers gave theirs."""

    __slots__ = ("_by_sync", "_last", "_own", "_received", "pending")

    def __init__(self) -> None:
        self._last = 0
        self._own: dict[MultiplayerSynchronizer, int] = {}
        self._received: dict[tuple[int, int], MultiplayerSynchronizer] = {}
        self._by_sync: dict[MultiplayerSynchronizer, tuple[int, int]] = {}
        self.pending: PendingSpawn | None = None

    def next_id(self) -> int:
        """A new net id (the first is 1)."""
        self._last += 1
        return self._last

    # Ours.

    def own(self, sync: MultiplayerSynchronizer) -> int:
        """``sync``'s net id, given now if it has none."""
        net_id = self._own.get(sync)
        if net_id is None:
            net_id = self._own[sync] = self.next_id()
        return net_id

    def own_id(self, sync: MultiplayerSynchronizer) -> int:
        """``sync``'s net id, 0 if it has none (it is then named by path)."""
        return self._own.get(sync, 0)

    def spawn_state(self, syncs: list[MultiplayerSynchronizer]) -> tuple[list[int], list[Any]]:
        """What a SPAWN carries of ``syncs``: their net ids (given now if new) and the
        values of their spawn properties, in one list.

        Raises:
            LookupError: A spawn property is missing.
        """
        ids = [self.own(sync) for sync in syncs]
        values = [
            value
            for sync in syncs
            for value in sync.get_state(sync.replication_config.spawn_properties())
        ]
        return ids, values

    # The peers'.

    def find(self, sender: int, net_id: int) -> MultiplayerSynchronizer | None:
        """The synchronizer ``sender`` calls ``net_id``, or None."""
        return self._received.get((sender, net_id))

    def check_spawn(self, sender: int, message: Spawn) -> str | None:
        """Refuse ids no honest sender gives: 0, path ids, or ids in use."""
        ids = message.sync_ids
        if not all(0 < net_id < PATH_ID_FLAG for net_id in (message.net_id, *ids)):
            return "SPAWN with a net id out of range"
        if len(set(ids)) != len(ids) or any((sender, i) in self._received for i in ids):
            return "SPAWN with a synchronizer id in use"
        return None

    def add_spawned(self, sender: int, parent: Node, node: Node, message: Spawn) -> str | None:
        """Add ``node``, spawned by ``sender``; its synchronizers take the SPAWN's ids
        and values as they enter the tree (Godot's ``pending_spawn``). If they do not
        fit, the node goes again: the reason. What no authority set in ``_enter_tree``
        can make fit is refused before the node is added."""
        rooted = [sync for sync in _synchronizers(node) if sync.get_root() is node]
        most = sum(len(sync.replication_config.spawn_properties()) for sync in rooted)
        if len(message.sync_ids) > len(rooted) or len(message.states) > most:
            return (
                f"the SPAWN holds {len(message.sync_ids)} synchronizer ids and "
                f"{len(message.states)} values, for {len(rooted)} synchronizers with "
                f"{most} spawn properties"
            )
        self.pending = PendingSpawn(sender, node, list(message.sync_ids), message.states)
        try:
            parent.add_child(node)
        finally:
            pending, self.pending = self.pending, None
        reason = pending.leftover()
        if reason is not None and node.get_parent() is parent:
            parent.remove_child(node)
        return reason

    def on_added(self, sync: MultiplayerSynchronizer) -> None:
        """``sync`` entered the tree: if it belongs to the pending spawn, it takes the
        next id and its spawn values."""
        pending = self.pending
        if pending is None or pending.error is not None or sync.get_root() is not pending.node:
            return
        if sync.get_multiplayer_authority() != pending.sender:
            return
        if not pending.ids:
            pending.error = f"synchronizer {sync.name!r} has no id in the SPAWN"
            return
        net_id = pending.ids.pop(0)
        props = sync.replication_config.spawn_properties()
        values = pending.values[pending.used : pending.used + len(props)]
        if len(values) != len(props):
            pending.error = f"the SPAWN lacks spawn values for synchronizer {sync.name!r}"
            return
        pending.used += len(props)
        key = (pending.sender, net_id)
        self._received[key] = sync
        self._by_sync[sync] = key
        try:
            sync.set_state(props, values)
        except (LookupError, ValueError, TypeError, AttributeError) as exc:
            pending.error = f"cannot set the spawn state of {sync.name!r}: {exc}"

    def remove(self, sync: MultiplayerSynchronizer) -> None:
        """``sync`` left the tree: its ids go (a new registration, new ids)."""
        self._own.pop(sync, None)
        key = self._by_sync.pop(sync, None)
        if key is not None:
            self._received.pop(key, None)

    def forget_peer(self, peer_id: int) -> None:
        for key in [k for k in self._received if k[0] == peer_id]:
            del self._by_sync[self._received.pop(key)]

    def clear(self) -> None:
        """This side disconnected: no peer's id stands, and ours are given anew."""
        self._own.clear()
        self._received.clear()
        self._by_sync.clear()


def _synchronizers(node: Node) -> list[MultiplayerSynchronizer]:
    """The synchronizers in and under ``node``, in tree order."""
    found: list[MultiplayerSynchronizer] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MultiplayerSynchronizer):
            found.append(current)
        stack.extend(reversed(current.get_children()))
    return found
