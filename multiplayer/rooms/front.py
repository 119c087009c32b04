"""``FrontDoor``: the one listening socket of a room server, and its connections
until each is handed to a room.

It takes every TCP connection with a
:class:`~multiplayer.transport.websocket_listener.WebSocketListener` (TLS for
``wss://``), runs its WebSocket handshake with the rooms' settings, and gives the
request to the room server, holding the 101
(:func:`~multiplayer.transport.websocket_peer_link.accept_routed`) until it has
decided. A
refusal is a close code after the 101, not an HTTP status: browsers and Godot
show a client the close code and reason of a WebSocket, never the status of a
handshake that failed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from ..exceptions import (
    InvalidState,
    JoinRefused,
    RoomError,
    RoomFull,
    RoomGone,
    RoomLocked,
    RoomNotFound,
    ShuttingDown,
)
from ..transport.close_codes import (
    CLOSE_BAD_ROOM_REQUEST,
    CLOSE_JOIN_REFUSED,
    CLOSE_ROOM_FULL,
    CLOSE_ROOM_GONE,
    CLOSE_ROOM_LOCKED,
    CLOSE_ROOM_NOT_FOUND,
    CLOSE_SHUTTING_DOWN,
)
from ..transport.log_budget import LineBudget
from ..transport.tcp_server import StreamPeerTCP
from ..transport.websocket_listener import WebSocketListener
from ..transport.websocket_peer import WebSocketPeer
from ..transport.websocket_peer_link import PeerLink, State, accept_routed
from ..transport.websocket_settings import WebSocketSettings

__all__ = ["Front", "FrontDoor", "Route", "close_code_of", "refusal_lines"]

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
    RoomGone: CLOSE_ROOM_GONE,
}


Route = Callable[["Front", str, dict[str, str]], None]
"""What the room server is given for each request: the connection, the path (with
its query string) and the headers (names in lower case)."""


def close_code_of(exc: RoomError) -> int:
    """The close code that tells a client of ``exc`` (4100-4106)."""
    for kind in type(exc).__mro__:  # (a room's own subclass of JoinRefused, say)
        code = _CODES.get(kind)
        if code is not None:
            return code
    return CLOSE_BAD_ROOM_REQUEST


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

    def refuse(self, exc: RoomError, code: int = 0, level: int = logging.INFO) -> None:
        """Refuse it with ``code`` (by default, the one of ``exc``'s kind) and the
        message of ``exc``; one log line at ``level``, within the refusals' budget."""
        code = code or close_code_of(exc)
        refusal_lines.log(level, "connection from %s: refused (%d): %s", self.address, code, exc)
        self.close(code, str(exc))


class FrontDoor:
    """Listens, and hands each valid WebSocket request to ``route``.

    Args:
        settings: The handshake settings (a room peer's: sub-protocols, headers,
            timeouts, message size).
        route: Given each connection, its request path and its headers (names in
            lower case), once the request is a valid WebSocket upgrade; it answers
            through :class:`Front`.
    """

    def __init__(self, settings: WebSocketSettings, route: Route) -> None:
        self._route = route
        self._settings = settings
        self._listeners: list[WebSocketListener] = []
        self.fronts: set[Front] = set()

    def listen(
        self, port: int, bind_address: str, tls: ssl.SSLContext | None, reuse_port: bool = False
    ) -> int:
        """Listen on ``port`` (shared with other processes with ``reuse_port``), as
        well as wherever it listens already; the port.

        Raises:
            OSError: The address cannot be bound.
            ValueError: ``tls`` is not a server context.
        """
        listener = WebSocketListener(self._settings, self._accept)
        listener.listen(port, bind_address, tls, reuse_port)
        self._listeners.append(listener)
        return listener.local_port

    def listen_shared(
        self,
        port: int,
        bind_address: str,
        tls: ssl.SSLContext | None,
        reuse_port: bool,
        own_port: int,
    ) -> tuple[int, int]:
        """Listen on ``port``, and, if it is shared (``reuse_port``), on a port of
        this process's own too (``own_port``; 0: any free one), where it is reached
        by the others of a cluster (and by redirected players): the two ports.

        Raises:
            OSError: An address cannot be bound.
            ValueError: ``tls`` is not a server context, or ``own_port`` is given
                without ``reuse_port``.
        """
        if own_port and not reuse_port:
            raise ValueError("own_port is the port of a process sharing one: reuse_port=True")
        port = self.listen(port, bind_address, tls, reuse_port)
        return port, self.listen(own_port, bind_address, tls) if reuse_port else port

    @property
    def listening(self) -> bool:
        """It was told to listen (and may have stopped since)."""
        return bool(self._listeners)

    @property
    def local_port(self) -> int:
        """The port it listened on first.

        Raises:
            InvalidState: It does not listen.
        """
        if not self._listeners:
            raise InvalidState("the server is not listening")
        return self._listeners[0].local_port

    def stop(self) -> None:
        """Stop taking connections (those taken go on)."""
        for listener in self._listeners:
            listener.stop()

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection still here, and wait until they have closed."""
        for front in list(self.fronts):
            front.close(code, reason)
        for front in list(self.fronts):
            await front.closed

    def let_go(self, front: Front) -> None:
        """``front`` was handed to a room: no longer this door's."""
        self.fronts.discard(front)

    def _accept(self, ws: WebSocketPeer, stream: StreamPeerTCP) -> None:
        conn = ws._link
        assert conn is not None
        host, port = stream.get_connected_host(), stream.get_connected_port()
        front = Front(ws, conn, f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        self.fronts.add(front)
        conn.budget = refusal_lines
        conn.router = lambda conn, path, headers: self._route(front, path, headers)
        conn.on_arrival = lambda: self._progressed(front)

    def _progressed(self, front: Front) -> None:
        if front.conn.state is State.STATE_CLOSED:
            self.fronts.discard(front)
            if not front.closed.done():
                front.closed.set_result(None)
