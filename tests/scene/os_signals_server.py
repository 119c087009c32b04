"""A server for test_os_signals.py: it prints its port, runs its tree until a signal
ends it, and prints "run() returned" before exiting normally."""

from __future__ import annotations

import asyncio
import sys

from multiplayer import SceneTree, WebSocketMultiplayerPeer


async def main() -> None:
    tree = SceneTree()
    peer = WebSocketMultiplayerPeer()
    await peer.create_server(0, "127.0.0.1")
    tree.get_multiplayer().multiplayer_peer = peer
    print(peer.get_local_port(), flush=True)
    await tree.run()
    print("run() returned", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
