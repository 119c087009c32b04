"""``NodePart``: the base of the mixins that make up :class:`~multiplayer.Node`.

Godot's Node is a large class; here its topics live in modules of their own
(processing, groups, hierarchy, network), each a mixin of ``Node``. This base
declares, for the type checker only, the core of a node that they use; at run time
it is an empty class.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ..signals import Signal
    from .node import Node
    from .tree import SceneTree

__all__ = ["NodePart"]


class NodePart:
    """What the mixins of :class:`~multiplayer.Node` may use of it."""

    if TYPE_CHECKING:
        _name: str
        _parent: Node | None
        _children: dict[str, Node]
        _tree: SceneTree | None
        _freed: bool
        child_order_changed: Signal[()]

        def _walk(self) -> Iterator[Node]: ...
        def _has_ancestor(self, node: Node) -> bool: ...
        def get_tree(self) -> SceneTree: ...
        def get_path(self) -> str: ...
        def add_child(self, node: Node, force_readable_name: bool = False) -> None: ...
        def remove_child(self, node: Node) -> None: ...

    def _node(self) -> Node:
        """This object, typed as the Node it is."""
        return cast("Node", self)
