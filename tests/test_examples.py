"""The examples run as a user runs them: as subprocesses."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer

ROOT = Path(__file__).resolve().parent.parent


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=90
    )


def test_dice_game_all_in_one_plays_to_the_end() -> None:
    """The flagship example: a server and bots play every round and the game ends."""
    result = run_example("examples/websocket_multiplayer/main.py", "--bots", "3", "--rounds", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("Bot2", "Bot3", "Bot4"):
        assert f"{name} joined" in out
    turns = [line for line in out.splitlines() if "rolled a" in line or " passed" in line]
    assert len(turns) == 2 * 4  # two rounds of four players, nothing lost
    assert "Game over:" in out
    assert "Someone is trying to cheat" not in out
    assert "Traceback" not in result.stderr


def test_readme_main_job() -> None:
    """The README's main-job command, `python3 run.py demo`, plays a game to its end."""
    result = subprocess.run(
        [sys.executable, "run.py", "demo", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Game over:" in result.stdout


def test_dice_game_refuses_a_cheater() -> None:
    """The server's check stops a bot that acts out of turn."""
    result = run_example(
        "examples/websocket_multiplayer/main.py", "--bots", "2", "--rounds", "2", "--cheat"
    )
    assert result.returncode == 0, result.stderr
    assert "Someone is trying to cheat! (Cheater)" in result.stdout
    assert "Game over:" in result.stdout


async def test_dice_game_host_and_join_as_separate_processes() -> None:
    """--host and --join run as separate programs and finish the game together."""
    host = await asyncio.create_subprocess_exec(
        sys.executable,
        "examples/websocket_multiplayer/main.py",
        "--host",
        "--port",
        "0",
        "--bot",
        "--rounds",
        "2",
        "--name",
        "Alice",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert host.stdout is not None
    try:
        line = await asyncio.wait_for(host.stdout.readline(), 30)
        port = line.split()[-1].decode()
        joiner = await asyncio.create_subprocess_exec(
            sys.executable,
            "examples/websocket_multiplayer/main.py",
            "--join",
            f"ws://127.0.0.1:{port}",
            "--bot",
            "--name",
            "Bob",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(joiner.communicate(), 60)
        assert joiner.returncode == 0
        assert b"Game over:" in out
        assert b"Bob joined" in out
        assert await asyncio.wait_for(host.wait(), 30) == 0
    finally:
        if host.returncode is None:
            host.terminate()
            await host.wait()


def test_chat_demo() -> None:
    """The chat demo: names, broadcast, a whisper only its target reads, join/leave notices."""
    result = run_example("examples/websocket_chat/chat.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert "    Cy | Ann: hello everyone" in out
    assert "    Cy | (whisper) Ann: psst, Cy: only you can read this" in out
    assert not any("whisper" in line for line in out if line.startswith("server"))
    assert any(line.startswith("    Cy | the server rolled ") for line in out)
    assert any(line.startswith("    Cy | ping Ann: ") and line.endswith(" ms") for line in out)
    assert "    Cy | [server] the server closes in a moment" in out
    assert "    Cy | * Bob left" in out
    assert "chat demo done" in out


def test_auth_example_admits_the_right_token_only() -> None:
    """examples/auth: Ann's token is checked (async) and admitted; Eve is refused."""
    result = run_example("examples/auth/auth.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert "server | peer 2 is Ann: welcome" in out
    assert "   Ann | admitted by the server" in out
    assert "server | peer 3 sent a wrong token: disconnecting it" in out
    assert "   Eve | not admitted" in out
    assert "server | admitted peers: [2]" in out
    assert not any("Eve" in line and "knows peer" in line for line in out)


def test_bomber_plays_to_the_end_and_a_late_joiner_sees_the_same() -> None:
    """examples/multiplayer_bomber: the host and 4 bots play until no rock is left; the end
    reaches every peer; a watcher that joined mid-game sees the server's exact grid."""
    result = run_example("examples/multiplayer_bomber/main.py", "--fast", "--late", "--bots", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "the game begins: 12 rocks, 5 players" in out
    assert "  server | THE WINNER IS:" in out
    assert " watcher | THE WINNER IS:" in out
    assert "the late watcher sees the same grid as the server: True" in out
    assert "game over on 6 of 6 peers" in out
    assert "refused" not in result.stderr  # nothing out of place on the wire


def test_transport_demo_runs_to_the_end() -> None:
    """examples/transport/demo.py exchanges its packets and exits by itself."""
    result = run_example("examples/transport/demo.py")
    assert result.returncode == 0, result.stderr
    assert "peer 2 connected" in result.stdout
    assert "3 says 'hello #3 from 3'" in result.stdout
    assert "done: 12 packets delivered, none lost" in result.stdout


async def test_relay_server_forwards_between_clients() -> None:
    """examples/transport/relay_server.py forwards a client's packet to the others."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "examples/transport/relay_server.py",
        "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        line = await asyncio.wait_for(server.stdout.readline(), 30)
        port = int(line.split()[-1])
        a, b = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer()
        for client in (a, b):
            await client.create_client(f"ws://127.0.0.1:{port}")
        async with asyncio.timeout(30):
            while not all(c.get_connection_status() == ConnectionStatus.CONNECTED for c in (a, b)):
                a.poll()
                b.poll()
                await asyncio.sleep(0.01)
            a.put_packet(b"ping")
            while not b.get_available_packet_count():
                b.poll()
                await asyncio.sleep(0.01)
        assert b.get_packet_peer() == 1
        assert b.get_packet() == b"ping"
        for client in (a, b):
            client.close()
            await client.wait_closed()
    finally:
        server.terminate()
        await server.wait()
