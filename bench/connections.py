"""The ``connections`` benchmark: connecting many clients, and what each one costs.

N clients connect to a server in its own process, at most ``WINDOW`` at a time:
more would overflow the listen backlog (a dropped SYN waits a second to be sent
again, which measures the kernel), and, with the relay on, our server admits all
the peers that arrived since its last frame in that frame, each announced to every
other peer, which near 1000 peers takes long enough for the handshakes waiting
behind it to pass handshake_timeout (3 s) and fail. Measured:

* the time from the first connect until every client is in: for ours, until each
  ``WebSocketMultiplayerPeer`` client is CONNECTED (WebSocket upgrade, then the
  HELLO exchange that gives it its id); for raw websockets, until each upgrade is
  done;
* the server's resident memory per client: its RSS once every client is admitted,
  minus its RSS before, divided by N (garbage collected before both readings).

Ours is the ``ours`` server of the other benchmarks (a SceneTree, relay on, as
by default), and the same with ``server_relay`` off: with the relay on, each peer
admitted is announced to every other (Godot's SYS ADD_PEER), so connecting N
clients sends N*(N-1) packets. The baseline is the plain ``websockets`` server
(``raw``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from served import Served, raise_file_limit, served
from websockets.asyncio.client import ClientConnection, connect

from multiplayer import WebSocketMultiplayerPeer
from multiplayer.transport.peer import ConnectionStatus

WINDOW = 25
KINDS = {"ours": "ours", "ours, relay off": "ours-norelay", "raw websockets": "raw"}


async def connect_ours(url: str, count: int, peers: list[WebSocketMultiplayerPeer]) -> None:
    """Add ``count`` clients of ours to ``peers``, and return once each is CONNECTED
    (it has its id)."""
    pending: list[WebSocketMultiplayerPeer] = []
    started = 0
    while started < count or pending:
        while started < count and len(pending) < WINDOW:
            peer = WebSocketMultiplayerPeer()
            await peer.create_client(url)
            peers.append(peer)
            pending.append(peer)
            started += 1
        await asyncio.sleep(0.001)
        still: list[WebSocketMultiplayerPeer] = []
        for peer in pending:
            peer.poll()
            status = peer.get_connection_status()
            if status is ConnectionStatus.DISCONNECTED:
                raise ConnectionError(f"a client failed: {peer.connection_error!r}")
            if status is not ConnectionStatus.CONNECTED:
                still.append(peer)
        pending = still


async def connect_raw(url: str, count: int, sockets: list[ClientConnection]) -> None:
    """Add ``count`` plain websockets clients to ``sockets``, each open."""
    for start in range(0, count, WINDOW):
        batch = min(WINDOW, count - start)
        sockets += await asyncio.gather(*(connect(url, compression=None) for _ in range(batch)))


async def close_all(subject: str, clients: list[Any]) -> None:
    if subject != "raw websockets":
        for peer in clients:
            peer.close()
        await asyncio.gather(*(peer.wait_closed() for peer in clients))
    else:
        await asyncio.gather(*(ws.close() for ws in clients))


async def measure(subject: str, count: int) -> tuple[float, float]:
    """Seconds to connect ``count`` clients, and server bytes per client."""
    clients: list[Any] = []
    try:
        async with served(KINDS[subject]) as server:
            return await _measure(server, subject, count, clients)
    finally:
        # The server is gone first: a thousand clients leaving at once is not what is
        # measured here.
        await close_all(subject, clients)


async def _measure(
    server: Served, subject: str, count: int, clients: list[Any]
) -> tuple[float, float]:
    await asyncio.sleep(0.2)  # the server settles
    before = await server.stats(collect=True)
    start = time.perf_counter()
    if subject == "raw websockets":
        await connect_raw(server.url, count, clients)
    else:
        await connect_ours(server.url, count, clients)
    elapsed = time.perf_counter() - start
    await server.wait_for_peers(count)
    await asyncio.sleep(0.5)  # what the server sends on admission is out
    after = await server.stats(collect=True)
    assert before.rss_kib is not None and after.rss_kib is not None, "no /proc here"
    return elapsed, (after.rss_kib - before.rss_kib) * 1024 / count


async def connections(smoke: bool) -> list[dict[str, Any]]:
    """The rows: connect time and memory per client, ours against raw websockets."""
    count = 100 if smoke else 1000  # (fewer would make memory deltas noise)
    raise_file_limit(count + 256)  # a socket per client here, and one in the server
    results = {subject: await measure(subject, count) for subject in KINDS}
    raw_time, raw_memory = results["raw websockets"]
    rows: list[dict[str, Any]] = []
    for subject, (elapsed, memory) in results.items():
        rows.append(
            dict(
                benchmark=f"connect {count} clients",
                subject=subject,
                value=elapsed * 1000,
                unit="ms",
                ratio=elapsed / raw_time,
            )
        )
        rows.append(
            dict(
                benchmark="server memory per client",
                subject=subject,
                value=memory / 1024,
                unit="KiB",
                ratio=memory / raw_memory if raw_memory > 0 else None,
            )
        )
    return rows
