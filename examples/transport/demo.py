"""A server and two clients exchanging packets over WebSocket, in one process.

The server is peer 1; the clients get ids 2 and 3. Each client sends a few packets
to the server, which forwards every packet to the other clients (target ``-sender``:
everyone but the sender) and answers the sender alone. Everything is printed as it
happens; the demo ends by itself.

Run it with ``python examples/transport/demo.py``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer

ROUNDS = 3


def log(who: str, text: str) -> None:
    print(f"[{who:>8}] {text}", flush=True)


async def main() -> None:
    left: list[int] = []
    server = WebSocketMultiplayerPeer()
    server.peer_connected.connect(lambda i: log("server", f"peer {i} connected"))
    server.peer_disconnected.connect(lambda i: log("server", f"peer {i} disconnected"))
    server.peer_disconnected.connect(left.append)
    await server.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server.get_local_port()}"
    log("server", f"listening on {url}")

    clients = [WebSocketMultiplayerPeer() for _ in range(2)]
    peers = [server, *clients]
    try:
        await exchange(url, server, clients, left)
    finally:  # done, or Ctrl-C: the links end with a close frame
        for peer in peers:
            peer.close()
        for peer in peers:
            await peer.wait_closed()


async def exchange(
    url: str,
    server: WebSocketMultiplayerPeer,
    clients: list[WebSocketMultiplayerPeer],
    left: list[int],
) -> None:
    """The clients connect, send, and leave; the server forwards and answers."""
    for client in clients:
        await client.create_client(url)
    peers = [server, *clients]

    async def frame() -> None:
        for peer in peers:
            peer.poll()
        await asyncio.sleep(1 / 60)

    while any(c.get_connection_status() != ConnectionStatus.CONNECTED for c in clients):
        await frame()
    for client in clients:
        log(f"client {client.get_unique_id()}", f"connected; my id is {client.get_unique_id()}")

    received = {client.get_unique_id(): 0 for client in clients}
    expected = ROUNDS * 2  # per client: the server's replies plus the other's packets
    sent = 0
    while sum(received.values()) < expected * len(clients):
        if sent < ROUNDS:
            for client in clients:
                client.put_packet(f"hello #{sent + 1} from {client.get_unique_id()}".encode())
            sent += 1
        await frame()
        while server.get_available_packet_count():
            sender = server.get_packet_peer()
            text = server.get_packet().decode()
            log("server", f"from {sender}: {text!r}; forwarding to the others")
            server.set_target_peer(-sender)
            server.put_packet(f"{sender} says {text!r}".encode())
            server.set_target_peer(sender)
            server.put_packet(f"got your {text!r}".encode())
        for client in clients:
            while client.get_available_packet_count():
                received[client.get_unique_id()] += 1
                log(f"client {client.get_unique_id()}", client.get_packet().decode())

    for client in clients:
        client.close()
    while len(left) < len(clients):  # the server sees both leave
        await frame()
    log("demo", f"done: {sum(received.values())} packets delivered, none lost")


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
    asyncio.run(stoppable(main()))
