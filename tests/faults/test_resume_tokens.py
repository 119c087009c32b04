"""The resume token's security: a resume with a wrong, replayed, expired or other
peer's token is refused (4001, one log line) and the real session goes on
undisturbed; the right token on a second connection supersedes the first; a flood
of attempts from one address is cut short."""

from __future__ import annotations

import asyncio
import logging

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from multiplayer import ConnectionStatus
from multiplayer.transport.framing.native import Hello
from multiplayer.transport.resume import RESUME_FAILURES
from tests.faults.pair import Pair, start_pair

REFUSED = 4001


async def raw_join(port: int) -> tuple[ClientConnection, Hello]:
    """A raw WebSocket that greets as a new client; its server HELLO (id, token)."""
    ws = await connect(f"ws://127.0.0.1:{port}", compression=None)
    await ws.send(Hello(0, 1 << 20, 30000).serialize())  # (30 s: it would resume)
    return ws, Hello.parse(await asyncio.wait_for(ws.recv(), 5))


async def raw_resume(port: int, peer_id: int, token: bytes, received: int = 0) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{port}", compression=None)
    await ws.send(Hello(peer_id, 1 << 20, 0, received, token).serialize())
    return ws


async def refused_with(ws: ClientConnection) -> int | None:
    """The close code the server ends ``ws`` with (after nothing else)."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


async def still_works(pair: Pair) -> None:
    """The pair's session is intact: packets go both ways, no leave was reported."""
    server, client = pair.ends
    server.send(3)
    client.send(3)
    await pair.until(lambda: len(server.got) == client.sent and len(client.got) == server.sent)
    server.check(client)
    client.check(server)
    assert server.saw("dropped", "disconnected") == []
    assert client.peer.get_connection_status() is ConnectionStatus.CONNECTED


def port_of(pair: Pair) -> int:
    return pair.server.peer.get_local_port()


async def test_a_wrong_token_is_refused_and_the_session_goes_on(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    peer_id = pair.client.peer.get_unique_id()
    ws = await raw_resume(port_of(pair), peer_id, bytes(16))
    assert await refused_with(ws) == REFUSED
    assert f"refused to resume peer {peer_id}: wrong token" in caplog.text
    await still_works(pair)


async def test_another_peers_token_is_refused(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    """A token is bound to the id it was given with."""
    other, hello = await raw_join(port_of(pair))
    victim = pair.client.peer.get_unique_id()
    ws = await raw_resume(port_of(pair), victim, hello.token)
    assert await refused_with(ws) == REFUSED
    assert f"refused to resume peer {victim}: wrong token" in caplog.text
    await still_works(pair)
    await other.close()


async def test_a_replayed_token_is_refused(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    """A resume gives a new token: the old one, seen on the wire, is good no more."""
    server, client = pair.ends
    old_token = client.peer._links[1].replay.token  # type: ignore[union-attr]
    pair.proxy.cut()
    await pair.until(lambda: client.saw("resumed") != [])
    new_token = client.peer._links[1].replay.token  # type: ignore[union-attr]
    assert new_token != old_token
    ws = await raw_resume(port_of(pair), client.peer.get_unique_id(), old_token)
    assert await refused_with(ws) == REFUSED
    assert "wrong token" in caplog.text
    server.send(2)
    client.send(2)
    await pair.until(lambda: len(server.got) == 2 and len(client.got) == 2)


async def test_an_expired_session_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    pair = await start_pair(reconnect_grace=0.3)
    try:
        port = port_of(pair)
        ws, hello = await raw_join(port)
        ws.transport.abort()  # lost, not closed: held for 0.3 s
        await pair.until(lambda: ("dropped", hello.peer_id) in pair.server.events)
        await pair.until(lambda: ("disconnected", hello.peer_id) in pair.server.events)
        late = await raw_resume(port, hello.peer_id, hello.token)
        assert await refused_with(late) == REFUSED
        assert f"refused to resume peer {hello.peer_id}: no such session" in caplog.text
    finally:
        await pair.close()


async def test_an_unknown_id_is_refused_alike(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    """The client is told nothing more for an id that never was than for a wrong
    token: the same code and reason (the log line says which)."""
    ws = await raw_resume(port_of(pair), 999, bytes(16))
    assert await refused_with(ws) == REFUSED
    assert ws.close_reason == "resume refused"
    assert "refused to resume peer 999: no such session" in caplog.text


async def test_a_second_link_with_the_right_token_supersedes_the_first(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "multiplayer")
    port = port_of(pair)
    first, hello = await raw_join(port)
    peer_id = hello.peer_id
    await pair.until(lambda: ("connected", peer_id) in pair.server.events)
    second = await raw_resume(port, peer_id, hello.token)
    answer = Hello.parse(await asyncio.wait_for(second.recv(), 5))
    assert answer.peer_id == peer_id and answer.token not in (b"", hello.token)
    with pytest.raises(ConnectionClosed):  # the old socket is cut
        await asyncio.wait_for(first.recv(), 5)
    await pair.until(lambda: ("resumed", peer_id) in pair.server.events)
    assert [e for e in pair.server.events if e[1] == peer_id] == [
        ("connected", peer_id),
        ("dropped", peer_id),
        ("resumed", peer_id),
    ]
    assert "resumes on a new connection" in caplog.text
    await second.close()


async def test_a_flood_of_resume_attempts_is_cut_short(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    """Past RESUME_FAILURES refused attempts, an address's next ones are refused
    unread (1013) and unlogged; the real session is not disturbed."""
    peer_id = pair.client.peer.get_unique_id()
    codes = []
    for _ in range(RESUME_FAILURES + 20):
        ws = await raw_resume(port_of(pair), peer_id, bytes(16))
        codes.append(await refused_with(ws))
    assert codes == [REFUSED] * RESUME_FAILURES + [1013] * 20
    lines = [r for r in caplog.records if "refused to resume" in r.getMessage()]
    assert len(lines) == RESUME_FAILURES
    assert "its next ones are refused unread" in lines[-1].getMessage()
    await still_works(pair)


async def test_a_neighbours_guesses_do_not_lock_an_honest_client_out(pair: Pair) -> None:
    """Someone at the same address (a NAT, a shared host) spends the address's
    refusals on wrong tokens and unknown ids; the honest client's link is then cut,
    and its resume, with the right token, is accepted all the same."""
    victim = pair.client.peer.get_unique_id()
    for peer_id in (victim, 999):
        for _ in range(RESUME_FAILURES):
            ws = await raw_resume(port_of(pair), peer_id, bytes(16))
            await refused_with(ws)
    pair.proxy.cut()
    await pair.until(lambda: pair.client.saw("resumed") != [])
    await still_works_after_a_resume(pair)


async def still_works_after_a_resume(pair: Pair) -> None:
    server, client = pair.ends
    server.send(3)
    client.send(3)
    await pair.until(lambda: len(server.got) == client.sent and len(client.got) == server.sent)
    server.check(client)
    client.check(server)
    assert server.saw("disconnected") == [] and client.saw("disconnected") == []
