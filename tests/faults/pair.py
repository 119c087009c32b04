"""Helpers of the fault scenarios: peers that send numbered packets, a record of the
signals each side emits, and polling until a condition holds.

Every scenario checks delivery the same way: each side puts packets carrying
0, 1, 2, … and the other must receive exactly that sequence, no number missing or
twice, in order (:meth:`End.check`)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer
from multiplayer.testing import FaultProxy
from multiplayer.transport.peer import TransferMode

__all__ = ["End", "Pair", "poll_until", "start_pair"]

SETTINGS = {
    "heartbeat_interval": 0.2,
    "heartbeat_timeout": 0.3,
    "handshake_timeout": 1.0,
    "reconnect_grace": 5.0,
}


@dataclass
class End:
    """One side: its peer, what it sent and received, and the signals it emitted."""

    peer: WebSocketMultiplayerPeer
    target: int
    sent: int = 0
    got: list[int] = field(default_factory=list)
    events: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("peer_connected", "peer_disconnected", "peer_dropped", "peer_resumed"):
            signal = getattr(self.peer, name)
            signal.connect(lambda peer_id, name=name: self.events.append((name[5:], peer_id)))

    def send(self, count: int, mode: TransferMode = TransferMode.RELIABLE) -> None:
        """Put ``count`` numbered packets for the other side."""
        peer = self.peer
        peer.set_target_peer(self.target)
        peer.transfer_mode = mode
        for _ in range(count):
            peer.put_packet(b"%d" % self.sent)
            self.sent += 1
        peer.transfer_mode = TransferMode.RELIABLE

    def poll(self) -> None:
        peer = self.peer
        peer.poll()
        while peer.get_available_packet_count():
            self.got.append(int(peer.get_packet()))

    def check(self, other: End) -> None:
        """Every numbered packet ``other`` put arrived here once, in order."""
        assert self.got == list(range(other.sent)), _describe(self.got, other.sent)

    def saw(self, *names: str) -> list[str]:
        return [name for name, _ in self.events if name in names]


def _describe(got: list[int], sent: int) -> str:
    missing = sorted(set(range(sent)) - set(got))
    twice = sorted({n for n in got if got.count(n) > 1}) if len(got) < 5000 else "?"
    order = all(a < b for a, b in itertools.pairwise(got))
    return f"{len(got)} of {sent}: missing {missing[:10]}, twice {twice}, in order {order}"


@dataclass
class Pair:
    """A server, a client through ``proxy``, and their ends."""

    server: End
    client: End
    proxy: FaultProxy

    @property
    def ends(self) -> tuple[End, End]:
        return self.server, self.client

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        await poll_until(self.ends, condition, timeout)

    async def close(self) -> None:
        for end in (self.client, self.server):
            end.peer.close()
            await asyncio.wait_for(end.peer.wait_closed(), 5)
        await asyncio.wait_for(self.proxy.close(), 5)


async def poll_until(ends: Iterable[End], condition: Callable[[], bool], timeout: float) -> None:
    """Poll every end until ``condition()`` holds; fail after ``timeout`` seconds."""
    ends = list(ends)
    deadline = time.monotonic() + timeout
    while True:
        for end in ends:
            end.poll()
        if condition():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


async def start_pair(**settings: float) -> Pair:
    """A server on 127.0.0.1, a FaultProxy to it, and a client connected through the
    proxy; both use ``SETTINGS`` updated with ``settings``."""
    chosen = {**SETTINGS, **settings}
    server = WebSocketMultiplayerPeer()
    client = WebSocketMultiplayerPeer()
    for peer in (server, client):
        for name, value in chosen.items():
            setattr(peer, name, value)
    await server.create_server(0, "127.0.0.1")
    proxy = FaultProxy(server.get_local_port())
    await proxy.start()
    await client.create_client(proxy.url)
    pair = Pair(End(server, 0), End(client, 1), proxy)
    await pair.until(lambda: client.get_connection_status() is ConnectionStatus.CONNECTED)
    await pair.until(lambda: ("connected", client.get_unique_id()) in pair.server.events)
    pair.server.target = client.get_unique_id()
    return pair
