# examples/multiplayer_bomber/game.py: a headless port of Godot's multiplayer_bomber
"""Bomberman on a grid: players drop bombs that blow up rocks; the most rocks wins.

The server (peer 1) is the authority of everything but each player's input:

* ``Lobby`` (every peer, authority 1): names are exchanged; the server starts the
  game by spawning the ``World`` with the lobby's ``WorldSpawner`` (the Godot
  maintainers' advice for levels), then one ``Player`` per peer with the world's
  ``PlayerSpawner`` and a custom spawn function (data: the peer id, its start cell
  and name); ``game_over`` reaches every peer at the end (a gap in Godot's demo,
  whose clients never hear that the game ended).
* ``Player``: its ``cell`` is replicated by a server-owned synchronizer (ALWAYS), its
  ``label`` only at spawn; its ``Inputs`` child has a synchronizer owned by the
  player's peer, so each peer sends its own ``motion`` and ``bombing`` to the
  server, which checks them (a peer cannot move faster, nor through walls).
* ``Bomb``: spawned by the world's ``BombSpawner`` and despawned when it explodes.
* ``World``: its rocks and the scores are replicated ON_CHANGE. Since everything is
  spawned, a peer that joins during the game sees exactly what the others see.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from multiplayer import (
    MultiplayerSpawner,
    MultiplayerSynchronizer,
    Node,
    ReplicationMode,
    SceneReplicationConfig,
    Vector2i,
    rpc,
)

WIDTH, HEIGHT = 15, 9
TICKS_TO_EXPLODE = 6
BLAST = 2
STUN_TICKS = 4
DIRECTIONS = (Vector2i(1, 0), Vector2i(-1, 0), Vector2i(0, 1), Vector2i(0, -1))
STARTS = [
    Vector2i(1, 1),
    Vector2i(13, 7),
    Vector2i(13, 1),
    Vector2i(1, 7),
    Vector2i(7, 1),
    Vector2i(7, 7),
    Vector2i(1, 4),
    Vector2i(13, 4),
]


def is_wall(cell: Vector2i) -> bool:
    if not (0 < cell.x < WIDTH - 1 and 0 < cell.y < HEIGHT - 1):
        return True
    return cell.x % 2 == 0 and cell.y % 2 == 0


def make_rocks(seed: int, count: int) -> list[Vector2i]:
    """Rocks on free cells, away from the start cells."""
    rng = random.Random(seed)
    free = [
        Vector2i(x, y)
        for x in range(WIDTH)
        for y in range(HEIGHT)
        if not is_wall(Vector2i(x, y)) and all(abs(x - s.x) + abs(y - s.y) > 1 for s in STARTS)
    ]
    return rng.sample(free, min(count, len(free)))


def config(*properties: tuple[str, bool, ReplicationMode]) -> SceneReplicationConfig:
    result = SceneReplicationConfig()
    for path, spawn, mode in properties:
        result.add_property(path)
        result.property_set_spawn(path, spawn)
        result.property_set_replication_mode(path, mode)
    return result


class Inputs(Node):
    """What the owning peer wants: sent to the server by its own synchronizer."""

    def __init__(self) -> None:
        super().__init__("Inputs")
        self.motion = Vector2i()
        self.bombing = False
        self.add_child(
            MultiplayerSynchronizer(
                "InputsSync",
                replication_config=config(
                    (".:motion", True, ReplicationMode.ALWAYS),
                    (".:bombing", True, ReplicationMode.ALWAYS),
                ),
            )
        )

    def _enter_tree(self) -> None:
        # The player's peer owns its input. Set it on entering the tree: that is
        # early enough on the peer that spawns the node and on those that receive it.
        parent = self.get_parent()
        if parent is not None and parent.name.isdigit():
            self.get_node("InputsSync").set_multiplayer_authority(int(parent.name))


class Player(Node):
    def __init__(self) -> None:
        super().__init__("Player")
        self.cell = Vector2i()
        self.label = ""
        self.stunned = 0
        self.cooldown = 0
        self.inputs = Inputs()
        self.add_child(self.inputs)
        self.add_child(
            MultiplayerSynchronizer(
                "StateSync",
                replication_config=config(
                    (".:cell", True, ReplicationMode.ALWAYS),
                    (".:label", True, ReplicationMode.NEVER),
                    (".:stunned", True, ReplicationMode.ON_CHANGE),
                ),
            )
        )

    def peer_id(self) -> int:
        return int(self.name)

    @rpc("call_local")
    def exploded(self, by: int) -> None:
        self.stunned = STUN_TICKS


class Bomb(Node):
    def __init__(self, cell: Vector2i, owner: int) -> None:
        super().__init__("Bomb")
        self.cell = cell
        self.owner = owner
        self.ticks = TICKS_TO_EXPLODE


class World(Node):
    """The level; its players and bombs come from its spawners."""

    def __init__(self, rocks: list[Vector2i]) -> None:
        super().__init__("World")
        self.rocks = list(rocks)
        self.scores: dict[int, int] = {}
        self.add_child(
            MultiplayerSynchronizer(
                "WorldSync",
                replication_config=config(
                    (".:rocks", True, ReplicationMode.ON_CHANGE),
                    (".:scores", True, ReplicationMode.ON_CHANGE),
                ),
            )
        )
        self.players = Node("Players")
        self.bombs = Node("Bombs")
        self.add_child(self.players)
        self.add_child(self.bombs)
        player_spawner = MultiplayerSpawner("PlayerSpawner", spawn_path="../Players")
        player_spawner.spawn_function = self._make_player
        bomb_spawner = MultiplayerSpawner("BombSpawner", spawn_path="../Bombs")
        bomb_spawner.spawn_function = lambda data: Bomb(Vector2i(data[0], data[1]), data[2])
        self.add_child(player_spawner)
        self.add_child(bomb_spawner)

    @staticmethod
    def _make_player(data: Any) -> Node:
        peer_id, x, y, label = data  # runs on every peer, so it checks what it gets
        player = Player()
        player.name = str(int(peer_id))
        player.cell = Vector2i(int(x), int(y))
        player.label = str(label)[:20]
        return player

    def player_nodes(self) -> list[Player]:
        return [p for p in self.players.get_children() if isinstance(p, Player)]

    def bomb_nodes(self) -> list[Bomb]:
        return [b for b in self.bombs.get_children() if isinstance(b, Bomb)]

    def blow_up(self, cell: Vector2i, by: int) -> None:
        """On the server; the change reaches every peer through WorldSync."""
        self.rocks = [rock for rock in self.rocks if rock != cell]
        self.scores = {**self.scores, by: self.scores.get(by, 0) + 1}

    def render(self) -> str:
        """The grid as text: # wall, % rock, * bomb, a letter per player."""
        marks = {b.cell: "*" for b in self.bomb_nodes()}
        for p in self.player_nodes():
            marks[p.cell] = p.label[:1].upper() if not p.stunned else p.label[:1].lower()
        rows = []
        for y in range(HEIGHT):
            row = ""
            for x in range(WIDTH):
                cell = Vector2i(x, y)
                row += "#" if is_wall(cell) else marks.get(cell, "%" if cell in self.rocks else ".")
            rows.append(row)
        return "\n".join(rows)

    def blocked(self, cell: Vector2i) -> bool:
        return is_wall(cell) or cell in self.rocks or any(b.cell == cell for b in self.bomb_nodes())


class Lobby(Node):
    """The gamestate singleton of the demo; the same node on every peer."""

    def __init__(self, name: str, say: Callable[[str], None], rocks: int = 12) -> None:
        super().__init__("Lobby")
        self.player_name = name
        self.say = say
        self.rock_count = rocks
        self.players: dict[int, str] = {}  # the others
        self.winner: str | None = None
        self.tick = 0
        spawner = MultiplayerSpawner("WorldSpawner", spawn_path="..")
        spawner.spawn_function = lambda rocks: World([Vector2i(x, y) for x, y in rocks])
        self.add_child(spawner)
        self.world_spawner = spawner

    @property
    def world(self) -> World | None:
        node = self.get_node_or_null("World")
        return node if isinstance(node, World) else None

    def _ready(self) -> None:
        api = self.multiplayer
        api.peer_connected.connect(self._player_connected)
        api.peer_disconnected.connect(self._player_disconnected)

    def _player_connected(self, peer_id: int) -> None:
        self.register_player.rpc_id(peer_id, self.player_name)

    def _player_disconnected(self, peer_id: int) -> None:
        name = self.players.pop(peer_id, str(peer_id))
        self.say(f"{name} left")
        world = self.world
        if self.multiplayer.is_server() and world is not None:
            gone = world.players.get_node_or_null(str(peer_id))
            if gone is not None:
                gone.queue_free()  # despawned on every peer

    @rpc("any_peer", "reliable")
    def register_player(self, name: str) -> None:
        self.players[self.multiplayer.get_remote_sender_id()] = name[:20]

    # The server runs the game.

    def begin_game(self, seed: int) -> None:
        """On the server: spawn the world, then a player for everyone."""
        rocks = make_rocks(seed, self.rock_count)
        world = self.world_spawner.spawn([(c.x, c.y) for c in rocks])
        assert isinstance(world, World)
        everyone = {1: self.player_name, **self.players}
        spawner = world.get_node("PlayerSpawner")
        assert isinstance(spawner, MultiplayerSpawner)
        for i, (peer_id, name) in enumerate(sorted(everyone.items())):
            start = STARTS[i % len(STARTS)]
            spawner.spawn([peer_id, start.x, start.y, name])
        self.announce.rpc(f"the game begins: {len(rocks)} rocks, {len(everyone)} players")

    @rpc("call_local", "reliable")
    def announce(self, text: str) -> None:
        self.say(text)

    def server_tick(self) -> None:
        """One step of the game, on the server: inputs, moves, bombs, the end."""
        world = self.world
        if world is None or self.winner is not None:
            return
        self.tick += 1
        for player in world.player_nodes():
            self._move(world, player)
        for bomb in world.bomb_nodes():
            bomb.ticks -= 1
            if bomb.ticks <= 0:
                self._explode(world, bomb)
        if not world.rocks:
            everyone = {1: self.player_name, **self.players}
            best = max(everyone, key=lambda p: (world.scores.get(p, 0), -p))
            self.game_over.rpc(everyone[best], world.scores.get(best, 0))

    def _move(self, world: World, player: Player) -> None:
        if player.stunned:
            player.stunned -= 1
            return
        player.cooldown = max(0, player.cooldown - 1)
        motion = player.inputs.motion
        if not isinstance(motion, Vector2i):
            return
        step = (
            Vector2i(max(-1, min(1, motion.x)), 0)
            if motion.x
            else Vector2i(0, max(-1, min(1, motion.y)))
        )  # sanitise: one cell, one axis (inputs come from players)
        target = player.cell + step
        if step != Vector2i() and not world.blocked(target):
            player.cell = target
        if player.inputs.bombing is True and player.cooldown == 0:
            player.cooldown = 3
            spawner = world.get_node("BombSpawner")
            assert isinstance(spawner, MultiplayerSpawner)
            spawner.spawn([player.cell.x, player.cell.y, player.peer_id()])

    def _explode(self, world: World, bomb: Bomb) -> None:
        hit_cells = [bomb.cell]
        for direction in DIRECTIONS:
            for distance in range(1, BLAST + 1):
                cell = bomb.cell + direction * distance
                if is_wall(cell):
                    break
                hit_cells.append(cell)
                if cell in world.rocks:
                    world.blow_up(cell, bomb.owner)
                    break
        for player in world.player_nodes():
            if player.cell in hit_cells:
                player.exploded.rpc(bomb.owner)
        bomb.queue_free()  # despawned on every peer

    @rpc("call_local", "reliable")
    def game_over(self, winner: str, score: int) -> None:
        self.winner = winner
        self.say(f"THE WINNER IS: {winner} ({score} rocks)")
