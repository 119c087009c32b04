# examples/multiplayer_bomber/main.py: a server and bots play bomber; a person can watch
"""Headless bomber, a port of Godot's multiplayer_bomber.

    python examples/multiplayer_bomber/main.py               # a server and 3 bots
    python examples/multiplayer_bomber/main.py --bots 1 --late   # plus a late watcher
    python examples/multiplayer_bomber/main.py --fast        # no frame pacing (tests)

Every player lives in its own branch of one SceneTree, with its own SceneMultiplayer
and WebSocket connection, like Godot's combo scenes. Bots play on their own peer:
they send their input through their input synchronizer, like a person would. The
server prints the grid as it plays; the game ends when the last rock is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from game import (  # type: ignore[import-not-found]
    DIRECTIONS,
    Lobby,
    Player,
    Vector2i,
)

from multiplayer import Node, SceneMultiplayer, SceneTree, WebSocketMultiplayerPeer


def printer(prefix: str) -> Callable[[str], None]:
    return lambda text: print(f"{prefix:>8} | {text}", flush=True)


def bot_step(lobby: Lobby, rng: random.Random) -> None:
    """Steer this peer's own player: towards the nearest rock; bomb when in reach."""
    world = lobby.world
    me = lobby.multiplayer.get_unique_id()
    if world is None or lobby.winner is not None:
        return
    player = world.players.get_node_or_null(str(me))
    if not isinstance(player, Player):
        return
    inputs = player.inputs
    bombs = [b.cell for b in world.bomb_nodes()]
    danger = any(b.x == player.cell.x or b.y == player.cell.y for b in bombs)
    in_reach = any(
        (r.x == player.cell.x and abs(r.y - player.cell.y) <= 2)
        or (r.y == player.cell.y and abs(r.x - player.cell.x) <= 2)
        for r in world.rocks
    )
    inputs.bombing = in_reach and not danger and rng.random() < 0.5
    moves = [d for d in DIRECTIONS if not world.blocked(player.cell + d)]
    if not moves:
        inputs.motion = Vector2i()
        return
    if danger:  # step out of the line of a bomb
        safe = [
            d
            for d in moves
            if all(b.x != (player.cell + d).x and b.y != (player.cell + d).y for b in bombs)
        ]
        inputs.motion = rng.choice(safe or moves)
        return
    target = min(
        world.rocks, key=lambda r: abs(r.x - player.cell.x) + abs(r.y - player.cell.y), default=None
    )
    if target is None or rng.random() < 0.25:
        inputs.motion = rng.choice(moves)
        return
    inputs.motion = min(
        moves,
        key=lambda d: abs(target.x - (player.cell + d).x) + abs(target.y - (player.cell + d).y),
    )


async def branch(tree: SceneTree, name: str, peer: WebSocketMultiplayerPeer, lobby: Lobby) -> Lobby:
    node = Node(name)
    tree.root.add_child(node)
    api = SceneMultiplayer()
    api.ping_interval = 0
    tree.set_multiplayer(api, node.get_path())
    api.multiplayer_peer = peer
    node.add_child(lobby)
    return lobby


async def main(bots: int, late: bool, fast: bool, seed: int, show_every: int) -> int:
    peers: list[WebSocketMultiplayerPeer] = []
    try:
        return await play(peers, bots, late, fast, seed, show_every)
    finally:  # the game is over, or Ctrl-C: every peer closes, so every link ends cleanly
        for peer in peers:
            peer.close()
        for peer in peers:
            await peer.wait_closed()


async def play(
    peers: list[WebSocketMultiplayerPeer],
    bots: int,
    late: bool,
    fast: bool,
    seed: int,
    show_every: int,
) -> int:
    """The game; each peer it makes goes into ``peers``, for main to close."""
    rng = random.Random(seed)
    tree = SceneTree()
    server_peer = WebSocketMultiplayerPeer()
    peers.append(server_peer)
    await server_peer.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server_peer.get_local_port()}"
    print(f"server listening on {url}; {bots} bots join", flush=True)
    server = await branch(tree, "Server", server_peer, Lobby("Host", printer("server")))
    lobbies = [server]
    for i in range(bots):
        peer = WebSocketMultiplayerPeer()
        await peer.create_client(url)
        peers.append(peer)
        name = "ABCDEFGHIJ"[i + 1] + f"bot{i + 2}"
        lobbies.append(await branch(tree, f"Bot{i + 2}", peer, Lobby(name, lambda _: None)))

    async def frame() -> None:
        tree.process(1 / 60)
        for lobby in lobbies:
            bot_step(lobby, rng)
        await asyncio.sleep(0 if fast else 1 / 60)

    frames = 0
    while len(server.players) < bots:  # the lobby: wait for every bot's name
        await frame()
    server.begin_game(seed)
    watcher: Lobby | None = None
    async with asyncio.timeout(120):
        while server.winner is None:
            frames += 1
            if frames % (1 if fast else 3) == 0:
                server.server_tick()
                if server.tick % show_every == 0 and server.world is not None:
                    print(f"tick {server.tick}, scores {server.world.scores}", flush=True)
                    print(server.world.render(), flush=True)
            if late and watcher is None and server.tick == 10:
                peer = WebSocketMultiplayerPeer()
                await peer.create_client(url)
                peers.append(peer)
                watcher = await branch(tree, "Watcher", peer, Lobby("watcher", printer("watcher")))
                lobbies.append(watcher)
            await frame()
        for _ in range(10):  # let game_over and the last state reach everyone
            await frame()
    result = 0
    if watcher is not None and server.world is not None and watcher.world is not None:
        same = watcher.world.render() == server.world.render()
        print(f"the late watcher sees the same grid as the server: {same}", flush=True)
        result = 0 if same else 1
    ended = sum(lobby.winner is not None for lobby in lobbies)
    print(f"game over on {ended} of {len(lobbies)} peers", flush=True)
    return result if ended == len(lobbies) else 1


async def stoppable(program: Coroutine[Any, Any, int]) -> int:
    """Run ``program`` until it ends, or until Ctrl-C (SIGINT) or SIGTERM cancels it:
    then its ``finally`` blocks close the peers, so that the others get a close frame,
    and the program ends quietly (no traceback, exit status 0)."""
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    try:
        return await program
    except asyncio.CancelledError:
        print("stopped", flush=True)
        return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description="headless bomber over WebSocket")
    parser.add_argument("--bots", type=int, default=3)
    parser.add_argument("--late", action="store_true", help="a watcher joins mid-game")
    parser.add_argument("--fast", action="store_true", help="no frame pacing")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show-every", type=int, default=20, help="print the grid every N ticks")
    args = parser.parse_args()
    game = main(args.bots, args.late, args.fast, args.seed, args.show_every)
    raise SystemExit(asyncio.run(stoppable(game)))


if __name__ == "__main__":
    cli()
