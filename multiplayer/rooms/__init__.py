"""Rooms: many sessions in one server, joined by code, with a lobby (in progress).

So far: room codes (:mod:`.codes`) and the room directory with its seat ledger
(:mod:`.directory`), the part a Redis directory will later replace to spread rooms
over processes.
"""

from __future__ import annotations

from .client import JoinedRoom, create, join, join_or_create, list_rooms, watch_rooms
from .codes import new_code, normalize_code
from .directory import LocalDirectory, RoomDirectory, RoomInfo, Seat
from .paths import Action, RoomRequest, parse_path, room_path
from .room import JoinRequest, Room
from .server import ROOM_HEADER, ROOM_TYPE_HEADER, RoomServer

__all__ = [
    "ROOM_HEADER",
    "ROOM_TYPE_HEADER",
    "Action",
    "JoinRequest",
    "JoinedRoom",
    "LocalDirectory",
    "Room",
    "RoomDirectory",
    "RoomInfo",
    "RoomRequest",
    "RoomServer",
    "Seat",
    "create",
    "join",
    "join_or_create",
    "list_rooms",
    "new_code",
    "normalize_code",
    "parse_path",
    "room_path",
    "watch_rooms",
]
