"""Scenes by ``res://`` path: one name for a spawnable scene on every peer, Python or Godot.

A Godot MultiplayerSpawner lists its spawnable scenes as ``res://`` paths
(``_spawnable_scenes``), and its SPAWN names a scene by its index in that list
(``MultiplayerSpawner::find_spawnable_scene_index_from_object``). For a Python peer
and a Godot peer to agree, a Python scene is registered under the path of the Godot
scene it stands for, and spawners list it by that path, in the same order as the
Godot spawner::

    register_scene("res://player.tscn", Player)
    spawner.add_spawnable_scene("res://player.tscn")

A scene is a :class:`~multiplayer.scene.node.Node` subclass that can be built with
no arguments, or a zero-argument factory returning a node. The registry is shared by
every spawner of the process.
"""

from __future__ import annotations

from collections.abc import Callable

from ..scene.node import Node

__all__ = [
    "Scene",
    "register_scene",
    "registered_scenes",
    "scene_at",
    "scene_path",
    "unregister_scene",
]

Scene = type[Node] | Callable[[], Node]

_PREFIX = "res://"
_SCENES: dict[str, Scene] = {}


def register_scene(path: str, scene: Scene) -> None:
    """Make ``scene`` spawnable by ``path``, Godot's name for it (``"res://..."``).

    Registering the same scene under the same path again changes nothing.

    Raises:
        ValueError: ``path`` does not start with ``res://``, or names another scene.
        TypeError: ``scene`` is not callable.
    """
    if not isinstance(path, str) or not path.startswith(_PREFIX) or path == _PREFIX:
        raise ValueError(f"a scene path is Godot's, such as 'res://player.tscn', not {path!r}")
    if not callable(scene):
        raise TypeError("a scene is a Node subclass or a zero-argument factory")
    known = _SCENES.get(path)
    if known is not None and known is not scene:
        raise ValueError(f"{path!r} is registered already, for {known!r}")
    _SCENES[path] = scene


def unregister_scene(path: str) -> None:
    """Forget ``path`` (spawners that listed it keep their scene).

    Raises:
        KeyError: It is not registered.
    """
    del _SCENES[path]


def registered_scenes() -> dict[str, Scene]:
    """Every registered path and its scene (a copy)."""
    return dict(_SCENES)


def scene_at(path: str) -> Scene:
    """The scene registered under ``path``.

    Raises:
        ValueError: None is (the message lists the registered paths).
    """
    scene = _SCENES.get(path)
    if scene is None:
        known = ", ".join(repr(p) for p in sorted(_SCENES)) or "none"
        raise ValueError(
            f"no scene is registered under {path!r} (register_scene(path, scene) first); "
            f"registered: {known}"
        )
    return scene


def scene_path(scene: Scene) -> str:
    """The path ``scene`` is registered under ("" if none)."""
    for path, known in _SCENES.items():
        if known is scene:
            return path
    return ""
