"""Authentication: Godot's state machine, its error cases, timeouts, async callbacks."""

from __future__ import annotations

import asyncio
import time

import pytest

from multiplayer import InvalidState, SceneMultiplayer
from multiplayer.scene_multiplayer.auth import AuthProgress
from multiplayer.testing import MemoryNetwork


def test_progress_needs_both_sides() -> None:
    """Either side may complete first; only the second completion admits."""
    first_local = AuthProgress(since=0.0)
    assert not first_local.complete_local(2)
    assert first_local.complete_remote()
    first_remote = AuthProgress(since=0.0)
    assert not first_remote.complete_remote()
    assert first_remote.complete_local(2)


def test_progress_errors() -> None:
    """No data after a completion, no second local completion (Godot's ERR_FILE_CANT_WRITE)."""
    progress = AuthProgress(since=0.0)
    progress.check_can_send(2)
    progress.complete_remote()
    with pytest.raises(InvalidState, match="already completed"):
        progress.check_can_send(2)
    progress.complete_local(2)
    with pytest.raises(InvalidState, match="already completed"):
        progress.complete_local(2)


class Pair:
    """A server and one client API, both with an auth_callback that records data."""

    def __init__(self, *, server_auth: bool = True, client_auth: bool = True) -> None:
        self.network = MemoryNetwork()
        self.server, self.client = SceneMultiplayer(), SceneMultiplayer()
        self.received: dict[str, list[tuple[int, bytes]]] = {"server": [], "client": []}
        self.events: list[str] = []
        for name, api in (("server", self.server), ("client", self.client)):
            if server_auth if name == "server" else client_auth:
                api.auth_callback = lambda i, d, n=name: self.received[n].append((i, d))
            api.peer_authenticating.connect(lambda i, n=name: self.events.append(f"{n} auth {i}"))
            api.peer_authentication_failed.connect(
                lambda i, n=name: self.events.append(f"{n} failed {i}")
            )
            api.peer_connected.connect(lambda i, n=name: self.events.append(f"{n} connected {i}"))
            api.peer_disconnected.connect(lambda i, n=name: self.events.append(f"{n} left {i}"))
        self.client.connected_to_server.connect(lambda: self.events.append("client to server"))
        self.server.multiplayer_peer = self.network.create_server()
        self.client.multiplayer_peer = self.network.create_client()
        self.pump()

    def pump(self, frames: int = 3) -> None:
        for _ in range(frames):
            self.server.poll()
            self.client.poll()


def test_nobody_is_admitted_before_both_sides_complete() -> None:
    """peer_connected (and connected_to_server) come only after both complete_auth."""
    pair = Pair()
    assert pair.events == ["server auth 2", "client auth 1"]
    assert pair.server.get_authenticating_peers() == [2]
    assert pair.server.get_peers() == []
    pair.client.send_auth(1, b"token")
    pair.pump()
    assert pair.received["server"] == [(2, b"token")]
    pair.server.send_auth(2, b"welcome")
    pair.server.complete_auth(2)
    pair.pump()
    assert pair.received["client"] == [(1, b"welcome")]
    assert "server connected 2" not in pair.events
    pair.client.complete_auth(1)
    pair.pump()
    assert pair.events[-3:] == ["client to server", "client connected 1", "server connected 2"]
    assert pair.server.get_peers() == [2]
    assert pair.server.get_authenticating_peers() == []


def test_errors_of_godots_tests() -> None:
    """send_auth/complete_auth refuse: no peer, a peer not pending, twice, empty data."""
    pair = Pair()
    with pytest.raises(InvalidState, match="not authenticating"):
        pair.server.send_auth(42, b"x")
    with pytest.raises(InvalidState, match="not authenticating"):
        pair.server.complete_auth(42)
    with pytest.raises(ValueError):
        pair.server.send_auth(2, b"")
    pair.server.complete_auth(2)
    with pytest.raises(InvalidState, match="already completed"):
        pair.server.complete_auth(2)
    with pytest.raises(InvalidState, match="already completed"):
        pair.server.send_auth(2, b"more")
    lonely = SceneMultiplayer()
    lonely.multiplayer_peer = None
    with pytest.raises(InvalidState):
        lonely.send_auth(42, b"x")
    with pytest.raises(InvalidState):
        lonely.complete_auth(42)


def test_nothing_but_auth_flows_before_admission(caplog: pytest.LogCaptureFixture) -> None:
    """A pending peer's RPCs, raw bytes and relays are dropped, logged; others not told."""
    pair = Pair()
    raw = pair.client.multiplayer_peer
    assert raw is not None
    raw.set_target_peer(1)
    raw.put_packet(b"\x92\x03\xc4\x01x")  # [RAW, b"x"]
    got: list[tuple[int, bytes]] = []
    pair.server.peer_packet.connect(lambda i, d: got.append((i, d)))
    pair.pump()
    assert got == []
    assert "refused from peer 2: Raw before authentication: dropped" in caplog.text


def test_timeout_fails_and_disconnects() -> None:
    """Past auth_timeout the peer is disconnected and peer_authentication_failed fires."""
    pair = Pair()
    pair.server.auth_timeout = 0.01
    assert pair.server.auth_timeout == 0.01
    deadline = time.monotonic() + 5
    while "server failed 2" not in pair.events and time.monotonic() < deadline:
        pair.pump()
    pair.pump()
    assert "server failed 2" in pair.events
    assert "client left 1" not in pair.events  # the client never admitted the server
    assert "client failed 1" in pair.events
    with pytest.raises(ValueError):
        pair.server.auth_timeout = -1


def test_leaving_while_pending_is_a_failed_authentication() -> None:
    """A peer that leaves before completing gives peer_authentication_failed, not a leave."""
    pair = Pair()
    pair.client.multiplayer_peer = None
    pair.pump()
    assert "server failed 2" in pair.events
    assert "server left 2" not in pair.events


def test_without_callback_on_the_client_it_admits_the_server_at_once() -> None:
    """Godot: a side with no auth_callback admits at once."""
    pair = Pair(client_auth=False)
    assert "client connected 1" in pair.events
    assert pair.server.get_authenticating_peers() == [2]


async def test_async_auth_callback() -> None:
    """An async auth_callback may await (e.g. a database) and then complete_auth."""
    network = MemoryNetwork()
    server, client = SceneMultiplayer(), SceneMultiplayer()
    checked: list[int] = []

    async def check(peer_id: int, data: bytes) -> None:
        await asyncio.sleep(0)
        checked.append(peer_id)
        if data == b"secret":
            server.complete_auth(peer_id)

    server.auth_callback = check
    client.auth_callback = lambda peer_id, data: None
    server.multiplayer_peer = network.create_server()
    client.multiplayer_peer = network.create_client()
    client.poll()
    server.poll()
    client.send_auth(1, b"secret")
    client.complete_auth(1)
    for _ in range(5):
        server.poll()
        client.poll()
        await asyncio.sleep(0)
    assert checked == [2]
    assert server.get_peers() == [2]
    assert client.get_peers() == [1]


def test_pending_peers_are_invisible_and_mute(caplog: pytest.LogCaptureFixture) -> None:
    """Other clients are not told of a pending peer; its calls and relays are dropped."""
    import msgpack

    network = MemoryNetwork()
    server, first, second = SceneMultiplayer(), SceneMultiplayer(), SceneMultiplayer()
    for api in (server, first, second):
        api.auth_callback = lambda i, d: None
    server.multiplayer_peer = network.create_server()
    first.multiplayer_peer = network.create_client()
    for _ in range(2):
        server.poll()
        first.poll()
    first.send_auth(1, b"x")
    first.complete_auth(1)
    server.complete_auth(2)
    for _ in range(2):
        server.poll()
        first.poll()
    assert server.get_peers() == [2]
    second.multiplayer_peer = network.create_client()
    for _ in range(2):
        for api in (server, first, second):
            api.poll()
    assert first.get_peers() == [1]  # not told of the pending peer 3
    raw = second.multiplayer_peer
    assert raw is not None
    raw.set_target_peer(1)
    for items in ([1, 1, "x"], [9, 1, 1, 1], [7, 3, 2, msgpack.packb([3, b"hi"])]):
        raw.put_packet(msgpack.packb(items))
    got: list[bytes] = []
    first.peer_packet.connect(lambda i, d: got.append(d))
    for _ in range(2):
        for api in (server, first, second):
            api.poll()
    assert got == []
    assert "before authentication: dropped" in caplog.text


def test_timeout_order_and_zero_means_none() -> None:
    """Timed-out peers fail in the order they came (Godot's test); 0 disables it."""
    network = MemoryNetwork()
    server = SceneMultiplayer()
    server.auth_callback = lambda i, d: None
    failed: list[int] = []
    server.peer_authentication_failed.connect(failed.append)
    server.multiplayer_peer = network.create_server()
    clients = [network.create_client(), network.create_client()]
    server.auth_timeout = 0
    server.poll()
    time.sleep(0.02)
    server.poll()  # 0: never
    assert failed == [] and server.get_authenticating_peers() == [2, 3]
    server.auth_timeout = 0.01
    deadline = time.monotonic() + 5
    while len(failed) < 2 and time.monotonic() < deadline:
        server.poll()
    assert failed == [2, 3]
    del clients
