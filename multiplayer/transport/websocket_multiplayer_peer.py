"""``WebSocketMultiplayerPeer``: the transport over WebSocket, on asyncio.

Godot's class of the same name, built the same way: one peer that is a server
(:mod:`.websocket_server`) or a client (:mod:`.websocket_client`), over a shared
part (:mod:`.websocket_base`: settings, packet queue, links, limits, closing). Each
connection is a :class:`~.websocket_peer.WebSocketPeer` (``get_peer(id)``, as in
Godot), whose event-loop half stages each message that arrives in an
:class:`~multiplayer.transport.inbox.Inbox` as it is parsed; ``poll()``, which is
plain synchronous code, moves it into the packet queue and fires the signals, so
user code runs at poll time, as in Godot.

``put_packet`` never blocks: packets put for one peer in one pass of the event loop
are coalesced into as few WebSocket messages as the framing allows (see
:mod:`multiplayer.transport.framing`) and written as soon as the loop is free.

Limits, each enforced with one log line naming the peer (never a silent drop):

* ``inbound_buffer_size``: a longer message closes the connection with 1009;
* ``outbound_buffer_size``: a peer whose unsent bytes pass it is not reading; it is
  disconnected with 1008 and the other peers keep receiving;
* ``max_queued_packets``: past this many untaken packets from one peer, reading from
  it pauses until ``get_packet()`` catches up (TCP pushes back on the sender); a peer
  still over it after ``FLOOD_GRACE`` seconds is disconnected with 1008;
* ``handshake_timeout``: a connection that has not finished the handshake (WebSocket
  upgrade, then the greeting) in time is dropped;
* ``heartbeat_interval``/``heartbeat_timeout``: a link whose pings go unanswered is
  reported disconnected, even if the socket died without a close frame.
"""

from __future__ import annotations

import ssl
import urllib.parse

from ..exceptions import InvalidState
from .peer import TARGET_PEER_SERVER, ConnectionStatus
from .websocket_base import (
    CLOSE_GOING_AWAY,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNSUPPORTED_DATA,
    WebSocketPeerBase,
)
from .websocket_client import WebSocketClientSide
from .websocket_server import WebSocketServerSide

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_NORMAL",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
    "WebSocketMultiplayerPeer",
]


class WebSocketMultiplayerPeer(WebSocketPeerBase):
    """A multiplayer peer over WebSocket: a server (id 1) or a client (id 2 and up).

    Create one, adjust the settings, then ``await create_server(port)`` or
    ``await create_client(url)``, and call ``poll()`` every frame.

    Args:
        protocol: The protocol profile to speak: ``"native"`` (the default: this
            library's own framing, see docs/protocol.md) or ``"godot"`` (Godot 4's
            own: the server sends the bare 4-byte id, then one message per packet;
            client ids are random; see docs/godot-interop.md). It is read back from
            the ``protocol`` property.

    Attributes:
        supported_protocols: WebSocket sub-protocols. When set on either side, both
            sides must share one or the handshake fails (Godot's rule).
        handshake_headers: Extra HTTP headers sent in the handshake (the request on a
            client, the response on a server).

    Raises:
        ValueError: ``protocol`` names no known profile (the message lists them).
    """

    def __init__(self, protocol: str = "native") -> None:
        super().__init__(protocol)
        self._side: WebSocketServerSide | WebSocketClientSide | None = None

    @property
    def connection_error(self) -> BaseException | None:
        """Why the last ``create_client`` failed, if it did (kept until the next one)."""
        return self._connection_error

    # Starting.

    async def create_server(
        self,
        port: int,
        bind_address: str = "*",
        tls: ssl.SSLContext | None = None,
        max_clients: int = 0,
    ) -> None:
        """Listen on ``port`` (0 picks a free one: see ``get_local_port()``).

        The peer becomes CONNECTED with id 1 at once. ``bind_address="*"`` listens on
        every interface. ``tls`` makes it a ``wss://`` server. With ``max_clients``
        (as ENetMultiplayerPeer's; 0: no limit), a connection that would be one client
        too many is closed with 1013 "server full", which the client reads as its
        ``connection_error``.

        Raises:
            InvalidState: The peer is already in use.
            OSError: The address cannot be bound (for example, the port is in use).
            ValueError: ``bind_address`` is not ``"*"``, an IP address or a host
                name that resolves, ``tls`` is not a server context
                (``ssl.PROTOCOL_TLS_SERVER``), or ``max_clients`` is negative.
        """
        if max_clients < 0:
            raise ValueError("max_clients must be 0 (no limit) or more")
        self._check_unused()
        server = WebSocketServerSide(self, max_clients)
        await server.listen(port, bind_address, tls)
        self._side = server
        self._status = ConnectionStatus.CONNECTED
        self._unique_id = TARGET_PEER_SERVER

    async def create_client(self, url: str, tls: ssl.SSLContext | None = None) -> None:
        """Start connecting to a ``ws://`` or ``wss://`` URL; returns at once.

        The peer is CONNECTING until the server has assigned its id; a ``poll()`` then
        makes it CONNECTED and emits ``peer_connected(1)``. If the connection fails, or
        takes longer than ``handshake_timeout``, a ``poll()`` finds it DISCONNECTED and
        ``connection_error`` says why. ``tls`` overrides the default ``wss://`` context
        (which verifies the server's certificate against the system's CAs).

        Raises:
            InvalidState: The peer is already in use.
            ValueError: The URL is invalid or its scheme is not ``ws`` or ``wss``, or
                ``tls`` is not a client context (``ssl.PROTOCOL_TLS_CLIENT``).
        """
        self._check_unused()
        if "://" not in url:
            url = "ws://" + url  # Godot: no scheme means ws://
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(f"URL scheme must be ws:// or wss://, not {scheme}://")
        if tls is not None and scheme != "wss":
            raise ValueError("a TLS context was given for a ws:// URL; use wss://")
        client = WebSocketClientSide(self, url, tls)
        self._connection_error = None
        client.start()
        self._status = ConnectionStatus.CONNECTING
        self._unique_id = 0
        self._side = client

    def _check_unused(self) -> None:
        if self._status is not ConnectionStatus.DISCONNECTED:
            raise InvalidState("this peer is already in use; close() it first")

    def get_local_port(self) -> int:
        """The port a server listens on.

        Raises:
            InvalidState: This peer is not a listening server.
        """
        if not isinstance(self._side, WebSocketServerSide):
            raise InvalidState("get_local_port() needs a server created with create_server")
        return self._side.local_port

    # Closing (QueuedPeer runs the state machine; these are its link hooks).

    def _end_every_link(self) -> None:
        side = self._side
        if side is None:
            return
        side.close()
        self._close_every_link(side.closing_code)

    def _reset(self, keep_packets: bool = False) -> None:
        super()._reset(keep_packets)
        self._side = None
