"""Tests for multiplayer.transport.websocket_peer_link: the queue flow control
counts, and the sink mode a WebSocketMultiplayerPeer drives.

The link itself is exercised through WebSocketPeer over real sockets
(tests/transport/test_websocket_peer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Callable

import pytest

from multiplayer import WebSocketMultiplayerPeer
from multiplayer.transport.framing.native import Hello
from multiplayer.transport.tcp_server import TCPServer
from multiplayer.transport.websocket_peer import WebSocketPeer
from multiplayer.transport.websocket_peer_link import LinkSettings, PeerLink, Received, State
from tests.transport.peers import Peers, drain, poll_until, record, start_server


def settings(packets: int, size: int) -> LinkSettings:
    return LinkSettings(
        inbound_buffer_size=size,
        max_queued_packets=packets,
        heartbeat_interval=0.0,
        handshake_timeout=3.0,
        protocols=(),
        headers=(),
    )


def test_received_counts_packets_and_bytes_in_order() -> None:
    """Packets come out in order with their kind; the byte count follows."""
    received = Received(settings(4, 100))
    received.append(b"abc", True)
    received.append(b"\x00\x01", False)
    assert len(received) == 2 and received.size == 5
    assert received.popleft() == (b"abc", True)
    assert received.popleft() == (b"\x00\x01", False)
    assert len(received) == 0 and received.size == 0


def test_room_is_the_packets_left_until_either_limit() -> None:
    """Room shrinks with each packet, and is none once the bytes reach their limit."""
    received = Received(settings(4, 10))
    assert received.room() == 4
    received.append(b"12345", False)
    assert received.room() == 3
    received.append(b"12345", False)
    assert received.room() == 0  # 10 bytes: the byte limit, with packets to spare


def test_reading_resumes_only_when_half_is_free_both_ways() -> None:
    """half_free() needs both the packets and the bytes at half their limit or less."""
    received = Received(settings(4, 100))
    for _ in range(4):
        received.append(b"x", False)
    assert not received.half_free()
    received.popleft()
    received.popleft()
    assert received.half_free()
    big = Received(settings(100, 10))
    big.append(b"123456", False)
    assert not big.half_free()  # one packet, but 6 bytes of 10


# The sink mode a WebSocketMultiplayerPeer drives, over real sockets.


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def open_pair() -> AsyncIterator[tuple[PeerLink, PeerLink]]:
    """(the server side, the client side) of one open connection."""
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    client = WebSocketPeer()
    client.connect_to_url(f"ws://127.0.0.1:{tcp.get_local_port()}")
    await until(tcp.is_connection_available)
    server = WebSocketPeer()
    server.accept_stream(tcp.take_connection())
    links = (server._link, client._link)
    assert links[0] is not None and links[1] is not None
    await until(lambda: all(link.state is State.STATE_OPEN for link in links))  # type: ignore[union-attr]
    yield links[0], links[1]
    for link in links:
        link.cut()
    tcp.stop()
    await asyncio.sleep(0.01)


async def test_the_sink_gets_each_message_and_arrival_runs_after_each_read(
    open_pair: tuple[PeerLink, PeerLink],
) -> None:
    """With a sink, messages skip the queue; on_arrival runs once a read is handled."""
    server, client = open_pair
    events: list[object] = []
    server.sink = lambda data, text: events.append((data, text))
    server.on_arrival = lambda: events.append("read")
    assert client.write_binary([b"a", b"b"])
    await until(lambda: "read" in events)
    assert events == [(b"a", False), (b"b", False), "read"]
    assert len(server.received) == 0


async def test_hold_reading_holds_messages_until_released(
    open_pair: tuple[PeerLink, PeerLink],
) -> None:
    """While held, nothing reaches the sink; released, all of it does, in order."""
    server, client = open_pair
    got: list[bytes] = []
    server.sink = lambda data, text: got.append(data)
    server.hold_reading()
    client.write_binary([b"1", b"2"])
    await asyncio.sleep(0.05)
    assert got == []
    server.release_reading()
    await until(lambda: got == [b"1", b"2"])


async def test_write_binary_refuses_once_closing(open_pair: tuple[PeerLink, PeerLink]) -> None:
    """Nothing is written after close(): False says so."""
    server, _ = open_pair
    server.close(1000, "")
    assert server.write_binary([b"late"]) is False


async def test_no_pong_within_heartbeat_timeout_cuts(caplog: pytest.LogCaptureFixture) -> None:
    """With heartbeat_timeout, a ping left without a pong that long cuts the connection."""
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    _, writer = await asyncio.open_connection("127.0.0.1", tcp.get_local_port())
    await until(tcp.is_connection_available)
    server = WebSocketPeer()
    server._fixed_settings = dataclasses.replace(
        server._settings(), heartbeat_interval=0.05, heartbeat_timeout=0.1
    )
    server.accept_stream(tcp.take_connection())
    writer.write(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    link = server._link
    assert link is not None
    await until(lambda: link.state is State.STATE_CLOSED, 2)  # never answers the ping
    assert isinstance(link.error, TimeoutError)
    assert "no pong within heartbeat_timeout (0.1 s)" in caplog.text
    writer.close()
    tcp.stop()


# Fragmented messages are timed like the handshakes.

UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def client_frame(payload: bytes, *, fin: bool = True, opcode: int = 2) -> bytes:
    """A masked frame, as a client sends it (payloads under 126 bytes)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(((0x80 if fin else 0) | opcode, 0x80 | len(payload))) + mask + masked


async def server_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next frame from the server: (its first byte, its payload)."""
    head = await reader.readexactly(2)
    size = head[1] & 0x7F
    if size >= 126:
        size = int.from_bytes(await reader.readexactly(2 if size == 126 else 8), "big")
    return head[0], await reader.readexactly(size)


RawClient = tuple[
    WebSocketMultiplayerPeer, list[tuple[str, int]], asyncio.StreamReader, asyncio.StreamWriter
]


@contextlib.asynccontextmanager
async def joined_raw_client(peers: Peers, handshake_timeout: float) -> AsyncIterator[RawClient]:
    """A multiplayer server (and its connection events), and a raw socket that did
    the upgrade and the greeting."""
    server = await start_server(peers, handshake_timeout=handshake_timeout)
    events = record(server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    try:
        writer.write(UPGRADE)
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        writer.write(client_frame(Hello(0, 1 << 20).serialize()))
        await server_frame(reader)  # the server's HELLO, with the id
        await poll_until(peers, lambda: events == [("connected", 2)])
        yield server, events, reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_lone_unfinished_fragment_is_timed_out(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A first frame without FIN, and nothing after it: within handshake_timeout
    the connection fails with 1008, in one log line naming the peer and why.
    (It stayed open for as long as the client held it.)"""
    async with joined_raw_client(peers, handshake_timeout=0.3) as (_, events, reader, writer):
        writer.write(client_frame(b"\x00\x90", fin=False))
        first, payload = await asyncio.wait_for(server_frame(reader), 3)
        assert first == 0x88  # a close frame
        assert int.from_bytes(payload[:2], "big") == 1008
        reason = b"no fragment of its unfinished message within handshake_timeout (0.3 s)"
        assert payload[2:] == reason
        assert await asyncio.wait_for(reader.read(), 3) == b""  # and the end of the stream
        writer.close()
        await poll_until(peers, lambda: events[-1] == ("disconnected", 2))
    lines = [r.getMessage() for r in caplog.records if "unfinished message" in r.getMessage()]
    assert lines == [
        "peer 2: no fragment of its unfinished message within handshake_timeout (0.3 s); "
        "closed with 1008"
    ]


async def test_a_message_in_slow_fragments_is_read(peers: Peers) -> None:
    """The timeout runs from each fragment: a message whose fragments keep coming is
    read, however long it takes in all."""
    async with joined_raw_client(peers, handshake_timeout=0.3) as (server, events, _, writer):
        for part, fin, opcode in ((b"\x00a", False, 2), (b"b", False, 0), (b"c", True, 0)):
            writer.write(client_frame(part, fin=fin, opcode=opcode))
            await asyncio.sleep(0.2)  # 0.6 s in all
        await poll_until(peers, lambda: server.get_available_packet_count() > 0)
        assert drain(server) == [(2, b"abc")]
        assert events == [("connected", 2)]
