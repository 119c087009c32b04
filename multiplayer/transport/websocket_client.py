"""``WebSocketClientSide``: the client half of a WebSocket peer.

Godot's ``create_client`` makes one ``WebSocketPeer`` and ``connect_to_url``s it;
``_poll_client`` keeps the client CONNECTING after that peer is open, until the
server's first message gives it an id of 2 or more; anything else closes the
socket ("Invalid ID received from server"), and so does ``handshake_timeout``,
which covers everything from ``create_client`` to the id (reference.md §1.2, §1.5;
modules/websocket/websocket_multiplayer_peer.cpp). This half does the same, driven
by the WebSocketPeer's event-loop callbacks: greet when it opens (if the peer's
framing says so), read the id, then hand the WebSocketPeer to the peer as the link
to the server (peer 1). If the server offered to resume the session and the link
is lost without a close frame, a :class:`~.websocket_reconnect.Reconnection` tries
to bring it back. A server that redirects the handshake (:mod:`.redirects`: a room
cluster sends a player to its room's process) is followed, within the same
``handshake_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import urllib.parse

from ..exceptions import ProtocolError, RoomError
from .framing.base import Greeting
from .peer import TARGET_PEER_SERVER
from .redirects import CREDENTIALS, FOLLOWS, MAX_REDIRECTS, Redirected
from .tls import TLSOptions
from .websocket_base import CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, WebSocketPeerBase
from .websocket_link import (
    Link,
    conn_of,
    end_handshake,
    hand_over_queued,
    why_handshake_ended,
)
from .websocket_peer_link import State
from .websocket_reconnect import Reconnection

__all__ = ["RESUME_PATH_HEADER", "WebSocketClientSide", "resume_url"]

logger = logging.getLogger("multiplayer.websocket")

RESUME_PATH_HEADER = "Multiplayer-Resume-Path"
"""A header of the server's 101: the path (on the same host) where a client comes
back to resume its session, when it is not the one it first asked for. A room
server routes by path: the player who asked ``/create/dice`` resumes at
``/resume/<code>``, not in a new room (docs/rooms.md)."""


def resume_url(url: str, headers: tuple[tuple[str, str], ...]) -> str:
    """Where a client whose handshake got ``headers`` reconnects to resume: the
    ``Multiplayer-Resume-Path`` on the same scheme and host, or else ``url``."""
    wanted = RESUME_PATH_HEADER.lower()
    for name, value in headers:
        if name.lower() == wanted and value.startswith("/"):
            parts = urllib.parse.urlsplit(url)
            return urllib.parse.urlunsplit((parts.scheme, parts.netloc, value, "", ""))
    return url


class WebSocketClientSide:
    """One connection attempt of a :class:`~.websocket_base.WebSocketPeerBase`, then
    its link to the server."""

    closing_code = CLOSE_NORMAL
    """How the link to the server closes when the client closes."""

    def __init__(self, peer: WebSocketPeerBase, url: str, tls: ssl.SSLContext | None) -> None:
        self._peer = peer
        self._url = url
        # None: connect_to_url's default for wss://, which verifies the server
        # against the system's CAs (Godot's TLSOptions.client()).
        self._tls = TLSOptions.from_context(tls) if tls is not None else None
        self._ws = peer._new_ws()
        self._greeted = False  # the client's greeting is out
        self._done = False  # linked, failed or abandoned
        self._timer: asyncio.TimerHandle | None = None
        self._grace = 0.0  # how long to try to resume a lost session (0: never)
        self._resume_url = url  # where to (the server may name another path)
        self._hops = 0  # redirects followed
        self._elsewhere = False  # a redirect went to another host: no credentials
        self.reconnection: Reconnection | None = None  # the last one

    def start(self) -> None:
        """Start connecting; returns at once.

        Raises:
            ValueError: The URL is invalid, or ``tls`` is not a client context.
        """
        if self._tls is not None and self._tls.is_server():
            raise ValueError("create_client() needs a client TLS context (PROTOCOL_TLS_CLIENT)")
        self._connect(self._url)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._peer.handshake_timeout, self._timed_out)

    def _connect(self, url: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        """Connect to ``url`` (the first time, or where a redirect said).

        Raises:
            ValueError: The URL is invalid (a redirect's: see _progressed).
        """
        peer = self._peer
        without = CREDENTIALS if self._elsewhere else ()
        self._ws = peer._new_ws(FOLLOWS + headers, without)
        self._ws.connect_to_url(url, self._tls)
        conn = conn_of(self._ws)
        conn.quiet = True  # a failure is logged here, once
        peer._track(conn)
        conn.sink = self._first_message
        conn.on_arrival = self._progressed

    def close(self) -> None:
        """Give the attempt up (the link, once made, is the peer's to close)."""
        if self._done:
            return
        self._done = True
        self._cancel_timer()
        self._end(CLOSE_NORMAL)

    def _progressed(self) -> None:
        """The WebSocket read something or changed state (until it is a link)."""
        conn = conn_of(self._ws)
        state = conn.state
        if state is State.STATE_OPEN and not self._greeted:
            self._greeted = True
            peer = self._peer
            framing = peer._framing
            if framing.client_greets:
                conn.write_binary([self._hello()])
        elif state is State.STATE_CLOSED:
            self._peer._untrack(conn)
            if not self._done:
                why = self._why_closed()
                if isinstance(why, Redirected) and self._hops < MAX_REDIRECTS:
                    self._follow(why)
                    return
                self._failed(why)

    def _follow(self, redirect: Redirected) -> None:
        """Connect where the server said, within the same handshake_timeout; once
        on another host, without the credentials of the first request."""
        self._hops += 1
        self._elsewhere = self._elsewhere or not redirect.same_host
        try:
            self._connect(redirect.url, redirect.headers)
        except ValueError as exc:  # (a Location that is no WebSocket URL)
            self._failed(ConnectionError(f"the server redirected to an invalid URL: {exc}"))

    def _first_message(self, message: bytes, text: bool) -> None:
        """The server's greeting, with this client's id.

        A malformed one, or an id below 2, closes the connection (Godot: "Invalid
        ID received from server").
        """
        if self._done:
            return
        peer = self._peer
        try:
            greeting = peer._check_greeting(self._parse_greeting(message, text))
            if greeting.peer_id < 2:
                raise ProtocolError(f"the server assigned the invalid id {greeting.peer_id}")
        except ProtocolError as exc:
            self._failed(exc)
            self._end(CLOSE_PROTOCOL_ERROR)
            return
        self._done = True
        self._cancel_timer()
        # The server offers a resume only to a client that said it would come back,
        # for as long as both would wait (a client that offered none and got a
        # token anyway still counts and acknowledges: the server expects it to).
        resumption = greeting.resumption
        token = resumption.token if resumption is not None else b""
        self._grace = min(greeting.grace, peer.reconnect_grace) if token else 0.0
        self._resume_url = resume_url(self._url, conn_of(self._ws).response_headers)
        peer._open_link(
            self._ws,
            TARGET_PEER_SERVER,
            greeting.max_message_size,
            greeting.peer_id,
            token,
            self._grace,
        )
        hand_over_queued(conn_of(self._ws))

    def hold(self, link: Link) -> bool:
        """The link to the server was lost: try to resume the session, if it can be."""
        if not self._grace:
            return False
        logger.warning(
            "connection to %s lost (%s); trying to resume the session for up to %s s",
            self._url,
            link.loss(),
            self._grace,
        )
        self._peer._sessions.hold(link)
        url = self._resume_url
        self.reconnection = Reconnection(self._peer, link, url, self._tls, self._grace)
        link.waiting = self._peer._spawn(self.reconnection.run())
        return True

    def _hello(self) -> bytes:
        """The client's greeting: its message limit, and how long it would try to
        come back if its link were lost (0 in a profile that cannot resume)."""
        peer = self._peer
        return peer._framing.client_greeting(peer.inbound_buffer_size, grace=peer.reconnect_grace)

    def _parse_greeting(self, message: bytes, text: bool) -> Greeting:
        """The server's first message, read by our framing; if it is not a greeting
        of our profile, the error says plainly that the server speaks another
        protocol, and which one it seems to be.

        Raises:
            ProtocolError: It is not a greeting of this peer's profile.
        """
        framing = self._peer._framing
        if text:
            raise ProtocolError(
                f"the server does not speak this library's {framing.name!r} protocol: its"
                " first message was text (a plain WebSocket server, such as an echo server?)"
            )
        if framing.client_greets and message == self._hello():
            raise ProtocolError(
                f"the server does not speak this library's {framing.name!r} protocol: it"
                " sent our greeting back (a WebSocket echo server?)"
            )
        try:
            return framing.parse_server_greeting(message)
        except ProtocolError as exc:
            raise ProtocolError(
                f"the server does not speak this library's {framing.name!r} protocol: {exc}"
            ) from None

    def _timed_out(self) -> None:
        self._timer = None
        if self._done:
            return
        timeout = self._peer.handshake_timeout
        hint = ""
        if not self._peer._framing.client_greets:
            hint = "; a native server waits for a greeting: both sides need the same protocol"
        self._failed(
            TimeoutError(f"no id from the server within handshake_timeout ({timeout} s){hint}")
        )
        self._end(CLOSE_NORMAL)

    def _end(self, code: int) -> None:
        end_handshake(conn_of(self._ws), code)

    def _why_closed(self) -> Exception:
        return why_handshake_ended(conn_of(self._ws))

    def _failed(self, exc: Exception) -> None:
        self._done = True
        self._cancel_timer()
        # (a room server's refusal is the caller's to show: its exception says it all)
        level = logging.INFO if isinstance(exc, RoomError) else logging.WARNING
        logger.log(level, "connection to %s failed: %s: %s", self._url, type(exc).__name__, exc)
        self._peer._connection_failed(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
