"""How well a client knows the server's clock, over real WebSockets on loopback.

Server and client run in one process, so they share one clock: the true offset is
0, and the estimated offset is the estimate's error. Prints RTT and offset error.
"""

from __future__ import annotations

import asyncio
import statistics

from multiplayer import SceneMultiplayer, WebSocketMultiplayerPeer


async def main(seconds: float = 3.0) -> None:
    server_peer, client_peer = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer()
    await server_peer.create_server(0, "127.0.0.1")
    await client_peer.create_client(f"ws://127.0.0.1:{server_peer.get_local_port()}")
    server, client = SceneMultiplayer(), SceneMultiplayer()
    server.multiplayer_peer, client.multiplayer_peer = server_peer, client_peer
    server.ping_interval = client.ping_interval = 0.05
    errors, rtts = [], []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        server.poll()
        client.poll()
        rtt = client.get_rtt(1)
        if rtt is not None:
            rtts.append(rtt)
            errors.append(abs(client.get_clock_offset()))
        await asyncio.sleep(0.005)
    print(f"samples: {len(errors)}")
    print(f"rtt: median {statistics.median(rtts) * 1e3:.3f} ms, max {max(rtts) * 1e3:.3f} ms")
    print(
        f"clock offset error: median {statistics.median(errors) * 1e3:.3f} ms, "
        f"max {max(errors) * 1e3:.3f} ms"
    )
    for peer in (client_peer, server_peer):
        peer.close()
        await peer.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
