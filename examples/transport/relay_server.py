# examples/transport/relay_server.py: forwards every packet to everyone but its sender
import asyncio
import sys

from multiplayer import WebSocketMultiplayerPeer


async def main(port: int) -> None:
    server = WebSocketMultiplayerPeer()
    server.peer_connected.connect(lambda id: print("joined:", id))
    server.peer_disconnected.connect(lambda id: print("left:", id))
    await server.create_server(port)
    print("listening on port", server.get_local_port(), flush=True)
    while True:
        server.poll()  # signals fire here, as in Godot
        while server.get_available_packet_count():
            sender = server.get_packet_peer()
            data = server.get_packet()
            server.set_target_peer(-sender)  # everyone but the sender
            server.put_packet(data)
        await server.wait_for_activity(timeout=1 / 60)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8080))
