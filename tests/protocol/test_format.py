"""Packet formats by profile name: the registry and its errors."""

from __future__ import annotations

import pytest

from multiplayer.protocol import format as formats
from multiplayer.protocol.format import PacketFormat, format_names, get_format, register_format
from multiplayer.protocol.native.codec import Codec, default_codec
from multiplayer.protocol.native.format import NativeFormat


def test_native_is_registered() -> None:
    """ "native" builds a NativeFormat around the codec it is given."""
    assert "native" in format_names()
    built: PacketFormat = get_format("native")(default_codec)
    assert isinstance(built, NativeFormat)
    assert built.name == "native" and built.codec is default_codec


def test_unknown_profile_lists_the_known_ones() -> None:
    """An unknown name raises ValueError naming every registered profile."""
    with pytest.raises(ValueError, match=r"unknown wire profile 'godot'.*'native'"):
        get_format("godot")


def test_register_a_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registered profile is found by name; a name cannot be registered twice."""
    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))

    class Other(NativeFormat):
        name = "other"

    register_format("other", Other)
    assert format_names() == ["native", "other"]
    assert isinstance(get_format("other")(Codec()), Other)
    with pytest.raises(ValueError, match="registered already"):
        register_format("native", Other)
