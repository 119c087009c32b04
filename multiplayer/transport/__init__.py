"""The transport layer: peers that carry packets between ids, and the links under them.

- :class:`MultiplayerPeer` (abstract) and :class:`OfflineMultiplayerPeer`;
- :class:`WebSocketMultiplayerPeer`, Godot's multiplayer peer over WebSocket, its
  server and client halves, and the framing of packets in messages (one module per
  wire profile in :mod:`multiplayer.transport.framing`);
  :class:`SyncWebSocketMultiplayerPeer`, the same for plain loops without asyncio,
  its network on the process's :class:`~.network_thread.NetworkThread`;
- :class:`WebSocketPeer`, one WebSocket link with Godot's low-level API, and what it
  is built from: :class:`TCPServer`, :class:`StreamPeerTCP`, :class:`StreamPeerTLS`,
  :class:`TLSOptions`.

Nothing here knows of nodes, RPCs or msgpack.
"""

from __future__ import annotations

from .peer import (
    TARGET_PEER_BROADCAST,
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    OfflineMultiplayerPeer,
    TransferMode,
)
from .sync_websocket_multiplayer_peer import SyncWebSocketMultiplayerPeer
from .tcp_server import StreamPeerTCP, TCPServer
from .tls import StreamPeerTLS, TLSOptions
from .websocket_multiplayer_peer import WebSocketMultiplayerPeer
from .websocket_peer import WebSocketPeer

__all__ = [
    "TARGET_PEER_BROADCAST",
    "TARGET_PEER_SERVER",
    "ConnectionStatus",
    "MultiplayerPeer",
    "OfflineMultiplayerPeer",
    "StreamPeerTCP",
    "StreamPeerTLS",
    "SyncWebSocketMultiplayerPeer",
    "TCPServer",
    "TLSOptions",
    "TransferMode",
    "WebSocketMultiplayerPeer",
    "WebSocketPeer",
]
