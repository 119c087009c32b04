"""The native packet format: golden bytes, round trips, refusal of malformed packets."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given, strategies as st

from multiplayer import DecodingError, EncodingError
from multiplayer.protocol.messages import (
    ConfirmPath,
    Despawn,
    ForgetPath,
    Ping,
    Pong,
    Raw,
    Relay,
    RemoteCall,
    Request,
    Response,
    SimplifyName,
    SimplifyPath,
    Spawn,
    Status,
    Sync,
    SysAddPeer,
    SysAddPeers,
    SysAuth,
    SysDelPeer,
)
from multiplayer.protocol.native.codec import Codec, default_codec
from multiplayer.protocol.native.format import RELAY_ID_ROOM, NativeFormat

FORMAT = NativeFormat(default_codec)


def parse(data: bytes) -> Any:
    return FORMAT.decode(data, allow_objects=False)


def test_fast_paths() -> None:
    """pack_args is the codec's own method; calls decode back to RemoteCall/Request."""
    assert FORMAT.pack_args == default_codec.pack_array_items
    call = FORMAT.encode_call(1, 1, FORMAT.pack_args([5], allow_objects=False), 1)
    assert call == bytes.fromhex("9400010105")
    assert parse(call) == RemoteCall(1, 1, [5])
    assert parse(bytes.fromhex("c10203")) == RemoteCall(2, 3, [])
    request = FORMAT.encode_request(7, 1, 2, FORMAT.pack_args(["a"], allow_objects=False), 1)
    assert parse(request) == Request(7, 1, 2, ["a"])


def test_sync_fast_paths() -> None:
    """Values and ALWAYS states are packed by the codec's own packb (no extra frame);
    the other SYNC parts are the layout's, with this format's codec."""
    codec = Codec()
    native = NativeFormat(codec)
    assert native.pack_value == codec.packb and native.pack_state == codec.packb
    entry = native.sync_entry(7, native.pack_delta([0], [native.pack_value("x")]))
    packet = native.sync_packet(3, native.sync_body([], [entry]))
    assert native.decode(packet, allow_objects=False) == Sync(3, [], [[7, [0, "x"]]])
    assert native.state_size([0, "x"], delta=True) == len(entry) - 2
    assert native.sync_room == 16


def test_relay_growth_is_an_int32_in_msgpack() -> None:
    """A peer id takes at most 5 bytes: what a forwarded relay may grow by."""
    assert FORMAT.relay_growth == RELAY_ID_ROOM == len(msgpack.packb(-(2**31)))


@pytest.mark.parametrize(
    ("message", "golden"),
    [
        (SimplifyPath(1, "Player"), "930101a6506c61796572"),
        (SimplifyName(1, "b_func"), "930801a6625f66756e63"),
        (ConfirmPath(1, True), "930201c3"),
        (Raw(b"\x01"), "9203c40101"),
        (SysAuth(b""), "930700c400"),
        (SysAddPeer(5), "93070105"),
        (SysAddPeers([5, 7]), "9307049205" + "07"),
        (SysDelPeer(5), "93070205"),
        (Relay(-3, b"\x90"), "940703fdc40190"),
        (ForgetPath(3), "920b03"),
        (Ping(1), "920c01"),
        (Despawn(2), "920502"),
        (RemoteCall(1, 1, [5]), "9400010105"),
    ],
)
def test_golden_bytes_and_round_trip(message: Any, golden: str) -> None:
    """Each message has the documented bytes and decodes back to itself."""
    data = FORMAT.encode(message)
    assert data.hex() == golden
    assert parse(data) == message


@pytest.mark.parametrize(
    "message",
    [
        Request(1, 2, 3, [None]),
        Response(1, Status.REFUSED, "no"),
        Spawn(1, 2, -1, "Ship", {"hp": 3}, [[1, 2.5]]),
        Sync(65535, [[1, [1, 2]]], [[2, [0, "x"]]]),
        Pong(4, 12.5),
    ],
)
def test_round_trips(message: Any) -> None:
    """The other messages decode back to themselves."""
    assert parse(FORMAT.encode(message)) == message


@pytest.mark.parametrize("peers", [[5, "7"], [5, True], [5.0], 5])
def test_a_peer_list_names_integers_only(peers: Any) -> None:
    """SYS ADD_PEERS ``[7, 4, [ids]]``: anything but a list of integers is refused."""
    with pytest.raises(DecodingError):
        parse(msgpack.packb([7, 4, peers]))


def test_values_follow_the_codec() -> None:
    """Registered types travel only with allow_objects, with the format's codec."""

    class Card:
        def __init__(self, rank: int) -> None:
            self.rank = rank

    codec = Codec()
    codec.register_type(Card, 40, lambda c: bytes([c.rank]), lambda b: Card(b[0]))
    native = NativeFormat(codec)
    data = native.encode_call(1, 1, native.pack_args([Card(3)], allow_objects=True), 1)
    assert native.decode(data, allow_objects=True).args[0].rank == 3  # type: ignore[union-attr]
    with pytest.raises(DecodingError):
        native.decode(data, allow_objects=False)
    with pytest.raises(EncodingError):
        FORMAT.pack_args([Card(3)], allow_objects=True)


@pytest.mark.parametrize("hexed", ["c1", "c101", "c1010101", "c1a17801", "c101c3", "c1c001"])
def test_malformed_bare_calls_are_refused(hexed: str) -> None:
    """A bare call needs exactly two int ids after c1."""
    with pytest.raises(DecodingError):
        parse(bytes.fromhex(hexed))


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
        [9, 1, 2],
        [10, 1, 5, None],
        [12, 1.5],
        [13, 1, 2],
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
