"""TunnelBridge: a web Godot as a WebSocketMultiplayerPeer-style server for real clients.

A browser cannot listen on a socket, so a Godot running in Chromium cannot be a
WebSocketMultiplayerPeer server. Instead its project uses ``res://webgodot/tunnel_peer.gd``
(a MultiplayerPeerExtension with unique id 1, always added to the pck by browser.py), which opens
ONE WebSocket to this bridge. The bridge listens for real WebSocket clients on a second port and
does what Godot 4's WebSocketMultiplayerPeer server does with them (reference.md §1.2-1.6):

* a client whose WebSocket opens gets a random id in [2, 2^31-1] that is not in use, sent as one
  4-byte little-endian int32 binary message; then Godot is told "peer connected";
* each message from a client is one packet from that id; each packet Godot puts for a peer goes
  to that client as one binary message (target 0: every client; target -n: all but n);
* a client's close tells Godot "peer disconnected"; Godot's disconnect_peer closes the client;
* while Godot refuses new connections, a newly opened client is closed without an id.

Tunnel framing, one binary WebSocket message per frame: ``[u8 kind][i32 peer, LE][payload]``

    bridge -> Godot   1 CONNECTED     peer: a client opened and was sent its id
                      2 DISCONNECTED  peer: that client's connection closed
                      3 PACKET        peer: the sender; payload: one packet
    Godot -> bridge   2 DISCONNECT    peer: close that client (disconnect_peer)
                      3 PACKET        peer: target as in put_packet; payload: one packet
                      4 REFUSE        peer: 1 refuse new clients, 0 accept them again

Keep this in step with ``godot/tunnel_peer.gd``. The bridge is plain ``websockets.asyncio``, not
this repository's transport, so it is an independent server to test that transport against.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
from pathlib import Path
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

TUNNEL_PEER_GD = Path(__file__).with_name("godot") / "tunnel_peer.gd"
TUNNEL_PEER_RES = "webgodot/tunnel_peer.gd"
TUNNEL_ARG = "--webgodot-tunnel="

CONNECTED = 1
DISCONNECTED = 2
DISCONNECT = 2
PACKET = 3
REFUSE = 4
_HEADER = struct.Struct("<Bi")
MAX_ID = 2**31 - 1
# WebSocketMultiplayerPeer's default inbound_buffer_size caps one client message at 65535 bytes
CLIENT_MAX_MESSAGE = 65535


def frame(kind: int, peer: int, payload: bytes = b"") -> bytes:
    """One tunnel frame."""
    return _HEADER.pack(kind, peer) + payload


class TunnelBridge:
    """Listens for the Godot tunnel and for real clients on 127.0.0.1; bridges them.

    ``async with TunnelBridge() as bridge:`` then start Godot with ``user_args=[bridge.user_arg]``
    and connect clients to ``bridge.client_url``.
    """

    def __init__(self) -> None:
        self._tunnel_server: Server | None = None
        self._client_server: Server | None = None
        self._tunnel: ServerConnection | None = None
        self._tunnel_open = asyncio.Event()
        self._tunnel_closed = asyncio.Event()
        self._clients: dict[int, ServerConnection] = {}
        self._refusing = False
        self._stopping = False
        self._closing: set[asyncio.Task[None]] = set()
        self.errors: list[str] = []  # malformed frames from Godot, if any

    async def __aenter__(self) -> TunnelBridge:
        self._tunnel_server = await serve(
            self._serve_tunnel, "127.0.0.1", 0, max_size=None, compression=None
        )
        self._client_server = await serve(
            self._serve_client, "127.0.0.1", 0, max_size=CLIENT_MAX_MESSAGE, compression=None
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping = True
        self._tunnel_open.set()  # wakes clients still waiting for a tunnel, so they can end
        for server in (self._client_server, self._tunnel_server):
            if server is not None:
                server.close()
                await server.wait_closed()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    @property
    def tunnel_url(self) -> str:
        """Where tunnel_peer.gd connects."""
        return f"ws://127.0.0.1:{_port(self._tunnel_server)}"

    @property
    def user_arg(self) -> str:
        """The Godot user argument that tells tunnel_peer.gd's url_from_args() the tunnel."""
        return TUNNEL_ARG + self.tunnel_url

    @property
    def client_url(self) -> str:
        """Where clients connect, as they would to a Godot server."""
        return f"ws://127.0.0.1:{_port(self._client_server)}"

    @property
    def peer_ids(self) -> set[int]:
        """Ids of the clients connected right now."""
        return set(self._clients)

    async def wait_tunnel(self, timeout: float = 30.0) -> None:
        """Return once Godot's tunnel is connected."""
        await asyncio.wait_for(self._tunnel_open.wait(), timeout)

    async def wait_tunnel_closed(self, timeout: float = 30.0) -> None:
        """Return once Godot's tunnel has closed (Godot quit or closed its peer)."""
        await asyncio.wait_for(self._tunnel_closed.wait(), timeout)

    async def _serve_tunnel(self, tunnel: ServerConnection) -> None:
        if self._tunnel is not None or self._tunnel_closed.is_set():
            await tunnel.close(1008, "one tunnel per bridge")
            return
        self._tunnel = tunnel
        self._tunnel_open.set()
        try:
            async for message in tunnel:
                if isinstance(message, str):
                    self.errors.append(f"text frame on the tunnel: {message!r}")
                    continue
                await self._from_godot(message)
        except ConnectionClosed:
            pass
        finally:
            self._tunnel = None
            self._tunnel_closed.set()
            for client in list(self._clients.values()):
                self._close_later(client, 1001, "server gone")

    async def _from_godot(self, message: bytes) -> None:
        if len(message) < _HEADER.size:
            self.errors.append(f"short frame from Godot: {message.hex()}")
            return
        kind, peer = _HEADER.unpack_from(message)
        if kind == PACKET:
            await self._deliver(peer, message[_HEADER.size :])
        elif kind == DISCONNECT:
            client = self._clients.get(peer)
            if client is not None:
                self._close_later(client, 1000, "")
        elif kind == REFUSE:
            self._refusing = bool(peer)
        else:
            self.errors.append(f"unknown frame kind {kind} from Godot: {message.hex()}")

    async def _deliver(self, target: int, packet: bytes) -> None:
        """Send one packet as WebSocketMultiplayerPeer's server put_packet does."""
        if target > 0:
            ids = [target] if target in self._clients else []
        else:
            ids = [peer for peer in self._clients if peer != -target]
        for peer in ids:
            client = self._clients.get(peer)
            if client is None:
                continue
            try:
                await client.send(packet)
            except ConnectionClosed:
                pass  # its handler tells Godot it left

    def _close_later(self, client: ServerConnection, code: int, reason: str) -> None:
        # closing waits for the client's answer: never hold up the tunnel's packets for it
        task = asyncio.create_task(client.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _serve_client(self, client: ServerConnection) -> None:
        await self._tunnel_open.wait()  # like a server that only starts listening with Godot
        tunnel = self._tunnel
        if tunnel is None or self._refusing or self._stopping:
            await client.close(1000, "")
            return
        peer = self._new_id()
        self._clients[peer] = client
        try:
            await client.send(struct.pack("<i", peer))
            await tunnel.send(frame(CONNECTED, peer))
            async for message in client:
                data = message.encode() if isinstance(message, str) else message
                await tunnel.send(frame(PACKET, peer, data))
        except ConnectionClosed:
            pass
        finally:
            del self._clients[peer]
            await self._tell_godot(frame(DISCONNECTED, peer))

    async def _tell_godot(self, message: bytes) -> None:
        tunnel = self._tunnel
        if tunnel is None:
            return
        try:
            await tunnel.send(message)
        except ConnectionClosed:
            pass

    def _new_id(self) -> int:
        while True:
            peer = 2 + secrets.randbelow(MAX_ID - 1)  # [2, 2^31-1], like generate_unique_id()
            if peer not in self._clients:
                return peer


def _port(server: Server | None) -> int:
    if server is None:
        raise RuntimeError("TunnelBridge is not started: use it with `async with`")
    port: int = server.sockets[0].getsockname()[1]
    return port
