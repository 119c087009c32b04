"""The room types of the ``cluster`` benchmark's workers (``bench/cluster.py``):
``python -m multiplayer.rooms.workers cluster_app:setup``, run in bench/. A room is
what ``serve.py rooms`` serves: the same ``Bench`` node and settings."""

from __future__ import annotations

import os

from serve import BenchRoom

from multiplayer.rooms import RoomServer

ROOM_SIZE_ENV = "BENCH_ROOM_SIZE"


def setup(server: RoomServer) -> None:
    server.define("room", BenchRoom, max_clients=int(os.environ.get(ROOM_SIZE_ENV, "4")))
