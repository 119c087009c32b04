"""The client half of WebSocketMultiplayerPeer (multiplayer.transport.websocket_client):
connecting, the greeting, waiting for the id, and where a lost session resumes.
Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus

import pytest
from websockets.asyncio.server import ServerConnection, serve as ws_serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from multiplayer.testing import FaultProxy
from multiplayer.transport.framing.native import Hello
from multiplayer.transport.redirects import FOLLOW_HEADER, MAX_REDIRECTS
from multiplayer.transport.websocket_client import RESUME_PATH_HEADER, resume_url
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


# Where a lost session is resumed: the 101 may name another path (a room server's).


@pytest.mark.parametrize(
    ("url", "headers", "resumed_at"),
    [
        (
            "ws://127.0.0.1:9000/create/dice?name=Ann",
            (("Multiplayer-Resume-Path", "/resume/K3M9QZ"),),
            "ws://127.0.0.1:9000/resume/K3M9QZ",
        ),
        (
            "wss://games.example:443/join_or_create/dice",
            (("upgrade", "websocket"), ("multiplayer-resume-path", "/resume/K3M9QZ")),
            "wss://games.example:443/resume/K3M9QZ",
        ),
        ("ws://127.0.0.1:9000/game", (("X-Other", "/elsewhere"),), "ws://127.0.0.1:9000/game"),
        ("ws://127.0.0.1:9000/game", (), "ws://127.0.0.1:9000/game"),
        # Never another host: only a path is taken.
        (
            "ws://127.0.0.1:9000/game",
            (("Multiplayer-Resume-Path", "ws://evil.example/x"),),
            "ws://127.0.0.1:9000/game",
        ),
        (
            "ws://127.0.0.1:9000/game",
            (("Multiplayer-Resume-Path", "resume/K3M9QZ"),),
            "ws://127.0.0.1:9000/game",
        ),
    ],
    ids=["path", "any-case", "other-header", "none", "absolute-url", "relative"],
)
def test_resume_url(url: str, headers: tuple[tuple[str, str], ...], resumed_at: str) -> None:
    assert resume_url(url, headers) == resumed_at


def test_resume_url_never_leaves_the_host() -> None:
    """A path that looks like a network path (//host/...) stays on the first host."""
    resumed = resume_url("ws://127.0.0.1:9000/game", (("Multiplayer-Resume-Path", "//evil/x"),))
    assert urllib.parse.urlsplit(resumed).netloc == "127.0.0.1:9000"


async def test_a_lost_session_resumes_at_the_path_the_101_named(peers: Peers) -> None:
    """The client came in at /create/dice; its 101 named /resume/K3M9QZ: after a cut,
    its reconnection asks for that path (a room server would else make a new room)."""
    server = await start_server(
        peers, reconnect_grace=5.0, handshake_headers={RESUME_PATH_HEADER: "/resume/K3M9QZ"}
    )
    events = record(server)
    async with FaultProxy(server.get_local_port()) as proxy:
        client = await start_client(peers, proxy.url + "/create/dice", reconnect_grace=5.0)
        await poll_until(peers, connected(client))
        assert server.get_peer(2).get_requested_url().endswith("/create/dice")
        resumed: list[int] = []
        client.peer_resumed.connect(resumed.append)
        proxy.cut()
        await poll_until(peers, lambda: resumed == [1])
        assert server.get_peer(2).get_requested_url().endswith("/resume/K3M9QZ")
        assert events == [("connected", 2)]  # (the same peer: no leave, no new join)
        client.close()
        await asyncio.wait_for(client.wait_closed(), 5)


# Redirects.


@contextlib.asynccontextmanager
async def redirector(
    to: Callable[[], str], headers: tuple[tuple[str, str], ...] = ()
) -> AsyncIterator[tuple[str, list[Headers]]]:
    """A server that answers every request with a 307 to ``to()`` (and ``headers``):
    its URL, and the headers of each request it got."""
    seen: list[Headers] = []

    def redirect(connection: ServerConnection, request: Request) -> Response:
        seen.append(request.headers)
        response = connection.respond(HTTPStatus.TEMPORARY_REDIRECT, "elsewhere\n")
        response.headers["Location"] = to()
        for name, value in headers:
            response.headers[name] = value
        return response

    async def never(ws: ServerConnection) -> None:
        raise AssertionError("a redirector opens no connection")

    async with ws_serve(never, "127.0.0.1", 0, process_request=redirect) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


async def test_a_redirect_is_followed_with_the_headers_it_carries(peers: Peers) -> None:
    """A server that redirects the handshake (307, with a ticket) is followed: the
    client says it follows, carries the ticket to the next request, and ends up
    connected to the server at the end of the chain."""
    server = await start_server(peers)
    async with (
        redirector(lambda: url_of(server) + "/there") as (second, at_second),
        redirector(lambda: second + "/next", (("Multiplayer-Ticket", "t.s"),)) as (first, at_first),
    ):
        client = await start_client(peers, first + "/here")
        await poll_until(peers, connected(client))
    assert server.get_peer(client.get_unique_id()).get_requested_url().endswith("/there")
    assert at_first[0][FOLLOW_HEADER] == "1" and "Multiplayer-Ticket" not in at_first[0]
    assert at_second[0]["Multiplayer-Ticket"] == "t.s" and at_second[0][FOLLOW_HEADER] == "1"


async def test_a_redirect_loop_ends_in_an_error(peers: Peers) -> None:
    """A server that redirects to itself: the client follows MAX_REDIRECTS hops,
    then fails with the redirect as its error (no endless loop)."""
    here: list[str] = []
    async with redirector(lambda: here[0]) as (url, seen):
        here.append(url)
        client = await start_client(peers, url)
        await poll_until(peers, disconnected(client))
    assert len(seen) == MAX_REDIRECTS + 1
    assert f"the server redirected the connection to {url}" in str(client.connection_error)


async def test_a_lost_session_resumes_through_a_redirect(peers: Peers) -> None:
    """A client came in through a server that redirected it (a room cluster's entry,
    which sent it to the room's process): its session is lost; it resumes at the
    URL it came in by, is redirected again, and resumes there (same peer)."""
    server = await start_server(peers, reconnect_grace=5.0)
    events = record(server)
    async with redirector(lambda: url_of(server) + "/there") as (entry, seen):
        client = await start_client(peers, entry + "/here", reconnect_grace=5.0)
        await poll_until(peers, connected(client))
        resumed: list[int] = []
        client.peer_resumed.connect(resumed.append)
        link = server.get_peer(client.get_unique_id())._link
        assert link is not None and link.transport is not None
        link.transport.abort()  # (the connection drops)
        await poll_until(peers, lambda: resumed == [1])
    assert len(seen) == 2 and all(request[FOLLOW_HEADER] == "1" for request in seen)
    assert events == [("connected", client.get_unique_id())]


async def test_a_hop_to_another_host_leaves_the_credentials_out(peers: Peers) -> None:
    """The client's own headers go with each hop, but its credentials (Authorization,
    Cookie) only while the redirects stay on the host it asked for: a server that
    redirects cannot hand them to a third party."""
    server = await start_server(peers)
    headers = {"Authorization": "Bearer secret", "Cookie": "s=1", "X-Game": "dice"}
    async with (
        redirector(lambda: url_of(server)) as (elsewhere, at_elsewhere),
        redirector(lambda: elsewhere.replace("127.0.0.1", "localhost")) as (same, at_same),
        redirector(lambda: same) as (first, at_first),
    ):
        client = await start_client(peers, first, handshake_headers=headers)
        await poll_until(peers, connected(client))
    for request in (at_first[0], at_same[0]):  # (127.0.0.1, another port)
        assert request["Authorization"] == "Bearer secret" and request["Cookie"] == "s=1"
    assert "Authorization" not in at_elsewhere[0] and "Cookie" not in at_elsewhere[0]
    assert at_elsewhere[0]["X-Game"] == "dice"


async def test_a_redirect_to_an_invalid_url_fails_at_once(peers: Peers) -> None:
    """A Location that is no URL a client can connect to (a port out of range) ends
    the connection with that error, not after handshake_timeout."""
    async with redirector(lambda: "ws://127.0.0.1:99999/x") as (url, _):
        started = time.monotonic()
        client = await start_client(peers, url, handshake_timeout=5.0)
        await poll_until(peers, disconnected(client))
    assert "redirected to an invalid URL" in str(client.connection_error)
    assert time.monotonic() - started < 2.5
