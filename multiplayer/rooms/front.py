"""``FrontDoor``: the one listening socket of a room server, and its connections
until each is handed to a room.

It takes every TCP connection (wrapping it in TLS for ``wss://``), runs its
WebSocket handshake with the rooms' settings, and gives the request to the room
server, holding the 101 (:meth:`PeerLink.accept_routed`) until it has decided. A
refusal is a close code after the 101, not an HTTP status: browsers and Godot
show a client the close code and reason of a WebSocket, never the status of a
handshake that failed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from websockets.http11 import Request

from ..exceptions import (
    InvalidState,
    JoinRefused,
    RoomError,
    RoomFull,
    RoomLocked,
    RoomNotFound,
    ShuttingDown,
)
from ..transport.close_codes import (
    CLOSE_BAD_ROOM_REQUEST,
    CLOSE_JOIN_REFUSED,
    CLOSE_ROOM_FULL,
    CLOSE_ROOM_LOCKED,
    CLOSE_ROOM_NOT_FOUND,
    CLOSE_SHUTTING_DOWN,
)
from ..transport.log_budget import LineBudget
from ..transport.tcp_server import StreamPeerTCP, TCPServer
from ..transport.tls import StreamPeerTLS, TLSOptions
from ..transport.websocket_peer import WebSocketPeer
from ..transport.websocket_peer_link import PeerLink, State, accept_routed
from ..transport.websocket_server import ACCEPT_RETRY
from ..transport.websocket_settings import WebSocketSettings

__all__ = ["Front", "FrontDoor", "close_code_of", "refusal_lines"]

logger = logging.getLogger("multiplayer.rooms")

refusal_lines = LineBudget(logger, "lines about refused joins")
"""Refused joins are logged (at INFO), within one budget for the process: anyone can
ask for rooms that do not exist."""

_CODES: dict[type[RoomError], int] = {
    RoomNotFound: CLOSE_ROOM_NOT_FOUND,
    RoomFull: CLOSE_ROOM_FULL,
    RoomLocked: CLOSE_ROOM_LOCKED,
    JoinRefused: CLOSE_JOIN_REFUSED,
    ShuttingDown: CLOSE_SHUTTING_DOWN,
}


def close_code_of(exc: RoomError) -> int:
    """The close code that tells a client of ``exc`` (4100-4105)."""
    return _CODES.get(type(exc), CLOSE_BAD_ROOM_REQUEST)


class Front:
    """A connection not handed to a room (yet): in its handshake, being refused, or
    watching the listing."""

    __slots__ = ("address", "closed", "conn", "ws")

    def __init__(self, ws: WebSocketPeer, conn: PeerLink, address: str) -> None:
        self.ws = ws
        self.conn = conn
        self.address = address
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def host(self) -> str:
        """The client's IP address."""
        return self.conn.stream.get_connected_host()

    def open(self, headers: tuple[tuple[str, str], ...] = ()) -> bool:
        """Send the 101 (with ``headers``); False if the connection ended meanwhile."""
        return accept_routed(self.conn, headers)

    def close(self, code: int, reason: str) -> None:
        """Close it (after its 101, so that the client reads the code and reason)."""
        conn = self.conn
        if conn.routed is not None:
            accept_routed(conn)
        if conn.state is State.STATE_OPEN:
            conn.close(code, reason)
        elif conn.state is not State.STATE_CLOSED:
            conn.cut()

    def refuse(self, exc: RoomError) -> None:
        """Refuse it with the close code of ``exc`` and its message (one log line)."""
        code = close_code_of(exc)
        refusal_lines.log(
            logging.INFO, "connection from %s: refused (%d): %s", self.address, code, exc
        )
        self.close(code, str(exc))


class FrontDoor:
    """Listens, and hands each valid WebSocket request to ``route``.

    Args:
        settings: The handshake settings (a room peer's: sub-protocols, headers,
            timeouts, message size).
        route: Given each connection and its request, once the request is a valid
            WebSocket upgrade; it answers through :class:`Front`.
    """

    def __init__(
        self, settings: WebSocketSettings, route: Callable[[Front, Request], None]
    ) -> None:
        self._settings = settings
        self._route = route
        self._tcp: TCPServer | None = None
        self._tls: TLSOptions | None = None
        self._stopped = False
        self.fronts: set[Front] = set()

    def listen(self, port: int, bind_address: str, tls: ssl.SSLContext | None) -> None:
        """Listen on ``port``.

        Raises:
            OSError: The address cannot be bound.
            ValueError: ``tls`` is not a server context.
        """
        if tls is not None:
            self._tls = TLSOptions.from_context(tls)
            if not self._tls.is_server():
                raise ValueError("listen() needs a server TLS context (PROTOCOL_TLS_SERVER)")
        tcp = TCPServer()
        tcp.listen(port, bind_address)
        tcp._watch(self._take_connections)
        self._tcp = tcp

    @property
    def listening(self) -> bool:
        return self._tcp is not None

    @property
    def local_port(self) -> int:
        if self._tcp is None or not self._tcp.is_listening():
            raise InvalidState("the room server is not listening")
        return self._tcp.get_local_port()

    def stop(self) -> None:
        """Stop taking connections (those taken go on)."""
        self._stopped = True
        if self._tcp is not None:
            self._tcp.stop()

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection still here, and wait until they have closed."""
        for front in list(self.fronts):
            front.close(code, reason)
        for front in list(self.fronts):
            await front.closed

    def _take_connections(self) -> None:
        tcp = self._tcp
        assert tcp is not None
        while tcp.is_connection_available():
            self._accept(tcp.take_connection())
        if tcp._accept_failed:  # (logged by the TCPServer) try again later
            tcp._unwatch()
            asyncio.get_running_loop().call_later(ACCEPT_RETRY, self._rewatch)

    def _rewatch(self) -> None:
        if not self._stopped and self._tcp is not None and self._tcp.is_listening():
            self._tcp._watch(self._take_connections)

    def _accept(self, stream: StreamPeerTCP) -> None:
        ws = self._settings._new_ws()
        if self._tls is not None:
            tls = StreamPeerTLS()
            tls.accept_stream(stream, self._tls)
            ws.accept_stream(tls)
        else:
            ws.accept_stream(stream)
        conn = ws._link
        assert conn is not None
        host, port = stream.get_connected_host(), stream.get_connected_port()
        front = Front(ws, conn, f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        self.fronts.add(front)
        conn.budget = refusal_lines
        conn.router = lambda conn, request: self._route(front, request)
        conn.on_arrival = lambda: self._progressed(front)

    def _progressed(self, front: Front) -> None:
        if front.conn.state is State.STATE_CLOSED:
            self.fronts.discard(front)
            if not front.closed.done():
                front.closed.set_result(None)

    def let_go(self, front: Front) -> None:
        """``front`` was handed to a room: no longer this door's."""
        self.fronts.discard(front)
