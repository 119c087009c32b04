"""``SceneReplicationConfig``: which properties a MultiplayerSynchronizer replicates.

Each property is a path ``"<node path>:<property>"`` relative to the synchronizer's
``root_path`` node: ``".:position"`` is the root's own ``position``,
``"Label:text"`` a child's. Per property (Godot's defaults):

* ``spawn`` (True): sent with the node's spawn, and set on the receiver before the
  node's ``_ready`` runs;
* ``replication_mode`` (ALWAYS): NEVER (spawn only), ALWAYS (sent every
  ``replication_interval``), or ON_CHANGE (sent, reliably, when it changed).

Godot also accepts sub-properties (``"position:x"``); here a property is replicated
whole, and a path with a sub-property is refused when it is added.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ReplicationMode", "SceneReplicationConfig", "split_property_path"]


class ReplicationMode(enum.IntEnum):
    """``SceneReplicationConfig.ReplicationMode``."""

    NEVER = 0
    ALWAYS = 1
    ON_CHANGE = 2


def split_property_path(path: str) -> tuple[str, str]:
    """``"Label:text"`` -> ``("Label", "text")``; ``".:position"`` -> ``(".", "position")``.

    Raises:
        ValueError: No property part, an empty one, or a sub-property.
    """
    node, colon, prop = path.partition(":")
    if not colon or not prop:
        raise ValueError(f"{path!r} is not a property path such as '.:position' or 'Label:text'")
    if ":" in prop:
        raise ValueError(f"{path!r}: sub-properties are not replicated; replicate the property")
    if not prop.isidentifier():
        raise ValueError(f"{path!r}: {prop!r} is not a property name")
    return node or ".", prop


@dataclass(slots=True)
class _Property:
    path: str
    spawn: bool = True
    mode: ReplicationMode = ReplicationMode.ALWAYS


class SceneReplicationConfig:
    """The replicated properties of a synchronizer, in order."""

    REPLICATION_MODE_NEVER = ReplicationMode.NEVER
    REPLICATION_MODE_ALWAYS = ReplicationMode.ALWAYS
    REPLICATION_MODE_ON_CHANGE = ReplicationMode.ON_CHANGE

    def __init__(self) -> None:
        self._properties: list[_Property] = []

    def add_property(self, path: str, index: int = -1) -> None:
        """Replicate ``path`` (spawn: True, mode: ALWAYS), at ``index`` (-1: last).

        Raises:
            ValueError: Already there, or not a property path.
        """
        split_property_path(path)
        if self.has_property(path):
            raise ValueError(f"property {path!r} is already in the config")
        entry = _Property(path)
        if index < 0 or index >= len(self._properties):
            self._properties.append(entry)
        else:
            self._properties.insert(index, entry)

    def remove_property(self, path: str) -> None:
        """Stop replicating ``path``.

        Raises:
            KeyError: It is not in the config.
        """
        self._properties.remove(self._get(path))

    def has_property(self, path: str) -> bool:
        return any(p.path == path for p in self._properties)

    def get_properties(self) -> list[str]:
        """Every property path, in order."""
        return [p.path for p in self._properties]

    def property_get_index(self, path: str) -> int:
        """The position of ``path``, or -1 (Godot prints an error too)."""
        for i, entry in enumerate(self._properties):
            if entry.path == path:
                return i
        return -1

    def property_get_spawn(self, path: str) -> bool:
        return self._get(path).spawn

    def property_set_spawn(self, path: str, enabled: bool) -> None:
        self._get(path).spawn = bool(enabled)

    def property_get_replication_mode(self, path: str) -> ReplicationMode:
        return self._get(path).mode

    def property_set_replication_mode(self, path: str, mode: ReplicationMode | int) -> None:
        self._get(path).mode = ReplicationMode(mode)

    # Godot's deprecated spellings: sync is ALWAYS, watch is ON_CHANGE.

    def property_get_sync(self, path: str) -> bool:
        return self._get(path).mode is ReplicationMode.ALWAYS

    def property_set_sync(self, path: str, enabled: bool) -> None:
        self._get(path).mode = ReplicationMode.ALWAYS if enabled else ReplicationMode.NEVER

    def property_get_watch(self, path: str) -> bool:
        return self._get(path).mode is ReplicationMode.ON_CHANGE

    def property_set_watch(self, path: str, enabled: bool) -> None:
        self._get(path).mode = ReplicationMode.ON_CHANGE if enabled else ReplicationMode.NEVER

    # For the replicator.

    def spawn_properties(self) -> list[str]:
        return [p.path for p in self._properties if p.spawn]

    def sync_properties(self) -> list[str]:
        return [p.path for p in self._properties if p.mode is ReplicationMode.ALWAYS]

    def watch_properties(self) -> list[str]:
        return [p.path for p in self._properties if p.mode is ReplicationMode.ON_CHANGE]

    def _get(self, path: str) -> _Property:
        for entry in self._properties:
            if entry.path == path:
                return entry
        raise KeyError(f"property {path!r} is not in the config")
