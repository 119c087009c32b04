# examples/auth/auth.py: admit only clients with a valid token, checked asynchronously
"""Authentication with a token, checked by an ``async def`` auth callback.

A server and two clients in one process: Ann knows the token, Eve guesses. The
server looks the token up (here an ``await`` stands in for a database query) and
completes authentication only for a valid one. Eve is never admitted: she gets
``peer_authentication_failed`` when the server drops her, and the other peers never
hear of her.

    python examples/auth/auth.py
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

from multiplayer import ConnectionStatus, SceneMultiplayer, WebSocketMultiplayerPeer

TOKENS = {"s3cret-token-of-ann": "Ann"}  # stands in for a user database


def log(who: str, text: str) -> None:
    print(f"{who:>6} | {text}", flush=True)


def make_server(api: SceneMultiplayer) -> None:
    async def check_token(peer_id: int, data: bytes) -> None:
        await asyncio.sleep(0.01)  # a database query would go here
        if peer_id not in api.get_authenticating_peers():
            return  # it left, or timed out, while we were checking
        user = TOKENS.get(data.decode(errors="replace"))
        if user is None:
            log("server", f"peer {peer_id} sent a wrong token: disconnecting it")
            api.disconnect_peer(peer_id)
            return
        log("server", f"peer {peer_id} is {user}: welcome")
        api.complete_auth(peer_id)

    api.auth_callback = check_token
    api.auth_timeout = 2.0
    api.peer_authenticating.connect(lambda i: log("server", f"peer {i} must authenticate"))
    api.peer_connected.connect(lambda i: log("server", f"peer {i} admitted"))
    api.peer_authentication_failed.connect(lambda i: log("server", f"peer {i} failed"))


def make_client(api: SceneMultiplayer, name: str, token: str) -> None:
    def send_token(peer_id: int) -> None:
        api.send_auth(peer_id, token.encode())
        api.complete_auth(peer_id)  # the client has nothing to check about the server

    api.auth_callback = lambda peer_id, data: None
    api.peer_authenticating.connect(send_token)
    api.connected_to_server.connect(lambda: log(name, "admitted by the server"))
    api.peer_authentication_failed.connect(lambda i: log(name, "not admitted"))
    api.peer_connected.connect(lambda i: log(name, f"knows peer {i}"))


async def main() -> None:
    peers: list[WebSocketMultiplayerPeer] = []
    try:
        await admit(peers)
    finally:  # done, or Ctrl-C: the links end with a close frame
        for peer in peers:
            peer.close()
            await peer.wait_closed()


async def admit(peers: list[WebSocketMultiplayerPeer]) -> None:
    """Ann and Eve try; each peer made goes into ``peers``, for main to close."""
    server_peer = WebSocketMultiplayerPeer()
    peers.append(server_peer)
    await server_peer.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server_peer.get_local_port()}"
    server = SceneMultiplayer(server_peer)
    make_server(server)
    clients: dict[str, SceneMultiplayer] = {}
    for name, token in (("Ann", "s3cret-token-of-ann"), ("Eve", "guess")):
        peer = WebSocketMultiplayerPeer()
        await peer.create_client(url)
        peers.append(peer)
        clients[name] = SceneMultiplayer(peer)
        make_client(clients[name], name, token)
    apis = [server, *clients.values()]

    def settled() -> bool:
        eve = clients["Eve"].multiplayer_peer
        eve_gone = eve is None or eve.get_connection_status() == ConnectionStatus.DISCONNECTED
        return server.get_peers() == [2] and not server.get_authenticating_peers() and eve_gone

    async with asyncio.timeout(10):
        while not settled():
            for api in apis:
                api.poll()
            await asyncio.sleep(0.01)
    log("server", f"admitted peers: {server.get_peers()}")


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
