"""The transport's wire format: the only module that builds or parses its bytes.

Every WebSocket message is binary and starts with a kind byte (docs/protocol.md):

* ``HELLO``  ``[0x02][u8 version][u32 id][u32 max_message_size][u32 grace_ms]
  [u64 received][u8 token length][token]``: the first message each side sends. The
  server's carries the client's new id; the client's carries 0, or the id of the
  session it resumes. ``max_message_size`` is the sender's ``inbound_buffer_size``:
  the other side never sends it a longer message. The rest is for resuming
  (:mod:`multiplayer.transport.resume`): the sender's ``reconnect_grace`` in
  milliseconds, the data messages it has received in the session, and the resume
  token (16 bytes, or none: no resume).
* ``ACK``    ``[0x03][u64 received]``: the data messages (PACKET and BATCH) received
  so far in the session, so that the other side can drop them from its replay
  buffer. Only sent in a resumable session.
* ``PACKET`` ``[0x00][payload]``: one packet.
* a bare packet: a message whose first byte is ``BARE_MIN`` (0x10) or more is one
  packet, as it is. The high-level layer's packets all start with a msgpack array
  header (0x90 and up) or 0xC1, so a call costs no byte of framing, as in Godot; a
  packet that starts lower (raw bytes put on the transport) is sent as a PACKET.
* ``BATCH``  ``[0x01]`` then, per packet, a length and the payload: several packets
  put in the same tick for the same peer, coalesced into one message. The length is a
  u16, or ``0xFFFF`` followed by a u32 for 65535 bytes and more.

Integers are little-endian. Godot 4 sends a bare 4-byte id and then one message per
packet; the HELLO adds a version and the size limit, the BATCH saves a WebSocket
frame (and a system call) per packet. :class:`NativeFraming` presents all this to
the WebSocket peer through the :class:`~multiplayer.transport.framing.base.Framing`
interface, as the ``"native"`` profile.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ...exceptions import ProtocolError
from .base import Framing, Greeting, Resumption

__all__ = [
    "ACK",
    "BARE_MIN",
    "BATCH",
    "HELLO",
    "MAX_BATCH_PACKETS",
    "PACKET",
    "PACKET_OVERHEAD",
    "PROTOCOL_VERSION",
    "Hello",
    "NativeFraming",
    "encode_packets",
    "parse_message",
]

PROTOCOL_VERSION = 4  # 2: resuming, ACK. 3: SYS ADD_PEERS. 4: bare packets
PACKET = 0x00
BATCH = 0x01
HELLO = 0x02
ACK = 0x03
BARE_MIN = 0x10  # a first byte from here: a bare packet (0x04 to 0x0F are reserved)
TOKEN_SIZE = 16

PACKET_OVERHEAD = 1
"""Bytes a ``PACKET`` message adds to its payload at most (a bare packet adds none)."""
MAX_BATCH_PACKETS = 1024
"""The most packets one BATCH may carry (bounds what one message costs to stage)."""

_HELLO = struct.Struct("<BBIIIQB")
_ACK = struct.Struct("<BQ")
_GODOT_HINT = (
    " (a Godot server sends a bare 4-byte id: to join one, use"
    " WebSocketMultiplayerPeer(protocol='godot'))"
)
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_LONG = 0xFFFF


@dataclass(frozen=True, slots=True)
class Hello:
    """The greeting each side sends first."""

    peer_id: int
    max_message_size: int
    grace_ms: int = 0
    received: int = 0
    token: bytes = b""
    version: int = PROTOCOL_VERSION

    def serialize(self) -> bytes:
        head = _HELLO.pack(
            HELLO,
            self.version,
            self.peer_id,
            self.max_message_size,
            self.grace_ms,
            self.received,
            len(self.token),
        )
        return head + self.token

    @classmethod
    def parse(cls, data: bytes) -> Hello:
        """Parse a HELLO message.

        Raises:
            ProtocolError: It is not a HELLO, or not of this protocol version.
        """
        if data[:1] != bytes((HELLO,)) or len(data) < 2:
            hint = _GODOT_HINT if len(data) == 4 else ""
            raise ProtocolError(f"expected a HELLO, got {_describe(data)}{hint}")
        if data[1] != PROTOCOL_VERSION:
            raise ProtocolError(
                f"protocol version {data[1]} is not supported (this side speaks {PROTOCOL_VERSION})"
            )
        if len(data) not in (_HELLO.size, _HELLO.size + TOKEN_SIZE):
            raise ProtocolError(f"a HELLO of the wrong length: {_describe(data)}")
        _, version, peer_id, size, grace_ms, received, token_size = _HELLO.unpack_from(data)
        token = data[_HELLO.size :]
        if token_size != len(token):
            raise ProtocolError(f"a HELLO whose token length is wrong: {_describe(data)}")
        return cls(peer_id, size, grace_ms, received, token, version)

    def greeting(self) -> Greeting:
        """What this HELLO says, as the peer reads a greeting."""
        resumption = Resumption(self.token, self.received) if self.token else None
        return Greeting(self.peer_id, self.max_message_size, resumption, self.grace_ms / 1000)

    @classmethod
    def of(
        cls,
        peer_id: int,
        max_message_size: int,
        resumption: Resumption | None,
        grace: float = 0.0,
    ) -> Hello:
        """The HELLO that says this."""
        grace_ms = min(round(grace * 1000), 0xFFFFFFFF)
        if resumption is None:
            return cls(peer_id, max_message_size, grace_ms)
        if len(resumption.token) != TOKEN_SIZE:
            raise ValueError(f"a resume token is {TOKEN_SIZE} bytes")
        return cls(peer_id, max_message_size, grace_ms, resumption.received, resumption.token)


def serialize_ack(received: int) -> bytes:
    """An ACK of ``received`` data messages."""
    return _ACK.pack(ACK, received)


def parse_ack(message: bytes) -> int:
    """The count an ACK carries.

    Raises:
        ProtocolError: It is not a well-formed ACK.
    """
    if len(message) != _ACK.size or message[0] != ACK:
        raise ProtocolError(f"a malformed ACK: {_describe(message)}")
    count: int = _ACK.unpack(message)[1]
    return count


def _describe(data: bytes) -> str:
    head = data[:12].hex(" ")
    return f"{len(data)} bytes ({head}{' …' if len(data) > 12 else ''})"


def _length_prefix(size: int) -> bytes:
    if size < _LONG:
        return _U16.pack(size)
    return _U16.pack(_LONG) + _U32.pack(size)


def encode_packets(packets: Sequence[bytes], max_message_size: int) -> list[bytes]:
    """Frame packets for one peer into as few messages as fit ``max_message_size``.

    Each packet must satisfy ``len(packet) + PACKET_OVERHEAD <= max_message_size``
    (``put_packet`` checks it), so each fits in a message of its own at worst.
    """
    if len(packets) == 1:  # (the usual case, inline: _alone's test)
        packet = packets[0]
        return [packet if packet and packet[0] >= BARE_MIN else bytes((PACKET,)) + packet]
    messages: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for packet in packets:
        prefix = _length_prefix(len(packet))
        item = len(prefix) + len(packet)
        if parts and (size + item > max_message_size or len(parts) > 2 * MAX_BATCH_PACKETS):
            messages.append(_finish(parts))
            parts, size = [], 0
        if not parts:
            if len(packet) + 1 + len(prefix) > max_message_size:
                messages.append(_alone(packet))
                continue
            parts.append(bytes((BATCH,)))
            size = 1
        parts.append(prefix)
        parts.append(packet)
        size += item
    if parts:
        messages.append(_finish(parts))
    return messages


def _alone(packet: bytes) -> bytes:
    """A message of one packet: bare if its first byte allows, else a PACKET."""
    if packet and packet[0] >= BARE_MIN:
        return packet
    return bytes((PACKET,)) + packet


def _finish(parts: list[bytes]) -> bytes:
    if len(parts) == 3:  # a batch of one: a message of one packet
        return _alone(parts[2])
    return b"".join(parts)


def parse_message(message: bytes) -> list[bytes]:
    """The packets in a bare packet, a PACKET or a BATCH message.

    Raises:
        ProtocolError: The message is empty, truncated, or of another kind.
    """
    if not message:
        raise ProtocolError("empty message")
    kind = message[0]
    if kind >= BARE_MIN:
        return [message]
    if kind == PACKET:
        return [message[1:]]
    if kind != BATCH:
        raise ProtocolError(f"unexpected message kind 0x{kind:02x}: {_describe(message)}")
    packets: list[bytes] = []
    offset, end = 1, len(message)
    while offset < end:
        if offset + 2 > end:
            raise ProtocolError("truncated length in a BATCH message")
        (size,) = _U16.unpack_from(message, offset)
        offset += 2
        if size == _LONG:
            if offset + 4 > end:
                raise ProtocolError("truncated length in a BATCH message")
            (size,) = _U32.unpack_from(message, offset)
            offset += 4
        if offset + size > end:
            raise ProtocolError(f"BATCH packet of {size} bytes runs past the end of the message")
        packets.append(message[offset : offset + size])
        offset += size
        if len(packets) > MAX_BATCH_PACKETS:
            raise ProtocolError(f"BATCH message with more than {MAX_BATCH_PACKETS} packets")
    if not packets:
        raise ProtocolError("BATCH message with no packet")
    return packets


class NativeFraming(Framing):
    """The ``"native"`` profile: HELLO both ways, then PACKET and BATCH messages."""

    name = "native"
    client_greets = True  # the server learns the client's message limit before its id
    packet_overhead = PACKET_OVERHEAD
    resumable = True
    ack_kind = ACK

    def client_greeting(
        self,
        max_message_size: int,
        peer_id: int = 0,
        resumption: Resumption | None = None,
        grace: float = 0.0,
    ) -> bytes:
        return Hello.of(peer_id, max_message_size, resumption, grace).serialize()

    def parse_client_greeting(self, message: bytes) -> Greeting:
        return Hello.parse(message).greeting()

    def server_greeting(
        self,
        peer_id: int,
        max_message_size: int,
        resumption: Resumption | None = None,
        grace: float = 0.0,
    ) -> bytes:
        return Hello.of(peer_id, max_message_size, resumption, grace).serialize()

    def parse_server_greeting(self, message: bytes) -> Greeting:
        return self.parse_client_greeting(message)  # the same HELLO, with an id

    # (Methods that call the module's functions, not ``staticmethod`` attributes:
    # mypyc cannot override a method with one.)

    def ack(self, received: int) -> bytes:
        return serialize_ack(received)

    def parse_ack(self, message: bytes) -> int:
        return parse_ack(message)

    def encode(self, packets: Sequence[bytes], max_message_size: int) -> list[bytes]:
        return encode_packets(packets, max_message_size)

    def decode(self, message: bytes) -> list[bytes]:
        return parse_message(message)
