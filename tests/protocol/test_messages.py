"""The typed messages: what a peer may name, and the native serialize() kept for replication."""

from __future__ import annotations

from typing import Any

import pytest

from multiplayer import DecodingError
from multiplayer.protocol import messages
from multiplayer.protocol.messages import (
    Despawn,
    Ping,
    Relay,
    RemoteCall,
    Response,
    Spawn,
    Status,
    Sync,
    brief,
    check_method_name,
    check_wire_path,
)
from multiplayer.protocol.native import encode
from multiplayer.protocol.native.codec import default_codec
from multiplayer.protocol.native.format import NativeFormat


@pytest.mark.parametrize("path", [".", "Game", "World/Players/Player2", "a b/ü"])
def test_wire_paths_inside_the_root(path: str) -> None:
    """Child names joined by / (or "." for the root itself) are accepted."""
    check_wire_path(path)


@pytest.mark.parametrize(
    "path", ["", "/root/Game", "Game/", "Game//X", "../Game", "Game/..", "./Game", "x" * 1025]
)
def test_wire_paths_that_leave_the_root(path: str) -> None:
    """Absolute, empty-part, . or .. parts, and oversized paths are refused."""
    with pytest.raises(DecodingError):
        check_wire_path(path)


def test_too_many_path_parts() -> None:
    """More than MAX_PATH_PARTS names is refused."""
    check_wire_path("/".join(["a"] * messages.MAX_PATH_PARTS))
    with pytest.raises(DecodingError, match="parts"):
        check_wire_path("/".join(["a"] * (messages.MAX_PATH_PARTS + 1)))


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("b_func", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("1abc", False),
        ("a-b", False),
        ("", False),
    ],
)
def test_method_names(name: str, ok: bool) -> None:
    """A method name is an identifier of at most 128 characters."""
    if ok:
        check_method_name(name)
    else:
        with pytest.raises(DecodingError, match="not an identifier"):
            check_method_name(name)


def test_brief_cuts_long_text() -> None:
    """Remote text in log lines is cut to 40 characters."""
    assert brief("abc") == "'abc'"
    assert len(brief("x" * 100)) == 40 and brief("x" * 100).endswith("...")


@pytest.mark.parametrize(
    "message",
    [
        RemoteCall(1, 2, [3, "x"]),
        Response(4, Status.ERROR, ["ValueError", "no"]),
        Spawn(1, 7, 0, "Ship", None, [[1, 2]]),
        Despawn(7),
        Sync(3, [[1, [0.5]]], []),
        Ping(9),
        Relay(-2, b"\x90"),
    ],
)
def test_serialize_is_the_native_layout(message: Any) -> None:
    """serialize(codec) writes the same bytes as the native format's encode."""
    assert message.serialize(default_codec) == NativeFormat(default_codec).encode(message)


def test_compatibility_names_are_the_native_ones() -> None:
    """encode_call, encode_request and inner_command stay importable from messages."""
    assert messages.encode_call is encode.encode_call
    assert messages.encode_request is encode.encode_request
    assert messages.inner_command is encode.inner_command
    assert messages.BARE_CALL == encode.BARE_CALL
