"""Every exception the library raises, in one place.

The hierarchy::

    MultiplayerError                  root of everything raised here
    ├── InvalidState (RuntimeError)   the call does not fit the object's state:
    │                                 put_packet before connected, create_server twice,
    │                                 get_packet on an empty queue
    ├── PeerNotFound (LookupError)    a target peer id that is not connected
    ├── PacketTooLarge (ValueError)   put_packet of more bytes than the link carries
    ├── ProtocolError                 bytes from the network that break the wire format;
    │                                 raised by the parsers in :mod:`multiplayer.wire` and
    │                                 caught by the peers, which drop the sender with a log
    │                                 line: it never escapes ``poll()``
    ├── EncodingError (TypeError)     a value that :mod:`multiplayer.codec` cannot send:
    │                                 an unsupported type, an int out of range, a
    │                                 registered type while object encoding is off
    └── DecodingError (ValueError)    high-level payload bytes that :mod:`multiplayer.codec`
                                      refuses: malformed msgpack, a limit exceeded, an
                                      unknown or refused ext type

Errors made by the local programmer are raised at the call site. Errors made by a
remote peer never reach user code: the offending connection is closed and logged.
Godot returns ``Error`` codes for both; here the first kind raises and the second
is logged.
"""

from __future__ import annotations

__all__ = [
    "DecodingError",
    "EncodingError",
    "InvalidState",
    "MultiplayerError",
    "PacketTooLarge",
    "PeerNotFound",
    "ProtocolError",
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
