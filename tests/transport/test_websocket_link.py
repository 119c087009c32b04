"""Tests for :mod:`multiplayer.transport.websocket_link`: a link's send states, its
writer, and its closing. Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from multiplayer.transport.framing.native import encode_packets
from multiplayer.transport.websocket_connection import (
    SinkClientConnection,
    SinkConnection,
    SinkServerConnection,
)
from multiplayer.transport.websocket_link import BACKED_UP, CLOSED, OPEN, Link, LinkState

Pair = tuple[SinkConnection, SinkConnection]
CHUNK = bytes(1 << 20)


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """(the server's connection, the client's), open."""
    accepted: asyncio.Future[SinkConnection] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, SinkConnection)
        accepted.set_result(ws)
        await ws.wait_closed()

    async with serve(
        handler, "127.0.0.1", 0, create_connection=SinkServerConnection, compression=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        client = await connect(
            f"ws://127.0.0.1:{port}",
            create_connection=SinkClientConnection,
            compression=None,
            max_size=None,
            max_queue=None,
        )
        assert isinstance(client, SinkConnection)
        yield await accepted, client
        client.cut_off()
        await client.wait_closed()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


async def back_up(link: Link) -> int:
    """Write to ``link`` until its socket is over its high-water mark (the other
    side must not be reading); return how many chunks that took."""
    for count in range(1, 65):
        link.write([CHUNK])
        if link.state is BACKED_UP:
            return count
        await asyncio.sleep(0)
    raise AssertionError("the socket never backed up")


def test_state_aliases() -> None:
    """The module-level aliases are the enum's members."""
    assert (OPEN, BACKED_UP, CLOSED) == (LinkState.OPEN, LinkState.BACKED_UP, LinkState.CLOSED)


async def test_a_new_link_is_open_and_empty(pair: Pair) -> None:
    """A new link is OPEN, reads freely and has nothing unsent."""
    link = Link(pair[0], 2, 1 << 20)
    assert (link.state, link.reading_held, link.unsent_bytes()) == (OPEN, False, 0)
    assert (link.peer_id, link.max_message_size) == (2, 1 << 20)


async def test_write_goes_straight_to_a_socket_that_keeps_up(pair: Pair) -> None:
    """While OPEN, write() sends at once: nothing waits in the outbox."""
    server, client = pair
    link = Link(server, 2, 1 << 20)
    link.write([b"a", b"b"])
    assert (link.state, len(link.outbox)) == (OPEN, 0)
    assert [await client.recv() for _ in range(2)] == [b"a", b"b"]


async def test_a_backed_up_link_queues_for_the_writer_then_reopens(pair: Pair) -> None:
    """Once the socket is over its high-water mark the link is BACKED_UP: messages wait
    in the outbox (counted as unsent) until the writer sends them, in order, as the
    socket drains; then the link is OPEN again."""
    server, client = pair
    link = Link(server, 2, 1 << 20)
    link.writer = asyncio.ensure_future(link.run_writer())
    client.hold_reading()
    written = await back_up(link)
    link.write([b"queued 1", b"queued 2"])
    assert list(link.outbox) == [b"queued 1", b"queued 2"]
    assert link.unsent_bytes() == 16
    client.release_reading()
    received = [await asyncio.wait_for(client.recv(), 5) for _ in range(written + 2)]
    assert received[-2:] == [b"queued 1", b"queued 2"]
    await until(lambda: link.state is OPEN)
    assert link.unsent_bytes() == 0
    link.end()


async def test_take_unsent_is_the_outbox_then_the_encoded_outgoing(pair: Pair) -> None:
    """A graceful close sends what is in the outbox first, then what was put since
    the last flush, encoded; a CLOSED link has nothing left to send."""
    link = Link(pair[0], 2, 1 << 20)
    link.outbox.append(b"\x00older")
    link.outgoing += [b"p1", b"p2"]
    batch = encode_packets([b"p1", b"p2"], 1 << 20)
    assert link.take_unsent(encode_packets) == [b"\x00older", *batch]
    link.end()
    assert link.take_unsent(encode_packets) == []


async def test_end_drops_what_waits_and_stops_the_writer(pair: Pair) -> None:
    """end(): CLOSED, buffers empty, the writer cancelled; later writes are dropped."""
    server, client = pair
    link = Link(server, 2, 1 << 20)
    link.writer = asyncio.ensure_future(link.run_writer())
    link.outgoing.append(b"never")
    link.outgoing_bytes = 5
    link.end()
    assert (link.state, link.outgoing, link.unsent_bytes()) == (CLOSED, [], 0)
    link.write([b"dropped"])
    assert not link.outbox
    await asyncio.sleep(0)
    assert link.writer.cancelled()
    await server.send(b"marker")  # nothing was written before it
    assert await client.recv() == b"marker"


async def test_send_and_close_sends_then_closes(pair: Pair) -> None:
    """send_and_close() sends its messages, then the close frame with its code and reason."""
    server, client = pair
    link = Link(server, 2, 1 << 20)
    await link.send_and_close([b"goodbye"], 1001, "going away", timeout=5)
    assert await client.recv() == b"goodbye"
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert (client.close_code, client.close_reason) == (1001, "going away")


async def test_send_and_close_cuts_off_a_peer_that_does_not_read(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    """Messages that cannot be sent within the timeout: the connection is cut off, logged."""
    server, client = pair
    client.hold_reading()
    link = Link(server, 2, 1 << 20)
    await back_up(link)
    with caplog.at_level(logging.WARNING, logger="multiplayer.websocket"):
        await link.send_and_close([CHUNK] * 8, 1000, "bye", timeout=0.1)
    assert "could not send the last 8 messages within handshake_timeout; cut off" in caplog.text
    await asyncio.wait_for(server.wait_closed(), 5)
    assert server.close_code == 1006  # no close frame: the TCP connection was aborted


@pytest.mark.parametrize(
    ("sent", "rcvd", "line"),
    [
        (Close(1009, ""), None, "peer 2: sent a message over inbound_buffer_size (1024 bytes)"),
        (Close(1011, "keepalive ping timeout"), None, "peer 2: no answer to keepalive pings"),
        (None, None, "peer 2: connection lost without a close frame"),
        (None, Close(1001, "bye"), "peer 2: connection closed (1001 bye)"),
    ],
)
async def test_log_close_says_why(
    pair: Pair, caplog: pytest.LogCaptureFixture, sent: Close | None, rcvd: Close | None, line: str
) -> None:
    """log_close() writes one line naming the peer and the cause."""
    link = Link(pair[0], 2, 1 << 20)
    link.log_close(ConnectionClosed(rcvd, sent), inbound_buffer_size=1024, heartbeat_timeout=5)
    assert line in caplog.text
