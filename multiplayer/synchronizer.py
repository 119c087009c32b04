"""``MultiplayerSynchronizer``: the properties of a node that travel with it.

A synchronizer names, in its ``replication_config``, properties of the node at its
``root_path`` (by default its parent). Properties marked *spawn* go with the node's
spawn and are set on the receiver before the node's ``_ready`` runs.

Only the spawn part is built so far; the ALWAYS / ON_CHANGE updates, intervals and
visibility come next (see the replication issue).
"""

from __future__ import annotations

from typing import Any

from .replication_config import SceneReplicationConfig, split_property_path
from .tree import Node

__all__ = ["MultiplayerSynchronizer"]


class MultiplayerSynchronizer(Node):
    """Replicates properties of the node at ``root_path``.

    Attributes:
        root_path: The node whose properties are replicated, relative to this one
            (default ``".."``: the parent).
        replication_config: Which properties, and how.
    """

    def __init__(
        self,
        name: str | None = None,
        root_path: str = "..",
        replication_config: SceneReplicationConfig | None = None,
    ) -> None:
        super().__init__(name)
        self.root_path = root_path
        self.replication_config = replication_config or SceneReplicationConfig()

    def get_root(self) -> Node | None:
        """The node the property paths start from."""
        return self.get_node_or_null(self.root_path)

    def get_state(self, paths: list[str]) -> list[Any]:
        """The current values of ``paths``.

        Raises:
            LookupError: A node or a property is missing.
        """
        root = self._require_root()
        return [getattr(_target(root, path), split_property_path(path)[1]) for path in paths]

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
            setattr(_target(root, path), split_property_path(path)[1], value)

    def _require_root(self) -> Node:
        root = self.get_root()
        if root is None:
            raise LookupError(f"{self.name}: no node at root_path {self.root_path!r}")
        return root


def _target(root: Node, path: str) -> Node:
    node_path, _ = split_property_path(path)
    node = root.get_node_or_null(node_path)
    if node is None:
        raise LookupError(f"no node {node_path!r} under {root.name!r} for property {path!r}")
    return node
