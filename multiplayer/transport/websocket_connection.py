"""The websockets connection under a link, and every use of websockets internals.

The WebSocket peer owns its hot path: whole binary messages go from the parser
straight to the peer, and flushed messages go straight to the socket, each in the
same pass of the event loop. That takes more than websockets' documented API
(``recv()``, ``send()``), and this module is the one place that does it. Each
method here says which internals it relies on, so that a websockets upgrade that
renames one breaks here, and loudly (attribute access, not ``getattr`` with a
default). They go away when the peer is rebuilt on this package's own WebSocketPeer
links (design review item 6).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Event, State

__all__ = [
    "NOT_WRITTEN",
    "WROTE",
    "WROTE_BACKED_UP",
    "CloseCause",
    "SinkClientConnection",
    "SinkConnection",
    "SinkServerConnection",
    "address_of",
    "close_cause",
]

_OPEN = State.OPEN
_BINARY = Opcode.BINARY
_TEXT = Opcode.TEXT

# What SinkConnection.write_now() did.
NOT_WRITTEN = 0
WROTE = 1
WROTE_BACKED_UP = 2


class SinkConnection(Connection):
    """A websockets connection that hands complete binary messages to ``sink`` as
    they are parsed, inside ``data_received``.

    The plain path queues each message for ``recv()``, whose task then wakes to
    take it: a pass of the event loop and a few dozen lines of Python per message.
    Straight to the sink, a packet is staged in the same pass that read it, which
    is how a round trip stays close to a bare websockets echo.

    Anything else (a text message, a fragmented one, everything before the link
    is up) takes the plain path, and ``queued`` counts those messages until
    :meth:`next_message` has returned them: the sink is used only when none is
    waiting, so messages are staged in the order they came.
    """

    sink: Callable[[bytes], None] | None = None
    after_data: Callable[[], None] | None = None  # called once each read is handled
    queued = 0

    # Reading. Relies on: data_received() feeding process_event() for each event,
    # and recv() reading what process_event() queued (websockets' Assembler).

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        after = self.after_data
        if after is not None:
            after()

    def process_event(self, event: Event) -> None:
        if type(event) is Frame:
            opcode = event.opcode
            if opcode is _BINARY and event.fin and not self.queued:
                sink = self.sink
                if sink is not None:
                    data = event.data
                    sink(data if type(data) is bytes else bytes(data))
                    return
            if opcode is _BINARY or opcode is _TEXT:
                self.queued += 1  # the first frame of a message for recv()
        super().process_event(event)

    async def next_message(self) -> str | bytes:
        """The next message that did not go to the sink: ``recv()``, counted."""
        message = await self.recv()
        self.queued -= 1
        return message

    def hold_reading(self) -> None:
        """Stop reading from the socket: TCP then pushes back on the sender.
        Relies on: ``transport``, the asyncio transport."""
        self.transport.pause_reading()

    def release_reading(self) -> None:
        """Read again, unless websockets' own flow control paused reading (it then
        resumes it itself). Relies on: ``recv_messages.paused``."""
        if not self.recv_messages.paused:
            self.transport.resume_reading()

    # Writing. Relies on: protocol.send_binary() + send_data() being what send()
    # does before its first await; ``paused``, asyncio's flow-control flag (set by
    # pause_writing()); drain(); ``send_in_progress``, set while a fragmented
    # message is being sent (this peer never sends one, but websockets might).

    def write_now(self, messages: Iterable[bytes]) -> int:
        """Write ``messages`` to the socket at once, as ``send()`` does before its
        first ``await``, if that can be done now.

        Returns :data:`WROTE`, or :data:`WROTE_BACKED_UP` if the socket is now over
        its high-water mark (wait for :meth:`wait_drained` before writing more), or
        :data:`NOT_WRITTEN` (false), with nothing written, if the socket was over it
        already or the connection is not open. (One call answers both questions:
        this runs once per link per flush.)
        """
        if self.paused or self.protocol.state is not _OPEN or self.send_in_progress is not None:
            return NOT_WRITTEN
        send_binary = self.protocol.send_binary
        for message in messages:
            send_binary(message)
        self.send_data()
        return WROTE_BACKED_UP if self.paused else WROTE

    @property
    def backed_up(self) -> bool:
        """Whether the socket is over its high-water mark: wait for
        :meth:`wait_drained` before writing more."""
        return self.paused

    async def wait_drained(self) -> None:
        """Return once the socket is below its high-water mark."""
        await self.drain()

    def cut_off(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        self.transport.abort()


class SinkServerConnection(SinkConnection, ServerConnection):
    """What the server's ``serve()`` creates for each connection."""


class SinkClientConnection(SinkConnection, ClientConnection):
    """What a client's ``connect()`` creates."""


def address_of(ws: Connection) -> str:
    """``host:port`` of the other side, for log lines."""
    try:
        host, port = ws.remote_address[:2]
    except (TypeError, ValueError):
        return "an unknown address"
    return f"{host}:{port}"


class CloseCause(enum.Enum):
    """Why a connection closed, as far as the peer's log lines care."""

    MESSAGE_TOO_BIG = "message too big"  # we closed it: over max_size (1009)
    KEEPALIVE_TIMEOUT = "keepalive timeout"  # we failed it: no pong in ping_timeout
    LOST = "lost"  # no close frame either way: the TCP connection died
    CLOSED = "closed"  # a closing handshake, started by either side


def close_cause(exc: ConnectionClosed) -> CloseCause:
    """Read the cause from the close frames websockets recorded. Relies on: the
    reason websockets' ``keepalive()`` gives the close frame it fails the
    connection with."""
    sent, rcvd = exc.sent, exc.rcvd
    if sent is not None and sent.code == CloseCode.MESSAGE_TOO_BIG:
        return CloseCause.MESSAGE_TOO_BIG
    if sent is not None and sent.reason == "keepalive ping timeout":
        return CloseCause.KEEPALIVE_TIMEOUT
    if sent is None and rcvd is None:
        return CloseCause.LOST
    return CloseCause.CLOSED
