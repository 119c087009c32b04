"""Tests for multiplayer.scene.api: the abstract MultiplayerAPI and its default."""

from __future__ import annotations

import pytest

from multiplayer import MultiplayerAPI, SceneMultiplayer, SceneTree


def test_calling_the_abstract_api_makes_the_default() -> None:
    """MultiplayerAPI() is a ready SceneMultiplayer, as create_default_interface() is."""
    api = MultiplayerAPI()
    assert type(api) is SceneMultiplayer
    assert api.get_unique_id() == 1 and api.has_multiplayer_peer()  # an offline peer
    assert type(MultiplayerAPI.create_default_interface()) is SceneMultiplayer
    assert MultiplayerAPI.get_default_interface() is SceneMultiplayer


def test_a_registered_default_serves_new_trees() -> None:
    """set_default_interface changes what a new SceneTree gets; old trees keep theirs."""

    class Custom(SceneMultiplayer):
        pass

    before = SceneTree()
    MultiplayerAPI.set_default_interface(Custom)
    try:
        assert type(SceneTree().get_multiplayer()) is Custom
        assert type(before.get_multiplayer()) is SceneMultiplayer
    finally:
        MultiplayerAPI.set_default_interface(SceneMultiplayer)


def test_only_subclasses_can_be_the_default() -> None:
    """A class that is not a MultiplayerAPI is refused at the call."""
    with pytest.raises(TypeError, match="not a MultiplayerAPI subclass"):
        MultiplayerAPI.set_default_interface(dict)  # type: ignore[arg-type]
    assert MultiplayerAPI.get_default_interface() is SceneMultiplayer
