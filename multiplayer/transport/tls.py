"""TLS for ``wss://``: Godot's ``TLSOptions``, and ``StreamPeerTLS`` for servers.

A client passes :class:`TLSOptions` to ``WebSocketPeer.connect_to_url()``; with
none, a ``wss://`` URL gets :meth:`TLSOptions.client`: the system's trusted
certificates, and the server's certificate must match the URL's host name.

A server wraps each stream it takes in a :class:`StreamPeerTLS`, as in Godot::

    tls = StreamPeerTLS()
    tls.accept_stream(tcp_server.take_connection(), TLSOptions.server("key.pem", "cert.pem"))
    websocket.accept_stream(tls)

Arguments are paths to PEM files. Anything else (client certificates, cipher
choices, an in-memory CA) goes through :meth:`TLSOptions.from_context`, which
takes an :class:`ssl.SSLContext` as is.

A server's failed TLS handshakes (plain HTTP or junk on the TLS port, a client
that does not trust the certificate) are logged on ``multiplayer.transport``, one
line each naming the address and the reason, within a budget of lines for the
whole process (anyone can open connections: :mod:`.log_budget`); past it they are
counted, and the count is logged when the interval ends.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import ssl
from typing import TypeAlias, cast

from ..exceptions import InvalidState
from .log_budget import LineBudget
from .tcp_server import StreamPeerTCP, running_loop

__all__ = ["StreamPeerTLS", "TLSOptions"]

logger = logging.getLogger("multiplayer.transport")

StrPath = str | os.PathLike[str]

TLS_HANDSHAKE_TIMEOUT = 10.0
"""Seconds a server-side TLS handshake may take (the WebSocket peer that takes
the stream has its own, usually shorter, ``handshake_timeout``)."""

handshake_failures = LineBudget(logger, "failed TLS handshakes")
"""The process's log of failed TLS handshakes (see :mod:`.log_budget`)."""


class TLSOptions:
    """TLS settings for a client or a server.

    Build them with :meth:`client`, :meth:`client_unsafe`, :meth:`server` or
    :meth:`from_context`. The files are read at once, so a missing or invalid
    one raises where the options are made.
    """

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        server: bool,
        unsafe: bool = False,
        common_name_override: str = "",
    ) -> None:
        self._context = context
        self._server = server
        self._unsafe = unsafe
        self._common_name_override = common_name_override

    def __repr__(self) -> str:
        kind = "server" if self._server else "unsafe client" if self._unsafe else "client"
        return f"<TLSOptions {kind}>"

    @classmethod
    def client(
        cls, trusted_chain: StrPath | None = None, common_name_override: str = ""
    ) -> TLSOptions:
        """Verify the server: its certificate chain and its name.

        Args:
            trusted_chain: A PEM file of the certificate authorities to trust
                instead of the system's (for a private CA, or a self-signed server).
            common_name_override: The name the certificate must carry, when it is
                not the URL's host (also sent as the TLS server name).

        Raises:
            OSError, ssl.SSLError: ``trusted_chain`` cannot be read or parsed.
        """
        context = ssl.create_default_context(cafile=_path(trusted_chain))
        return cls(context, server=False, common_name_override=common_name_override)

    @classmethod
    def client_unsafe(cls, trusted_chain: StrPath | None = None) -> TLSOptions:
        """Encrypt, but verify nothing: any certificate, for any name, is accepted.

        For tests and development only: anyone on the path can pose as the server.
        As in Godot, ``trusted_chain`` may be given but a failed verification does
        not stop the connection.
        """
        context = ssl.create_default_context(cafile=_path(trusted_chain))
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return cls(context, server=False, unsafe=True)

    @classmethod
    def server(cls, key: StrPath, certificate: StrPath) -> TLSOptions:
        """A server's private key and certificate chain (PEM files; the chain file
        starts with the server's own certificate).

        Raises:
            OSError, ssl.SSLError: A file cannot be read, or they do not match.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile=os.fspath(certificate), keyfile=os.fspath(key))
        return cls(context, server=True)

    @classmethod
    def from_context(cls, context: ssl.SSLContext, common_name_override: str = "") -> TLSOptions:
        """Use ``context`` as it is (the escape hatch for any other TLS setting).

        A context made for ``ssl.PROTOCOL_TLS_SERVER`` (e.g. by
        ``ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)``) makes server
        options; one for ``ssl.PROTOCOL_TLS_CLIENT`` (``ssl.create_default_context()``)
        client options.

        Raises:
            ValueError: The context is made for neither side.
        """
        if context.protocol is ssl.PROTOCOL_TLS_SERVER:
            return cls(context, server=True)
        if context.protocol is ssl.PROTOCOL_TLS_CLIENT:
            unsafe = context.verify_mode == ssl.CERT_NONE
            return cls(
                context, server=False, unsafe=unsafe, common_name_override=common_name_override
            )
        raise ValueError(
            "the context must be made for ssl.PROTOCOL_TLS_CLIENT or ssl.PROTOCOL_TLS_SERVER"
        )

    @property
    def context(self) -> ssl.SSLContext:
        """The :class:`ssl.SSLContext` these options stand for."""
        return self._context

    def is_server(self) -> bool:
        return self._server

    def is_unsafe_client(self) -> bool:
        return self._unsafe

    def get_common_name_override(self) -> str:
        return self._common_name_override


class Status(enum.IntEnum):
    """A :class:`StreamPeerTLS`'s status (Godot's ``StreamPeerTLS.Status``)."""

    STATUS_DISCONNECTED = 0
    STATUS_HANDSHAKING = 1
    STATUS_CONNECTED = 2
    STATUS_ERROR = 3
    STATUS_ERROR_HOSTNAME_MISMATCH = 4


class StreamPeerTLS:
    """The server side of TLS on a :class:`StreamPeerTCP` (Godot's ``StreamPeerTLS``).

    :meth:`accept_stream` starts the handshake in the background; hand this
    object to ``WebSocketPeer.accept_stream()`` right away, which waits for it.
    The status is live (there is nothing to poll). Client-side TLS is part of
    ``WebSocketPeer.connect_to_url()``; ``connect_to_stream`` is not ported.
    """

    Status: TypeAlias = Status
    STATUS_DISCONNECTED = Status.STATUS_DISCONNECTED
    STATUS_HANDSHAKING = Status.STATUS_HANDSHAKING
    STATUS_CONNECTED = Status.STATUS_CONNECTED
    STATUS_ERROR = Status.STATUS_ERROR
    STATUS_ERROR_HOSTNAME_MISMATCH = Status.STATUS_ERROR_HOSTNAME_MISMATCH

    def __init__(self) -> None:
        self._stream: StreamPeerTCP | None = None
        self._status = Status.STATUS_DISCONNECTED
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    def accept_stream(self, stream: StreamPeerTCP, server_options: TLSOptions) -> None:
        """Start the server side of a TLS handshake on ``stream``.

        Raises:
            ValueError: ``server_options`` are not server options.
            InvalidState: ``stream`` was never connected, or is already taken
                over; this object is in use; or no event loop is running. (A
                stream that dropped meanwhile is not an error: the handshake fails.)
        """
        loop = running_loop("StreamPeerTLS.accept_stream()")
        if not server_options.is_server():
            raise ValueError("accept_stream() needs TLSOptions.server(key, certificate)")
        if self._stream is not None:
            raise InvalidState("this StreamPeerTLS is in use already")
        if stream._in_use() or not stream._ever_connected():
            raise InvalidState("the stream must be a StreamPeerTCP from a TCPServer, unused yet")
        self._stream = stream
        self._status = Status.STATUS_HANDSHAKING
        stream._socket.tls = stream._socket.tls_pending = True
        stream._owned()
        self._task = loop.create_task(self._handshake(loop, stream, server_options.context))
        self._task.add_done_callback(self._handshake_done)

    def get_status(self) -> Status:
        if self._status is Status.STATUS_CONNECTED and self._stream is not None:
            if self._stream.get_status() is not StreamPeerTCP.STATUS_CONNECTED:
                return Status.STATUS_DISCONNECTED
        return self._status

    def get_stream(self) -> StreamPeerTCP:
        """The TCP stream under the TLS layer.

        Raises:
            InvalidState: :meth:`accept_stream` was not called.
        """
        if self._stream is None:
            raise InvalidState("this StreamPeerTLS has no stream; call accept_stream() first")
        return self._stream

    def disconnect_from_stream(self) -> None:
        """Close the connection."""
        if self._stream is not None:
            self._stream.disconnect_from_host()
        if self._status is not Status.STATUS_ERROR:
            self._status = Status.STATUS_DISCONNECTED

    async def _handshake(
        self, loop: asyncio.AbstractEventLoop, stream: StreamPeerTCP, context: ssl.SSLContext
    ) -> None:
        sock = stream._socket
        if sock.transport is None and not sock.lost:  # asyncio has not adopted it yet
            waiter: asyncio.Future[None] = loop.create_future()
            sock.made.append(waiter)
            await waiter
        transport = sock.transport
        if transport is None or transport.is_closing() or sock.lost:
            raise ConnectionResetError("the connection closed before the TLS handshake")
        # The client's first TLS bytes are for the TLS layer. On asyncio they wait in
        # the kernel (the socket pauses reading as it is made); uvloop starts reading
        # whatever connection_made did, so they may have been read already: they are
        # handed to the TLS layer once start_tls() has made it, before it reads on.
        held, sock.held, sock.held_bytes = sock.held, [], 0
        starting = loop.create_task(
            loop.start_tls(
                transport,
                sock,
                context,
                server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        )
        if held:
            # start_tls() schedules the TLS layer's connection_made and then the
            # transport's resume_reading in its first step; this runs after both.
            loop.call_soon(loop.call_soon, _feed, transport, b"".join(held))
        tls_transport = await starting
        tls_transport = cast(asyncio.Transport, tls_transport)  # (uvloop's is no subclass)
        sock.set_ready(tls_transport)

    def _handshake_done(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if task.cancelled():
            exc: BaseException | None = ConnectionAbortedError("TLS handshake cancelled")
        else:
            exc = task.exception()
        if exc is None:
            if self._status is Status.STATUS_HANDSHAKING:
                self._status = Status.STATUS_CONNECTED
            return
        self._error = exc
        self._status = Status.STATUS_ERROR
        stream = self._stream
        assert stream is not None
        sock = stream._socket
        logged = not sock.closed_here  # (else its user cut it, and said why)
        if logged:
            handshake_failures.log(
                logging.WARNING, "TLS handshake with %s failed: %s", _address(stream), _reason(exc)
            )
        # start_tls() closed the transport, whose protocol may no longer be ours:
        # tell the stream's user here (that it need not log it again, if logged).
        error = exc if isinstance(exc, Exception) else ConnectionAbortedError(str(exc))
        sock.tls_failed_with(error, logged)


def _path(path: StrPath | None) -> str | None:
    return None if path is None else os.fspath(path)


def _address(stream: StreamPeerTCP) -> str:
    host, port = stream.get_connected_host(), stream.get_connected_port()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _feed(transport: asyncio.Transport, data: bytes) -> None:
    """Give the TLS layer now on ``transport`` the bytes read before it was there
    (its protocol is a BufferedProtocol, on asyncio and on uvloop alike)."""
    protocol = transport.get_protocol()
    get_buffer = getattr(protocol, "get_buffer", None)
    updated = getattr(protocol, "buffer_updated", None)
    if get_buffer is None or updated is None:
        return  # (not the TLS layer: the connection ended meanwhile)
    view = memoryview(data)
    while view and not transport.is_closing():
        buffer = memoryview(get_buffer(len(view)))
        size = min(len(buffer), len(view))
        buffer[:size] = view[:size]
        updated(size)
        view = view[size:]
