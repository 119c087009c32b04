"""Rooms: many sessions in one server, joined by code, with a lobby.

A :class:`RoomServer` hosts many rooms on one port; each :class:`Room` is a session
of its own (its own tree, SceneMultiplayer and ids). Players ``create``, ``join``
(by code) or ``join_or_create`` rooms with the client helpers, or with a URL alone
(a Godot game); the public rooms are listed as JSON (``list_rooms``,
``watch_rooms``). Which rooms exist and their seats are kept by a
:class:`RoomDirectory` (:class:`LocalDirectory` in one process). See docs/rooms.md.
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
