# examples/plain_loop/game.py: the race, a node that is the same on every peer
"""Race to 10 clicks: every player clicks as fast as they can; the server counts.

The node's authority is the server (1). A player's click is an ``any_peer`` RPC to
the server, which alone decides: it counts the click, tells everyone the new score
with a ``call_local`` RPC, and declares the winner. Nothing here knows how frames are
run: main.py runs them with a plain loop.
"""

from __future__ import annotations

from collections.abc import Callable

from multiplayer import Node, rpc

GOAL = 10


class Race(Node):
    def __init__(self, players: int, say: Callable[[str], None]) -> None:
        super().__init__("Race")
        self.players = players  # the server starts when this many have joined
        self.say = say
        self.names: dict[int, str] = {}
        self.scores: dict[int, int] = {}
        self.started = False
        self.winner = ""
        self.left = 0  # players gone since the end (the server waits for them all)

    # The server.

    def start_server(self) -> None:
        self.multiplayer.peer_disconnected.connect(self._on_peer_left)
        self.say(f"waiting for {self.players} players")

    def _on_peer_left(self, peer_id: int) -> None:
        self.left += 1
        if not self.winner:
            self.say(f"{self.names.get(peer_id, peer_id)} left before the end")

    @rpc("any_peer")
    def join_race(self, name: str) -> None:
        if self.started:
            return  # (the server refuses new connections once the race is on)
        sender = self.multiplayer.get_remote_sender_id()
        for peer_id, known in self.names.items():  # the newcomer learns who is here
            self.add_player.rpc_id(sender, peer_id, known)
        self.add_player.rpc(sender, str(name)[:20])
        if len(self.names) == self.players:
            self.multiplayer.multiplayer_peer.refuse_new_connections = True
            self.begin.rpc()

    @rpc("any_peer")
    def click(self) -> None:
        sender = self.multiplayer.get_remote_sender_id()
        if not self.started or self.winner or sender not in self.scores:
            return  # (a click sent as the race ended)
        count = self.scores[sender] + 1
        self.set_score.rpc(sender, count)
        if count >= GOAL:
            self.finish.rpc(self.names[sender])

    # Every peer.

    @rpc("call_local")
    def add_player(self, peer_id: int, name: str) -> None:
        if peer_id not in self.names:  # (a player connected early hears of some twice)
            self.names[peer_id] = name
            self.scores[peer_id] = 0
            self.say(f"{name} joined")

    @rpc("call_local")
    def begin(self) -> None:
        self.started = True
        self.say("go!")

    @rpc("call_local")
    def set_score(self, peer_id: int, count: int) -> None:
        self.scores[peer_id] = count
        self.say(f"{self.names[peer_id]}: {count}")

    @rpc("call_local")
    def finish(self, name: str) -> None:
        self.winner = name
        self.say(f"{name} wins!")

    @property
    def over(self) -> bool:
        """Whether this peer is done: a client once there is a winner, the server once
        every player has also left."""
        if self.multiplayer.is_server():
            return bool(self.winner) and self.left >= len(self.names)
        return bool(self.winner)
