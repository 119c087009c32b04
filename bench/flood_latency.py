"""A well-behaved client's round trip, with and without a flooding client beside it.

Three processes' worth of peers in one event loop over real WebSockets on
loopback: a server, a good client pinging it, and (in the second run) a client that
sends junk as fast as it can until the server disconnects it. Prints the good
client's median round trip in both runs, and their ratio.
"""

from __future__ import annotations

import asyncio
import statistics

from multiplayer import SceneMultiplayer, WebSocketMultiplayerPeer


async def connect(url: str) -> tuple[WebSocketMultiplayerPeer, SceneMultiplayer]:
    peer = WebSocketMultiplayerPeer()
    await peer.create_client(url)
    return peer, SceneMultiplayer(peer)


async def run(flood: bool, seconds: float = 2.0) -> float:
    server_peer = WebSocketMultiplayerPeer()
    await server_peer.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server_peer.get_local_port()}"
    server = SceneMultiplayer(server_peer)
    good_peer, good = await connect(url)
    bad_peer, bad = await connect(url)
    apis = [server, good, bad]
    while len(server.get_peers()) < 2:
        for api in apis:
            api.poll()
        await asyncio.sleep(0.001)
    rtts: list[float] = []

    async def frames() -> None:
        while True:
            for api in apis:
                api.poll()
            if flood and bad.get_peers():
                raw = bad_peer
                raw.set_target_peer(1)
                for _ in range(200):
                    raw.put_packet(b"\x93\x00\x05\x05")  # calls with unknown ids
            await asyncio.sleep(0.001)

    task = asyncio.ensure_future(frames())
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        rtts.append(await good.ping(1, timeout=5))
    task.cancel()
    for peer in (good_peer, bad_peer, server_peer):
        peer.close()
        await peer.wait_closed()
    return statistics.median(rtts)


async def main() -> None:
    calm = await run(flood=False)
    stormy = await run(flood=True)
    print(f"good client's median round trip, alone:         {calm * 1e3:6.2f} ms")
    print(f"good client's median round trip, with a flooder: {stormy * 1e3:6.2f} ms")
    print(f"ratio: {stormy / calm:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
