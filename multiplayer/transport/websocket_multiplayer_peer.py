"""``WebSocketMultiplayerPeer``: the transport over WebSocket, on asyncio.

Godot's class of the same name, built the same way: one peer that is a server
(:mod:`.websocket_server`) or a client (:mod:`.websocket_client`), over a shared
part (:mod:`.websocket_base`: settings, packet queue, links, limits, closing).
:class:`WebSocketMultiplayerPeerBase` is what it shares with the peer for plain
loops, :class:`~.sync_websocket_multiplayer_peer.SyncWebSocketMultiplayerPeer`: the
side, how it starts on the event loop, and how it ends. This peer runs on the
caller's own event loop, and says so clearly when it is used off it. Each
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

import asyncio
import contextlib
import os
import socket
import ssl
import urllib.parse

from websockets.protocol import State as ProtocolState

from ..exceptions import InvalidState
from .peer import TARGET_PEER_SERVER, ConnectionStatus
from .stats import Counts, PeerStats
from .websocket_base import (
    CLOSE_GOING_AWAY,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_RESUME_REFUSED,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNSUPPORTED_DATA,
    WebSocketPeerBase,
)
from .websocket_client import WebSocketClientSide
from .websocket_link import Link
from .websocket_peer_link import PeerLink
from .websocket_server import WebSocketServerSide

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_NORMAL",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_RESUME_REFUSED",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
    "WebSocketMultiplayerPeer",
    "WebSocketMultiplayerPeerBase",
]


class WebSocketMultiplayerPeerBase(WebSocketPeerBase):
    """A WebSocket peer that is a server or a client: what the asyncio peer and the
    sync one share. ``_start_server`` / ``_start_client`` run on the event loop the
    peer's connections will live on.

    Args:
        protocol: The protocol profile (see :class:`WebSocketMultiplayerPeer`).
        backend: The WebSocket implementation (see :class:`WebSocketMultiplayerPeer`).

    Raises:
        ValueError: ``protocol`` names no known profile, or ``backend`` no backend.
        ImportError: ``backend="picows"`` and picows is not installed.
    """

    def __init__(self, protocol: str = "native", backend: str | None = None) -> None:
        super().__init__(protocol, backend)
        self._side: WebSocketServerSide | WebSocketClientSide | None = None

    @property
    def response_headers(self) -> dict[str, str]:
        """On a client, the headers of the server's handshake response (names in
        lower case; a room server names the room there, see docs/rooms.md); empty
        until the link is made, and on a server."""
        link = self._links.get(TARGET_PEER_SERVER)
        if link is None or not isinstance(self._side, WebSocketClientSide):
            return {}
        return {name.lower(): value for name, value in link.conn.response_headers}

    def get_peer_stats(self, peer_id: int) -> PeerStats:
        """What went to and came from a connected peer (on a client, 1 is the
        server): messages, bytes and packets each way (see :class:`.stats.PeerStats`).

        Raises:
            PeerNotFound: No such peer is connected.
        """
        return self._link(peer_id).counts.snapshot()

    def get_stats(self) -> PeerStats:
        """The same, for every peer since the peer last started (by ``create_server``
        or ``create_client``), those gone included; after ``close()`` too."""
        total = Counts()
        total.add(self._gone)
        for link in self._links.values():
            total.add(link.counts)
        return total.snapshot()

    @property
    def connection_error(self) -> BaseException | None:
        """Why the last ``create_client`` failed, if it did (kept until the next one)."""
        return self._connection_error

    # Starting, on the event loop.

    async def _start_server(
        self, port: int, bind_address: str, tls: ssl.SSLContext | None, max_clients: int
    ) -> None:
        if max_clients < 0:
            raise ValueError("max_clients must be 0 (no limit) or more")
        self._check_unused()
        server = WebSocketServerSide(self, max_clients)
        await server.listen(port, bind_address, tls)
        self._side = server
        self._loop = asyncio.get_running_loop()
        self._status = ConnectionStatus.CONNECTED
        self._unique_id = TARGET_PEER_SERVER

    def _host(self, max_clients: int = 0) -> WebSocketServerSide:
        """Be a server (id 1) that listens on no port of its own: its connections are
        handed to it by a router (``adopt``), as a room server does for each room.
        Runs on the event loop of the router's connections."""
        if max_clients < 0:
            raise ValueError("max_clients must be 0 (no limit) or more")
        self._check_unused()
        server = WebSocketServerSide(self, max_clients)
        self._side = server
        self._loop = asyncio.get_running_loop()
        self._status = ConnectionStatus.CONNECTED
        self._unique_id = TARGET_PEER_SERVER
        return server

    def _start_client(self, url: str, tls: ssl.SSLContext | None) -> None:
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
        self._loop = asyncio.get_running_loop()
        self._status = ConnectionStatus.CONNECTING
        self._unique_id = 0
        self._side = client

    def _check_unused(self) -> None:
        if self._status is not ConnectionStatus.DISCONNECTED:
            raise InvalidState("this peer is already in use; close() it first")
        self._gone = Counts()  # (a new start: get_stats counts from here)

    def _link_lost(self, link: Link) -> bool:
        side = self._side
        return side is not None and side.hold(link)

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

    def _abandon(self) -> None:
        """``close()`` once the event loop of the connections has closed: nothing runs
        on it any more, so no closing handshake can be done. Each socket is shut down,
        so that the other side sees the connection end now rather than at its
        keepalive timeout, and the peer forgets them. (asyncio still warns of their
        transports as unclosed, when they are collected: so they were, when the loop
        closed under them.)"""
        code = self._side.closing_code if self._side is not None else CLOSE_NORMAL
        for conn in self._connections:
            transport = conn.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:
                assert transport is not None
                with contextlib.suppress(OSError):  # (already reset by the other side)
                    if not conn.secure and not transport.get_write_buffer_size():
                        _send_close_frame(conn, sock, code)
                    sock.shutdown(socket.SHUT_RDWR)
        self._connections.clear()
        self._all_closed.set()
        side = self._side
        if isinstance(side, WebSocketServerSide) and side._listener is not None:
            side._listener.stop()  # (no loop needed: it closes the listening socket)
        for link in self._links.values():
            link.end()
        self._reset()

    def _reset(self, keep_packets: bool = False) -> None:
        super()._reset(keep_packets)
        self._side = None


class WebSocketMultiplayerPeer(WebSocketMultiplayerPeerBase):
    """A multiplayer peer over WebSocket: a server (id 1) or a client (id 2 and up).

    Create one, adjust the settings, then ``await create_server(port)`` or
    ``await create_client(url)``, and call ``poll()`` every frame, on the same event
    loop: the connections live on it. (For a plain loop without asyncio, see
    :class:`~.sync_websocket_multiplayer_peer.SyncWebSocketMultiplayerPeer`.)

    Args:
        protocol: The protocol profile to speak: ``"native"`` (the default: this
            library's own framing, see docs/protocol.md) or ``"godot"`` (Godot 4's
            own: the server sends the bare 4-byte id, then one message per packet;
            client ids are random; see docs/godot-interop.md). It is read back from
            the ``protocol`` property.
        backend: The WebSocket implementation of the connections: ``"websockets"``
            (the default, or ``MULTIPLAYER_WS_BACKEND``'s) or ``"picows"`` (the
            ``fast`` extra; docs/transport.md). Read back from ``backend``.

    Attributes:
        supported_protocols: WebSocket sub-protocols. When set on either side, both
            sides must share one or the handshake fails (Godot's rule).
        handshake_headers: Extra HTTP headers sent in the handshake (the request on a
            client, the response on a server).

    Raises:
        ValueError: ``protocol`` names no known profile (the message lists them), or
            ``backend`` no known backend.
        ImportError: ``backend="picows"`` and picows is not installed.
    """

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
        await self._start_server(port, bind_address, tls, max_clients)

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
        self._start_client(url, tls)

    # Staying on the peer's event loop.

    def poll(self) -> None:
        """Take in what arrived since the last poll and fire the signals.

        Raises:
            InvalidState: Not called on the running event loop the peer was started
                on (one that ``asyncio.run()`` closed as it returned, say): it would
                never see anything arrive.
        """
        self._check_loop("poll()")
        super().poll()

    def _check_connected(self, action: str) -> None:
        super()._check_connected(action)
        self._check_loop(action)

    def _end_link(self, peer_id: int, *, notify: bool, kick_reason: str | None = None) -> None:
        self._check_loop("disconnect_peer()" if kick_reason is None else "kick_peer()")
        super()._end_link(peer_id, notify=notify, kick_reason=kick_reason)

    def _check_loop(self, action: str) -> None:
        """Raise unless the caller runs on the peer's event loop (or it has none)."""
        loop = self._loop
        if loop is not None and asyncio._get_running_loop() is not loop:
            raise InvalidState(_off_the_loop(action, loop))

    def close(self) -> None:
        """Drop every connection at once, with no signal; the peer becomes DISCONNECTED.

        It works outside the event loop too: on a loop that is not running (between
        two ``run_until_complete``), the closing handshakes go on when it runs again;
        on a closed one, the sockets are shut down and forgotten.

        Raises:
            InvalidState: The peer's event loop is running in another thread (use
                ``loop.call_soon_threadsafe(peer.close)``).
        """
        loop = self._loop
        if loop is not None and loop.is_closed():
            self._abandon()
            return
        if loop is not None and loop.is_running() and asyncio._get_running_loop() is not loop:
            raise InvalidState(
                "close() must run on the event loop of this peer, which runs in another "
                "thread: use loop.call_soon_threadsafe(peer.close)"
            )
        super().close()

    # Waiting, on the event loop.

    async def wait_for_activity(
        self, timeout: float | None = None, *, until: float | None = None
    ) -> bool:
        """Wait until ``poll()`` has something to report; False if the time ran out.

        Lets a frame loop sleep until packets arrive instead of polling at a fixed
        rate. The limit is ``timeout`` seconds, or the event loop's time ``until``
        (``loop.time()``): a frame loop waiting many times for the same frame passes
        the frame's time, and one timer serves every wait.

        Raises:
            ValueError: Both ``timeout`` and ``until`` were given.
        """
        activity = self._activity
        deadline = activity.deadline(timeout, until)
        if self._inbox.has_staged():
            return True
        waiter = activity.waiter(deadline)
        try:
            return await waiter
        finally:
            activity.forget(waiter)

    async def wait_closed(self) -> None:
        """Wait until every connection and task of this peer has ended (after ``close()``)."""
        await self._wait_all_closed()


def _send_close_frame(conn: PeerLink, sock: socket.socket, code: int) -> None:
    """Write a close frame straight to the socket of a connection whose loop has
    closed, so that the other side sees a clean close, not a lost connection that
    it would keep for a resume. (Only with nothing buffered ahead of it, and not
    over TLS, whose records the loop wrote; the socket is non-blocking and a close
    frame is a few bytes.)"""
    protocol = conn.protocol
    if protocol.state is ProtocolState.OPEN:
        protocol.send_close(code, "")
        os.write(sock.fileno(), b"".join(protocol.data_to_send()))


def _off_the_loop(action: str, loop: asyncio.AbstractEventLoop) -> str:
    """Why ``action`` cannot run here, and what to do instead."""
    if loop.is_closed():
        where = "has closed (asyncio.run() closes its loop as it returns)"
    elif loop.is_running():
        where = "is running in another thread"
    else:
        where = "is not running"
    return (
        f"{action} must run on the event loop this peer was started on, which {where}: "
        "run every frame on that loop (await tree.run(), or poll() from one of its "
        "tasks); for a plain loop without asyncio, use SyncWebSocketMultiplayerPeer, "
        "whose network runs on a thread of its own"
    )
