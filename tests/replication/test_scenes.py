"""Scenes by res:// path: register_scene, and spawners that list scenes by path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from multiplayer import MultiplayerSpawner, Node, register_scene, unregister_scene
from multiplayer.replication import scenes


class Player(Node):
    pass


class Enemy(Node):
    pass


@pytest.fixture(autouse=True)
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(scenes, "_SCENES", {})
    yield


def test_a_spawner_lists_a_registered_scene_by_its_godot_path() -> None:
    """The index is the position, as in Godot's list; the path is kept."""
    register_scene("res://player.tscn", Player)
    register_scene("res://enemy.tscn", Enemy)
    spawner = MultiplayerSpawner("Spawner")
    spawner.add_spawnable_scene("res://enemy.tscn")
    spawner.add_spawnable_scene("res://player.tscn")
    assert spawner.get_spawnable_scene_count() == 2
    assert spawner.get_spawnable_scene(1) is Player
    assert spawner.get_spawnable_scene_path(0) == "res://enemy.tscn"
    assert isinstance(spawner.instantiate_scene(1), Player)


def test_a_class_or_a_factory_still_works_and_finds_its_path() -> None:
    register_scene("res://player.tscn", Player)
    spawner = MultiplayerSpawner("Spawner")
    spawner.add_spawnable_scene(Player)
    spawner.add_spawnable_scene(lambda: Enemy("E"))
    assert spawner.get_spawnable_scene_path(0) == "res://player.tscn"
    assert spawner.get_spawnable_scene_path(1) == ""
    spawner.clear_spawnable_scenes()
    assert spawner.get_spawnable_scene_count() == 0


def test_an_unknown_path_names_the_registered_ones() -> None:
    register_scene("res://player.tscn", Player)
    spawner = MultiplayerSpawner("Spawner")
    with pytest.raises(ValueError, match=r"'res://nope.tscn'.*registered: 'res://player.tscn'"):
        spawner.add_spawnable_scene("res://nope.tscn")
    assert spawner.get_spawnable_scene_count() == 0


def test_registration_rules() -> None:
    """A Godot path; one scene per path (again the same: no change); forgettable."""
    register_scene("res://player.tscn", Player)
    register_scene("res://player.tscn", Player)
    assert scenes.registered_scenes() == {"res://player.tscn": Player}
    with pytest.raises(ValueError, match="registered already"):
        register_scene("res://player.tscn", Enemy)
    with pytest.raises(ValueError, match="res://"):
        register_scene("player.tscn", Player)
    with pytest.raises(TypeError):
        register_scene("res://x.tscn", 3)  # type: ignore[arg-type]
    unregister_scene("res://player.tscn")
    assert scenes.registered_scenes() == {}
    with pytest.raises(KeyError):
        unregister_scene("res://player.tscn")
