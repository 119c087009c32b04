"""Tests for multiplayer.transport.websocket_peer_link: the queue flow control
counts, the sink mode a WebSocketMultiplayerPeer drives, and a router that holds
the 101 (accept_routed).

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
from websockets.asyncio.client import connect as ws_connect
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from multiplayer import WebSocketMultiplayerPeer
from multiplayer.transport.framing.native import Hello
from multiplayer.transport.tcp_server import TCPServer
from multiplayer.transport.websocket_peer import WebSocketPeer
from multiplayer.transport.websocket_peer_link import (
    MAX_CLOSE_REASON,
    LinkSettings,
    PeerLink,
    Received,
    State,
    accept_routed,
    binary_frame,
    fit_close_reason,
    masked_frame,
    redirect_routed,
)
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


# A router: the 101 held until accept_routed (what a room server's front door does).


Routed = tuple[PeerLink, str, dict[str, str]]


@contextlib.asynccontextmanager
async def routed_server(
    handshake_timeout: float = 3.0,
) -> AsyncIterator[tuple[TCPServer, list[Routed], list[PeerLink]]]:
    """A TCPServer whose connections become server-side links with a router that
    holds every 101 (it records each request); yields it, the requests routed, and
    the links made (cut at the end)."""
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    requests: list[Routed] = []
    links: list[PeerLink] = []
    settings = WebSocketMultiplayerPeer()
    settings.handshake_timeout = handshake_timeout

    async def take() -> None:
        while True:
            await until(tcp.is_connection_available, 3600)
            ws = settings._new_ws()
            ws.accept_stream(tcp.take_connection())
            link = ws._link
            assert link is not None
            link.router = lambda link, path, headers: requests.append((link, path, headers))
            links.append(link)

    taking = asyncio.create_task(take())
    try:
        yield tcp, requests, links
    finally:
        taking.cancel()
        for link in links:
            link.cut()
        tcp.stop()
        await until(lambda: all(link.state is State.STATE_CLOSED for link in links))


async def test_a_router_gets_the_request_and_the_101_waits_for_it() -> None:
    """The router is given the path with its query and the headers (lower case);
    nothing is answered until accept_routed, which adds its headers to the 101."""
    async with routed_server() as (tcp, requests, _):
        url = f"ws://127.0.0.1:{tcp.get_local_port()}/join/k3m9qz?name=Ann"
        connecting = asyncio.ensure_future(ws_connect(url, additional_headers={"X-Token": "a"}))
        await until(lambda: len(requests) == 1)
        ((link, path, headers),) = requests
        assert path == "/join/k3m9qz?name=Ann"
        assert headers["x-token"] == "a" and headers["upgrade"] == "websocket"
        assert all(name == name.lower() for name in headers)
        before = link.state, link.routed
        assert before[0] is State.STATE_CONNECTING and before[1] is not None
        assert not connecting.done()
        assert accept_routed(link, (("Multiplayer-Room", "K3M9QZ"),)) is True
        ws = await asyncio.wait_for(connecting, 5)
        assert ws.response is not None
        assert ws.response.headers["Multiplayer-Room"] == "K3M9QZ"
        assert (link.state, link.routed) == (State.STATE_OPEN, None)
        assert link.requested_url == url
        assert accept_routed(link) is False  # (once only)
        await ws.send(b"after the 101")
        await until(lambda: len(link.received) == 1)
        assert link.received.popleft() == (b"after the 101", False)
        await ws.close()


async def test_a_held_request_can_be_redirected_instead(caplog: pytest.LogCaptureFixture) -> None:
    """redirect_routed answers the held request with a 307 to the location, with
    its headers, and closes the connection, quietly (a redirect is no failure)."""
    async with routed_server() as (tcp, requests, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", tcp.get_local_port())
        writer.write(UPGRADE)
        await until(lambda: len(requests) == 1)
        ((link, _, _),) = requests
        assert redirect_routed(link, "ws://10.0.0.2:9081/join/K3M9QZ", (("X-Ticket", "t"),))
        answer = await asyncio.wait_for(reader.read(), 5)  # (to the end: it closed)
        head = answer.split(b"\r\n\r\n")[0].decode().split("\r\n")
        assert head[0] == "HTTP/1.1 307 Temporary Redirect"
        assert "Location: ws://10.0.0.2:9081/join/K3M9QZ" in head and "X-Ticket: t" in head
        writer.close()
        await until(lambda: link.state is State.STATE_CLOSED, 2)  # (not the 3 s timeout)
        assert redirect_routed(link, "ws://x/") is False and accept_routed(link) is False
        assert "WebSocket" not in caplog.text


async def test_accept_routed_after_the_client_left_is_false() -> None:
    async with routed_server() as (tcp, requests, _):
        port = tcp.get_local_port()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(UPGRADE)
        await until(lambda: len(requests) == 1)
        ((link, _, _),) = requests
        writer.close()
        await until(lambda: link.state is State.STATE_CLOSED)
        assert accept_routed(link) is False
        assert await reader.read() == b""


async def test_a_frame_before_the_held_101_cuts_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RFC 6455 §4.1: no frame before the 101. The link is cut (no close frame, no
    101), with one log line, and the held 101 is dropped."""
    async with routed_server() as (tcp, requests, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", tcp.get_local_port())
        writer.write(UPGRADE)
        await until(lambda: len(requests) == 1)
        ((link, _, _),) = requests
        writer.write(client_frame(b"early"))
        await until(lambda: link.state is State.STATE_CLOSED, 2)  # (not the 3 s timeout)
        assert link.routed is None
        assert isinstance(link.error, ConnectionRefusedError)
        assert "sent a frame before the handshake's response" in caplog.text
        with contextlib.suppress(ConnectionResetError):
            assert b"101" not in await reader.read()
        assert accept_routed(link) is False
        writer.close()


async def test_a_held_101_is_cut_at_handshake_timeout() -> None:
    async with routed_server(handshake_timeout=0.2) as (tcp, requests, _):
        started = time.monotonic()
        _, writer = await asyncio.open_connection("127.0.0.1", tcp.get_local_port())
        writer.write(UPGRADE)
        await until(lambda: len(requests) == 1)
        ((link, _, _),) = requests
        await until(lambda: link.state is State.STATE_CLOSED)
        assert 0.15 < time.monotonic() - started < 2
        assert isinstance(link.error, TimeoutError)
        assert accept_routed(link) is False
        writer.close()


async def test_a_request_that_is_no_upgrade_is_not_routed() -> None:
    async with routed_server() as (tcp, requests, links):
        reader, writer = await asyncio.open_connection("127.0.0.1", tcp.get_local_port())
        writer.write(b"GET /list HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 426")
        writer.close()
        await until(lambda: len(links) == 1 and links[0].state is State.STATE_CLOSED)
        assert requests == []


@pytest.mark.parametrize(
    "reason", ["short", "x" * 200, "é" * 100, "€" * 50, "a" + "€" * 60], ids=str.__len__
)
def test_close_reason_fits_a_close_frame(reason: str) -> None:
    """A close reason is cut to 123 bytes of UTF-8 (RFC 6455 §5.5), never mid-character."""
    cut = fit_close_reason(reason)
    assert len(cut.encode()) <= MAX_CLOSE_REASON == 123
    assert reason.startswith(cut)
    assert len(cut.encode()) > MAX_CLOSE_REASON - 3 or cut == reason


# The frames a link makes itself (websockets' send path, for a fraction of its cost).

FRAME_SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def parse_frame(data: bytes, mask: bool) -> Frame:
    """``data`` read back by websockets' own parser, which must take all of it."""
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=mask)
    try:
        next(parser)
    except StopIteration as done:
        assert not reader.buffer  # (nothing after the frame)
        frame: Frame = done.value
        return frame
    raise AssertionError("the frame is incomplete")


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_a_servers_frame_is_the_one_websockets_makes(size: int) -> None:
    payload = os.urandom(size)
    assert binary_frame(payload) == Frame(Opcode.BINARY, payload).serialize(
        mask=False, extensions=[]
    )


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_a_clients_frame_is_masked_and_reads_back(size: int) -> None:
    payload = os.urandom(size)
    frame = parse_frame(masked_frame(payload), mask=True)
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.BINARY, True, payload)
    if size >= 8:  # (a fresh key each time: the bytes on the wire differ)
        assert masked_frame(payload) != masked_frame(payload)
