"""Tests for :mod:`multiplayer.transport.websocket_listener`: the listening socket
that a server peer and a room server's front door take their connections from."""

from __future__ import annotations

import asyncio
import time

import pytest

from multiplayer import InvalidState, WebSocketMultiplayerPeer, WebSocketPeer
from multiplayer.transport import websocket_listener
from multiplayer.transport.tcp_server import StreamPeerTCP
from multiplayer.transport.websocket_listener import WebSocketListener
from multiplayer.transport.websocket_server import WebSocketServerSide
from tests.transport.peers import Peers, join, start_server


async def test_accepting_pauses_after_the_system_refuses(
    peers: Peers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the system refuses a connection (out of file descriptors, say), the
    listener stops watching for ACCEPT_RETRY seconds instead of spinning, then
    takes the waiting client."""
    monkeypatch.setattr(websocket_listener, "ACCEPT_RETRY", 0.05)
    server = await start_server(peers)
    side = server._side
    assert isinstance(side, WebSocketServerSide) and side._listener is not None
    listener = side._listener
    tcp = listener._tcp
    assert tcp is not None
    tcp._accept_failed = True
    listener._take_connections()
    assert tcp._watcher is None  # not watching: no busy loop
    tcp._accept_failed = False
    deadline = time.monotonic() + 5
    while tcp._watcher is None:  # watching again after ACCEPT_RETRY
        assert time.monotonic() < deadline, "the listener did not watch again"
        await asyncio.sleep(0.005)
    await join(peers, server)


async def test_each_connection_is_a_websocket_peer_with_the_settings() -> None:
    """A connection is handed over as a server-side WebSocketPeer in its handshake,
    with the settings' limits, and its TCP stream; stop() closes the socket."""
    settings = WebSocketMultiplayerPeer()
    settings.inbound_buffer_size = 4096
    got: list[tuple[WebSocketPeer, StreamPeerTCP]] = []
    listener = WebSocketListener(settings, lambda ws, stream: got.append((ws, stream)))
    with pytest.raises(InvalidState, match="not listening"):
        _ = listener.local_port
    listener.listen(0, "127.0.0.1", None)
    assert listener.is_listening()
    client = WebSocketPeer()
    client.connect_to_url(f"ws://127.0.0.1:{listener.local_port}")
    deadline = time.monotonic() + 5
    while not got:
        assert time.monotonic() < deadline, "no connection was handed over"
        await asyncio.sleep(0.005)
    ws, stream = got[0]
    assert ws._settings().inbound_buffer_size == 4096
    assert stream.get_connected_host() == "127.0.0.1"
    while ws.get_ready_state() is not ws.STATE_OPEN:
        assert time.monotonic() < deadline, "the handshake did not finish"
        ws.poll()
        client.poll()
        await asyncio.sleep(0.005)
    listener.stop()
    assert not listener.is_listening()
    ws.close()
    client.close()


def test_a_client_tls_context_is_refused() -> None:
    import ssl

    listener = WebSocketListener(WebSocketMultiplayerPeer(), lambda ws, stream: None)
    with pytest.raises(ValueError, match="server TLS context"):
        listener.listen(0, "127.0.0.1", ssl.create_default_context())
