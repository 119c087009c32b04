# examples/godot_interop/play.py: a Godot 4 player at a Python dice table, to watch
"""Play a round of dice: a Python server and Python bots, and a real Godot 4.6 client.

    python examples/godot_interop/play.py                  # ends by itself
    python examples/godot_interop/play.py --bots 3 --rounds 2 --screenshots shots/

The server is the dice game of examples/websocket_multiplayer, speaking Godot 4's own
protocol (``WebSocketMultiplayerPeer(protocol="godot")``); the Godot project in
``godot/`` joins it and draws the table. Here Godot runs as its web export in headless
Chromium (tools/webgodot: ``python3 run.py python -m tools.webgodot check`` says what
it needs), rolling by itself; the screenshots it takes show what a player sees. With a
desktop Godot, see README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples" / "websocket_multiplayer")]

import main as dice  # type: ignore[import-not-found]  # noqa: E402  (the dice example)
from game import Game  # type: ignore[import-not-found]  # noqa: E402

from multiplayer import SceneTree, WebSocketMultiplayerPeer  # noqa: E402
from tools.webgodot import Browser, unavailable_reason  # noqa: E402

PROJECT = HERE / "godot"


async def table(bots: int, rounds: int) -> tuple[SceneTree, Game, str]:
    """The Python side: the server (a bot plays the host) and ``bots`` clients, each in
    a branch of one tree, all in the godot profile; they wait for one more player."""
    tree = SceneTree()
    server_peer = WebSocketMultiplayerPeer(protocol="godot")
    server_peer.supported_protocols = [dice.PROTOCOL]
    await server_peer.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server_peer.get_local_port()}"
    host = Game("Python", rounds, dice.printer("server"), min_players=bots + 2)
    server = dice.add_branch(tree, "Server", server_peer, host)
    dice.make_bot(server, dice.quiet)
    server.start()
    for i in range(bots):
        peer = WebSocketMultiplayerPeer(protocol="godot")
        peer.supported_protocols = [dice.PROTOCOL]
        await peer.create_client(url)
        name = f"Bot{i + 2}"
        game = dice.add_branch(tree, name, peer, Game(name, rounds, dice.quiet))
        game.multiplayer.connected_to_server.connect(
            lambda g=game: g.set_player_name.rpc_id(1, g.player_name)
        )
        dice.make_bot(game, dice.quiet)
    return tree, server, url


async def play(bots: int, rounds: int, shots: Path | None) -> None:
    tree, server, url = await table(bots, rounds)
    running = asyncio.create_task(tree.run(fps=60))
    try:
        async with Browser() as browser, browser.godot(
            PROJECT, user_args=[f"--url={url}", "--name=Godot", "--bot"], gl=shots is not None
        ) as godot:
            print(f"server at {url}; {bots} Python bots and a Godot player join", flush=True)
            await godot.wait_for("GAME: connected as peer", timeout=20)
            await godot.wait_for(" rolled a ", timeout=30)
            if shots is not None:
                await save(godot, shots / "playing.png")
            over = await godot.wait_for("GAME: Game over", timeout=120)
            if shots is not None:
                await asyncio.sleep(0.3)  # a few frames, so the last state is drawn
                await save(godot, shots / "over.png")
            for line in godot.lines:
                if line.startswith("GAME: "):
                    print(f"   godot | {line[6:]}", flush=True)
            if godot.errors():
                sys.exit("Godot reported errors:\n" + "\n".join(godot.errors()))
            print(f"Godot saw: {over[6:]}", flush=True)
    finally:
        tree.quit()
        await running
        for branch in tree.root.get_children():
            peer = tree.get_multiplayer(branch.get_path()).multiplayer_peer
            if peer is not None:
                peer.close()
                await peer.wait_closed()  # (its closing handshakes end before the loop does)
    if not server.finished:
        sys.exit("the server's game did not finish")


async def save(godot: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(await godot.screenshot())  # type: ignore[attr-defined]
    print(f"saved {path}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bots", type=int, default=2, help="Python bots at the table")
    parser.add_argument("--rounds", type=int, default=2, help="rounds before the game ends")
    parser.add_argument(
        "--screenshots", type=Path, metavar="DIR", help="render, and save PNGs of the game here"
    )
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason is not None:
        sys.exit(f"cannot run Godot here: {reason}")
    asyncio.run(play(args.bots, args.rounds, args.screenshots))


if __name__ == "__main__":
    main()
