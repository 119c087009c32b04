"""A client in a process of its own, for tests/faults/test_kill.py to kill.

    python tests/faults/procs/client.py URL [SETTING=VALUE ...]

It joins the server at URL with the peer settings given (``reconnect_grace=1.0``,
``heartbeat_interval=0.5``, ...), prints ``ready ID`` once the server gave it its
id, then puts numbered reliable packets for the server (``b"0"``, ``b"1"``, ...), a
few each pass of its loop, until it is killed.
"""

from __future__ import annotations

import asyncio
import sys

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer


async def main(url: str, settings: list[str]) -> None:
    peer = WebSocketMultiplayerPeer()
    for setting in settings:
        name, _, value = setting.partition("=")
        setattr(peer, name, float(value))
    await peer.create_client(url)
    while peer.get_connection_status() is not ConnectionStatus.CONNECTED:
        peer.poll()
        if peer.get_connection_status() is ConnectionStatus.DISCONNECTED:
            sys.exit(f"could not connect: {peer.connection_error}")
        await asyncio.sleep(0.005)
    print("ready", peer.get_unique_id(), flush=True)
    peer.set_target_peer(1)
    sent = 0
    while True:
        peer.poll()
        for _ in range(5):
            peer.put_packet(b"%d" % sent)
            sent += 1
        await asyncio.sleep(0.002)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
