"""Rooms: many sessions in one server, joined by code, with a lobby (in progress).

So far: room codes (:mod:`.codes`) and the room directory with its seat ledger
(:mod:`.directory`), the part a Redis directory will later replace to spread rooms
over processes.
"""

from __future__ import annotations

from .codes import new_code, normalize_code
from .directory import LocalDirectory, RoomDirectory, RoomInfo, Seat

__all__ = [
    "LocalDirectory",
    "RoomDirectory",
    "RoomInfo",
    "Seat",
    "new_code",
    "normalize_code",
]
