"""The listing of public rooms, as a room server sends it to watchers.

A connection to ``/list`` (or ``/list/<type>``) gets the public rooms as one JSON
text message now, and a new one whenever they change (at most one every
``LISTING_INTERVAL`` seconds: each is whole, so the ones skipped lose nothing).
JSON and text, so that a lobby in a browser or in Godot reads it with what it has
(``JSON.parse_string(packet.get_string_from_utf8())``)::

    {"rooms": [{"code": "K3M9QZ", "type": "dice", "clients": 2, "max_clients": 4,
                "free": 1, "locked": false, "metadata": {"mode": "duel"}}]}

``free`` is the seats neither taken nor held for a join in progress (null: no
limit).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from ..exceptions import RoomError
from ..transport.close_codes import CLOSE_TRY_AGAIN_LATER
from ..transport.websocket_peer_link import State
from .directory import RoomDirectory, RoomInfo
from .front import Front

__all__ = ["LISTING_INTERVAL", "Listing", "listing_json"]

logger = logging.getLogger("multiplayer.rooms")

LISTING_INTERVAL = 0.1
"""Seconds at least between two listings sent to one watcher."""

_MADE = 64
"""Room types whose listing is kept made (a watcher may ask for any type)."""


def listing_json(rooms: list[RoomInfo]) -> str:
    """A listing as sent to watchers (see the module's docstring)."""
    return json.dumps(
        {
            "rooms": [
                {
                    "code": room.code,
                    "type": room.room_type,
                    "clients": room.taken,
                    "max_clients": room.max_clients,
                    "free": room.free,
                    "locked": room.locked,
                    "metadata": dict(room.metadata),
                }
                for room in rooms
            ]
        },
        separators=(",", ":"),
        default=str,
    )


class Listing:
    """Serves the listing to its watchers, ``max_watchers`` at most (1013 past it)."""

    def __init__(self, directory: RoomDirectory, max_watchers: int) -> None:
        self.directory = directory
        self.max_watchers = max_watchers
        self.watchers = 0
        self.closing = False
        # One JSON per room type and version, however many watch it: a change costs
        # one listing each, not one per watcher.
        self._made: dict[str, tuple[int, bytes]] = {}

    async def serve(self, front: Front, room_type: str) -> None:
        """Send the public rooms (of ``room_type``) now and whenever they change,
        until the watcher leaves or the server closes."""
        if self.watchers >= self.max_watchers:
            limit = f"too many listing watchers (max_watchers {self.max_watchers})"
            front.refuse(RoomError(limit), CLOSE_TRY_AGAIN_LATER, logging.WARNING)
            return
        if not front.open():
            return
        self.watchers += 1
        try:
            await self._send_changes(front, room_type)
        finally:
            self.watchers -= 1

    async def _listing(self, room_type: str, version: int) -> bytes:
        """The listing of ``room_type`` at ``version`` (or later), as JSON."""
        made = self._made.get(room_type)
        if made is not None and made[0] >= version:
            return made[1]
        text = listing_json(await self.directory.listing(room_type or None)).encode()
        self._made[room_type] = (version, text)
        if len(self._made) > _MADE:
            del self._made[next(iter(self._made))]
        return text

    async def _send_changes(self, front: Front, room_type: str) -> None:
        directory = self.directory
        loop = asyncio.get_running_loop()
        version = await directory.changed(-1)  # (now: what the first listing shows)
        ws = front.ws
        while not self.closing:
            text = await self._listing(room_type, version)
            ws.poll()
            while ws.get_available_packet_count():
                ws.get_packet()  # (a watcher has nothing to say: ignored)
            if ws.get_ready_state() is not State.STATE_OPEN:
                return
            if not front.conn.backed_up:  # (else the next one)
                # (on the link itself: a listing is as long as the rooms are many,
                # and outbound_buffer_size bounds what a peer puts, not this)
                front.conn.write_binary([text], text=True)
            change = loop.create_task(directory.changed(version))
            waits: set[asyncio.Future[Any]] = {change, front.closed}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if not change.done():
                change.cancel()
                return
            version = change.result()
            await asyncio.sleep(LISTING_INTERVAL)
