"""Tests for :mod:`multiplayer.transport.websocket_connection`: the websockets
connection with a sink, and the websockets internals it relies on (each test here
breaks if a websockets upgrade changes one). Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from multiplayer.transport.websocket_connection import (
    NOT_WRITTEN,
    WROTE,
    WROTE_BACKED_UP,
    CloseCause,
    SinkClientConnection,
    SinkConnection,
    SinkServerConnection,
    address_of,
    close_cause,
)

Pair = tuple[SinkConnection, SinkConnection]


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """(the server's connection, the client's), open, with no sink yet."""
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
        )
        assert isinstance(client, SinkConnection)
        yield await accepted, client
        client.cut_off()  # (a test may leave it unable to finish a closing handshake)
        await client.wait_closed()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


def sink_into(ws: SinkConnection) -> list[bytes]:
    got: list[bytes] = []
    ws.sink = got.append
    return got


async def test_whole_binary_messages_go_to_the_sink(pair: Pair) -> None:
    """With a sink set, whole binary messages skip recv(): the fast path works with
    this websockets (it feeds process_event() from data_received())."""
    server, client = pair
    got = sink_into(server)
    for i in range(20):
        await client.send(bytes([i]))
    await until(lambda: len(got) == 20)
    assert got == [bytes([i]) for i in range(20)]
    assert server.queued == 0


async def test_other_messages_take_recv_and_keep_the_order(pair: Pair) -> None:
    """Text and fragmented messages go through recv() (next_message); binary ones that
    come after them wait there too, so the order holds; once recv() has them all, the
    sink takes over again."""
    server, client = pair
    got = sink_into(server)
    await client.send(b"first")
    await client.send("text")
    await client.send([b"frag", b"ment"])
    await client.send(b"after")
    await until(lambda: server.queued == 3)
    assert got == [b"first"]
    assert [await server.next_message() for _ in range(3)] == ["text", b"fragment", b"after"]
    assert server.queued == 0
    await client.send(b"sink again")
    await until(lambda: got == [b"first", b"sink again"])


async def test_after_data_runs_after_the_sink_for_each_read(pair: Pair) -> None:
    """after_data() is called once a read's messages have gone to the sink."""
    server, client = pair
    calls: list[str] = []
    server.sink = lambda message: calls.append("sink")
    server.after_data = lambda: calls.append("after")
    await client.send(b"x")
    await until(lambda: "after" in calls)
    assert calls[:2] == ["sink", "after"]


async def test_write_now_writes_at_once(pair: Pair) -> None:
    """write_now() puts binary messages on the socket without an await."""
    server, client = pair
    assert server.write_now([b"one", b"two"]) == WROTE
    assert [await client.recv() for _ in range(2)] == [b"one", b"two"]
    assert server.backed_up is False


async def test_write_now_refuses_once_the_connection_closes(pair: Pair) -> None:
    """write_now() writes nothing (NOT_WRITTEN) when the connection is not open."""
    server, client = pair
    await client.close()
    await server.wait_closed()
    assert server.write_now([b"late"]) == NOT_WRITTEN


async def test_backed_up_until_the_socket_drains(pair: Pair) -> None:
    """A socket whose reader stalls goes over its high-water mark: the write that
    crosses it says so (WROTE_BACKED_UP), backed_up holds, later writes are refused,
    and wait_drained() returns once the reader catches up."""
    server, client = pair
    client.hold_reading()
    chunk = bytes(1 << 20)
    results = []
    for _ in range(64):  # far past the socket buffers
        results.append(server.write_now([chunk]))
        if server.backed_up:
            break
        await asyncio.sleep(0)
    assert results[-1] == WROTE_BACKED_UP
    assert set(results[:-1]) <= {WROTE}
    assert server.write_now([b"refused"]) == NOT_WRITTEN
    drained = asyncio.ensure_future(server.wait_drained())
    await asyncio.sleep(0.05)
    assert not drained.done()
    client.release_reading()
    while not drained.done():
        await client.recv()
    assert server.backed_up is False


async def test_hold_and_release_reading(pair: Pair) -> None:
    """While reading is held nothing reaches the sink; released, everything does."""
    server, client = pair
    got = sink_into(server)
    server.hold_reading()
    await client.send(b"held")
    await asyncio.sleep(0.05)
    assert got == []
    server.release_reading()
    await until(lambda: got == [b"held"])


async def test_cut_off_drops_the_connection_without_a_close_frame(pair: Pair) -> None:
    """cut_off() aborts the TCP connection: the other side sees no close frame."""
    server, client = pair
    server.cut_off()
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(client.recv(), 5)
    assert info.value.rcvd is None


async def test_address_of(pair: Pair) -> None:
    """address_of() names the other side as host:port, for log lines."""
    server, client = pair
    host, port = client.local_address[:2]
    assert address_of(server) == f"{host}:{port}"
    assert address_of(SimpleNamespace(remote_address=None)) == "an unknown address"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sent", "rcvd", "cause"),
    [
        (Close(1009, "over max_size"), None, CloseCause.MESSAGE_TOO_BIG),
        (Close(1011, "keepalive ping timeout"), None, CloseCause.KEEPALIVE_TIMEOUT),
        (None, None, CloseCause.LOST),
        (Close(1000, ""), Close(1000, ""), CloseCause.CLOSED),
        (None, Close(1001, "going away"), CloseCause.CLOSED),
        (Close(1011, "other"), None, CloseCause.CLOSED),
    ],
)
def test_close_cause(sent: Close | None, rcvd: Close | None, cause: CloseCause) -> None:
    """close_cause() reads why a connection closed from the frames websockets recorded."""
    both = None if rcvd is None or sent is None else True
    assert close_cause(ConnectionClosed(rcvd, sent, both)) is cause


async def test_close_cause_of_a_real_keepalive_timeout() -> None:
    """websockets still fails an unanswered keepalive with the reason close_cause()
    looks for."""
    closed: asyncio.Future[ConnectionClosed] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            closed.set_result(exc)

    async with serve(
        handler, "127.0.0.1", 0, ping_interval=0.05, ping_timeout=0.05, close_timeout=0.1
    ) as server:
        port = server.sockets[0].getsockname()[1]
        client = await connect(f"ws://127.0.0.1:{port}", ping_interval=None)
        assert isinstance(client.transport, asyncio.Transport)
        client.transport.pause_reading()  # so it answers no ping
        assert close_cause(await asyncio.wait_for(closed, 5)) is CloseCause.KEEPALIVE_TIMEOUT
        client.transport.abort()
