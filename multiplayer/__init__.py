"""Godot 4's high-level multiplayer, in Python, over WebSocket.

The transport layer: :class:`MultiplayerPeer` and its implementations
:class:`WebSocketMultiplayerPeer` (asyncio) and :class:`OfflineMultiplayerPeer`;
the in-memory peers for tests are in :mod:`multiplayer.testing`.
"""

from __future__ import annotations

from .exceptions import (
    InvalidState,
    MultiplayerError,
    PacketTooLarge,
    PeerNotFound,
    ProtocolError,
)
from .peer import (
    TARGET_PEER_BROADCAST,
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    OfflineMultiplayerPeer,
    TransferMode,
)
from .signals import Signal
from .websocket_peer import WebSocketMultiplayerPeer

__all__ = [
    "TARGET_PEER_BROADCAST",
    "TARGET_PEER_SERVER",
    "ConnectionStatus",
    "InvalidState",
    "MultiplayerError",
    "MultiplayerPeer",
    "OfflineMultiplayerPeer",
    "PacketTooLarge",
    "PeerNotFound",
    "ProtocolError",
    "Signal",
    "TransferMode",
    "WebSocketMultiplayerPeer",
]

__version__ = "0.1.0"
