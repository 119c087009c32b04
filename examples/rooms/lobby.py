# examples/rooms/lobby.py: the dice game as a lobby of rooms, many tables on one server
"""The dice game of examples/websocket_multiplayer, as a lobby: one room server, many tables.

    python examples/rooms/lobby.py                      # a server, 10 bots, 3 tables; ends
    python examples/rooms/lobby.py --serve --port 8080  # the room server alone
    python examples/rooms/lobby.py --create ws://localhost:8080  # a new table: shows its code
    python examples/rooms/lobby.py --create ws://localhost:8080 --private --rounds 5
    python examples/rooms/lobby.py --join ws://localhost:8080 K3M9QZ  # a friend's table
    python examples/rooms/lobby.py --play ws://localhost:8080   # any table with a free seat
    python examples/rooms/lobby.py --list ws://localhost:8080 --watch  # the public tables

A room server hosts the room type "dice" (dice_room.py): each room is one table of
three, refereed by the room's server. A player creates a table and reads its code to
friends, who join by that code (typed as they heard it: case and look-alikes do not
matter); or asks for any table with a free seat (join_or_create), which fills the
fullest first and opens a new one when all are full. A person types ``roll`` or
``pass`` on their turn (``leave`` or ``quit`` to go); a bot plays when ``--bot`` is
given or nobody can type (stdin is not a terminal). A refused join says why, with its
type (RoomFull, RoomLocked, RoomNotFound, JoinRefused, ShuttingDown).

The all-in-one mode runs a room server and ten bots in one process: Ann creates a
private table and her friends Bob and Cy join it by its code; five others ask for any
table, and so does Kim once Ann's table has refused him (it is full). Three games run
at once, each room's log prefixed by its code; when all are over, the server shuts
down.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "websocket_multiplayer")]

import main as dice  # type: ignore[import-not-found]  # noqa: E402  (the dice example)
from dice_room import PLAYERS, ROOM_TYPE, ROUNDS, DiceRoom  # noqa: E402
from game import Game  # type: ignore[import-not-found]  # noqa: E402

from multiplayer import (  # noqa: E402
    RoomError,
    RoomFull,
    SceneTree,
    WebSocketMultiplayerPeer,
    rooms,
)

Enter = Callable[
    [WebSocketMultiplayerPeer, str, str, Mapping[str, str] | None], Awaitable[rooms.JoinedRoom]
]
JOINS: dict[str, Enter] = {
    "create": rooms.create,  # target: a room type
    "join": rooms.join,  # target: a room's code
    "join_or_create": rooms.join_or_create,  # target: a room type
}


def refusal(exc: BaseException) -> str:
    """A refused join (or a failed connection) in one line, with its type."""
    return f"{type(exc).__name__}: {exc}"


class Player:
    """A player: a tree with the dice ``Game``, whose peer joins a room of the server."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.say = dice.printer(name)
        self.peer = WebSocketMultiplayerPeer()
        self.code = ""  # the room's, once in
        self.peer_id = 0  # ours in the room
        self.task: asyncio.Task[bool] | None = None

    async def enter(self, how: str, target: str, options: Mapping[str, str] | None = None) -> str:
        """Create, join or join_or_create a room; its code. A refusal raises its
        typed error (a RoomError)."""
        self.peer = WebSocketMultiplayerPeer()  # (an unused one for each try)
        joined = await JOINS[how](self.peer, self.url, target, options)
        self.code, self.peer_id = joined.code, joined.peer_id
        if how == "create":
            kind = "private" if options and options.get("private") else "public"
            self.say(f"created the {kind} table {joined.code}: its code is on my screen")
        elif how == "join":
            self.say(
                f"joined {joined.code} by its code (typed {target!r}), as peer {joined.peer_id}"
            )
        else:
            self.say(f"asked for any table: seated at {joined.code}, as peer {joined.peer_id}")
        return joined.code

    async def play(self, bot: bool, show: Callable[[str], None]) -> bool:
        """Play in the room until the game is over (True), the server goes, or the
        person leaves; ``show`` shows the game's lines."""
        tree = SceneTree()
        game: Game = Game(self.name, 0, show)
        tree.root.add_child(game)
        api = tree.get_multiplayer()
        api.multiplayer_peer = self.peer
        api.connected_to_server.connect(lambda: game.set_player_name.rpc_id(1, self.name))
        api.server_disconnected.connect(lambda: self.say("the room server went away"))
        (dice.make_bot if bot else dice.make_person)(game, show)
        try:
            await dice.run_until(tree, lambda: game.finished or dice.closed(self.peer), 3600)
        finally:  # over, the server went, or Ctrl-C: the room hears that we leave
            finished = bool(game.finished)
            game.free()  # (out of the tree: a bot's move still to come is not made)
            self.peer.close()
            await self.peer.wait_closed()
        if finished:
            score = game.scores.get(self.peer_id, 0)
            self.say(f"leaves {self.code} after the game, with {score} points")
        return finished

    def start(self) -> None:
        """Play as a quiet bot, as a task (the all-in-one mode)."""
        self.task = asyncio.create_task(self.play(True, dice.quiet))


# The all-in-one mode: a room server and ten bots, at three tables at once.


async def lobby(rounds: int) -> bool:
    """Run the server and the bots until every game is over, or a signal stops them;
    either way the server then shuts down gracefully. False if a game did not end
    and no signal asked for it."""
    server = rooms.RoomServer()
    server.define(ROOM_TYPE, DiceRoom)
    await server.listen(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server.local_port}"
    # A signal shuts the server down gracefully: every table is told, its players are
    # closed with 1001 (going away), so every bot's game ends, and so does this.
    signals: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: signals.append(loop.create_task(server.shutdown())))
    serving = asyncio.create_task(server.run(handle_signals=False))
    print(f"lobby: a room server on {url}; 10 bots, 3 tables of {PLAYERS}", flush=True)
    seated: list[Player] = []
    try:
        try:
            await seat_everyone(url, {"rounds": str(rounds)}, seated)
            tables = ", ".join(  # (seats taken, or held for a join that is finishing)
                f"{r.code} ({r.taken + r.held}/{r.max_clients})"
                for r in await rooms.list_rooms(url)
            )
            print(f"lobby: the public tables are {tables}; Ann's is private", flush=True)
        except (RoomError, OSError) as exc:  # (a signal during the joins: ShuttingDown)
            print(f"lobby: {refusal(exc)}", flush=True)
        over = [await player.task for player in seated if player.task is not None]
    finally:
        await server.shutdown()
        await serving
    if len(over) == 9 and all(over):
        print("lobby: every game is over; the room server has shut down", flush=True)
        return True
    print("stopped" if signals else "lobby: a game did not end", flush=True)
    return bool(signals)


async def seat_everyone(url: str, options: Mapping[str, str], seated: list[Player]) -> None:
    """Ann creates a private table and shows its code; Bob and Cy type it in as they
    read it off her screen (Cy in lower case). Meanwhile five others ask for any
    table at once: join_or_create seats three at one and opens a second for two.
    Then Kim asks for Ann's table by its code, is refused (it is full), and asks for
    any table: the last seat of the second. Each plays from the moment it is seated
    (in ``seated``)."""
    ann, bob, cy, kim = (Player(name, url) for name in ("Ann", "Bob", "Cy", "Kim"))
    others = [Player(name, url) for name in ("Dan", "Eve", "Fay", "Gus", "Hal")]

    async def arrive(player: Player, how: str, target: str, private: bool = False) -> str:
        code = await player.enter(how, target, {**options, "private": "1"} if private else options)
        player.start()
        seated.append(player)
        return code

    code = await arrive(ann, "create", ROOM_TYPE, private=True)
    arrivals = await asyncio.gather(
        arrive(bob, "join", code),
        arrive(cy, "join", code.lower()),
        *(arrive(player, "join_or_create", ROOM_TYPE) for player in others),
        return_exceptions=True,
    )
    for failed in arrivals:
        if isinstance(failed, BaseException):
            raise failed
    try:
        await kim.enter("join", code)
    except RoomFull as exc:
        kim.say(f"cannot join {code}: {refusal(exc)}; asking for any table instead")
        await arrive(kim, "join_or_create", ROOM_TYPE)
    else:  # (it cannot be: Ann's table is full)
        kim.start()
        seated.append(kim)


# One program per player, and the server alone.


async def serve(port: int) -> None:
    """The room server, until SIGINT or SIGTERM: then it shuts down gracefully."""
    logging.basicConfig(format="%(name)s: %(message)s")  # (warnings of every library)
    logging.getLogger("multiplayer").setLevel(logging.INFO)  # rooms created, disposed, refusals
    server = rooms.RoomServer()
    server.define(ROOM_TYPE, DiceRoom)
    await server.listen(port)
    serving = asyncio.create_task(server.run())
    await asyncio.sleep(0)  # (run() has begun: SIGINT and SIGTERM now shut it down)
    print(f"room server on port {server.local_port}: dice tables of {PLAYERS}", flush=True)
    await serving  # until a signal's graceful shutdown has ended
    print("stopped", flush=True)


async def play(url: str, how: str, target: str, args: argparse.Namespace) -> None:
    player = Player(args.name, url)
    options = {"rounds": str(args.rounds)} if how != "join" else {}
    if args.private and how == "create":
        options["private"] = "1"
    try:
        code = await player.enter(how, target, options)
    except RoomError as exc:
        raise SystemExit(f"error: {refusal(exc)}") from None
    if how == "create":
        player.say(f"friends join it with: --join {url} {code}")
    bot = args.bot or not sys.stdin.isatty()  # (nobody can type: a bot plays)
    await player.play(bot, dice.printer(args.name))


async def show_tables(url: str, watch: bool) -> None:
    """The public tables, now (and as they change, with ``watch``, until the server
    goes away)."""
    if not watch:
        print(tables_text(await rooms.list_rooms(url, ROOM_TYPE)), flush=True)
        return
    shown = ""
    try:
        async for tables in rooms.watch_rooms(url, ROOM_TYPE):
            text = tables_text(tables)
            if text != shown:  # (a seat held for a join changes the listing, not this)
                print(text, flush=True)
                shown = text
    except ConnectionError as exc:
        print(f"the room server went away ({exc})", flush=True)


def tables_text(tables: list[rooms.RoomInfo]) -> str:
    lines = [f"{len(tables)} public tables"]
    for room in tables:
        state = room.metadata.get("state", "?")
        locked = ", locked" if room.locked else ""
        lines.append(f"  {room.code}  {room.taken}/{room.max_clients}  {state}{locked}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serve", action="store_true", help="run the room server only")
    mode.add_argument("--create", metavar="URL", type=dice.ws_url, help="create a table")
    mode.add_argument(
        "--join", nargs=2, metavar=("URL", "CODE"), help="join the table with that code"
    )
    mode.add_argument("--play", metavar="URL", type=dice.ws_url, help="sit at any free table")
    mode.add_argument("--list", metavar="URL", type=dice.ws_url, help="show the public tables")
    parser.add_argument("--watch", action="store_true", help="with --list: show every change")
    parser.add_argument("--port", type=int, default=8080, help="with --serve (0: any free one)")
    parser.add_argument("--name", default=dice.user_name(), help="default: your user name")
    parser.add_argument("--bot", action="store_true", help="let a bot play for you")
    parser.add_argument("--private", action="store_true", help="with --create: not listed")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="of the tables you open")
    args = parser.parse_args()
    if args.create:
        how, url, target = "create", args.create, ROOM_TYPE
    elif args.join:
        how, (url, target) = "join", args.join
    elif args.play:
        how, url, target = "join_or_create", args.play, ROOM_TYPE
    else:
        how, url, target = "", args.list, ""
    if args.join:
        try:
            dice.ws_url(url)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"--join: {exc}")
    try:
        if args.serve:
            asyncio.run(serve(args.port))
        elif how:
            asyncio.run(dice.stoppable(play(url, how, target, args)))
        elif args.list:
            asyncio.run(dice.stoppable(show_tables(args.list, args.watch)))
        elif not asyncio.run(lobby(args.rounds)):
            sys.exit(1)
    except OSError as exc:  # the port is taken, the server is not there
        sys.exit(f"error: could not connect to {url}: {exc}" if url else f"error: {exc}")


if __name__ == "__main__":
    main()
