"""Groups: tags on nodes, to find or call every node of a kind at once.

As in Godot (``scene/main/node.cpp``: ``Node::add_to_group``; ``scene_tree.cpp``:
``SceneTree::call_group_flags``): a node keeps its groups in or out of a tree, and
the tree lists the nodes of each group that are inside it, in tree order.
``call_group`` calls a method on each of them now, skipping nodes that lack it;
with ``GroupCallFlags.DEFERRED`` the calls wait for the end of the frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import IntFlag
from typing import TYPE_CHECKING, Any

from ..signals import call_deferred
from .hierarchy import tree_order
from .parts import NodePart

if TYPE_CHECKING:
    from .node import Node

__all__ = ["GroupCallFlags", "GroupMember", "GroupRegistry"]

logger = logging.getLogger("multiplayer.scene")


class GroupCallFlags(IntFlag):
    """Godot's ``SceneTree.GroupCallFlags``, for ``call_group_flags``."""

    DEFAULT = 0
    REVERSE = 1
    """Call the nodes in reverse tree order."""
    DEFERRED = 2
    """Call them at the end of the frame (``call_deferred``)."""
    UNIQUE = 4
    """With DEFERRED: queue one call however many times it is made before it runs
    (the arguments do not count)."""


class GroupMember(NodePart):
    """The group part of :class:`~multiplayer.Node` (a mixin)."""

    _groups: dict[str, bool] | None = None  # name -> persistent (kept for Godot parity)

    def add_to_group(self, group: str, persistent: bool = False) -> None:
        """Put this node in ``group`` (a no-op if it is in it already)."""
        if not isinstance(group, str) or not group:
            raise ValueError("a group name must be a non-empty str")
        if self._groups is None:
            self._groups = {}
        if group in self._groups:
            return
        self._groups[group] = persistent
        if self._tree is not None:
            self._tree._groups.add(group, self._node())

    def remove_from_group(self, group: str) -> None:
        """Take this node out of ``group`` (a no-op if it is not in it)."""
        if self._groups is None or self._groups.pop(group, None) is None:
            return
        if self._tree is not None:
            self._tree._groups.remove(group, self._node())

    def is_in_group(self, group: str) -> bool:
        return self._groups is not None and group in self._groups

    def get_groups(self) -> list[str]:
        """The groups of this node, in the order it joined them."""
        return list(self._groups or ())


class GroupRegistry:
    """The nodes of each group inside one tree (the tree owns one)."""

    def __init__(self) -> None:
        self._members: dict[str, dict[Node, None]] = {}  # (insertion-ordered sets)
        self._sorted: dict[str, tuple[int, list[Node]]] = {}  # group -> (tree version, nodes)
        self._unique: set[tuple[str, str]] = set()  # UNIQUE deferred calls queued

    def add(self, group: str, node: Node) -> None:
        self._members.setdefault(group, {})[node] = None
        self._sorted.pop(group, None)

    def remove(self, group: str, node: Node) -> None:
        members = self._members.get(group)
        if members is None or node not in members:
            return
        del members[node]
        self._sorted.pop(group, None)
        if not members:
            del self._members[group]

    def entered(self, node: Node) -> None:
        for group in node._groups or ():
            self.add(group, node)

    def exited(self, node: Node) -> None:
        for group in node._groups or ():
            self.remove(group, node)

    def has(self, group: str) -> bool:
        return group in self._members

    def nodes(self, group: str, version: int) -> list[Node]:
        """The group's nodes in tree order (sorted once per change of the tree)."""
        members = self._members.get(group)
        if not members:
            return []
        cached = self._sorted.get(group)
        if cached is None or cached[0] != version:
            cached = (version, sorted(members, key=tree_order))
            self._sorted[group] = cached
        return list(cached[1])

    def call(
        self, flags: int, group: str, method: str, args: tuple[Any, ...], version: int
    ) -> None:
        """Call ``method(*args)`` on the group's nodes that have it (Godot skips the
        others silently); an exception is logged and the other nodes still run."""
        nodes = self.nodes(group, version)
        if flags & GroupCallFlags.REVERSE:
            nodes.reverse()
        if flags & GroupCallFlags.DEFERRED:
            self._defer(flags, group, method, nodes, args)
            return
        for node in nodes:
            if node._tree is not None:  # not removed by an earlier call
                _call(node, method, args)

    def _defer(
        self, flags: int, group: str, method: str, nodes: list[Node], args: tuple[Any, ...]
    ) -> None:
        if flags & GroupCallFlags.UNIQUE:
            key = (group, method)
            if key in self._unique:
                return
            self._unique.add(key)
            call_deferred(self._unique.discard, key)  # (before the calls: they may re-queue)
        for node in nodes:
            call_deferred(_call, node, method, args)


def _call(node: Node, method: str, args: tuple[Any, ...]) -> None:
    function: Callable[..., object] | None = getattr(node, method, None)
    if callable(function) and not node._freed:
        try:  # (logged, as a signal's callback: one node's error must not stop the group)
            function(*args)
        except Exception:
            logger.exception("error in %r.%s, called on its group", node, method)
