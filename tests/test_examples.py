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


# examples/websocket_minimal: the two programs of Godot's "Using WebSockets" page.


async def start_minimal_server(*args: str) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    """The minimal server on a free port: the process, its port, the lines so far."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "examples/websocket_minimal/server.py",
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Listening on port"):
        line = await asyncio.wait_for(server.stdout.readline(), 30)
        assert line, "the server ended before listening"
        lines.append(line.decode().rstrip("\n"))
    return server, int(lines[-1].split()[-1]), lines


async def run_minimal_client(*args: str) -> tuple[int, list[str], str]:
    """Run the minimal client to its end: exit code, output lines, stderr."""
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        "examples/websocket_minimal/client.py",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(client.communicate(), 60)
    assert client.returncode is not None
    return client.returncode, out.decode().splitlines(), err.decode()


async def finish(server: asyncio.subprocess.Process, lines: list[str]) -> list[str]:
    """Wait for the server to end by itself; all its output lines."""
    try:
        out, err = await asyncio.wait_for(server.communicate(), 30)
    finally:
        if server.returncode is None:
            server.terminate()
            await server.wait()
    assert server.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    return lines + out.decode().splitlines()


async def test_minimal_server_and_client_echo_and_close_cleanly() -> None:
    """The client's text comes back as text and its bytes as bytes; its close code
    and reason reach the server, which then stops (--peers 1)."""
    server, port, lines = await start_minimal_server("--peers", "1")
    code, out, err = await run_minimal_client(
        f"ws://127.0.0.1:{port}", "--delay", "0", "--binary", "--close", "4000", "--reason", "done"
    )
    assert code == 0, err
    assert out[0] == f"Connecting to ws://127.0.0.1:{port}..."
    assert "< Got text data from server: Test packet" in out
    assert "< Got binary data from server: 8 bytes" in out
    assert out[-1] == "WebSocket closed with code: 4000. Clean: True"
    lines = await finish(server, lines)
    assert lines[0] == "Server started."
    assert lines[2:] == [
        "+ Peer 2 connected.",
        "< Got text data from peer 2: Test packet ... echoing",
        "< Got binary data from peer 2: 8 ... echoing",
        "- Peer 2 closed with code: 4000, reason done. Clean: True",
    ]


async def test_minimal_client_that_drops_is_seen_as_not_clean() -> None:
    """--drop vanishes without a close frame: both sides report code -1."""
    server, port, lines = await start_minimal_server("--peers", "1")
    code, out, err = await run_minimal_client(
        f"ws://127.0.0.1:{port}", "--delay", "0", "--text", "bye", "--drop"
    )
    assert code == 0, err
    assert out[-1] == "WebSocket closed with code: -1. Clean: False"
    lines = await finish(server, lines)
    assert "< Got text data from peer 2: bye ... echoing" in lines
    assert lines[-1] == "- Peer 2 closed with code: -1, reason . Clean: False"


async def test_minimal_client_against_a_websockets_echo_server() -> None:
    """The client works with any RFC 6455 server: here a plain websockets echo."""
    from websockets.asyncio.server import ServerConnection, serve

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0) as echo_server:
        port = next(iter(echo_server.sockets)).getsockname()[1]
        code, out, err = await run_minimal_client(
            f"ws://127.0.0.1:{port}", "--delay", "0.1", "--binary", "--close", "1000"
        )
    assert code == 0, err
    assert "< Got text data from server: Test packet" in out
    assert "< Got binary data from server: 8 bytes" in out
    assert out[-1] == "WebSocket closed with code: 1000. Clean: True"


async def test_minimal_server_and_client_over_wss(tmp_path: Path) -> None:
    """--key/--cert make the server wss:// (StreamPeerTLS); --ca makes the client
    trust it."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    server, port, lines = await start_minimal_server(
        "--peers", "1", "--key", str(tmp_path / "key.pem"), "--cert", str(tmp_path / "cert.pem")
    )
    ca_file = str(tmp_path / "ca.pem")
    code, out, err = await run_minimal_client(
        f"wss://localhost:{port}", "--ca", ca_file, "--delay", "0", "--close", "1000"
    )
    assert code == 0, err
    assert "< Got text data from server: Test packet" in out
    assert out[-1] == "WebSocket closed with code: 1000. Clean: True"
    lines = await finish(server, lines)
    assert lines[-1] == "- Peer 2 closed with code: 1000, reason . Clean: True"
