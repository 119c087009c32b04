# examples/websocket_multiplayer/main.py: host, join, or run a whole table in one process
"""Turn-based dice over WebSocket, a port of Godot's websocket_multiplayer demo.

    python examples/websocket_multiplayer/main.py                 # server + 3 bots, one process
    python examples/websocket_multiplayer/main.py --bots 5 --rounds 2
    python examples/websocket_multiplayer/main.py --host --port 8080 --name Alice --players 2
    python examples/websocket_multiplayer/main.py --join ws://localhost:8080 --name Bob
    python examples/websocket_multiplayer/main.py --join ws://localhost:8080 --bot
    python examples/websocket_multiplayer/main.py --host --protocol godot --bot   # Godot joins

A person plays by typing ``roll`` or ``pass`` when it is their turn. As with the Host,
Join and Disconnect buttons of Godot's demo, they may ``leave`` the game (or see it
end), then ``host [PORT]`` or ``join URL`` again in the same run; ``quit`` (or the end
of input) ends the program. A bot plays one game, and ends with it. With
``--protocol godot`` the server speaks Godot 4's own bytes, so a Godot game can join
it: examples/godot_interop is that game. In the all-in-one
mode (Godot's combo scene) every player lives in its own branch of one SceneTree,
with its own SceneMultiplayer: the server at /root/Server, bots at /root/Bot2, …
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import random
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from game import Game  # type: ignore[import-not-found]

from multiplayer import (
    ConnectionStatus,
    InvalidState,
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
    """Play from the keyboard: the person types roll or pass on their turn."""
    if not person.play(game, say):
        say("no keyboard here (stdin cannot be read): a bot plays for you")
        make_bot(game, say)


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
    server_peer = demo_peer()
    await server_peer.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server_peer.get_local_port()}"
    joining = f"{bots} bots" + (" and a cheater" if cheat else "")
    print(f"server listening on {url}; {joining} join", flush=True)

    players = 1 + bots + (1 if cheat else 0)
    server_game = add_host(tree, server_peer, rounds, players)
    games = [await add_bot(tree, f"Bot{i + 2}", demo_peer(), url) for i in range(bots)]
    if cheat:
        games.append(await add_bot(tree, "Cheater", demo_peer(), url, cheat=True))

    await run_until(tree, lambda: all(g.finished for g in [server_game, *games]), 60)


def demo_peer() -> WebSocketMultiplayerPeer:
    """A peer of the all-in-one mode: the native protocol, the demo's sub-protocol."""
    peer = WebSocketMultiplayerPeer()
    peer.supported_protocols = [PROTOCOL]
    return peer


def add_host(tree: SceneTree, peer: WebSocketMultiplayerPeer, rounds: int, players: int) -> Game:
    """The server's branch, on ``peer`` (a server already): it referees, and a bot
    plays for the host; the game starts when ``players`` are here."""
    host_game = Game("Host", rounds, printer("server"), min_players=players)
    game = add_branch(tree, "Server", peer, host_game)
    make_bot(game, printer("Host"))
    game.start()
    return game


async def add_bot(
    tree: SceneTree, name: str, peer: WebSocketMultiplayerPeer, url: str, cheat: bool = False
) -> Game:
    """A bot's branch: ``peer`` joins the game at ``url``, and the bot plays (and
    cheats, if asked)."""
    await peer.create_client(url)
    game = add_branch(tree, name, peer, Game(name, 0, quiet))
    game.multiplayer.connected_to_server.connect(lambda: game.set_player_name.rpc_id(1, name))
    make_bot(game, printer(name), cheat)
    return game


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
    try:  # until the game is over, or the person leaves (closing the peer)
        await run_until(tree, lambda: game.finished or closed(peer), 3600)
    finally:  # the game is over, leave, or Ctrl-C: the players get a close frame
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

    try:  # until the game is over, the server leaves, or the person does
        await run_until(tree, lambda: game.finished or closed(peer), 3600)
    finally:  # the game is over, leave, or Ctrl-C: the server gets a close frame
        peer.close()
        await peer.wait_closed()
    if not game.finished and peer.connection_error is not None:
        raise ConnectionError(f"could not connect to {url}: {peer.connection_error}")


def closed(peer: WebSocketMultiplayerPeer) -> bool:
    return peer.get_connection_status() == ConnectionStatus.DISCONNECTED


# A person at the keyboard: game after game, as with Godot's Host, Join and Disconnect.


async def one_game(command: list[str], args: argparse.Namespace, bot: bool) -> None:
    """One game, as typed: ``host [PORT]`` or ``join URL``."""
    match command:
        case ["host", *port]:
            where = int(port[0]) if port else args.port
            await host(where, args.name, args.rounds, bot, args.players, args.protocol)
        case ["join", url]:
            await join(url, args.name, bot, args.protocol)


async def play_as_person(first: list[str], args: argparse.Namespace) -> None:
    """Game after game: ``first`` (what the command line asks for), then whatever is
    typed between games, until quit."""
    await one_game(first, args, bot=False)  # (if it fails, the program does)
    while (command := await person.choose()) != ["quit"]:
        try:
            await one_game(command, args, bot=False)
        except (OSError, ValueError) as exc:  # the port is taken, no server there...
            person.say(f"error: {exc}")


PLAYING = "type roll or pass when you have the turn, leave to leave the game, or quit"
CHOOSING = "type host [PORT] to host a game, join URL to join one, or quit"


class Person:
    """The one at this keyboard, who may play game after game in one run: in a game,
    they roll or pass on their turn, or leave; between games, they host, join or quit."""

    def __init__(self) -> None:
        self.keyboard = Keyboard(self.on_line)
        self.reading = False  # whether stdin is watched (it is from the first game on)
        self.game: Game | None = None  # the game being played
        self.say: Callable[[str], None] = print
        self.choices: asyncio.Queue[list[str]] = asyncio.Queue()  # host, join, quit typed

    def play(self, game: Game, say: Callable[[str], None]) -> bool:
        """Play ``game`` from the keyboard; False if nothing can be typed here."""
        self.reading = self.reading or self.keyboard.start()
        if self.reading:
            self.game, self.say = game, say
            game.on_my_turn = lambda: say("your turn: type roll or pass (or leave, or quit)")
            say(PLAYING)
        return self.reading

    def on_line(self, line: str | None) -> None:
        """One typed line (None: the end of input, which quits)."""
        game = self.game
        match ["quit"] if line is None else line.split():
            case []:
                pass
            case ["roll" | "pass" as action] if game is not None:
                try:
                    game.play(action)
                except InvalidState:  # not connected yet (or any more)
                    self.say("not connected: wait, or leave")
            case ["leave"] if game is not None:
                self.leave()
            case ["quit"]:
                self.leave()
                self.choices.put_nowait(["quit"])
            case ["host"] | ["join", _] as words if game is None:
                self.choices.put_nowait(words)
            case ["host", port] as words if game is None and port.isdigit():
                self.choices.put_nowait(words)
            case _:
                self.say(PLAYING if game is not None else CHOOSING)

    def leave(self) -> None:
        """Leave the game, as Godot's Disconnect button does: drop the peer, which
        closes it. The others get a close frame and see us leave; the game's loop
        ends, as its peer is closed."""
        if self.game is not None:
            self.game.multiplayer.multiplayer_peer = None  # (this closes it)
        self.game = None

    async def choose(self) -> list[str]:
        """What to do, now that no game is played: host, join or quit, as typed."""
        self.game = None
        if not self.reading:  # nobody can type here: nothing more to do
            return ["quit"]
        if self.choices.empty():
            self.say(CHOOSING)
        return await self.choices.get()


class Keyboard:
    """The lines typed on stdin, handed to ``on_line`` as they come (the frames go on
    meanwhile); ``None`` at the end of input. (The same as the chat example's.)"""

    def __init__(self, on_line: Callable[[str | None], None]) -> None:
        self.on_line = on_line
        self.unfinished = b""

    def start(self) -> bool:
        """Watch stdin; False if it cannot be (from /dev/null, say: nobody types)."""
        try:
            asyncio.get_running_loop().add_reader(sys.stdin.fileno(), self._read)
        except (OSError, ValueError):
            return False
        return True

    def _read(self) -> None:
        data = os.read(sys.stdin.fileno(), 4096)  # what is there (a line may come in parts)
        if not data:  # the end of input (Ctrl-D): stop watching, or this would spin
            asyncio.get_running_loop().remove_reader(sys.stdin.fileno())
            self.on_line(None)
            return
        *lines, self.unfinished = (self.unfinished + data).split(b"\n")
        for line in lines:
            self.on_line(line.decode(errors="replace").strip())


person = Person()  # one keyboard, one person: make_person hands them each game


def ws_url(text: str) -> str:
    """--join's URL, checked before anything starts."""
    if not text.startswith(("ws://", "wss://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a ws:// or wss:// URL")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="A person types roll or pass on their turn, leave to leave a game, "
        "then host [PORT] or join URL to play again, or quit.",
    )
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
    first = ["host", str(args.port)] if args.host else ["join", args.join]  # as if typed
    try:
        if args.host or args.join:
            if args.bot:  # one game, and the end
                asyncio.run(stoppable(one_game(first, args, bot=True)))
            else:
                asyncio.run(stoppable(play_as_person(first, args)))
        else:
            asyncio.run(stoppable(all_in_one(args.bots, args.rounds, args.cheat)))
    except OSError as exc:  # the port is taken, the server is not there
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
