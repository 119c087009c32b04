"""``Link``: one open WebSocket connection to a peer, and how its messages leave.

Godot's WebSocketMultiplayerPeer keeps one ``WebSocketPeer`` per connected peer
(``peers_map``, modules/websocket/websocket_multiplayer_peer.cpp) and hands it out
with ``get_peer(id)``. A link is that WebSocketPeer, with the multiplayer peer's
own bookkeeping: what was put for the peer since the last flush (``outgoing``),
whether reading from it is held, and whether the multiplayer peer still knows it.

The hot path drives the WebSocketPeer's event-loop half
(:class:`~.websocket_peer_link.PeerLink`) directly: each message read goes to the
multiplayer peer's sink as it is parsed, and each flush is one write to the
socket. The socket's own buffer holds what the network has not taken yet; what
it holds over its high-water mark is what ``outbound_buffer_size`` limits.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Sequence

from websockets.exceptions import InvalidStatus

from .close_codes import error_for_close
from .redirects import redirect_of
from .resume import Replay
from .stats import Counts
from .websocket_peer import WebSocketPeer
from .websocket_peer_link import PeerLink, State

__all__ = [
    "AWAY",
    "CLOSED",
    "OPEN",
    "Link",
    "LinkState",
    "conn_of",
    "end_handshake",
    "hand_over_queued",
    "why_handshake_ended",
]

logger = logging.getLogger("multiplayer.websocket")

_MESSAGE_TOO_BIG = 1009
_WS_OPEN = State.STATE_OPEN
_WS_CLOSED = State.STATE_CLOSED


class LinkState(enum.Enum):
    """Whether the multiplayer peer still sends to and reads from a link.

    Whether reading is held (too many packets from the peer not taken) is another
    matter, tracked apart (:attr:`Link.reading_held`).
    """

    OPEN = "open"
    """A flush writes to the socket at once; what the network has not taken waits
    in the socket's buffer and counts against ``outbound_buffer_size``."""
    AWAY = "away"
    """The connection was lost and the session waits to be resumed (see
    :mod:`.resume`): a flush only adds to the replay buffer, and the peer is still
    known."""
    CLOSED = "closed"
    """Forgotten by the peer: nothing more is sent or staged (the socket may still be
    completing its closing handshake)."""


OPEN = LinkState.OPEN
AWAY = LinkState.AWAY
CLOSED = LinkState.CLOSED


def conn_of(ws: WebSocketPeer) -> PeerLink:
    """The event-loop half of a WebSocketPeer that has started connecting."""
    conn = ws._link
    assert conn is not None, "the WebSocketPeer has not started"
    return conn


def hand_over_queued(conn: PeerLink) -> None:
    """Give a connection's sink what it queued before it had one (a client that
    sent before it was given its id), in order."""
    sink = conn.sink
    while sink is not None and len(conn.received):
        data, text = conn.take()
        sink(data, text)


def end_handshake(conn: PeerLink, code: int) -> None:
    """Give up a connection in its handshake: a close frame once it is open, else
    cut it."""
    conn.sink = None
    if conn.state is _WS_OPEN:
        conn.close(code, "")
    elif conn.state is not _WS_CLOSED:
        conn.cut()


def why_handshake_ended(conn: PeerLink) -> Exception:
    """Why a client's connection ended before its greeting was done (a
    :class:`~.redirects.Redirected` if the server sent it elsewhere)."""
    rcvd = conn.protocol.close_rcvd
    if rcvd is not None:
        typed = error_for_close(int(rcvd.code), rcvd.reason)
        if typed is not None:
            return typed
        reason = f"the server closed the connection: {int(rcvd.code)} {rcvd.reason}"
        return ConnectionError(reason.rstrip())
    error = conn.error
    answer = _answer_of(conn)
    if answer is not None:
        redirect = redirect_of(conn.requested_url, *answer)
        if redirect is not None:
            return redirect
    if isinstance(error, Exception):
        return error
    return ConnectionResetError("the connection closed during the handshake")


def _answer_of(conn: PeerLink) -> tuple[int, tuple[tuple[str, str], ...]] | None:
    """The status and headers of a handshake answered with another status than
    101 (None: it was not answered so)."""
    error = conn.error
    if isinstance(error, InvalidStatus):  # (websockets')
        return error.response.status_code, tuple(error.response.headers.raw_items())
    answer: tuple[int, tuple[tuple[str, str], ...]] | None = getattr(conn, "refused_with", None)
    return answer  # (picows': see websocket_picows)


class Link:
    """One connection to a peer that finished the greeting."""

    __slots__ = (
        "conn",
        "counts",
        "holder",
        "max_message_size",
        "outgoing",
        "outgoing_bytes",
        "peer_id",
        "replay",
        "state",
        "waiting",
        "ws",
    )

    def __init__(
        self,
        ws: WebSocketPeer,
        peer_id: int,
        max_message_size: int,
        replay: Replay | None = None,
    ) -> None:
        self.peer_id = peer_id
        self.max_message_size = max_message_size  # the other side's inbound limit
        self.ws = ws  # what get_peer(peer_id) returns
        self.conn = self._adopt(ws)
        self.state = OPEN
        self.outgoing: list[bytes] = []  # packets put since the last flush
        self.outgoing_bytes = 0
        self.counts = Counts()  # what went each way (see .stats)
        self.holder: asyncio.Task[object] | None = None  # runs while reading is held
        self.replay = replay  # the session's account, if it can be resumed
        # While AWAY: the grace timer (server) or the reconnection task (client).
        self.waiting: asyncio.TimerHandle | asyncio.Task[object] | None = None

    def _adopt(self, ws: WebSocketPeer) -> PeerLink:
        conn = conn_of(ws)
        conn.name = f"peer {self.peer_id}"  # for the lines it logs itself
        conn.quiet = True  # the multiplayer peer logs its end (log_close)
        conn.budget = None  # (a peer now: its lines are its own)
        return conn

    def lost(self) -> bool:
        """Whether the connection ended without either side meaning it to: no close
        frame came, and this side sent none for a fault of the peer's (a cut, a
        reset, a keepalive timeout). Only such a link may be resumed."""
        conn = self.conn
        return conn.protocol.close_rcvd is None and conn.failure is None

    def go_away(self) -> None:
        """The connection is lost; the session waits to be resumed."""
        self.state = AWAY

    def come_back(self, ws: WebSocketPeer, max_message_size: int) -> PeerLink:
        """The session resumed on ``ws``: it is the link's connection from now on."""
        self.stop_waiting()
        self.ws = ws
        self.conn = self._adopt(ws)
        self.max_message_size = max_message_size
        self.state = OPEN
        self.holder = None  # (the old connection's ends by itself: it watches conn)
        return self.conn

    def stop_waiting(self) -> None:
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.cancel()

    @property
    def reading_held(self) -> bool:
        """Whether reading from the peer is paused (see ``max_queued_packets``)."""
        return self.holder is not None

    def unsent_bytes(self) -> int:
        """What was put for the peer and not flushed, and what the socket holds
        over its high-water mark: what counts against ``outbound_buffer_size``
        (as websockets' writer did: a buffer up to the mark is a peer keeping up)."""
        return self.outgoing_bytes + self.conn.backlog()

    def write(self, messages: list[bytes]) -> None:
        """Send ``messages`` after everything written before them, in one write.
        (A closing connection takes nothing more: its end is being reported.)"""
        if self.state is OPEN:
            self.conn.write_binary(messages)

    def take_unsent(self, encode: Callable[[Sequence[bytes], int], list[bytes]]) -> list[bytes]:
        """What was put and not flushed yet, encoded: what a graceful close sends
        before its close frame (what was flushed is in the socket's buffer already)."""
        if self.state is not OPEN or not self.outgoing:
            return []
        return encode(self.outgoing, self.max_message_size)

    def end(self) -> None:
        """Forget what waits; the link is CLOSED from now on."""
        self.state = CLOSED
        self.outgoing.clear()
        self.outgoing_bytes = 0
        self.stop_waiting()

    def send_and_close(self, messages: list[bytes], code: int, reason: str) -> None:
        """Send ``messages``, then the close frame. A peer that does not answer
        within ``handshake_timeout`` (one that does not read, say) is cut off."""
        conn = self.conn
        if messages:
            conn.write_binary(messages)
        conn.close(code, reason)

    def loss(self) -> str:
        """How a lost connection (:meth:`lost`) ended, for a log line."""
        if isinstance(self.conn.error, TimeoutError):
            timeout = self.conn.settings.heartbeat_timeout
            return f"no answer to keepalive pings within {timeout} s"
        return "connection lost without a close frame"

    def room_error(self) -> Exception | None:
        """The typed error of the room server's close (4100-4106), if it sent one."""
        rcvd = self.conn.protocol.close_rcvd
        return error_for_close(int(rcvd.code), rcvd.reason) if rcvd is not None else None

    def log_close(self, inbound_buffer_size: int) -> None:
        """Say why the connection ended, when this side did not end it itself."""
        conn, peer_id = self.conn, self.peer_id
        rcvd, failure = conn.protocol.close_rcvd, conn.failure
        if failure is not None and failure.code == _MESSAGE_TOO_BIG:
            logger.warning(
                "peer %d: sent a message over inbound_buffer_size (%d bytes); closed with 1009",
                peer_id,
                inbound_buffer_size,
            )
        elif failure is not None:
            logger.warning(
                "peer %d: %s; closed with %d", peer_id, failure.reason, int(failure.code)
            )
        elif isinstance(conn.error, TimeoutError):
            timeout = conn.settings.heartbeat_timeout
            logger.warning(
                "peer %d: no answer to keepalive pings within %s s; connection lost",
                peer_id,
                timeout,
            )
        elif rcvd is None:
            logger.warning("peer %d: connection lost without a close frame", peer_id)
        else:
            logger.info("peer %d: connection closed (%d %s)", peer_id, rcvd.code, rcvd.reason)
