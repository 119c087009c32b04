"""examples/websocket_multiplayer, the dice game, in one process as its all-in-one
mode runs it (main.add_host, main.add_bot), with one bot's link through a FaultProxy:
the link breaks in the middle of the game, on that bot's turn, and the game goes on
and ends with every player, the same on every peer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from multiplayer import SceneTree, WebSocketMultiplayerPeer
from multiplayer.testing import FaultProxy
from tests.faults.pair import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 4


def load_main() -> ModuleType:
    """examples/websocket_multiplayer/main.py, which imports its neighbour game.py as
    ``game`` (that name is not left in sys.modules: other examples have a game.py)."""
    folder = ROOT / "examples" / "websocket_multiplayer"
    spec = importlib.util.spec_from_file_location("dice_main", folder / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.pop("game", None)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
        del sys.modules["game"]
        if saved is not None:
            sys.modules["game"] = saved
    return module


dice = load_main()


def fast(peer: WebSocketMultiplayerPeer) -> WebSocketMultiplayerPeer:
    """``peer`` with the fault scenarios' short keepalive and grace."""
    for name, value in SETTINGS.items():
        setattr(peer, name, value)
    return peer


def turns(lines: list[str]) -> list[str]:
    return [line for line in lines if " rolled a " in line or line.endswith(" passed")]


def game_over(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("Game over:")]


def both_saw_the_drop(shown: dict[str, list[str]]) -> bool:
    return (
        "Bob lost the connection; waiting for them" in shown["server"]
        and "connection lost, reconnecting..." in shown["Bob"]
    )


@pytest.mark.parametrize("fault", ["cut", "blackhole"])
async def test_the_game_ends_with_every_player_across_a_broken_link(fault: str) -> None:
    """Bob's link is cut (or silenced past the keepalive, then back) when his turn
    comes: the server says he lost the connection, then that he is back, and Bob
    says he reconnects; every turn reaches every peer once and in order (a move
    replayed twice would be refused as a cheat), and the game ends with all three
    players, the same scores everywhere, nobody gone."""
    tree = SceneTree()
    server_peer = fast(dice.demo_peer())
    await server_peer.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server_peer.get_local_port()}"
    proxy = FaultProxy(server_peer.get_local_port())
    await proxy.start()
    try:
        host = dice.add_host(tree, server_peer, ROUNDS, 3)
        bob = await dice.add_bot(tree, "Bob", fast(dice.demo_peer()), proxy.url)
        cy = await dice.add_bot(tree, "Cy", fast(dice.demo_peer()), url)
        games = {"server": host, "Bob": bob, "Cy": cy}
        shown: dict[str, list[str]] = {name: [] for name in games}
        for name, game in games.items():
            game.say = shown[name].append

        def bobs_turn() -> bool:
            bob_id = bob.multiplayer.get_unique_id()
            return host.turns_played >= 3 and host.players[host.turn] == bob_id

        await dice.run_until(tree, bobs_turn, 20)
        bob_id = bob.multiplayer.get_unique_id()
        if fault == "cut":
            proxy.cut()
        else:
            proxy.blackhole()  # (until both keepalives notice: 0.2 + 0.3 s)
            await dice.run_until(tree, lambda: both_saw_the_drop(shown), 5)
            proxy.restore()
        await dice.run_until(tree, lambda: all(g.finished for g in games.values()), 20)
        assert bob.multiplayer.get_unique_id() == bob_id  # (the same player, back)
        everyone = [bob_id, cy.multiplayer.get_unique_id()]
        assert sorted(host.multiplayer.get_peers()) == sorted(everyone)  # (nobody left)
    finally:
        for branch in tree.root.get_children():
            peer = tree.get_multiplayer(branch.get_path()).multiplayer_peer
            assert peer is not None
            peer.close()
            await peer.wait_closed()
        await proxy.close()

    assert shown["server"].count("Bob lost the connection; waiting for them") == 1
    assert shown["server"].count("Bob is back") == 1
    assert shown["Bob"].count("connection lost, reconnecting...") == 1
    assert shown["Bob"].count("reconnected") == 1
    played, over = turns(shown["server"]), game_over(shown["server"])
    assert len(played) == ROUNDS * 3
    assert len(over) == 1
    for name, lines in shown.items():
        assert turns(lines) == played, name
        assert game_over(lines) == over, name
        assert not [line for line in lines if " left" in line or "cheat" in line], name
    for game in (bob, cy):
        assert game.players == host.players
        assert game.names == host.names
        assert game.scores == host.scores
    assert sorted(host.names.values()) == ["Bob", "Cy", "Host"]
