# examples/websocket_multiplayer/main.py: host, join, or run a whole table in one process
"""Turn-based dice over WebSocket, a port of Godot's websocket_multiplayer demo.

    python examples/websocket_multiplayer/main.py                 # server + 3 bots, one process
    python examples/websocket_multiplayer/main.py --bots 5 --rounds 2
    python examples/websocket_multiplayer/main.py --host --port 8080 --name Alice --players 2
    python examples/websocket_multiplayer/main.py --join ws://localhost:8080 --name Bob
    python examples/websocket_multiplayer/main.py --join ws://localhost:8080 --bot
    python examples/websocket_multiplayer/main.py --host --protocol godot --bot   # Godot joins

A person plays by typing ``roll`` or ``pass`` when it is their turn. With
``--protocol godot`` the server speaks Godot 4's own bytes, so a Godot game can join
it: examples/godot_interop is that game. In the all-in-one
mode (Godot's combo scene) every player lives in its own branch of one SceneTree,
with its own SceneMultiplayer: the server at /root/Server, bots at /root/Bot2, …
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import random
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from game import Game  # type: ignore[import-not-found]

from multiplayer import (
    ConnectionStatus,
    Node,
    SceneMultiplayer,
    SceneTree,
    WebSocketMultiplayerPeer,
)

PROTOCOL = "ludus"  # the demo's WebSocket sub-protocol


def printer(prefix: str) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"{prefix:>8} | {message}", flush=True)

    return say


def quiet(_: str) -> None:
    pass


async def stoppable(program: Coroutine[Any, Any, None]) -> None:
    """Run ``program`` until it ends, or until Ctrl-C (SIGINT) or SIGTERM cancels it:
    then its ``finally`` blocks close the peers, so that the others get a close frame,
    and the program ends quietly (no traceback, exit status 0)."""
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    try:
        await program
    except asyncio.CancelledError:
        print("stopped", flush=True)


def user_name() -> str:
    """The default player name, as in Godot's demo: the OS user name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name to be found (a bare container)
        return "Player"


def make_bot(game: Game, say: Callable[[str], None], cheat: bool = False) -> None:
    """Play automatically: roll (mostly) a moment after the turn comes."""
    loop = asyncio.get_running_loop()

    def act() -> None:
        if not game.finished and game.is_inside_tree():
            action = "roll" if random.random() < 0.8 else "pass"
            say(f"{game.player_name} chooses to {action}")
            game.play(action)

    game.on_my_turn = lambda: loop.call_later(random.uniform(0.05, 0.2), act)
    if cheat:  # every so often, try to act out of turn; the server refuses it

        def cheat_now() -> None:
            if not game.finished and game.is_inside_tree():
                game.request_action.rpc_id(1, "roll")
                loop.call_later(0.5, cheat_now)

        loop.call_later(0.3, cheat_now)


def make_person(game: Game, say: Callable[[str], None]) -> None:
    """Play from the keyboard: type roll or pass on your turn."""
    loop = asyncio.get_running_loop()

    def on_line() -> None:
        line = sys.stdin.readline()
        if not line:  # end of input: stop reading
            loop.remove_reader(sys.stdin)
            return
        action = line.strip()
        if action in ("roll", "pass"):
            game.play(action)
        elif action:
            say("type roll or pass")

    try:
        loop.add_reader(sys.stdin, on_line)
    except (PermissionError, ValueError, OSError):
        say("no keyboard here (stdin cannot be read): a bot plays for you")
        make_bot(game, say)
        return
    game.on_my_turn = lambda: say("your turn: type roll or pass")


async def all_in_one(bots: int, rounds: int, cheat: bool) -> None:
    """The server and the bots, each in its own branch of one tree."""
    tree = SceneTree()
    try:
        await play_all_in_one(tree, bots, rounds, cheat)
    finally:  # the game is over, or Ctrl-C: every peer closes, so every link ends cleanly
        for branch in tree.root.get_children():
            api = tree.get_multiplayer(branch.get_path())
            if api.multiplayer_peer is not None:
                api.multiplayer_peer.close()
                await api.multiplayer_peer.wait_closed()


async def play_all_in_one(tree: SceneTree, bots: int, rounds: int, cheat: bool) -> None:
    server_peer = WebSocketMultiplayerPeer()
    server_peer.supported_protocols = [PROTOCOL]
    await server_peer.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server_peer.get_local_port()}"
    joining = f"{bots} bots" + (" and a cheater" if cheat else "")
    print(f"server listening on {url}; {joining} join", flush=True)

    players = 1 + bots + (1 if cheat else 0)
    host_game = Game("Host", rounds, printer("server"), min_players=players)
    server_game = add_branch(tree, "Server", server_peer, host_game)
    make_bot(server_game, printer("Host"))
    server_game.start()

    games = []
    for i in range(bots):
        peer = WebSocketMultiplayerPeer()
        peer.supported_protocols = [PROTOCOL]
        await peer.create_client(url)
        name = f"Bot{i + 2}"
        game = add_branch(tree, name, peer, Game(name, rounds, quiet))
        game.multiplayer.connected_to_server.connect(
            lambda g=game: g.set_player_name.rpc_id(1, g.player_name)
        )
        make_bot(game, printer(name))
        games.append(game)
    if cheat:
        peer = WebSocketMultiplayerPeer()
        peer.supported_protocols = [PROTOCOL]
        await peer.create_client(url)
        cheater = add_branch(tree, "Cheater", peer, Game("Cheater", rounds, quiet))
        cheater.multiplayer.connected_to_server.connect(
            lambda: cheater.set_player_name.rpc_id(1, "Cheater")
        )
        make_bot(cheater, printer("Cheater"), cheat=True)
        games.append(cheater)

    await run_until(tree, lambda: all(g.finished for g in [server_game, *games]), 60)


def add_branch(tree: SceneTree, name: str, peer: WebSocketMultiplayerPeer, game: Game) -> Game:
    branch = Node(name)
    tree.root.add_child(branch)
    api = SceneMultiplayer()
    tree.set_multiplayer(api, branch.get_path())
    api.multiplayer_peer = peer
    branch.add_child(game)
    return game


async def run_until(tree: SceneTree, done: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            tree.process(1 / 60)
            if done():
                return
            await asyncio.sleep(1 / 60)


async def host(
    port: int, name: str, rounds: int, bot: bool, players: int, protocol: str
) -> None:
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer(protocol)
    peer.supported_protocols = [PROTOCOL]
    await peer.create_server(port)
    print(f"hosting on port {peer.get_local_port()}", flush=True)
    tree.get_multiplayer().multiplayer_peer = peer
    say = printer(name)
    game = Game(name, rounds, say, min_players=players)
    tree.root.add_child(game)
    (make_bot if bot else make_person)(game, say)
    game.start()
    try:
        await run_until(tree, lambda: game.finished, 3600)
    finally:  # the game is over, or Ctrl-C: the players get a close frame
        peer.close()
        await peer.wait_closed()


async def join(url: str, name: str, bot: bool, protocol: str) -> None:
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer(protocol)
    peer.supported_protocols = [PROTOCOL]
    await peer.create_client(url)
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    say = printer(name)
    game = Game(name, 0, say)
    tree.root.add_child(game)
    (make_bot if bot else make_person)(game, say)
    api.connected_to_server.connect(lambda: game.set_player_name.rpc_id(1, name))
    api.server_disconnected.connect(lambda: say("connection closed"))

    def over() -> bool:
        return game.finished or peer.get_connection_status() == ConnectionStatus.DISCONNECTED

    try:
        await run_until(tree, over, 3600)
    finally:  # the game is over, or Ctrl-C: the server gets a close frame
        peer.close()
        await peer.wait_closed()
    if not game.finished and peer.connection_error is not None:
        sys.exit(f"could not connect to {url}: {peer.connection_error}")


def ws_url(text: str) -> str:
    """--join's URL, checked before anything starts."""
    if not text.startswith(("ws://", "wss://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a ws:// or wss:// URL")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--host", action="store_true", help="host a game and play in it")
    mode.add_argument("--join", metavar="URL", type=ws_url, help="join the game at ws://HOST:PORT")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--name", default=user_name(), help="default: your user name")
    parser.add_argument("--bots", type=int, default=3, help="bots, in the all-in-one mode")
    parser.add_argument("--players", type=int, default=2, help="players the host waits for")
    parser.add_argument("--rounds", type=int, default=3, help="rounds before the game ends")
    parser.add_argument("--bot", action="store_true", help="let a bot play for you")
    parser.add_argument("--cheat", action="store_true", help="add a bot that cheats")
    parser.add_argument(
        "--protocol",
        choices=["native", "godot"],
        default="native",
        help="the wire profile: this library's own, or Godot 4's (for Godot players)",
    )
    args = parser.parse_args()
    try:
        if args.host:
            game = (args.port, args.name, args.rounds, args.bot, args.players, args.protocol)
            asyncio.run(stoppable(host(*game)))
        elif args.join:
            asyncio.run(stoppable(join(args.join, args.name, args.bot, args.protocol)))
        else:
            asyncio.run(stoppable(all_in_one(args.bots, args.rounds, args.cheat)))
    except OSError as exc:  # the port is taken, say
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
