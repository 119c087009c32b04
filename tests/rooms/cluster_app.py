"""The room types of the worker processes that tests/rooms/test_workers.py starts
(``python -m multiplayer.rooms.workers tests.rooms.cluster_app:setup``)."""

from __future__ import annotations

from multiplayer.rooms import Room, RoomServer


class Hall(Room):
    max_clients = 4


def setup(server: RoomServer) -> None:
    server.define("hall", Hall)


def broken(server: RoomServer) -> None:
    """A setup that fails in every worker (a bug in the game's code, say)."""
    raise RuntimeError("this setup is broken")
