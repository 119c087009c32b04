"""Tests for :mod:`multiplayer.transport.websocket_base`: the part of the WebSocket
peer shared by its server and client halves. Most of it is exercised end to end in
test_websocket_multiplayer_peer.py; these test its pieces directly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer
from multiplayer.exceptions import ProtocolError
from multiplayer.transport.framing import FRAMINGS, Greeting
from multiplayer.transport.websocket_base import WebSocketPeerBase
from multiplayer.transport.websocket_peer import WebSocketPeer
from multiplayer.transport.websocket_settings import MIN_MESSAGE_SIZE


async def ws_closed(ws: WebSocketPeer, timeout: float = 5.0) -> None:
    """Poll ``ws`` until it is CLOSED; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while ws.get_ready_state() != ws.STATE_CLOSED:
        assert time.monotonic() < deadline, "the WebSocket did not close in time"
        await asyncio.sleep(0.01)
        ws.poll()


def test_the_framing_is_bound_once() -> None:
    """The hot path calls the framing's own functions, bound when the peer is made."""
    peer = WebSocketMultiplayerPeer()
    framing = FRAMINGS["native"]
    assert peer._encode == framing.encode  # (compiled, each lookup makes a new bound method)
    assert peer._decode == framing.decode
    assert peer._packet_overhead == framing.packet_overhead


def test_max_packet_size_without_links() -> None:
    """With no link yet, the largest packet is bounded by our own limits."""
    peer = WebSocketMultiplayerPeer()
    peer.inbound_buffer_size = 1000
    assert peer.get_max_packet_size() == 999
    peer.outbound_buffer_size = 500
    assert peer.get_max_packet_size() == 500


@pytest.mark.parametrize(
    ("size", "ok"), [(None, True), (MIN_MESSAGE_SIZE, True), (MIN_MESSAGE_SIZE - 1, False)]
)
def test_check_greeting_wants_room_for_packets(size: int | None, ok: bool) -> None:
    """A greeting announcing a message limit below MIN_MESSAGE_SIZE is a protocol
    error; one that announces none is fine (the peer assumes its own)."""
    greeting = Greeting(2, size)
    if ok:
        assert WebSocketPeerBase._check_greeting(greeting) is greeting
    else:
        with pytest.raises(ProtocolError, match="below the minimum"):
            WebSocketPeerBase._check_greeting(greeting)


async def test_a_long_kick_reason_reaches_the_client_cut(caplog: pytest.LogCaptureFixture) -> None:
    """kick_peer with a reason longer than a close frame holds still closes the link,
    with the reason cut to fit."""
    server, client = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer()
    await server.create_server(0, "127.0.0.1")
    await client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    try:
        await poll_until([server, client], lambda: bool(server._known))
        ws = client.get_peer(1)
        server.kick_peer(2, "é" * 100)
        await ws_closed(ws)
        assert ws.get_close_code() == 1008
        assert ws.get_close_reason() == "é" * 61  # 122 bytes
    finally:
        for peer in (server, client):
            peer.close()
            await peer.wait_closed()


async def test_wait_for_activity_returns_at_once_when_something_is_staged() -> None:
    """wait_for_activity() returns True without waiting if poll() has work."""
    peer = WebSocketMultiplayerPeer()
    peer._inbox.stage_connected(2)
    assert await asyncio.wait_for(peer.wait_for_activity(10), 1) is True
    with pytest.raises(ValueError, match="not both"):
        await peer.wait_for_activity(1, until=2)


async def poll_until(
    peers: list[WebSocketMultiplayerPeer], condition: Callable[[], bool], timeout: float = 5.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for peer in peers:
            peer.poll()
        if condition() and all(
            p.get_connection_status() == ConnectionStatus.CONNECTED for p in peers
        ):
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


async def test_a_join_wakes_the_frame_loop_and_packets_run_the_arrival_hook() -> None:
    """The read that completes a greeting leaves the join to the frame loop's task
    (joins of one pass are taken in, and announced, together); later reads that
    stage packets run the arrival hook at once."""
    server, client = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer()
    await server.create_server(0, "127.0.0.1")
    hooked: list[int] = []
    server._on_arrival(lambda: hooked.append(1) is not None)  # (False: wake too)
    await client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    try:
        await asyncio.wait_for(server.wait_for_activity(5), 6)  # woken by the join
        assert hooked == [] and server._inbox.has_staged()
        await poll_until([server, client], lambda: bool(server._known))
        client.put_packet(b"hello")
        deadline = time.monotonic() + 5
        while not hooked:
            assert time.monotonic() < deadline, "the arrival hook did not run"
            await asyncio.sleep(0.002)
    finally:
        for peer in (server, client):
            peer.close()
            await peer.wait_closed()
