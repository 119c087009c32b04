"""Godot 4's high-level multiplayer, in Python, over WebSocket.

- Transport: :class:`MultiplayerPeer`, :class:`WebSocketMultiplayerPeer` (and
  :class:`SyncWebSocketMultiplayerPeer` for plain loops without asyncio),
  :class:`OfflineMultiplayerPeer` (and in-memory peers in :mod:`multiplayer.testing`);
  one WebSocket link with Godot's low-level API: :class:`WebSocketPeer`,
  :class:`TCPServer`, :class:`StreamPeerTCP`, :class:`StreamPeerTLS`, :class:`TLSOptions`.
- Scene: :class:`Node`, :class:`SceneTree`, the :func:`rpc` decorator, :class:`Timer`,
  :class:`SceneTreeTimer`, :class:`ProcessMode`, :class:`GroupCallFlags`,
  :func:`call_deferred`, :func:`is_instance_valid`.
- High level: :class:`SceneMultiplayer` (RPCs, relay, peer bookkeeping).
- Values: :class:`Vector2`, :class:`Vector2i`, :class:`Vector3`, :class:`Vector3i`,
  :class:`Vector4`, :class:`Vector4i`, :class:`Rect2`, :class:`Rect2i`,
  :class:`Quaternion`, :class:`Color`, sent as compact msgpack extensions in the
  native profile.
"""

from __future__ import annotations

from .exceptions import (
    DecodingError,
    DirectoryUnavailable,
    EncodingError,
    InvalidState,
    JoinRefused,
    MultiplayerError,
    OutboundBufferFull,
    PacketTooLarge,
    PeerDisconnected,
    PeerNotFound,
    ProfileError,
    ProtocolError,
    RemoteError,
    RoomError,
    RoomFull,
    RoomGone,
    RoomLocked,
    RoomNotFound,
    RPCRefused,
    ShuttingDown,
)
from .protocol.native import codec as _codec_module
from .protocol.native.codec import Codec, register_type
from .replication.config import ReplicationMode, SceneReplicationConfig
from .replication.scenes import register_scene, unregister_scene
from .replication.spawner import MultiplayerSpawner
from .replication.synchronizer import MultiplayerSynchronizer
from .scene.groups import GroupCallFlags
from .scene.node import Node, is_instance_valid
from .scene.processing import ProcessMode
from .scene.rpc import RPCConfig, RPCMode, rpc
from .scene.timers import SceneTreeTimer, Timer, TimerProcessCallback
from .scene.tree import SceneTree
from .scene_multiplayer.limits import RateLimits
from .scene_multiplayer.scene_multiplayer import MultiplayerAPI, SceneMultiplayer
from .signals import Signal, call_deferred
from .transport.event_loop import run
from .transport.peer import (
    TARGET_PEER_BROADCAST,
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    OfflineMultiplayerPeer,
    TransferMode,
)
from .transport.stats import PeerStats
from .transport.sync_websocket_multiplayer_peer import SyncWebSocketMultiplayerPeer
from .transport.tcp_server import StreamPeerTCP, TCPServer
from .transport.tls import StreamPeerTLS, TLSOptions
from .transport.websocket_multiplayer_peer import WebSocketMultiplayerPeer
from .transport.websocket_peer import WebSocketPeer
from .values import (
    Color,
    Quaternion,
    Rect2,
    Rect2i,
    Vector2,
    Vector2i,
    Vector3,
    Vector3i,
    Vector4,
    Vector4i,
)

__all__ = [
    "COMPILED",
    "TARGET_PEER_BROADCAST",
    "TARGET_PEER_SERVER",
    "Codec",
    "Color",
    "ConnectionStatus",
    "DecodingError",
    "DirectoryUnavailable",
    "EncodingError",
    "GroupCallFlags",
    "InvalidState",
    "JoinRefused",
    "MultiplayerAPI",
    "MultiplayerError",
    "MultiplayerPeer",
    "MultiplayerSpawner",
    "MultiplayerSynchronizer",
    "Node",
    "OfflineMultiplayerPeer",
    "OutboundBufferFull",
    "PacketTooLarge",
    "PeerDisconnected",
    "PeerNotFound",
    "PeerStats",
    "ProcessMode",
    "ProfileError",
    "ProtocolError",
    "Quaternion",
    "RPCConfig",
    "RPCMode",
    "RPCRefused",
    "RateLimits",
    "Rect2",
    "Rect2i",
    "RemoteError",
    "ReplicationMode",
    "RoomError",
    "RoomFull",
    "RoomGone",
    "RoomLocked",
    "RoomNotFound",
    "SceneMultiplayer",
    "SceneReplicationConfig",
    "SceneTree",
    "SceneTreeTimer",
    "ShuttingDown",
    "Signal",
    "StreamPeerTCP",
    "StreamPeerTLS",
    "SyncWebSocketMultiplayerPeer",
    "TCPServer",
    "TLSOptions",
    "Timer",
    "TimerProcessCallback",
    "TransferMode",
    "Vector2",
    "Vector2i",
    "Vector3",
    "Vector3i",
    "Vector4",
    "Vector4i",
    "WebSocketMultiplayerPeer",
    "WebSocketPeer",
    "call_deferred",
    "is_instance_valid",
    "register_scene",
    "register_type",
    "rpc",
    "run",
    "unregister_scene",
]

__version__ = "0.1.0"

COMPILED: bool = not (_codec_module.__file__ or "").endswith(".py")
"""Whether the protocol and RPC paths run compiled (``setup.py`` builds them with mypyc
where a C compiler is present) or as plain Python: they behave the same."""
