"""A server and clients over the in-memory network, each with its own tree and Game
node, for the tests of SceneMultiplayer and its parts (fixture ``make_session``)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest

from multiplayer import Node, SceneMultiplayer, SceneTree, rpc
from multiplayer.testing import MemoryMultiplayerPeer, MemoryNetwork


class Game(Node):
    """The same node at /root/Game on every peer."""

    def __init__(self) -> None:
        super().__init__("Game")
        self.calls: list[tuple[str, int, Any]] = []

    def _record(self, method: str, value: Any) -> None:
        self.calls.append((method, self.multiplayer.get_remote_sender_id(), value))

    @rpc("any_peer")
    def hello(self, value: Any) -> None:
        self._record("hello", value)

    @rpc
    def from_authority(self, value: Any) -> None:
        self._record("from_authority", value)

    @rpc("any_peer", "call_local")
    def both(self, value: Any) -> None:
        self._record("both", value)

    @rpc("call_local", "reliable")
    def local_authority(self, value: Any) -> None:
        self._record("local_authority", value)

    @rpc("any_peer")
    def b_func(self, x: int) -> None:
        self._record("b_func", x)

    @rpc("any_peer")
    async def slow(self, value: Any) -> None:
        before = self.multiplayer.get_remote_sender_id()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.calls.append(("slow", before, self.multiplayer.get_remote_sender_id()))

    def plain(self, value: Any) -> None:
        self._record("plain", value)


class Session:
    """A server and clients, each with its own SceneTree and Game node."""

    Game = Game

    def __init__(self, clients: int = 2, relay: bool = True, protocol: str = "native") -> None:
        self.network = MemoryNetwork(protocol=protocol)
        self.trees: list[SceneTree] = []
        self.games: list[Game] = []
        self.sent: list[list[bytes]] = []
        self._add(self.network.create_server(), relay)
        for _ in range(clients):
            self._add(self.network.create_client(), relay)
        self.pump()

    def _add(self, peer: MemoryMultiplayerPeer, relay: bool) -> None:
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.server_relay = relay
        api.ping_interval = 0  # no pings among the packets these tests count
        api.multiplayer_peer = peer
        game = Game()
        tree.root.add_child(game)
        sent: list[bytes] = []
        original = peer.put_packet

        def record(data: bytes) -> None:
            sent.append(bytes(data))
            original(data)

        peer.put_packet = record  # type: ignore[method-assign]
        self.trees.append(tree)
        self.games.append(game)
        self.sent.append(sent)

    def api(self, index: int) -> SceneMultiplayer:
        return self.trees[index].get_multiplayer()

    def pump(self, frames: int = 4) -> None:
        for _ in range(frames):
            for tree in self.trees:
                tree.process(0.0)

    def packets(self) -> list[list[tuple[int, bytes]]]:
        """What each peer's ``peer_packet`` gets from now on."""
        got: list[list[tuple[int, bytes]]] = [[] for _ in self.trees]
        for i in range(len(self.trees)):
            self.api(i).peer_packet.connect(lambda sender, data, i=i: got[i].append((sender, data)))
        return got

    def craft(self, index: int, items: list[Any], to: int = 1) -> None:
        """Send a hand-made native packet from peer ``index`` with the raw transport."""
        peer = self.api(index).multiplayer_peer
        assert peer is not None
        peer.set_target_peer(to)
        peer.put_packet(msgpack.packb(items))

    def send_raw(self, index: int, data: bytes, to: int = 1) -> None:
        """Send ``data`` as it is from peer ``index`` with the raw transport."""
        peer = self.api(index).multiplayer_peer
        assert peer is not None
        peer.set_target_peer(to)
        peer.put_packet(data)


@pytest.fixture
def make_session() -> type[Session]:
    """``make_session(clients=2, relay=True, protocol="native")``: a connected Session."""
    return Session
