# examples/rooms/dice_room.py: the dice game's room type, for a room server
"""The dice game of examples/websocket_multiplayer as a room type, "dice".

Each room is one table: its own tree with the same ``Game`` node as in the
one-session game, its own ids (the room's server is 1, players are 2, 3, …). In
Godot's demo the host plays too; here the room's server only referees (it deals
the turns and checks every move), since a lobby's server is nobody's seat. The
game begins when ``PLAYERS`` are in, and the room locks when it is over.

Imported by lobby.py, which puts examples/websocket_multiplayer on ``sys.path``
first (for ``game``), as examples/godot_interop/play.py does.
"""

from __future__ import annotations

from collections.abc import Mapping

from game import Game  # type: ignore[import-not-found]

from multiplayer import JoinRefused, rooms

ROOM_TYPE = "dice"
PLAYERS = 3  # the seats of a table, and the players its game waits for
ROUNDS = 3  # a room's rounds unless its creator asks for others (?rounds=N)
MAX_ROUNDS = 100_000


def read_rounds(options: Mapping[str, str]) -> int:
    """The rounds a creator asked for; a wrong number refuses them, with the reason."""
    text = options.get("rounds", str(ROUNDS))
    if not text.isdigit() or not 1 <= int(text) <= MAX_ROUNDS:
        raise JoinRefused(f"rounds must be a whole number from 1 to {MAX_ROUNDS}, not {text!r}")
    return int(text)


class DiceRoom(rooms.Room):
    """One table of the dice game, refereed by the room's server."""

    max_clients = PLAYERS

    def on_create(self, options: Mapping[str, str]) -> None:
        rounds = read_rounds(options)
        self.game: Game = Game("referee", rounds, self.log, min_players=PLAYERS)
        self.tree.root.add_child(self.game)
        # What Game.start() does, but for seating the server as player 1: it referees.
        api = self.multiplayer
        api.peer_connected.connect(self.game.on_peer_add)
        api.peer_disconnected.connect(self.game.on_peer_del)
        self.tree.process_frame.connect(self.follow_game)
        self.metadata = {"state": "waiting", "rounds": rounds}
        kind = "private" if self.private else "public"
        self.log(f"a {kind} table for {PLAYERS}, {rounds} rounds: waiting for players")

    def follow_game(self) -> None:
        """Each frame: the lobby's listing shows how the game goes, and a finished
        game takes no one new (a join then gets RoomLocked). Its players leave, and
        the room is disposed with the last of them."""
        game = self.game
        state = "over" if game.finished else "playing" if game.started else "waiting"
        if self.metadata["state"] != state:
            self.metadata = {**self.metadata, "state": state}
            if game.finished:
                self.lock()

    def on_shutdown(self) -> None:
        """The server is going down: tell the table why its game ends here, then end
        the room (its players are closed with 1001, going away)."""
        if not self.game.finished:
            self.game._log.rpc("the server is shutting down: the game ends here")
        self.dispose()

    def on_dispose(self) -> None:
        self.log("room closed")

    def log(self, message: str) -> None:
        """The room's log, prefixed by its code. The table ("players: *Ann(3) ...")
        is for the players' screens: the referee shows the moves."""
        if not message.startswith("players: "):
            print(f"{self.code:>8} | {message}", flush=True)
