"""``WebSocketServerSide``: the server half of a WebSocket peer.

Godot's ``_poll_server`` accepts TCP connections, keeps each one pending until its
WebSocket is open and, then only, gives it an id and makes it a peer
(reference.md §1.2). This half does the same on a websockets server: the handshake
of each connection, its greeting (as the peer's framing says), the id, and then it
hands the connection to the peer as a link. Ids are 2, 3, … in order of arrival and
never reused while the server runs, so a late packet never reaches a newcomer that
took an old id. (Godot draws random ids instead.)
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any, cast

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from ..exceptions import InvalidState, ProtocolError
from .framing import Greeting
from .websocket_base import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_TRY_AGAIN_LATER,
    WebSocketPeerBase,
)
from .websocket_connection import SinkConnection, SinkServerConnection, address_of

__all__ = ["WebSocketServerSide"]

logger = logging.getLogger("multiplayer.websocket")


class WebSocketServerSide:
    """Listens for a :class:`~.websocket_base.WebSocketPeerBase` and admits clients."""

    closing_code = CLOSE_GOING_AWAY
    """How the server's links close when it closes: the server is going away."""

    def __init__(self, peer: WebSocketPeerBase) -> None:
        self._peer = peer
        self._server: Server | None = None
        self._closed = False
        self._next_id = 2

    async def listen(self, port: int, bind_address: str, tls: ssl.SSLContext | None) -> None:
        """Start the websockets server; connections are served from then on.

        Raises:
            OSError: The address cannot be bound (for example, the port is in use).
        """
        peer = self._peer
        if bind_address == "*":
            where: dict[str, Any] = {"sock": _bind_every_interface(port)}
        else:
            where = {"host": bind_address, "port": port}
        self._server = await serve(
            self._serve_connection,
            **where,
            create_connection=SinkServerConnection,
            ssl=tls,
            subprotocols=[Subprotocol(p) for p in peer.supported_protocols] or None,
            process_response=_header_adder(peer.handshake_headers),
            compression=None,
            open_timeout=peer.handshake_timeout,
            close_timeout=peer.handshake_timeout,
            ping_interval=peer.heartbeat_interval,
            ping_timeout=peer.heartbeat_timeout,
            max_size=peer.inbound_buffer_size,
        )

    @property
    def local_port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise InvalidState("the server is not listening")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def close(self) -> None:
        """Stop accepting. Established links are the peer's to close; connections
        still in their handshake are refused when it ends."""
        self._closed = True
        if self._server is not None:
            self._server.close(close_connections=False)
            self._peer._spawn(self._server.wait_closed())

    async def _serve_connection(self, connection: ServerConnection) -> None:
        """The websockets handler: greet, give an id, then read the link until it closes."""
        ws = cast(SinkConnection, connection)  # made by SinkServerConnection
        peer = self._peer
        max_message_size: int | None = None
        if peer._framing.client_greets:
            greeting = await self._receive_greeting(ws)
            if greeting is None:
                return
            max_message_size = greeting.max_message_size
        if not await self._admissible(ws):
            return
        peer_id = self._next_id
        self._next_id += 1
        try:
            await ws.send(peer._framing.server_greeting(peer_id, peer.inbound_buffer_size))
        except ConnectionClosed:
            return
        await peer._open_link(ws, peer_id, max_message_size)

    async def _admissible(self, ws: SinkConnection) -> bool:
        """Whether a connection that finished its handshake may join; if not, it is
        closed (Godot: while ``refuse_new_connections`` is set, a pending peer that
        reaches OPEN is dropped instead of given an id)."""
        if self._closed:  # close() was called meanwhile
            await ws.close(CLOSE_GOING_AWAY, "the server is closing")
            return False
        if self._peer.refuse_new_connections:
            logger.info("refused a connection from %s: refuse_new_connections", address_of(ws))
            await ws.close(CLOSE_TRY_AGAIN_LATER, "the server refuses new connections")
            return False
        return True

    async def _receive_greeting(self, ws: SinkConnection) -> Greeting | None:
        """The client's greeting, or None (logged) if it did not come right or in time."""
        peer = self._peer
        who = f"connection from {address_of(ws)}"
        try:
            async with asyncio.timeout(peer.handshake_timeout):
                message = await ws.next_message()
            if isinstance(message, str):
                raise ProtocolError("sent a text message during the handshake")
            return peer._check_greeting(peer._framing.parse_client_greeting(message))
        except TimeoutError:
            logger.warning(
                "%s: no greeting within handshake_timeout (%s s)", who, peer.handshake_timeout
            )
            await ws.close(CLOSE_POLICY_VIOLATION, "handshake timeout")
        except ProtocolError as exc:
            logger.warning("%s: bad handshake: %s", who, exc)
            await ws.close(CLOSE_PROTOCOL_ERROR, "bad handshake")
        except ConnectionClosed:
            pass
        return None


def _header_adder(
    headers: dict[str, str],
) -> Callable[[ServerConnection, Request, Response], None] | None:
    """A ``process_response`` that adds ``headers`` (a copy: later changes to the
    peer's ``handshake_headers`` do not reach a running server), or None."""
    if not headers:
        return None
    fixed = dict(headers)

    def add_headers(_: ServerConnection, __: Request, response: Response) -> None:
        for name, value in fixed.items():
            response.headers[name] = value

    return add_headers


def _bind_every_interface(port: int) -> socket.socket:
    """One socket on every interface: IPv6 and IPv4 on one port when the OS allows.

    (asyncio would bind one socket per address family, and with port 0 each would
    get a different port.)
    """
    if socket.has_dualstack_ipv6():
        return socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)
    return socket.create_server(("0.0.0.0", port))
