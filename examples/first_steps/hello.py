# examples/first_steps/hello.py: a server and a client in one program
"""The smallest whole program: a server, a client, one call each way, then it ends.

    python3 run.py python examples/first_steps/hello.py
"""

import asyncio

from multiplayer import Node, SceneTree, WebSocketMultiplayerPeer, rpc


class Greeter(Node):
    """The same node on both sides, at /root/Greeter."""

    def __init__(self) -> None:
        super().__init__("Greeter")

    @rpc("any_peer")  # any peer may call it (here: the client, on the server)
    def hello(self, name: str) -> None:
        sender = self.multiplayer.get_remote_sender_id()
        print(f"server: peer {sender} says hello: {name}")
        self.welcome.rpc_id(sender, f"welcome, {name}")

    @rpc  # only the authority (the server) may call it
    def welcome(self, text: str) -> None:
        print(f"client: {text}")
        self.get_tree().quit()  # the client's tree: its run() returns


async def main() -> None:
    server, client = SceneTree(), SceneTree()
    greeter = Greeter()
    server.root.add_child(Greeter())
    client.root.add_child(greeter)
    host = WebSocketMultiplayerPeer()
    await host.create_server(0, "127.0.0.1")  # port 0: any free port
    server.get_multiplayer().multiplayer_peer = host
    guest = WebSocketMultiplayerPeer()
    await guest.create_client(f"ws://127.0.0.1:{host.get_local_port()}")
    api = client.get_multiplayer()
    api.multiplayer_peer = guest
    api.connected_to_server.connect(lambda: greeter.hello.rpc_id(1, "Ada"))
    serving = asyncio.create_task(server.run())  # frames, 60 a second
    await client.run()  # until welcome() quits it
    server.quit()
    await serving
    guest.close()
    host.close()


asyncio.run(main())
