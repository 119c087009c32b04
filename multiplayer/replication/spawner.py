"""``MultiplayerSpawner``: nodes added on the authority appear on every peer.

A spawner watches the node at its ``spawn_path``. When its multiplayer authority adds
a child there whose class is one of the spawnable scenes, or calls ``spawn(data)``
with a ``spawn_function``, the node is spawned on every other peer: same class (or
same ``spawn_function(data)``), same name, its synchronizers' spawn properties set
before its ``_ready`` runs. When it leaves the authority's tree, it is despawned
everywhere. Peers that join later receive every node spawned so far, with current
values; when the authority leaves, the nodes it spawned are freed on the others.

In Python a "scene" is a :class:`Node` subclass that can be built with no
arguments, or a zero-argument factory returning a node; registered under a
``res://`` path (:func:`~.scenes.register_scene`), it is added by that path, as in
Godot, so that a Godot peer's spawner and this one list the same scenes. Children of a spawnable
class are recognised by their exact class; a factory's nodes are recognised when
made with ``instantiate_scene(index)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from ..exceptions import InvalidState
from ..scene.node import Node
from ..signals import Signal
from .host import replicator_of
from .scenes import Scene, scene_at, scene_path

__all__ = ["CUSTOM_SPAWN", "MultiplayerSpawner", "Scene"]

# The scene index of a node made by spawn(data): built on every peer by the
# spawn_function (Godot's INVALID_ID, 0xFF in its SPAWN packet).
CUSTOM_SPAWN = -1


class MultiplayerSpawner(Node):
    """Spawns nodes under ``spawn_path`` on every peer.

    Attributes:
        spawn_function: Builds a node from ``spawn(data)``'s data, on every peer.
        spawn_limit: The most nodes this spawner tracks at once (0: no limit); also
            checked on receivers.

    Signals:
        spawned(node), despawned(node): on receivers only, as in Godot.
    """

    spawned: Signal[Node] = Signal()
    despawned: Signal[Node] = Signal()

    def __init__(self, name: str | None = None, spawn_path: str = "") -> None:
        super().__init__(name)
        self.spawn_path = spawn_path
        self.spawn_function: Callable[[Any], Node] | None = None
        self.spawn_limit = 0
        self._scenes: list[Scene] = []
        self._scene_paths: list[str] = []
        # The nodes this spawner made, and how: (scene index, None) from
        # instantiate_scene, (CUSTOM_SPAWN, data) from spawn(data). Godot keeps the
        # same in its spawner (SpawnInfo) and the replicator reads it from there.
        self._made: WeakKeyDictionary[Node, tuple[int, Any]] = WeakKeyDictionary()

    # Spawnable scenes.

    def add_spawnable_scene(self, scene: Scene | str) -> None:
        """Allow ``scene``: a ``res://`` path registered with ``register_scene`` (as
        Godot lists it), a Node subclass or a factory. Its index, which SPAWN carries,
        is its position.

        Raises:
            ValueError: No scene is registered under the path (the message lists
                those that are), or 255 scenes are listed already (Godot's limit).
            TypeError: ``scene`` is neither a path nor callable.
        """
        if isinstance(scene, str):
            path, scene = scene, scene_at(scene)
        elif callable(scene):
            path = scene_path(scene)
        else:
            raise TypeError("a spawnable scene is a res:// path, a Node subclass or a factory")
        if len(self._scenes) >= 255:
            raise ValueError("at most 255 spawnable scenes (Godot's limit)")
        self._scenes.append(scene)
        self._scene_paths.append(path)

    def get_spawnable_scene(self, index: int) -> Scene:
        return self._scenes[index]

    def get_spawnable_scene_path(self, index: int) -> str:
        """The ``res://`` path of spawnable scene ``index`` ("" for a scene added
        without one and registered under none)."""
        return self._scene_paths[index]

    def get_spawnable_scene_count(self) -> int:
        return len(self._scenes)

    def clear_spawnable_scenes(self) -> None:
        """Forget the scenes (nodes already spawned stay, as in Godot)."""
        self._scenes.clear()
        self._scene_paths.clear()

    def instantiate_scene(self, index: int) -> Node:
        """A new node of spawnable scene ``index``, recognised when added."""
        scene = self._scenes[index]
        node = scene()
        if not isinstance(node, Node):
            raise TypeError(f"spawnable scene {index} made {type(node).__name__}, not a Node")
        self._made[node] = (index, None)
        return node

    def instantiate_custom(self, data: Any) -> Node:
        """A new node from ``spawn_function(data)`` (what receivers build for a custom
        spawn).

        Raises:
            InvalidState: No spawn_function, or it returned something other than a
                node without a parent.
        """
        function = self.spawn_function
        if function is None:
            raise InvalidState("this spawner has no spawn_function")
        node = function(data)
        if not isinstance(node, Node):
            raise InvalidState(f"spawn_function returned {type(node).__name__}, not a Node")
        if node.get_parent() is not None:
            raise InvalidState("spawn_function must return a node that has no parent")
        return node

    def scene_index_of(self, node: Node) -> int | None:
        """The spawnable scene ``node`` is an instance of, or None."""
        made = self._made.get(node)
        if made is not None and 0 <= made[0] < len(self._scenes):
            return made[0]
        for i, scene in enumerate(self._scenes):
            if isinstance(scene, type) and type(node) is scene:
                return i
        return None

    def spawn_info(self, node: Node) -> tuple[int, Any] | None:
        """How ``node`` is spawned on other peers: ``(CUSTOM_SPAWN, data)`` if
        ``spawn(data)`` made it, ``(scene index, None)`` for an instance of a
        spawnable scene, None if this spawner does not spawn it."""
        made = self._made.get(node)
        if made is not None and made[0] == CUSTOM_SPAWN:
            return made
        index = self.scene_index_of(node)
        return None if index is None else (index, None)

    # Custom spawns.

    def spawn(self, data: Any = None) -> Node:
        """Build a node with ``spawn_function(data)``, add it under ``spawn_path`` and
        spawn it on every peer with the same ``data``.

        Raises:
            InvalidState: Not in a tree, not the authority, no spawn_function, no node
                at spawn_path, or the spawn_limit is reached.
        """
        if not self.is_inside_tree():
            raise InvalidState("spawn() needs the spawner inside a tree")
        if not self.is_multiplayer_authority():
            raise InvalidState("only the spawner's multiplayer authority may spawn()")
        if self.spawn_function is None:
            raise InvalidState("spawn() needs a spawn_function")
        if self.spawn_limit and replicator_of(self).spawned_count(self) >= self.spawn_limit:
            raise InvalidState(f"spawn_limit ({self.spawn_limit}) reached")
        parent = self.get_spawn_node()
        if parent is None:
            raise InvalidState(f"no node at spawn_path {self.spawn_path!r}")
        node = self.instantiate_custom(data)
        self._made[node] = (CUSTOM_SPAWN, data)
        parent.add_child(node, force_readable_name=True)
        return node

    def get_spawn_node(self) -> Node | None:
        """The node spawned nodes go under (``spawn_path``, relative to the spawner)."""
        if not self.spawn_path:
            return None
        return self.get_node_or_null(self.spawn_path)

    # The tree.

    def _enter_tree(self) -> None:
        replicator_of(self).add_spawner(self)

    def _exit_tree(self) -> None:
        replicator_of(self).remove_spawner(self)
