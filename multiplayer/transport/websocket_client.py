"""``WebSocketClientSide``: the client half of a WebSocket peer.

Godot's ``_poll_client`` keeps a client CONNECTING after its WebSocket opens, until
the server's first message gives it an id of 2 or more; anything else closes the
socket ("Invalid ID received from server"), and so does ``handshake_timeout``,
which covers everything from ``create_client`` to the id (reference.md §1.2, §1.5).
This half does the same in one task per attempt: connect, greet if the peer's
framing says so, wait for the id, then hand the connection to the peer as the link
to the server (peer 1).
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ..exceptions import ProtocolError
from .framing import Greeting
from .peer import TARGET_PEER_SERVER
from .websocket_base import CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, WebSocketPeerBase
from .websocket_connection import SinkClientConnection, SinkConnection

__all__ = ["WebSocketClientSide"]

logger = logging.getLogger("multiplayer.websocket")


class _Abandoned(Exception):
    """A connection attempt that ``close()`` made moot."""


class WebSocketClientSide:
    """One connection attempt of a :class:`~.websocket_base.WebSocketPeerBase`, then
    its link to the server."""

    closing_code = CLOSE_NORMAL
    """How the link to the server closes when the client closes."""

    def __init__(self, peer: WebSocketPeerBase, url: str, tls: ssl.SSLContext | None) -> None:
        self._peer = peer
        self._url = url
        self._tls = tls
        self._abandoned = False

    def start(self) -> None:
        """Start connecting in a task of the peer; returns at once."""
        self._peer._spawn(self._run())

    def close(self) -> None:
        """Give the attempt up. It is not cancelled, since cancelling a TCP connect
        half-way leaks its socket: it sees this and closes its socket itself."""
        self._abandoned = True

    async def _run(self) -> None:
        try:
            ws, greeting = await self._handshake()
        except Exception as exc:
            if not self._abandoned:
                self._failed(exc)
            return
        if self._abandoned:
            await ws.close()
            return
        peer = self._peer
        await peer._open_link(ws, TARGET_PEER_SERVER, greeting.max_message_size, greeting.peer_id)

    async def _handshake(self) -> tuple[SinkConnection, Greeting]:
        """Open the WebSocket and do the greeting, within handshake_timeout."""
        ws: SinkConnection | None = None
        try:
            async with asyncio.timeout(self._peer.handshake_timeout):
                ws = await self._connect()
                if self._abandoned:
                    raise _Abandoned  # close() was called meanwhile: do not join
                return ws, await self._greet(ws)
        except BaseException as exc:
            if ws is not None:
                code = CLOSE_PROTOCOL_ERROR if isinstance(exc, ProtocolError) else CLOSE_NORMAL
                await ws.close(code)
            raise

    async def _connect(self) -> SinkConnection:
        peer, url = self._peer, self._url
        ws = await connect(
            url,
            create_connection=SinkClientConnection,
            # wss:// wants a context or True (the default, verifying one)
            ssl=self._tls if self._tls is not None else url.startswith("wss:") or None,
            subprotocols=[Subprotocol(p) for p in peer.supported_protocols] or None,
            additional_headers=peer.handshake_headers or None,
            compression=None,
            proxy=None,
            open_timeout=None,  # handshake_timeout covers it all
            close_timeout=peer.handshake_timeout,
            ping_interval=peer.heartbeat_interval,
            ping_timeout=peer.heartbeat_timeout,
            max_size=peer.inbound_buffer_size,
        )
        assert isinstance(ws, SinkConnection)
        return ws

    async def _greet(self, ws: SinkConnection) -> Greeting:
        """Greet the server if the framing says so; return the server's greeting.

        Raises:
            ProtocolError: The sub-protocols do not match, or the server's greeting
                is malformed or gives an id below 2 (Godot: "Invalid ID received
                from server").
        """
        peer = self._peer
        framing = peer._framing
        if peer.supported_protocols and ws.subprotocol is None:
            raise ProtocolError("the server accepted none of supported_protocols")
        if framing.client_greets:
            await ws.send(framing.client_greeting(peer.inbound_buffer_size))
        message = await ws.next_message()
        if isinstance(message, str):
            raise ProtocolError("the server sent a text message as its greeting")
        greeting = peer._check_greeting(framing.parse_server_greeting(message))
        if greeting.peer_id < 2:
            raise ProtocolError(f"the server assigned the invalid id {greeting.peer_id}")
        return greeting

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, TimeoutError):
            exc = TimeoutError(
                f"no id from the server within handshake_timeout ({self._peer.handshake_timeout} s)"
            )
        elif isinstance(exc, ConnectionClosed) and exc.rcvd is not None:
            exc = ConnectionError(
                f"the server closed the connection: {exc.rcvd.code} {exc.rcvd.reason}".rstrip()
            )
        logger.warning("connection to %s failed: %s: %s", self._url, type(exc).__name__, exc)
        self._peer._connection_failed(exc)
