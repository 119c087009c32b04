"""``WebSocketMultiplayerPeer``: the transport over WebSocket, on asyncio.

This is the only module that touches sockets. Each connection has a reader (the
websockets handler coroutine, or the client task) and a writer task. Readers stage
what arrives in an :class:`~multiplayer.inbox.Inbox`; ``poll()``, which is plain
synchronous code, moves it into the packet queue and fires the signals, so user code
runs at poll time, as in Godot.

``put_packet`` never blocks: packets put for one peer in one pass of the event loop
are coalesced into one WebSocket message (see :mod:`multiplayer.wire`) and handed to
that peer's writer as soon as the loop is free.

Limits, each enforced with one log line naming the peer (never a silent drop):

* ``inbound_buffer_size``: a longer message closes the connection with 1009;
* ``outbound_buffer_size``: a peer whose unsent bytes pass it is not reading; it is
  disconnected with 1008 and the other peers keep receiving;
* ``max_queued_packets``: past this many untaken packets from one peer, reading from
  it pauses until ``get_packet()`` catches up (TCP pushes back on the sender); a peer
  still over it after ``FLOOD_GRACE`` seconds is disconnected with 1008;
* ``handshake_timeout``: a connection that has not finished the handshake (WebSocket
  upgrade, then the HELLO exchange) in time is dropped;
* ``heartbeat_interval``/``heartbeat_timeout``: a link whose pings go unanswered is
  reported disconnected, even if the socket died without a close frame.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import ssl
import urllib.parse
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Event, State
from websockets.typing import Subprotocol

from ..exceptions import InvalidState, PacketTooLarge, PeerNotFound, ProtocolError
from .framing.native import PACKET_OVERHEAD, Hello, encode_packets, parse_message
from .inbox import Packet, QueuedPeer
from .peer import TARGET_PEER_SERVER, ConnectionStatus, TransferMode, as_packet

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_NORMAL",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
    "WebSocketMultiplayerPeer",
]

logger = logging.getLogger("multiplayer.websocket")

# Close codes (RFC 6455 §7.4.1 and the IANA registry), as used by this peer.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013

DEFAULT_INBOUND_BUFFER_SIZE = 1 << 20
DEFAULT_OUTBOUND_BUFFER_SIZE = 4 << 20
DEFAULT_MAX_QUEUED_PACKETS = 4096
MIN_MESSAGE_SIZE = 64
FLOOD_GRACE = 5.0  # seconds a peer may stay over max_queued_packets


class _Abandoned(Exception):
    """A connection attempt that close() made moot."""


class _Connection(Connection):
    """A websockets connection that hands complete binary messages to ``sink`` as
    they are parsed, inside ``data_received``.

    The plain path queues each message for ``recv()``, whose task then wakes to
    take it: a pass of the event loop and a few dozen lines of Python per message.
    Straight to the sink, a packet is staged in the same pass that read it, which
    is how a round trip stays close to a bare websockets echo.

    Anything else (a text message, a fragmented one, everything before the link
    is up) takes the plain path, and ``queued`` counts those messages until
    ``recv()`` has returned them: the sink is used only when none is waiting, so
    messages are staged in the order they came.
    """

    sink: Callable[[bytes], None] | None = None
    after_data: Callable[[], None] | None = None  # called once each read is handled
    queued = 0

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        after = self.after_data
        if after is not None:
            after()

    def process_event(self, event: Event) -> None:
        if type(event) is Frame:
            opcode = event.opcode
            if opcode is Opcode.BINARY and event.fin and not self.queued:
                sink = self.sink
                if sink is not None:
                    data = event.data
                    sink(data if type(data) is bytes else bytes(data))
                    return
            if opcode is Opcode.BINARY or opcode is Opcode.TEXT:
                self.queued += 1  # the first frame of a message for recv()
        super().process_event(event)


class _ServerConnection(_Connection, ServerConnection):
    pass


class _ClientConnection(_Connection, ClientConnection):
    pass


async def _recv(ws: Connection) -> str | bytes:
    """The next message queued for ``recv()`` (see :class:`_Connection`)."""
    message = await ws.recv()
    if isinstance(ws, _Connection):
        ws.queued -= 1
    return message


class _Link:
    """One open connection to a peer that finished the handshake."""

    __slots__ = (
        "active",
        "blocked",
        "draining",
        "held",
        "max_message_size",
        "outbox",
        "outbox_bytes",
        "outgoing",
        "outgoing_bytes",
        "peer_id",
        "wake",
        "writer",
        "ws",
    )

    def __init__(self, ws: Connection, peer_id: int, max_message_size: int) -> None:
        self.ws = ws
        self.peer_id = peer_id
        self.max_message_size = max_message_size
        self.active = True
        self.outgoing: list[bytes] = []  # packets put since the last flush
        self.outgoing_bytes = 0
        self.outbox: deque[bytes] = deque()  # messages for the writer
        self.outbox_bytes = 0
        self.wake = asyncio.Event()  # the writer has messages
        self.blocked = False  # the writer waits for the socket to drain
        self.draining = False  # a direct write left the socket over its limit
        self.held = False  # reading is paused: too many packets not taken
        self.writer: asyncio.Task[object] | None = None

    def unsent_bytes(self) -> int:
        return self.outgoing_bytes + self.outbox_bytes


class WebSocketMultiplayerPeer(QueuedPeer):
    """A multiplayer peer over WebSocket: a server (id 1) or a client (id 2 and up).

    Create one, adjust the settings, then ``await create_server(port)`` or
    ``await create_client(url)``, and call ``poll()`` every frame.

    Attributes:
        supported_protocols: WebSocket sub-protocols. When set on either side, both
            sides must share one or the handshake fails (Godot's rule).
        handshake_headers: Extra HTTP headers sent in the handshake (the request on a
            client, the response on a server).
    """

    def __init__(self) -> None:
        super().__init__()
        self.supported_protocols: list[str] = []
        self.handshake_headers: dict[str, str] = {}
        self._handshake_timeout = 3.0
        self._inbound_buffer_size = DEFAULT_INBOUND_BUFFER_SIZE
        self._outbound_buffer_size = DEFAULT_OUTBOUND_BUFFER_SIZE
        self._max_queued_packets = DEFAULT_MAX_QUEUED_PACKETS
        self._heartbeat_interval: float | None = 20.0
        self._heartbeat_timeout: float | None = 20.0
        self._links: dict[int, _Link] = {}
        self._server: Server | None = None
        self._next_id = 2
        self._tasks: set[asyncio.Task[object]] = set()
        self._attempt: object | None = None  # the create_client call in progress
        self._flush_pending: list[_Link] = []
        self._flush_deferred = 0  # > 0: a frame is running and flushes when it ends
        self._waiters: list[tuple[asyncio.Future[bool], float]] = []  # and their deadlines
        self._timer: asyncio.TimerHandle | None = None  # fires at the earliest deadline
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._arrival: Callable[[], bool] | None = None  # see _on_arrival
        self._connection_error: BaseException | None = None

    # Settings (Godot's names and meanings; see the module docstring).

    @property
    def handshake_timeout(self) -> float:
        """Seconds a new connection has to finish the handshake (default 3.0).

        It also bounds the closing handshake: a peer that does not answer a close
        frame in that time is cut off, so a dead link is reported within
        ``heartbeat_interval + heartbeat_timeout + handshake_timeout``.
        """
        return self._handshake_timeout

    @handshake_timeout.setter
    def handshake_timeout(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"handshake_timeout must be positive, not {seconds}")
        self._handshake_timeout = float(seconds)

    @property
    def inbound_buffer_size(self) -> int:
        """The largest message accepted, in bytes (default 1 MiB; Godot's is 64 KiB)."""
        return self._inbound_buffer_size

    @inbound_buffer_size.setter
    def inbound_buffer_size(self, size: int) -> None:
        self._check_settable("inbound_buffer_size")
        self._inbound_buffer_size = _positive("inbound_buffer_size", size, minimum=MIN_MESSAGE_SIZE)

    @property
    def outbound_buffer_size(self) -> int:
        """Unsent bytes allowed per peer before it is dropped as not reading (4 MiB)."""
        return self._outbound_buffer_size

    @outbound_buffer_size.setter
    def outbound_buffer_size(self, size: int) -> None:
        self._outbound_buffer_size = _positive("outbound_buffer_size", size, minimum=64)

    @property
    def max_queued_packets(self) -> int:
        """Untaken packets per peer before reading from it pauses (default 4096)."""
        return self._max_queued_packets

    @max_queued_packets.setter
    def max_queued_packets(self, count: int) -> None:
        self._max_queued_packets = _positive("max_queued_packets", count, minimum=1)

    @property
    def heartbeat_interval(self) -> float | None:
        """Seconds between keepalive pings (default 20; None turns them off)."""
        return self._heartbeat_interval

    @heartbeat_interval.setter
    def heartbeat_interval(self, seconds: float | None) -> None:
        self._check_settable("heartbeat_interval")
        self._heartbeat_interval = _optional_seconds("heartbeat_interval", seconds)

    @property
    def heartbeat_timeout(self) -> float | None:
        """Seconds to wait for a pong before the link counts as dead (default 20)."""
        return self._heartbeat_timeout

    @heartbeat_timeout.setter
    def heartbeat_timeout(self, seconds: float | None) -> None:
        self._check_settable("heartbeat_timeout")
        self._heartbeat_timeout = _optional_seconds("heartbeat_timeout", seconds)

    @property
    def connection_error(self) -> BaseException | None:
        """Why the last ``create_client`` failed, if it did (kept until the next one)."""
        return self._connection_error

    def _check_settable(self, name: str) -> None:
        if self._status is not ConnectionStatus.DISCONNECTED:
            raise InvalidState(f"{name} must be set before create_server or create_client")

    # Starting.

    async def create_server(
        self, port: int, bind_address: str = "*", tls: ssl.SSLContext | None = None
    ) -> None:
        """Listen on ``port`` (0 picks a free one: see ``get_local_port()``).

        The peer becomes CONNECTED with id 1 at once. ``bind_address="*"`` listens on
        every interface. ``tls`` makes it a ``wss://`` server.

        Raises:
            InvalidState: The peer is already in use.
            OSError: The address cannot be bound (for example, the port is in use).
        """
        self._check_unused()
        headers = dict(self.handshake_headers)

        def add_headers(_: ServerConnection, __: Request, response: Response) -> None:
            for name, value in headers.items():
                response.headers[name] = value

        if bind_address == "*":
            where: dict[str, Any] = {"sock": _bind_every_interface(port)}
        else:
            where = {"host": bind_address, "port": port}
        self._server = await serve(
            self._serve_connection,
            **where,
            create_connection=_ServerConnection,
            ssl=tls,
            subprotocols=[Subprotocol(p) for p in self.supported_protocols] or None,
            process_response=add_headers if headers else None,
            compression=None,
            open_timeout=self._handshake_timeout,
            close_timeout=self._handshake_timeout,
            ping_interval=self._heartbeat_interval,
            ping_timeout=self._heartbeat_timeout,
            max_size=self._inbound_buffer_size,
        )
        self._status = ConnectionStatus.CONNECTED
        self._unique_id = TARGET_PEER_SERVER
        self._next_id = 2

    async def create_client(self, url: str, tls: ssl.SSLContext | None = None) -> None:
        """Start connecting to a ``ws://`` or ``wss://`` URL; returns at once.

        The peer is CONNECTING until the server has assigned its id; a ``poll()`` then
        makes it CONNECTED and emits ``peer_connected(1)``. If the connection fails, or
        takes longer than ``handshake_timeout``, a ``poll()`` finds it DISCONNECTED and
        ``connection_error`` says why. ``tls`` overrides the default ``wss://`` context
        (which verifies the server's certificate against the system's CAs).

        Raises:
            InvalidState: The peer is already in use.
            ValueError: The URL's scheme is not ``ws`` or ``wss``.
        """
        self._check_unused()
        if "://" not in url:
            url = "ws://" + url  # Godot: no scheme means ws://
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(f"URL scheme must be ws:// or wss://, not {scheme}://")
        if tls is not None and scheme != "wss":
            raise ValueError("a TLS context was given for a ws:// URL; use wss://")
        self._status = ConnectionStatus.CONNECTING
        self._unique_id = 0
        self._connection_error = None
        self._attempt = attempt = object()
        self._spawn(self._run_client(url, tls, attempt))

    def _check_unused(self) -> None:
        if self._status is not ConnectionStatus.DISCONNECTED:
            raise InvalidState("this peer is already in use; close() it first")

    # MultiplayerPeer API.

    def is_server_relay_supported(self) -> bool:
        return True

    def get_local_port(self) -> int:
        """The port a server listens on.

        Raises:
            InvalidState: This peer is not a listening server.
        """
        if self._server is None:
            raise InvalidState("get_local_port() needs a server created with create_server")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def get_peer_address(self, peer_id: int) -> str:
        """The remote IP address of a connected peer (on a client, 1 is the server).

        An IPv4 client of a dual-stack server is shown as IPv4 (``127.0.0.1``, not
        ``::ffff:127.0.0.1``), as Godot shows it.
        """
        address: str = self._link(peer_id).ws.remote_address[0]
        return address.removeprefix("::ffff:") if "." in address else address

    def get_peer_port(self, peer_id: int) -> int:
        """The remote port of a connected peer."""
        port: int = self._link(peer_id).ws.remote_address[1]
        return port

    def get_max_packet_size(self) -> int:
        sizes = [link.max_message_size for link in self._links.values()]
        limit = min(sizes, default=self._inbound_buffer_size) - PACKET_OVERHEAD
        return min(limit, self._outbound_buffer_size)

    def _packet_limit(self, link: _Link) -> int:
        return min(link.max_message_size - PACKET_OVERHEAD, self._outbound_buffer_size)

    def put_packet(self, data: bytes) -> None:
        self._check_connected("put_packet")
        self._enqueue([self._links[p] for p in self._live_targets(self._links)], as_packet(data))

    def _put_many(
        self, targets: Sequence[int], data: bytes, mode: TransferMode, channel: int
    ) -> None:
        self._check_connected("put_packet")
        if self._unique_id != TARGET_PEER_SERVER:  # a client sends everything to the server
            server = self._links.get(TARGET_PEER_SERVER)
            self._enqueue([server] if server is not None else [], as_packet(data))
            return
        known, links = self._known, self._links
        chosen: list[_Link] = []
        for peer_id in targets:
            if peer_id not in known:
                raise PeerNotFound(peer_id)
            link = links.get(peer_id)
            if link is not None:  # (else it left: its leave is staged)
                chosen.append(link)
        self._enqueue(chosen, as_packet(data))

    def _enqueue(self, targets: list[_Link], data: bytes) -> None:
        """Queue ``data`` for each link, to go with the next flush; all or none."""
        size = len(data)
        needed = size + PACKET_OVERHEAD
        for link in targets:
            if needed > link.max_message_size or size > self._outbound_buffer_size:
                raise PacketTooLarge(size, min(self._packet_limit(link) for link in targets))
        pending = self._flush_pending
        for link in targets:
            if link.blocked and link.unsent_bytes() + size > self._outbound_buffer_size:
                self._drop_slow_reader(link)
                continue
            if not link.outgoing:
                if not pending and not self._flush_deferred:
                    asyncio.get_running_loop().call_soon(self._flush)
                pending.append(link)
            link.outgoing.append(data)
            link.outgoing_bytes += size

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
        if timeout is not None and until is not None:
            raise ValueError("give timeout or until, not both")
        if self._inbox.has_staged():
            return True
        loop = asyncio.get_running_loop()
        deadline = math.inf if timeout is None else loop.time() + timeout
        if until is not None:
            deadline = until
        waiter: asyncio.Future[bool] = loop.create_future()
        entry = (waiter, deadline)
        self._waiters.append(entry)
        if deadline != math.inf:
            self._arm(loop, deadline)
        try:
            return await waiter
        finally:
            self._waiters.remove(entry)

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Have the timer fire by ``deadline``. One timer for every wait, re-armed as
        it fires: a timer per wait (made, then cancelled when packets come first)
        costs more than the rest of a wait, thousands of times a second."""
        timer = self._timer
        if timer is not None and self._timer_loop is loop and not timer.cancelled():
            if timer.when() <= deadline:
                return  # it fires first, and re-arms for the later deadlines
            timer.cancel()
        self._timer = loop.call_at(deadline, self._time_out, loop)
        self._timer_loop = loop  # (a timer of a loop that ended would never fire)

    def _time_out(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        later = math.inf
        for waiter, deadline in self._waiters:
            if deadline <= now:
                _settle(waiter, False)
            elif not waiter.done():
                later = min(later, deadline)
        if later != math.inf:
            self._arm(loop, later)

    def _on_arrival(self, hook: Callable[[], bool] | None) -> None:
        self._arrival = hook

    def _off_arrival(self, hook: Callable[[], bool]) -> None:
        if self._arrival == hook:
            self._arrival = None

    def _after_data(self) -> None:
        """A read was handled: what it staged is taken in by the arrival hook, right
        here, or else wakes the waiters. (The hook saves a frame loop the wake-up of
        its task, the larger part of a server's turnaround.)"""
        if not self._inbox.has_staged():
            return
        hook = self._arrival
        if hook is None or not hook() or self._inbox.has_staged():
            self._wake()

    def _wake(self) -> None:
        """Something was staged: wake every ``wait_for_activity``."""
        for waiter, _ in self._waiters:
            _settle(waiter, True)

    def _defer_flush(self) -> None:
        # A frame is starting: what it puts is flushed when it ends, in one go.
        self._flush_deferred += 1

    def _end_deferred_flush(self) -> None:
        self._flush_deferred -= 1
        if not self._flush_deferred and self._flush_pending:
            self._flush()

    def disconnect_peer(self, peer_id: int, force: bool = False) -> None:
        self._check_known(peer_id)
        link = self._links.get(peer_id)  # None: it left already; its leave is staged
        if self._is_client():
            if link is not None:
                self._close_link(
                    link, CLOSE_NORMAL, "disconnected", notify=not force, graceful=True
                )
            if force:
                self._reset()
            return
        if link is not None:
            reason = "disconnected by the server"
            self._close_link(link, CLOSE_NORMAL, reason, notify=not force, graceful=True)
        if force:
            self._forget(peer_id)

    def kick_peer(self, peer_id: int, reason: str) -> None:
        self._check_known(peer_id)
        link = self._links.get(peer_id)
        if link is not None:
            self._close_link(link, CLOSE_POLICY_VIOLATION, reason[:120], notify=True)

    def close(self) -> None:
        # A connection attempt still under way sees this and closes its socket. It is
        # not cancelled: cancelling a TCP connect half-way leaks its socket.
        self._attempt = None
        code = CLOSE_NORMAL
        if self._server is not None:
            # Established links close below, after sending what was put for them;
            # connections still in their handshake are refused once _server is None.
            self._server.close(close_connections=False)
            self._spawn(self._server.wait_closed())
            code = CLOSE_GOING_AWAY
        for link in list(self._links.values()):
            self._close_link(link, code, "closing", notify=False, graceful=True)
        self._reset()

    async def wait_closed(self) -> None:
        """Wait until every connection and task of this peer has ended (after ``close()``)."""
        while self._tasks:
            # asyncio.wait, not gather: cancelling this wait must not cancel the tasks
            await asyncio.wait(set(self._tasks))

    # Connections, server side.

    async def _serve_connection(self, ws: ServerConnection) -> None:
        server = self._server
        hello = await self._receive_hello(ws, f"connection from {_address(ws)}")
        if hello is None:
            return
        if server is not self._server:  # closed (and maybe re-created) meanwhile
            await ws.close(CLOSE_GOING_AWAY, "the server is closing")
            return
        if self._refuse_new_connections:
            logger.info("refused a connection from %s: refuse_new_connections", _address(ws))
            await ws.close(CLOSE_TRY_AGAIN_LATER, "the server refuses new connections")
            return
        peer_id = self._next_id
        self._next_id += 1
        try:
            await ws.send(Hello(peer_id, self._inbound_buffer_size).serialize())
        except ConnectionClosed:
            return
        link = _Link(ws, peer_id, hello.max_message_size)
        self._links[peer_id] = link
        self._stage_connected(peer_id)
        await self._run_link(link)

    async def _receive_hello(self, ws: Connection, who: str) -> Hello | None:
        """The other side's HELLO, or None (logged) if it did not come right or in time."""
        try:
            async with asyncio.timeout(self._handshake_timeout):
                message = await _recv(ws)
            if isinstance(message, str):
                raise ProtocolError("sent a text message during the handshake")
            return _check_limit(Hello.parse(message))
        except TimeoutError:
            logger.warning(
                "%s: no HELLO within handshake_timeout (%s s)", who, self._handshake_timeout
            )
            await ws.close(CLOSE_POLICY_VIOLATION, "handshake timeout")
        except ProtocolError as exc:
            logger.warning("%s: bad handshake: %s", who, exc)
            await ws.close(CLOSE_PROTOCOL_ERROR, "bad handshake")
        except ConnectionClosed:
            pass
        return None

    # Connections, client side.

    async def _run_client(self, url: str, tls: ssl.SSLContext | None, attempt: object) -> None:
        try:
            ws, hello = await self._client_handshake(url, tls, attempt)
        except Exception as exc:
            if attempt is self._attempt:
                self._client_failed(url, exc)
            return
        if attempt is not self._attempt:  # close() was called meanwhile
            await ws.close()
            return
        self._attempt = None
        link = _Link(ws, TARGET_PEER_SERVER, hello.max_message_size)
        self._assigned_id = hello.peer_id
        self._links[TARGET_PEER_SERVER] = link
        self._stage_connected(TARGET_PEER_SERVER)
        await self._run_link(link)

    async def _client_handshake(
        self, url: str, tls: ssl.SSLContext | None, attempt: object
    ) -> tuple[ClientConnection, Hello]:
        """Open the WebSocket and exchange HELLOs, within handshake_timeout."""
        ws: ClientConnection | None = None
        try:
            async with asyncio.timeout(self._handshake_timeout):
                ws = await connect(
                    url,
                    create_connection=_ClientConnection,
                    # wss:// wants a context or True (the default, verifying one)
                    ssl=tls if tls is not None else url.startswith("wss:") or None,
                    subprotocols=[Subprotocol(p) for p in self.supported_protocols] or None,
                    additional_headers=self.handshake_headers or None,
                    compression=None,
                    proxy=None,
                    open_timeout=None,
                    close_timeout=self._handshake_timeout,
                    ping_interval=self._heartbeat_interval,
                    ping_timeout=self._heartbeat_timeout,
                    max_size=self._inbound_buffer_size,
                )
                if attempt is not self._attempt:
                    raise _Abandoned  # close() was called meanwhile: do not join
                if self.supported_protocols and ws.subprotocol is None:
                    raise ProtocolError("the server accepted none of supported_protocols")
                await ws.send(Hello(0, self._inbound_buffer_size).serialize())
                message = await _recv(ws)
                if isinstance(message, str):
                    raise ProtocolError("the server sent a text message as its HELLO")
                hello = _check_limit(Hello.parse(message))
                if hello.peer_id < 2:
                    raise ProtocolError(f"the server assigned the invalid id {hello.peer_id}")
                return ws, hello
        except BaseException as exc:
            if ws is not None:
                code = CLOSE_PROTOCOL_ERROR if isinstance(exc, ProtocolError) else CLOSE_NORMAL
                await ws.close(code)
            raise

    def _client_failed(self, url: str, exc: Exception) -> None:
        if isinstance(exc, TimeoutError):
            exc = TimeoutError(
                f"no id from the server within handshake_timeout ({self._handshake_timeout} s)"
            )
        elif isinstance(exc, ConnectionClosed) and exc.rcvd is not None:
            exc = ConnectionError(
                f"the server closed the connection: {exc.rcvd.code} {exc.rcvd.reason}".rstrip()
            )
        self._connection_error = exc
        logger.warning("connection to %s failed: %s: %s", url, type(exc).__name__, exc)
        self._attempt = None
        self._inbox.stage_disconnected(TARGET_PEER_SERVER)
        self._wake()

    # Connections, both sides.

    async def _run_link(self, link: _Link) -> None:
        """Read from ``link`` until it closes; its writer runs beside.

        Most messages reach ``_receive`` straight from the connection (its sink);
        this loop gets the others, and the close.
        """
        link.writer = self._spawn(self._write(link))
        ws = link.ws
        if isinstance(ws, _Connection):
            ws.sink = partial(self._receive, link, wake=False)
            ws.after_data = self._after_data
        try:
            while True:
                message = await _recv(ws)
                if not link.active:
                    continue  # dropped locally; drain until the close completes
                if isinstance(message, str):
                    self._fail_link(
                        link, CLOSE_UNSUPPORTED_DATA, "sent a text message; only binary is allowed"
                    )
                    continue
                self._receive(link, message)
        except ConnectionClosed as exc:
            if link.active:
                self._log_close(link, exc)
                self._forget_link(link, notify=True)
        finally:
            if isinstance(ws, _Connection):
                ws.sink = ws.after_data = None
            if link.writer is not None:
                link.writer.cancel()

    def _receive(self, link: _Link, message: bytes, wake: bool = True) -> None:
        """Stage the packets of a binary message from ``link``; ``wake`` the waiters
        (the direct path leaves that to ``_after_data``, once per read)."""
        if not link.active:
            return  # dropped locally; the rest is ignored until the close completes
        try:
            packets = parse_message(message)
        except ProtocolError as exc:
            self._fail_link(link, CLOSE_PROTOCOL_ERROR, str(exc))
            return
        peer_id = link.peer_id
        stage = self._inbox.stage_packet
        for data in packets:
            stage(Packet(peer_id, data))
        if wake:
            self._wake()
        if not link.held and self._inbox.pending(peer_id) > self._max_queued_packets:
            link.held = True
            link.ws.transport.pause_reading()
            self._spawn(self._wait_for_room(link))

    async def _wait_for_room(self, link: _Link) -> None:
        """Stop reading from a peer that sent more than ``max_queued_packets`` untaken
        packets, until ``get_packet()`` catches up: TCP then slows the sender down.
        A peer still over the limit after ``FLOOD_GRACE`` seconds is disconnected
        (1008), before its unread pongs could pass for a dead link."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FLOOD_GRACE
        transport = link.ws.transport
        try:
            while link.active and self._inbox.pending(link.peer_id) > self._max_queued_packets:
                if loop.time() > deadline:
                    reason = (
                        f"more than max_queued_packets ({self._max_queued_packets}) packets "
                        f"received and not taken for {FLOOD_GRACE} s"
                    )
                    self._fail_link(link, CLOSE_POLICY_VIOLATION, reason)
                    return
                transport.pause_reading()  # (websockets' own flow control may resume it)
                await asyncio.sleep(0.001)
        finally:
            link.held = False
            # Read again, even from a link being closed: its close frame must be
            # read for the close to complete. (Not if websockets paused it itself.)
            if not link.ws.recv_messages.paused:
                transport.resume_reading()

    async def _write(self, link: _Link) -> None:
        ws = link.ws
        try:
            while True:
                await link.wake.wait()
                link.wake.clear()
                if link.draining:  # a direct write filled the socket: wait for it
                    link.blocked = True
                    await ws.drain()
                    link.blocked = link.draining = False
                while link.outbox:
                    # websockets writes a whole message before its first await, so a
                    # message popped here is never half-sent nor sent twice.
                    message = link.outbox.popleft()
                    link.outbox_bytes -= len(message)
                    link.blocked = True  # ws.send only suspends to wait for a drain
                    await ws.send(message)
                    link.blocked = False
        except ConnectionClosed:
            pass  # the reader reports it

    def _flush(self) -> None:
        """Coalesce what was put for each peer since the last flush; wake its writer."""
        pending, self._flush_pending = self._flush_pending, []
        shared: bytes | None = None  # a broadcast: the same lone packet for many links
        shared_messages: list[bytes] = []
        for link in pending:
            if not link.active:
                continue
            outgoing = link.outgoing
            if len(outgoing) == 1 and outgoing[0] is shared:
                messages = shared_messages  # framed once, sent to each
            else:
                messages = encode_packets(outgoing, link.max_message_size)
                if len(outgoing) == 1:
                    shared, shared_messages = outgoing[0], messages
            outgoing.clear()
            link.outgoing_bytes = 0
            if _write_now(link, messages):
                continue
            link.outbox.extend(messages)
            link.outbox_bytes += sum(map(len, messages))
            link.wake.set()
            if link.blocked and link.outbox_bytes > self._outbound_buffer_size:
                self._drop_slow_reader(link)

    def _drop_slow_reader(self, link: _Link) -> None:
        logger.warning(
            "peer %d: more than outbound_buffer_size (%d bytes) waiting to be sent; "
            "the peer is not reading: disconnecting it",
            link.peer_id,
            self._outbound_buffer_size,
        )
        self._close_link(link, CLOSE_POLICY_VIOLATION, "outbound buffer overflow", notify=True)

    def _fail_link(self, link: _Link, code: int, reason: str) -> None:
        logger.warning("peer %d: %s; closing with %d", link.peer_id, reason, code)
        self._close_link(link, code, reason, notify=True)

    def _log_close(self, link: _Link, exc: ConnectionClosed) -> None:
        sent, rcvd = exc.sent, exc.rcvd
        if sent is not None and sent.code == CLOSE_MESSAGE_TOO_BIG:
            logger.warning(
                "peer %d: sent a message over inbound_buffer_size (%d bytes); closed with 1009",
                link.peer_id,
                self._inbound_buffer_size,
            )
        elif sent is not None and sent.reason == "keepalive ping timeout":
            logger.warning(
                "peer %d: no answer to keepalive pings within %s s; connection lost",
                link.peer_id,
                self._heartbeat_timeout,
            )
        elif rcvd is None and sent is None:
            logger.warning("peer %d: connection lost without a close frame", link.peer_id)
        else:
            close = rcvd or sent
            assert close is not None
            logger.info(
                "peer %d: connection closed (%d %s)", link.peer_id, close.code, close.reason
            )

    def _close_link(
        self, link: _Link, code: int, reason: str, *, notify: bool, graceful: bool = False
    ) -> None:
        """Forget ``link`` now and close its socket in the background.

        A graceful close first sends what was put for the peer, so that
        ``put_packet(goodbye); close()`` delivers the goodbye.
        """
        unsent: list[bytes] = []
        if graceful and link.active:
            unsent = list(link.outbox)
            if link.outgoing:
                unsent += encode_packets(link.outgoing, link.max_message_size)
        self._forget_link(link, notify=notify)
        self._spawn(self._send_and_close(link.ws, unsent, code, reason))

    async def _send_and_close(
        self, ws: Connection, messages: list[bytes], code: int, reason: str
    ) -> None:
        try:
            async with asyncio.timeout(self._handshake_timeout):
                for message in messages:
                    await ws.send(message)
        except ConnectionClosed:
            return
        except TimeoutError:
            logger.warning(
                "%s: could not send the last %d messages within handshake_timeout; cut off",
                _address(ws),
                len(messages),
            )
            ws.transport.abort()
            return
        await ws.close(code, reason)

    def _forget_link(self, link: _Link, *, notify: bool) -> None:
        if not link.active:
            return
        link.active = False
        link.outgoing.clear()
        link.outbox.clear()
        link.outgoing_bytes = link.outbox_bytes = 0
        if link.writer is not None:
            link.writer.cancel()
        if self._links.get(link.peer_id) is link:
            del self._links[link.peer_id]
        if notify:
            self._inbox.stage_disconnected(link.peer_id)
            self._wake()

    def _reset(self, keep_packets: bool = False) -> None:
        super()._reset(keep_packets)
        self._links.clear()
        self._flush_pending.clear()
        self._server = None

    def _stage_connected(self, peer_id: int) -> None:
        self._inbox.stage_connected(peer_id)
        self._wake()

    def _is_client(self) -> bool:
        return self._unique_id != TARGET_PEER_SERVER and self._server is None

    def _link(self, peer_id: int) -> _Link:
        self._check_known(peer_id)
        link = self._links.get(peer_id)
        if link is None:
            raise PeerNotFound(peer_id)  # it has left; poll() will report it
        return link

    def _spawn(self, coroutine: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("internal task failed: %r", task, exc_info=task.exception())


def _settle(waiter: asyncio.Future[bool], result: bool) -> None:
    if not waiter.done():
        waiter.set_result(result)


def _bind_every_interface(port: int) -> socket.socket:
    """One socket on every interface: IPv6 and IPv4 on one port when the OS allows.

    (asyncio would bind one socket per address family, and with port 0 each would
    get a different port.)
    """
    if socket.has_dualstack_ipv6():
        return socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)
    return socket.create_server(("0.0.0.0", port))


def _write_now(link: _Link, messages: list[bytes]) -> bool:
    """Write ``messages`` to the socket at once, when nothing is queued before them.

    The writer task is the general path; this saves its wake-up (two passes of the
    event loop) on every flush of a connection that keeps up, which is most of them.
    It uses the websockets connection's own protocol-and-transport steps, as its
    ``send()`` does before its first ``await``.
    """
    ws = link.ws
    if link.blocked or link.draining or link.outbox or ws.paused:
        return False
    if ws.protocol.state is not State.OPEN or getattr(ws, "send_in_progress", None) is not None:
        return False
    for message in messages:
        ws.protocol.send_binary(message)
    ws.send_data()
    if ws.paused:  # over the transport's limit: the writer waits for the drain
        link.draining = True
        link.wake.set()
    return True


def _check_limit(hello: Hello) -> Hello:
    """``hello``, if its message limit leaves room for real packets."""
    if hello.max_message_size < MIN_MESSAGE_SIZE:
        raise ProtocolError(
            f"max_message_size {hello.max_message_size} is below the minimum {MIN_MESSAGE_SIZE}"
        )
    return hello


def _address(ws: Connection) -> str:
    try:
        host, port = ws.remote_address[:2]
    except (TypeError, ValueError):
        return "an unknown address"
    return f"{host}:{port}"


def _positive(name: str, value: int, *, minimum: int) -> int:
    if int(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return int(value)


def _optional_seconds(name: str, value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise ValueError(f"{name} must be positive or None, not {value}")
    return value
