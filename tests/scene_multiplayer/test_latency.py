"""Round-trip times and the server clock."""

from __future__ import annotations

import asyncio
import time

import pytest

from multiplayer import PeerDisconnected, PeerNotFound, SceneMultiplayer
from multiplayer.scene_multiplayer.latency import STALE, PeerClock
from multiplayer.testing import MemoryNetwork


def test_latency_bookkeeping() -> None:
    """RTT is smoothed; the offset comes from the shortest round trip; strays refused."""
    clock = PeerClock()
    seq = clock.start(now=10.0)
    assert clock.finish(seq, their_time=110.05, now=10.1)
    assert clock.rtt == pytest.approx(0.1)
    assert clock.offset() == pytest.approx(100.0)
    seq = clock.start(now=20.0)
    assert clock.finish(seq, their_time=120.3, now=20.5)  # slow: worse sample
    assert clock.offset() == pytest.approx(100.0)
    assert clock.rtt == pytest.approx(0.1 + 0.125 * 0.4)
    assert not clock.finish(999, 0.0, 21.0)
    assert not clock.finish(seq, 0.0, 21.0)  # answered already


def test_due_and_stale_pings() -> None:
    """A ping is due every interval; unanswered automatic ones go after STALE seconds."""
    clock = PeerClock()
    assert clock.due(now=0.0, interval=1.0) and not clock.due(now=0.0, interval=0)
    seq = clock.start(now=0.0)
    assert not clock.due(now=0.5, interval=1.0) and clock.due(now=1.0, interval=1.0)
    clock.expire(now=STALE + 1)
    assert not clock.finish(seq, 0.0, STALE + 1)


async def test_close_fails_the_waiting_pings() -> None:
    """When the peer leaves, an awaited ping fails with PeerDisconnected."""
    clock = PeerClock()
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    clock.start(now=0.0, future=future)
    clock.close(7)
    with pytest.raises(PeerDisconnected):
        await future


class Apis:
    def __init__(self, clients: int) -> None:
        network = MemoryNetwork()
        self.apis = [SceneMultiplayer() for _ in range(clients + 1)]
        self.apis[0].multiplayer_peer = network.create_server()
        for api in self.apis[1:]:
            api.multiplayer_peer = network.create_client()
        self.poll()

    def poll(self) -> None:
        for _ in range(2):
            for api in self.apis:
                api.poll()


async def test_neighbours_are_pinged_and_the_clock_is_shared() -> None:
    """Automatic pings give RTTs; a client's server time matches the server's clock."""
    apis = Apis(clients=1)
    server, client = apis.apis
    server.ping_interval = client.ping_interval = 0.01
    deadline = time.monotonic() + 2
    while client.get_rtt(1) is None or server.get_rtt(2) is None:
        apis.poll()
        await asyncio.sleep(0.005)
        assert time.monotonic() < deadline
    assert 0 <= client.get_rtt(1) < 1  # type: ignore[operator]
    # in one process both clocks are the same, so the offset is the estimate's error
    assert abs(client.get_clock_offset()) < 0.05
    assert abs(client.get_server_time() - server.get_server_time()) < 0.05
    assert server.get_clock_offset() == 0.0


async def test_ping_any_peer_through_the_relay() -> None:
    """ping() measures a round trip to another client, through the server."""
    apis = Apis(clients=2)

    async def pump() -> None:
        while True:
            apis.poll()
            await asyncio.sleep(0.001)

    task = asyncio.ensure_future(pump())
    try:
        rtt = await apis.apis[1].ping(3, timeout=2)
        assert rtt >= 0
        assert apis.apis[1].get_rtt(3) == rtt
        with pytest.raises(PeerNotFound):
            await apis.apis[1].ping(9)
    finally:
        task.cancel()
    waiting = asyncio.ensure_future(apis.apis[0].ping(2, timeout=2))
    await asyncio.sleep(0)  # the ping is sent; nobody polls, so no answer comes
    apis.apis[1].multiplayer_peer = None
    apis.poll()  # the server learns that peer 2 left
    with pytest.raises(PeerDisconnected):
        await waiting
