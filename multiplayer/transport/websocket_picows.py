"""``PicowsLink``: a :class:`~.websocket_peer_link.PeerLink` whose WebSocket protocol is
picows (Cython) instead of websockets' Sans-I/O layer: the ``"picows"`` backend
(``WebSocketMultiplayerPeer(backend="picows")``; docs/transport.md). ``run.py test``
runs the transport's tests on it as well.

The TCP (and TLS) side is unchanged: a :class:`~.tcp_server.StreamPeerTCP` (or a
:class:`~.tls.StreamPeerTLS` on it) makes the asyncio transport and hands it to its
user, this link. Then:

* a client hands the transport to picows at once (``transport.set_protocol``), which
  sends the upgrade request and parses the 101;
* a server first reads the HTTP request itself (so that a router can hold the 101,
  as :func:`~.websocket_peer_link.accept_routed` needs), then hands the transport
  to picows and replays the request bytes into it; picows' listener factory answers
  with the 101 (the sub-protocol chosen here, the extra headers added) or a 400.

From then on picows reads the socket (BufferedProtocol, no copy), parses frames and
calls :class:`_Listener`, which does what ``PeerLink._frame`` does: messages to the
sink or the queue, fragments, pongs, close frames. Writes go through
``WSTransport.send``, which tries ``send()`` on the socket first.

What the rest of the transport reads of websockets' protocol object
(``conn.protocol.close_rcvd``, ``.state``, ``.send_ping``...) is given by
:class:`_ProtocolView`.

What picows does not do, done here: holding the 101 (above); sub-protocol
negotiation (Godot's rule); reassembling fragmented messages and limiting a whole
message (picows limits a frame); checking text is UTF-8; checking the request is an
upgrade before the router sees it; an empty close frame (its ``send_close`` writes
code 0); reporting the peer's protocol errors (it logs them and closes: the link
notices the close frame it did not send); and holding messages already parsed when
reading pauses, so that ``max_queued_packets`` stays exact. Still different: each
message is its own write to the socket (websockets' path writes a flush at once),
and some log lines are in picows' words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from picows import (
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)
from picows.picows import WSProtocol  # type: ignore[attr-defined]  # (not in its stubs)
from websockets.datastructures import Headers
from websockets.frames import Close, CloseCode
from websockets.headers import build_host
from websockets.protocol import State as ProtocolState
from websockets.uri import WebSocketURI

from .tcp_server import StreamPeerTCP
from .websocket_peer_link import (
    CLOSED,
    CLOSING,
    CONNECTING,
    OPEN,
    LinkSettings,
    PeerLink,
    _describe,
    _early_frame,
    fit_close_reason,
)

__all__ = ["PicowsLink"]

logger = logging.getLogger("multiplayer.transport")

_BINARY, _TEXT, _CONT = WSMsgType.BINARY.value, WSMsgType.TEXT.value, WSMsgType.CONTINUATION.value
_CLOSE, _PONG = WSMsgType.CLOSE.value, WSMsgType.PONG.value
_P_OPEN, _P_CLOSING, _P_CLOSED = ProtocolState.OPEN, ProtocolState.CLOSING, ProtocolState.CLOSED
_MAX_REQUEST = 16 * 1024  # picows' own limit on the HTTP request


class _QuietParserErrors(logging.Filter):
    """picows logs a protocol error of the peer at ERROR; the link reports it itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("WS parser error", "Disconnected"))


_picows_logger = logging.getLogger("picows.multiplayer")
_picows_logger.setLevel(logging.WARNING)  # (picows logs every connection at INFO)
_picows_logger.addFilter(_QuietParserErrors())
# An adapter: given a Logger, picows makes a child logger per connection, which
# the filter above would not see.
_picows_log = logging.LoggerAdapter(_picows_logger, {})


class _ProtocolView:
    """The part of websockets' ``Protocol`` that code outside the link reads."""

    __slots__ = (
        "close_rcvd",
        "close_sent",
        "extensions",
        "handshake_exc",
        "link",
        "parser_exc",
        "state",
        "subprotocol",
    )

    def __init__(self) -> None:
        self.link: PicowsLink | None = None
        self.state = ProtocolState.CONNECTING
        self.close_rcvd: Close | None = None
        self.close_sent: Close | None = None
        self.subprotocol: str | None = None
        self.extensions: tuple[object, ...] = ()  # (none is offered)
        self.handshake_exc: BaseException | None = None
        self.parser_exc: BaseException | None = None

    def send_ping(self, data: bytes) -> None:
        link = self.link
        if link is not None and link.ws is not None:
            link.ws.send_ping(data)

    def send_close(self, code: int, reason: str = "") -> None:
        link = self.link
        if link is not None and link.ws is not None and self.state is _P_OPEN:
            link._send_close(code, reason)

    def data_to_send(self) -> list[bytes]:
        return []  # (picows writes at once)

    def receive_eof(self) -> None:
        pass

    def close_expected(self) -> bool:
        return self.state is _P_CLOSING


class _Protocol(WSProtocol):  # type: ignore[misc]
    """picows' protocol, telling the stream (and so the link) when the socket closes."""

    def __init__(self, link: PicowsLink, *args: object) -> None:
        super().__init__(*args)
        self.link = link

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        link = self.link
        link.stream._socket.connection_lost(exc)  # marks the stream lost; calls the link


class _Listener(WSListener):
    def __init__(self, link: PicowsLink) -> None:
        self.link = link

    def on_ws_connected(self, transport: WSTransport) -> None:
        link = self.link
        link.ws = transport
        link._opened_by_picows()

    def on_ws_frame(self, transport: object, frame: object) -> None:
        self.link._on_frame(frame)

    def pause_writing(self) -> None:
        self.link.backed_up = True

    def resume_writing(self) -> None:
        self.link.backed_up = False


class PicowsLink(PeerLink):
    """The event-loop side of one connection, with picows for the WebSocket protocol."""

    def __init__(
        self,
        is_client: bool,
        stream: StreamPeerTCP,
        settings: LinkSettings,
        name: str,
        *,
        secure: bool = False,
        uri: WebSocketURI | None = None,
    ) -> None:
        view = _ProtocolView()
        super().__init__(view, stream, settings, name, secure=secure)  # type: ignore[arg-type]
        view.link = self
        self.view = view
        self.is_client = is_client
        self.uri = uri
        self.ws: WSTransport | None = None  # picows' transport, once handed over
        self.wsproto: _Protocol | None = None
        self.listener = _Listener(self)
        self.request = bytearray()  # a server's HTTP request, read before the hand-over
        self.held_messages: list[tuple[bytes, bool]] = []  # read while paused
        self.frag_size = 0
        self.sent_close = False
        self.routed_path = ""
        # A client's handshake answered with another status than 101: it, its headers.
        self.refused_with: tuple[int, tuple[tuple[str, str], ...]] | None = None

    # StreamUser callbacks (until the hand-over; then picows' protocol has the socket).

    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        self.transport = transport
        self.high_water = transport.get_write_buffer_limits()[1]
        if self.is_client:
            self._hand_over(b"")

    def data_received(self, data: bytes) -> None:
        if self.wsproto is not None:  # (a TLS layer's held bytes, after the hand-over)
            _feed(self.wsproto, data)
            return
        if self.routed is not None or self.state is not CONNECTING:
            _early_frame(self)  # bytes after the request, before the router answered
            return
        self.request += data
        end = self.request.find(b"\r\n\r\n")
        if end < 0:
            if len(self.request) >= _MAX_REQUEST:
                self._refused(None, "the HTTP request is too long")
                self.abort()
            return
        head = bytes(self.request[:end]).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
            # (as websockets: no answer to what is not HTTP)
            self._refused(None, "invalid handshake: did not receive a valid HTTP request")
            self.abort()
            return
        path = parts[1]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        self.requested_url = ("wss://" if self.secure else "ws://") + headers.get("host", "") + path
        if "websocket" not in headers.get("upgrade", "").lower():
            # websockets answers 426 before a router sees the request; picows would
            # only check after its factory: answer here.
            self._refused(None, "invalid handshake: missing Upgrade: websocket")
            self._hand_over(bytes(self.request), (), refuse=426)
            return
        if self.router is not None:
            if len(self.request) != end + 4:
                _early_frame(self)  # (a frame in the request's read, before the 101)
                return
            response = Headers()
            self.routed = (path, _Held(response))  # type: ignore[assignment]
            self.router(self, path, headers)
            return
        state = self.state
        self._hand_over(bytes(self.request), ())
        if self.state is not state:
            self._arrived()

    def eof_received(self) -> bool | None:
        return None  # (before the hand-over: close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state is CLOSED:
            return
        view = self.view
        view.state = _P_CLOSED
        if self.held_messages:  # the peer left while reading was paused
            held, self.held_messages, self.paused = self.held_messages, [], False
            for data, text in held:
                self._message(data, text)
        self._picows_failed()
        if not self.opened and self.wsproto is not None and self.is_client:
            failed = _handshake_error(self.wsproto)
            if failed is not None and self.error is None:
                response = getattr(failed, "response", None)
                if response is not None and int(response.status) != 101:
                    answer = tuple((str(k), str(v)) for k, v in response.headers.items())
                    self.refused_with = (int(response.status), answer)  # (a redirect?)
                    failed = ConnectionRefusedError(
                        f"server rejected WebSocket connection: HTTP {int(response.status)}"
                    )
                self.error = failed
                self._report(logging.WARNING, "the server refused the handshake: %s", failed)
        self._cancel_timers()
        _report_end(self, exc)
        self.state = CLOSED
        self._arrived()

    # The hand-over to picows.

    def _hand_over(
        self, replay: bytes, extra: tuple[tuple[str, str], ...] = (), refuse: int = 0
    ) -> None:
        transport = self.transport
        assert transport is not None
        settings = self.settings
        if self.is_client:
            uri = self.uri
            assert uri is not None
            headers = list(settings.headers)
            if settings.protocols:
                headers.append(("Sec-WebSocket-Protocol", ", ".join(settings.protocols)))
            factory: Callable[..., object] = self._client_factory
            host_port = build_host(uri.host, uri.port, uri.secure)
            path = uri.resource_name
        else:
            factory = lambda request: self._server_factory(request, extra, refuse)  # noqa: E731
            headers, host_port, path = [], None, None
        proto = _Protocol(
            self,
            host_port,
            path,
            self.is_client,
            factory,
            _picows_log,
            True,  # disconnect_on_exception
            None,  # handshake timeout: the link's own
            False,
            20.0,
            20.0,
            1,  # auto ping: off (the link's Heartbeat pings)
            True,  # auto pong
            settings.inbound_buffer_size,  # max_frame_size
            headers or None,
            16 * 1024,
        )
        self.wsproto = proto
        transport.set_protocol(proto)
        proto.connection_made(transport)
        if replay:
            _feed(proto, replay)

    def _client_factory(self, request: object, response: object) -> WSListener:
        protocols = self.settings.protocols
        headers = response.headers  # type: ignore[attr-defined]
        self.response_headers = tuple(headers.items())
        chosen = headers.get("Sec-WebSocket-Protocol")
        if protocols and chosen not in protocols:
            self.error = ConnectionRefusedError("the server selected none of supported_protocols")
            self._report(logging.WARNING, "the server selected none of supported_protocols")
            raise self.error
        self.view.subprotocol = chosen
        return self.listener

    def _server_factory(
        self, request: object, extra: tuple[tuple[str, str], ...], refuse: int = 0
    ) -> WSUpgradeResponseWithListener:
        if refuse:
            response = WSUpgradeResponse.create_error_response(
                refuse, b"Failed to open a WebSocket connection.\n", [("Upgrade", "websocket")]
            )
            return WSUpgradeResponseWithListener(response, None)
        supported = self.settings.protocols
        offered = [
            p.strip()
            for value in request.headers.getall("Sec-WebSocket-Protocol", [])  # type: ignore[attr-defined]
            for p in value.split(",")
            if p.strip()
        ]
        chosen = next((p for p in offered if p in supported), None)
        if chosen is None and (offered or supported):
            why = (
                f"none of the sub-protocols {', '.join(offered)} is supported"
                if offered
                else f"no sub-protocol requested; expected one of {', '.join(supported)}"
            )
            self._refused(None, f"refused the handshake (400): {why}")
            response = WSUpgradeResponse.create_error_response(400, why.encode())
            return WSUpgradeResponseWithListener(response, None)
        headers = [*self.settings.headers, *extra]
        if chosen is not None:
            headers.append(("Sec-WebSocket-Protocol", chosen))
            self.view.subprotocol = chosen
        response = WSUpgradeResponse.create_101_response(headers)
        return WSUpgradeResponseWithListener(response, self.listener)

    def redirect(self, location: str, headers: tuple[tuple[str, str], ...]) -> None:
        """redirect_routed: answer the held request with a 307 to ``location``, and
        close. (picows makes no 3xx response: it is written here, before any
        hand-over to picows.)"""
        lines = [
            "HTTP/1.1 307 Temporary Redirect",
            f"Location: {location}",
            *(f"{name}: {value}" for name, value in headers),
            "Content-Length: 0",
            "Connection: close",
        ]
        self._refused(None, "redirected")
        transport = self.transport
        if transport is not None:
            transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            transport.close()
        self._arrived()

    def _respond(self, request: object, response: object) -> None:
        """accept_routed: send the held 101, with the router's headers."""
        headers = tuple(response.headers.raw_items())  # type: ignore[attr-defined]
        self._hand_over(bytes(self.request), headers)

    def _opened_by_picows(self) -> None:
        self.view.state = _P_OPEN
        self._open()
        if self.is_client:
            self._arrived()

    # Receiving.

    def _on_frame(self, frame) -> None:  # type: ignore[no-untyped-def]
        ws = self.ws
        assert ws is not None, "frames come once picows has the transport"
        if self.failure is not None or (ws.is_close_frame_sent and not self.sent_close):
            self._picows_failed()
            if not self.is_client and self.ws is not None:
                self.ws.disconnect()
            return
        opcode = frame.msg_type
        if opcode == _BINARY or opcode == _TEXT:
            if self.fragments.parts:
                self._fail(
                    CloseCode.PROTOCOL_ERROR, "protocol error: expected a continuation frame"
                )
            elif frame.fin:
                self._message(frame.get_payload_as_bytes(), opcode == _TEXT)
            else:
                data = frame.get_payload_as_bytes()
                self.frag_size = len(data)
                self.fragments.start(data, opcode == _TEXT)
        elif opcode == _CONT:
            if not self.fragments.parts:
                self._fail(
                    CloseCode.PROTOCOL_ERROR, "protocol error: unexpected continuation frame"
                )
            else:
                data = frame.get_payload_as_bytes()
                self.frag_size += len(data)
                if self.frag_size > self.settings.inbound_buffer_size:
                    limit = self.settings.inbound_buffer_size
                    self.fragments.stop()
                    self.fragments.parts = []
                    self._fail(
                        CloseCode.MESSAGE_TOO_BIG,
                        f"sent a message over inbound_buffer_size ({limit} bytes)",
                    )
                else:
                    whole = self.fragments.add(data, frame.fin)
                    if whole is not None:
                        self._message(*whole)
        elif opcode == _PONG:
            self.heartbeat.pong()
        elif opcode == _CLOSE:
            self._close_frame(frame)
        if frame.last_in_buffer:
            self._arrived()

    def _picows_failed(self) -> None:
        """picows failed the connection (a protocol error of the peer's: it sent a
        close frame itself): take it as this link's failure, once."""
        ws = self.ws
        if ws is None or self.failure is not None or self.sent_close:
            return
        handshake = ws.close_handshake
        sent = handshake.sent if handshake is not None else None
        if sent is None:
            return
        code = int(cast("int", sent.code))  # (an int at run time; its stubs say an Enum)
        if code == CloseCode.MESSAGE_TOO_BIG:
            limit = self.settings.inbound_buffer_size
            reason = f"sent a message over inbound_buffer_size ({limit} bytes)"
        else:
            reason = f"protocol error: {sent.reason}"
        self.failure = Close(code, reason)
        self.view.close_sent = self.failure
        self.view.state = _P_CLOSING
        self._report(logging.WARNING, "%s; closing with %d", reason, code)
        self._expect_close()

    def _message(self, data: bytes, text: bool) -> None:
        if self.sink is None and not self.discarding and (self.paused or self.received.room() <= 0):
            self.held_messages.append((data, text))
            self.hold_reading()
            return
        super()._message(data, text)

    def _close_frame(self, frame) -> None:  # type: ignore[no-untyped-def]
        code = int(frame.get_close_code())
        if frame.payload_size == 0:
            code = CloseCode.NO_STATUS_RCVD
        reason = frame.get_close_reason() if frame.payload_size > 2 else ""
        view = self.view
        view.close_rcvd = Close(code, reason)
        if self.state is OPEN:
            self.state = CLOSING
        ws = self.ws
        assert ws is not None
        if view.state is _P_OPEN:  # echo it
            if code == CloseCode.NO_STATUS_RCVD:
                ws.send(WSMsgType.CLOSE, b"")
            else:
                ws.send_close(code, reason.encode())  # type: ignore[arg-type]  # (any int: 4100...)
            self.sent_close = True
            view.state = _P_CLOSING
        if not self.is_client:
            ws.disconnect()  # the server closes the TCP connection
        else:
            self._expect_close()

    # Sending.

    def write_binary(self, messages: list[bytes], text: bool = False) -> bool:
        ws, transport = self.ws, self.transport
        if (
            self.view.state is not _P_OPEN
            or ws is None
            or transport is None
            or transport.is_closing()
        ):
            return False
        send = ws.send
        opcode = WSMsgType.TEXT if text else WSMsgType.BINARY
        for message in messages:
            send(opcode, message)
        return True

    def _write_pending(self) -> None:
        pass  # (picows writes at once)

    def _send_close(self, code: int, reason: str) -> None:
        ws = self.ws
        assert ws is not None
        ws.send_close(code, reason.encode())  # type: ignore[arg-type]  # (any int)
        self.sent_close = True
        self.view.close_sent = Close(code, reason)
        self.view.state = _P_CLOSING

    # Closing.

    def close(self, code: int, reason: str) -> None:
        self.discarding = True
        if self.view.state is _P_OPEN and self.ws is not None:
            self._send_close(code, fit_close_reason(reason))
            self._expect_close()
        if self.state is OPEN:
            self.state = CLOSING
        if self.paused:
            self._resume()

    def _fail(self, code: int, reason: str) -> None:
        self._report(logging.WARNING, "%s; closing with %d", reason, code)
        self.failure = Close(code, reason)
        if self.view.state is _P_OPEN and self.ws is not None:
            self._send_close(code, reason)
        if not self.is_client and self.ws is not None:
            self.ws.disconnect()
        self._expect_close()

    # Flow control.

    def _resume(self) -> None:
        self.resuming = False
        if not self.paused or self.state is CLOSED:
            return
        held, self.held_messages, self.paused = self.held_messages, [], False
        for i, (data, text) in enumerate(held):
            self._message(data, text)
            if self.paused:
                self.held_messages.extend(held[i + 1 :])
                break
        if not self.paused and self.transport is not None:
            self.transport.resume_reading()
        self._arrived()


class _Held:
    """The 101 a router holds: its headers, which accept_routed adds to."""

    __slots__ = ("headers",)

    def __init__(self, headers: Headers) -> None:
        self.headers = headers


def _feed(proto: WSProtocol, data: bytes) -> None:
    """Give picows' BufferedProtocol bytes read before it had the socket."""
    view = memoryview(data)
    while view:
        buffer = proto.get_buffer(len(view))
        size = min(len(buffer), len(view))
        buffer[:size] = view[:size]
        proto.buffer_updated(size)
        view = view[size:]


def _handshake_error(proto: WSProtocol) -> BaseException | None:
    """Why picows' client handshake failed (its future is done by now: read it
    without a task)."""
    coroutine = proto.wait_until_handshake_complete()
    try:
        coroutine.send(None)
    except StopIteration:
        return None
    except BaseException as exc:
        return exc
    coroutine.close()
    return None


def _report_end(link: PicowsLink, exc: Exception | None) -> None:
    """As websocket_peer_link._report_end, for a picows link."""
    rcvd = link.view.close_rcvd
    if rcvd is not None:
        link.close_code, link.close_reason = int(rcvd.code), rcvd.reason
        reason = f" {link.close_reason}" if link.close_reason else ""
        link._report(logging.INFO, "closed (%d%s)", link.close_code, reason)
    elif link.failure is not None:
        link.close_code, link.close_reason = int(link.failure.code), link.failure.reason
    elif not link.opened:
        link.error = link.error or exc or ConnectionResetError("closed during the handshake")
        if link.stream._socket.tls_failed:
            return
        level = logging.WARNING if link.is_client else logging.INFO
        link._report(level, "connection failed: %s", _describe(link.error))
    else:
        link.error = link.error or exc
        link._report(logging.INFO, "connection lost without a close frame (close code -1)")
