# examples/plain_loop/main.py: host, join, or run a whole race, with plain game loops
"""Race to 10 clicks, written as a plain game loop: no asyncio anywhere.

    python examples/plain_loop/main.py                       # a server and 2 bots, 3 processes
    python examples/plain_loop/main.py --host --port 9090 --players 2
    python examples/plain_loop/main.py --join ws://localhost:9090 --name Ann
    python examples/plain_loop/main.py --join ws://localhost:9090 --bot

Each program runs its frames itself: ``tree.process(delta)``, then a sleep until the
next frame (or a pygame clock). SyncWebSocketMultiplayerPeer's ``create_server`` and
``create_client`` return at once, as Godot's do; its network runs on a thread of its
own, and every signal and RPC runs here, inside ``tree.process()``. A player who
joins gets a pygame window if pygame is installed and there is a display (click, or
press space, as fast as you can); otherwise, or with ``--bot``, a bot clicks.

Ctrl-C (SIGINT) and SIGTERM stop a program between two frames: it closes its peer,
so that the others see it leave with a close frame, and exits with status 130 after
Ctrl-C (the shell's custom), 0 after SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

from game import GOAL, Race  # type: ignore[import-not-found]

from multiplayer import Node, SceneTree, SyncWebSocketMultiplayerPeer

FPS = 60
CLOSE_WAIT = 2.0  # seconds a stopping program waits for its closing handshakes
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop:
    """Whether Ctrl-C (SIGINT) or SIGTERM asked the program to stop.

    The handler only takes note: Python runs it between two bytecodes of the main
    thread, possibly in the middle of a call of the peer, where closing it could
    only be queued and waiting for the close would fail. The game loop looks at it
    every frame, and stops in a good place."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def watch(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum

    def __bool__(self) -> bool:
        return self.signal is not None

    def exit_status(self) -> int:
        return 130 if self.signal == signal.SIGINT else 0


stop = Stop()


def printer(prefix: str) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"{prefix:>7} | {message}", flush=True)

    return say


def run_frames(tree: SceneTree, done: Callable[[], bool]) -> None:
    """The game loop: one frame, then sleep until the next is due; until ``done()``,
    or a stop signal."""
    period = 1 / FPS
    last = time.monotonic()
    while not done() and not stop:
        now = time.monotonic()
        tree.process(now - last)  # polls the network: signals and RPCs run here
        last = now
        time.sleep(max(0.0, now + period - time.monotonic()))


# Hosting.


def host(port: int, players: int) -> int:
    peer = SyncWebSocketMultiplayerPeer()
    try:
        peer.create_server(port)  # returns at once; raises if the port is taken
    except OSError as exc:
        print(f"cannot listen on port {port}: {exc}", file=sys.stderr)
        return 1
    print(f"listening on port {peer.get_local_port()}", flush=True)
    tree = SceneTree()
    tree.get_multiplayer().multiplayer_peer = peer
    race = Race(players, printer("server"))
    tree.root.add_child(race)
    race.start_server()
    run_frames(tree, lambda: race.over)
    return leave(peer)


def leave(peer: SyncWebSocketMultiplayerPeer) -> int:
    """Close the peer and let the close frames go out; the exit status, if a stop
    signal ended the game, else 0."""
    peer.close()
    peer.block_until_closed(CLOSE_WAIT)
    if stop:
        print("stopped", flush=True)
        return stop.exit_status()
    return 0


# Joining.


class Bot(Node):
    """Clicks every few frames once the race is on."""

    def __init__(self, race: Race) -> None:
        super().__init__("Bot")
        self.race = race
        self.wait = 0.0

    def _process(self, delta: float) -> None:
        if not self.race.started or self.race.winner:
            return
        self.wait -= delta
        if self.wait <= 0:
            self.wait = random.uniform(0.01, 0.08)
            self.race.click.rpc_id(1)


def join(url: str, name: str, window: bool) -> int:
    peer = SyncWebSocketMultiplayerPeer()
    peer.create_client(url)  # returns at once; the connection is made in the background
    tree = SceneTree()
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    race = Race(0, printer(name))
    tree.root.add_child(race)
    lost: list[str] = []
    api.connected_to_server.connect(lambda: race.join_race.rpc_id(1, name))
    api.connection_failed.connect(lambda: lost.append(f"cannot join: {peer.connection_error}"))
    api.server_disconnected.connect(lambda: lost.append("the server left"))
    if window:
        play_in_window(tree, race, lambda: bool(lost))
    else:
        tree.root.add_child(Bot(race))
        run_frames(tree, lambda: race.over or bool(lost))
    status = leave(peer)
    if lost and not race.winner and not stop:
        print(lost[0], file=sys.stderr)
        return 1
    return status


def play_in_window(tree: SceneTree, race: Race, lost: Callable[[], bool]) -> None:
    """The same loop with pygame: its clock paces the frames, a click or space clicks."""
    import pygame

    pygame.init()
    screen = pygame.display.set_mode((480, 240))
    pygame.display.set_caption("Race to 10 clicks")
    font = pygame.font.Font(None, 32)
    clock = pygame.time.Clock()
    running = True
    while running and not lost() and not stop:
        delta = clock.tick(FPS) / 1000
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (race.winner and event.type == pygame.KEYDOWN):
                running = False
            elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.KEYDOWN) and race.started:
                race.click.rpc_id(1)
        tree.process(delta)
        draw(screen, font, race)
    pygame.quit()


def draw(screen: object, font: object, race: Race) -> None:
    import pygame

    assert isinstance(screen, pygame.Surface) and isinstance(font, pygame.font.Font)
    screen.fill((20, 20, 30))
    if race.winner:
        status = f"{race.winner} wins! (any key)"
    else:
        status = "go!" if race.started else "..."
    screen.blit(font.render(status, True, (240, 240, 240)), (16, 12))
    for row, (peer_id, name) in enumerate(race.names.items()):
        y = 56 + row * 40
        width = 300 * race.scores.get(peer_id, 0) // GOAL
        screen.blit(font.render(name, True, (200, 200, 200)), (16, y))
        pygame.draw.rect(screen, (90, 200, 120), (150, y, max(width, 2), 24))
    pygame.display.flip()


def has_window() -> bool:
    """Whether a pygame window can be shown: pygame is installed and there is a display."""
    try:
        import pygame  # noqa: F401
    except ImportError:
        return False
    return sys.platform in ("win32", "darwin") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


# The whole race: a server process and two bot processes.


def all_in_one(players: int) -> int:
    me = [sys.executable, os.path.abspath(__file__)]
    # The processes start with the stop signals ignored, until they watch for them
    # (a signal passed on while one starts up is dropped: the race ends by itself).
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    server = subprocess.Popen(
        [*me, "--host", "--port", "0", "--players", str(players)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    port = server.stdout.readline().split()[-1]  # "listening on port N"
    bots = [
        subprocess.Popen([*me, "--join", f"ws://127.0.0.1:{port}", "--bot", "--name", f"Bot{n}"])
        for n in range(1, players + 1)
    ]

    def pass_on(signum: int, frame: FrameType | None) -> None:
        stop.signal = signum  # (Ctrl-C reaches them too, as one process group)
        for process in (server, *bots):
            process.send_signal(signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, pass_on)
    with server.stdout:
        for line in server.stdout:  # the server's lines, until it ends
            print(line, end="", flush=True)
    codes = [server.wait(), *(bot.wait() for bot in bots)]
    if stop:
        print("stopped", flush=True)
        return stop.exit_status()
    print("race over" if not any(codes) else f"exit codes: {codes}", flush=True)
    return max(codes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--host", action="store_true", help="be the server")
    mode.add_argument("--join", metavar="URL", help="join the server at URL")
    parser.add_argument("--port", type=int, default=9090, help="--host: 0 picks a free one")
    parser.add_argument("--players", type=int, default=2, help="players the race waits for")
    parser.add_argument("--name", default="", help="--join: your name")
    parser.add_argument("--bot", action="store_true", help="--join: a bot clicks for you")
    options = parser.parse_args()
    if options.host or options.join:
        stop.watch()
    if options.host:
        return host(options.port, options.players)
    if options.join:
        name = options.name or f"Player{os.getpid() % 1000}"
        return join(options.join, name, window=not options.bot and has_window())
    return all_in_one(options.players)


if __name__ == "__main__":
    sys.exit(main())
