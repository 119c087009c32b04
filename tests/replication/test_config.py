"""SceneReplicationConfig: Godot's property list, defaults and modes."""

from __future__ import annotations

import pytest

from multiplayer.replication.config import (
    ReplicationMode,
    SceneReplicationConfig,
    split_property_path,
)


def test_defaults_and_order() -> None:
    """Added properties spawn and are ALWAYS by default; index inserts; order is kept."""
    config = SceneReplicationConfig()
    config.add_property(".:position")
    config.add_property("Label:text")
    config.add_property(".:score", 0)
    assert config.get_properties() == [".:score", ".:position", "Label:text"]
    assert config.property_get_index("Label:text") == 2
    assert config.property_get_index("nope:x") == -1
    assert config.property_get_spawn(".:position")
    assert config.property_get_replication_mode(".:position") is ReplicationMode.ALWAYS


def test_modes_and_lists() -> None:
    """Modes sort properties into the spawn, sync and watch lists."""
    config = SceneReplicationConfig()
    for path in (".:a", ".:b", ".:c"):
        config.add_property(path)
    config.property_set_replication_mode(".:b", SceneReplicationConfig.REPLICATION_MODE_ON_CHANGE)
    config.property_set_replication_mode(".:c", ReplicationMode.NEVER)
    config.property_set_spawn(".:a", False)
    assert config.spawn_properties() == [".:b", ".:c"]
    assert config.sync_properties() == [".:a"]
    assert config.watch_properties() == [".:b"]
    assert config.property_get_watch(".:b") and not config.property_get_sync(".:b")
    config.property_set_sync(".:b", True)
    assert config.property_get_replication_mode(".:b") is ReplicationMode.ALWAYS
    config.property_set_watch(".:b", False)
    assert config.property_get_replication_mode(".:b") is ReplicationMode.NEVER


def test_errors() -> None:
    """Duplicates, missing properties and malformed paths raise."""
    config = SceneReplicationConfig()
    config.add_property(".:position")
    with pytest.raises(ValueError, match="already"):
        config.add_property(".:position")
    with pytest.raises(KeyError):
        config.remove_property("Label:text")
    with pytest.raises(KeyError):
        config.property_get_spawn("Label:text")
    for bad in ("position", "Label:", ".:position:x", ".:not a name"):
        with pytest.raises(ValueError):
            config.add_property(bad)
    config.remove_property(".:position")
    assert not config.has_property(".:position")


def test_split_property_path() -> None:
    """Paths split into a node path and a property name."""
    assert split_property_path(".:position") == (".", "position")
    assert split_property_path("Label:text") == ("Label", "text")
    assert split_property_path(":hp") == (".", "hp")
