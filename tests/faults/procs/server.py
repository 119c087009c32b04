"""A server in a process of its own, for tests/faults/test_kill.py to kill.

    python tests/faults/procs/server.py PORT [SETTING=VALUE ...]

It listens on 127.0.0.1:PORT (0: a free one) with the peer settings given
(``reconnect_grace=1.0``, ...) and prints ``listening PORT``; then, every frame, it
calls ``Counter.count(n)`` on each client, n = 0, 1, 2, ... for each, until it is
killed. With PORT ``-`` it prints ``ready`` and reads the port from stdin first: a
spare, started ahead, that takes a killed server's port at once.
"""

from __future__ import annotations

import asyncio
import sys

from multiplayer import Node, SceneTree, WebSocketMultiplayerPeer, rpc

FRAME = 0.005


class Counter(Node):
    """At /root/Counter on the server and on each client: the server counts to each
    client, which notes what it hears."""

    def __init__(self) -> None:
        super().__init__("Counter")
        self.heard: list[int] = []

    @rpc  # (authority: the server's calls only)
    def count(self, n: int) -> None:
        self.heard.append(n)


async def serve(port: int, settings: list[str]) -> None:
    tree = SceneTree()
    counter = Counter()
    tree.root.add_child(counter)
    peer = WebSocketMultiplayerPeer()
    for setting in settings:
        name, _, value = setting.partition("=")
        setattr(peer, name, float(value))
    await peer.create_server(port, "127.0.0.1")
    api = tree.get_multiplayer()
    api.multiplayer_peer = peer
    print("listening", peer.get_local_port(), flush=True)
    said: dict[int, int] = {}
    while True:
        for peer_id in api.get_peers():
            n = said.get(peer_id, 0)
            counter.count.rpc_id(peer_id, n)
            said[peer_id] = n + 1
        tree.process(FRAME)
        await asyncio.sleep(FRAME)


if __name__ == "__main__":
    port = sys.argv[1]
    if port == "-":
        print("ready", flush=True)
        port = sys.stdin.readline()
    asyncio.run(serve(int(port), sys.argv[2:]))
