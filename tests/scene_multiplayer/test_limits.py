"""Rate limits and violation counting: a flooder is dropped, the others go on."""

from __future__ import annotations

import asyncio

import pytest

from multiplayer import ConnectionStatus, SceneMultiplayer, WebSocketMultiplayerPeer
from multiplayer.scene_multiplayer.limits import OVER_BUDGET, SHARE_USED, Budget, RateLimits
from multiplayer.testing import MemoryNetwork


def test_token_buckets() -> None:
    """A peer may send its per-second budget at once, then at the refill rate."""
    budget = Budget(RateLimits(packets_per_second=10, bytes_per_second=1000))
    assert all(budget.allow(10, now=0.0) for _ in range(10))
    assert not budget.allow(10, now=0.0)
    assert budget.allow(10, now=0.1)  # one packet's worth refilled
    assert not budget.allow(2000, now=5.0)  # bigger than the byte budget
    assert Budget(budget.limits).allow(10, now=0.0)  # budgets are per peer


def test_limits_off() -> None:
    """Zero turns a limit off."""
    limits = RateLimits(packets_per_second=0, bytes_per_second=0)
    assert not limits.active()
    budget = Budget(limits)
    assert all(budget.allow(10**9, now=0.0) for _ in range(10_000))


def test_violations_within_a_window() -> None:
    """Only violations within the window count."""
    budget = Budget(RateLimits(max_violations=3, violation_window=1.0))
    assert not any(budget.violation(now=t) for t in (0.0, 0.1, 0.2))
    assert budget.violation(now=0.3)
    assert not any(budget.violation(now=t) for t in (10.0, 11.5, 13.0, 14.5))


def test_a_flooding_client_is_throttled_then_disconnected(caplog: pytest.LogCaptureFixture) -> None:
    """Over its rate, a client's packets are dropped, logged, and it is disconnected."""
    network = MemoryNetwork()
    server, flooder, good = SceneMultiplayer(), SceneMultiplayer(), SceneMultiplayer()
    server.rate_limits.packets_per_second = 50
    server.rate_limits.max_violations = 20
    server.multiplayer_peer = network.create_server()
    flooder.multiplayer_peer = network.create_client()
    good.multiplayer_peer = network.create_client()
    got: list[tuple[int, bytes]] = []
    server.peer_packet.connect(lambda sender, data: got.append((sender, data)))
    for _ in range(2):
        for api in (server, flooder, good):
            api.poll()
    for _ in range(500):
        flooder.send_bytes(b"spam", 1)
    good.send_bytes(b"hello", 1)
    for _ in range(3):
        for api in (server, flooder, good):
            api.poll()
    assert (3, b"hello") in got
    assert sum(1 for sender, _ in got if sender == 2) <= 51
    assert "refused from peer 2: over its rate limit: packet dropped" in caplog.text
    assert "peer 2: more than 20 refused packets within 10.0 s: disconnecting it" in caplog.text
    assert server.get_peers() == [3]
    assert flooder.multiplayer_peer is not None
    assert flooder.multiplayer_peer.get_connection_status() == ConnectionStatus.DISCONNECTED


def test_the_time_budget() -> None:
    """A bucket of one second's worth of cpu_per_second, a tenth of it a poll;
    going over it throttles the peer until it refills; twice in the window earns
    a disconnect."""
    budget = Budget(RateLimits(cpu_per_second=0.1))
    assert budget.charge(0.005, now=0.0, poll=1) == 0
    assert budget.charge(0.006, now=0.0, poll=1) == SHARE_USED  # 0.011 in one poll
    assert budget.charge(0.009, now=0.0, poll=2) == 0  # a new poll
    assert not budget.throttled
    assert budget.charge(0.09, now=0.0, poll=3) == OVER_BUDGET  # 0.11 in all
    assert budget.throttled
    assert budget.charge(0.01, now=0.0, poll=3) == SHARE_USED  # (said once)
    assert not budget.recovered(now=0.1)  # -0.02 + 0.01
    assert budget.recovered(now=0.3) and not budget.throttled
    assert not budget.overrun(now=0.0)
    assert budget.overrun(now=9.0)  # within violation_window
    assert not budget.overrun(now=30.0)


async def test_kick_closes_a_websocket_with_1008() -> None:
    """Over WebSocket, a kicked peer is closed with the policy code 1008."""
    server_peer, client_peer = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer()
    await server_peer.create_server(0, "127.0.0.1")
    await client_peer.create_client(f"ws://127.0.0.1:{server_peer.get_local_port()}")
    for _ in range(200):
        server_peer.poll()
        client_peer.poll()
        if client_peer.get_connection_status() == ConnectionStatus.CONNECTED:
            break
        await asyncio.sleep(0.005)
    for _ in range(200):
        server_peer.poll()
        if server_peer._known:
            break
        await asyncio.sleep(0.005)
    ws = client_peer.get_peer(1)  # the client's WebSocketPeer to the server
    server_peer.kick_peer(2, "too many invalid packets")
    for _ in range(500):
        ws.poll()
        if ws.get_ready_state() == ws.STATE_CLOSED:
            break
        await asyncio.sleep(0.01)
    assert ws.get_close_code() == 1008
    assert ws.get_close_reason() == "too many invalid packets"
    for peer in (client_peer, server_peer):
        peer.close()
        await peer.wait_closed()
