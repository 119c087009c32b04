"""``WebSocketServerSide``: the server half of a WebSocket peer.

Godot's ``_poll_server`` (modules/websocket/websocket_multiplayer_peer.cpp) takes
each TCP connection from its ``TCPServer``, wraps it in TLS when it has options,
``accept_stream``s it into a new ``WebSocketPeer`` kept pending until it is open,
and only then gives it an id and makes it a peer (reference.md §1.2). This half
does the same, driven by the event loop rather than by ``poll()``: the
:class:`~.tcp_server.TCPServer` calls it as soon as a connection waits, and each
pending WebSocketPeer calls it as its handshake and greeting progress. In the
native profile ids are 2, 3, … in order of arrival and never reused while the
server runs, so a late packet never reaches a newcomer that took an old id. In
the godot profile they are drawn at random in [2, 2^31 - 1] as Godot draws them
(``generate_unique_id``), so a client cannot guess another's; unlike Godot, an id
in use is never drawn again.

In a resumable profile (:mod:`.resume`), each new client gets a resume token with
its id. A link lost without a close frame is held for ``reconnect_grace`` seconds,
and a connection whose greeting presents the id and its token takes its place:
the old socket, if it still looks open, is cut. Every refusal looks the same to the
client (4001, so that nothing tells which ids exist), and is logged here with its
real reason; too many from one address are refused unread for a while.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
from collections.abc import Callable

from ..exceptions import InvalidState, ProtocolError
from .framing.base import Greeting, Resumption
from .log_budget import LineBudget
from .loop_load import LoopLoad
from .resume import RESUME_WINDOW, ResumeGap, ResumeGate, new_token
from .tcp_server import StreamPeerTCP
from .websocket_base import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_RESUME_REFUSED,
    CLOSE_TRY_AGAIN_LATER,
    WebSocketPeerBase,
)
from .websocket_link import OPEN, Link, conn_of, hand_over_queued
from .websocket_listener import WebSocketListener
from .websocket_peer import WebSocketPeer
from .websocket_peer_link import PeerLink, State

__all__ = ["Settled", "WebSocketServerSide"]

logger = logging.getLogger("multiplayer.websocket")

handshake_lines = LineBudget(logger, "lines about failed or refused connections")
"""The lines about connections that fail or are refused before they are peers: one
budget for the process (anyone can open connections; see :mod:`.log_budget`)."""

_MAX_ID = 2**31 - 1
"""The largest id (ids are positive int32s: a negative target means "all but")."""


Settled = Callable[[int | None], None]
"""Told, once, how an adopted connection's handshake ended: the id it was admitted
with, or None (it failed, was refused, or resumed a session it had)."""


class _Pending:
    """A connection in its handshake (Godot's ``pending_peers``)."""

    __slots__ = ("address", "conn", "host", "resume_only", "settled", "timer", "ws")

    def __init__(self, ws: WebSocketPeer, stream: StreamPeerTCP) -> None:
        self.ws = ws
        self.conn: PeerLink = conn_of(ws)
        self.host = stream.get_connected_host()  # (what limits resume attempts)
        self.address = _address(stream)  # for log lines
        self.timer: asyncio.TimerHandle | None = None
        self.settled: Settled | None = None
        self.resume_only = False

    @property
    def who(self) -> str:
        return f"connection from {self.address}"

    def settle(self, peer_id: int | None) -> None:
        settled, self.settled = self.settled, None
        if settled is not None:
            settled(peer_id)


class WebSocketServerSide:
    """Listens for a :class:`~.websocket_base.WebSocketPeerBase` and admits clients."""

    closing_code = CLOSE_GOING_AWAY
    """How the server's links close when it closes: the server is going away."""

    def __init__(self, peer: WebSocketPeerBase, max_clients: int = 0) -> None:
        self._peer = peer
        self._max_clients = max_clients
        self._listener: WebSocketListener | None = None
        self._pending: set[_Pending] = set()
        self._closed = False
        self._next_id = 2
        self._resume_gate = ResumeGate()
        self._load: LoopLoad | None = None  # measured from the first listen or connection

    async def listen(self, port: int, bind_address: str, tls: ssl.SSLContext | None) -> None:
        """Listen; connections are taken from then on.

        Raises:
            OSError: The address cannot be bound (for example, the port is in use).
            ValueError: ``tls`` is not a server context, or ``bind_address`` is
                not ``"*"``, an IP address or a host name that resolves.
        """
        listener = WebSocketListener(self._peer, self._accept)
        listener.listen(port, bind_address, tls)
        self._listener = listener
        self._measure_load()

    def _measure_load(self) -> None:
        if self._load is None and not self._closed:
            self._load = LoopLoad.acquire(asyncio.get_running_loop())

    @property
    def local_port(self) -> int:
        """The port the server listens on."""
        if self._listener is None:
            raise InvalidState("the server is not listening")
        return self._listener.local_port

    def close(self) -> None:
        """Stop accepting and drop the connections still in their handshake.
        Established links are the peer's to close."""
        self._closed = True
        if self._listener is not None:
            self._listener.stop()
        if self._load is not None:
            self._load.release()
            self._load = None
        for pending in list(self._pending):
            self._drop(pending, CLOSE_GOING_AWAY, "the server is closing")

    # Taking connections.

    def _accept(self, ws: WebSocketPeer, stream: StreamPeerTCP) -> None:
        """Start the handshakes of a new connection: TLS, WebSocket, greeting; all
        within ``handshake_timeout`` (Godot: from the TCP accept to OPEN)."""
        self._start_pending(_Pending(ws, stream))

    def adopt(self, ws: WebSocketPeer, settled: Settled, *, resume_only: bool = False) -> None:
        """Go on with the handshake of a connection that a router took and sent here
        (a room server's: see :mod:`multiplayer.rooms`), whose 101 is out or about to
        be. ``settled`` is told how it ends. With ``resume_only``, only a greeting
        that resumes a session is taken: any other is refused as a failed resume."""
        conn = conn_of(ws)
        pending = _Pending(ws, conn.stream)
        pending.settled = settled
        pending.resume_only = resume_only
        self._start_pending(pending)
        if self._closed:
            self._drop(pending, CLOSE_GOING_AWAY, "the server is closing")

    def _start_pending(self, pending: _Pending) -> None:
        peer = self._peer
        conn = pending.conn
        conn.budget = handshake_lines
        peer._track(conn)
        self._measure_load()
        self._pending.add(pending)
        if peer._framing.client_greets:
            conn.sink = lambda message, text: self._greeted(pending, message, text)
        conn.on_arrival = lambda: self._progressed(pending)
        loop = asyncio.get_running_loop()
        pending.timer = loop.call_later(peer.handshake_timeout, self._timed_out, pending)

    def _progressed(self, pending: _Pending) -> None:
        """The pending connection read something or changed state."""
        conn = pending.conn
        if conn.state is State.STATE_CLOSED:
            self._forget(pending)
            self._peer._untrack(conn)
            pending.settle(None)
        elif conn.state is State.STATE_OPEN and not self._peer._framing.client_greets:
            self._admit(pending, None)  # the server speaks first

    def _greeted(self, pending: _Pending, message: bytes, text: bool) -> None:
        """The client's first message: its greeting."""
        peer = self._peer
        try:
            if text:
                raise ProtocolError("sent a text message during the handshake")
            greeting = peer._check_greeting(peer._framing.parse_client_greeting(message))
            if greeting.peer_id != 0 and greeting.resumption is None:
                # The server gives ids; a client that claims one without a token to
                # resume with is not an honest client.
                raise ProtocolError(f"the client's greeting claims the id {greeting.peer_id}")
        except ProtocolError as exc:
            handshake_lines.log(logging.WARNING, "%s: bad handshake: %s", pending.who, exc)
            self._drop(pending, CLOSE_PROTOCOL_ERROR, "bad handshake")
            return
        if greeting.resumption is not None:
            self._resume(pending, greeting, greeting.resumption)
        else:
            self._admit(pending, greeting)

    def _timed_out(self, pending: _Pending) -> None:
        pending.timer = None
        if pending.conn.state is not State.STATE_OPEN:
            return  # the WebSocketPeer's own handshake timer cuts it
        timeout = self._peer.handshake_timeout
        handshake_lines.log(
            logging.WARNING,
            "%s: no greeting within handshake_timeout (%s s); a client that waits for"
            " its id first (a Godot client?) needs WebSocketMultiplayerPeer(protocol='godot')",
            pending.who,
            timeout,
        )
        self._drop(pending, CLOSE_POLICY_VIOLATION, "handshake timeout")

    def _admit(self, pending: _Pending, greeting: Greeting | None) -> None:
        """Give the connection an id and make it a link, if it may join (Godot:
        while ``refuse_new_connections`` is set, a pending peer that reaches OPEN
        is dropped instead of given an id)."""
        peer = self._peer
        if self._closed:
            self._drop(pending, CLOSE_GOING_AWAY, "the server is closing")
            return
        if peer.refuse_new_connections:
            handshake_lines.log(
                logging.INFO,
                "refused a connection from %s: refuse_new_connections",
                pending.address,
            )
            self._drop(pending, CLOSE_TRY_AGAIN_LATER, "the server refuses new connections")
            return
        load, max_lag = self._load, peer.max_loop_lag
        if load is not None and load.saturated(max_lag):
            handshake_lines.log(
                logging.INFO,
                "refused a connection from %s: the server is saturated (%.2f s late)",
                pending.address,
                load.lag(),
            )
            self._drop(pending, CLOSE_TRY_AGAIN_LATER, "server saturated, try again later")
            return
        if self._max_clients and len(peer._links) >= self._max_clients:
            handshake_lines.log(
                logging.INFO,
                "refused a connection from %s: the server is full (max_clients %d)",
                pending.address,
                self._max_clients,
            )
            reason = f"server full (max_clients {self._max_clients})"
            self._drop(pending, CLOSE_TRY_AGAIN_LATER, reason)
            return
        if pending.resume_only:
            self._refuse_resume(pending, 0, "it came to resume, and greeted as a new client")
            return
        self._forget(pending)
        conn = pending.conn
        peer_id = self._new_id()
        # Resumable for as long as both sides would wait (a client that would not
        # come back is offered no token: it would not count nor acknowledge).
        grace = min(peer.reconnect_grace, greeting.grace) if greeting is not None else 0.0
        token = new_token() if grace else b""
        resumption = Resumption(token) if grace else None
        size = peer.inbound_buffer_size
        hello = peer._framing.server_greeting(peer_id, size, resumption, grace)
        if not conn.write_binary([hello]):
            # It is closing: nothing to admit. (_progressed untracks it once CLOSED.)
            self._pending.add(pending)
            return
        max_size = greeting.max_message_size if greeting is not None else None
        peer._open_link(pending.ws, peer_id, max_size, token=token, grace=grace)
        pending.settle(peer_id)
        hand_over_queued(conn)

    # Resuming.

    def hold(self, link: Link) -> bool:
        """The connection of ``link`` was lost: keep its session for
        ``reconnect_grace`` seconds, unless the server is closing."""
        peer = self._peer
        grace = link.replay.grace if link.replay is not None else 0.0
        if self._closed or not grace:
            return False
        logger.info(
            "peer %d: %s; keeping its session for %s s (reconnect_grace)",
            link.peer_id,
            link.loss(),
            grace,
        )
        peer._sessions.hold(link)
        reason = f"it did not come back within reconnect_grace ({grace} s)"
        loop = asyncio.get_running_loop()
        link.waiting = loop.call_later(grace, peer._sessions.give_up, link, reason)
        return True

    def _resume(self, pending: _Pending, greeting: Greeting, resumption: Resumption) -> None:
        """A client presents a token to resume the session of ``greeting.peer_id``.

        The right token is always accepted (the old one too, until the client has
        spoken on the link it resumed: the answer that carried the new one may have
        been cut). Wrong ones are refused, each counted against its address: past
        the gate's limit they are refused unread and unlogged."""
        peer = self._peer
        if self._closed:
            self._drop(pending, CLOSE_GOING_AWAY, "the server is closing")
            return
        peer_id = greeting.peer_id
        link = peer._links.get(peer_id)
        if link is None or link.replay is None:  # (not counted: an honest client's
            # session can end while it reconnects, or its server restart)
            self._refuse_resume(pending, peer_id, "no such session: it ended, or never was")
            return
        replay = link.replay
        try:
            again = replay.accept(resumption.token, resumption.received)
        except ResumeGap as exc:
            self._refuse_resume(pending, peer_id, f"could not resume: {exc}")
            peer._sessions.end(link, f"it could not resume: {exc}")
            return
        except ProtocolError as exc:
            now = asyncio.get_running_loop().time()
            gate = self._resume_gate
            if gate.allows(pending.host, now):
                gate.refused(pending.host, now)
                self._refuse_resume(pending, peer_id, str(exc), gate.allows(pending.host, now))
            else:
                self._drop(pending, CLOSE_TRY_AGAIN_LATER, "too many resume attempts")
            return
        self._forget(pending)
        if link.state is OPEN:
            # This side has not noticed yet that the old connection is gone (or it
            # is a stale half-open one): the new one replaces it.
            logger.info(
                "peer %d: its session resumes on a new connection from %s; cutting the old one",
                peer_id,
                pending.address,
            )
            peer._sessions.supersede(link)
        token = new_token()
        answer = Resumption(token, replay.received)
        hello = peer._framing.server_greeting(
            peer_id, peer.inbound_buffer_size, answer, replay.grace
        )
        logger.info("peer %d: resumed from %s", peer_id, pending.address)
        pending.settle(None)
        peer._sessions.resume(link, pending.ws, greeting.max_message_size, [hello, *again], token)
        hand_over_queued(pending.conn)

    def _refuse_resume(
        self, pending: _Pending, peer_id: int, why: str, log_on: bool = True
    ) -> None:
        """Refuse a resume. The client is told no more than that (4001); the log says
        why, and when the address runs out of attempts, that it did."""
        if log_on:
            handshake_lines.log(
                logging.WARNING, "%s: refused to resume peer %d: %s", pending.who, peer_id, why
            )
        else:
            handshake_lines.log(
                logging.WARNING,
                "%s: refused to resume peer %d: %s; too many refused attempts from %s:"
                " its next ones are refused unread for up to %s s",
                pending.who,
                peer_id,
                why,
                pending.host,
                RESUME_WINDOW,
            )
        self._drop(pending, CLOSE_RESUME_REFUSED, "resume refused")

    def _new_id(self) -> int:
        if not self._peer._framing.random_ids:
            self._next_id += 1
            return self._next_id - 1
        in_use = self._peer._links
        while True:
            peer_id = 2 + secrets.randbelow(_MAX_ID - 1)
            if peer_id not in in_use:
                return peer_id

    def _drop(self, pending: _Pending, code: int, reason: str) -> None:
        """Close a pending connection; it is untracked once CLOSED."""
        self._cancel_timer(pending)
        conn = pending.conn
        conn.sink = None
        if conn.state is State.STATE_OPEN:
            conn.close(code, reason)
        else:
            conn.cut()

    def _forget(self, pending: _Pending) -> None:
        self._cancel_timer(pending)
        self._pending.discard(pending)

    @staticmethod
    def _cancel_timer(pending: _Pending) -> None:
        if pending.timer is not None:
            pending.timer.cancel()
            pending.timer = None


def _address(stream: StreamPeerTCP) -> str:
    host, port = stream.get_connected_host(), stream.get_connected_port()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
