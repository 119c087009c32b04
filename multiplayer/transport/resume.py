"""Resuming a session whose link was lost: the part that knows nothing of sockets.

A phone that changes networks, a Wi-Fi that drops for two seconds: the TCP
connection dies, but the player has not left. In a resumable profile (the native
one; Godot's protocol has no resume) the server keeps such a peer for
``reconnect_grace`` seconds, and the client comes back on a new connection,
presenting the token the server gave it, and keeps its id and everything the
program built on it (docs/resume.md).

What makes the resume lossless is a count, not a number on each message. TCP
delivers the messages of one connection whole and in order, and a cut loses a
tail of them; so each side counts the data messages it has sent and received in
the session (nothing travels with them), the receiver acknowledges its count now
and then (an ACK message), and the sender keeps what is not acknowledged yet in a
:class:`Replay` buffer. On a resume each side tells the other its count, and each
replays what the other has not received: every data message arrives exactly once,
in order. The buffer is bounded (``resume_buffer_size``): a peer that stays away
while more than that is put for it loses its session, with a reason, never a gap.

The token is 16 random bytes, bound to the peer id it was given with, compared in
constant time, and replaced at every resume (so a token seen on the wire is good
for one resume at most). :class:`ResumeGate` bounds how many refused attempts an
address may make, so that tokens cannot be guessed at speed.
"""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from collections.abc import Sequence

from ..exceptions import ProtocolError

__all__ = [
    "ACK_EVERY_BYTES",
    "ACK_EVERY_MESSAGES",
    "ACK_INTERVAL",
    "RESUME_FAILURES",
    "RESUME_WINDOW",
    "TOKEN_SIZE",
    "Replay",
    "ResumeGap",
    "ResumeGate",
    "new_token",
    "same_token",
]

TOKEN_SIZE = 16
"""Bytes of a resume token: 128 random bits."""

ACK_EVERY_MESSAGES = 64
"""A receiver acknowledges at once after this many unacknowledged data messages..."""
ACK_EVERY_BYTES = 64 * 1024
"""...or this many bytes of them..."""
ACK_INTERVAL = 0.25
"""...and otherwise with the next data sent the other way after this many seconds
(an acknowledgement rides in the same write), or on its own after twice as long:
what the sender's buffer holds while the link is up is about that much traffic."""

RESUME_FAILURES = 10
"""Refused resume attempts an address may make per :data:`RESUME_WINDOW`; past that,
its attempts are refused unread until the window ends."""
RESUME_WINDOW = 10.0
"""Seconds over which :data:`RESUME_FAILURES` are counted."""


def new_token() -> bytes:
    """A fresh resume token."""
    return secrets.token_bytes(TOKEN_SIZE)


def same_token(presented: bytes, expected: bytes) -> bool:
    """Whether a presented token is the expected one, in time that does not depend
    on where they differ (``hmac.compare_digest``)."""
    return hmac.compare_digest(presented, expected)


class ResumeGap(ProtocolError):
    """The other side asks to resume from a count whose messages are no longer kept:
    more than ``resume_buffer_size`` went unacknowledged while the link was up, and
    they were let go rather than the peer disconnected. The session cannot resume
    without a gap, so it ends (with this reason), never silently."""


class Replay:
    """One side's account of a resumable session: the counts, the token, and the
    data messages sent and not acknowledged yet.

    Args:
        token: The session's resume token (both sides keep it).
        limit: The most bytes the buffer may hold (``resume_buffer_size``).
        grace: How long the session is kept for a resume (the shorter of the two
            sides' ``reconnect_grace``).
    """

    __slots__ = (
        "_acked",
        "_buffer",
        "_first",
        "_unacked_bytes",
        "ack_wanted",
        "buffered",
        "grace",
        "held",
        "lapsed",
        "limit",
        "old_token",
        "received",
        "sent",
        "token",
    )

    def __init__(self, token: bytes, limit: int, grace: float = 0.0) -> None:
        self.token = token
        self.old_token: bytes | None = None
        """The token before the last resume, good until the other side shows it got
        the new one (see :meth:`resumed`)."""
        self.held: bytes | None = None  # the token the last accepted resume presented
        self.limit = limit
        self.grace = grace
        self.sent = 0
        """Data messages sent in the session (written, or buffered while away)."""
        self.received = 0
        """Data messages received in the session."""
        self.buffered = 0
        """Bytes in the buffer."""
        self.lapsed = False
        """Messages were let go unacknowledged (:meth:`let_go`): until the other side
        acknowledges past them, the session cannot resume."""
        self._buffer: deque[bytes] = deque()
        self._first = 0  # the count of the buffer's first message: what was acknowledged
        self._acked = 0  # what we last acknowledged to the other side
        self._unacked_bytes = 0
        self.ack_wanted = False
        """An acknowledgement is to go with the next data sent (see ACK_INTERVAL)."""

    # Sending.

    def record(self, messages: Sequence[bytes]) -> bool:
        """Keep ``messages``, which are being sent, until they are acknowledged;
        False if the buffer now holds more than its limit (the caller ends the
        session if the peer is away, or else :meth:`let_go`)."""
        self._buffer.extend(messages)
        self.sent += len(messages)
        self.buffered += sum(map(len, messages))
        return self.buffered <= self.limit

    def let_go(self) -> None:
        """Forget what the buffer holds: the link is up, and what is in flight on it
        has outgrown the limit (a burst, a slow network). The peer is not faulted
        for it; only a resume before it acknowledges past these messages fails
        (:class:`ResumeGap`)."""
        self._buffer.clear()
        self.buffered = 0
        self._first = self.sent
        self.lapsed = True

    def acknowledged(self, count: int) -> None:
        """The other side has received ``count`` data messages in all: forget those.

        Raises:
            ProtocolError: ``count`` goes back, or past what was sent.
        """
        if not self._first <= count <= self.sent:
            if self.lapsed and count < self._first:
                return  # (behind what was let go: an honest acknowledgement, late)
            raise ProtocolError(
                f"acknowledged {count} messages, but {self._first} were acknowledged"
                f" already and {self.sent} sent"
            )
        self.lapsed = False
        buffer = self._buffer
        while self._first < count:
            self.buffered -= len(buffer.popleft())
            self._first += 1

    def replay(self, count: int) -> list[bytes]:
        """What to send again to the other side, which says it has received
        ``count`` data messages: everything after them, in order.

        Raises:
            ResumeGap: Those messages were let go (:meth:`let_go`).
            ProtocolError: ``count`` is not possible (it goes back past what it
                acknowledged, or past what was sent).
        """
        if self.lapsed and count < self._first:
            raise ResumeGap(
                f"{self._first - count} messages it had not acknowledged were no longer"
                " kept (more than resume_buffer_size was in flight)"
            )
        self.acknowledged(count)
        return list(self._buffer)

    def accept(self, token: bytes, count: int) -> list[bytes]:
        """A resume presenting ``token`` and ``count``: what to send again.

        Raises:
            ProtocolError: The token is wrong, or the count impossible (a
                :class:`ResumeGap` if honest but too far behind).
        """
        old = self.old_token
        if not same_token(token, self.token) and not (old and same_token(token, old)):
            raise ProtocolError("wrong token")
        again = self.replay(count)
        self.held = token
        return again

    # Receiving.

    def arrived(self, size: int) -> bool:
        """A data message of ``size`` bytes arrived; whether to acknowledge at once."""
        self.received += 1
        self._unacked_bytes += size
        return (
            self.received - self._acked >= ACK_EVERY_MESSAGES
            or self._unacked_bytes >= ACK_EVERY_BYTES
        )

    def ack_due(self) -> bool:
        """Whether something arrived since the last acknowledgement."""
        return self.received != self._acked

    def take_ack(self) -> int:
        """The count to acknowledge now (it is noted as acknowledged)."""
        self._acked = self.received
        self._unacked_bytes = 0
        self.ack_wanted = False
        return self.received

    def resumed(self, token: bytes) -> None:
        """The session resumed with a new token; the greeting that said so told the
        other side our count, as an acknowledgement does.

        The old token stays good until :meth:`confirmed`: if the link is cut before
        the other side has read the new one, it can only come back with the old. (The
        old one is the token it presented, which is not the last one given if that
        answer was lost too.)"""
        self.old_token, self.token = self.held or self.token, token
        self.held = None
        self.take_ack()

    def confirmed(self) -> None:
        """The other side has spoken on the resumed link, so it has the new token:
        the old one is good no more."""
        self.old_token = None


class ResumeGate:
    """Counts refused resume attempts per address, so that a flood of guesses is
    cut short: past :data:`RESUME_FAILURES` in :data:`RESUME_WINDOW` seconds, an
    address's attempts are refused without looking at them. Times are passed in
    (the event loop's clock), as everything here is sans-I/O.

    Args:
        max_addresses: The most addresses tracked at once; past it the oldest
            window is forgotten (memory stays bounded under a spread-out flood).
    """

    def __init__(self, max_addresses: int = 10_000) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._max_addresses = max_addresses

    def allows(self, address: str, now: float) -> bool:
        """Whether ``address`` may try to resume now."""
        window = self._windows.get(address)
        if window is None:
            return True
        start, failures = window
        if now - start >= RESUME_WINDOW:
            del self._windows[address]
            return True
        return failures < RESUME_FAILURES

    def refused(self, address: str, now: float) -> None:
        """An attempt from ``address`` was refused."""
        start, failures = self._windows.get(address, (now, 0))
        if now - start >= RESUME_WINDOW:
            start, failures = now, 0
        self._windows.pop(address, None)  # re-inserted last: dicts keep insertion order
        self._windows[address] = (start, failures + 1)
        if len(self._windows) > self._max_addresses:
            del self._windows[next(iter(self._windows))]
