"""Tests for :mod:`multiplayer.transport.framing.native`: the native wire format."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from multiplayer.exceptions import ProtocolError
from multiplayer.transport.framing.base import Greeting, Resumption
from multiplayer.transport.framing.native import (
    ACK,
    BARE_MIN,
    BATCH,
    HELLO,
    PACKET,
    PACKET_OVERHEAD,
    PROTOCOL_VERSION,
    Hello,
    NativeFraming,
    encode_packets,
    parse_ack,
    parse_message,
    serialize_ack,
)

# No deadline: a slow CI machine must not turn a correct run into a failure.
hypothesis_settings = settings(deadline=None)


def test_message_kind_constants() -> None:
    """The kind bytes and the PACKET overhead match the documented layout."""
    assert (PACKET, BATCH, HELLO, ACK, BARE_MIN) == (0x00, 0x01, 0x02, 0x03, 0x10)
    assert PACKET_OVERHEAD == 1
    assert PROTOCOL_VERSION == 4


def test_a_lone_packet_goes_bare_unless_its_first_byte_is_a_kind() -> None:
    """A message of one packet is the packet itself when its first byte is 0x10 or
    more (every packet of the high-level layer: a msgpack array, or 0xC1), so a call
    costs no framing byte; lower (or empty), it goes as a PACKET. Both parse back."""
    call = bytes.fromhex("c1 01 01")  # a call without arguments
    array = bytes.fromhex("93 00 01 01")
    for packet in (call, array, b"\x10", b"\xff" * 300):
        assert encode_packets([packet], 1 << 20) == [packet]
        assert parse_message(packet) == [packet]
    for packet in (b"", b"\x00", b"\x01abc", b"\x0f"):
        assert encode_packets([packet], 1 << 20) == [b"\x00" + packet]
        assert parse_message(b"\x00" + packet) == [packet]
    # A packet too large to share a batch goes alone, bare where it can.
    assert encode_packets([b"\x90", call * 4], 12) == [b"\x90", call * 4]


def test_reserved_kinds_are_refused() -> None:
    for kind in range(0x04, BARE_MIN):
        with pytest.raises(ProtocolError, match="unexpected message kind"):
            parse_message(bytes((kind, 1, 2)))


# Hello.

TOKEN = bytes(range(16))


@pytest.mark.parametrize(
    ("hello", "expected"),
    [
        # [02][version 03][id 3 LE][max 0x00100000 LE][grace 0][received 0][no token]
        (Hello(3, 1048576), "02 04 03000000 00001000 00000000 0000000000000000 00"),
        (Hello(0, 65536), "02 04 00000000 00000100 00000000 0000000000000000 00"),
        (
            Hello(0x01020304, 0xAABBCCDD, 30000, 0x0102030405060708, TOKEN),
            "02 04 04030201 DDCCBBAA 30750000 0807060504030201 10" + TOKEN.hex(),
        ),
        (Hello(2, 64, version=7), "02 07 02000000 40000000 00000000 0000000000000000 00"),
    ],
)
def test_hello_serialize_golden_bytes(hello: Hello, expected: str) -> None:
    """Hello.serialize() produces [0x02][u8 version][u32 id][u32 max][u32 grace_ms]
    [u64 received][u8 token length][token], little-endian."""
    assert hello.serialize() == bytes.fromhex(expected)


@pytest.mark.parametrize(
    "hello",
    [
        Hello(0, 64),
        Hello(2, 1 << 20),
        Hello(2**32 - 1, 2**32 - 1, 2**32 - 1, 2**64 - 1, TOKEN),
        Hello(5, 1024, 0, 17, TOKEN),
    ],
)
def test_hello_parse_round_trip(hello: Hello) -> None:
    """Hello.parse(hello.serialize()) gives back an equal Hello."""
    parsed = Hello.parse(hello.serialize())
    assert parsed == hello
    assert parsed.version == PROTOCOL_VERSION


def test_hello_parse_golden_bytes() -> None:
    """Hello.parse() reads the fields little-endian."""
    data = bytes.fromhex("0204 05000000 00040000 e8030000 0900000000000000 10") + TOKEN
    assert Hello.parse(data) == Hello(5, 1024, 1000, 9, TOKEN)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02",
        bytes.fromhex("0204 03000000 00001000 00000000 0000000000000000"),  # one byte short
        bytes.fromhex("0204 03000000 00001000 00000000 0000000000000000 0000"),  # one long
        bytes.fromhex("0204 03000000 00001000 00000000 0000000000000000 10") + TOKEN[:15],
        bytes.fromhex("0204 03000000 00001000 00000000 0000000000000000 0f") + TOKEN,
        bytes.fromhex("0204 03000000 00001000 00000000 0000000000000000 00") + TOKEN,
        bytes.fromhex("00"),
    ],
)
def test_hello_parse_rejects_wrong_length(data: bytes) -> None:
    """A HELLO that is not 23 bytes, or 23 and a 16-byte token whose length byte says
    so, raises ProtocolError."""
    with pytest.raises(ProtocolError):
        Hello.parse(data)


@pytest.mark.parametrize("kind", [PACKET, BATCH, ACK, 0xFF])
def test_hello_parse_rejects_wrong_kind(kind: int) -> None:
    """A message whose kind byte is not HELLO raises ProtocolError."""
    data = bytes([kind]) + Hello(3, 1024).serialize()[1:]
    with pytest.raises(ProtocolError):
        Hello.parse(data)


@pytest.mark.parametrize("version", [0, 1, 2, 3, 5, 255])
def test_hello_parse_rejects_wrong_version(version: int) -> None:
    """A HELLO of another protocol version (version 1 had no resume, 2 no peer
    lists, 3 no bare packets) raises ProtocolError naming the version."""
    data = Hello(3, 1024, version=version).serialize()
    with pytest.raises(ProtocolError, match=f"version {version}"):
        Hello.parse(data)


def test_a_version_1_hello_is_refused_by_its_version() -> None:
    """A 10-byte HELLO of version 1 (an older peer) is refused for its version, not
    for its length: the message says what is wrong."""
    with pytest.raises(ProtocolError, match="version 1 is not supported"):
        Hello.parse(bytes.fromhex("0201 03000000 00001000"))


def test_hello_of_a_resumption_rounds_the_grace_to_milliseconds() -> None:
    """Hello.of() puts the grace in milliseconds; greeting() reads it back in seconds."""
    hello = Hello.of(4, 4096, Resumption(TOKEN, 12), 2.5)
    assert (hello.grace_ms, hello.received, hello.token) == (2500, 12, TOKEN)
    assert hello.greeting() == Greeting(4, 4096, Resumption(TOKEN, 12), 2.5)
    assert Hello.of(4, 4096, None).greeting() == Greeting(4, 4096)
    # A new client tells its grace, with no token yet.
    assert Hello.of(0, 4096, None, 30.0).greeting() == Greeting(0, 4096, None, 30.0)


def test_hello_of_refuses_a_token_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Hello.of(4, 4096, Resumption(b"short"))


# ACK.


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "03 0000000000000000"), (258, "03 0201000000000000")]
)
def test_ack_golden_bytes(count: int, expected: str) -> None:
    """An ACK is [0x03][u64 received LE]."""
    assert serialize_ack(count) == bytes.fromhex(expected)
    assert parse_ack(bytes.fromhex(expected)) == count


@pytest.mark.parametrize("data", [b"\x03", bytes.fromhex("03 00000000000000"), b"\x00" * 9])
def test_parse_ack_rejects_a_malformed_ack(data: bytes) -> None:
    with pytest.raises(ProtocolError, match="malformed ACK"):
        parse_ack(data)


def test_an_ack_is_not_a_data_message() -> None:
    """parse_message() does not take an ACK for packets: the peer reads it apart."""
    with pytest.raises(ProtocolError, match="unexpected message kind 0x03"):
        parse_message(serialize_ack(1))


# encode_packets.


def test_encode_one_packet_is_a_plain_packet_message() -> None:
    """A single packet whose first byte is under 0x10 is sent as [0x00] followed by
    the payload; from 0x10, as it is."""
    assert encode_packets([b"\x05hello"], 100) == [b"\x00\x05hello"]
    assert encode_packets([b"hello"], 100) == [b"hello"]
    assert encode_packets([b""], 100) == [b"\x00"]


def test_encode_no_packet_gives_no_message() -> None:
    """Encoding an empty list of packets produces no message."""
    assert encode_packets([], 100) == []


def test_encode_several_packets_is_one_batch_golden_bytes() -> None:
    """Several packets become one BATCH: [0x01] then u16 LE length and payload per packet."""
    messages = encode_packets([b"ab", b"", b"xyz"], 100)
    assert messages == [bytes.fromhex("01 0200 6162 0000 0300 78797a")]


def test_encode_long_packet_uses_the_u32_escape() -> None:
    """A packet of 65535 bytes or more has length 0xFFFF followed by a u32 LE."""
    long = b"\xaa" * 65535
    messages = encode_packets([long, b"z"], 1 << 20)
    assert messages == [bytes.fromhex("01 ffff ffff0000") + long + bytes.fromhex("0100 7a")]
    assert parse_message(messages[0]) == [long, b"z"]


def test_encode_packet_just_below_the_escape_uses_u16() -> None:
    """A packet of 65534 bytes still has a plain u16 length."""
    packet = b"\xbb" * 65534
    messages = encode_packets([b"a", packet], 1 << 20)
    assert messages == [bytes.fromhex("01 0100 61 feff") + packet]


def test_encode_very_long_packet_uses_the_u32_escape() -> None:
    """A packet of 70000 bytes is framed as 0xFFFF + u32 70000."""
    packet = bytes(range(256)) * 273 + b"\x01" * 112  # 70000 bytes
    assert len(packet) == 70000
    messages = encode_packets([packet, b""], 1 << 20)
    assert messages == [bytes.fromhex("01 ffff 70110100") + packet + bytes.fromhex("0000")]


def test_encode_splits_into_messages_that_fit() -> None:
    """Packets that do not fit one message are split; a lone leftover is a plain PACKET."""
    packets = [bytes([i]) * 10 for i in range(5)]  # 12 bytes each in a batch
    messages = encode_packets(packets, 30)

    assert messages == [
        b"\x01" + b"\x0a\x00" + packets[0] + b"\x0a\x00" + packets[1],
        b"\x01" + b"\x0a\x00" + packets[2] + b"\x0a\x00" + packets[3],
        b"\x00" + packets[4],
    ]
    assert all(len(m) <= 30 for m in messages)
    assert [p for m in messages for p in parse_message(m)] == packets


def test_encode_batch_exactly_at_the_limit_is_not_split() -> None:
    """A batch of exactly max_message_size bytes stays one message; one byte less splits it."""
    packets = [b"a" * 10, b"b" * 10]  # 1 + (2 + 10) * 2 = 25 bytes as one batch

    assert encode_packets(packets, 25) == [b"\x01\x0a\x00" + packets[0] + b"\x0a\x00" + packets[1]]
    assert encode_packets(packets, 24) == packets  # (each alone, bare: "a" is 0x61)


def test_encode_packet_too_big_for_a_batch_goes_alone() -> None:
    """A packet that fits only as a plain PACKET is sent alone, order preserved."""
    packets = [b"y", b"x" * 11, b"z"]
    messages = encode_packets(packets, 12)

    assert messages == [b"y", b"x" * 11, b"z"]  # (bare: their first bytes are letters)
    assert all(len(m) <= 12 for m in messages)


def test_encode_many_packets_round_trip_with_every_message_in_size() -> None:
    """Many packets of mixed sizes split into messages <= max and parse back in order."""
    packets = [bytes([i % 256]) * (i * 7 % 50) for i in range(200)]
    messages = encode_packets(packets, 64)

    assert len(messages) > 1
    assert all(len(m) <= 64 for m in messages)
    assert [p for m in messages for p in parse_message(m)] == packets


@st.composite
def packets_and_limit(draw: st.DrawFn) -> tuple[list[bytes], int]:
    packets = draw(st.lists(st.binary(max_size=300), max_size=30))
    largest = max((len(p) for p in packets), default=0)
    limit = draw(st.integers(min_value=largest + PACKET_OVERHEAD, max_value=largest + 400))
    return packets, limit


@hypothesis_settings
@given(packets_and_limit())
def test_encode_parse_round_trip_property(case: tuple[list[bytes], int]) -> None:
    """For any packets that each fit, every message fits and parsing gives the packets back."""
    packets, limit = case
    messages = encode_packets(packets, limit)

    assert all(len(m) <= limit for m in messages)
    assert [p for m in messages for p in parse_message(m)] == packets


# parse_message.


def test_parse_packet_message() -> None:
    """A PACKET message yields its payload, even an empty one."""
    assert parse_message(b"\x00abc") == [b"abc"]
    assert parse_message(b"\x00") == [b""]


def test_parse_batch_golden_bytes() -> None:
    """A BATCH message yields each length-prefixed payload in order."""
    data = bytes.fromhex("01 0200 6162 0000 ffff 01000000 63")
    assert parse_message(data) == [b"ab", b"", b"c"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x02" + b"\x00" * 9, "kind"),  # a HELLO after the handshake
        (b"\x03abc", "kind"),
        (b"\x04", "kind"),
        (b"\x0f\x01", "kind"),
        (b"\x01\x05", "truncated"),  # one byte of a u16 length
        (b"\x01\x01\x00a\x00", "truncated"),  # a valid packet, then half a length
        (b"\x01\xff\xff\x01\x00", "truncated"),  # escape with half a u32
        (b"\x01\xff\xff", "truncated"),  # escape with no u32
        (b"\x01\x05\x00ab", "past the end"),
        (b"\x01\x01\x00a\x02\x00b", "past the end"),
        (b"\x01\xff\xff\x00\x00\x01\x00", "past the end"),
        (b"\x01", "no packet"),
    ],
)
def test_parse_rejects_malformed_messages(data: bytes, reason: str) -> None:
    """Malformed messages raise ProtocolError (and no other exception type)."""
    with pytest.raises(ProtocolError, match=reason):
        parse_message(data)


@hypothesis_settings
@given(
    st.one_of(
        st.binary(max_size=64),
        st.binary(max_size=64).map(lambda b: b"\x01" + b),
        st.binary(max_size=64).map(lambda b: b"\x01\xff\xff" + b),
    )
)
def test_parse_random_bytes_returns_packets_or_raises_protocol_error(data: bytes) -> None:
    """parse_message on arbitrary bytes returns a list of bytes or raises ProtocolError."""
    try:
        packets = parse_message(data)
    except ProtocolError:
        return
    assert isinstance(packets, list)
    assert packets
    assert all(isinstance(p, bytes) for p in packets)
    if data[0] >= BARE_MIN:  # a bare packet: the message itself
        assert packets == [data]
    else:
        assert sum(len(p) for p in packets) < len(data)


def test_batches_are_split_at_max_batch_packets() -> None:
    """No BATCH carries more than MAX_BATCH_PACKETS packets; all come back in order."""
    from multiplayer.transport.framing.native import MAX_BATCH_PACKETS

    packets = [bytes([i % 256]) for i in range(MAX_BATCH_PACKETS * 2 + 5)]
    messages = encode_packets(packets, 1 << 20)
    assert len(messages) == 3
    assert all(len(parse_message(m)) <= MAX_BATCH_PACKETS for m in messages)
    assert [p for m in messages for p in parse_message(m)] == packets


# NativeFraming: the same format through the Framing interface.


def test_native_framing_identity() -> None:
    """The native profile: the client greets first, and a PACKET costs one byte."""
    framing = NativeFraming()
    assert framing.name == "native"
    assert framing.client_greets is True
    assert framing.packet_overhead == PACKET_OVERHEAD == 1


def test_native_framing_greetings_golden_bytes() -> None:
    """Both greetings are HELLOs: the client's with id 0, the server's with the new id
    and, when it offers to resume, the grace and the token."""
    framing = NativeFraming()
    assert framing.resumable and framing.ack_kind == ACK
    client = framing.client_greeting(1 << 20, grace=10.0)
    server = framing.server_greeting(3, 65536, Resumption(TOKEN), 10.0)
    assert client == bytes.fromhex("0204 00000000 00001000 10270000 0000000000000000 00")
    assert server == bytes.fromhex("0204 03000000 00000100 10270000 0000000000000000 10") + TOKEN
    assert framing.parse_client_greeting(client) == Greeting(0, 1 << 20, None, 10.0)
    assert framing.parse_server_greeting(server) == Greeting(3, 65536, Resumption(TOKEN), 10.0)


def test_native_framing_resume_greeting() -> None:
    """A client that resumes greets with its id, its count and the token."""
    framing = NativeFraming()
    client = framing.client_greeting(4096, 7, Resumption(TOKEN, 41))
    assert framing.parse_client_greeting(client) == Greeting(7, 4096, Resumption(TOKEN, 41))
    assert framing.ack(41) == serialize_ack(41)
    assert framing.parse_ack(serialize_ack(41)) == 41


@pytest.mark.parametrize("data", [b"", b"\x00packet", bytes.fromhex("0201 03000000 00000100")])
def test_native_framing_rejects_a_bad_greeting(data: bytes) -> None:
    """A greeting that is not a HELLO of this version raises ProtocolError, both ways."""
    framing = NativeFraming()
    with pytest.raises(ProtocolError):
        framing.parse_client_greeting(data)
    with pytest.raises(ProtocolError):
        framing.parse_server_greeting(data)


def test_native_framing_encodes_a_batch_and_decodes_it() -> None:
    """encode() coalesces the packets of one flush into one BATCH; decode() splits it."""
    framing = NativeFraming()
    messages = framing.encode([b"ab", b"", b"c"], 1 << 20)
    assert messages == [bytes.fromhex("01 0200 6162 0000 0100 63")]
    assert framing.decode(messages[0]) == [b"ab", b"", b"c"]
    assert framing.encode([b"\x01solo"], 1 << 20) == [b"\x00\x01solo"]
    assert framing.encode([b"solo"], 1 << 20) == [b"solo"]
    with pytest.raises(ProtocolError):
        framing.decode(b"\x09")


def test_native_framing_is_the_module_functions() -> None:
    """framing.encode / decode do what the module's functions do."""
    framing = NativeFraming()
    packets = [b"ab", b"", b"c"]
    assert framing.encode(packets, 1 << 20) == encode_packets(packets, 1 << 20)
    message = framing.encode(packets, 1 << 20)[0]
    assert framing.decode(message) == parse_message(message) == packets
