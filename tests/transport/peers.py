"""Helpers shared by the tests of the WebSocket multiplayer peer's modules: making
servers and clients on 127.0.0.1, polling until a condition holds, reading what
arrived. The ``peers`` fixture that closes them is in conftest.py."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from typing import Any

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer

__all__ = [
    "Peers",
    "connected",
    "disconnected",
    "drain",
    "join",
    "poll_until",
    "record",
    "start_client",
    "start_server",
    "url_of",
]

Peers = list[WebSocketMultiplayerPeer]


async def poll_until(peers: Peers, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll every peer until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for peer in peers:
            peer.poll()
        if condition():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


def drain(peer: WebSocketMultiplayerPeer) -> list[tuple[int, bytes]]:
    """Take every queued packet as (sender, data)."""
    out = []
    while peer.get_available_packet_count():
        sender = peer.get_packet_peer()
        out.append((sender, peer.get_packet()))
    return out


async def start_server(peers: Peers, **settings: Any) -> WebSocketMultiplayerPeer:
    """A server on a free port of 127.0.0.1, with ``settings`` set first."""
    server = WebSocketMultiplayerPeer()
    for name, value in settings.items():
        setattr(server, name, value)
    peers.append(server)
    await server.create_server(0, "127.0.0.1")
    return server


async def start_client(
    peers: Peers, url: str, tls: ssl.SSLContext | None = None, **settings: Any
) -> WebSocketMultiplayerPeer:
    """A client connecting to ``url`` (not yet connected), with ``settings`` set first."""
    client = WebSocketMultiplayerPeer()
    for name, value in settings.items():
        setattr(client, name, value)
    peers.append(client)
    await client.create_client(url, tls)
    return client


def url_of(server: WebSocketMultiplayerPeer) -> str:
    return f"ws://127.0.0.1:{server.get_local_port()}"


def connected(peer: WebSocketMultiplayerPeer) -> Callable[[], bool]:
    return lambda: peer.get_connection_status() == ConnectionStatus.CONNECTED


def disconnected(peer: WebSocketMultiplayerPeer) -> Callable[[], bool]:
    return lambda: peer.get_connection_status() == ConnectionStatus.DISCONNECTED


async def join(
    peers: Peers, server: WebSocketMultiplayerPeer, **settings: Any
) -> WebSocketMultiplayerPeer:
    """A client connected to ``server`` and seen by both sides."""
    client = await start_client(peers, url_of(server), **settings)
    await poll_until(peers, connected(client))
    return client


def record(peer: WebSocketMultiplayerPeer) -> list[tuple[str, int]]:
    """The peer's peer_connected and peer_disconnected emissions, as they come."""
    events: list[tuple[str, int]] = []
    peer.peer_connected.connect(lambda i: events.append(("connected", i)))
    peer.peer_disconnected.connect(lambda i: events.append(("disconnected", i)))
    return events
