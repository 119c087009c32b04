"""Tests for the :mod:`multiplayer.transport.framing` package: the registry by name."""

from __future__ import annotations

import pytest

from multiplayer.transport.framing import FRAMINGS, Framing, Greeting, framing_for
from multiplayer.transport.framing.base import Framing as BaseFraming, Greeting as BaseGreeting
from multiplayer.transport.framing.godot import GodotFraming
from multiplayer.transport.framing.native import NativeFraming


def test_the_package_reexports_the_interface() -> None:
    """Framing and Greeting are importable from the package itself."""
    assert Framing is BaseFraming
    assert Greeting is BaseGreeting


def test_both_profiles_are_registered_under_their_names() -> None:
    """The registry knows "native" and "godot", each filed under its own name."""
    assert isinstance(FRAMINGS["native"], NativeFraming)
    assert isinstance(FRAMINGS["godot"], GodotFraming)
    assert all(framing.name == name for name, framing in FRAMINGS.items())


def test_framing_for_returns_the_registered_instance() -> None:
    """framing_for(name) is the one shared instance (a framing is stateless)."""
    assert framing_for("native") is FRAMINGS["native"]


@pytest.mark.parametrize("name", ["quake", "Native", "", "native ", "Godot"])
def test_framing_for_an_unknown_name_lists_the_known_ones(name: str) -> None:
    """An unknown name raises ValueError quoting it and every known name."""
    with pytest.raises(ValueError) as info:
        framing_for(name)
    message = str(info.value)
    assert f"unknown protocol {name!r}" in message
    assert all(repr(known) in message for known in FRAMINGS)


def test_framing_for_a_non_string_is_a_value_error() -> None:
    """A name that is not even hashable is refused the same way, not with a TypeError."""
    with pytest.raises(ValueError, match="unknown protocol"):
        framing_for(["native"])  # type: ignore[arg-type]


def test_the_registry_is_read_only() -> None:
    """Profiles are registered in the package's source, not at run time."""
    with pytest.raises(TypeError):
        FRAMINGS["mine"] = FRAMINGS["native"]  # type: ignore[index]
