"""Joining rooms from Python: ``create``, ``join``, ``join_or_create``, and the listing.

Each join starts the given :class:`WebSocketMultiplayerPeer` as a client of the
room server, at the path of the request (:mod:`.paths`), and waits until the room
has given it its id, or raises the typed error of the refusal (``RoomNotFound``,
``RoomFull``, ``RoomLocked``, ``JoinRefused`` with the room's reason,
``ShuttingDown``) or why the connection failed. It never waits longer than the
peer's ``handshake_timeout``. The peer is then an ordinary client, in its room:
set it as a ``multiplayer_peer`` (before or after the join) and play.

A Godot client (or a browser) joins the same way, with only a URL:
``ws://host:port/join/K3M9QZ``; a refusal is the close code and reason
(docs/rooms.md lists them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import ssl
from collections.abc import AsyncGenerator, Mapping
from types import MappingProxyType
from typing import Any

from ..exceptions import InvalidState, RoomError, RoomNotFound
from ..transport.peer import TARGET_PEER_SERVER, ConnectionStatus
from ..transport.tls import TLSOptions
from ..transport.websocket_multiplayer_peer import WebSocketMultiplayerPeer
from ..transport.websocket_peer import WebSocketPeer
from ..transport.websocket_peer_link import State
from .codes import normalize_code
from .directory import RoomInfo
from .paths import Action, room_path
from .server import ROOM_HEADER, ROOM_TYPE_HEADER

__all__ = [
    "MAX_LISTING",
    "JoinedRoom",
    "create",
    "join",
    "join_or_create",
    "list_rooms",
    "watch_rooms",
]

MAX_LISTING = 8 * 1024 * 1024
"""Bytes a listing may have, read (about 80,000 rooms)."""


@dataclasses.dataclass(frozen=True)
class JoinedRoom:
    """The room a client is in."""

    code: str
    """Its code: what friends join it by."""
    room_type: str
    peer_id: int
    """This client's id in the room."""


async def create(
    peer: WebSocketMultiplayerPeer,
    url: str,
    room_type: str,
    options: Mapping[str, str] | None = None,
    *,
    tls: ssl.SSLContext | None = None,
) -> JoinedRoom:
    """Create a room of ``room_type`` on the room server at ``url`` (``ws://host:port``)
    and join it. ``options`` reach the room's ``on_create`` and ``on_join``; with
    ``private="1"`` it is not listed.

    Raises:
        RoomError: The server refused (an unknown type: ``RoomError``; its
            ``on_create`` or ``on_join`` refused: ``JoinRefused``; ``ShuttingDown``).
        ConnectionError, TimeoutError, ProtocolError: The connection failed.
    """
    return await _enter(peer, url, room_path(Action.CREATE, room_type, options), tls)


async def join(
    peer: WebSocketMultiplayerPeer,
    url: str,
    code: str,
    options: Mapping[str, str] | None = None,
    *,
    tls: ssl.SSLContext | None = None,
) -> JoinedRoom:
    """Join the room ``code`` (typed as a player typed it: case and look-alikes do
    not matter).

    Raises:
        RoomNotFound, RoomFull, RoomLocked, JoinRefused, ShuttingDown: The server
            refused.
        ConnectionError, TimeoutError, ProtocolError: The connection failed.
    """
    try:
        code = normalize_code(code)
    except ValueError as exc:
        raise RoomNotFound(str(exc)) from None
    return await _enter(peer, url, room_path(Action.JOIN, code, options), tls)


async def join_or_create(
    peer: WebSocketMultiplayerPeer,
    url: str,
    room_type: str,
    options: Mapping[str, str] | None = None,
    *,
    tls: ssl.SSLContext | None = None,
) -> JoinedRoom:
    """Join a public room of ``room_type`` with a free seat that matches the options
    its type filters by, or else create one. Players asking at the same instant
    land in the same room.

    Raises:
        RoomError, ConnectionError, TimeoutError, ProtocolError: As :func:`create`.
    """
    return await _enter(peer, url, room_path(Action.JOIN_OR_CREATE, room_type, options), tls)


async def list_rooms(
    url: str, room_type: str = "", *, tls: ssl.SSLContext | None = None
) -> list[RoomInfo]:
    """The public rooms (of ``room_type``) on the room server at ``url``, now.

    Raises:
        ConnectionError, TimeoutError: No listing came.
    """
    async with contextlib.aclosing(watch_rooms(url, room_type, tls=tls)) as listings:
        async for rooms in listings:
            return rooms  # (leaving the block closes the connection now)
    raise ConnectionError("the room server sent no listing")  # (watch_rooms raises first)


async def watch_rooms(
    url: str, room_type: str = "", *, tls: ssl.SSLContext | None = None
) -> AsyncGenerator[list[RoomInfo], None]:
    """The public rooms (of ``room_type``), now and each time they change, for as long
    as the iteration goes on (the connection closes when it stops).

    Raises:
        ConnectionError, TimeoutError: The connection failed or closed.
    """
    ws = WebSocketPeer()
    ws.inbound_buffer_size = MAX_LISTING  # (a listing grows with the rooms)
    arrived = asyncio.Event()
    ws._set_arrival_hook(arrived.set)
    options = TLSOptions.from_context(tls) if tls is not None else None
    ws.connect_to_url(_base(url) + room_path(Action.LIST, room_type), options)
    try:
        while True:
            arrived.clear()  # (before poll: what comes after it wakes the wait)
            ws.poll()
            while ws.get_available_packet_count():
                yield _parse_listing(ws.get_packet())
            if ws.get_ready_state() is State.STATE_CLOSED:
                error = ws.connection_error
                if error is not None:
                    raise error
                code, reason = ws.get_close_code(), ws.get_close_reason()
                raise ConnectionError(f"the listing closed: {code} {reason}".rstrip())
            await arrived.wait()
    finally:
        ws.close()


async def _enter(
    peer: WebSocketMultiplayerPeer, url: str, path: str, tls: ssl.SSLContext | None
) -> JoinedRoom:
    """Start ``peer`` at ``path`` and wait for the room's id, without polling it: its
    join (``peer_connected(1)``, ``connected_to_server``) is left for the game's
    own poll, whether the peer is a ``multiplayer_peer`` already or becomes one. A
    refused peer is closed, ready for another try."""
    if peer.get_connection_status() is not ConnectionStatus.DISCONNECTED:
        raise InvalidState("this peer is already in use; close() it first")
    await peer.create_client(_base(url) + path, tls)
    while True:
        if TARGET_PEER_SERVER in peer._links:
            headers = peer.response_headers
            code = headers.get(ROOM_HEADER.lower(), "")
            if not code:
                peer.close()
                raise RoomError(f"{url} is not a room server (its answer names no room)")
            room_type = headers.get(ROOM_TYPE_HEADER.lower(), "")
            return JoinedRoom(code, room_type, peer._assigned_id)
        error = peer.connection_error
        if error is not None:
            peer.close()  # (ready for another try)
            raise error
        if peer.get_connection_status() is ConnectionStatus.DISCONNECTED:
            raise ConnectionError("the peer was closed while it joined")
        await peer.wait_for_activity(0.1)


def _base(url: str) -> str:
    """The server's address, without a trailing slash (``ws://`` if no scheme)."""
    url = url if "://" in url else "ws://" + url
    return url.rstrip("/")


def _parse_listing(data: bytes) -> list[RoomInfo]:
    """A listing as the server sends it (see :func:`.listing.listing_json`)."""
    try:
        rooms: list[dict[str, Any]] = json.loads(data)["rooms"]
        return [_room_info(room) for room in rooms]
    except (ValueError, KeyError, TypeError) as exc:
        raise RoomError(f"the room server sent an unreadable listing: {exc}") from None


def _room_info(room: dict[str, Any]) -> RoomInfo:
    max_clients = int(room["max_clients"])
    taken = int(room["clients"])
    free = room.get("free")
    held = max(0, max_clients - taken - int(free)) if free is not None else 0
    return RoomInfo(
        str(room["code"]),
        str(room["type"]),
        "",
        max_clients=max_clients,
        taken=taken,
        held=held,
        locked=bool(room["locked"]),
        metadata=MappingProxyType(dict(room.get("metadata") or {})),
    )
