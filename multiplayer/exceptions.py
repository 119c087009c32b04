"""Every exception the library raises, in one place.

The hierarchy::

    MultiplayerError                  root of everything raised here
    ├── InvalidState (RuntimeError)   the call does not fit the object's state:
    │                                 put_packet before connected, create_server twice,
    │                                 get_packet on an empty queue
    ├── PeerNotFound (LookupError)    a target peer id that is not connected
    ├── ProfileError                  a feature the peer's wire profile cannot carry:
    │   (NotImplementedError)         rpc_call or ping over Godot's own protocol
    ├── PacketTooLarge (ValueError)   put_packet of more bytes than the link carries
    ├── OutboundBufferFull            a WebSocketPeer send that would queue more unsent
    │   (BufferError)                 bytes than ``outbound_buffer_size``
    ├── ProtocolError                 bytes from the network that break the wire format;
    │                                 raised by the framing parsers and caught by the
    │                                 peers, which drop the sender with a log line: it
    │                                 never escapes ``poll()``
    ├── EncodingError (TypeError)     a value that the value codec cannot send:
    │                                 an unsupported type, an int out of range, a
    │                                 registered type while object encoding is off
    ├── DecodingError (ValueError)    high-level payload bytes that the value codec
    │                                 refuses: malformed msgpack, a limit exceeded, an
    │                                 unknown or refused ext type
    ├── RemoteError                   an awaited RPC (``rpc_call``) failed on the remote
    │   │                             peer: the handler raised (type name and message)
    │   └── RPCRefused                the remote peer refused the call (not an RPC there,
    │                                 not allowed, no such node, wrong arguments)
    └── PeerDisconnected              the peer left, or this side disconnected, while an
        (ConnectionError)             awaited RPC was waiting for its answer

Errors made by the local programmer are raised at the call site. Errors made by a
remote peer never reach user code: the offending connection is closed and logged.
Godot returns ``Error`` codes for both; here the first kind raises and the second
is logged.
"""

from __future__ import annotations

__all__ = [
    "DecodingError",
    "DirectoryUnavailable",
    "EncodingError",
    "InvalidState",
    "JoinRefused",
    "MultiplayerError",
    "OutboundBufferFull",
    "PacketTooLarge",
    "PeerDisconnected",
    "PeerNotFound",
    "ProfileError",
    "ProtocolError",
    "RPCRefused",
    "RemoteError",
    "RoomError",
    "RoomFull",
    "RoomGone",
    "RoomLocked",
    "RoomNotFound",
    "ShuttingDown",
]


class MultiplayerError(Exception):
    """Base class of every exception raised by this library."""


class InvalidState(MultiplayerError, RuntimeError):
    """The object is not in a state that allows this call."""


class PeerNotFound(MultiplayerError, LookupError):
    """The peer id is not one of the connected peers."""

    def __init__(self, peer_id: int) -> None:
        super().__init__(f"peer not found: {peer_id}")
        self.peer_id = peer_id


class PacketTooLarge(MultiplayerError, ValueError):
    """A packet is larger than the link can carry in one message."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"packet of {size} bytes exceeds the maximum packet size of {limit} bytes "
            "(set by inbound_buffer_size on both ends)"
        )
        self.size = size
        self.limit = limit


class ProtocolError(MultiplayerError):
    """Bytes received from the network do not follow the wire format."""


class EncodingError(MultiplayerError, TypeError):
    """A value cannot be encoded for the network."""


class DecodingError(MultiplayerError, ValueError):
    """Bytes received from the network do not decode to an accepted value."""


class RemoteError(MultiplayerError):
    """An awaited RPC raised on the remote peer.

    Attributes:
        peer_id: The peer that ran the call.
        type_name: The name of the exception type raised there (e.g. ``"ValueError"``).
        remote_message: Its message.
    """

    def __init__(self, peer_id: int, type_name: str, remote_message: str) -> None:
        super().__init__(f"peer {peer_id} raised {type_name}: {remote_message}")
        self.peer_id = peer_id
        self.type_name = type_name
        self.remote_message = remote_message


class RPCRefused(RemoteError):
    """The remote peer refused an awaited RPC (its reason is the message)."""

    def __init__(self, peer_id: int, reason: str) -> None:
        MultiplayerError.__init__(self, f"peer {peer_id} refused the call: {reason}")
        self.peer_id = peer_id
        self.type_name = "RPCRefused"
        self.remote_message = reason


class PeerDisconnected(MultiplayerError, ConnectionError):
    """The peer went away before answering an awaited RPC."""

    def __init__(self, peer_id: int) -> None:
        super().__init__(f"peer {peer_id} disconnected before answering")
        self.peer_id = peer_id


class ProfileError(MultiplayerError, NotImplementedError):
    """The peer's wire profile cannot carry what was asked (Godot's own protocol has
    no awaited calls and no clock: those need the native profile)."""

    def __init__(self, feature: str, profile: str, hint: str = "") -> None:
        message = f"{feature} is not available in the {profile!r} wire profile"
        super().__init__(f"{message}: {hint}" if hint else message)
        self.feature = feature
        self.profile = profile


class OutboundBufferFull(MultiplayerError, BufferError):
    """A send would leave more unsent bytes queued than the link allows
    (``outbound_buffer_size``): the peer is not reading fast enough, or the
    message is too large for the buffer."""

    def __init__(self, size: int, buffered: int, limit: int) -> None:
        super().__init__(
            f"cannot send {size} bytes: {buffered} bytes are still unsent and "
            f"outbound_buffer_size is {limit}"
        )
        self.size = size
        self.buffered = buffered
        self.limit = limit


class RoomError(MultiplayerError):
    """A room could not be created or joined (see :mod:`multiplayer.rooms`)."""


class RoomNotFound(RoomError, LookupError):
    """No room has that code (it never had, or it was disposed)."""


class RoomFull(RoomError):
    """Every seat of the room is taken or held for a join in progress."""


class RoomLocked(RoomError):
    """The room is locked: it takes no one new."""


class JoinRefused(RoomError):
    """The room's own hook refused the player, with its reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ShuttingDown(RoomError):
    """The server is shutting down: it creates and joins no room."""


class RoomGone(RoomError):
    """The room ended with the process that hosted it (a shared directory noticed
    that process stop: docs/scaling.md)."""


class DirectoryUnavailable(RoomError):
    """The room directory (Redis) cannot be reached now: try again later."""
