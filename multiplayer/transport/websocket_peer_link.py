"""``PeerLink``: the event-loop half of one ``WebSocketPeer``.

It is the user of a :class:`~multiplayer.transport.tcp_server.StreamPeerTCP`: it
feeds the bytes read to websockets' Sans-I/O protocol, writes what the protocol
returns straight to the socket, and stages what happened (packets, ready state,
close code) for ``WebSocketPeer.poll()`` to show. The user-facing half, with
Godot's API, is in :mod:`multiplayer.transport.websocket_peer`.

Like the handshakes, a message sent in fragments is timed: a fragment must follow
the last one within ``handshake_timeout`` seconds, or the connection fails with
1008 and one log line. (The fragments wait in memory meanwhile, and nothing else
but control frames can come from the peer until its message ends: a first frame
without FIN and nothing after it would hold both for as long as pongs answer the
heartbeat.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import importlib.util
import logging
import math
import os
import secrets
from collections import deque
from collections.abc import Callable
from http import HTTPStatus

from websockets.client import ClientProtocol
from websockets.exceptions import PayloadTooBig
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Event, State as ProtocolState
from websockets.server import ServerProtocol

try:  # (websockets' C speedup, as its own frames use)
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover
    from websockets.utils import apply_mask

from .log_budget import LineBudget, log_within
from .tcp_server import StreamPeerTCP

__all__ = [
    "Fragments",
    "Heartbeat",
    "LinkSettings",
    "PeerLink",
    "Received",
    "Router",
    "State",
    "WriteMode",
    "accept_routed",
    "fit_close_reason",
    "is_routable",
    "redirect_routed",
]

logger = logging.getLogger("multiplayer.transport")


class State(enum.IntEnum):
    """A connection's ready state (Godot's ``WebSocketPeer.State``)."""

    STATE_CONNECTING = 0
    STATE_OPEN = 1
    STATE_CLOSING = 2
    STATE_CLOSED = 3


class WriteMode(enum.IntEnum):
    """How ``send()`` sends a message (Godot's ``WebSocketPeer.WriteMode``)."""

    WRITE_MODE_TEXT = 0
    WRITE_MODE_BINARY = 1


# The opcodes, looked up once: an enum member costs a class lookup each time, and
# _frame runs for every frame.
_BINARY, _TEXT, _CONT = Opcode.BINARY, Opcode.TEXT, Opcode.CONT
_PONG, _CLOSE = Opcode.PONG, Opcode.CLOSE
_PROTOCOL_OPEN = ProtocolState.OPEN

CONNECTING = State.STATE_CONNECTING
OPEN = State.STATE_OPEN
CLOSING = State.STATE_CLOSING
CLOSED = State.STATE_CLOSED


@dataclasses.dataclass(frozen=True)
class LinkSettings:
    """A peer's settings, as they were when a connection started (as in Godot,
    changing them affects the next connection)."""

    inbound_buffer_size: int
    max_queued_packets: int
    heartbeat_interval: float
    handshake_timeout: float
    protocols: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    heartbeat_timeout: float | None = None
    """Seconds a ping may wait for its pong (websockets' keepalive; ``math.inf``:
    for ever); None is Godot's rule: until the next ping is due."""
    backend: str = dataclasses.field(default_factory=lambda: default_backend())
    """The WebSocket protocol implementation: ``"websockets"`` (Sans-I/O) or
    ``"picows"`` (see :mod:`.websocket_picows`)."""


BACKENDS = ("websockets", "picows")


def default_backend() -> str:
    """The backend of peers that do not choose one: ``MULTIPLAYER_WS_BACKEND``, or
    ``"websockets"``."""
    name = os.environ.get("MULTIPLAYER_WS_BACKEND", "websockets")
    return check_backend(name)


def check_backend(name: str) -> str:
    """``name``, if it is a backend that can be used here.

    Raises:
        ValueError: No backend has that name.
        ImportError: It is ``"picows"``, which is not installed (the ``fast`` extra).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown WebSocket backend {name!r}; expected one of {BACKENDS}")
    if name == "picows" and importlib.util.find_spec("picows") is None:
        raise ImportError(
            "the picows backend needs picows: pip install 'pygodot-multiplayer[fast]'"
        )
    return name


class Received:
    """Packets read and not yet taken, and their bytes: what flow control counts
    (``max_queued_packets`` packets, ``inbound_buffer_size`` bytes)."""

    __slots__ = ("_max_bytes", "_max_packets", "_packets", "size")

    def __init__(self, settings: LinkSettings) -> None:
        self._packets: deque[tuple[bytes, bool]] = deque()  # (payload, is text)
        self._max_packets = settings.max_queued_packets
        self._max_bytes = settings.inbound_buffer_size
        self.size = 0  # bytes

    def __len__(self) -> int:
        return len(self._packets)

    def append(self, data: bytes, text: bool) -> None:
        self._packets.append((data, text))
        self.size += len(data)

    def popleft(self) -> tuple[bytes, bool]:
        data, text = self._packets.popleft()
        self.size -= len(data)
        return data, text

    def room(self) -> int:
        """How many more packets may come before reading pauses (0 when the bytes
        are over their limit)."""
        return 0 if self.size >= self._max_bytes else self._max_packets - len(self._packets)

    def half_free(self) -> bool:
        """Whether reading may resume: half the room is free again, both ways."""
        return len(self._packets) <= self._max_packets // 2 and self.size <= self._max_bytes // 2


class Heartbeat:
    """The pings of one connection: Godot's heartbeat (a ping every interval; no
    pong by the next one cuts the connection), or, with ``heartbeat_timeout``, a
    multiplayer peer's keepalive (no pong within the timeout cuts it). While
    reading is paused the pong may wait unread: then nothing is cut."""

    __slots__ = ("awaiting_pong", "link", "next_beat", "pong_timer")

    def __init__(self, link: PeerLink) -> None:
        self.link = link
        self.awaiting_pong = False
        self.next_beat: asyncio.TimerHandle | None = None
        self.pong_timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        interval = self.link.settings.heartbeat_interval
        if interval > 0:
            self.next_beat = self.link.loop.call_later(interval, self._beat)

    def pong(self) -> None:
        self.awaiting_pong = False
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None

    def stop(self) -> None:
        for timer in (self.next_beat, self.pong_timer):
            if timer is not None:
                timer.cancel()
        self.next_beat = self.pong_timer = None

    def _beat(self) -> None:
        self.next_beat = None
        link = self.link
        if link.state is not OPEN or link.protocol.state is not ProtocolState.OPEN:
            return
        interval = link.settings.heartbeat_interval
        timeout = link.settings.heartbeat_timeout
        if self.awaiting_pong and not link.paused and timeout is None:
            self._dead("heartbeat_interval", interval)
            return
        if not self.awaiting_pong:
            self.awaiting_pong = True
            link.protocol.send_ping(b"")
            link._write_pending()
            if timeout is not None and math.isfinite(timeout):
                self.pong_timer = link.loop.call_later(timeout, self._pong_late)
        self.next_beat = link.loop.call_later(interval, self._beat)

    def _pong_late(self) -> None:
        self.pong_timer = None
        link = self.link
        timeout = link.settings.heartbeat_timeout
        if link.state is not OPEN or not self.awaiting_pong or timeout is None:
            return
        if link.paused:  # look again later
            self.pong_timer = link.loop.call_later(timeout, self._pong_late)
            return
        self._dead("heartbeat_timeout", timeout)

    def _dead(self, setting: str, seconds: float) -> None:
        link = self.link
        link.error = TimeoutError(f"no pong within {setting} ({seconds} s)")
        link._report(logging.WARNING, "no pong within %s (%s s); cut", setting, seconds)
        link.abort()


class Fragments:
    """A message arriving in fragments: its parts so far, and the timer that waits for
    the next (within ``handshake_timeout``, or the link fails with 1008)."""

    __slots__ = ("link", "parts", "text", "timer")

    def __init__(self, link: PeerLink) -> None:
        self.link = link
        self.parts: list[bytes] = []
        self.text = False
        self.timer: asyncio.TimerHandle | None = None

    def start(self, data: bytes, text: bool) -> None:
        """The first fragment of a message."""
        self.parts, self.text = [data], text
        self._wait()

    def add(self, data: bytes, fin: bool) -> tuple[bytes, bool] | None:
        """A continuation; with the last, the whole message and whether it is text."""
        self.parts.append(data)
        if not fin:
            self._wait()
            return None
        self.stop()
        data, self.parts = b"".join(self.parts), []
        return data, self.text

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _wait(self) -> None:
        self.stop()
        link = self.link
        self.timer = link.loop.call_later(link.settings.handshake_timeout, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        link = self.link
        if link.state is OPEN and link.failure is None:
            timeout = link.settings.handshake_timeout
            reason = f"no fragment of its unfinished message within handshake_timeout ({timeout} s)"
            link._fail(CloseCode.POLICY_VIOLATION, reason)


Router = Callable[["PeerLink", str, dict[str, str]], None]
"""What a server's router is given: the connection, its request path (with the
query string) and its request headers (names in lower case); it answers later
with :func:`accept_routed`, or closes the connection."""


def write_out(transport: asyncio.Transport, pending: list[bytes]) -> None:
    """Write what websockets' protocol has to send; an empty item ends the stream."""
    for data in pending:
        if data:
            transport.write(data)
        elif transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()  # TLS cannot half-close


def frames_of(messages: list[bytes], masked: bool) -> bytes:
    """``messages`` as binary frames with no extension, masked for a client: what
    websockets' ``send_binary`` writes, for a fraction of its cost. (Control frames it
    queues meanwhile may go before or after them: RFC 6455 5.4 allows it.)"""
    if masked:
        return b"".join([masked_frame(message) for message in messages])
    return b"".join([binary_frame(message) for message in messages])


def binary_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked binary frame, final, with no extension (a
    server's: RFC 6455 5.2)."""
    size = len(payload)
    if size < 126:
        return _SHORT_HEADERS[size] + payload
    if size < 65536:
        return b"\x82\x7e" + size.to_bytes(2, "big") + payload
    return b"\x82\x7f" + size.to_bytes(8, "big") + payload


_SHORT_HEADERS = [bytes([0x82, size]) for size in range(126)]


def masked_frame(payload: bytes) -> bytes:
    """``payload`` as one binary frame, final, with no extension, masked with a
    fresh key from a strong source (a client's: RFC 6455 5.3)."""
    size = len(payload)
    mask = secrets.token_bytes(4)
    if size < 126:
        header = _SHORT_MASKED_HEADERS[size]
    elif size < 65536:
        header = b"\x82\xfe" + size.to_bytes(2, "big")
    else:
        header = b"\x82\xff" + size.to_bytes(8, "big")
    return header + mask + apply_mask(payload, mask)


_SHORT_MASKED_HEADERS = [bytes([0x82, 0x80 | size]) for size in range(126)]


class PeerLink:
    """The event-loop side of one connection.

    It is the user of a :class:`StreamPeerTCP`: it feeds the bytes read to the
    Sans-I/O protocol, writes the protocol's output, and stages what happened
    (packets, state, close code) for ``WebSocketPeer.poll()`` to show.
    """

    def __init__(
        self,
        protocol: ClientProtocol | ServerProtocol,
        stream: StreamPeerTCP,
        settings: LinkSettings,
        name: str,
        *,
        secure: bool = False,
    ) -> None:
        self.protocol = protocol
        self.stream = stream
        self.settings = settings
        self.name = name  # for log lines: the URL, or the client's address
        self.secure = secure
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.state = CONNECTING
        self.opened = False
        self.received = Received(settings)
        self.fragments = Fragments(self)
        self.discarding = False  # close() was called: later messages are not queued
        self.paused = False  # reading paused: too many packets not taken
        self.resuming = False
        self.held: list[bytes] = []  # read but not fed, while paused
        self.reported = False  # the one log line about a failure is out
        self.failure: Close | None = None  # the close sent for the peer's protocol error
        self.error: BaseException | None = None
        self.close_code = -1
        self.close_reason = ""
        self.selected_protocol = ""
        self.requested_url = ""
        self.response_headers: tuple[tuple[str, str], ...] = ()  # a client's, from the 101
        # A server's router gets the valid request, and answers with accept_routed.
        self.router: Router | None = None
        self.routed: tuple[Request, Response] | None = None  # a 101 the router holds
        self.on_arrival: Callable[[], None] | None = None
        # A multiplayer peer's link: each whole message goes to ``sink`` (payload,
        # is text) as it is parsed, not to ``received``; ``on_arrival`` runs after
        # every read; flow control is the sink's (hold_reading / release_reading).
        self.sink: Callable[[bytes, bool], None] | None = None
        self.quiet = False  # its owner logs what happens to it (see _report)
        self.budget: LineBudget | None = None  # caps its lines (see .log_budget)
        self.backed_up = False  # the socket's buffer is over its high-water mark
        self.high_water = 0
        self.handshake_timer: asyncio.TimerHandle | None = self.loop.call_later(
            settings.handshake_timeout, self._handshake_timed_out
        )
        self.close_timer: asyncio.TimerHandle | None = None
        self.heartbeat = Heartbeat(self)
        self.own_frames = False  # (see _open)
        self.masked = isinstance(protocol, ClientProtocol)  # (RFC 6455 5.1)

    # StreamUser callbacks, from the event loop.

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.high_water = transport.get_write_buffer_limits()[1]
        protocol = self.protocol
        if isinstance(protocol, ClientProtocol):
            request = protocol.connect()
            for name, value in self.settings.headers:
                request.headers[name] = value
            protocol.send_request(request)
            self._write_pending()

    def data_received(self, data: bytes) -> None:
        if self.paused:
            self.held.append(data)  # (a TLS layer may still hand over what it decrypted)
            return
        if self.sink is not None:
            # The hot path of a multiplayer peer: whole reads through the parser,
            # each message to the sink, then one arrival call for the read.
            protocol = self.protocol
            protocol.receive_data(data)
            self._handle(protocol.events_received())
            self._arrived()
            return
        queued, state = len(self.received), self.state
        self._feed(data)
        if len(self.received) != queued or self.state is not state:
            self._arrived()

    def pause_writing(self) -> None:
        self.backed_up = True

    def resume_writing(self) -> None:
        self.backed_up = False

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._handle(self.protocol.events_received())
        return None  # close the transport: WebSocket never writes after the peer's EOF

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state is CLOSED:
            return
        if self.held:  # the peer left while reading was paused: queue what it sent
            held, self.held, self.paused = self.held, [], False
            for data in held:
                self.protocol.receive_data(data)
                self._handle(self.protocol.events_received())
        self.protocol.receive_eof()  # idempotent; makes the protocol CLOSED
        self._cancel_timers()
        _report_end(self, exc)
        self.state = CLOSED
        self._arrived()

    # Receiving.

    def _feed(self, data: bytes) -> None:
        """Run ``data`` through the protocol; when the queue is full, hold the rest
        and pause reading (TCP then slows the sender down).

        A frame takes at least 2 bytes, so ``2 * room`` bytes cannot queue more
        than ``room`` packets: the queue stays within its limit exactly. While no
        packet completes (inside a long message) the slices double, so that a
        long message is not fed in tiny pieces; then only what one read from the
        socket carried can go past the limit.
        """
        protocol = self.protocol
        step = 0
        while data:
            room = self.received.room()
            if self.discarding:  # (after close(), nothing more is queued)
                step = len(data)
            elif room <= 0:
                self._pause(data)
                return
            else:
                step = max(2 * room, 2 * step)
            chunk, data = (data, b"") if len(data) <= step else (data[:step], data[step:])
            queued = len(self.received)
            protocol.receive_data(chunk)
            self._handle(protocol.events_received())
            if len(self.received) != queued:
                step = 0

    def _handle(self, events: list[Event]) -> None:
        self._write_pending()
        for event in events:
            if self.failure is not None:
                break  # the rest came after the error
            if type(event) is Frame:
                self._frame(event)
            elif isinstance(event, Request):
                self._request(event)
            elif isinstance(event, Response):
                self._response(event)
        _check_parser(self)
        if self.state is CONNECTING and self.protocol.handshake_exc is not None:
            self._refused(self.protocol.handshake_exc, "invalid handshake")  # (once)
        if self.protocol.close_expected():
            self._expect_close()

    def _frame(self, frame: Frame) -> None:
        if self.state is CONNECTING:  # (only while a router holds the 101)
            return _early_frame(self)
        opcode = frame.opcode
        data = frame.data if type(frame.data) is bytes else bytes(frame.data)
        if opcode is _BINARY or opcode is _TEXT:
            if frame.fin:
                self._message(data, opcode is _TEXT)
            else:
                self.fragments.start(data, opcode is _TEXT)
        elif opcode is _CONT:
            whole = self.fragments.add(data, frame.fin)
            if whole is not None:
                self._message(*whole)
        elif opcode is _PONG:
            self.heartbeat.pong()
        elif opcode is _CLOSE and self.state is OPEN:
            self.state = CLOSING

    def _message(self, data: bytes, text: bool) -> None:
        if text:
            try:
                data.decode()  # RFC 6455 8.1: a text message is UTF-8
            except UnicodeDecodeError as exc:
                reason = f"invalid UTF-8 in a text message ({exc.reason} at byte {exc.start})"
                self._fail(CloseCode.INVALID_DATA, reason)
                return
        if self.discarding:
            return  # close() was called: Godot drops what comes after it
        sink = self.sink
        if sink is not None:
            sink(data, text)
            return
        self.received.append(data, text)

    def _fail(self, code: int, reason: str) -> None:
        """Close the connection because the peer broke the protocol."""
        self._report(logging.WARNING, "%s; closing with %d", reason, code)
        self.failure = Close(code, reason)
        self.protocol.fail(code, reason)
        self._write_pending()
        self._expect_close()

    # The opening handshake.

    def _request(self, request: Request) -> None:
        protocol = self.protocol
        assert isinstance(protocol, ServerProtocol)
        response = protocol.accept(request)
        if response.status_code == 101:
            for name, value in self.settings.headers:
                response.headers[name] = value
            if self.router is not None:  # (it answers with accept_routed)
                self.routed = (request, response)
                headers = {name.lower(): value for name, value in request.headers.raw_items()}
                self.router(self, request.path, headers)
                return
        self._respond(request, response)

    def _respond(self, request: Request, response: Response) -> None:
        protocol = self.protocol
        assert isinstance(protocol, ServerProtocol)
        protocol.send_response(response)
        self._write_pending()
        if response.status_code != 101:
            self._refused(protocol.handshake_exc, f"refused the handshake ({response.status_code})")
            return
        host = ",".join(request.headers.get_all("Host"))
        self.requested_url = ("wss://" if self.secure else "ws://") + host + request.path
        self._open()

    def _response(self, response: Response) -> None:
        protocol = self.protocol
        self.response_headers = tuple(response.headers.raw_items())
        if protocol.handshake_exc is not None:
            self._refused(protocol.handshake_exc, "the server refused the handshake")
        elif self.settings.protocols and protocol.subprotocol is None:
            # Godot: a client that asked for sub-protocols requires one of them.
            self._refused(None, "the server selected none of supported_protocols")
            self.abort()
        else:
            self._open()

    def _refused(self, exc: BaseException | None, what: str) -> None:
        detail = f": {exc}" if exc is not None else ""
        self.error = exc or ConnectionRefusedError(what)
        self._report(logging.WARNING, "%s%s", what, detail)

    def _open(self) -> None:
        self.state = OPEN
        self.opened = True
        self.selected_protocol = self.protocol.subprotocol or ""
        # With no extension (none is offered) write_binary frames binary messages.
        self.own_frames = not self.protocol.extensions
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
            self.handshake_timer = None
        self.heartbeat.start()

    def _handshake_timed_out(self) -> None:
        self.handshake_timer = None
        if self.state is CONNECTING:
            timeout = self.settings.handshake_timeout
            self.error = TimeoutError(f"no WebSocket handshake within {timeout} s")
            self._report(logging.WARNING, "opening handshake not done within %s s", timeout)
            self.abort()

    # Sending.

    def write_binary(self, messages: list[bytes], text: bool = False) -> bool:
        """Send ``messages`` as binary messages (text ones if ``text``: UTF-8), in one
        write to the socket; False (nothing sent) if the connection is no longer
        open. No limit is checked here: the caller watches :meth:`buffered`."""
        transport = self.transport
        protocol = self.protocol
        if protocol.state is not _PROTOCOL_OPEN or transport is None or transport.is_closing():
            return False
        if self.own_frames and not text:  # (see _open)
            transport.write(frames_of(messages, self.masked))
            return True
        send = protocol.send_text if text else protocol.send_binary
        for message in messages:
            send(message)
        transport.writelines(protocol.data_to_send())
        return True

    def backlog(self) -> int:
        """Bytes written and not taken by the socket, over its high-water mark:
        what a peer that keeps up never leaves (0 unless :attr:`backed_up`)."""
        transport = self.transport
        if not self.backed_up or transport is None:
            return 0
        return max(0, transport.get_write_buffer_size() - self.high_water)

    def _write_pending(self) -> None:
        pending = self.protocol.data_to_send()  # (taken even with nowhere to go)
        if self.transport is not None:
            write_out(self.transport, pending)

    # Closing.

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake (the state shows CLOSING at once)."""
        self.discarding = True
        if self.protocol.state is ProtocolState.OPEN and self.transport is not None:
            self.protocol.send_close(code, fit_close_reason(reason))
            self._write_pending()
            self._expect_close()
        if self.state is OPEN:
            self.state = CLOSING
        if self.paused:
            self._resume()  # read on: the peer's close frame must be read

    def cut(self) -> None:
        """Cut the connection at the user's request (``close()`` with a negative
        code, or while connecting): no close frame, no log line."""
        self.reported = self.discarding = True
        self.abort()

    def abort(self) -> None:
        """Cut the connection, without a close frame."""
        if self.transport is not None:
            self.transport.abort()
        else:
            self.stream.disconnect_from_host()

    def _expect_close(self) -> None:
        if self.close_timer is None and self.state is not CLOSED:
            timeout = self.settings.handshake_timeout
            self.close_timer = self.loop.call_later(timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        self.close_timer = None
        if self.state is not CLOSED:
            timeout = self.settings.handshake_timeout
            # (Logged even for a quiet link: what was still unsent is lost.)
            self._report(
                logging.INFO, "closing handshake not done within %s s; cut", timeout, always=True
            )
            self.abort()

    def _report(self, level: int, message: str, *args: object, always: bool = False) -> None:
        if self.quiet and not always:
            return  # its owner logs it, in its own words
        if not self.reported:
            self.reported = True
            log_within(self.budget, logger, level, "WebSocket %s: " + message, self.name, *args)

    def _cancel_timers(self) -> None:
        for timer in (self.handshake_timer, self.close_timer):
            if timer is not None:
                timer.cancel()
        self.handshake_timer = self.close_timer = None
        self.heartbeat.stop()
        self.fragments.stop()

    # Flow control: max_queued_packets and inbound_buffer_size.

    def take(self) -> tuple[bytes, bool]:
        """The oldest packet; reading resumes once half the queue is free."""
        data, text = self.received.popleft()
        if self.paused and not self.resuming and self.received.half_free():
            self.resuming = True
            self.loop.call_soon(self._resume)
        return data, text

    def hold_reading(self) -> None:
        """Stop reading (the sink's flow control): TCP then slows the sender down."""
        if not self.paused:
            self.paused = True
            if self.transport is not None:
                self.transport.pause_reading()

    def release_reading(self) -> None:
        """Read again, what was held first."""
        if self.paused and not self.resuming:
            self.resuming = True
            self.loop.call_soon(self._resume)

    def _pause(self, data: bytes) -> None:
        self.held.append(data)
        self.hold_reading()

    def _resume(self) -> None:
        self.resuming = False
        if not self.paused or self.state is CLOSED:
            return
        held, self.held, self.paused = self.held, [], False
        for data in held:  # either may pause (and hold the rest) again
            self.data_received(data) if self.sink is not None else self._feed(data)
        if not self.paused and self.transport is not None:
            self.transport.resume_reading()
        self._arrived()

    def _arrived(self) -> None:
        hook = self.on_arrival
        if hook is not None:
            hook()


MAX_CLOSE_REASON = 123
"""Bytes of a close frame's reason: RFC 6455 §5.5, a control frame's 125 less the code."""


def fit_close_reason(reason: str) -> str:
    """``reason``, cut to fit a close frame (at a character boundary)."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON:
        return reason
    return encoded[:MAX_CLOSE_REASON].decode(errors="ignore")


def is_routable(link: PeerLink) -> bool:
    """Whether the 101 that ``link``'s router holds can still be sent: the client is
    still there and sent nothing wrong meanwhile."""
    transport = link.transport
    return (
        link.routed is not None
        and link.state is CONNECTING
        and link.failure is None
        and transport is not None
        and not transport.is_closing()
    )


def accept_routed(link: PeerLink, headers: tuple[tuple[str, str], ...] = ()) -> bool:
    """Send the 101 that ``link``'s router held, with ``headers`` added, and open;
    False if the connection ended meanwhile (its handshake timed out, say)."""
    routed = link.routed
    if routed is None or not is_routable(link):
        return False
    link.routed = None
    request, response = routed
    for name, value in headers:
        response.headers[name] = value
    link._respond(request, response)
    link._arrived()
    return link.state is OPEN


def redirect_routed(
    link: PeerLink, location: str, headers: tuple[tuple[str, str], ...] = ()
) -> bool:
    """Answer the request that ``link``'s router holds with a redirect to
    ``location`` (307: the same request, there; RFC 9110 15.4.8), with ``headers``,
    instead of its 101; False if the connection ended meanwhile. Only a client
    that follows redirects may get one (:mod:`.redirects`)."""
    routed, protocol = link.routed, link.protocol
    if routed is None or not is_routable(link):
        return False
    link.routed = None
    link.quiet = True  # (a redirect is no failure: no line)
    if not isinstance(protocol, ServerProtocol):  # (a PicowsLink: it writes its own,
        link.redirect(location, headers)  # type: ignore[attr-defined]  # picows is optional)
        return True
    response = protocol.reject(HTTPStatus.TEMPORARY_REDIRECT, f"Go to {location}\n")
    response.headers["Location"] = location
    for name, value in headers:
        response.headers[name] = value
    link._respond(routed[0], response)
    link._arrived()
    return True


def hand_off_routed(link: PeerLink) -> tuple[Request, asyncio.Transport, bytes] | None:
    """Give up ``link``, whose 101 its router holds, to take its connection elsewhere
    (a proxy): the request, the transport, and what the client sent after the
    request; None if the connection ended meanwhile. The link is CLOSED from now
    on, and quiet: its transport is the caller's (``set_protocol``)."""
    routed, transport = link.routed, link.transport
    if routed is None or transport is None or not is_routable(link):
        return None
    link.routed = None
    link._cancel_timers()
    link.reported = link.discarding = True
    link.state = CLOSED
    link.transport = None
    after = bytes(link.protocol.reader.buffer)  # (a client sends nothing before its 101)
    link._arrived()
    return routed[0], transport, after


def _check_parser(link: PeerLink) -> None:
    """Log the protocol errors that websockets found, once."""
    exc = link.protocol.parser_exc
    if exc is None or link.reported or isinstance(exc, EOFError):
        return  # (EOFError: the connection dropped; connection_lost reports it)
    sent = link.protocol.close_sent
    code = sent.code if sent is not None else CloseCode.PROTOCOL_ERROR
    if isinstance(exc, PayloadTooBig):
        limit = link.settings.inbound_buffer_size
        reason = f"sent a message over inbound_buffer_size ({limit} bytes)"
    else:
        reason = f"protocol error: {exc}"
    link.failure = sent or Close(code, reason)
    link._report(logging.WARNING, "%s; closing with %d", reason, code)
    if link.routed is not None:  # (before its 101: nothing to close, cut it)
        link.routed = None
        link.abort()


def _early_frame(link: PeerLink) -> None:
    """A frame before the 101 (that a router held): RFC 6455 §4.1, a client sends
    none before it; the connection is cut."""
    link.routed = None
    link._refused(None, "sent a frame before the handshake's response")
    link.abort()


def _report_end(link: PeerLink, exc: Exception | None) -> None:
    """Set the close code and reason (Godot's rules), with a log line unless a
    failure was reported already."""
    rcvd = link.protocol.close_rcvd
    if rcvd is not None:
        link.close_code, link.close_reason = int(rcvd.code), rcvd.reason
        reason = f" {link.close_reason}" if link.close_reason else ""
        link._report(logging.INFO, "closed (%d%s)", link.close_code, reason)
    elif link.failure is not None:  # Godot reports the code it sent for the error
        link.close_code, link.close_reason = int(link.failure.code), link.failure.reason
    elif not link.opened:
        link.error = (
            link.error
            or exc
            or link.protocol.handshake_exc
            or ConnectionResetError("closed during the handshake")
        )
        if link.stream._socket.tls_failed:
            return  # logged by the TLS layer, rate-limited (tls.handshake_failures)
        level = logging.WARNING if isinstance(link.protocol, ClientProtocol) else logging.INFO
        link._report(level, "connection failed: %s", _describe(link.error))
    else:
        link.error = link.error or exc
        link._report(logging.INFO, "connection lost without a close frame (close code -1)")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
