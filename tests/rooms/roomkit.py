"""Helpers shared by the room tests that need a running room server: the server on
127.0.0.1 with its frames running, the client peers a test makes (all closed at
the end), and waiting for a condition with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from multiplayer import SceneTree, WebSocketMultiplayerPeer
from multiplayer.rooms import RoomServer

RESUMABLE = {
    "heartbeat_interval": 0.2,
    "heartbeat_timeout": 0.3,
    "handshake_timeout": 1.0,
    "reconnect_grace": 5.0,
}
"""Settings of a peer (either side) that notices a cut link soon and resumes it."""


def resumable_peer(protocol: str = "native") -> WebSocketMultiplayerPeer:
    """A peer with the RESUMABLE settings (a room server's ``peer_factory``, say)."""
    peer = WebSocketMultiplayerPeer(protocol)
    for name, value in RESUMABLE.items():
        setattr(peer, name, value)
    return peer


__all__ = ["RESUMABLE", "Lobby", "lobby", "resumable_peer", "until"]


async def until(
    condition: Callable[[], bool | Awaitable[bool]], *trees: SceneTree, timeout: float = 5.0
) -> None:
    """Wait until ``condition()`` (sync or async) holds, running a frame of each of
    ``trees`` (the clients') between looks; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for tree in trees:
            tree.process(0.002)
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"condition not reached within {timeout} s"
        await asyncio.sleep(0.002)


class Lobby:
    """A room server that listens and runs, and the client peers made for it."""

    def __init__(self, server: RoomServer) -> None:
        self.server = server
        self.peers: list[WebSocketMultiplayerPeer] = []

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.local_port}"

    def peer(self, **settings: Any) -> WebSocketMultiplayerPeer:
        """A new, unused client peer with ``settings``, closed at the end."""
        peer = WebSocketMultiplayerPeer()
        for name, value in settings.items():
            setattr(peer, name, value)
        self.peers.append(peer)
        return peer


@contextlib.asynccontextmanager
async def lobby(public_host: str | None = None, **settings: Any) -> AsyncIterator[Lobby]:
    """A RoomServer(**settings) on a free port of 127.0.0.1 (players who follow
    redirects are sent to it at ``public_host``), running; at the end it is shut
    down and every peer the test made is closed, and both are waited for."""
    server = RoomServer(**settings)
    await server.listen(0, "127.0.0.1", public_host=public_host)
    running = asyncio.create_task(server.run(handle_signals=False))
    made = Lobby(server)
    try:
        yield made
    finally:
        await asyncio.wait_for(server.shutdown(timeout=1.0), 5)
        await asyncio.wait_for(running, 5)
        for peer in made.peers:
            peer.close()
        for peer in made.peers:
            await asyncio.wait_for(peer.wait_closed(), 5)
