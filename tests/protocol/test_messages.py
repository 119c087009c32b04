"""The typed messages: what a peer may name."""

from __future__ import annotations

import pytest

from multiplayer import DecodingError
from multiplayer.protocol import messages
from multiplayer.protocol.messages import brief, check_method_name, check_wire_path


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
