"""The client half of WebSocketMultiplayerPeer (multiplayer.transport.websocket_client):
connecting, the greeting, waiting for the id. Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from websockets.asyncio.server import ServerConnection, serve as ws_serve

from multiplayer.transport.framing.native import Hello
from tests.transport.peers import (
    Peers,
    connected,
    disconnected,
    join,
    poll_until,
    record,
    start_client,
    start_server,
    url_of,
)


@pytest.mark.parametrize(
    ("server_protocols", "client_protocols"),
    [(["ludus"], ["other"]), (["ludus"], []), ([], ["ludus"])],
)
async def test_supported_protocols_mismatch_fails(
    peers: Peers, server_protocols: list[str], client_protocols: list[str]
) -> None:
    """Without a shared sub-protocol the handshake fails and the client is DISCONNECTED."""
    server = await start_server(peers, supported_protocols=server_protocols)
    client = await start_client(peers, url_of(server), supported_protocols=client_protocols)
    events = record(client)
    await poll_until(peers, disconnected(client))
    assert client.connection_error is not None
    assert events == []


async def test_refused_connection_ends_disconnected(peers: Peers) -> None:
    """Connecting to a closed port ends DISCONNECTED with the OS error, and no signal."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = await start_client(peers, f"ws://127.0.0.1:{port}")
    events = record(client)
    await poll_until(peers, disconnected(client))
    assert isinstance(client.connection_error, OSError)
    assert events == []


async def test_client_handshake_timeout(peers: Peers, caplog: pytest.LogCaptureFixture) -> None:
    """A server that never assigns an id leaves the client DISCONNECTED after handshake_timeout."""

    async def silent(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with ws_serve(silent, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        client = await start_client(peers, f"ws://127.0.0.1:{port}", handshake_timeout=0.2)
        start = time.monotonic()
        await poll_until(peers, disconnected(client))
        assert 0.15 < time.monotonic() - start < 3
        assert isinstance(client.connection_error, TimeoutError)
        assert "handshake_timeout" in caplog.text


@pytest.mark.parametrize(
    "greeting",
    [b"garbage", "text hello", Hello(1, 1 << 20).serialize(), Hello(5, 99, version=9).serialize()],
    ids=["garbage", "text", "id-1", "version"],
)
async def test_client_rejects_a_bad_hello(peers: Peers, greeting: bytes | str) -> None:
    """Garbage, text, id 1 or another version as the server's HELLO: DISCONNECTED, no raise."""
    closed: list[int | None] = []

    async def liar(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(greeting)
        await ws.wait_closed()
        closed.append(ws.close_code)

    async with ws_serve(liar, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        client = await start_client(peers, f"ws://127.0.0.1:{port}")
        await poll_until(peers, disconnected(client))
        assert client.connection_error is not None
        await client.wait_closed()
    assert closed == [1002]


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("echo", "it sent our greeting back (a WebSocket echo server?)"),
        ("text", "its first message was text (a plain WebSocket server"),
        ("junk", "expected a HELLO, got 7 bytes"),
    ],
)
async def test_a_server_of_another_protocol_is_named_as_such(
    peers: Peers, answer: str, says: str
) -> None:
    """A server that does not speak this library's protocol (an echo server, a text
    server, anything else): the error says so plainly, and what it seems to be."""

    async def server(ws: ServerConnection) -> None:
        hello = await ws.recv()
        await ws.send({"echo": hello, "text": "welcome!", "junk": b"garbage"}[answer])
        await ws.wait_closed()

    async with ws_serve(server, "127.0.0.1", 0) as other:
        port = other.sockets[0].getsockname()[1]
        client = await start_client(peers, f"ws://127.0.0.1:{port}")
        await poll_until(peers, disconnected(client))
        message = str(client.connection_error)
        assert message.startswith("the server does not speak this library's 'native' protocol")
        assert says in message


async def test_close_while_connecting_never_joins(peers: Peers) -> None:
    """A client closed during its handshake never shows up on the server."""
    server = await start_server(peers)
    events = record(server)
    client = await start_client(peers, url_of(server))
    client.close()
    await client.wait_closed()
    for _ in range(10):
        server.poll()
        await asyncio.sleep(0.01)
    assert events == []
    again = await join(peers, server)
    assert again.get_unique_id() == 2


async def test_the_client_greets_with_its_message_limit(peers: Peers) -> None:
    """The client's HELLO carries id 0 and its inbound_buffer_size; the server's HELLO
    gives it its id and bounds the packets it may put."""
    greetings: list[bytes | str] = []

    async def server(ws: ServerConnection) -> None:
        greetings.append(await ws.recv())
        await ws.send(Hello(7, 500).serialize())
        await ws.wait_closed()

    async with ws_serve(server, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        client = await start_client(peers, f"ws://127.0.0.1:{port}", inbound_buffer_size=4096)
        await poll_until(peers, connected(client))
        assert greetings == [Hello(0, 4096, 30000).serialize()]  # (and its grace: 30 s)
        assert client.get_unique_id() == 7
        assert client.get_max_packet_size() == 499
        client.close()
