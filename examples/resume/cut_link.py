# examples/resume/cut_link.py: the link is cut in the middle of a conversation, and nothing is lost
"""A client counts to 60 on the server, one call a frame; at 20 the network cuts the
link (a FaultProxy stands between them, as a phone changing networks would). The
client comes back by itself, keeps its id, and the server hears every number once,
in order. Then the program ends.

    python3 run.py python examples/resume/cut_link.py
"""

import asyncio

from multiplayer import Node, SceneTree, WebSocketMultiplayerPeer, rpc
from multiplayer.testing import FaultProxy

COUNT = 60


class Counter(Node):
    """The same node on both sides, at /root/Counter."""

    def __init__(self) -> None:
        super().__init__("Counter")
        self.heard: list[int] = []
        self.said = 0

    @rpc("any_peer")
    def hear(self, number: int) -> None:
        self.heard.append(number)
        if number == COUNT - 1:
            in_order = self.heard == list(range(COUNT))
            print(f"server: heard {len(self.heard)} numbers, each once and in order: {in_order}")
            self.done.rpc_id(self.multiplayer.get_remote_sender_id())

    @rpc
    def done(self) -> None:
        self.get_tree().quit()

    def _process(self, delta: float) -> None:
        api = self.multiplayer
        if api.is_server() or self.said == COUNT or not api.get_peers():
            return
        self.hear.rpc_id(1, self.said)  # (while reconnecting, the call waits its turn)
        self.said += 1


def show(api_signal_names: dict[str, str], api: object) -> None:
    for name, text in api_signal_names.items():
        getattr(api, name).connect(lambda *args, text=text: print(text.format(*args)))


async def main() -> None:
    server, client = SceneTree(), SceneTree()
    server.root.add_child(Counter())
    counter = Counter()
    client.root.add_child(counter)
    host = WebSocketMultiplayerPeer()
    host.reconnect_grace = 10.0  # seconds a dropped client is kept (default 30)
    await host.create_server(0, "127.0.0.1")
    server.get_multiplayer().multiplayer_peer = host
    show(
        {
            "peer_connected": "server: peer {} joined",
            "peer_dropped": "server: peer {} dropped; keeping its session",
            "peer_resumed": "server: peer {} is back",
            "peer_disconnected": "server: peer {} left",
        },
        server.get_multiplayer(),
    )
    async with FaultProxy(host.get_local_port()) as network:
        guest = WebSocketMultiplayerPeer()
        await guest.create_client(network.url)
        api = client.get_multiplayer()
        api.multiplayer_peer = guest
        show(
            {
                "connection_lost": "client: connection lost; reconnecting",
                "reconnected": "client: reconnected",
                "server_disconnected": "client: gave up",
            },
            api,
        )
        serving = asyncio.create_task(server.run())
        playing = asyncio.create_task(client.run())  # until done() quits it
        while counter.said < 20:
            await asyncio.sleep(0.01)
        print(f"network: cutting the link after {counter.said} numbers")
        network.cut()
        await playing
        print(f"client: still peer {guest.get_unique_id()}")
        server.quit()
        await serving
        guest.close()
    host.close()


asyncio.run(main())
