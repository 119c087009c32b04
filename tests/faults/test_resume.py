"""Resuming a session over real sockets, through a FaultProxy: the link breaks the
ways real networks break it, and every reliable packet sent either way arrives
exactly once, in order; the peer keeps its id; the signals say what happened."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator

import pytest
import trustme

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer
from multiplayer.testing import FaultProxy
from multiplayer.transport.peer import TransferMode
from multiplayer.transport.websocket_client import WebSocketClientSide
from multiplayer.transport.websocket_reconnect import BACKOFF_CAP, Reconnection, ResumeRefused
from tests.faults.pair import SETTINGS, End, Pair, start_pair

CONNECTED = ConnectionStatus.CONNECTED


async def burst(pair: Pair, count: int, per_pass: int = 25) -> None:
    """Both sides put ``count`` numbered packets, ``per_pass`` per pass of the loop."""
    server, client = pair.ends
    while server.sent < count or client.sent < count:
        server.send(min(per_pass, count - server.sent))
        client.send(min(per_pass, count - client.sent))
        server.poll()
        client.poll()
        await asyncio.sleep(0)


def all_arrived(pair: Pair, count: int) -> bool:
    server, client = pair.ends
    return len(server.got) >= count and len(client.got) >= count


async def test_a_cut_during_a_burst_both_ways_loses_nothing(pair: Pair) -> None:
    server, client = pair.ends
    peer_id = client.peer.get_unique_id()
    sending = asyncio.create_task(burst(pair, 3000))
    await pair.until(lambda: len(server.got) > 500 and len(client.got) > 500)
    pair.proxy.cut()
    await sending
    await pair.until(lambda: all_arrived(pair, 3000))
    server.check(client)
    client.check(server)
    assert server.events == [("connected", peer_id), ("dropped", peer_id), ("resumed", peer_id)]
    assert client.events == [("connected", 1), ("dropped", 1), ("resumed", 1)]
    assert client.peer.get_unique_id() == peer_id
    assert client.peer.get_connection_status() is CONNECTED


async def test_several_cuts_in_a_row_lose_nothing(pair: Pair) -> None:
    server, client = pair.ends
    for _ in range(3):
        sending = asyncio.create_task(burst(pair, server.sent + 600))
        await pair.until(lambda: len(server.got) > server.sent - 300)
        pair.proxy.cut()
        await sending
        await pair.until(lambda: all_arrived(pair, server.sent))
    server.check(client)
    client.check(server)
    assert server.saw("dropped", "resumed") == ["dropped", "resumed"] * 3
    assert "disconnected" not in server.saw("disconnected")


async def test_a_blackhole_longer_than_the_heartbeat_is_detected_and_resumed(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing is forwarded and nothing closed: both keepalives notice (0.2 + 0.3 s),
    the client tries again and again while the blackhole lasts, and resumes once the
    network is back; what was put meanwhile arrives."""
    caplog.set_level(logging.INFO, "multiplayer")
    server, client = pair.ends
    pair.proxy.blackhole()
    server.send(50)
    client.send(50)
    await pair.until(lambda: server.saw("dropped") and client.saw("dropped"))
    server.send(50)  # (put while away: kept for the resume)
    client.send(50)
    reconnection = client.peer._side.reconnection  # type: ignore[union-attr]
    assert reconnection is not None
    await pair.until(lambda: reconnection.attempts >= 2)  # (they fail while it lasts)
    pair.proxy.restore()
    await pair.until(lambda: server.saw("resumed") and client.saw("resumed"))
    await pair.until(lambda: all_arrived(pair, 100))
    server.check(client)
    client.check(server)
    assert "no answer to keepalive pings" in caplog.text


async def test_cuts_during_the_resume_itself_lose_nothing(pair: Pair) -> None:
    """The link is cut again while the client is resuming (twice): the next attempt
    resumes from the counts both sides still hold."""
    server, client = pair.ends
    server.send(200)
    client.send(200)
    pair.proxy.delay = 0.15  # (slow enough to cut the resume in its middle)
    pair.proxy.cut()
    for _ in range(2):
        await pair.until(lambda: pair.proxy.links == 1 and not client.saw("resumed"))
        server.send(100)
        client.send(100)
        pair.proxy.cut()
    pair.proxy.delay = 0
    await pair.until(lambda: client.saw("resumed") != [] and all_arrived(pair, 400))
    server.check(client)
    client.check(server)
    assert client.saw("disconnected") == []


async def test_an_unclean_link_is_resumed_but_a_clean_close_is_a_leave(pair: Pair) -> None:
    """close() on the client sends a close frame: the server reports the leave at
    once, with no grace."""
    server, client = pair.ends
    peer_id = client.peer.get_unique_id()
    client.peer.close()
    await pair.until(lambda: ("disconnected", peer_id) in server.events, timeout=2)
    assert server.saw("dropped") == []


async def test_the_grace_running_out_ends_the_session_on_both_sides(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A client that cannot come back (the network stays down) within the grace:
    the server reports peer_dropped, then peer_disconnected once the grace is over;
    the client gives up then too, DISCONNECTED with connection_error saying why."""
    pair = await start_pair(reconnect_grace=1.0)
    try:
        server, client = pair.ends
        peer_id = client.peer.get_unique_id()
        pair.proxy.blackhole()
        await pair.until(lambda: server.saw("dropped") != [])
        loop = asyncio.get_running_loop()
        dropped_at = loop.time()
        await pair.until(lambda: server.saw("disconnected") != [], timeout=5)
        assert 0.9 <= loop.time() - dropped_at <= 2.0
        await pair.until(lambda: client.saw("disconnected") != [], timeout=5)
        assert server.events[-2:] == [("dropped", peer_id), ("disconnected", peer_id)]
        assert client.events == [("connected", 1), ("dropped", 1), ("disconnected", 1)]
        assert client.peer.get_connection_status() is ConnectionStatus.DISCONNECTED
        assert "could not reconnect within 1.0 s" in str(client.peer.connection_error)
        assert f"peer {peer_id}: it did not come back within reconnect_grace" in caplog.text
        assert not server.peer._links
    finally:
        pair.proxy.restore()
        await pair.close()


async def test_a_rejoin_after_the_grace_is_a_new_peer() -> None:
    pair = await start_pair(reconnect_grace=0.5)
    try:
        _server, client = pair.ends
        old_id = client.peer.get_unique_id()
        pair.proxy.blackhole()
        await pair.until(lambda: client.saw("disconnected") != [], timeout=5)
        pair.proxy.restore()
        await client.peer.create_client(pair.proxy.url)
        await pair.until(lambda: client.peer.get_connection_status() is CONNECTED)
        assert client.peer.get_unique_id() not in (0, old_id)
    finally:
        await pair.close()


async def test_unreliable_packets_put_while_away_are_dropped() -> None:
    """What is put unreliable for a peer that is away is dropped (docs/resume.md);
    the reliable packets around it all arrive."""
    pair = await start_pair()
    try:
        server, client = pair.ends
        pair.proxy.blackhole()
        await pair.until(lambda: server.saw("dropped") != [] and client.saw("dropped") != [])
        server.send(5)
        server.send(5, TransferMode.UNRELIABLE)
        server.send(5)
        pair.proxy.restore()
        # (The reliable ones after the unreliable ones arrive after them, in order:
        # once all ten are in, none of the unreliable ones is still on its way.)
        await pair.until(lambda: len(client.got) >= 10 and client.saw("resumed") != [])
        assert client.got == [*range(5), *range(10, 15)]
    finally:
        await pair.close()


async def test_a_replay_buffer_overflow_while_away_ends_the_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """More than resume_buffer_size put for a peer that is away: its session ends at
    once, with a log line saying so, not later with a gap."""
    pair = await start_pair(resume_buffer_size=4096)
    try:
        server, client = pair.ends
        peer_id = client.peer.get_unique_id()
        pair.proxy.blackhole()
        await pair.until(lambda: server.saw("dropped") != [])
        server.peer.set_target_peer(peer_id)
        for _ in range(5):
            server.peer.put_packet(bytes(1000))
        await pair.until(lambda: server.saw("disconnected") != [], timeout=2)
        assert f"peer {peer_id}: more than resume_buffer_size (4096 bytes)" in caplog.text
        pair.proxy.restore()
        await pair.until(lambda: client.saw("disconnected") != [], timeout=5)
        assert "refused to resume" in str(client.peer.connection_error)
    finally:
        await pair.close()


async def test_a_client_with_no_grace_does_not_resume() -> None:
    """reconnect_grace = 0 on the client: a lost link is the end, as without resume."""
    pair = await start_pair()
    try:
        server, client = pair.ends
        client.peer.close()
        await client.peer.wait_closed()
        client.peer.reconnect_grace = 0
        await client.peer.create_client(pair.proxy.url)
        await pair.until(lambda: client.peer.get_connection_status() is CONNECTED)
        client.sent, server.sent, client.got, server.got = 0, 0, [], []
        server.target = client.peer.get_unique_id()
        server.send(100)  # (data both ways, not acknowledged: the server offered no resume)
        client.send(100)
        await pair.until(lambda: len(client.got) == 100 and len(server.got) == 100)
        # No side counts, so none will acknowledge (an ACK to a client that does not
        # count was a protocol error that cut it).
        assert client.peer._links[1].replay is None
        assert server.peer._links[server.target].replay is None
        assert client.peer.get_connection_status() is CONNECTED
        pair.proxy.cut()
        await pair.until(lambda: client.peer.get_connection_status() is not CONNECTED)
        assert client.saw("dropped") == []
    finally:
        await pair.close()


async def test_a_wss_session_resumes_with_the_same_tls_settings() -> None:
    """Over TLS (a generated certificate, a client that trusts its CA only): the
    reconnection verifies the server as the first connection did, and resumes."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server, client = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer()
    for peer in (server, client):
        for name, value in SETTINGS.items():
            setattr(peer, name, value)
    await server.create_server(0, "127.0.0.1", tls=server_context)
    proxy = FaultProxy(server.get_local_port())
    await proxy.start()
    pair = Pair(End(server, 0), End(client, 1), proxy)
    try:
        await client.create_client(f"wss://localhost:{proxy.port}", tls=client_context)
        await pair.until(lambda: client.get_connection_status() is CONNECTED)
        await pair.until(lambda: ("connected", client.get_unique_id()) in pair.server.events)
        pair.server.target = client.get_unique_id()
        sending = asyncio.create_task(burst(pair, 1000))
        await pair.until(lambda: len(pair.server.got) > 200)
        proxy.cut()
        await sending
        await pair.until(lambda: all_arrived(pair, 1000))
        pair.server.check(pair.client)
        pair.client.check(pair.server)
        assert pair.client.saw("dropped", "resumed") == ["dropped", "resumed"]
    finally:
        await pair.close()


async def test_a_cut_while_the_servers_answer_is_on_its_way_loses_nothing(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server accepts a resume and rotates the token, and the link is cut before
    its answer (with the new token) arrives: the client comes back with the only
    token it has, the old one, which is still good until it speaks on the resumed
    link; nothing is lost."""
    server, client = pair.ends
    sessions = server.peer._sessions
    original = sessions.resume
    cuts = []

    def resume_then_cut(*args: object) -> None:
        original(*args)  # type: ignore[arg-type]
        if not cuts:  # (the answer is written, not yet delivered: cut it off)
            cuts.append(1)
            pair.proxy.cut()

    monkeypatch.setattr(sessions, "resume", resume_then_cut)
    server.send(50)
    client.send(50)
    pair.proxy.cut()
    server.send(50)
    client.send(50)
    await pair.until(lambda: client.saw("resumed") != [] and all_arrived(pair, 100))
    server.check(client)
    client.check(server)
    assert cuts == [1]
    assert client.saw("disconnected") == [] and server.saw("disconnected") == []


async def test_a_resume_that_outlasts_the_clients_patience_is_taken_up_again(
    pair: Pair, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server resumes the session, but its answer comes after the client's
    handshake_timeout (held back here, as a congested network would). The client
    cuts that attempt: never a close frame, which the server would take for a
    leave. Its next attempt resumes, with the token it has."""
    caplog.set_level(logging.INFO, "multiplayer")
    server, client = pair.ends
    sessions = server.peer._sessions
    original = sessions.resume
    held: list[int] = []

    def resume_answering_late(link, ws, size, first, token):  # type: ignore[no-untyped-def]
        original(link, ws, size, [] if not held else first, token)
        if not held:  # (the first time: the answer would come in 1.5 s, too late)
            held.append(1)
            loop = asyncio.get_running_loop()
            loop.call_later(1.5, link.conn.write_binary, first)

    monkeypatch.setattr(sessions, "resume", resume_answering_late)
    pair.proxy.cut()
    server.send(20)
    client.send(20)
    await pair.until(lambda: client.saw("resumed") != [] and all_arrived(pair, 20))
    server.check(client)
    client.check(server)
    assert held == [1]
    assert server.saw("disconnected") == [] and client.saw("disconnected") == []
    assert server.saw("dropped", "resumed") == ["dropped", "resumed", "dropped", "resumed"]


async def test_a_server_answering_503_during_the_grace_makes_the_client_give_up_in_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A load balancer answers 503 while the server is away: each attempt fails with
    an HTTP error, the client tries on, and gives up when its grace is over (it
    does not hang)."""
    from websockets.asyncio.server import serve
    from websockets.http11 import Response

    pair = await start_pair(reconnect_grace=1.0)
    try:
        port = pair.proxy.port
        await pair.proxy.close()  # (the "backend" goes away: its port answers 503)

        async def unavailable(connection: object, request: object) -> Response:
            return connection.respond(503, "down for maintenance\n")  # type: ignore[attr-defined,no-any-return]

        async with serve(
            lambda ws: ws.wait_closed(), "127.0.0.1", port, process_request=unavailable
        ):
            await pair.until(lambda: pair.client.saw("disconnected") != [], timeout=5)
        error = str(pair.client.peer.connection_error)
        assert "could not reconnect within 1.0 s" in error and "503" in error
        assert pair.client.peer.get_connection_status() is ConnectionStatus.DISCONNECTED
    finally:
        await pair.close()


@contextlib.asynccontextmanager
async def refusing_at(port: int, code: int) -> AsyncIterator[None]:
    """A WebSocket server on ``port`` that opens every connection and closes it at
    once with ``code`` (what a room server does to a resume it cannot serve)."""
    from websockets.asyncio.server import ServerConnection, serve

    async def refuse(ws: ServerConnection) -> None:
        await ws.close(code, "no room K3M9QZ here to resume in")

    async with serve(refuse, "127.0.0.1", port):
        yield


def reconnection_of(peer: WebSocketMultiplayerPeer) -> Reconnection | None:
    side = peer._side
    return side.reconnection if isinstance(side, WebSocketClientSide) else None


@pytest.mark.parametrize("code", range(4100, 4107))
async def test_a_room_servers_refusal_makes_the_client_give_up_at_once(code: int) -> None:
    """4100-4106 answer a resume whose room is gone (or the server is closing): the
    session cannot come back, so the client gives up at that attempt, with the
    code and reason, not when its 10 s grace ends."""
    pair = await start_pair(reconnect_grace=10.0)
    try:
        port = pair.proxy.port
        await pair.proxy.close()  # (the room's process is restarted on the same port)
        async with refusing_at(port, code):
            lost_at = time.monotonic()
            await pair.until(lambda: pair.client.saw("disconnected") != [], timeout=5)
        assert time.monotonic() - lost_at < BACKOFF_CAP + SETTINGS["handshake_timeout"]
        error = pair.client.peer.connection_error
        assert isinstance(error, ResumeRefused)
        assert str(error) == (
            f"the server refused to resume the session: {code} no room K3M9QZ here to resume in"
        )
    finally:
        await pair.close()


@pytest.mark.parametrize("code", [4099, 4107])
async def test_a_close_code_next_to_the_rooms_is_tried_again(code: int) -> None:
    """Any other code may be a server's passing trouble: the client tries again."""
    pair = await start_pair(reconnect_grace=10.0)
    try:
        port = pair.proxy.port
        await pair.proxy.close()
        async with refusing_at(port, code):
            await pair.until(lambda: pair.client.saw("dropped") != [])
            reconnection = reconnection_of(pair.client.peer)
            assert reconnection is not None
            await pair.until(lambda: reconnection.attempts >= 3)
            assert pair.client.saw("disconnected") == []
    finally:
        await pair.close()


@pytest.mark.parametrize("seed", range(5))
async def test_random_cuts_during_bursts_lose_nothing(seed: int) -> None:
    """Both sides put bursts of random sizes while the link is cut at random times,
    in random ways (a reset, a cut in the middle of a frame, with or without delay,
    during resumes too): at the end every packet arrived once, in order, and no
    session ended."""
    rng = random.Random(seed)
    pair = await start_pair(reconnect_grace=10.0, handshake_timeout=2.0)
    try:
        server, client = pair.ends

        async def sender() -> None:
            for _ in range(300):
                server.send(rng.randint(0, 30))
                client.send(rng.randint(0, 30))
                server.poll()
                client.poll()
                await asyncio.sleep(rng.choice([0, 0, 0.001, 0.005]))

        sending = asyncio.create_task(sender())
        while not sending.done():
            await asyncio.sleep(rng.uniform(0.005, 0.08))
            pair.proxy.delay = rng.choice([0, 0, 0.002, 0.02])
            fault = rng.random()
            if fault < 0.5:
                pair.proxy.cut()
            elif fault < 0.8:
                pair.proxy.cut_mid_frame()
        await sending
        pair.proxy.delay = 0
        await pair.until(
            lambda: len(server.got) >= client.sent and len(client.got) >= server.sent, timeout=20
        )
        server.check(client)
        client.check(server)
        assert server.saw("disconnected") == [] and client.saw("disconnected") == []
        assert server.saw("dropped") != []
    finally:
        await pair.close()
