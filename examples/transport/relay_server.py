# examples/transport/relay_server.py: forwards every packet to everyone but its sender
"""A relay on the bare transport: every packet a client sends goes to all the others.

    python examples/transport/relay_server.py           # port 8080
    python examples/transport/relay_server.py 9000      # 0: any free port (printed)
"""

import argparse
import asyncio
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from multiplayer import WebSocketMultiplayerPeer


async def main(port: int) -> None:
    server = WebSocketMultiplayerPeer()
    server.peer_connected.connect(lambda id: print("joined:", id, flush=True))
    server.peer_disconnected.connect(lambda id: print("left:", id, flush=True))
    try:
        await server.create_server(port)
    except OSError as exc:  # the port is taken, say
        sys.exit(f"cannot listen on port {port}: {exc.strerror}")
    print("listening on port", server.get_local_port(), flush=True)
    try:
        while True:
            server.poll()  # signals fire here, as in Godot
            while server.get_available_packet_count():
                sender = server.get_packet_peer()
                data = server.get_packet()
                server.set_target_peer(-sender)  # everyone but the sender
                server.put_packet(data)
            await server.wait_for_activity(timeout=1 / 60)
    finally:  # Ctrl-C: the clients get a close frame (1001, going away)
        server.close()
        await server.wait_closed()


async def stoppable(program: Coroutine[Any, Any, None]) -> None:
    """Run ``program`` until it ends, or until Ctrl-C (SIGINT) or SIGTERM cancels it:
    then its ``finally`` blocks close the peers, so that the others get a close frame,
    and the program ends quietly (no traceback, exit status 0)."""
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    try:
        await program
    except asyncio.CancelledError:
        print("stopped", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="forward every packet to all other clients")
    parser.add_argument("port", type=int, nargs="?", default=8080, help="0: any free port")
    asyncio.run(stoppable(main(parser.parse_args().port)))
