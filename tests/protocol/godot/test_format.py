"""Tests for :mod:`multiplayer.protocol.godot.format`: Godot 4's packets, byte for byte.

The hex strings marked "Godot 4.6" are packets the real engine sent (the web export
in headless Chromium, captured by the godot-oracle harness): a Godot client calling
``server_hello(42, "hello from godot", Vector2(1.5, -2.25))`` and so on, on a node
``Main`` whose RPC methods are client_done, client_echo, peer_msg, server_hello.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings, strategies as st

from multiplayer import Vector2
from multiplayer.exceptions import DecodingError, EncodingError
from multiplayer.protocol.godot.format import GodotFormat
from multiplayer.protocol.messages import (
    ConfirmPath,
    Despawn,
    Ping,
    Raw,
    Relay,
    RemoteCall,
    Request,
    SimplifyName,
    SimplifyPath,
    Spawn,
    Sync,
    SysAddPeer,
    SysAuth,
    SysDelPeer,
)
from multiplayer.protocol.native.codec import Codec

FORMAT = GodotFormat(Codec())
MD5 = hashlib.md5(b"client_doneclient_echopeer_msgserver_hello").hexdigest()

# Godot 4.6, client to server.
SIMPLIFY = "01" + MD5.encode().hex() + "00 01000000 4d61696e00"
CALL_BY_PATH = (
    "20 2d000080 03 03 022a 04000000 10000000 68656c6c6f2066726f6d20676f646f74"
    " 05000000 0000c03f 000010c0 4d61696e00"
)
CALL_BY_ID = "00 01 03 03 826079feff 04000000 06000000 7365636f6e640000 05000000 cdcccc3d e6b1617f"
RELAYED_CALL = (
    "07 03 03000000 20 1b000080 02 01 04000000 0c000000 68656c6c6f20706565722033 4d61696e00"
)


def packet(spaced_hex: str) -> bytes:
    return bytes.fromhex(spaced_hex.replace(" ", ""))


def test_md5_of_the_oracle_names_is_the_one_godot_sent() -> None:
    assert MD5 == "0632f0b807c8e2f2c320858b6654497e"


def test_godot_simplify_path_decodes_and_encodes_back() -> None:
    message = FORMAT.decode(packet(SIMPLIFY), allow_objects=False)
    assert message == SimplifyPath(1, "Main", MD5)
    assert FORMAT.encode(message) == packet(SIMPLIFY)


def test_godot_call_by_path_decodes_with_its_arguments() -> None:
    """The first call, before the path was confirmed: node field 0x80000000 | 45,
    the path after the arguments."""
    message = FORMAT.decode(packet(CALL_BY_PATH), allow_objects=False)
    assert message == RemoteCall(0, 3, [42, "hello from godot", Vector2(1.5, -2.25)], "Main")


def test_our_call_by_path_is_godots_byte_for_byte() -> None:
    args = [42, "hello from godot", Vector2(1.5, -2.25)]
    packed = FORMAT.pack_args(args, allow_objects=False)
    assert FORMAT.encode_call(0, 3, packed, 3, "Main") == packet(CALL_BY_PATH)
    assert FORMAT.encode(RemoteCall(0, 3, args, "Main")) == packet(CALL_BY_PATH)


def test_godot_call_by_cached_id_round_trips() -> None:
    """Once confirmed: 8-bit node id 1, method 3, argc 3, int -100000 in 4 bytes,
    and a Vector2 of f32s (0.1 as the f32 nearest to it)."""
    message = FORMAT.decode(packet(CALL_BY_ID), allow_objects=False)
    assert isinstance(message, RemoteCall)
    assert (message.path_id, message.name_id, message.path) == (1, 3, None)
    assert message.args[:2] == [-100000, "second"]
    assert message.args[2] == Vector2(0.10000000149011612, 3.0000000054977558e38)
    packed = FORMAT.pack_args(message.args, allow_objects=False)
    assert FORMAT.encode_call(1, 3, packed, 3) == packet(CALL_BY_ID)


def test_a_call_without_arguments_is_three_bytes() -> None:
    """Godot's client_done(): the "no arguments" flag, no argc byte."""
    assert FORMAT.encode(RemoteCall(1, 0, [])) == packet("80 01 00")
    assert FORMAT.decode(packet("80 01 00"), allow_objects=False) == RemoteCall(1, 0, [])


@pytest.mark.parametrize(
    ("path_id", "name_id", "head"),
    [
        (255, 255, "80 ff ff"),
        (256, 1, "90 0001 01"),
        (65536, 1, "a0 00000100 01"),
        (1, 256, "c0 01 0001"),
        (70000, 0x8001, "e0 70110100 0180"),
    ],
)
def test_id_widths_are_the_smallest_that_fit(path_id: int, name_id: int, head: str) -> None:
    data = FORMAT.encode(RemoteCall(path_id, name_id, []))
    assert data == packet(head)
    assert FORMAT.decode(data, allow_objects=False) == RemoteCall(path_id, name_id, [])


def test_one_bytes_argument_goes_raw() -> None:
    """A single PackedByteArray follows the ids as it is (flag 0x80, no header)."""
    data = FORMAT.encode(RemoteCall(1, 2, [b"\x01\x02\x03"]))
    assert data == packet("80 01 02 010203")
    assert FORMAT.decode(data, allow_objects=False) == RemoteCall(1, 2, [b"\x01\x02\x03"])


@pytest.mark.parametrize("value", [bytearray(b"\x01\x02\x03"), memoryview(b"\x01\x02\x03")])
def test_one_bytearray_or_memoryview_goes_raw_too(value: object) -> None:
    assert FORMAT.encode(RemoteCall(1, 2, [value])) == packet("80 01 02 010203")


def test_a_wide_call_writes_the_id_in_32_bits() -> None:
    """Godot's choice for confirmed peers of a call that others get by path."""
    assert FORMAT.encode_call(1, 2, b"\x80", 0, wide=True) == packet("a0 01000000 02")


def test_one_empty_bytes_argument_stays_one_argument() -> None:
    """Raw, it would arrive as no argument at all: it goes as a variant instead."""
    data = FORMAT.encode(RemoteCall(1, 2, [b""]))
    assert data == packet("00 01 02 01 1d000000 00000000")
    assert FORMAT.decode(data, allow_objects=False) == RemoteCall(1, 2, [b""])


def test_relayed_call_from_godot_decodes_inner_and_outer() -> None:
    outer = FORMAT.decode(packet(RELAYED_CALL), allow_objects=False)
    assert isinstance(outer, Relay) and outer.peer == 3
    inner = FORMAT.decode(outer.packet, allow_objects=False)
    assert inner == RemoteCall(0, 2, ["hello peer 3"], "Main")
    assert FORMAT.encode(outer) == packet(RELAYED_CALL)


@pytest.mark.parametrize(
    ("message", "hex_"),
    [
        (ConfirmPath(1, True), "02 01 01000000"),
        (ConfirmPath(7, False), "02 00 07000000"),
        (Raw(b"\xde\xad\xbe\xef"), "03 deadbeef"),
        (SysAuth(b"client-secret"), "07 00" + b"client-secret".hex()),
        (SysAuth(b""), "07 00"),
        (SysAddPeer(3), "07 01 03000000"),
        (SysDelPeer(3), "07 02 03000000"),
        (Relay(-6, b"\x03x"), "07 03 faffffff 0378"),
    ],
)
def test_small_packets_match_godots_layout(message: object, hex_: str) -> None:
    assert FORMAT.encode(message) == packet(hex_)  # type: ignore[arg-type]
    assert FORMAT.decode(packet(hex_), allow_objects=False) == message


@pytest.mark.parametrize("message", [Request(1, 1, 1, []), SimplifyName(1, "f"), Ping(1)])
def test_messages_godot_lacks_cannot_be_encoded(message: object) -> None:
    with pytest.raises(EncodingError, match="Godot's protocol has no"):
        FORMAT.encode(message)  # type: ignore[arg-type]


def test_awaited_calls_cannot_be_encoded() -> None:
    with pytest.raises(EncodingError, match="no awaited calls"):
        FORMAT.encode_request(1, 1, 1, b"\x80", 0)


def test_a_value_without_a_godot_type_raises_at_the_sender() -> None:
    with pytest.raises(EncodingError):
        FORMAT.pack_args([{1, 2}], allow_objects=False)


def test_more_than_255_arguments_raise() -> None:
    with pytest.raises(EncodingError, match="too many arguments"):
        FORMAT.pack_args([0] * 256, allow_objects=False)


def test_an_empty_raw_packet_cannot_be_encoded() -> None:
    with pytest.raises(EncodingError, match="empty RAW"):
        FORMAT.encode(Raw(b""))


def test_traits_say_what_godots_protocol_lacks() -> None:
    assert FORMAT.inline_paths and FORMAT.sorted_method_ids
    assert not FORMAT.awaitable_calls and not FORMAT.clock
    assert FORMAT.relay_growth == 0


@pytest.mark.parametrize(
    ("hex_", "match"),
    [
        ("", "empty"),
        ("30 01 00", "node id width"),
        ("00 01", "shorter than its ids"),
        ("00 01 00", "argument count"),
        ("00 01 00 01", "."),  # argc 1, no value
        ("00 01 00 00 ff", "past its arguments"),
        ("20 ff000080 00", "offset outside"),
        ("20 06000080 00 4d61696e", "NUL-terminated"),
        ("20 06000080 00 ff00", "UTF-8"),
        ("01 00", "too short"),
        ("01" + "7a" * 32 + "00 01000000 4d00", "hex digits"),
        ("02 01 01000000 00", "6 bytes"),
        ("02 02 01000000", "0 or 1"),
        ("03", "without bytes"),
        ("13 0102", "unknown flags"),
        ("07", "sub-command"),
        ("07 09 00000000", "unknown SYS"),
        ("07 01 0300", "too short"),
        ("07 01 03000000 00", "past the peer id"),
        ("07 03 03000000", "too short"),
    ],
)
def test_malformed_packets_raise_decoding_error(hex_: str, match: str) -> None:
    with pytest.raises(DecodingError, match=match):
        FORMAT.decode(packet(hex_), allow_objects=False)


# Hostile input: whatever the bytes, decode raises DecodingError or returns a message.

VALID = [packet(h) for h in (SIMPLIFY, CALL_BY_PATH, CALL_BY_ID, RELAYED_CALL, "80 01 00")]


def decodes_or_refuses(data: bytes) -> None:
    try:
        FORMAT.decode(data, allow_objects=False)
    except DecodingError:
        pass


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_only_raise_decoding_error(data: bytes) -> None:
    decodes_or_refuses(data)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_mutated_godot_packets_only_raise_decoding_error(valid: bytes, data: st.DataObject) -> None:
    """Godot's own packets, cut short, with bytes flipped, or with bytes added."""
    mutated = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(mutated) - 1))
        mutated[where] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    decodes_or_refuses(bytes(mutated[:cut]) + data.draw(st.binary(max_size=8)))


# Replication (SceneReplicationInterface, scene_replication_interface.cpp). Hand-computed
# from Godot's layouts, little-endian; the engine's own bytes for the same player are
# compared in tests/godot/test_replication.py.

# _make_spawn_packet: SPAWN, scene 0, spawner path id 1, node net id 1, one synchronizer
# (net id 2), name "Player" (7 with its NUL); its spawn state: position Vector2(3, 4)
# (VECTOR2 = 5, two float32) and score 5 (a compressed int: 0x02 = INT, 8 bits).
SPAWN = (
    "04 00 01000000 01000000 01000000 07000000 02000000 506c6179657200"
    " 05000000 00004040 00008040 0205"
)
# custom spawn (scene 0xFF): the spawn_function's argument, "x" (STRING = 4), its size
# first; no synchronizer, so no state.
CUSTOM_SPAWN = "04 ff 03000000 09000000 00000000 02000000 4100 0c000000 04000000 01000000 78000000"
# _send_sync: time 1, synchronizer 2: its 12 bytes of ALWAYS state (position).
SYNC = "06 0100 02000000 0c000000 05000000 00004040 00008040"
# _send_delta: synchronizer 2, ON_CHANGE properties 0 and 2 changed (mask 0b101): 5, True.
DELTA = "16 02000000 0500000000000000 03000000 0205 81"


def test_spawn_is_godots_layout() -> None:
    message = Spawn(1, 1, 0, "Player", None, [Vector2(3, 4), 5], [2])
    assert FORMAT.encode(message) == packet(SPAWN)
    assert FORMAT.decode(packet(SPAWN), allow_objects=False) == message


def test_custom_spawn_carries_its_argument() -> None:
    message = Spawn(3, 9, -1, "A", "x", [], [])
    assert FORMAT.encode(message) == packet(CUSTOM_SPAWN)
    assert FORMAT.decode(packet(CUSTOM_SPAWN), allow_objects=False) == message


def test_despawn_is_five_bytes() -> None:
    assert FORMAT.encode(Despawn(258)) == packet("05 02010000")
    assert FORMAT.decode(packet("05 02010000"), allow_objects=False) == Despawn(258)


def test_sync_and_delta_are_godots_layout() -> None:
    sync = Sync(1, [[2, [Vector2(3, 4)]]], [])
    assert FORMAT.encode(sync) == packet(SYNC)
    assert FORMAT.decode(packet(SYNC), allow_objects=False) == sync
    delta = Sync(0, [], [[2, [0, 5, 2, True]]])
    assert FORMAT.encode(delta) == packet(DELTA)
    assert FORMAT.decode(packet(DELTA), allow_objects=False) == delta


def test_sync_in_parts_is_the_same_bytes() -> None:
    state = FORMAT.pack_state([Vector2(3, 4)])
    body = FORMAT.sync_body([FORMAT.sync_entry(2, state)], [])
    assert FORMAT.sync_packet(65537, body) == packet(SYNC)  # the time wraps at 16 bits
    packed = [FORMAT.pack_value(v) for v in (5, "unchanged", True)]
    body = FORMAT.sync_body([], [FORMAT.sync_entry(2, FORMAT.pack_delta([0, 2], packed))])
    assert FORMAT.sync_packet(99, body) == packet(DELTA)  # a delta has no time


def test_replication_limits_are_godots() -> None:
    """Deltas go apart, at most 64 ON_CHANGE properties, ALWAYS packets of 1350."""
    assert FORMAT.sync_net_ids and FORMAT.delta_packets and FORMAT.sync_limit == 1350
    with pytest.raises(ValueError, match="separate packets"):
        FORMAT.sync_body([b"a"], [b"d"])
    with pytest.raises(EncodingError, match="at most 64"):
        FORMAT.pack_delta([64], [b"\x01"] * 65)
    with pytest.raises(EncodingError, match="separate packets"):
        FORMAT.encode(Sync(1, [[2, [1]]], [[2, [0, 1]]]))
    with pytest.raises(EncodingError, match="scene"):
        FORMAT.encode(Spawn(1, 1, 255, "A", None, []))


@pytest.mark.parametrize(
    ("hex_", "match"),
    [
        ("04 00 01000000 01000000", "too short"),
        ("04 00 01000000 01000000 ffffffff 02000000 4100", "ids and a name"),
        ("04 00 01000000 01000000 00000000 03000000 4100", "ids and a name"),
        ("04 00 01000000 01000000 00000000 02000000 4141", "NUL-terminated"),
        ("04 00 01000000 01000000 00000000 02000000 4100 05", "."),  # truncated state
        ("04 ff 01000000 01000000 00000000 02000000 4100 0900", "argument's size"),
        ("04 ff 01000000 01000000 00000000 02000000 4100 09000000 00", "overruns"),
        ("05 01000000 00", "5 bytes"),
        ("06 0100 02000000", "too short"),
        ("06 0100 02000000 ff000000 000000", "overruns"),
        ("06 0100 02000000 01000000 01 0000", "inside an entry"),
        ("06 0100 02000000 01000000 02", "truncated"),  # 0x02, an 8-bit int, wants a byte
        ("16 02000000 0000000000000000 01000000 01", "without properties"),
        ("16 02000000 0300000000000000 01000000 01", "not 2"),
        ("26 0100 02000000 01000000 01", "unknown flags"),
    ],
)
def test_malformed_replication_packets_raise_decoding_error(hex_: str, match: str) -> None:
    with pytest.raises(DecodingError, match=match):
        FORMAT.decode(packet(hex_), allow_objects=False)


def test_a_packet_has_one_budget_of_values() -> None:
    """The codec's max_objects bounds a whole packet, not each of its values: a call
    whose arguments each fit is refused when together they do not."""
    small = GodotFormat(Codec(max_objects=20))
    fits = small.encode(RemoteCall(1, 0, [[None] * 8, [None] * 8]))  # 2 + 2 * (1 + 8)
    assert small.decode(fits, allow_objects=False).args == [[None] * 8, [None] * 8]
    over = small.encode(RemoteCall(1, 0, [[None] * 8] * 3))
    with pytest.raises(DecodingError, match="more than max_objects=20 values"):
        small.decode(over, allow_objects=False)
    assert small.decode(fits, allow_objects=False).args == [[None] * 8, [None] * 8]
