"""``WebSocketListener``: a listening socket whose connections become server-side
``WebSocketPeer``s.

Godot's ``_poll_server`` takes each TCP connection from its ``TCPServer``, wraps it
in TLS when it has options, and ``accept_stream``s it into a new ``WebSocketPeer``
(modules/websocket/websocket_multiplayer_peer.cpp). This does that, driven by the
event loop: the ``TCPServer`` calls it as soon as connections wait. A server peer
listens with one (:mod:`.websocket_server`), and so does a room server's front door
(:mod:`multiplayer.rooms.front`), which routes each connection to a room.

When the system refuses a connection (out of file descriptors, say), it stops
taking them for ``ACCEPT_RETRY`` seconds: the clients wait in the backlog meanwhile.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from ..exceptions import InvalidState
from .tcp_server import StreamPeerTCP, TCPServer
from .tls import StreamPeerTLS, TLSOptions
from .websocket_peer import WebSocketPeer
from .websocket_settings import WebSocketSettings

__all__ = ["ACCEPT_RETRY", "WebSocketListener"]

ACCEPT_RETRY = 1.0
"""Seconds to stop accepting after the system refused a connection."""

Accepted = Callable[[WebSocketPeer, StreamPeerTCP], None]
"""Given each new connection: its WebSocketPeer, its handshake under way, and its
TCP stream (for its address)."""


class WebSocketListener:
    """Listens, and hands each connection, as a WebSocketPeer with ``settings``, to
    ``accepted``."""

    def __init__(self, settings: WebSocketSettings, accepted: Accepted) -> None:
        self._settings = settings
        self._accepted = accepted
        self._tcp: TCPServer | None = None
        self._tls: TLSOptions | None = None
        self._stopped = False

    def listen(
        self, port: int, bind_address: str, tls: ssl.SSLContext | None, reuse_port: bool = False
    ) -> None:
        """Listen; connections are taken from then on.

        Raises:
            OSError: The address cannot be bound (for example, the port is in use).
            ValueError: ``tls`` is not a server context, or ``bind_address`` is
                not ``"*"``, an IP address or a host name that resolves.
        """
        if tls is not None:
            self._tls = TLSOptions.from_context(tls)
            if not self._tls.is_server():
                raise ValueError("a server needs a server TLS context (PROTOCOL_TLS_SERVER)")
        tcp = TCPServer()
        tcp.listen(port, bind_address, reuse_port=reuse_port)
        tcp._watch(self._take_connections)
        self._tcp = tcp

    def is_listening(self) -> bool:
        return self._tcp is not None and self._tcp.is_listening()

    @property
    def local_port(self) -> int:
        """The port it listens on.

        Raises:
            InvalidState: It is not listening.
        """
        if self._tcp is None or not self._tcp.is_listening():
            raise InvalidState("the server is not listening")
        return self._tcp.get_local_port()

    def stop(self) -> None:
        """Stop listening (no event loop needed: it closes the socket)."""
        self._stopped = True
        if self._tcp is not None:
            self._tcp.stop()

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
        self._accepted(ws, stream)
