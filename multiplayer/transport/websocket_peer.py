"""``WebSocketPeer``: one WebSocket connection, with Godot 4's API.

A client calls ``connect_to_url(url)``; a server takes a stream from a
:class:`~multiplayer.transport.tcp_server.TCPServer` and calls
``accept_stream(stream)``. Then, as in Godot, ``poll()`` every frame:

* The socket is read and written on the asyncio event loop, in the background:
  the handshake, pings and pongs, and the closing handshake go on by themselves,
  and ``send()`` writes to the socket at once.
* What the user sees changes only in ``poll()``: the ready state, the packets
  available, the close code. A state that leaves OPEN is shown one ``poll()``
  after the packets that came before it, so a loop that reads packets only
  while OPEN (as Godot's examples do) misses none.

The protocol work is websockets' Sans-I/O layer (:class:`websockets.client.ClientProtocol`,
:class:`websockets.server.ServerProtocol`): this module feeds it bytes and writes
what it returns. Limits, each enforced with one log line on the
``multiplayer.transport`` logger naming the connection:

* ``inbound_buffer_size``: a longer message closes the connection with 1009;
* ``max_queued_packets`` (and ``inbound_buffer_size`` bytes) of packets not taken:
  reading pauses until ``get_packet()`` catches up, and TCP slows the sender down;
  nothing is dropped;
* ``outbound_buffer_size``: a ``send()`` that would queue more unsent bytes raises
  :class:`~multiplayer.exceptions.OutboundBufferFull`;
* ``handshake_timeout``: the opening handshake, and the closing one, must finish
  in time, or the connection is cut (close code -1);
* ``heartbeat_interval``: a ping that has no pong when the next one is due cuts
  the connection (close code -1), as in Godot.

A protocol error from the peer (a bad frame, invalid UTF-8 in a text message, an
oversized message) closes the connection with the matching code: it never reaches
the code calling ``poll()``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import TypeAlias

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidURI, NegotiationError
from websockets.frames import EXTERNAL_CLOSE_CODES
from websockets.protocol import State as ProtocolState
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from ..exceptions import InvalidState, OutboundBufferFull
from .tcp_server import StreamPeerTCP, running_loop
from .tls import StreamPeerTLS, TLSOptions
from .websocket_peer_link import (
    CLOSED,
    CLOSING,
    CONNECTING,
    OPEN,
    LinkSettings,
    PeerLink,
    State,
    WriteMode,
    check_backend,
    default_backend,
)

__all__ = ["State", "WebSocketPeer", "WriteMode"]

logger = logging.getLogger("multiplayer.transport")

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: header names, protocols


class _Settings:
    """The settings of a :class:`WebSocketPeer`, with Godot's names and defaults."""

    def __init__(self) -> None:
        self.supported_protocols: list[str] = []
        self.handshake_headers: list[str] = []
        self._inbound_buffer_size = 65535
        self._outbound_buffer_size = 65535
        self._max_queued_packets = 4096
        self._heartbeat_interval = 0.0
        # Set by a multiplayer peer that makes this peer (Godot's _create_peer
        # copies its settings into each WebSocketPeer): they replace the above.
        self._fixed_settings: LinkSettings | None = None
        self._handshake_timeout = 3.0
        self._backend = default_backend()

    @property
    def backend(self) -> str:
        """The WebSocket protocol implementation: ``"websockets"`` or ``"picows"``
        (not in Godot; default: ``MULTIPLAYER_WS_BACKEND``, else ``"websockets"``)."""
        return self._fixed_settings.backend if self._fixed_settings else self._backend

    @backend.setter
    def backend(self, name: str) -> None:
        self._backend = check_backend(name)

    @property
    def inbound_buffer_size(self) -> int:
        """The largest message accepted, in bytes, and the bytes of packets not
        taken before reading pauses (default 65535)."""
        return self._inbound_buffer_size

    @inbound_buffer_size.setter
    def inbound_buffer_size(self, size: int) -> None:
        self._inbound_buffer_size = _positive("inbound_buffer_size", size)

    @property
    def outbound_buffer_size(self) -> int:
        """The unsent bytes a ``send()`` may leave queued (default 65535)."""
        return self._outbound_buffer_size

    @outbound_buffer_size.setter
    def outbound_buffer_size(self, size: int) -> None:
        self._outbound_buffer_size = _positive("outbound_buffer_size", size)

    @property
    def max_queued_packets(self) -> int:
        """Packets received and not taken before reading pauses (default 4096)."""
        return self._max_queued_packets

    @max_queued_packets.setter
    def max_queued_packets(self, count: int) -> None:
        self._max_queued_packets = _positive("max_queued_packets", count)

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between pings; 0 (the default) sends none. A ping still without
        a pong when the next one is due cuts the connection (close code -1)."""
        return self._heartbeat_interval

    @heartbeat_interval.setter
    def heartbeat_interval(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"heartbeat_interval must be 0 or more, not {seconds}")
        self._heartbeat_interval = float(seconds)

    @property
    def handshake_timeout(self) -> float:
        """Seconds the opening handshake may take (TCP, TLS and HTTP), and the
        closing one (default 3.0, as Godot's WebSocketMultiplayerPeer). Not in
        Godot's WebSocketPeer, where a silent peer can stall either for ever."""
        return self._handshake_timeout

    @handshake_timeout.setter
    def handshake_timeout(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"handshake_timeout must be positive, not {seconds}")
        self._handshake_timeout = float(seconds)

    def _settings(self) -> LinkSettings:
        if self._fixed_settings is not None:
            return self._fixed_settings
        return LinkSettings(
            inbound_buffer_size=self._inbound_buffer_size,
            max_queued_packets=self._max_queued_packets,
            heartbeat_interval=self._heartbeat_interval,
            handshake_timeout=self._handshake_timeout,
            protocols=tuple(_protocol_name(p) for p in self.supported_protocols),
            headers=tuple(_header(line) for line in self.handshake_headers),
            backend=self._backend,
        )


class WebSocketPeer(_Settings):
    """One WebSocket connection (Godot's ``WebSocketPeer``), client or server side.

    Godot returns ``Error`` codes; here a call that cannot be done raises at the
    call site: ``ValueError`` for a bad argument, :class:`InvalidState` for a call
    that does not fit the state. Failures of the network never raise: they show as
    the state CLOSED (see :meth:`get_close_code`), with a log line.

    The settings apply from the next ``connect_to_url()`` or ``accept_stream()``,
    as in Godot, except ``outbound_buffer_size``, checked at each send.

    Attributes:
        supported_protocols: Sub-protocols, in order of preference. A client
            requests them and requires the server to pick one; a server picks the
            first of the client's that it supports, and refuses the handshake when
            they have none in common (Godot's rules: even when the server has none
            and the client requests some).
        handshake_headers: Extra handshake header lines, ``"Name: value"``: sent
            with the request by a client, with the response by a server.
    """

    State: TypeAlias = State
    WriteMode: TypeAlias = WriteMode
    STATE_CONNECTING = State.STATE_CONNECTING
    STATE_OPEN = State.STATE_OPEN
    STATE_CLOSING = State.STATE_CLOSING
    STATE_CLOSED = State.STATE_CLOSED
    WRITE_MODE_TEXT = WriteMode.WRITE_MODE_TEXT
    WRITE_MODE_BINARY = WriteMode.WRITE_MODE_BINARY

    def __init__(self) -> None:
        super().__init__()
        self._link: PeerLink | None = None
        self._state = CLOSED
        self._revealed = 0  # packets of the link's queue that poll() has shown
        self._was_string = False
        self._close_code = -1
        self._close_reason = ""
        self._selected_protocol = ""
        self._requested_url = ""
        self._on_arrival: Callable[[], None] | None = None

    def __repr__(self) -> str:
        name = f" {self._link.name}" if self._link is not None else ""
        return f"<WebSocketPeer{name} {self._state.name}>"

    # Connecting.

    def connect_to_url(self, url: str, tls_options: TLSOptions | None = None) -> None:
        """Start connecting to a ``ws://`` or ``wss://`` URL (no scheme means ``ws://``).

        It returns at once; ``poll()`` shows the state go OPEN, or CLOSED if the
        connection fails (then ``connection_error`` says why). A ``wss://`` URL
        verifies the server with the system's certificates unless ``tls_options``
        (from :meth:`TLSOptions.client` or :meth:`TLSOptions.client_unsafe`) say
        otherwise.

        Raises:
            ValueError: The URL is invalid or not ``ws``/``wss``; ``tls_options``
                are server options, or given for a ``ws://`` URL; or a setting is
                invalid (a sub-protocol or header line).
            InvalidState: The peer is in use (not CLOSED), or no event loop runs.
        """
        loop = running_loop("connect_to_url()")
        self._check_unused("connect_to_url")
        full = url if "://" in url else "ws://" + url
        try:
            uri = parse_uri(full)
        except (InvalidURI, ValueError) as exc:
            raise ValueError(f"invalid WebSocket URL {url!r}: {exc}") from None
        if tls_options is not None and tls_options.is_server():
            raise ValueError("connect_to_url() needs client TLS options, not server ones")
        if tls_options is not None and not uri.secure:
            raise ValueError("TLS options were given for a ws:// URL; use wss://")
        if uri.secure and tls_options is None:
            tls_options = TLSOptions.client()  # Godot's default: verify everything
        settings = self._settings()
        context = tls_options.context if tls_options is not None else None
        server_hostname = (tls_options.get_common_name_override() or None) if tls_options else None
        if settings.backend == "picows":
            from .websocket_picows import PicowsLink

            stream = StreamPeerTCP._connect(
                loop, uri.host, uri.port, context, server_hostname or uri.host
            )
            plink = PicowsLink(True, stream, settings, url, secure=uri.secure, uri=uri)
            plink.requested_url = url
            self._start(plink)
            stream._attach(plink)
            return
        protocol = ClientProtocol(
            uri,
            subprotocols=[Subprotocol(p) for p in settings.protocols] or None,
            max_size=settings.inbound_buffer_size,
        )
        context = tls_options.context if tls_options is not None else None
        server_hostname = (tls_options.get_common_name_override() or None) if tls_options else None
        stream = StreamPeerTCP._connect(
            loop, uri.host, uri.port, context, server_hostname or uri.host
        )
        link = PeerLink(protocol, stream, settings, url, secure=uri.secure)
        link.requested_url = url
        self._start(link)
        stream._attach(link)

    def accept_stream(self, stream: StreamPeerTCP | StreamPeerTLS) -> None:
        """Be the server side of a connection taken from a :class:`TCPServer`
        (or of a :class:`StreamPeerTLS` accepted on one, for ``wss://``).

        The WebSocket handshake, and the TLS one, run in the background; a client
        that does not finish them within ``handshake_timeout`` is dropped.

        Raises:
            InvalidState: The peer is in use (not CLOSED); the stream never
                connected, or is used already; or no event loop runs.
            TypeError: ``stream`` is neither a StreamPeerTCP nor a StreamPeerTLS.
            ValueError: A setting is invalid (a sub-protocol or header line).
        """
        running_loop("accept_stream()")
        self._check_unused("accept_stream")
        tcp, secure = _tcp_of(stream)
        settings = self._settings()
        if settings.backend == "picows":
            from .websocket_picows import PicowsLink

            host, port = tcp.get_connected_host(), tcp.get_connected_port()
            name = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            if tcp.get_status() is StreamPeerTCP.STATUS_CONNECTED:
                tcp.set_no_delay(True)
            self._start(PicowsLink(False, tcp, settings, name, secure=secure))
            assert self._link is not None
            tcp._attach(self._link)
            return
        protocol = ServerProtocol(
            subprotocols=[Subprotocol(p) for p in settings.protocols] or None,
            select_subprotocol=_subprotocol_selector(settings.protocols),
            max_size=settings.inbound_buffer_size,
        )
        host, port = tcp.get_connected_host(), tcp.get_connected_port()
        name = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if tcp.get_status() is StreamPeerTCP.STATUS_CONNECTED:
            tcp.set_no_delay(True)  # Godot does it here (asyncio skips accepted sockets)
        self._start(PeerLink(protocol, tcp, settings, name, secure=secure))
        assert self._link is not None
        tcp._attach(self._link)

    def _check_unused(self, what: str) -> None:
        if self._state is not CLOSED:
            raise InvalidState(
                f"{what}() needs a CLOSED peer; this one is {self._state.name}: close() it "
                "and poll() until STATE_CLOSED first"
            )

    def _start(self, link: PeerLink) -> None:
        if self._link is not None:
            self._link.on_arrival = None
        link.on_arrival = self._on_arrival
        self._link = link
        self._state = CONNECTING
        self._revealed = 0
        self._was_string = False
        self._close_code, self._close_reason = -1, ""
        self._selected_protocol = ""
        self._requested_url = link.requested_url

    # Polling.

    def poll(self) -> None:
        """Show what happened since the last poll: state, packets, close code."""
        link = self._link
        if link is None:
            return
        queued = len(link.received)
        fresh = queued > self._revealed
        self._revealed = queued
        state = link.state
        if fresh and state > OPEN and link.opened:
            # The packets are shown while OPEN (or CLOSING, after close()); the
            # end of the connection, at the next poll.
            state = max(self._state, OPEN)
        if state is not self._state:
            self._show(link, state)

    def _show(self, link: PeerLink, state: State) -> None:
        self._state = state
        if link.opened:
            self._selected_protocol = link.selected_protocol
            self._requested_url = link.requested_url
        if state is CLOSED:
            self._close_code, self._close_reason = link.close_code, link.close_reason

    def get_ready_state(self) -> State:
        return self._state

    # Receiving.

    def get_available_packet_count(self) -> int:
        """Packets shown by ``poll()`` and not taken yet (in any state: packets
        that came before a close stay readable after it)."""
        return self._revealed

    def get_packet(self) -> bytes:
        """The next packet (a text message comes as its UTF-8 bytes; see
        :meth:`was_string_packet`).

        Raises:
            InvalidState: No packet is available.
        """
        link = self._link
        if not self._revealed or link is None:
            raise InvalidState("no packet available; check get_available_packet_count() first")
        self._revealed -= 1
        data, self._was_string = link.take()
        return data

    def was_string_packet(self) -> bool:
        """Whether the last packet taken was a text message."""
        return self._was_string

    # Sending.

    def send(self, message: bytes | bytearray | memoryview | str, write_mode: int = 1) -> None:
        """Send ``message`` as one binary message, or a text one with
        ``WRITE_MODE_TEXT`` (a str is sent as text in that mode only).

        Raises:
            InvalidState: The state is not OPEN.
            ValueError: ``write_mode`` is unknown, or a text message is not UTF-8.
            TypeError: A str in binary mode (use :meth:`send_text`).
            OutboundBufferFull: It would leave more than ``outbound_buffer_size``
                bytes unsent.
        """
        try:
            mode = WriteMode(write_mode)
        except ValueError:
            raise ValueError(f"unknown write_mode {write_mode!r}") from None
        if mode is WriteMode.WRITE_MODE_BINARY:
            if isinstance(message, str):
                raise TypeError("send() takes bytes in binary mode; use send_text() for a str")
            self._send(bytes(message), False)
        elif isinstance(message, str):
            self._send(message.encode(), True)
        else:
            data = bytes(message)
            try:
                data.decode()
            except UnicodeDecodeError as exc:
                raise ValueError(f"a text message must be UTF-8: {exc}") from None
            self._send(data, True)

    def send_text(self, message: str) -> None:
        """Send ``message`` as a text message (see :meth:`send` for the errors)."""
        if not isinstance(message, str):
            raise TypeError(f"send_text() takes a str, not {type(message).__name__}")
        self._send(message.encode(), True)

    def put_packet(self, buffer: bytes | bytearray | memoryview) -> None:
        """Send ``buffer`` as a binary message (see :meth:`send` for the errors)."""
        if isinstance(buffer, str):
            raise TypeError("put_packet() takes bytes; use send_text() for a str")
        self._send(bytes(buffer), False)

    def _send(self, data: bytes, text: bool) -> None:
        link = self._link
        if self._state is not OPEN or link is None:
            raise InvalidState(
                f"cannot send: the connection is {self._state.name}, not STATE_OPEN "
                "(poll() until get_ready_state() is STATE_OPEN)"
            )
        transport, protocol = link.transport, link.protocol
        if protocol.state is not ProtocolState.OPEN or transport is None or transport.is_closing():
            # The connection is closing under the user's feet: poll() will show it.
            logger.debug("WebSocket %s: message not sent: the connection is closing", link.name)
            return
        buffered, limit = transport.get_write_buffer_size(), self._outbound_buffer_size
        if buffered + len(data) > limit:
            raise OutboundBufferFull(len(data), buffered, limit)
        link.write_binary([data], text)

    def get_current_outbound_buffered_amount(self) -> int:
        """Bytes sent but not written to the socket yet (0 unless OPEN)."""
        link = self._link
        if self._state is not OPEN or link is None or link.transport is None:
            return 0
        return link.transport.get_write_buffer_size()

    # Closing.

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection: send a close frame with ``code`` and ``reason``;
        the state is CLOSING until the peer answers (or ``handshake_timeout``
        passes). A negative ``code`` cuts the connection without telling the peer:
        CLOSED at once. Packets already received stay readable; later ones are
        dropped, as in Godot.

        Raises:
            ValueError: ``code`` cannot be sent (RFC 6455 7.4), or ``reason`` is
                longer than 123 bytes in UTF-8.
        """
        link = self._link
        if code >= 0:
            _check_close(code, reason)
        if link is None or self._state is CLOSED:
            return
        if code < 0 or self._state is CONNECTING:
            link.cut()
            self._show(link, CLOSED)
            self._close_code, self._close_reason = -1, ""
        elif self._state is OPEN:
            link.close(code, reason)
            self._state = CLOSING

    def get_close_code(self) -> int:
        """The code of the close frame received, or -1 if the connection did not
        close cleanly (meaningful once CLOSED). After a protocol error of the peer,
        the code sent for it (1002, 1007, 1009, ...), as in Godot."""
        return self._close_code

    def get_close_reason(self) -> str:
        """The reason of the close frame received (see :meth:`get_close_code`)."""
        return self._close_reason

    # Connection details.

    def get_selected_protocol(self) -> str:
        """The sub-protocol agreed on ("" if none, or not OPEN yet)."""
        return self._selected_protocol

    def get_requested_url(self) -> str:
        """The URL given to ``connect_to_url()``, or, on a server, built from the
        client's request once OPEN."""
        return self._requested_url

    def get_connected_host(self) -> str:
        """The peer's IP address ("" when unknown)."""
        return self._link.stream.get_connected_host() if self._link is not None else ""

    def get_connected_port(self) -> int:
        """The peer's port (0 when unknown)."""
        return self._link.stream.get_connected_port() if self._link is not None else 0

    def set_no_delay(self, enabled: bool) -> None:
        """Turn Nagle's algorithm off (``True``, the default) or on.

        Raises:
            InvalidState: There is no connected socket.
        """
        if self._link is None:
            raise InvalidState("set_no_delay() needs a connection")
        self._link.stream.set_no_delay(enabled)

    @property
    def connection_error(self) -> BaseException | None:
        """Why the connection failed or was cut, if it did (not in Godot): the
        network error, ``TimeoutError``, or the handshake refusal."""
        return self._link.error if self._link is not None else None

    # Private: for a multiplayer peer built on links.

    def _set_arrival_hook(self, hook: Callable[[], None] | None) -> None:
        """Call ``hook`` from the event loop whenever bytes read changed what the
        next ``poll()`` shows (packets or state). It may call ``poll()`` and
        ``get_packet()``; it must not raise."""
        self._on_arrival = hook
        if self._link is not None:
            self._link.on_arrival = hook


def _tcp_of(stream: StreamPeerTCP | StreamPeerTLS) -> tuple[StreamPeerTCP, bool]:
    """The TCP stream under ``stream``, and whether it is TLS, checked unused.

    A stream that connected and has dropped since is accepted: the drop shows as
    CLOSED at the next ``poll()``, as any network event does.
    """
    if isinstance(stream, StreamPeerTLS):
        tcp, secure = stream.get_stream(), True
        used = tcp._socket.user is not None
    elif isinstance(stream, StreamPeerTCP):
        tcp, secure = stream, False
        used = stream._in_use()
    else:
        raise TypeError(f"accept_stream() takes a StreamPeerTCP or StreamPeerTLS, not {stream!r}")
    if used or not tcp._ever_connected():
        raise InvalidState("accept_stream() needs a stream taken from a TCPServer, unused yet")
    return tcp, secure


def _subprotocol_selector(
    supported: tuple[str, ...],
) -> Callable[[ServerProtocol, Sequence[Subprotocol]], Subprotocol | None]:
    """Godot's choice: the first of the client's sub-protocols that the server
    supports; the handshake fails if there is none, or if the server has some
    and the client requested none."""

    def select(_: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        for name in offered:
            if name in supported:
                return name
        if offered:
            raise NegotiationError(f"none of the sub-protocols {', '.join(offered)} is supported")
        if supported:
            raise NegotiationError(
                f"no sub-protocol requested; expected one of {', '.join(supported)}"
            )
        return None

    return select


def _protocol_name(name: str) -> str:
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise ValueError(f"invalid sub-protocol name in supported_protocols: {name!r}")
    return name


def _header(line: str) -> tuple[str, str]:
    """A ``"Name: value"`` line of ``handshake_headers``, split."""
    name, colon, value = line.partition(":") if isinstance(line, str) else ("", "", "")
    if not colon or not _TOKEN.fullmatch(name.strip()) or "\r" in line or "\n" in line:
        raise ValueError(f"handshake_headers lines must be 'Name: value', not {line!r}")
    return name.strip(), value.strip()


def _check_close(code: int, reason: str) -> None:
    if not (code in EXTERNAL_CLOSE_CODES or 3000 <= code < 5000):
        raise ValueError(
            f"close code {code} cannot be sent: use 1000-1003, 1007-1014, 3000-4999 "
            "(or a negative code to cut the connection)"
        )
    if len(reason.encode()) > 123:
        raise ValueError("a close reason must fit in 123 bytes of UTF-8")


def _positive(name: str, value: int) -> int:
    if int(value) <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return int(value)
