"""``Link``: one open WebSocket connection to a peer, and how its messages leave.

A link exists once the greeting is done, until the peer forgets it. What is put for
the peer waits in ``outgoing`` until the next flush, which encodes it into messages
and calls :meth:`Link.write`. While the socket keeps up, those go straight to it;
once it falls behind they wait in ``outbox`` for the link's writer task, which
sends them as the socket drains. The send side is one :class:`LinkState`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable, Sequence

from websockets.exceptions import ConnectionClosed

from .websocket_connection import (
    WROTE,
    WROTE_BACKED_UP,
    CloseCause,
    SinkConnection,
    address_of,
    close_cause,
)

__all__ = ["BACKED_UP", "CLOSED", "OPEN", "Link", "LinkState"]

logger = logging.getLogger("multiplayer.websocket")


class LinkState(enum.Enum):
    """Where the messages flushed for a link go.

    Whether reading is held (too many packets from the peer not taken) is another
    matter, tracked apart (:attr:`Link.reading_held`): a peer can flood us while it
    does not read what we send, so the two combine freely.
    """

    OPEN = "open"
    """The socket keeps up: a flush writes to it at once."""
    BACKED_UP = "backed up"
    """The socket is over its high-water mark: messages wait in the outbox and the
    writer sends them as it drains. Unsent bytes now count against
    ``outbound_buffer_size``."""
    CLOSED = "closed"
    """Forgotten by the peer: nothing more is sent or staged (the socket may still be
    completing its closing handshake)."""


OPEN = LinkState.OPEN
BACKED_UP = LinkState.BACKED_UP
CLOSED = LinkState.CLOSED


class Link:
    """One connection to a peer that finished the greeting."""

    __slots__ = (
        "holder",
        "max_message_size",
        "outbox",
        "outbox_bytes",
        "outgoing",
        "outgoing_bytes",
        "peer_id",
        "state",
        "wake",
        "writer",
        "ws",
    )

    def __init__(self, ws: SinkConnection, peer_id: int, max_message_size: int) -> None:
        self.ws = ws
        self.peer_id = peer_id
        self.max_message_size = max_message_size  # the other side's inbound limit
        self.state = OPEN
        self.outgoing: list[bytes] = []  # packets put since the last flush
        self.outgoing_bytes = 0
        self.outbox: deque[bytes] = deque()  # messages for the writer
        self.outbox_bytes = 0
        self.wake = asyncio.Event()  # the writer has something to do
        self.writer: asyncio.Task[object] | None = None
        self.holder: asyncio.Task[object] | None = None  # runs while reading is held

    @property
    def reading_held(self) -> bool:
        """Whether reading from the peer is paused (see ``max_queued_packets``)."""
        return self.holder is not None

    def unsent_bytes(self) -> int:
        return self.outgoing_bytes + self.outbox_bytes

    def write(self, messages: list[bytes]) -> None:
        """Send ``messages`` after everything written before them: at once while the
        socket keeps up (the writer task costs two passes of the event loop), else
        through the outbox."""
        state = self.state
        if state is OPEN:
            written = self.ws.write_now(messages)
            if written == WROTE:
                return
            if written == WROTE_BACKED_UP:
                self.state = BACKED_UP
                self.wake.set()  # the writer waits for the drain
                return
        elif state is CLOSED:
            return
        self.outbox.extend(messages)
        self.outbox_bytes += sum(map(len, messages))
        self.state = BACKED_UP
        self.wake.set()

    async def run_writer(self) -> None:
        """The writer task: send the outbox as the socket drains, until the link
        closes (cancelled by the peer; a closed socket ends it too)."""
        ws, outbox = self.ws, self.outbox
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                await ws.wait_drained()
                while outbox:
                    # send() writes a whole message before its first await (which
                    # waits for a drain): a message popped here is never half-sent
                    # nor sent twice.
                    message = outbox.popleft()
                    self.outbox_bytes -= len(message)
                    await ws.send(message)
                if self.state is BACKED_UP:
                    self.state = OPEN
        except ConnectionClosed:
            pass  # the reader reports it

    def take_unsent(self, encode: Callable[[Sequence[bytes], int], list[bytes]]) -> list[bytes]:
        """Every message not yet sent, oldest first, with ``outgoing`` encoded: what
        a graceful close sends before its close frame."""
        if self.state is CLOSED:
            return []
        unsent = list(self.outbox)
        if self.outgoing:
            unsent += encode(self.outgoing, self.max_message_size)
        return unsent

    def end(self) -> None:
        """Forget what waits and stop the writer; the link is CLOSED from now on."""
        self.state = CLOSED
        self.outgoing.clear()
        self.outbox.clear()
        self.outgoing_bytes = self.outbox_bytes = 0
        if self.writer is not None:
            self.writer.cancel()

    async def send_and_close(
        self, messages: list[bytes], code: int, reason: str, timeout: float
    ) -> None:
        """Send ``messages``, then the close frame; cut the connection off if the
        messages cannot be sent within ``timeout`` (a peer that does not read)."""
        ws = self.ws
        try:
            async with asyncio.timeout(timeout):
                for message in messages:
                    await ws.send(message)
        except ConnectionClosed:
            return
        except TimeoutError:
            logger.warning(
                "%s: could not send the last %d messages within handshake_timeout; cut off",
                address_of(ws),
                len(messages),
            )
            ws.cut_off()
            return
        await ws.close(code, reason)

    def log_close(
        self, exc: ConnectionClosed, inbound_buffer_size: int, heartbeat_timeout: float | None
    ) -> None:
        """Say why the connection closed, when the peer did not close it itself."""
        cause, peer_id = close_cause(exc), self.peer_id
        if cause is CloseCause.MESSAGE_TOO_BIG:
            logger.warning(
                "peer %d: sent a message over inbound_buffer_size (%d bytes); closed with 1009",
                peer_id,
                inbound_buffer_size,
            )
        elif cause is CloseCause.KEEPALIVE_TIMEOUT:
            logger.warning(
                "peer %d: no answer to keepalive pings within %s s; connection lost",
                peer_id,
                heartbeat_timeout,
            )
        elif cause is CloseCause.LOST:
            logger.warning("peer %d: connection lost without a close frame", peer_id)
        else:
            close = exc.rcvd or exc.sent
            assert close is not None
            logger.info("peer %d: connection closed (%d %s)", peer_id, close.code, close.reason)
