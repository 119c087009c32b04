"""The examples run as a user runs them: as subprocesses."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer

ROOT = Path(__file__).resolve().parent.parent


def test_transport_demo_runs_to_the_end() -> None:
    """examples/transport/demo.py exchanges its packets and exits by itself."""
    result = subprocess.run(
        [sys.executable, "examples/transport/demo.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
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
