"""The WebSocket close codes a multiplayer peer sends, and what each means here.

RFC 6455 §7.4.1 and the IANA registry define the 1000s; 4000-4999 are for private
use (§7.4.2): this library's own are 4001, which refuses a resume (docs/resume.md),
and 4100-4106, with which a room server refuses a join (docs/rooms.md): a client
reads those as the typed errors of :func:`error_for_close`. Every code a peer sends
and why is listed in docs/protocol.md §1.4.
"""

from __future__ import annotations

from ..exceptions import (
    JoinRefused,
    RoomError,
    RoomFull,
    RoomGone,
    RoomLocked,
    RoomNotFound,
    ShuttingDown,
)

__all__ = [
    "CLOSE_BAD_ROOM_REQUEST",
    "CLOSE_GOING_AWAY",
    "CLOSE_JOIN_REFUSED",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_NORMAL",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_RESUME_REFUSED",
    "CLOSE_ROOM_FULL",
    "CLOSE_ROOM_GONE",
    "CLOSE_ROOM_LOCKED",
    "CLOSE_ROOM_NOT_FOUND",
    "CLOSE_SHUTTING_DOWN",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
    "error_for_close",
]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_RESUME_REFUSED = 4001

CLOSE_ROOM_NOT_FOUND = 4100
CLOSE_ROOM_FULL = 4101
CLOSE_ROOM_LOCKED = 4102
CLOSE_JOIN_REFUSED = 4103
"""The room's ``on_join`` refused the player: the close reason is the hook's."""
CLOSE_SHUTTING_DOWN = 4104
CLOSE_BAD_ROOM_REQUEST = 4105
"""The path names no room request, or an unknown room type."""
CLOSE_ROOM_GONE = 4106
"""The room ended with the process that hosted it (docs/scaling.md)."""

_ROOM_ERRORS: dict[int, type[RoomError]] = {
    CLOSE_ROOM_NOT_FOUND: RoomNotFound,
    CLOSE_ROOM_FULL: RoomFull,
    CLOSE_ROOM_LOCKED: RoomLocked,
    CLOSE_SHUTTING_DOWN: ShuttingDown,
    CLOSE_BAD_ROOM_REQUEST: RoomError,
    CLOSE_ROOM_GONE: RoomGone,
}


def error_for_close(code: int, reason: str) -> Exception | None:
    """The typed error of a room server's refusal, closed with ``code`` and
    ``reason`` before the client had its id; None for any other code."""
    if code == CLOSE_JOIN_REFUSED:
        return JoinRefused(reason)
    kind = _ROOM_ERRORS.get(code)
    return kind(reason) if kind is not None else None
