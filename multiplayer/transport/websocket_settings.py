"""``WebSocketSettings``: the settings of a WebSocket peer, with Godot's names.

Godot's WebSocketMultiplayerPeer keeps its settings on the peer and copies them into
each connection's WebSocketPeer as it makes it (``_create_peer``); so does
:meth:`WebSocketSettings._new_ws` here. Those that
shape the connection (buffer sizes, keepalive) must be set before
``create_server`` / ``create_client``.
"""

from __future__ import annotations

import dataclasses
import math

from ..exceptions import InvalidState
from .framing import framing_for
from .peer import ConnectionStatus
from .queued_peer import QueuedPeer
from .websocket_peer import WebSocketPeer
from .websocket_peer_link import LinkSettings, check_backend, default_backend

__all__ = [
    "DEFAULT_INBOUND_BUFFER_SIZE",
    "DEFAULT_MAX_LOOP_LAG",
    "DEFAULT_MAX_QUEUED_PACKETS",
    "DEFAULT_OUTBOUND_BUFFER_SIZE",
    "DEFAULT_RECONNECT_GRACE",
    "DEFAULT_RESUME_BUFFER_SIZE",
    "MAX_RECONNECT_GRACE",
    "MIN_MESSAGE_SIZE",
    "WebSocketSettings",
]

DEFAULT_INBOUND_BUFFER_SIZE = 1 << 20
DEFAULT_OUTBOUND_BUFFER_SIZE = 4 << 20
DEFAULT_MAX_QUEUED_PACKETS = 4096
DEFAULT_RECONNECT_GRACE = 30.0
MAX_RECONNECT_GRACE = 86400.0  # a day: the greeting carries it in milliseconds, in 32 bits
DEFAULT_RESUME_BUFFER_SIZE = 4 << 20
DEFAULT_MAX_LOOP_LAG = 1.5  # a handshake needs two passes of the loop at least: 3 s / 2
MIN_MESSAGE_SIZE = 64
"""The smallest message limit a side may announce: room for real packets."""


class WebSocketSettings(QueuedPeer):
    """A peer's protocol profile and its WebSocket settings.

    Args:
        protocol: The profile to speak: its framing (:func:`.framing.framing_for`)
            decides the greeting and how packets are put in messages.

    Attributes:
        supported_protocols: WebSocket sub-protocols. When set on either side, both
            sides must share one or the handshake fails (Godot's rule).
        handshake_headers: Extra HTTP headers sent in the handshake (the request on a
            client, the response on a server).

    Raises:
        ValueError: ``protocol`` names no known profile.
    """

    def __init__(self, protocol: str = "native", backend: str | None = None) -> None:
        super().__init__()
        self._framing = framing_for(protocol)
        self._backend = check_backend(backend) if backend is not None else default_backend()
        self.supported_protocols: list[str] = []
        self.handshake_headers: dict[str, str] = {}
        self._handshake_timeout = 3.0
        self._inbound_buffer_size = DEFAULT_INBOUND_BUFFER_SIZE
        self._outbound_buffer_size = DEFAULT_OUTBOUND_BUFFER_SIZE
        self._max_queued_packets = DEFAULT_MAX_QUEUED_PACKETS
        self._heartbeat_interval: float | None = 20.0
        self._heartbeat_timeout: float | None = 20.0
        self._reconnect_grace = DEFAULT_RECONNECT_GRACE if self._framing.resumable else 0.0
        self._resume_buffer_size = DEFAULT_RESUME_BUFFER_SIZE
        self._max_loop_lag = DEFAULT_MAX_LOOP_LAG

    @property
    def backend(self) -> str:
        """The WebSocket implementation of its connections: ``"websockets"`` or
        ``"picows"`` (read-only; chosen at construction)."""
        return self._backend

    @property
    def protocol(self) -> str:
        """The protocol profile this peer speaks (read-only; default ``"native"``)."""
        return self._framing.name

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
    def max_loop_lag(self) -> float:
        """Seconds (default 1.5; 0: no limit): a server whose event loop runs later
        than this is saturated, and refuses new clients with 1013 "server saturated"
        rather than let their handshakes time out; it logs when it becomes saturated
        and when it recovers. Players already in, and resumes, are not refused. The
        lag is the loop's mean delay over the last 2 seconds
        (:mod:`~multiplayer.transport.loop_load`)."""
        return self._max_loop_lag

    @max_loop_lag.setter
    def max_loop_lag(self, seconds: float) -> None:
        if not seconds >= 0 or math.isinf(seconds):
            raise ValueError(f"max_loop_lag must be 0 (no limit) or a positive time, not {seconds}")
        self._max_loop_lag = float(seconds)

    @property
    def inbound_buffer_size(self) -> int:
        """The largest message accepted, in bytes (default 1 MiB; Godot's is 64 KiB)."""
        return self._inbound_buffer_size

    @inbound_buffer_size.setter
    def inbound_buffer_size(self, size: int) -> None:
        self._check_settable("inbound_buffer_size")
        self._inbound_buffer_size = _at_least("inbound_buffer_size", size, MIN_MESSAGE_SIZE)

    @property
    def outbound_buffer_size(self) -> int:
        """Unsent bytes allowed per peer before it is dropped as not reading (4 MiB)."""
        return self._outbound_buffer_size

    @outbound_buffer_size.setter
    def outbound_buffer_size(self, size: int) -> None:
        self._outbound_buffer_size = _at_least("outbound_buffer_size", size, 64)

    @property
    def max_queued_packets(self) -> int:
        """Untaken packets per peer before reading from it pauses (default 4096)."""
        return self._max_queued_packets

    @max_queued_packets.setter
    def max_queued_packets(self, count: int) -> None:
        self._max_queued_packets = _at_least("max_queued_packets", count, 1)

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
    def reconnect_grace(self) -> float:
        """Seconds a session whose connection was lost is kept for its client to
        resume (docs/resume.md). Default 30 in the native profile; 0 turns resuming
        off, and is the only value in the godot profile (Godot's protocol cannot
        resume). A server keeps a dropped peer this long; a client tries to come
        back for at most this long, and for no longer than its server's grace.

        Raises:
            ValueError: (setting) A negative value, or a positive one in a profile
                that cannot resume.
            InvalidState: (setting) The peer is in use.
        """
        return self._reconnect_grace

    @reconnect_grace.setter
    def reconnect_grace(self, seconds: float) -> None:
        self._check_settable("reconnect_grace")
        if not 0 <= seconds < MAX_RECONNECT_GRACE:  # (and not NaN)
            raise ValueError(
                f"reconnect_grace must be 0 (off) or more, under {MAX_RECONNECT_GRACE} s,"
                f" not {seconds}"
            )
        if seconds and not self._framing.resumable:
            raise ValueError(
                f"the {self._framing.name!r} protocol cannot resume a session"
                " (Godot's protocol has no resume): reconnect_grace must stay 0"
            )
        self._reconnect_grace = float(seconds)

    @property
    def resume_buffer_size(self) -> int:
        """Bytes sent to a peer and not yet acknowledged that are kept to be sent
        again on a resume (default 4 MiB): while a peer is away, what is put for it
        waits here, and a session whose buffer overflows ends (docs/resume.md)."""
        return self._resume_buffer_size

    @resume_buffer_size.setter
    def resume_buffer_size(self, size: int) -> None:
        self._check_settable("resume_buffer_size")
        self._resume_buffer_size = _at_least("resume_buffer_size", size, MIN_MESSAGE_SIZE)

    def _link_settings(self) -> LinkSettings:
        """The settings of each connection's WebSocketPeer (Godot's ``_create_peer``
        copies them into each): ``max_queued_packets`` is this peer's to enforce,
        on its own queue, so the link's own is never used."""
        return LinkSettings(
            inbound_buffer_size=self._inbound_buffer_size,
            max_queued_packets=self._max_queued_packets,
            heartbeat_interval=self._heartbeat_interval or 0.0,
            handshake_timeout=self._handshake_timeout,
            protocols=tuple(self.supported_protocols),
            headers=tuple(self.handshake_headers.items()),
            heartbeat_timeout=_or_never(self._heartbeat_timeout),
            backend=self._backend,
        )

    def _new_ws(
        self, headers: tuple[tuple[str, str], ...] = (), without: tuple[str, ...] = ()
    ) -> WebSocketPeer:
        """A WebSocketPeer with this peer's settings, for one connection (with
        ``headers`` added to its handshake's, and those named ``without`` left out)."""
        ws = WebSocketPeer()
        settings = self._link_settings()
        if headers or without:
            left_out = {name.lower() for name in without}
            kept = tuple(h for h in settings.headers if h[0].lower() not in left_out)
            settings = dataclasses.replace(settings, headers=kept + headers)
        ws._fixed_settings = settings
        return ws

    def _check_settable(self, name: str) -> None:
        if self._status is not ConnectionStatus.DISCONNECTED:
            raise InvalidState(f"{name} must be set before create_server or create_client")


def _or_never(seconds: float | None) -> float:
    """A keepalive timeout for the link: None (no timeout) is never."""
    return math.inf if seconds is None else seconds


def _at_least(name: str, value: int, minimum: int) -> int:
    if int(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return int(value)


def _optional_seconds(name: str, value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise ValueError(f"{name} must be positive or None, not {value}")
    return value
