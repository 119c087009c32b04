"""``MultiplayerSynchronizer``: the properties of a node that travel with it.

A synchronizer names, in its ``replication_config``, properties of the node at its
``root_path`` (by default its parent). Its multiplayer authority sends them:

* *spawn* properties go with the node's spawn, set on receivers before ``_ready``;
* ALWAYS properties every ``replication_interval`` (0: every network frame);
* ON_CHANGE properties, checked every ``delta_interval``, only when they changed
  and only the ones that changed; an idle object costs nothing.

Visibility, as in Godot: a peer sees the synchronizer if every visibility filter
says so *and* it is public (``public_visibility``) or was made visible to that peer
(``set_visibility_for``). A peer that does not see it gets none of its state; if the
node was spawned by this peer's spawner and no synchronizer of it is visible to a
peer, it is despawned there (and spawned again, with current state, when visible).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any

from ..scene.node import Node
from ..signals import Signal
from .config import SceneReplicationConfig, split_property_path
from .host import replicator_of

__all__ = ["MultiplayerSynchronizer", "VisibilityUpdateMode"]


class VisibilityUpdateMode(enum.IntEnum):
    """When filters are evaluated again (Godot's VISIBILITY_PROCESS_*)."""

    IDLE = 0  # every frame, when there are filters
    PHYSICS = 1  # every frame too: there is no separate physics frame here
    NONE = 2  # only when update_visibility() is called


class MultiplayerSynchronizer(Node):
    """Replicates properties of the node at ``root_path``.

    Attributes:
        root_path: The node whose properties are replicated, relative to this one
            (default ``".."``: the parent).
        replication_config: Which properties, and how.
        replication_interval: Seconds between ALWAYS updates (0: every frame).
        delta_interval: Seconds between ON_CHANGE checks (0: every frame).
        visibility_update_mode: When visibility filters run again.

    Signals:
        synchronized(): after an ALWAYS update was applied here.
        delta_synchronized(): after an ON_CHANGE update was applied here.
        visibility_changed(for_peer): visibility changed (0: for everyone).
    """

    synchronized: Signal[()] = Signal()
    delta_synchronized: Signal[()] = Signal()
    visibility_changed: Signal[int] = Signal()

    def __init__(
        self,
        name: str | None = None,
        root_path: str = "..",
        replication_config: SceneReplicationConfig | None = None,
    ) -> None:
        super().__init__(name)
        self.root_path = root_path
        self.replication_config = replication_config or SceneReplicationConfig()
        self.replication_interval = 0.0
        self.delta_interval = 0.0
        self.visibility_update_mode = VisibilityUpdateMode.IDLE
        self._public = True
        self._visible_to: set[int] = set()
        self._filters: list[Callable[[int], bool]] = []
        self.bytes_sent = 0  # state bytes this synchronizer sent (the profiler's count)
        self.bytes_received = 0

    # Visibility.

    @property
    def public_visibility(self) -> bool:
        """Whether every peer may see it (default True); filters still apply."""
        return self._public

    @public_visibility.setter
    def public_visibility(self, visible: bool) -> None:
        self.set_visibility_for(0, visible)

    def set_visibility_for(self, peer_id: int, visible: bool) -> None:
        """Make it visible (or not) to ``peer_id``; 0 sets ``public_visibility``."""
        if peer_id == 0:
            self._public = bool(visible)
        elif visible:
            self._visible_to.add(peer_id)
        else:
            self._visible_to.discard(peer_id)
        self.update_visibility(peer_id)

    def get_visibility_for(self, peer_id: int) -> bool:
        """The explicit flag for ``peer_id`` (0: the public flag); filters not applied."""
        return self._public if peer_id == 0 else peer_id in self._visible_to

    def add_visibility_filter(self, filter: Callable[[int], bool]) -> None:
        """Add ``filter(peer_id) -> bool``; every filter must agree (AND)."""
        if filter in self._filters:
            raise ValueError("this visibility filter is already added")
        self._filters.append(filter)
        self.update_visibility(0)

    def remove_visibility_filter(self, filter: Callable[[int], bool]) -> None:
        self._filters.remove(filter)
        self.update_visibility(0)

    def is_visible_to(self, peer_id: int) -> bool:
        """Whether ``peer_id`` may see this synchronizer's state (Godot's rule)."""
        for check in self._filters:
            if check(peer_id) is not True:  # a non-bool result counts as False
                return False
        return self._public or peer_id in self._visible_to

    def _visible_among(self, peers: list[int]) -> set[int] | None:
        """The peers of ``peers`` that may see it, or None if all of them: each filter
        runs once per peer."""
        if not self._filters:
            if self._public:
                return None
            return self._visible_to.intersection(peers)
        visible = {p for p in peers if self.is_visible_to(p)}
        return None if len(visible) == len(peers) else visible

    def update_visibility(self, for_peer: int = 0) -> None:
        """Apply visibility changes now and emit ``visibility_changed``."""
        if self.is_inside_tree():
            replicator_of(self).visibility_changed(self, for_peer)
        self.visibility_changed.emit(for_peer)

    def has_filters(self) -> bool:
        return bool(self._filters)

    # The tree.

    def _enter_tree(self) -> None:
        replicator_of(self).add_synchronizer(self)

    def _exit_tree(self) -> None:
        replicator_of(self).remove_synchronizer(self)

    def get_root(self) -> Node | None:
        """The node the property paths start from."""
        if self.root_path == "..":  # the default, read every time state is sent
            return self._parent
        return self.get_node_or_null(self.root_path)

    def get_state(self, paths: list[str]) -> list[Any]:
        """The current values of ``paths``.

        Raises:
            LookupError: A node or a property is missing.
        """
        root = self._require_root()
        values = []
        for path in paths:
            node_path, prop = _split(path)
            values.append(getattr(root if node_path == "." else _target(root, path), prop))
        return values

    def set_state(self, paths: list[str], values: list[Any]) -> None:
        """Set ``paths`` to ``values``, in order.

        Raises:
            LookupError: A node is missing.
            ValueError: The counts differ.
        """
        if len(paths) != len(values):
            raise ValueError(f"{len(values)} values for {len(paths)} properties")
        root = self._require_root()
        for path, value in zip(paths, values, strict=True):
            node_path, prop = _split(path)
            setattr(root if node_path == "." else _target(root, path), prop, value)

    def _require_root(self) -> Node:
        root = self.get_root()
        if root is None:
            raise LookupError(f"{self.name}: no node at root_path {self.root_path!r}")
        return root


# Property paths are parsed once: a synchronizer reads the same few many times a second.
_split = functools.lru_cache(maxsize=4096)(split_property_path)


def _target(root: Node, path: str) -> Node:
    node_path, _ = _split(path)
    node = root.get_node_or_null(node_path)
    if node is None:
        raise LookupError(f"no node {node_path!r} under {root.name!r} for property {path!r}")
    return node
