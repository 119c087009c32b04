"""FaultProxy (multiplayer.testing.faults): real connections broken on command.

A WebSocketMultiplayerPeer server, a client connected through the proxy, and each
fault as both peers see it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer
from multiplayer.testing import FaultProxy

Peers = tuple[WebSocketMultiplayerPeer, WebSocketMultiplayerPeer, FaultProxy]


@pytest.fixture
async def linked() -> AsyncIterator[Peers]:
    """A server, a client connected to it through a FaultProxy, both CONNECTED, with
    resuming off: each fault shows as the transport sees it (the resume has tests of
    its own, tests/transport/test_websocket_reconnect.py and tests/faults/)."""
    server = WebSocketMultiplayerPeer()
    server.reconnect_grace = 0
    await server.create_server(0, "127.0.0.1")
    async with FaultProxy(server.get_local_port()) as proxy:
        client = WebSocketMultiplayerPeer()
        await client.create_client(proxy.url)
        await until((server, client), lambda: client.get_connection_status() == CONNECTED)
        yield server, client, proxy
        for peer in (client, server):
            peer.close()
            await asyncio.wait_for(peer.wait_closed(), 5)


CONNECTED = ConnectionStatus.CONNECTED


async def until(
    peers: tuple[WebSocketMultiplayerPeer, ...], condition: Callable[[], bool], timeout: float = 5
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        for peer in peers:
            peer.poll()
        await asyncio.sleep(0.002)


def take(peer: WebSocketMultiplayerPeer) -> list[bytes]:
    got = []
    while peer.get_available_packet_count():
        got.append(peer.get_packet())
    return got


async def test_bytes_flow_both_ways_through_it(linked: Peers) -> None:
    server, client, proxy = linked
    assert proxy.links == 1
    client.set_target_peer(1)
    client.put_packet(b"up")
    got: list[bytes] = []
    await until((server, client), lambda: bool(got.extend(take(server)) or got))
    assert got == [b"up"]
    server.set_target_peer(client.get_unique_id())
    server.put_packet(b"down")
    await until((server, client), lambda: bool(got.extend(take(client)) or b"down" in got))


async def test_cut_resets_both_sides_without_a_close_frame(
    linked: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    server, client, proxy = linked
    proxy.cut()
    await until(
        (server, client),
        lambda: client.get_connection_status() == ConnectionStatus.DISCONNECTED
        and not server._links,
    )
    assert "without a close frame" in caplog.text
    assert proxy.links == 0


async def test_a_blackhole_holds_the_bytes_until_restored(linked: Peers) -> None:
    server, client, proxy = linked
    proxy.blackhole()
    client.set_target_peer(1)
    for i in range(5):
        client.put_packet(bytes([i]))
    await asyncio.sleep(0.1)  # (time for them to arrive, were the link open)
    server.poll()
    assert server.get_available_packet_count() == 0
    assert client.get_connection_status() == CONNECTED  # nothing was closed
    proxy.restore()
    got: list[bytes] = []
    await until((server, client), lambda: bool(got.extend(take(server)) or len(got) == 5))
    assert got == [bytes([i]) for i in range(5)]  # all of them, in order


async def test_delay_holds_every_chunk_back_in_order(linked: Peers) -> None:
    server, client, proxy = linked
    proxy.delay = 0.2
    client.set_target_peer(1)
    start = time.monotonic()
    client.put_packet(b"a")
    client.put_packet(b"b")
    got: list[bytes] = []
    await until((server, client), lambda: bool(got.extend(take(server)) or len(got) == 2))
    assert got == [b"a", b"b"]
    assert time.monotonic() - start >= 0.2


async def test_cut_mid_frame_delivers_no_partial_packet(
    linked: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """Half a WebSocket frame arrives, then the reset: the receiver drops the link and
    never hands on a truncated packet."""
    server, client, proxy = linked
    proxy.cut_mid_frame()
    client.set_target_peer(1)
    client.put_packet(b"x" * 1000)
    await until((server, client), lambda: not server._links)
    assert server.get_available_packet_count() == 0
    assert client.get_connection_status() == ConnectionStatus.DISCONNECTED or proxy.links == 0
