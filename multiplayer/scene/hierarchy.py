"""The hierarchy part of ``Node``: finding descendants by name, and moving nodes
among their siblings or to another parent (Godot's ``find_child``,
``find_children``, ``move_child``, ``get_index``, ``reparent``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ..exceptions import InvalidState
from .parts import NodePart

if TYPE_CHECKING:
    from .node import Node

__all__ = ["Hierarchy", "tree_order"]

N = TypeVar("N", bound="Node")


def _name_matcher(pattern: str) -> re.Pattern[str]:
    """Godot's ``String.match``: ``*`` is any run of characters, ``?`` any one."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def tree_order(node: Node) -> list[int]:
    """A sort key for the nodes of one tree: the child indices from the root down to
    ``node``. Each parent keeps its children's indices (as Godot's ``Node`` keeps
    ``data.index``), so a key costs the node's depth, not its siblings."""
    path: list[int] = []
    parent = node._parent
    while parent is not None:
        path.append(parent._child_index(node._name))
        node, parent = parent, parent._parent
    path.reverse()
    return path


class Hierarchy(NodePart):
    """The hierarchy part of :class:`~multiplayer.Node` (a mixin)."""

    # The children's indices by name, built when asked for; adding a last child or
    # removing it updates them, other changes of the children drop them.
    _child_indices: dict[str, int] | None = None

    def _child_index(self, name: str) -> int:
        indices = self._child_indices
        if indices is None:
            indices = self._child_indices = {child: i for i, child in enumerate(self._children)}
        return indices[name]

    def find_child(self, pattern: str, recursive: bool = True) -> Node | None:
        """The first descendant (depth first, in tree order) whose name matches
        ``pattern`` (``*`` and ``?`` wildcards, case-sensitive), or None.

        Godot's ``owned`` argument has no counterpart: there are no scene owners
        here, so every descendant counts (Godot's ``owned=false``).
        """
        match = _name_matcher(pattern).fullmatch
        for node in self._descendants(recursive):
            if match(node._name):
                return node
        return None

    @overload
    def find_children(
        self, pattern: str = "*", type: None = None, recursive: bool = True
    ) -> list[Node]: ...
    @overload
    def find_children(self, pattern: str, type: type[N], recursive: bool = True) -> list[N]: ...
    def find_children(
        self, pattern: str = "*", type: type[Node] | None = None, recursive: bool = True
    ) -> list[Any]:
        """Every descendant whose name matches ``pattern`` and, if given, that is an
        instance of the class ``type`` (Godot: a class name), depth first."""
        match = _name_matcher(pattern).fullmatch
        return [
            node
            for node in self._descendants(recursive)
            if match(node._name) and (type is None or isinstance(node, type))
        ]

    def _descendants(self, recursive: bool) -> Iterator[Node]:
        if not recursive:
            return iter(list(self._children.values()))
        walk = self._walk()
        next(walk)  # (this node)
        return walk

    def move_child(self, child: Node, to_index: int) -> None:
        """Move ``child`` to position ``to_index`` among the children (negative:
        from the end), which changes the tree order: processing, groups, search.

        Raises:
            InvalidState: ``child`` is not a child of this node.
            IndexError: ``to_index`` is out of range.
        """
        if child._parent is not self:
            raise InvalidState(f"{child!r} is not a child of {self!r}")
        order = list(self._children.values())
        count = len(order)
        index = to_index + count if to_index < 0 else to_index
        if not 0 <= index <= count:  # (Godot: count itself means the last place)
            raise IndexError(f"child index {to_index} out of range for {count} children")
        index = min(index, count - 1)
        if order.index(child) == index:
            return
        order.remove(child)
        order.insert(index, child)
        self._children = {node._name: node for node in order}
        self._child_indices = None
        if self._tree is not None:
            self._tree._version += 1
            self._tree._process_lists.reordered()
        self.child_order_changed.emit()

    def get_index(self) -> int:
        """This node's position among its parent's children.

        Raises:
            InvalidState: It has no parent.
        """
        if self._parent is None:
            raise InvalidState(f"{self!r} has no parent")
        return self._parent._child_index(self._name)

    def reparent(self, new_parent: Node) -> None:
        """Move this node (and its branch) under ``new_parent``, as its last child.

        It leaves and enters the tree again (``_exit_tree``, ``_enter_tree``), but
        ``_ready`` does not run again (Godot's ``reparent``; there are no transforms
        to keep here).

        Raises:
            InvalidState: This node has no parent, or ``new_parent`` is in its branch.
        """
        node, parent = self._node(), self._parent
        if parent is None:
            raise InvalidState(f"{self!r} has no parent to leave")
        if new_parent is parent:
            return
        if new_parent is node or new_parent._has_ancestor(node):
            raise InvalidState("a node cannot be moved under itself")
        parent.remove_child(node)
        new_parent.add_child(node)
