"""``Sessions``: the resumable sessions of a WebSocket peer's links.

:mod:`.resume` keeps the account of one session (counts, token, replay buffer)
and knows nothing of connections; this module applies it to the peer's links, on
the event loop: it counts and acknowledges what each resumable link receives,
holds a link whose connection was lost (AWAY: ``peer_dropped``), swaps in the new
connection of a resume (``peer_resumed``) after sending what the other side
missed, and ends a session that cannot go on (``peer_disconnected``). When to hold
and when to give up is the sides' to decide: the server's grace timer
(:mod:`.websocket_server`), the client's reconnection (:mod:`.websocket_reconnect`).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import TYPE_CHECKING

from ..exceptions import ProtocolError
from .close_codes import CLOSE_PROTOCOL_ERROR, CLOSE_RESUME_REFUSED
from .resume import ACK_INTERVAL
from .websocket_link import AWAY, OPEN, Link
from .websocket_peer import WebSocketPeer
from .websocket_peer_link import PeerLink, State

if TYPE_CHECKING:
    from .websocket_base import WebSocketPeerBase

__all__ = ["Sessions"]

logger = logging.getLogger("multiplayer.websocket")


class Sessions:
    """The resumable sessions of ``peer``'s links."""

    def __init__(self, peer: WebSocketPeerBase) -> None:
        self._peer = peer
        self.away: set[Link] = set()
        """Links whose connection was lost and whose session waits to resume."""
        self._ack_due: set[Link] = set()  # to acknowledge at the next sweep
        self._ack_timer: asyncio.TimerHandle | None = None
        self._ack_kind = peer._framing.ack_kind

    # Receiving.

    def receive(self, link: Link, message: bytes, text: bool) -> None:
        """The sink of a resumable link: data messages are counted (and acknowledged
        now and then) and go on to the peer; an acknowledgement trims the replay
        buffer."""
        if link.state is not OPEN:
            return
        replay = link.replay
        assert replay is not None
        if replay.old_token is not None:
            replay.confirmed()  # (it spoke on the resumed link: it has the new token)
        peer = self._peer
        if message and message[0] == self._ack_kind and not text:
            try:
                replay.acknowledged(peer._framing.parse_ack(message))
            except ProtocolError as exc:
                peer._fail_link(link, CLOSE_PROTOCOL_ERROR, str(exc))
            return
        if replay.arrived(len(message)):
            self._ack_due.discard(link)
            link.conn.write_binary([peer._framing.ack(replay.take_ack())])
        elif link not in self._ack_due:
            self._ack_due.add(link)
            if self._ack_timer is None:
                loop = asyncio.get_running_loop()
                self._ack_timer = loop.call_later(ACK_INTERVAL, self._send_acks)
        peer._receive(link, message, text)

    def _send_acks(self) -> None:
        """Acknowledge what arrived on each link since its last acknowledgement: with
        the next data that goes to it (the flush adds it to the same write), or now,
        if none went since the last sweep. (Links that send often cost no write of
        their own; a server of many clients would otherwise write four times a
        second to each, for acknowledgements alone.)"""
        self._ack_timer = None
        due, self._ack_due = self._ack_due, set()
        ack = self._peer._framing.ack
        for link in due:
            replay = link.replay
            if link.state is not OPEN or replay is None or not replay.ack_due():
                continue
            if replay.ack_wanted:
                link.conn.write_binary([ack(replay.take_ack())])
            else:
                replay.ack_wanted = True
                self._ack_due.add(link)
        if self._ack_due:
            loop = asyncio.get_running_loop()
            self._ack_timer = loop.call_later(ACK_INTERVAL, self._send_acks)

    # Losing and resuming.

    def hold(self, link: Link) -> None:
        """Keep the session of ``link``, whose connection was lost, until it resumes
        or the side gives up on it (:meth:`give_up`); ``poll()`` reports
        ``peer_dropped``."""
        link.go_away()
        self.away.add(link)
        self._ack_due.discard(link)
        peer = self._peer
        peer._inbox.stage_dropped(link.peer_id)
        peer._activity.wake()

    def resume(
        self, link: Link, ws: WebSocketPeer, size: int | None, first: list[bytes], token: bytes
    ) -> None:
        """Resume the session of ``link`` on ``ws``, whose greeting is done, with the
        new ``token``: ``first`` is sent before anything new (the server's greeting,
        and what the other side has not received: ``Replay.replay``). ``poll()``
        reports ``peer_resumed``."""
        replay = link.replay
        assert replay is not None, "only a resumable link resumes"
        peer = self._peer
        replay.resumed(token)
        self.away.discard(link)
        conn = link.come_back(ws, peer._message_size(size))
        conn.sink = partial(self.receive, link)
        conn.on_arrival = partial(peer._after_read, link)
        if first:
            conn.write_binary(first)
        peer._inbox.stage_resumed(link.peer_id)
        peer._activity.wake()

    def supersede(self, link: Link) -> None:
        """A new connection resumes the session of ``link``, whose connection still
        looked open: that one is cut, and the session is away until the resume
        (so ``poll()`` reports the drop, then the resume)."""
        old = link.conn
        old.sink = None
        old.on_arrival = partial(self._retire, old)
        self.hold(link)
        old.cut()

    def _retire(self, conn: PeerLink) -> None:
        if conn.state is State.STATE_CLOSED:
            conn.on_arrival = None
            self._peer._untrack(conn)

    def give_up(self, link: Link, reason: str) -> None:
        """End the session of ``link``, which is away: ``poll()`` reports it left."""
        if link.state is AWAY:
            self.end(link, reason)

    def end(self, link: Link, reason: str) -> None:
        """End the session of ``link`` (away, or with a connection a resume was about
        to replace), saying why: ``poll()`` reports it left."""
        logger.warning("%s: %s; its session ends", self._name(link), reason)
        if link.state is AWAY:
            self._peer._forget_link(link, notify=True)
        else:
            self._peer._close_link(link, CLOSE_RESUME_REFUSED, "session ended", notify=True)

    def overflow(self, link: Link) -> bool:
        """More than ``resume_buffer_size`` bytes sent to ``link`` are unacknowledged;
        whether to send on. While the peer is away, its session could no longer be
        resumed without a gap: it ends, with a reason. While the link is up, it is
        only what is in flight (a burst, a slow network): the messages are let go
        (``Replay.let_go``), and a resume before the peer acknowledges past them
        would fail, with a reason; an honest peer is not cut for it."""
        peer = self._peer
        limit = peer.resume_buffer_size
        replay = link.replay
        assert replay is not None
        if link.state is not AWAY:
            if not replay.lapsed:
                logger.info(
                    "%s: more than resume_buffer_size (%d bytes) in flight and not"
                    " acknowledged; let go (a resume before it catches up would fail)",
                    self._name(link),
                    limit,
                )
            replay.let_go()
            return True
        reason = f"more than resume_buffer_size ({limit} bytes) was put for it while it was away"
        if not peer.is_server():
            peer._connection_error = ConnectionError(f"the session with the server ended: {reason}")
        logger.warning("%s: %s; its session ends", self._name(link), reason)
        peer._forget_link(link, notify=True)
        return False

    def _name(self, link: Link) -> str:
        return f"peer {link.peer_id}" if self._peer.is_server() else "the session with the server"

    # Bookkeeping.

    def forget(self, link: Link) -> None:
        """``link`` is closed: nothing more to do for it."""
        self.away.discard(link)
        self._ack_due.discard(link)

    def clear(self) -> None:
        self.away.clear()
        self._ack_due.clear()
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
