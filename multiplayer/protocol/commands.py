"""The numbers that name messages, shared by every wire profile.

Commands 0 to 7 are Godot's ``SceneMultiplayer::NetworkCommands`` and the SYS
sub-commands are its ``SysCommands`` (modules/multiplayer/scene_multiplayer.h): a
profile that speaks Godot's bytes writes the same numbers. Commands 8 and up are this library's
(method-name ids, awaited calls, forgetting a path id, pings), unknown to Godot.
"""

from __future__ import annotations

import enum

__all__ = ["Command", "Status", "SysCommand"]


class Command(enum.IntEnum):
    """What a packet is."""

    REMOTE_CALL = 0
    SIMPLIFY_PATH = 1
    CONFIRM_PATH = 2
    RAW = 3
    SPAWN = 4
    DESPAWN = 5
    SYNC = 6
    SYS = 7
    SIMPLIFY_NAME = 8
    REQUEST = 9
    RESPONSE = 10
    FORGET_PATH = 11
    PING = 12
    PONG = 13


class SysCommand(enum.IntEnum):
    """What a SYS packet is (Godot: ``SYS_COMMAND_*``)."""

    AUTH = 0
    ADD_PEER = 1
    DEL_PEER = 2
    RELAY = 3
    ADD_PEERS = 4
    """Native profile only: many ADD_PEERs in one packet (Godot sends one each)."""


class Status(enum.IntEnum):
    """The outcome a RESPONSE carries."""

    OK = 0
    ERROR = 1
    REFUSED = 2
