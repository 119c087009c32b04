"""Tests for :mod:`multiplayer.transport.websocket_sessions`: the acknowledgements of
a resumable session over real sockets, and a peer that breaks their rules.

(The losing and resuming of links is tested end to end in tests/faults/.)"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from multiplayer.transport.framing.native import Hello, encode_packets, serialize_ack
from multiplayer.transport.resume import ACK_INTERVAL
from tests.transport.peers import Peers, join, poll_until, start_server


async def test_acknowledgements_keep_the_replay_buffers_small(peers: Peers) -> None:
    """Packets flow both ways for a while: each side's replay buffer holds only what
    the other has not acknowledged yet, a fraction of a second of traffic."""
    server = await start_server(peers)
    client = await join(peers, server)
    server_link, client_link = server._links[2], client._links[1]
    assert server_link.replay is not None and client_link.replay is not None
    most = 0
    for _ in range(60):
        server.set_target_peer(2)
        server.put_packet(b"s" * 100)
        client.set_target_peer(1)
        client.put_packet(b"c" * 100)
        await poll_until(peers, lambda: True)
        await asyncio.sleep(0.02)
        most = max(most, len(server_link.replay._buffer), len(client_link.replay._buffer))
    assert server_link.replay.sent == client_link.replay.received == 60
    assert most <= 2 * ACK_INTERVAL / 0.02 + 2  # (about two intervals' worth at most)
    await poll_until(peers, lambda: not server_link.replay.buffered, timeout=2)  # type: ignore[union-attr]
    await poll_until(peers, lambda: not client_link.replay.buffered, timeout=2)  # type: ignore[union-attr]


async def test_a_quiet_receiver_acknowledges_on_its_own(peers: Peers) -> None:
    """A client that only receives still acknowledges: the server's buffer empties."""
    server = await start_server(peers)
    client = await join(peers, server)
    server.set_target_peer(2)
    for _ in range(10):
        server.put_packet(b"x")
        await asyncio.sleep(0)
    replay = server._links[2].replay
    assert replay is not None
    await poll_until(peers, lambda: replay.sent == 10 and not replay.buffered, timeout=2)
    assert client._links[1].replay.received == replay.sent  # type: ignore[union-attr]


async def raw_client(port: int):  # type: ignore[no-untyped-def]
    ws = await connect(f"ws://127.0.0.1:{port}", compression=None)
    await ws.send(Hello(0, 1 << 20, 30000).serialize())  # (30 s: it would resume)
    hello = Hello.parse(await asyncio.wait_for(ws.recv(), 5))
    assert hello.token
    return ws


@pytest.mark.parametrize("count", [1, 2**64 - 1])
async def test_an_ack_of_what_was_never_sent_is_a_protocol_error(
    peers: Peers, caplog: pytest.LogCaptureFixture, count: int
) -> None:
    server = await start_server(peers)
    ws = await raw_client(server.get_local_port())
    await ws.send(serialize_ack(count))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
    await poll_until(peers, lambda: "acknowledged" in caplog.text)
    assert f"acknowledged {count} messages, but 0 were acknowledged already and 0 sent" in (
        caplog.text
    )


async def test_a_malformed_ack_is_a_protocol_error(peers: Peers) -> None:
    server = await start_server(peers)
    ws = await raw_client(server.get_local_port())
    await ws.send(b"\x03\x01")
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


async def test_what_is_in_flight_past_the_buffer_is_let_go_not_the_peer(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that reads but has not acknowledged more than resume_buffer_size (a
    burst, a slow network): the server's buffer lets those messages go, with one
    log line, instead of growing or cutting an honest peer; everything arrives."""
    server = await start_server(peers, resume_buffer_size=64 * 1024)
    ws = await raw_client(server.get_local_port())
    await poll_until(peers, lambda: 2 in server._links)
    replay = server._links[2].replay
    assert replay is not None
    server.set_target_peer(2)
    for _ in range(100):
        server.put_packet(bytes(1000))
        await asyncio.sleep(0)
        assert replay.buffered <= 64 * 1024
    for _ in range(100):
        message = await asyncio.wait_for(ws.recv(), 5)
        assert message == b"\x00" + bytes(1000)
    assert replay.lapsed
    lines = [r.getMessage() for r in caplog.records if "let go" in r.getMessage()]
    assert lines == [
        "peer 2: more than resume_buffer_size (65536 bytes) in flight and not acknowledged;"
        " let go (a resume before it catches up would fail)"
    ]
    await ws.send(serialize_ack(100))  # (it catches up: resumable again)
    await poll_until(peers, lambda: not replay.lapsed)
    await ws.close()


async def test_a_client_that_would_not_come_back_gets_no_token(peers: Peers) -> None:
    """A client whose greeting says it would not resume (grace 0) is offered none:
    neither side counts nor acknowledges."""
    server = await start_server(peers)
    ws = await connect(f"ws://127.0.0.1:{server.get_local_port()}", compression=None)
    await ws.send(Hello(0, 1 << 20).serialize())
    hello = Hello.parse(await asyncio.wait_for(ws.recv(), 5))
    assert (hello.token, hello.grace_ms) == (b"", 0)
    await poll_until(peers, lambda: 2 in server._links)
    assert server._links[2].replay is None
    await ws.close()


async def test_data_from_a_raw_client_is_counted(peers: Peers) -> None:
    """The server counts each data message (PACKET or BATCH) once, not each packet."""
    server = await start_server(peers)
    ws = await raw_client(server.get_local_port())
    await poll_until(peers, lambda: 2 in server._links)
    for message in encode_packets([b"a", b"b", b"c"], 1 << 20) + encode_packets([b"d"], 1 << 20):
        await ws.send(message)
    replay = server._links[2].replay
    assert replay is not None
    await poll_until(peers, lambda: replay.received == 2)
    await ws.close()
