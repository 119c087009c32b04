"""Resuming with the peer for plain loops (SyncWebSocketMultiplayerPeer): its network
thread notices the loss, reconnects and replays under its lock, and the plain loop
sees the same signals and loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from multiplayer import ConnectionStatus, SyncWebSocketMultiplayerPeer
from multiplayer.testing import FaultProxy
from tests.faults.pair import SETTINGS


class Side:
    def __init__(self, peer: SyncWebSocketMultiplayerPeer) -> None:
        self.peer = peer
        self.sent = 0
        self.got: list[int] = []
        self.events: list[str] = []
        peer.peer_dropped.connect(lambda _: self.events.append("dropped"))
        peer.peer_resumed.connect(lambda _: self.events.append("resumed"))
        peer.peer_disconnected.connect(lambda _: self.events.append("disconnected"))

    def send(self, target: int, count: int) -> None:
        self.peer.set_target_peer(target)
        for _ in range(count):
            self.peer.put_packet(b"%d" % self.sent)
            self.sent += 1

    def poll(self) -> None:
        self.peer.poll()
        while self.peer.get_available_packet_count():
            self.got.append(int(self.peer.get_packet()))


async def until(sides: list[Side], condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for side in sides:
            side.poll()
        if condition():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


async def test_a_sync_peer_resumes_and_loses_nothing() -> None:
    server_peer, client_peer = SyncWebSocketMultiplayerPeer(), SyncWebSocketMultiplayerPeer()
    for peer in (server_peer, client_peer):
        for name, value in SETTINGS.items():
            setattr(peer, name, value)
    server_peer.create_server(0, "127.0.0.1")
    proxy = FaultProxy(server_peer.get_local_port())
    await proxy.start()
    server, client = Side(server_peer), Side(client_peer)
    try:
        client_peer.create_client(proxy.url)
        sides = [server, client]
        connected = ConnectionStatus.CONNECTED
        await until(sides, lambda: client_peer.get_connection_status() is connected)
        await until(sides, lambda: client_peer.get_unique_id() in server_peer._known)
        peer_id = client_peer.get_unique_id()
        for round_ in range(3):
            server.send(peer_id, 300)
            client.send(1, 300)
            await until(sides, lambda r=round_: len(client.got) > 100 * (r + 1))
            proxy.cut()
            server.send(peer_id, 100)  # (put while the link is being lost and resumed)
            client.send(1, 100)
            await until(sides, lambda r=round_: client.events.count("resumed") == r + 1)
        await until(
            sides, lambda: len(server.got) == client.sent and len(client.got) == server.sent
        )
        assert server.got == list(range(client.sent))
        assert client.got == list(range(server.sent))
        assert client.events == ["dropped", "resumed"] * 3
        assert server.events == ["dropped", "resumed"] * 3
    finally:
        client_peer.close()
        server_peer.close()
        for peer in (client_peer, server_peer):  # (blocking: off the proxy's loop)
            assert await asyncio.to_thread(peer.block_until_closed, 5)
        await proxy.close()


async def test_a_plain_loop_game_hears_of_the_drop_and_the_return() -> None:
    """Trees driven by tree.process() on a thread with no event loop (a plain game
    loop) over sync peers: connection_lost and reconnected, peer_dropped and
    peer_resumed all fire, and nothing fails (no running loop is needed)."""
    from multiplayer import SceneTree

    server_peer, client_peer = SyncWebSocketMultiplayerPeer(), SyncWebSocketMultiplayerPeer()
    for peer in (server_peer, client_peer):
        for name, value in SETTINGS.items():
            setattr(peer, name, value)
    server_peer.create_server(0, "127.0.0.1")
    proxy = FaultProxy(server_peer.get_local_port())
    await proxy.start()
    log: list[str] = []
    server_tree, client_tree = SceneTree(), SceneTree()
    api, capi = server_tree.get_multiplayer(), client_tree.get_multiplayer()
    api.peer_dropped.connect(lambda _: log.append("server: dropped"))
    api.peer_resumed.connect(lambda _: log.append("server: resumed"))
    capi.connection_lost.connect(lambda: log.append("client: lost"))
    capi.reconnected.connect(lambda: log.append("client: back"))
    client_peer.create_client(proxy.url)
    api.multiplayer_peer = server_peer
    capi.multiplayer_peer = client_peer

    def frames(condition: Callable[[], bool]) -> None:  # (on a thread: no event loop)
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, "condition not reached in time"
            server_tree.process(0.01)
            client_tree.process(0.01)
            time.sleep(0.005)

    try:
        await asyncio.to_thread(frames, lambda: bool(api.get_peers()))
        proxy.cut()
        await asyncio.to_thread(frames, lambda: len(log) == 4)
        assert sorted(log) == ["client: back", "client: lost", "server: dropped", "server: resumed"]
    finally:
        client_peer.close()
        server_peer.close()
        for peer in (client_peer, server_peer):
            assert await asyncio.to_thread(peer.block_until_closed, 5)
        await proxy.close()
