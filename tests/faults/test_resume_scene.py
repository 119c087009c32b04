"""Resuming under the high-level API: spawns, synchronizers and awaited calls go on
across a cut link, and SceneMultiplayer says what happened (peer_dropped,
peer_resumed, connection_lost, reconnected) without a leave."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from multiplayer import (
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    ReplicationMode,
    SceneReplicationConfig,
    SceneTree,
    WebSocketMultiplayerPeer,
    rpc,
)
from multiplayer.testing import FaultProxy
from tests.faults.pair import SETTINGS


class Piece(Node):
    def __init__(self, number: int) -> None:
        super().__init__(f"Piece{number}")
        self.value = 0
        config = SceneReplicationConfig()
        config.add_property(".:value")
        config.property_set_replication_mode(".:value", ReplicationMode.ON_CHANGE)
        self.add_child(MultiplayerSynchronizer("Sync", replication_config=config))


class Pad(Node):
    """A node the client has authority over: only it may call ``press``."""

    def __init__(self) -> None:
        super().__init__("Pad")
        self.pressed: list[int] = []

    @rpc  # authority only
    def press(self, n: int) -> None:
        self.pressed.append(n)


class Board(Node):
    def __init__(self) -> None:
        super().__init__("Board")
        self.pieces = Node("Pieces")
        self.add_child(self.pieces)
        spawner = MultiplayerSpawner("Spawner", spawn_path="../Pieces")
        spawner.spawn_function = Piece
        self.add_child(spawner)
        self.spawner = spawner
        self.answer_now = asyncio.Event()

    @rpc("any_peer")
    async def double(self, x: int) -> int:
        await self.answer_now.wait()
        return x * 2


@dataclass
class Game:
    server: SceneTree
    client: SceneTree
    proxy: FaultProxy
    log: list[str]

    def board(self, tree: SceneTree) -> Board:
        board = tree.root.get_node("Board")
        assert isinstance(board, Board)
        return board

    def frame(self) -> None:
        self.server.process(0.016)
        self.client.process(0.016)

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.frame()
            if condition():
                return
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.003)


def state(tree: SceneTree) -> dict[str, int]:
    pieces = tree.root.get_node("Board/Pieces")
    return {child.name: child.value for child in pieces.get_children()}  # type: ignore[attr-defined]


@pytest.fixture
async def game() -> AsyncIterator[Game]:
    async with start_game(authenticate=False) as made:
        yield made


@pytest.fixture
async def authenticated_game() -> AsyncIterator[Game]:
    async with start_game(authenticate=True) as made:
        yield made


@contextlib.asynccontextmanager
async def start_game(authenticate: bool, **settings: float) -> AsyncIterator[Game]:
    log: list[str] = []
    trees = []
    for _ in range(2):
        tree = SceneTree()
        tree.root.add_child(Board())
        tree.root.add_child(Pad())
        peer = WebSocketMultiplayerPeer()
        for name, value in {**SETTINGS, **settings}.items():
            setattr(peer, name, value)
        trees.append((tree, peer))
    (server, server_peer), (client, client_peer) = trees
    await server_peer.create_server(0, "127.0.0.1")
    proxy = FaultProxy(server_peer.get_local_port())
    await proxy.start()
    await client_peer.create_client(proxy.url)
    api, capi = server.get_multiplayer(), client.get_multiplayer()
    if authenticate:
        api.auth_callback = lambda peer_id, data: api.complete_auth(peer_id)
        capi.auth_callback = lambda peer_id, data: None

        def answer(peer_id: int) -> None:
            capi.send_auth(peer_id, b"me")
            capi.complete_auth(peer_id)

        capi.peer_authenticating.connect(answer)
    api.multiplayer_peer = server_peer
    capi.multiplayer_peer = client_peer
    for name in ("peer_connected", "peer_disconnected", "peer_dropped", "peer_resumed"):
        getattr(api, name).connect(lambda peer_id, name=name: log.append(f"server {name}"))
    for name in ("connection_lost", "reconnected", "server_disconnected", "connected_to_server"):
        getattr(capi, name).connect(lambda name=name: log.append(f"client {name}"))
    made = Game(server, client, proxy, log)
    await made.until(lambda: "client connected_to_server" in log and "server peer_connected" in log)
    yield made
    for peer in (client_peer, server_peer):
        peer.close()
        await asyncio.wait_for(peer.wait_closed(), 5)
    await proxy.close()


async def test_signals_say_dropped_and_resumed_and_never_left(game: Game) -> None:
    game.proxy.cut()
    await game.until(lambda: "client reconnected" in game.log and "server peer_resumed" in game.log)
    server_side = [line for line in game.log if line.startswith("server")]
    client_side = [line for line in game.log if line.startswith("client")]
    assert server_side == ["server peer_connected", "server peer_dropped", "server peer_resumed"]
    assert client_side == [
        "client connected_to_server",
        "client connection_lost",
        "client reconnected",
    ]
    client_id = game.client.get_multiplayer().get_unique_id()
    assert game.server.get_multiplayer().get_peers() == [client_id]


async def test_a_cut_during_spawns_and_updates_leaves_the_trees_equal(game: Game) -> None:
    """The server spawns a piece and changes every value each frame; the link is cut
    twice meanwhile. Afterwards the client's pieces and values are the server's."""
    board = game.board(game.server)
    for frame in range(120):
        if frame < 80:
            board.spawner.spawn(frame)
        for piece in board.pieces.get_children():
            piece.value += 1  # type: ignore[attr-defined]
        if frame == 60:  # (the first resume is done: the second cut finds a link)
            await game.until(lambda: "client reconnected" in game.log)
        if frame in (30, 60):
            game.proxy.cut()
        game.frame()
        await asyncio.sleep(0.002)
    await game.until(lambda: game.log.count("client reconnected") == 2)
    await game.until(lambda: state(game.client) == state(game.server))
    assert len(state(game.server)) == 80
    assert "client server_disconnected" not in game.log


async def test_an_awaited_call_across_a_resume_completes_with_its_result(game: Game) -> None:
    """The call is made, the link is lost for longer than rpc_timeout (the time away
    does not count), and the answer arrives after the resume."""
    game.client.get_multiplayer().rpc_timeout = 1.0
    board = game.board(game.client)
    loop = asyncio.get_running_loop()
    call = asyncio.create_task(board.rpc_call(1, "double", 21))
    timed_out_at = loop.time() + 1.0  # (were the time away counted)
    await game.until(lambda: True)
    game.proxy.blackhole()
    await game.until(lambda: "client connection_lost" in game.log)
    await game.until(lambda: loop.time() > timed_out_at + 0.2)
    assert not call.done()
    game.board(game.server).answer_now.set()
    game.proxy.restore()
    await game.until(call.done)
    assert call.result() == 42
    assert "client reconnected" in game.log


async def test_authority_and_authentication_outlive_a_resume(authenticated_game: Game) -> None:
    """An authenticated client with authority over a node: after the resume it is
    still admitted (no new authentication), and its authority-only calls are still
    accepted."""
    game = authenticated_game
    client_id = game.client.get_multiplayer().get_unique_id()
    for tree in (game.server, game.client):
        tree.root.get_node("Pad").set_multiplayer_authority(client_id)
    pad = game.client.root.get_node("Pad")
    assert isinstance(pad, Pad)
    pad.press.rpc(1)
    game.proxy.cut()
    pad.press.rpc(2)  # (while reconnecting: it waits in the replay buffer)
    await game.until(lambda: "client reconnected" in game.log)
    pad.press.rpc(3)
    server_pad = game.server.root.get_node("Pad")
    await game.until(lambda: server_pad.pressed == [1, 2, 3])  # type: ignore[attr-defined]
    assert game.server.get_multiplayer().get_authenticating_peers() == []
    assert game.server.get_multiplayer().get_peers() == [client_id]
    assert game.log.count("server peer_connected") == 1


async def test_when_the_grace_runs_out_the_player_leaves_and_its_nodes_go() -> None:
    """The client cannot come back (the network stays down) within the grace: the
    server reports the leave, the game frees the player's node (and the spawner
    despawns it), and the client gives up with server_disconnected."""
    async with start_game(authenticate=False, reconnect_grace=0.8) as game:
        board = game.board(game.server)
        client_id = game.client.get_multiplayer().get_unique_id()
        board.spawner.spawn(client_id)  # the player's piece
        api = game.server.get_multiplayer()
        api.peer_disconnected.connect(
            lambda peer_id: board.pieces.get_node(f"Piece{peer_id}").queue_free()
        )
        await game.until(lambda: state(game.client) == {f"Piece{client_id}": 0})
        game.proxy.blackhole()
        await game.until(lambda: "server peer_dropped" in game.log)
        assert state(game.server) == {f"Piece{client_id}": 0}  # (kept while it may return)
        await game.until(lambda: "server peer_disconnected" in game.log, timeout=5)
        await game.until(lambda: state(game.server) == {})
        await game.until(lambda: "client server_disconnected" in game.log, timeout=5)
        assert api.get_peers() == []
        game.proxy.restore()


async def test_visibility_outlives_a_resume(game: Game) -> None:
    """Pieces hidden from everyone but made visible to this client are still shown to
    it after a resume, with their new values; those kept hidden stay hidden."""
    client_id = game.client.get_multiplayer().get_unique_id()
    board = game.board(game.server)
    shown, hidden = board.spawner.spawn(1), board.spawner.spawn(2)  # (sent at the frame's end)
    for piece in (shown, hidden):
        piece.get_node("Sync").public_visibility = False  # type: ignore[attr-defined]
    shown.get_node("Sync").set_visibility_for(client_id, True)  # type: ignore[attr-defined]
    await game.until(lambda: "Piece1" in state(game.client))
    game.proxy.cut()
    shown.value = hidden.value = 7  # type: ignore[attr-defined]
    await game.until(lambda: "client reconnected" in game.log)
    await game.until(lambda: state(game.client) == {"Piece1": 7})
