"""``TCPServer`` and ``StreamPeerTCP``: Godot's TCP classes, as far as WebSocket needs them.

A :class:`TCPServer` listens; :meth:`~TCPServer.take_connection` hands out each
incoming connection as a :class:`StreamPeerTCP`, which a
:class:`~multiplayer.transport.websocket_peer.WebSocketPeer` then takes over with
``accept_stream()`` (or a :class:`~multiplayer.transport.tls.StreamPeerTLS` first,
for ``wss://``). This is the server half of Godot's "Using WebSockets" page.

As in Godot, connections nobody has taken wait in the operating system's backlog:
the listening socket accepts one only when ``is_connection_available()`` asks.
A taken stream reads nothing until something takes it over, so its bytes wait in
the kernel, where TCP flow control bounds them (a TLS handshake can still start on
it). The streams carry no data of their own here (Godot's ``put_data`` /
``get_data`` are not ported): they exist to be handed to a WebSocket or TLS peer.

Sockets live on the running asyncio event loop: ``listen()``,
``take_connection()`` and the stream classes need one, and raise
:class:`~multiplayer.exceptions.InvalidState` without it.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import logging
import socket
import ssl
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias, cast

from ..exceptions import InvalidState

__all__ = ["StreamPeerTCP", "TCPServer"]

logger = logging.getLogger("multiplayer.transport")

MAX_HELD_BYTES = 1 << 16
"""Bytes a stream keeps for its future user before it stops reading (see
:class:`_Socket`): room for any WebSocket handshake request (Godot allows 4 KiB)."""


def running_loop(what: str) -> asyncio.AbstractEventLoop:
    """The running event loop.

    Raises:
        InvalidState: There is none; the message says how to get one.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise InvalidState(
            f"{what} needs a running asyncio event loop: call it from code run by "
            "asyncio.run(main()), for example from a Node of a tree run by "
            "`await SceneTree.run()`"
        ) from None


class StreamUser(Protocol):
    """What takes a stream over: the same callbacks as an :class:`asyncio.Protocol`.

    ``connection_made`` comes when the stream is usable (for TLS, after the
    handshake); then bytes, an optional end of file, and ``connection_lost``,
    which also comes, without ``connection_made``, when the stream never opens.
    """

    def connection_made(self, transport: asyncio.Transport) -> None: ...

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> bool | None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...


class _Socket(asyncio.Protocol):
    """The asyncio protocol of one TCP connection, forwarding to its user.

    Until a user is attached, it holds what arrives: a plain connection reads
    nothing at all (so that TLS can start on it later); after a TLS handshake,
    up to :data:`MAX_HELD_BYTES` are kept before reading pauses.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.user: StreamUser | None = None
        self.ready = False  # the transport is usable by the user (TLS: handshake done)
        self.tls = False  # a TLS handshake is pending or done on this connection
        self.tls_pending = False  # that handshake has not ended yet
        self.closing = False  # disconnect_from_host() came before the transport
        self.closed_here = False  # disconnect_from_host() was called
        self.tls_failed = False  # its TLS handshake failed, and that was logged
        self.held: list[bytes] = []
        self.held_bytes = 0
        self.eof = False
        self.lost = False
        self.lost_exc: Exception | None = None
        self.writing_paused = False
        self.made: list[asyncio.Future[None]] = []  # waiting for connection_made

    # asyncio.Protocol callbacks.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports are not asyncio.Transport subclasses)
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        for waiter in self.made:
            if not waiter.done():
                waiter.set_result(None)
        if self.closing:
            transport.close()
        elif not self.tls:
            self.set_ready(transport)
        else:
            # The client's first TLS bytes must reach the TLS layer, not this
            # protocol: start_tls() resumes reading once it has the transport.
            # (asyncio happens not to read before; uvloop reads at once.)
            transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        user = self.user
        if user is not None and self.ready:
            user.data_received(data)
            return
        self.held.append(data)
        self.held_bytes += len(data)
        if self.held_bytes > MAX_HELD_BYTES and self.transport is not None:
            self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        user = self.user
        if user is not None and self.ready:
            return user.eof_received()
        self.eof = True
        return not self.tls  # keep it open for the user (TLS cannot stay half-open)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost:
            return
        self._lose(exc)
        if self.user is not None and not self.tls_pending:  # (see tls_failed_with)
            self.user.connection_lost(exc)

    def tls_failed_with(self, exc: Exception, logged: bool) -> None:
        """The TLS handshake failed (``logged``: and a line said so). The user learns
        now that the connection is lost, and why: while the handshake was pending,
        a loss (which came first, with a vaguer reason) waited for this."""
        self.tls_pending, self.tls_failed = False, logged
        self._lose(exc)
        if self.user is not None:
            self.user.connection_lost(exc)

    def _lose(self, exc: Exception | None) -> None:
        self.lost, self.lost_exc, self.ready = True, exc, False
        for waiter in self.made:  # (they find it lost)
            if not waiter.done():
                waiter.set_result(None)

    def pause_writing(self) -> None:
        # The transport's buffer is over its high-water mark: the user may want to
        # know (a WebSocketMultiplayerPeer counts what is over it as unread).
        self.writing_paused = True
        if self.user is not None:
            self.user.pause_writing()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.user is not None:
            self.user.resume_writing()

    def abandon(self) -> None:
        """Its stream was garbage-collected unused: close it (Godot frees it too)."""
        if self.user is not None or self.tls or self.lost:
            return
        if self.transport is None:
            self.closing = True
        elif not self.transport.is_closing():
            try:
                self.transport.close()
            except RuntimeError:  # the event loop is closed already
                pass

    # Handing the connection to its user.

    def set_ready(self, transport: asyncio.Transport) -> None:
        """The transport can carry the user's bytes (for TLS: the new transport)."""
        self.transport = transport
        self.ready = True
        self.tls_pending = False
        if self.user is None:
            transport.pause_reading()  # until someone takes the stream over
        else:
            self._hand_over(self.user, transport)

    def attach(self, user: StreamUser) -> None:
        self.user = user
        if self.lost and not self.tls_pending:
            user.connection_lost(self.lost_exc)
        elif self.ready and self.transport is not None:
            self._hand_over(user, self.transport)

    def _hand_over(self, user: StreamUser, transport: asyncio.Transport) -> None:
        user.connection_made(transport)
        if self.writing_paused:
            user.pause_writing()
        # Resume first: the user may pause again while taking the held bytes, and
        # nothing new can arrive before this callback returns.
        transport.resume_reading()
        held, self.held, self.held_bytes = self.held, [], 0
        for data in held:
            user.data_received(data)
        if self.eof and not user.eof_received():
            transport.close()


class Status(enum.IntEnum):
    """A :class:`StreamPeerTCP`'s status (Godot's ``StreamPeerTCP.Status``)."""

    STATUS_NONE = 0
    STATUS_CONNECTING = 1
    STATUS_CONNECTED = 2
    STATUS_ERROR = 3


class StreamPeerTCP:
    """One TCP connection, from :meth:`TCPServer.take_connection` (or made by a
    :class:`~multiplayer.transport.websocket_peer.WebSocketPeer` client).

    Hand it to ``WebSocketPeer.accept_stream()`` or ``StreamPeerTLS.accept_stream()``.
    Its status is live (Godot updates it in ``poll()``; there is nothing to poll here).
    """

    Status: TypeAlias = Status
    STATUS_NONE = Status.STATUS_NONE
    STATUS_CONNECTING = Status.STATUS_CONNECTING
    STATUS_CONNECTED = Status.STATUS_CONNECTED
    STATUS_ERROR = Status.STATUS_ERROR

    def __init__(self) -> None:
        self._socket = _Socket()
        self._sock: socket.socket | None = None
        self._host = ""
        self._port = 0
        self._connecting = False
        self._error: BaseException | None = None
        self._task: asyncio.Task[object] | None = None
        # Closed if collected unused (Godot frees it too). The finalizer holds the
        # socket, whose user will hold this stream: it is detached once the stream
        # is taken (see _owned), or every stream ever used would stay alive.
        self._finalizer = weakref.finalize(self, self._socket.abandon)
        self._finalizer.atexit = False

    def __repr__(self) -> str:
        where = f" {self._host}:{self._port}" if self._host else ""
        return f"<StreamPeerTCP{where} {self.get_status().name}>"

    # Godot's API.

    def get_status(self) -> Status:
        """CONNECTING, CONNECTED, NONE once closed, or ERROR if it failed."""
        sock = self._socket
        if self._connecting:
            return Status.STATUS_CONNECTING
        if self._error is not None or (sock.lost and sock.lost_exc is not None):
            return Status.STATUS_ERROR
        if sock.lost or sock.closing or self._sock is None:
            return Status.STATUS_NONE
        return Status.STATUS_CONNECTED

    def get_connected_host(self) -> str:
        """The remote IP address ("" before the connection is made)."""
        return self._host

    def get_connected_port(self) -> int:
        """The remote port (0 before the connection is made)."""
        return self._port

    def get_local_port(self) -> int:
        """The local port of the connection (0 when there is no socket)."""
        if self._sock is None or self._sock.fileno() == -1:
            return 0
        return int(self._sock.getsockname()[1])

    def set_no_delay(self, enabled: bool) -> None:
        """Turn Nagle's algorithm off (``True``, asyncio's default) or on.

        Raises:
            InvalidState: The stream has no socket (not connected yet, or closed).
        """
        sock = self._sock
        if sock is None or sock.fileno() == -1:
            raise InvalidState("set_no_delay() needs a connected stream")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(bool(enabled)))

    def disconnect_from_host(self) -> None:
        """Close the connection (at once; a user of the stream sees it lost)."""
        sock = self._socket
        sock.closed_here = True
        if sock.transport is not None:
            sock.transport.close()
        elif self._connecting and self._task is not None:
            self._task.cancel()
        else:
            sock.closing = True  # an accepted socket not adopted yet: closed when it is

    # Private: making streams, and handing them over.

    @classmethod
    def _accepted(
        cls, sock: socket.socket, address: Any, loop: asyncio.AbstractEventLoop
    ) -> StreamPeerTCP:
        """A stream for ``sock``, accepted by a :class:`TCPServer` from ``address``."""
        stream = cls()
        stream._sock = sock
        stream._host, stream._port = _address(address)
        stream._task = loop.create_task(loop.connect_accepted_socket(lambda: stream._socket, sock))
        stream._task.add_done_callback(stream._adopted)
        return stream

    @classmethod
    def _connect(
        cls,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        context: ssl.SSLContext | None,
        server_hostname: str | None,
    ) -> StreamPeerTCP:
        """A stream connecting to ``host:port`` (over TLS with ``context``)."""
        stream = cls()
        stream._connecting = True
        stream._task = loop.create_task(
            loop.create_connection(
                lambda: stream._socket,
                host,
                port,
                ssl=context,
                server_hostname=server_hostname if context is not None else None,
            )
        )
        stream._task.add_done_callback(stream._connected)
        return stream

    def _attach(self, user: StreamUser) -> None:
        """Give the stream to ``user``, which gets its callbacks from now on."""
        self._owned()
        self._socket.attach(user)

    def _owned(self) -> None:
        """The stream is taken (by its user, or a TLS layer): closing it is theirs."""
        self._finalizer.detach()

    def _in_use(self) -> bool:
        return self._socket.user is not None or self._socket.tls

    def _ever_connected(self) -> bool:
        return self._sock is not None or self._connecting

    def _adopted(self, task: asyncio.Task[object]) -> None:
        self._task = None
        exc = None if task.cancelled() else task.exception()
        if task.cancelled() or exc is not None:
            if self._socket.transport is None and self._sock is not None:
                self._sock.close()  # asyncio never made a transport to close it
            self._socket.connection_lost(_as_exception(exc, "the connection was abandoned"))

    def _connected(self, task: asyncio.Task[object]) -> None:
        self._task = None
        self._connecting = False
        if task.cancelled():
            self._socket.connection_lost(ConnectionAbortedError("connection attempt cancelled"))
            return
        exc = task.exception()
        if exc is not None:
            self._error = exc
            self._socket.connection_lost(_as_exception(exc, "connection failed"))
            return
        transport = self._socket.transport
        if transport is not None:
            self._sock = transport.get_extra_info("socket")
            peer = transport.get_extra_info("peername")
            if peer is not None:
                self._host, self._port = _address(peer)


class TCPServer:
    """A listening TCP socket (Godot's ``TCPServer``).

    ``listen()``, then every frame: ``while is_connection_available():``
    ``take_connection()``, and give each stream to a WebSocket (or TLS) peer.
    """

    def __init__(self) -> None:
        self._listener: socket.socket | None = None
        # Accepted sockets not taken yet, with the address accept() gave (by the time
        # one is taken, its peer may have reset it: getpeername() would fail).
        self._waiting: deque[tuple[socket.socket, Any]] = deque()
        self._accept_failed = False
        self._watcher: asyncio.AbstractEventLoop | None = None  # see _watch

    def __repr__(self) -> str:
        where = f" port {self.get_local_port()}" if self.is_listening() else ""
        return f"<TCPServer{where}>"

    def listen(self, port: int, bind_address: str = "*", *, reuse_port: bool = False) -> None:
        """Listen on ``port`` (0 picks a free one: see :meth:`get_local_port`).

        ``bind_address`` is ``"*"`` (every interface, IPv6 and IPv4 when the
        system allows), an IP address, such as ``"127.0.0.1"``, or a host name,
        bound to the first address it resolves to. With ``reuse_port`` (not in
        Godot), several processes listen on one port and the system spreads the
        connections among them (``SO_REUSEPORT``: Linux, the BSDs, macOS).

        Raises:
            InvalidState: Already listening, or no running event loop.
            ValueError: ``port`` is out of range, or ``bind_address`` is not
                ``"*"``, an IP address or a host name that resolves, or
                ``reuse_port`` is not supported here.
            OSError: The address cannot be bound (for example, the port is in use).
        """
        running_loop("TCPServer.listen()")
        if self._listener is not None:
            raise InvalidState("this TCPServer is listening already; stop() it first")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {port}")
        self._listener = _bind(port, bind_address, reuse_port)
        self._accept_failed = False

    def is_listening(self) -> bool:
        return self._listener is not None

    def get_local_port(self) -> int:
        """The port listened on.

        Raises:
            InvalidState: Not listening.
        """
        if self._listener is None:
            raise InvalidState("this TCPServer is not listening; call listen() first")
        return int(self._listener.getsockname()[1])

    def is_connection_available(self) -> bool:
        """Whether a connection waits to be taken (it is accepted now, so that
        :meth:`take_connection` cannot fail after a True)."""
        if self._waiting:
            return True
        if self._listener is None:
            return False
        try:
            sock, address = self._listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return False
        except OSError as exc:  # e.g. too many open files: the client waits in the backlog
            if not self._accept_failed:
                logger.warning("TCPServer: cannot accept a connection: %s", exc)
                self._accept_failed = True
            return False
        self._accept_failed = False
        sock.setblocking(False)
        self._waiting.append((sock, address))
        return True

    def take_connection(self) -> StreamPeerTCP:
        """The next incoming connection.

        Raises:
            InvalidState: Not listening, no connection is waiting (check
                :meth:`is_connection_available` first), or no running event loop.
        """
        loop = running_loop("TCPServer.take_connection()")
        if self._listener is None:
            raise InvalidState("this TCPServer is not listening; call listen() first")
        if not self.is_connection_available():
            raise InvalidState("no connection is waiting; check is_connection_available() first")
        return StreamPeerTCP._accepted(*self._waiting.popleft(), loop)

    def stop(self) -> None:
        """Stop listening. Streams already taken stay open; connections not taken
        are closed."""
        self._unwatch()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        while self._waiting:
            self._waiting.popleft()[0].close()

    # Private: for a server driven by the event loop.

    def _watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` from the event loop whenever a connection waits, so
        that an event-driven server (WebSocketMultiplayerPeer's) takes it at once
        rather than at its next poll. It lasts until :meth:`stop`.

        Raises:
            InvalidState: Not listening, or no running event loop.
        """
        loop = running_loop("TCPServer._watch()")
        if self._listener is None:
            raise InvalidState("this TCPServer is not listening; call listen() first")
        self._unwatch()
        loop.add_reader(self._listener.fileno(), callback)
        self._watcher = loop

    def _unwatch(self) -> None:
        loop, self._watcher = self._watcher, None
        if loop is not None and self._listener is not None and not loop.is_closed():
            loop.remove_reader(self._listener.fileno())


def _bind(port: int, bind_address: str, reuse_port: bool = False) -> socket.socket:
    if bind_address == "*":
        # One socket for IPv6 and IPv4 on one port, as Godot does; asyncio would
        # bind one per family (and, with port 0, give each a different port).
        if socket.has_dualstack_ipv6():
            sock = socket.create_server(
                ("::", port), family=socket.AF_INET6, dualstack_ipv6=True, reuse_port=reuse_port
            )
        else:
            sock = socket.create_server(("0.0.0.0", port), reuse_port=reuse_port)
    else:
        try:
            address = ipaddress.ip_address(bind_address)
        except ValueError:
            # Godot takes an IP address only; a host name ("localhost") is resolved
            # here, to its first address, as earlier versions of this peer accepted.
            try:
                found = socket.getaddrinfo(bind_address, port, type=socket.SOCK_STREAM)
            except socket.gaierror:
                raise ValueError(
                    f"bind_address must be '*', an IP address or a host name that "
                    f"resolves, not {bind_address!r}"
                ) from None
            address = ipaddress.ip_address(found[0][4][0])
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.create_server((str(address), port), family=family, reuse_port=reuse_port)
    sock.setblocking(False)
    return sock


def _address(peername: tuple[str, int] | tuple[str, int, int, int]) -> tuple[str, int]:
    host, port = peername[0], int(peername[1])
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]  # an IPv4 client of a dual-stack socket
    return host, port


def _as_exception(exc: BaseException | None, default: str) -> Exception:
    if isinstance(exc, Exception):
        return exc
    return ConnectionAbortedError(default)
