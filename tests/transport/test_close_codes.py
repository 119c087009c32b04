"""Tests for :mod:`multiplayer.transport.close_codes`: every code a peer sends is in
the protocol's table, with the number it has on the wire, and a room server's
refusals (4100-4105) are read as their typed errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from multiplayer import (
    JoinRefused,
    RoomError,
    RoomFull,
    RoomGone,
    RoomLocked,
    RoomNotFound,
    ShuttingDown,
)
from multiplayer.transport import close_codes, websocket_multiplayer_peer
from multiplayer.transport.close_codes import error_for_close

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_every_close_code_is_documented() -> None:
    table = set(re.findall(r"^\| (\d{4}) \|", DOC.read_text(), re.M))
    codes = {getattr(close_codes, n) for n in close_codes.__all__ if n.startswith("CLOSE_")}
    assert {str(code) for code in codes} <= table
    assert close_codes.CLOSE_RESUME_REFUSED == 4001  # (private use: RFC 6455 §7.4.2)


def test_the_peer_module_still_exports_them() -> None:
    """Programs import the codes from where the peer is (as before this module);
    a room server's (4100 and up) are the rooms package's to export."""
    for name in close_codes.__all__:
        if not name.startswith("CLOSE_") or getattr(close_codes, name) >= 4100:
            continue
        assert getattr(websocket_multiplayer_peer, name) == getattr(close_codes, name)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (4100, RoomNotFound),
        (4101, RoomFull),
        (4102, RoomLocked),
        (4103, JoinRefused),
        (4104, ShuttingDown),
        (4105, RoomError),
        (4106, RoomGone),
    ],
)
def test_a_room_servers_refusal_is_its_typed_error(code: int, error: type[RoomError]) -> None:
    """4100-4106, read by a client before it had its id: the error of each, exactly
    that type, with the server's reason as its message."""
    typed = error_for_close(code, "the reason")
    assert type(typed) is error
    assert str(typed) == "the reason"


def test_a_join_refused_keeps_the_rooms_reason() -> None:
    typed = error_for_close(close_codes.CLOSE_JOIN_REFUSED, "tell us your name")
    assert isinstance(typed, JoinRefused) and typed.reason == "tell us your name"


@pytest.mark.parametrize("code", [1000, 1001, 1006, 1013, 4001, 4099, 4107, 4999])
def test_other_codes_are_no_room_error(code: int) -> None:
    assert error_for_close(code, "whatever") is None


def test_the_room_codes_are_4100_to_4105() -> None:
    assert (
        close_codes.CLOSE_ROOM_NOT_FOUND,
        close_codes.CLOSE_ROOM_FULL,
        close_codes.CLOSE_ROOM_LOCKED,
        close_codes.CLOSE_JOIN_REFUSED,
        close_codes.CLOSE_SHUTTING_DOWN,
        close_codes.CLOSE_BAD_ROOM_REQUEST,
    ) == (4100, 4101, 4102, 4103, 4104, 4105)
