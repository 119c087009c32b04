"""The server half of WebSocketMultiplayerPeer (multiplayer.transport.websocket_server):
listening, the handshake of each connection, ids. Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from multiplayer import ConnectionStatus, InvalidState, WebSocketMultiplayerPeer
from multiplayer.testing import FaultProxy
from multiplayer.transport import websocket_server
from multiplayer.transport.framing.native import Hello
from multiplayer.transport.log_budget import LineBudget
from multiplayer.transport.tcp_server import TCPServer
from multiplayer.transport.websocket_peer import WebSocketPeer
from multiplayer.transport.websocket_peer_link import PeerLink, accept_routed
from multiplayer.transport.websocket_server import WebSocketServerSide
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


async def test_port_in_use_raises(peers: Peers) -> None:
    """A second server on a port in use raises OSError and stays DISCONNECTED."""
    server = await start_server(peers)
    other = WebSocketMultiplayerPeer()
    with pytest.raises(OSError):
        await other.create_server(server.get_local_port(), "127.0.0.1")
    assert other.get_connection_status() == ConnectionStatus.DISCONNECTED


async def test_ids_in_connection_order_and_signals(peers: Peers) -> None:
    """Clients get 2, 3, 4 in order; each side sees the other at poll time only."""
    server = await start_server(peers)
    server_events = record(server)
    clients = []
    for expected in (2, 3, 4):
        client = await start_client(peers, url_of(server))
        client_events = record(client)
        assert client.get_connection_status() == ConnectionStatus.CONNECTING
        assert client.get_unique_id() == 0
        await poll_until(peers, connected(client))
        assert client.get_unique_id() == expected
        assert not client.is_server()
        assert client_events == [("connected", 1)]
        clients.append(client)
    await poll_until(peers, lambda: len(server_events) == 3)
    assert server_events == [("connected", 2), ("connected", 3), ("connected", 4)]


async def test_ids_are_never_reused(peers: Peers) -> None:
    """A client joining after another left gets a new id."""
    server = await start_server(peers)
    first = await join(peers, server)
    first.close()
    events = record(server)
    await poll_until(peers, lambda: ("disconnected", 2) in events)
    second = await join(peers, server)
    assert second.get_unique_id() == 3


async def test_server_drops_a_silent_tcp_connection(peers: Peers) -> None:
    """A TCP connection that never sends the upgrade request is closed after handshake_timeout."""
    server = await start_server(peers, handshake_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    start = time.monotonic()
    try:
        assert await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        pass
    assert 0.15 < time.monotonic() - start < 3
    writer.close()


async def test_server_drops_a_client_that_sends_no_hello(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A WebSocket that never sends HELLO is closed (1008) after handshake_timeout, unseen."""
    server = await start_server(peers, handshake_timeout=0.2)
    events = record(server)
    ws = await ws_connect(url_of(server))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1008
    server.poll()
    assert events == []
    assert "no greeting within handshake_timeout" in caplog.text


@pytest.mark.parametrize("first", [b"\x07garbage", "hello"], ids=["garbage", "text"])
async def test_server_rejects_garbage_during_handshake(
    peers: Peers, caplog: pytest.LogCaptureFixture, first: bytes | str
) -> None:
    """Garbage or text instead of HELLO closes that connection with 1002; the server goes on."""
    server = await start_server(peers)
    ws = await ws_connect(url_of(server))
    await ws.send(first)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1002
    assert "bad handshake" in caplog.text
    client = await join(peers, server)
    assert client.get_unique_id() == 2  # the rejected connection took no id


async def test_refuse_new_connections(peers: Peers) -> None:
    """While refusing, new clients are closed with 1013; connected ones carry on."""
    server = await start_server(peers)
    first = await join(peers, server)
    server.refuse_new_connections = True
    refused = await start_client(peers, url_of(server))
    await poll_until(peers, disconnected(refused))
    assert "1013" in str(refused.connection_error)
    first.put_packet(b"still here")
    await poll_until(peers, lambda: server.get_available_packet_count() == 1)
    server.refuse_new_connections = False
    again = await join(peers, server)
    assert again.get_unique_id() == 3


async def test_default_bind_address_serves_ipv4(peers: Peers) -> None:
    """bind_address '*' on port 0 listens on one port that IPv4 clients reach."""
    server = WebSocketMultiplayerPeer()
    peers.append(server)
    await server.create_server(0)
    client = await join(peers, server)
    assert server.get_peer_address(client.get_unique_id()) == "127.0.0.1"


async def test_hello_with_a_tiny_limit_is_refused(peers: Peers) -> None:
    """A client announcing a message limit below 64 bytes is refused (1002)."""
    server = await start_server(peers)
    ws = await ws_connect(url_of(server))
    await ws.send(Hello(0, 0).serialize())
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1002


async def test_hello_claiming_an_id_is_refused(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """The server gives ids: a client HELLO that claims one (1, the server's, say) is
    refused with 1002 and a log line, not silently ignored."""
    server = await start_server(peers)
    events = record(server)
    ws = await ws_connect(url_of(server))
    await ws.send(Hello(1, 1 << 20).serialize())
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1002
    assert "the client's greeting claims the id 1" in caplog.text
    server.poll()
    assert events == []


async def test_the_server_greets_with_the_id_and_its_message_limit(peers: Peers) -> None:
    """After the client's HELLO, the server's HELLO carries the new id and the server's
    inbound_buffer_size, and its reconnect_grace with a fresh 16-byte resume token;
    the client's announced limit bounds what is put for it."""
    server = await start_server(peers, inbound_buffer_size=5000, reconnect_grace=2.5)
    events = record(server)
    ws = await ws_connect(url_of(server))
    await ws.send(Hello(0, 1000, 9000).serialize())  # (a client that would try for 9 s)
    hello = Hello.parse(await asyncio.wait_for(ws.recv(), 5))
    assert (hello.peer_id, hello.max_message_size, hello.grace_ms, hello.received) == (
        2,
        5000,
        2500,
        0,
    )
    assert len(hello.token) == 16
    await poll_until(peers, lambda: events == [("connected", 2)])
    assert server.get_max_packet_size() == 999  # 1000 less the PACKET kind byte
    await ws.close()


async def test_a_handshake_ending_after_close_is_turned_away(peers: Peers) -> None:
    """A connection still in its greeting when the server closes is closed with 1001
    when the greeting comes, and never gets an id."""
    server = await start_server(peers)
    ws = await ws_connect(url_of(server))
    server.close()
    await ws.send(Hello(0, 1 << 20).serialize())
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1001
    assert ws.close_reason == "the server is closing"


async def test_local_port_needs_a_listening_server(peers: Peers) -> None:
    """get_local_port() on a peer that is not a listening server raises InvalidState."""
    with pytest.raises(InvalidState, match="create_server"):
        WebSocketMultiplayerPeer().get_local_port()
    server = await start_server(peers)
    client = await join(peers, server)
    with pytest.raises(InvalidState):
        client.get_local_port()
    with pytest.raises(InvalidState, match="not listening"):
        _ = WebSocketServerSide(WebSocketMultiplayerPeer()).local_port


async def test_godot_ids_in_use_are_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A random id that a connected client has is never given to another: the
    server draws again (Godot does not check)."""
    from multiplayer.transport import websocket_server

    draws = iter([5, 5, 5, 7])  # randbelow(n) + 2: ids 7, 7, 7, 9
    monkeypatch.setattr(websocket_server.secrets, "randbelow", lambda n: next(draws))
    server = WebSocketMultiplayerPeer(protocol="godot")
    await server.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server.get_local_port()}"
    clients = []
    try:
        for _ in range(2):
            client = WebSocketMultiplayerPeer(protocol="godot")
            await client.create_client(url)
            clients.append(client)
            while client.get_connection_status() != ConnectionStatus.CONNECTED:
                server.poll()
                client.poll()
                await asyncio.sleep(0.005)
        assert [c.get_unique_id() for c in clients] == [7, 9]
    finally:
        for peer in (*clients, server):
            peer.close()
            await peer.wait_closed()


async def settled_client(
    server: WebSocketMultiplayerPeer, made: list[WebSocketMultiplayerPeer]
) -> WebSocketMultiplayerPeer:
    """A client of ``server`` (added to ``made``), once it is CONNECTED or refused."""
    peer = WebSocketMultiplayerPeer()
    made.append(peer)
    await peer.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    await poll_until(
        [server, peer], lambda: peer.get_connection_status() != ConnectionStatus.CONNECTING
    )
    return peer


async def test_a_saturated_server_refuses_newcomers_with_1013_and_keeps_its_players(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A server whose event loop runs later than max_loop_lag refuses a new client
    with 1013 "server saturated" (its connection_error says so) instead of letting
    its handshake time out; the players already in stay; once the loop is on time
    again, a client gets in. Becoming saturated and recovering are logged. (The
    gauge's reading is set here: test_loop_load measures a held-up loop.)"""
    caplog.set_level(logging.INFO, "multiplayer.transport")
    server = WebSocketMultiplayerPeer()
    server.max_loop_lag = 0.5
    await server.create_server(0, "127.0.0.1")
    load = server._side._load  # type: ignore[union-attr]
    assert load is not None
    lag = [0.0]
    monkeypatch.setattr(load, "lag", lambda: lag[0])
    made = [server]

    try:
        first = await settled_client(server, made)
        assert first.get_connection_status() == ConnectionStatus.CONNECTED
        lag[0] = 0.8  # the loop runs 0.8 s late: frames far too long
        refused = await settled_client(server, made)
        assert refused.get_connection_status() == ConnectionStatus.DISCONNECTED
        assert "1013 server saturated, try again later" in str(refused.connection_error)
        assert first.get_connection_status() == ConnectionStatus.CONNECTED
        assert list(server._links) == [first.get_unique_id()]
        lag[0] = 0.01  # on time again
        third = await settled_client(server, made)
        assert third.get_connection_status() == ConnectionStatus.CONNECTED
        lines = [r.getMessage() for r in caplog.records]
        assert any(
            line.startswith("server saturated: its event loop runs 0.80 s") for line in lines
        )
        assert any("the server is saturated (0.80 s late)" in line for line in lines)  # refusal
        assert any(line.startswith("server no longer saturated") for line in lines)
    finally:
        for peer in made:
            peer.close()
            await peer.wait_closed()


async def test_max_clients_refuses_one_too_many_with_a_clear_reason() -> None:
    """A full server closes the next connection with 1013 "server full", which the
    client reads as its connection_error; once a client leaves, a new one gets in."""
    server = WebSocketMultiplayerPeer()
    await server.create_server(0, "127.0.0.1", max_clients=2)
    made = [server]

    try:
        first, second = await settled_client(server, made), await settled_client(server, made)
        assert first.get_connection_status() == second.get_connection_status()
        assert first.get_connection_status() == ConnectionStatus.CONNECTED
        third = await settled_client(server, made)
        assert third.get_connection_status() == ConnectionStatus.DISCONNECTED
        assert "1013 server full (max_clients 2)" in str(third.connection_error)
        first.close()
        await first.wait_closed()
        for _ in range(100):
            server.poll()
            if len(server._links) < 2:
                break
            await asyncio.sleep(0.01)
        fourth = await settled_client(server, made)
        assert fourth.get_connection_status() == ConnectionStatus.CONNECTED
    finally:
        for peer in made:
            peer.close()
            await peer.wait_closed()


async def test_max_clients_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="max_clients"):
        await WebSocketMultiplayerPeer().create_server(0, "127.0.0.1", max_clients=-1)


async def test_lines_about_failed_handshakes_are_capped_for_the_process(
    peers: Peers, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many connections with a bad greeting (each from a new port, as a flood would
    come): a few lines, then one line counting the rest, not a line each."""
    budget = LineBudget(websocket_server.logger, "lines about failed connections", 3, 0.3)
    monkeypatch.setattr(websocket_server, "handshake_lines", budget)
    server = await start_server(peers)
    for _ in range(12):
        ws = await ws_connect(url_of(server))
        await ws.send(b"\x09junk")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    await poll_until(peers, lambda: "more lines about failed connections" in caplog.text)
    about = [r.getMessage() for r in caplog.records if "127.0.0.1:" in r.getMessage()]
    assert len(about) == 3  # (a bad greeting is two lines: what was wrong, the close)
    assert "bad handshake" in about[0]
    assert "21 more lines about failed connections in 0.3 s, not logged (more than 3)" in (
        caplog.text
    )


# adopt: connections that a router took (as a room server's front door does).


class Hosted:
    """A server peer with no port of its own (``_host``) and, in front of it, a
    router: a TCPServer whose connections' 101s it holds, handing each connection
    to the peer with ``adopt`` before it sends the 101 (a room server's order)."""

    def __init__(self, peers: Peers, max_clients: int, **settings: object) -> None:
        self.peer = WebSocketMultiplayerPeer(str(settings.pop("protocol", "native")))
        for name, value in settings.items():
            setattr(self.peer, name, value)
        peers.append(self.peer)
        self.side = self.peer._host(max_clients)
        self.settled: list[int | None] = []
        self.resume_only = False  # (for the connections routed from now on)
        self.tcp = TCPServer()
        self.tcp.listen(0, "127.0.0.1")
        self._taking = asyncio.create_task(self._take())

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.tcp.get_local_port()}"

    async def _take(self) -> None:
        while True:
            await poll_until([], self.tcp.is_connection_available, 3600)
            ws = self.peer._new_ws()
            ws.accept_stream(self.tcp.take_connection())
            link = ws._link
            assert link is not None
            link.router = lambda link, path, headers, ws=ws: self._route(ws, link)

    def _route(self, ws: WebSocketPeer, link: PeerLink) -> None:
        self.side.adopt(ws, self.settled.append, resume_only=self.resume_only)
        accept_routed(link)

    def stop(self) -> None:
        self._taking.cancel()
        self.tcp.stop()


@contextlib.asynccontextmanager
async def hosted(peers: Peers, max_clients: int = 0, **settings: object) -> AsyncIterator[Hosted]:
    made = Hosted(peers, max_clients, **settings)
    try:
        yield made
    finally:
        made.stop()


async def test_an_adopted_connection_is_admitted_and_settled_once_with_its_id(
    peers: Peers,
) -> None:
    """settled is told the id each client was given, once: not again when it leaves."""
    async with hosted(peers) as host:
        events = record(host.peer)
        first = await start_client(peers, host.url)
        second = await start_client(peers, host.url)
        await poll_until(peers, lambda: connected(first)() and connected(second)())
        assert sorted([first.get_unique_id(), second.get_unique_id()]) == [2, 3]
        assert sorted(peer_id or 0 for peer_id in host.settled) == [2, 3]
        assert sorted(events) == [("connected", 2), ("connected", 3)]
        gone = first.get_unique_id()
        first.close()
        await poll_until(peers, lambda: ("disconnected", gone) in events)
        assert sorted(peer_id or 0 for peer_id in host.settled) == [2, 3]


async def test_godot_profile_adopted_connections_are_settled_at_the_101(peers: Peers) -> None:
    """In the godot profile the server speaks first: the id goes out as the 101 does."""
    async with hosted(peers, protocol="godot") as host:
        client = WebSocketMultiplayerPeer(protocol="godot")
        peers.append(client)
        await client.create_client(host.url)
        await poll_until(peers, connected(client))
        assert host.settled == [client.get_unique_id()]


async def test_an_adopted_connection_that_fails_is_settled_with_none(peers: Peers) -> None:
    """A bad greeting (1002), and a client that leaves before it greets: None, once each."""
    async with hosted(peers) as host:
        ws = await ws_connect(host.url)
        await ws.send(b"\x07garbage")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1002
        await poll_until(peers, lambda: host.settled == [None])
        quitter = await ws_connect(host.url)
        await quitter.close()
        await poll_until(peers, lambda: host.settled == [None, None])
        assert host.peer._connections == set()  # (nothing left tracked)


async def test_a_full_hosted_server_settles_the_one_too_many_with_none(peers: Peers) -> None:
    async with hosted(peers, max_clients=1) as host:
        first = await start_client(peers, host.url)
        await poll_until(peers, connected(first))
        refused = await start_client(peers, host.url)
        await poll_until(peers, disconnected(refused))
        assert "1013 server full (max_clients 1)" in str(refused.connection_error)
        await poll_until(peers, lambda: host.settled == [2, None])


async def test_resume_only_refuses_a_fresh_greeting_with_4001(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection routed to resume a session that greets as a new client is refused
    as any failed resume is (4001): it gets no id in the room."""
    async with hosted(peers) as host:
        host.resume_only = True
        events = record(host.peer)
        ws = await ws_connect(host.url)
        await ws.send(Hello(0, 1 << 20).serialize())
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert (ws.close_code, ws.close_reason) == (4001, "resume refused")
        assert "it came to resume, and greeted as a new client" in caplog.text
        await poll_until(peers, lambda: host.settled == [None])
        assert events == [] and host.peer._links == {}


async def test_a_resume_through_adopt_is_settled_with_none(peers: Peers) -> None:
    """The client's first connection is settled with its id; the one it resumes its
    session on after a cut, with None (it was given no new id)."""
    async with hosted(peers, reconnect_grace=5.0) as host:
        async with FaultProxy(host.tcp.get_local_port()) as proxy:
            client = await start_client(peers, proxy.url, reconnect_grace=5.0)
            client_events: list[str] = []
            client.peer_resumed.connect(lambda peer_id: client_events.append("resumed"))
            await poll_until(peers, connected(client))
            assert host.settled == [2]
            host.resume_only = True
            proxy.cut()
            await poll_until(peers, lambda: client_events == ["resumed"])
            assert host.settled == [2, None]
            assert client.get_unique_id() == 2
            client.put_packet(b"still here")
            await poll_until(peers, lambda: host.peer.get_available_packet_count() == 1)
            client.close()
            await asyncio.wait_for(client.wait_closed(), 5)
