"""How a client whose connection was lost comes back and resumes its session.

The client half (:mod:`.websocket_client`) starts a :class:`Reconnection` when the
link to the server is lost without a close frame, in a resumable session
(:mod:`.resume`). It tries again and again, each attempt a new WebSocket to the
same URL whose greeting presents the peer id, the token and the count of data
messages received, until the server answers with its own count and a new token,
the server refuses (4001: the session is gone), or the grace runs out. The waits
between attempts grow exponentially, with jitter, up to :data:`BACKOFF_CAP`: when
a server's network blinks, its thousand clients do not all knock at once.

While it runs, the link is AWAY: the program goes on putting packets, which wait
in the replay buffer, and ``poll()`` reported ``peer_dropped(1)``; a resume reports
``peer_resumed(1)``, and giving up ``peer_disconnected(1)``, with the reason in
``connection_error``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from ..exceptions import ProtocolError
from .close_codes import error_for_close
from .framing.base import Greeting, Resumption
from .redirects import CREDENTIALS, FOLLOWS, MAX_REDIRECTS, Redirected
from .resume import ResumeGap
from .tls import TLSOptions
from .websocket_base import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    CLOSE_RESUME_REFUSED,
    WebSocketPeerBase,
)
from .websocket_link import AWAY, Link, conn_of, end_handshake, why_handshake_ended
from .websocket_peer import WebSocketPeer
from .websocket_peer_link import State

if TYPE_CHECKING:
    from .websocket_peer_link import PeerLink

__all__ = ["BACKOFF_CAP", "FIRST_BACKOFF", "Reconnection", "ResumeRefused"]

logger = logging.getLogger("multiplayer.websocket")

FIRST_BACKOFF = 0.1
"""Seconds before the first attempt (at most: it is jittered) and the first wait
between two; each wait doubles, up to :data:`BACKOFF_CAP`."""
BACKOFF_CAP = 2.0
"""The longest wait between two attempts."""


class ResumeRefused(ConnectionError):
    """The server will not resume the session: it ended (the grace ran out, or the
    server forgot it), the token was not the right one (4001), or the server is
    going away (1001)."""


class Reconnection:
    """The attempts to resume the session of ``link``, for up to ``grace`` seconds.

    Args:
        peer: The client peer.
        link: Its link to the server, AWAY.
        url: The server's URL.
        tls: The TLS options of the first connection.
        grace: How long to keep trying (the server's ``reconnect_grace``, or the
            client's own if shorter).
    """

    def __init__(
        self,
        peer: WebSocketPeerBase,
        link: Link,
        url: str,
        tls: TLSOptions | None,
        grace: float,
    ) -> None:
        self._peer = peer
        self._link = link
        self._url = url
        self._tls = tls
        self._grace = grace
        self.attempts = 0

    async def run(self) -> None:
        """Try until the session resumes, or give it up. The last attempt starts
        before the grace runs out (the wait before it is cut short) and may take its
        whole ``handshake_timeout``: the client gives up at most that long after its
        grace, never before (docs/resume.md, Bounds)."""
        try:
            await self._try_until_given_up()
        finally:
            if self._link.state is AWAY:  # (a failure of ours: never leave it hanging)
                reason = "the reconnection failed"
                self._give_up(ConnectionError(reason), reason)

    async def _try_until_given_up(self) -> None:
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._grace
        backoff = FIRST_BACKOFF
        wait = random.uniform(0, backoff)
        failure: BaseException | None = None
        while self._link.state is AWAY and loop.time() < give_up_at:
            await asyncio.sleep(min(wait, give_up_at - loop.time()))
            self.attempts += 1
            try:
                await self._attempt()
                return
            except ResumeRefused as exc:
                self._give_up(exc, str(exc))
                return
            except Exception as exc:  # (a reset, a refused connection, a proxy's 503...)
                failure = exc
            backoff = min(backoff * 2, BACKOFF_CAP)
            wait = backoff / 2 + random.uniform(0, backoff / 2)
        detail = f"; last attempt: {_describe(failure)}" if failure is not None else ""
        reason = f"could not reconnect within {self._grace} s ({self.attempts} attempts{detail})"
        self._give_up(TimeoutError(reason), reason)

    def _give_up(self, exc: BaseException, reason: str) -> None:
        self._peer._connection_error = exc
        self._link.waiting = None  # (this task: nothing to cancel)
        self._peer._sessions.give_up(self._link, reason)

    async def _attempt(self) -> None:
        """One attempt to resume the session (following the server's redirects,
        all within one ``handshake_timeout``), or raise why it failed.

        Raises:
            ResumeRefused: The server closed it with 4001.
            OSError, TimeoutError, ProtocolError, ValueError: It failed otherwise.
        """
        timeout = self._peer.handshake_timeout
        deadline = asyncio.get_running_loop().time() + timeout
        url: str = self._url
        headers: tuple[tuple[str, str], ...] = ()
        without: tuple[str, ...] = ()
        try:
            for hop in range(MAX_REDIRECTS + 1):
                try:
                    await self._connect(url, headers, without, deadline)
                    return
                except Redirected as redirect:  # (a cluster: to the room's own process)
                    if hop == MAX_REDIRECTS:
                        raise
                    url, headers = redirect.url, redirect.headers
                    without = without or (() if redirect.same_host else CREDENTIALS)
        except TimeoutError:
            raise TimeoutError(f"no answer within handshake_timeout ({timeout} s)") from None

    async def _connect(
        self,
        url: str,
        headers: tuple[tuple[str, str], ...],
        without: tuple[str, ...],
        deadline: float,
    ) -> None:
        """One connection that resumes the session, or raises why it did not."""
        peer = self._peer
        ws = peer._new_ws(FOLLOWS + headers, without)
        ws.connect_to_url(url, self._tls)
        conn = conn_of(ws)
        conn.quiet = True  # (a failed attempt is part of the reconnection's story)
        peer._track(conn)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        attempt = _Attempt(peer, self._link, ws, done)
        conn.sink = attempt.greeted
        conn.on_arrival = attempt.progressed
        try:
            left = deadline - asyncio.get_running_loop().time()
            await asyncio.wait_for(done, max(0.0, left))
        except BaseException:
            attempt.abandon()
            raise


class _Attempt:
    """The callbacks of one attempt's connection, until it resumes or fails."""

    def __init__(
        self,
        peer: WebSocketPeerBase,
        link: Link,
        ws: WebSocketPeer,
        done: asyncio.Future[None],
    ) -> None:
        self._peer = peer
        self._link = link
        self._ws = ws
        self._conn: PeerLink = conn_of(ws)
        self._done = done
        self._greeted = False
        self._closing = False

    def progressed(self) -> None:
        conn = self._conn
        if conn.state is State.STATE_OPEN and not self._greeted:
            self._greeted = True
            replay = self._link.replay
            assert replay is not None
            peer = self._peer
            greeting = peer._framing.client_greeting(
                peer.inbound_buffer_size,
                peer._unique_id or peer._assigned_id,
                Resumption(replay.token, replay.received),
            )
            conn.write_binary([greeting])
        elif conn.state is State.STATE_CLOSED:
            self._peer._untrack(conn)
            if not self._done.done():
                self._done.set_exception(self._why_closed())

    def greeted(self, message: bytes, text: bool) -> None:
        """The server's answer: its count and a new token."""
        if self._done.done():
            return
        peer, link = self._peer, self._link
        replay = link.replay
        assert replay is not None
        try:
            if text:
                raise ProtocolError("the server answered a resume with a text message")
            greeting: Greeting = peer._check_greeting(peer._framing.parse_server_greeting(message))
            answer = greeting.resumption
            own_id = peer._unique_id or peer._assigned_id
            if answer is None or greeting.peer_id != own_id:
                raise ProtocolError(f"the server answered the resume of peer {own_id} wrongly")
            again = replay.replay(answer.received)
        except ResumeGap as exc:
            # The server resumed, but what it has not received is no longer kept
            # here: end the session cleanly (a close frame: the server need not
            # wait out its grace), with the reason.
            self._closing = True
            end_handshake(self._conn, CLOSE_NORMAL)
            self._done.set_exception(ResumeRefused(f"the session could not resume: {exc}"))
            return
        except ProtocolError as exc:
            self._done.set_exception(exc)
            return
        self._conn.on_arrival = None  # (the peer's own, from here)
        # What the server has not received, then an acknowledgement: the first word
        # on the resumed link, which tells the server the new token arrived.
        first = [*again, peer._framing.ack(replay.received)]
        peer._sessions.resume(link, self._ws, greeting.max_message_size, first, answer.token)
        logger.info("connection to the server resumed as peer %d", greeting.peer_id)
        self._done.set_result(None)

    def abandon(self) -> None:
        """The attempt failed or was given up: cut its connection. Never a close
        frame, which would tell the server the client left: the server may have
        resumed on it already, and the next attempt will come back to it."""
        if self._link.conn is not self._conn and not self._closing:
            self._conn.sink = None
            if self._conn.state is not State.STATE_CLOSED:
                self._conn.cut()

    def _why_closed(self) -> Exception:
        rcvd = self._conn.protocol.close_rcvd
        # (or a room server's typed refusal: its room gone, the server closing)
        refused = (CLOSE_RESUME_REFUSED, CLOSE_GOING_AWAY)
        code = int(rcvd.code) if rcvd is not None else 0
        if rcvd is not None and (code in refused or error_for_close(code, "") is not None):
            reason = f"the server refused to resume the session: {int(rcvd.code)} {rcvd.reason}"
            return ResumeRefused(reason.rstrip())
        why = why_handshake_ended(self._conn)
        return why if isinstance(why, Redirected) else ConnectionError(_describe(why))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
