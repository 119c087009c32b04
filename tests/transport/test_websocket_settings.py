"""Tests for :mod:`multiplayer.transport.websocket_settings`: the protocol profile
and the settings of a WebSocket peer (through WebSocketMultiplayerPeer, which is
where they are used)."""

from __future__ import annotations

import importlib.util
import math

import pytest

from multiplayer import InvalidState, WebSocketMultiplayerPeer
from multiplayer.transport.framing import FRAMINGS
from multiplayer.transport.websocket_settings import (
    DEFAULT_INBOUND_BUFFER_SIZE,
    DEFAULT_MAX_QUEUED_PACKETS,
    DEFAULT_OUTBOUND_BUFFER_SIZE,
    MIN_MESSAGE_SIZE,
)


def test_protocol_defaults_to_native() -> None:
    """Without an argument a peer speaks "native", with the native framing."""
    peer = WebSocketMultiplayerPeer()
    assert peer.protocol == "native"
    assert peer._framing is FRAMINGS["native"]


def test_protocol_given_by_name() -> None:
    """protocol="native" selects the native framing, read back from .protocol."""
    peer = WebSocketMultiplayerPeer(protocol="native")
    assert peer.protocol == "native"
    assert peer._framing is FRAMINGS["native"]


@pytest.mark.parametrize("name", ["quake", "NATIVE", "", "Godot"])
def test_unknown_protocol_raises_value_error_listing_the_names(name: str) -> None:
    """An unknown profile raises ValueError that names it and lists the known ones."""
    with pytest.raises(ValueError) as info:
        WebSocketMultiplayerPeer(protocol=name)
    assert f"unknown protocol {name!r}" in str(info.value)
    assert "known protocols: 'native'" in str(info.value)


def test_defaults() -> None:
    """The defaults: Godot's names, this library's sizes (docs/transport.md)."""
    peer = WebSocketMultiplayerPeer()
    assert peer.handshake_timeout == 3.0
    assert peer.inbound_buffer_size == DEFAULT_INBOUND_BUFFER_SIZE == 1 << 20
    assert peer.outbound_buffer_size == DEFAULT_OUTBOUND_BUFFER_SIZE == 4 << 20
    assert peer.max_queued_packets == DEFAULT_MAX_QUEUED_PACKETS == 4096
    assert (peer.heartbeat_interval, peer.heartbeat_timeout) == (20.0, 20.0)
    assert (peer.supported_protocols, peer.handshake_headers) == ([], {})


def test_settings_validate() -> None:
    """Settings reject values Godot rejects (handshake_timeout <= 0 and the like)."""
    peer = WebSocketMultiplayerPeer()
    with pytest.raises(ValueError):
        peer.handshake_timeout = 0
    with pytest.raises(ValueError):
        peer.inbound_buffer_size = MIN_MESSAGE_SIZE - 1
    with pytest.raises(ValueError):
        peer.outbound_buffer_size = 63
    with pytest.raises(ValueError):
        peer.max_queued_packets = 0
    with pytest.raises(ValueError):
        peer.heartbeat_interval = -1
    with pytest.raises(ValueError):
        peer.heartbeat_timeout = 0
    assert peer.handshake_timeout == 3.0
    assert peer.inbound_buffer_size == 1 << 20


def test_settings_are_kept() -> None:
    """Valid values are stored (as Godot's types: seconds as float); None turns the
    heartbeat off."""
    peer = WebSocketMultiplayerPeer()
    peer.handshake_timeout = 2
    peer.inbound_buffer_size = MIN_MESSAGE_SIZE
    peer.outbound_buffer_size = 1000
    peer.max_queued_packets = 1
    peer.heartbeat_interval = None
    peer.heartbeat_timeout = 0.5
    assert peer.handshake_timeout == 2.0 and isinstance(peer.handshake_timeout, float)
    assert (peer.inbound_buffer_size, peer.outbound_buffer_size) == (64, 1000)
    assert peer.max_queued_packets == 1
    assert (peer.heartbeat_interval, peer.heartbeat_timeout) == (None, 0.5)


async def test_connection_settings_are_fixed_once_started() -> None:
    """Settings that shape each connection cannot change once the peer is in use;
    the others can."""
    peer = WebSocketMultiplayerPeer()
    await peer.create_server(0, "127.0.0.1")
    try:
        for name, value in [
            ("inbound_buffer_size", 4096),
            ("heartbeat_interval", 1.0),
            ("heartbeat_timeout", 1.0),
        ]:
            with pytest.raises(InvalidState, match=name):
                setattr(peer, name, value)
        peer.handshake_timeout = 1.0
        peer.outbound_buffer_size = 4096
        peer.max_queued_packets = 10
    finally:
        peer.close()
        await peer.wait_closed()


def test_each_connection_gets_the_peer_settings() -> None:
    """_new_ws() makes a WebSocketPeer with a copy of the settings (Godot's
    _create_peer); no heartbeat_timeout is never, no heartbeat_interval no pings."""
    peer = WebSocketMultiplayerPeer()
    peer.inbound_buffer_size = 4096
    peer.handshake_timeout = 1.5
    peer.supported_protocols = ["ludus"]
    peer.handshake_headers = {"X-Game": "1"}
    peer.heartbeat_interval = 2.0
    peer.heartbeat_timeout = None
    settings = peer._new_ws()._settings()
    assert settings.inbound_buffer_size == 4096
    assert settings.handshake_timeout == 1.5
    assert settings.protocols == ("ludus",)
    assert settings.headers == (("X-Game", "1"),)
    assert (settings.heartbeat_interval, settings.heartbeat_timeout) == (2.0, math.inf)
    peer.heartbeat_interval = None
    peer.heartbeat_timeout = 5.0
    settings = peer._new_ws()._settings()
    assert (settings.heartbeat_interval, settings.heartbeat_timeout) == (0.0, 5.0)


def test_reconnect_grace_defaults_by_profile() -> None:
    """Resuming is on by default in the native profile (30 s) and off in the godot
    one, whose protocol cannot resume: setting it there says why."""
    native, godot = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer("godot")
    assert (native.reconnect_grace, godot.reconnect_grace) == (30.0, 0.0)
    assert native.resume_buffer_size == 4 << 20
    with pytest.raises(ValueError, match="cannot resume a session"):
        godot.reconnect_grace = 5
    godot.reconnect_grace = 0  # (allowed: it is what it is)
    native.reconnect_grace = 0
    assert native.reconnect_grace == 0.0
    for wrong in (-1, float("inf"), float("nan"), 86400.0):
        with pytest.raises(ValueError, match="0 \\(off\\) or more"):
            native.reconnect_grace = wrong
    with pytest.raises(ValueError, match="resume_buffer_size must be at least 64"):
        native.resume_buffer_size = 10


async def test_resume_settings_are_fixed_once_in_use() -> None:
    peer = WebSocketMultiplayerPeer()
    await peer.create_server(0, "127.0.0.1")
    try:
        for name, value in (("reconnect_grace", 1.0), ("resume_buffer_size", 4096)):
            with pytest.raises(InvalidState, match=name):
                setattr(peer, name, value)
    finally:
        peer.close()
        await peer.wait_closed()


def test_the_backend_is_chosen_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    """backend: "websockets" by default (or MULTIPLAYER_WS_BACKEND's), "picows" on
    request; an unknown name is a ValueError, picows missing an ImportError, both
    at the call."""
    monkeypatch.delenv("MULTIPLAYER_WS_BACKEND", raising=False)
    assert WebSocketMultiplayerPeer().backend == "websockets"
    assert WebSocketMultiplayerPeer(backend="picows").backend == "picows"
    monkeypatch.setenv("MULTIPLAYER_WS_BACKEND", "picows")
    assert WebSocketMultiplayerPeer().backend == "picows"
    assert WebSocketMultiplayerPeer(backend="websockets").backend == "websockets"
    with pytest.raises(ValueError, match="unknown WebSocket backend 'aiohttp'"):
        WebSocketMultiplayerPeer(backend="aiohttp")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "picows" else real_find_spec(name, *args),
    )
    with pytest.raises(ImportError, match=r"pygodot-multiplayer\[fast\]"):
        WebSocketMultiplayerPeer(backend="picows")


def test_max_loop_lag_defaults_to_half_the_handshake_timeout_and_is_checked() -> None:
    peer = WebSocketMultiplayerPeer()
    assert peer.max_loop_lag == 1.5 == peer.handshake_timeout / 2
    peer.max_loop_lag = 0  # no limit
    assert peer.max_loop_lag == 0.0
    for wrong in (-1, math.inf, math.nan):
        with pytest.raises(ValueError, match="max_loop_lag"):
            peer.max_loop_lag = wrong
