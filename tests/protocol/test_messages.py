"""The high-level packet format: golden bytes, and refusal of malformed packets."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given, strategies as st

from multiplayer import DecodingError
from multiplayer.protocol.messages import (
    Command,
    ConfirmPath,
    Raw,
    Relay,
    RemoteCall,
    SimplifyName,
    SimplifyPath,
    SysAddPeer,
    SysAuth,
    SysDelPeer,
    decode,
    encode_call,
    inner_command,
)
from multiplayer.protocol.native.codec import default_codec, pack_array_items


def parse(data: bytes) -> Any:
    return decode(data, default_codec, allow_objects=False)


def test_cached_call_golden_bytes() -> None:
    """b_func(5) on path id 1 and name id 1 is 94 00 01 01 05 (5 bytes; Godot: 6)."""
    packet = encode_call(1, 1, pack_array_items([5]), 1)
    assert packet == bytes.fromhex("9400010105")
    assert parse(packet) == RemoteCall(1, 1, [5])


@pytest.mark.parametrize("ident", [0, 1, 127, 128, 65535, 65536, 2**31])
def test_call_ids_of_every_size(ident: int) -> None:
    """Ids of 1, 3 and 5 bytes encode as valid msgpack and decode back."""
    packet = encode_call(ident, ident, pack_array_items(["x", None]), 2)
    assert msgpack.unpackb(packet) == [0, ident, ident, "x", None]
    assert parse(packet) == RemoteCall(ident, ident, ["x", None])


def test_no_argument_call() -> None:
    """A call without arguments is c1 and its two ids: 3 bytes, like Godot's."""
    assert encode_call(2, 3, b"", 0) == bytes.fromhex("c10203")
    assert parse(bytes.fromhex("c10203")) == RemoteCall(2, 3, [])
    assert parse(encode_call(300, 70000, b"", 0)) == RemoteCall(300, 70000, [])
    assert inner_command(bytes.fromhex("c10203")) == Command.REMOTE_CALL


@pytest.mark.parametrize("hexed", ["c1", "c101", "c1010101", "c1a17801", "c101c3", "c1c001"])
def test_malformed_bare_calls_are_refused(hexed: str) -> None:
    """A bare call needs exactly two int ids after c1."""
    with pytest.raises(DecodingError):
        parse(bytes.fromhex(hexed))


@pytest.mark.parametrize(
    ("message", "golden"),
    [
        (SimplifyPath(1, "Player"), "930101a6506c61796572"),
        (SimplifyName(1, "b_func"), "930801a6625f66756e63"),
        (ConfirmPath(1, True), "930201c3"),
        (Raw(b"\x01"), "9203c40101"),
        (SysAuth(b""), "930700c400"),
        (SysAddPeer(5), "93070105"),
        (SysDelPeer(5), "93070205"),
        (Relay(-3, b"\x90"), "940703fdc40190"),
    ],
)
def test_golden_bytes_and_round_trip(message: Any, golden: str) -> None:
    """Each message has the documented bytes and decodes back to itself."""
    data = message.serialize(default_codec)
    assert data.hex() == golden
    assert parse(data) == message


@pytest.mark.parametrize(
    "items",
    [
        [],
        [99],
        ["0", 1, 1],
        [0, 1],
        [0, "1", 1],
        [0, True, 1],
        [1, 1],
        [1, 1, 2],
        [1, 1, "p", "extra"],
        [2, 1, 1],
        [3, "text"],
        [7],
        [7, 9, 1],
        [7, 1, "2"],
        [7, 3, 2],
        [7, 3, 2, "not bytes"],
        [8, 1, b"name"],
    ],
)
def test_malformed_packets_are_refused(items: list[Any]) -> None:
    """Wrong shapes or types raise DecodingError, never anything else."""
    with pytest.raises(DecodingError):
        parse(msgpack.packb(items))


@pytest.mark.parametrize("data", [b"", b"\x05", b"\xc1", b"\x94\x00", b"\x81\x00\x00", b"\xc1\x00"])
def test_non_array_or_broken_msgpack_is_refused(data: bytes) -> None:
    """A packet that is not a msgpack array raises DecodingError."""
    with pytest.raises(DecodingError):
        parse(data)


@given(st.binary(max_size=64))
def test_random_bytes_only_raise_decoding_error(data: bytes) -> None:
    """Whatever the bytes, decode returns a message or raises DecodingError."""
    try:
        parse(data)
    except DecodingError:
        pass
