"""Tests for :mod:`multiplayer.transport.websocket_link`: a link over a
WebSocketPeer, its writes, what counts as unsent, and its closing. Real sockets
on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.frames import Close

from multiplayer.transport.tcp_server import TCPServer
from multiplayer.transport.websocket_link import (
    CLOSED,
    OPEN,
    Link,
    LinkState,
    conn_of,
    hand_over_queued,
)
from multiplayer.transport.websocket_peer import WebSocketPeer
from multiplayer.transport.websocket_peer_link import PeerLink, State

Got = list[tuple[bytes, bool]]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


class Pair:
    """A server-side link to peer 2 and the client's WebSocketPeer, both open, in
    sink mode: what each side receives lands in ``got_by_*``."""

    def __init__(self, server: WebSocketPeer, client: WebSocketPeer) -> None:
        self.server, self.client = server, client
        self.got_by_server: Got = []
        self.got_by_client: Got = []
        conn_of(server).sink = lambda data, text: self.got_by_server.append((data, text))
        conn_of(client).sink = lambda data, text: self.got_by_client.append((data, text))
        self.link = Link(server, 2, 1 << 20)


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    client = WebSocketPeer()
    client.inbound_buffer_size = 1 << 20
    client.connect_to_url(f"ws://127.0.0.1:{tcp.get_local_port()}")
    await until(tcp.is_connection_available)
    server = WebSocketPeer()
    server.inbound_buffer_size = 1024
    server.accept_stream(tcp.take_connection())
    for ws in (server, client):
        await until(lambda ws=ws: conn_of(ws).state is State.STATE_OPEN)  # type: ignore[misc]
        ws.poll()
    yield Pair(server, client)
    for ws in (server, client):
        conn_of(ws).cut()
    tcp.stop()
    await asyncio.sleep(0.01)


def test_state_aliases() -> None:
    """The module-level aliases are the enum's members."""
    assert (OPEN, CLOSED) == (LinkState.OPEN, LinkState.CLOSED)


async def test_a_new_link_is_open_and_empty(pair: Pair) -> None:
    """A new link is OPEN, reads freely, has nothing unsent, and names its peer."""
    link = pair.link
    assert link.state is OPEN and not link.reading_held
    assert link.unsent_bytes() == 0
    assert link.conn is conn_of(pair.server)
    assert link.conn.name == "peer 2"


async def test_write_sends_whole_messages_in_order(pair: Pair) -> None:
    """write() sends each message whole, in order, as binary."""
    pair.link.write([b"one", b"two"])
    pair.link.write([b"three"])
    await until(lambda: len(pair.got_by_client) == 3)
    assert pair.got_by_client == [(b"one", False), (b"two", False), (b"three", False)]


async def test_only_what_is_over_the_high_water_mark_counts(pair: Pair) -> None:
    """A socket that keeps up leaves nothing unsent; one whose reader stops backs up,
    and what it holds over its high-water mark counts (outbound_buffer_size), until
    the reader reads again."""
    link, reader = pair.link, conn_of(pair.client)
    reader.hold_reading()
    chunk = bytes(60_000)
    deadline = time.monotonic() + 5
    while not link.conn.backed_up:
        assert time.monotonic() < deadline, "the socket never backed up"
        link.write([chunk])
        await asyncio.sleep(0)
    link.write([chunk])
    assert link.unsent_bytes() > 0
    link.outgoing_bytes = 5  # what was put and not flushed counts too
    assert link.unsent_bytes() == link.conn.backlog() + 5
    link.outgoing_bytes = 0
    reader.release_reading()
    await until(lambda: not link.conn.backed_up)
    assert link.unsent_bytes() == 0


async def test_take_unsent_encodes_what_was_put(pair: Pair) -> None:
    """A graceful close sends what was put since the last flush, encoded; a CLOSED
    link has nothing left to send."""
    link = pair.link
    assert link.take_unsent(lambda packets, size: [b"".join(packets)]) == []
    link.outgoing += [b"a", b"b"]
    assert link.take_unsent(lambda packets, size: [b"".join(packets), bytes([size >> 20])]) == [
        b"ab",
        b"\x01",
    ]
    link.end()
    assert link.take_unsent(lambda packets, size: [b"x"]) == []


async def test_end_drops_what_waits_and_later_writes(pair: Pair) -> None:
    """end(): CLOSED, nothing put is kept, and later writes send nothing."""
    link = pair.link
    link.outgoing.append(b"x")
    link.outgoing_bytes = 1
    link.end()
    assert link.state is CLOSED and link.outgoing == [] and link.outgoing_bytes == 0
    link.write([b"late"])
    pair.client.put_packet(b"ping")  # the connection itself still works
    await until(lambda: pair.got_by_server == [(b"ping", False)])
    assert pair.got_by_client == []


async def test_send_and_close_sends_then_closes(pair: Pair) -> None:
    """send_and_close() sends its messages, then the close frame with its code and reason."""
    pair.link.send_and_close([b"last"], 1001, "going away")
    client = conn_of(pair.client)
    await until(lambda: client.state is State.STATE_CLOSED)
    assert pair.got_by_client == [(b"last", False)]
    assert (client.close_code, client.close_reason) == (1001, "going away")


async def test_hand_over_queued_gives_the_sink_what_came_first(pair: Pair) -> None:
    """Messages queued before the sink was set reach it first, in order."""
    conn = conn_of(pair.client)
    conn.sink = None
    pair.server.put_packet(b"early")
    await until(lambda: len(conn.received) == 1)
    got: Got = []
    conn.sink = lambda data, text: got.append((data, text))
    hand_over_queued(conn)
    assert got == [(b"early", False)] and len(conn.received) == 0


def _ended(conn: PeerLink, **fields: object) -> None:
    for name, value in fields.items():
        setattr(conn, name, value)


@pytest.mark.parametrize(
    ("fields", "rcvd", "line"),
    [
        (
            {"failure": Close(1009, "too big")},
            None,
            "peer 2: sent a message over inbound_buffer_size (1024 bytes); closed with 1009",
        ),
        (
            {"failure": Close(1002, "protocol error: bad frame")},
            None,
            "peer 2: protocol error: bad frame; closed with 1002",
        ),
        (
            {"error": TimeoutError("no pong")},
            None,
            "peer 2: no answer to keepalive pings within None s; connection lost",
        ),
        ({}, None, "peer 2: connection lost without a close frame"),
        ({}, Close(1000, "bye"), "peer 2: connection closed (1000 bye)"),
    ],
    ids=["too-big", "protocol-error", "keepalive", "lost", "closed"],
)
async def test_log_close_says_why(
    pair: Pair,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, object],
    rcvd: Close | None,
    line: str,
) -> None:
    """log_close() writes one line naming the peer and the cause."""
    conn = pair.link.conn
    _ended(conn, **fields)
    conn.protocol.close_rcvd = rcvd
    with caplog.at_level(logging.INFO, logger="multiplayer.websocket"):
        pair.link.log_close(1024)
    assert [r.getMessage() for r in caplog.records] == [line]
