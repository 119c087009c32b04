"""The WebSocket close codes a multiplayer peer sends, and what each means here.

RFC 6455 §7.4.1 and the IANA registry define the 1000s; 4000-4999 are for private
use (§7.4.2): this library's own, 4001, refuses a resume (docs/resume.md). Every
code a peer sends and why is listed in docs/protocol.md §1.4.
"""

from __future__ import annotations

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_NORMAL",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_RESUME_REFUSED",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_RESUME_REFUSED = 4001
