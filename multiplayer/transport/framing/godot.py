"""Godot 4's own transport framing: the only module that builds or parses its bytes.

Godot 4's ``WebSocketMultiplayerPeer`` (modules/websocket/websocket_multiplayer_peer.cpp,
reference.md §1.1-1.2) adds nothing of its own around a packet:

* the client sends no greeting. As soon as a connection is OPEN, the server sends
  one binary message of exactly 4 bytes, the client's id as a little-endian int32
  (``_poll_server``); the client stays CONNECTING until it arrives, and refuses
  anything but 4 bytes holding an id of at least 2 ("Invalid ID received from
  server", ``_poll_client``);
* after that, one binary WebSocket message is one packet, exactly the bytes
  SceneMultiplayer put.

Godot draws each client id at random in [2, 2^31 - 1] (``generate_unique_id``), so a
client cannot guess another's; this profile does too (``random_ids``), and unlike
Godot the server also makes sure the id is not in use.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ...exceptions import ProtocolError
from .base import Framing, Greeting, Resumption

__all__ = ["GODOT_INBOUND_BUFFER_SIZE", "ID_MESSAGE_SIZE", "GodotFraming"]

ID_MESSAGE_SIZE = 4
"""The server's greeting is the bare int32 id."""

GODOT_INBOUND_BUFFER_SIZE = 65535
"""Godot's default ``inbound_buffer_size``: the largest message a Godot peer takes."""

_ID = struct.Struct("<i")


def _one_per_packet(packets: Sequence[bytes], max_message_size: int) -> list[bytes]:
    return list(packets)


def _the_packet(message: bytes) -> list[bytes]:
    return [message]


class GodotFraming(Framing):
    """The ``"godot"`` profile: the bare 4-byte id, then one message per packet."""

    name = "godot"
    client_greets = False  # Godot's server speaks first, as soon as the link is OPEN
    packet_overhead = 0
    random_ids = True
    # Godot does not tell its limit: assume its default inbound_buffer_size, so that a
    # larger packet raises PacketTooLarge where it is put, instead of having Godot
    # close the connection (wslay's max_recv_msg_length).
    peer_message_size = GODOT_INBOUND_BUFFER_SIZE

    def server_greeting(
        self,
        peer_id: int,
        max_message_size: int,
        resumption: Resumption | None = None,
        grace: float = 0.0,
    ) -> bytes:
        return _ID.pack(peer_id)  # (not resumable: Godot's protocol has no resume)

    def parse_server_greeting(self, message: bytes) -> Greeting:
        if len(message) != ID_MESSAGE_SIZE:
            raise ProtocolError(
                f"the server's first message must be the 4-byte id, not {len(message)} bytes"
            )
        return Greeting(_ID.unpack(message)[0])

    def encode(self, packets: Sequence[bytes], max_message_size: int) -> list[bytes]:
        return _one_per_packet(packets, max_message_size)

    def decode(self, message: bytes) -> list[bytes]:
        return _the_packet(message)
