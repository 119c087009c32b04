# examples/websocket_multiplayer/game.py: the game, a port of Godot's websocket_multiplayer demo
"""Turn-based dice: players take turns to roll (or pass); the server keeps the score.

The node is the same on every peer and its authority is the server (1). Clients ask
with ``any_peer`` RPCs; the server checks them and answers with ``call_local`` RPCs
that update every peer, itself included.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from multiplayer import Node, rpc

ACTIONS = ("roll", "pass")


class Game(Node):
    def __init__(
        self, name: str, rounds: int, say: Callable[[str], None], min_players: int = 2
    ) -> None:
        super().__init__("Game")
        self.player_name = name
        self.rounds = rounds  # the server ends the game after this many rounds
        self.min_players = min_players  # the server starts when this many are here
        self.started = False
        self.say = say  # how this peer shows things to a person
        self.players: list[int] = []  # in turn order
        self.names: dict[int, str] = {}
        self.scores: dict[int, int] = {}
        self.turn = 0
        self.turns_played = 0
        self.finished = False
        self.on_my_turn: Callable[[], None] = lambda: None  # set by a bot or a person

    # What the server decides.

    def start(self) -> None:
        """Called on the server: it plays too, as player 1."""
        self.multiplayer.peer_connected.connect(self.on_peer_add)
        self.multiplayer.peer_disconnected.connect(self.on_peer_del)
        self.add_player.rpc(1, self.player_name)
        self.say(f"waiting for {self.min_players} players")
        self.start_when_ready()

    def start_when_ready(self) -> None:
        if not self.started and len(self.players) >= self.min_players:
            self.started = True
            self._log.rpc("The game begins")
            self.set_turn.rpc(0)

    def on_peer_add(self, peer_id: int) -> None:
        # The newcomer gets the current table, then everyone hears of the newcomer.
        for existing in self.players:
            self.add_player.rpc_id(peer_id, existing, self.names[existing])
            self.set_score.rpc_id(peer_id, existing, self.scores[existing])
        self.add_player.rpc(peer_id, "")
        if self.started:
            self.set_turn.rpc_id(peer_id, self.turn)
        self.start_when_ready()

    def on_peer_del(self, peer_id: int) -> None:
        if peer_id in self.players:
            self.del_player.rpc(peer_id)

    # A player whose link breaks without a goodbye (a Wi-Fi blip, a phone that changes
    # networks) is not gone: the server keeps them for reconnect_grace seconds while
    # their peer reconnects by itself, and nothing sent meanwhile is lost. The game
    # waits for them (it may be their turn), and says so.

    def _ready(self) -> None:
        api = self.multiplayer
        api.peer_dropped.connect(self.on_peer_dropped)
        api.peer_resumed.connect(self.on_peer_resumed)
        api.connection_lost.connect(lambda: self.say("connection lost, reconnecting..."))
        api.reconnected.connect(lambda: self.say("reconnected"))

    def on_peer_dropped(self, peer_id: int) -> None:
        if self.multiplayer.is_server() and peer_id in self.names:
            self._log.rpc(f"{self.names[peer_id]} lost the connection; waiting for them")

    def on_peer_resumed(self, peer_id: int) -> None:
        if self.multiplayer.is_server() and peer_id in self.names:
            self._log.rpc(f"{self.names[peer_id]} is back")

    @rpc("any_peer")
    def set_player_name(self, name: str) -> None:
        if not self.multiplayer.is_server():
            return
        sender = self.multiplayer.get_remote_sender_id()
        self.update_player_name.rpc(sender, str(name)[:20])

    def play(self, action: str) -> None:
        """This peer's player acts: the server decides at once, a client asks it."""
        if self.multiplayer.is_server():
            self.handle_action(1, action)
        else:
            self.request_action.rpc_id(1, action)

    @rpc("any_peer")
    def request_action(self, action: str) -> None:
        if self.multiplayer.is_server():
            self.handle_action(self.multiplayer.get_remote_sender_id(), action)

    def handle_action(self, sender: int, action: str) -> None:
        """The server's check: only the player whose turn it is may act (no cheating)."""
        if self.finished:
            return
        if not self.started:
            self._log.rpc_id(sender, "The game has not started yet")
            return
        if self.players[self.turn] != sender:
            self._log.rpc(f"Someone is trying to cheat! ({self.names.get(sender, sender)})")
            return
        if action not in ACTIONS:
            self._log.rpc(f"Invalid action: {action!r}")
            return
        self.do_action(action)
        self.next_turn()

    def do_action(self, action: str) -> None:
        player = self.players[self.turn]
        if action == "roll":
            value = random.randint(1, 6)
            self.set_score.rpc(player, self.scores[player] + value)
            self._log.rpc(f"{self.names[player]} rolled a {value}")
        else:
            self._log.rpc(f"{self.names[player]} passed")

    def next_turn(self) -> None:
        self.turns_played += 1
        if self.turns_played >= self.rounds * len(self.players):
            best = max(self.players, key=lambda p: self.scores[p])
            self.game_over.rpc(self.names[best], self.scores[best])
            return
        self.set_turn.rpc((self.turn + 1) % len(self.players))

    # What every peer shows.

    @rpc("call_local")
    def _log(self, message: str) -> None:
        self.say(message)

    @rpc("call_local")
    def add_player(self, peer_id: int, name: str) -> None:
        if peer_id not in self.players:
            self.players.append(peer_id)
        self.names[peer_id] = name or "... connecting ..."
        self.scores.setdefault(peer_id, 0)

    @rpc("call_local")
    def del_player(self, peer_id: int) -> None:
        if peer_id not in self.players:
            return
        index = self.players.index(peer_id)
        self.players.remove(peer_id)
        self.say(f"{self.names.pop(peer_id)} left")
        self.scores.pop(peer_id, None)
        if index < self.turn:
            self.turn -= 1  # the same player keeps the turn
        if self.started and self.players and self.multiplayer.is_server():
            self.set_turn.rpc(self.turn % len(self.players))  # (before the start: no turns)

    @rpc("call_local")
    def update_player_name(self, peer_id: int, name: str) -> None:
        if peer_id in self.names:
            self.names[peer_id] = name
            self.say(f"{name} joined")

    @rpc("call_local")
    def set_score(self, peer_id: int, score: int) -> None:
        self.scores[peer_id] = score

    @rpc("call_local")
    def set_turn(self, turn: int) -> None:
        self.turn = turn
        if not self.players:
            return
        self.say(self.table())
        if self.players[turn] == self.multiplayer.get_unique_id():
            self.on_my_turn()

    @rpc("call_local")
    def game_over(self, winner: str, score: int) -> None:
        self.finished = True
        self.say(f"Game over: {winner} wins with {score}")

    def table(self) -> str:
        """The player list, with a * on whoever's turn it is."""
        rows = []
        for i, peer_id in enumerate(self.players):
            crown = "*" if i == self.turn else " "
            rows.append(f"{crown}{self.names[peer_id]}({self.scores.get(peer_id, 0)})")
        return "players: " + "  ".join(rows)
