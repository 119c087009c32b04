"""Godot 4's high-level multiplayer, in Python, over WebSocket.

- Transport: :class:`MultiplayerPeer`, :class:`WebSocketMultiplayerPeer`,
  :class:`OfflineMultiplayerPeer` (and in-memory peers in :mod:`multiplayer.testing`).
- Scene: :class:`Node`, :class:`SceneTree`, the :func:`rpc` decorator.
- High level: :class:`SceneMultiplayer` (RPCs, relay, peer bookkeeping).
- Values: :class:`Vector2`, :class:`Vector2i`, :class:`Vector3`, :class:`Vector3i`,
  :class:`Color`, sent as compact msgpack extensions (:mod:`multiplayer.codec`).
"""

from __future__ import annotations

from .codec import Codec, register_type
from .exceptions import (
    DecodingError,
    EncodingError,
    InvalidState,
    MultiplayerError,
    PacketTooLarge,
    PeerDisconnected,
    PeerNotFound,
    ProtocolError,
    RemoteError,
    RPCRefused,
)
from .peer import (
    TARGET_PEER_BROADCAST,
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    OfflineMultiplayerPeer,
    TransferMode,
)
from .replication_config import ReplicationMode, SceneReplicationConfig
from .rpc import RPCConfig, RPCMode, rpc
from .scene_multiplayer import MultiplayerAPI, SceneMultiplayer
from .signals import Signal
from .spawner import MultiplayerSpawner
from .synchronizer import MultiplayerSynchronizer
from .tree import Node, SceneTree
from .values import Color, Vector2, Vector2i, Vector3, Vector3i
from .websocket_peer import WebSocketMultiplayerPeer

__all__ = [
    "TARGET_PEER_BROADCAST",
    "TARGET_PEER_SERVER",
    "Codec",
    "Color",
    "ConnectionStatus",
    "DecodingError",
    "EncodingError",
    "InvalidState",
    "MultiplayerAPI",
    "MultiplayerError",
    "MultiplayerPeer",
    "MultiplayerSpawner",
    "MultiplayerSynchronizer",
    "Node",
    "OfflineMultiplayerPeer",
    "PacketTooLarge",
    "PeerDisconnected",
    "PeerNotFound",
    "ProtocolError",
    "RPCConfig",
    "RPCMode",
    "RPCRefused",
    "RemoteError",
    "ReplicationMode",
    "SceneMultiplayer",
    "SceneReplicationConfig",
    "SceneTree",
    "Signal",
    "TransferMode",
    "Vector2",
    "Vector2i",
    "Vector3",
    "Vector3i",
    "WebSocketMultiplayerPeer",
    "register_type",
    "rpc",
]

__version__ = "0.1.0"
