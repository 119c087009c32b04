"""Tests for the high-level payload codec in :mod:`multiplayer.codec`."""

from __future__ import annotations

import enum
import math
import struct
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from multiplayer.exceptions import DecodingError, EncodingError, MultiplayerError
from multiplayer.protocol.native import codec as codec_module
from multiplayer.protocol.native.codec import (
    EXT_COLOR_F32,
    EXT_COLOR_F64,
    EXT_QUATERNION_F32,
    EXT_QUATERNION_F64,
    EXT_RECT2_F32,
    EXT_RECT2_F64,
    EXT_RECT2I,
    EXT_TUPLE,
    EXT_VECTOR2_F32,
    EXT_VECTOR2_F64,
    EXT_VECTOR2I,
    EXT_VECTOR3_F32,
    EXT_VECTOR3_F64,
    EXT_VECTOR3I,
    EXT_VECTOR4_F32,
    EXT_VECTOR4_F64,
    EXT_VECTOR4I,
    USER_CODES,
    Codec,
    array_header,
    pack_array_items,
    packb,
    register_type,
    unpackb,
)
from multiplayer.values import (
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

# No deadline: a slow CI machine must not turn a correct run into a failure.
hypothesis_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def h(text: str) -> bytes:
    """Bytes from hex with spaces, for readable golden vectors."""
    return bytes.fromhex(text)


def ext(code: int, data: bytes) -> bytes:
    """An ext type as msgpack writes it: fixext for 1, 2, 4, 8 or 16 bytes, else ext 8/16."""
    fixext = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
    if len(data) in fixext:
        return bytes((fixext[len(data)], code & 0xFF)) + data
    if len(data) <= 0xFF:
        return bytes((0xC7, len(data), code & 0xFF)) + data
    return b"\xc8" + len(data).to_bytes(2, "big") + bytes((code & 0xFF,)) + data


def ext_data(packed: bytes) -> tuple[int, bytes]:
    """The code and the data of a packed ext type (the inverse of :func:`ext`)."""
    if 0xD4 <= packed[0] <= 0xD8:
        return packed[1], packed[2:]
    assert packed[0] == 0xC7 and packed[1] == len(packed) - 3
    return packed[2], packed[3:]


def assert_same(a: Any, b: Any) -> None:
    """Equal, and of the same types all the way down (a tuple is not a list)."""
    assert type(a) is type(b), (a, b)
    if type(a) in (list, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif type(a) is dict:
        assert len(a) == len(b)
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True):
            assert_same(ka, kb)
            assert_same(va, vb)
    elif type(a) in (Rect2, Rect2i):
        assert_same((a.position, a.size), (b.position, b.size))
    elif type(a) in (Vector2, Vector2i, Vector3, Vector3i, Vector4, Vector4i, Quaternion, Color):
        assert_same(tuple(a), tuple(b))
    elif type(a) is float:
        assert a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    else:
        assert a == b


@dataclass(frozen=True)
class Point:
    """A user type, sent as two little-endian int32."""

    x: int
    y: int


def encode_point(point: Point) -> bytes:
    return struct.pack("<ii", point.x, point.y)


def decode_point(data: bytes) -> Point:
    x, y = struct.unpack("<ii", data)
    return Point(x, y)


POINT_CODE = 40


def point_codec() -> Codec:
    """A fresh codec with Point registered: the default codec stays untouched."""
    fresh = Codec()
    fresh.register_type(Point, POINT_CODE, encode_point, decode_point)
    return fresh


@pytest.fixture
def codec() -> Codec:
    return point_codec()


# Golden bytes.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "c0"),
        (True, "c3"),
        (False, "c2"),
        (0, "00"),
        (-1, "ff"),
        (300, "cd 01 2c"),
        (2**64 - 1, "cf ffffffffffffffff"),
        (INT64_MIN, "d3 8000000000000000"),
        (1.5, "cb 3ff8000000000000"),
        ("a", "a1 61"),
        (b"\x00", "c4 01 00"),  # bin 8, not str: use_bin_type
        ([], "90"),
        ({}, "80"),
        ([1, "a"], "92 01 a1 61"),
        ({1: 2}, "81 01 02"),
    ],
)
def test_plain_values_golden_bytes(value: Any, expected: str) -> None:
    """Plain values are packed as standard msgpack and come back unchanged."""
    assert packb(value) == h(expected)
    assert_same(unpackb(h(expected)), value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # fixext 8, code 1: two f32 LE.
        (Vector2(1.5, 2.0), "d7 01 0000c03f 00000040"),
        # fixext 16, code 2: 0.1 is not an f32, so two f64 LE.
        (Vector2(0.1, 2.0), "d8 02 9a9999999999b93f 0000000000000040"),
        # fixext 2, code 3: two positive fixints.
        (Vector2i(3, 4), "d5 03 03 04"),
        # fixext 4: a negative fixint and a uint16.
        (Vector2i(-1, 300), "d6 03 ff cd012c"),
        # ext 8 of 18 bytes: int64 then uint64, the extremes.
        (Vector2i(INT64_MIN, INT64_MAX), "c7 12 03 d3 8000000000000000 cf 7fffffffffffffff"),
        # ext 8 of 12 bytes, code 4: three f32.
        (Vector3(1, 2, 3), "c7 0c 04 0000803f 00000040 00004040"),
        # ext 8 of 24 bytes, code 5: three f64.
        (
            Vector3(0.1, 0, 0),
            "c7 18 05 9a9999999999b93f 0000000000000000 0000000000000000",
        ),
        # ext 8 of 3 bytes, code 6.
        (Vector3i(1, 2, 3), "c7 03 06 01 02 03"),
        # ext 8 of 5 bytes: -32 is the last negative fixint, -33 an int8, 128 a uint8.
        (Vector3i(-32, -33, 128), "c7 05 06 e0 d0df cc80"),
        # fixext 16, code 7: four f32.
        (Color(1, 0.5, 0), "d8 07 0000803f 0000003f 00000000 0000803f"),
        # ext 8 of 32 bytes, code 8: four f64.
        (
            Color(0.1, 0, 0),
            "c7 20 08 9a9999999999b93f 0000000000000000 0000000000000000 000000000000f03f",
        ),
        # fixext 16, code 9: four f32.
        (Vector4(1, 2, 3, 4), "d8 09 0000803f 00000040 00004040 00008040"),
        # ext 8 of 32 bytes, code 10: four f64.
        (
            Vector4(0, 0, 0, 0.1),
            "c7 20 0a 0000000000000000 0000000000000000 0000000000000000 9a9999999999b93f",
        ),
        # fixext 4, code 11: four fixints.
        (Vector4i(1, -1, 2, -2), "d6 0b 01 ff 02 fe"),
        # fixext 16, code 12: x, y, width, height as f32.
        (Rect2(1, 2, 3, 4), "d8 0c 0000803f 00000040 00004040 00008040"),
        # ext 8 of 32 bytes, code 13: the same as f64.
        (
            Rect2(0.1, 0, 0, 0),
            "c7 20 0d 9a9999999999b93f 0000000000000000 0000000000000000 0000000000000000",
        ),
        # ext 8 of 5 bytes, code 14: a uint8 and three fixints.
        (Rect2i(200, 0, 3, -4), "c7 05 0e ccc8 00 03 fc"),
        # fixext 16, code 15: the identity as four f32.
        (Quaternion(), "d8 0f 00000000 00000000 00000000 0000803f"),
        # ext 8 of 32 bytes, code 16: four f64.
        (
            Quaternion(0.1, 0, 0, 1),
            "c7 20 10 9a9999999999b93f 0000000000000000 0000000000000000 000000000000f03f",
        ),
        # ext 8 of 3 bytes, code 0: the items as an array.
        ((1, 2), "c7 03 00 92 01 02"),
        # fixext 1, code 0: an empty array.
        ((), "d4 00 90"),
        # fixext 4: a tuple holding an empty tuple.
        (((),), "d6 00 91 d4 00 90"),
        ([1, (2,)], "92 01 d5 00 91 02"),
    ],
)
def test_ext_types_golden_bytes(value: Any, expected: str) -> None:
    """Each built-in ext type has a fixed byte layout and comes back as the same type."""
    assert packb(value) == h(expected)
    assert_same(unpackb(h(expected)), value)


def test_ext_codes() -> None:
    """The ext codes match the table in the module docstring."""
    assert [
        EXT_TUPLE,
        EXT_VECTOR2_F32,
        EXT_VECTOR2_F64,
        EXT_VECTOR2I,
        EXT_VECTOR3_F32,
        EXT_VECTOR3_F64,
        EXT_VECTOR3I,
        EXT_COLOR_F32,
        EXT_COLOR_F64,
        EXT_VECTOR4_F32,
        EXT_VECTOR4_F64,
        EXT_VECTOR4I,
        EXT_RECT2_F32,
        EXT_RECT2_F64,
        EXT_RECT2I,
        EXT_QUATERNION_F32,
        EXT_QUATERNION_F64,
    ] == list(range(17))
    assert USER_CODES == range(32, 128)


def test_compact_sizes() -> None:
    """The common cases are small: Vector2 10 bytes, Vector2i 4, Color 18."""
    assert len(packb(Vector2(1.5, 2.0))) == 10
    assert len(packb(Vector2i(3, 4))) == 4
    assert len(packb(Vector3(0.5, 0.25, -8))) == 15
    assert len(packb(Color(1, 0, 0))) == 18


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (Vector2(math.inf, -math.inf), EXT_VECTOR2_F32),
        (Vector2(-0.0, 3.4028234663852886e38), EXT_VECTOR2_F32),  # FLT_MAX
        (Vector2(1e300, 0), EXT_VECTOR2_F64),  # beyond the f32 range
        (Vector2(1e-45, 0), EXT_VECTOR2_F64),  # below the smallest f32 subnormal
        (Vector2(2**-149, 0), EXT_VECTOR2_F32),  # the smallest f32 subnormal
        (Vector2(16777217, 0), EXT_VECTOR2_F64),  # 2**24 + 1 needs 25 bits
        (Vector3(0.5, 0.5, 1 / 3), EXT_VECTOR3_F64),
        (Color(1, 1, 1, 0.2), EXT_COLOR_F64),
        (Vector4(1, 2, 3, 4), EXT_VECTOR4_F32),
        (Vector4(1, 2, 3, 1e300), EXT_VECTOR4_F64),
        (Rect2(0.5, -0.25, 1e30, 8), EXT_RECT2_F64),  # 1e30 is not an f32
        (Rect2(0.5, -0.25, 2**100, 8), EXT_RECT2_F32),
        (Quaternion(0, 0.5, 0, 0.75), EXT_QUATERNION_F32),
        (Quaternion(0, 0, 0.7071067811865476, 0.7071067811865476), EXT_QUATERNION_F64),
    ],
)
def test_f32_only_when_exact(value: Any, code: int) -> None:
    """Components go as f32 only when all of them survive f32 unchanged, -0.0 included."""
    packed = packb(value)
    assert ext_data(packed)[0] == code
    assert_same(unpackb(packed), value)


def test_nan_components() -> None:
    """A NaN component is sent as f32 and comes back as NaN."""
    packed = packb(Vector3(math.nan, 1, 2))
    assert ext_data(packed)[0] == EXT_VECTOR3_F32
    value = unpackb(packed)
    assert type(value) is Vector3
    assert math.isnan(value.x)
    assert (value.y, value.z) == (1.0, 2.0)
    assert math.isnan(unpackb(packb(math.nan)))


@pytest.mark.parametrize(
    "value",
    [
        0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, INT64_MAX,
        -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, INT64_MIN,
    ],
)  # fmt: skip
def test_int_vector_components_are_msgpack_ints(value: int) -> None:
    """Each integer vector component is written exactly as msgpack writes that int."""
    assert ext_data(packb(Vector2i(value, 0)))[1] == packb(value) + b"\x00"
    assert unpackb(packb(Vector3i(0, value, value))) == Vector3i(0, value, value)


@hypothesis_settings
@given(st.integers(INT64_MIN, INT64_MAX), st.integers(INT64_MIN, INT64_MAX))
def test_int_vector_components_match_msgpack(x: int, y: int) -> None:
    """For any int64, the component bytes are msgpack's own, and decode back."""
    assert ext_data(packb(Vector2i(x, y)))[1] == packb(x) + packb(y)
    assert unpackb(packb(Vector2i(x, y))) == Vector2i(x, y)


@pytest.mark.parametrize(
    "value",
    [
        Vector2i(2**63, 0),
        Vector2i(0, INT64_MIN - 1),
        Vector3i(0, 0, 2**100),
        Vector4i(0, 0, 0, 2**63),
        Rect2i(0, 0, INT64_MIN - 1, 0),
    ],
)
def test_int_vector_components_must_fit_int64(value: Any) -> None:
    """An integer vector component outside int64 raises EncodingError."""
    with pytest.raises(EncodingError, match="int64"):
        packb(value)


# Round trips.


def test_nested_round_trip() -> None:
    """Dicts with int keys, tuples inside lists and lists of vectors keep their types."""
    value = {
        1: [Vector3(1, 2, 3), Vector3(0.1, 0.2, 0.3)],
        -5: ("a", [1, (2, 3)], {"x": (Vector2i(1, 2),)}),
        "list": [[], (), {}, [()]],
        2.5: None,
        (1, "two"): b"bytes",
        Vector2i(7, 8): Color(0, 0, 0, 0),
        Rect2i(1, 2, 3, 4): [Rect2(0.5, 1, 2, 4), Vector4(1, 2, 3, 4), Vector4i(-1, 0, 1, 2)],
        Quaternion(0, 1, 0, 0): {Vector4i(): Quaternion()},
        False: True,
        None: 0,
    }
    assert_same(unpackb(packb(value)), value)


def test_tuples_and_lists_stay_apart() -> None:
    """A tuple comes back as a tuple and a list as a list, at any level."""
    value = [(1, [2, (3, [])]), [(), []]]
    result = unpackb(packb(value))
    assert_same(result, value)
    assert type(result[0]) is tuple and type(result[0][1]) is list
    assert type(result[0][1][1]) is tuple


def test_bool_is_native() -> None:
    """Booleans are msgpack booleans, not ints, both ways."""
    assert packb([True, False]) == h("92 c3 c2")
    assert [type(v) for v in unpackb(h("92 c3 c2"))] == [bool, bool]


def test_enums_and_str_subclasses() -> None:
    """IntEnum and IntFlag members go as ints, str subclasses (StrEnum) as plain str."""

    class Team(enum.IntEnum):
        RED = 2

    class Flags(enum.IntFlag):
        A = 1
        B = 4

    class Mode(enum.StrEnum):
        FAST = "fast"

    class Name(str):
        pass

    assert packb(Team.RED) == packb(2)
    assert packb(Flags.A | Flags.B) == packb(5)
    assert packb(Mode.FAST) == packb("fast")
    assert packb(Name("node")) == packb("node")
    assert_same(unpackb(packb([Team.RED, Mode.FAST, Name("n")])), [2, "fast", "n"])


all_floats = st.floats(allow_nan=False)
int64s = st.integers(INT64_MIN, INT64_MAX)
value_types = st.one_of(
    st.builds(Vector2, all_floats, all_floats),
    st.builds(Vector2i, int64s, int64s),
    st.builds(Vector3, all_floats, all_floats, all_floats),
    st.builds(Vector3i, int64s, int64s, int64s),
    st.builds(Color, all_floats, all_floats, all_floats, all_floats),
    st.builds(Vector4, all_floats, all_floats, all_floats, all_floats),
    st.builds(Vector4i, int64s, int64s, int64s, int64s),
    st.builds(Rect2, all_floats, all_floats, all_floats, all_floats),
    st.builds(Rect2i, int64s, int64s, int64s, int64s),
    st.builds(Quaternion, all_floats, all_floats, all_floats, all_floats),
)
scalar_keys = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(INT64_MIN, 2**64 - 1),
    all_floats,
    st.text(max_size=8),
    st.binary(max_size=8),
)
keys = st.recursive(
    st.one_of(scalar_keys, value_types),
    lambda inner: st.lists(inner, max_size=3).map(tuple),
    max_leaves=4,
)
values = st.recursive(
    st.one_of(scalar_keys, value_types),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=24,
)


@hypothesis_settings
@given(values)
def test_round_trip(value: Any) -> None:
    """Any supported value comes back equal and of the same types."""
    assert_same(unpackb(packb(value)), value)


# Unsupported values.


class Color2(enum.Enum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (object(), "object"),
        ({1, 2}, "set"),
        (frozenset(), "frozenset"),
        ([1, {"k": object()}], "object"),
        (Color2.RED, "test_codec.Color2"),
        (OrderedDict(), "collections.OrderedDict"),
        (Point(1, 2), "test_codec.Point"),  # not registered on the default codec
        (1j, "complex"),
    ],
)
def test_unsupported_types_raise_encoding_error(value: Any, name: str) -> None:
    """Anything unsupported raises EncodingError naming the type and the supported types."""
    with pytest.raises(EncodingError, match=f"cannot encode .*{name}: supported types are"):
        packb(value)


def test_encoding_error_is_a_type_error() -> None:
    """EncodingError is both a MultiplayerError and a TypeError."""
    with pytest.raises(TypeError):
        packb(object())
    assert issubclass(EncodingError, MultiplayerError)


@pytest.mark.parametrize("value", [2**64, INT64_MIN - 1, [-(2**200)]])
def test_ints_beyond_msgpack_raise_encoding_error(value: Any) -> None:
    """Ints outside msgpack's range raise EncodingError."""
    with pytest.raises(EncodingError, match="does not fit"):
        packb(value)


def test_unencodable_values_raise_encoding_error() -> None:
    """A self-containing list, deep tuples and lone surrogates raise EncodingError."""
    loop: list[Any] = []
    loop.append(loop)
    deep: Any = ()
    for _ in range(40):
        deep = (deep,)
    for value in (loop, deep, "\ud800"):
        with pytest.raises(EncodingError):
            packb(value)
    assert packb([1, 2]) == h("92 01 02")  # the packers are still sane


# Decoding failures.

TIMESTAMP = h("d6 ff 00000001")

MALFORMED = {
    "empty": b"",
    "truncated array": h("92 01"),
    "truncated str": h("a5 61 62"),
    "truncated ext": h("d7 01 00"),
    "extra data": h("01 02"),
    "reserved format byte": h("c1"),
    "bad UTF-8": h("a2 ff fe"),
    "bad UTF-8 in a key": h("81 a1 ff 00"),
    "reserved code 17": h("d4 11 00"),
    "reserved code 31": h("d4 1f 00"),
    "unregistered code 32": h("d4 20 00"),
    "unregistered code 127": h("d4 7f 00"),
    "negative code": h("d4 fb 00"),
    "timestamp": TIMESTAMP,
    "timestamp in a list": b"\x91" + TIMESTAMP,
    "timestamp in a tuple": ext(0, b"\x91" + TIMESTAMP),
    "timestamp in a map": b"\x81\x00" + TIMESTAMP,
    "timestamp as a key": b"\x81" + TIMESTAMP + b"\x00",
    "timestamp in a tuple key": b"\x81" + ext(0, b"\x91" + TIMESTAMP) + b"\x00",
    "malformed timestamp": h("d4 ff 00"),
    "Vector2 f32 too short": ext(EXT_VECTOR2_F32, bytes(4)),
    "Vector2 f64 too short": ext(EXT_VECTOR2_F64, bytes(8)),
    "Vector3 f32 too long": ext(EXT_VECTOR3_F32, bytes(13)),
    "Vector3 f64 too short": ext(EXT_VECTOR3_F64, bytes(12)),
    "Color f32 too short": ext(EXT_COLOR_F32, bytes(8)),
    "Color f64 too short": ext(EXT_COLOR_F64, bytes(16)),
    "Vector2i one int": ext(EXT_VECTOR2I, h("01")),
    "Vector2i extra byte": ext(EXT_VECTOR2I, h("01 02 03")),
    "Vector2i nil component": ext(EXT_VECTOR2I, h("c0 00")),
    "Vector2i float component": ext(EXT_VECTOR2I, h("00 cb 3ff8000000000000")),
    "Vector2i truncated int": ext(EXT_VECTOR2I, h("01 cd")),
    "Vector2i truncated uint16": ext(EXT_VECTOR2I, h("01 cd 01")),
    "Vector2i uint64 beyond int64": ext(EXT_VECTOR2I, h("cf 8000000000000000 00")),
    "Vector2i empty": h("c7 00 03"),
    "Vector3i two ints": ext(EXT_VECTOR3I, h("01 02")),
    "Vector4 f32 too short": ext(EXT_VECTOR4_F32, bytes(12)),
    "Vector4 f64 too long": ext(EXT_VECTOR4_F64, bytes(33)),
    "Vector4i three ints": ext(EXT_VECTOR4I, h("01 02 03")),
    "Rect2 f32 too short": ext(EXT_RECT2_F32, bytes(8)),
    "Rect2 f64 too short": ext(EXT_RECT2_F64, bytes(16)),
    "Rect2i five ints": ext(EXT_RECT2I, h("01 02 03 04 05")),
    "Rect2i float component": ext(EXT_RECT2I, h("00 00 00 ca 3f800000")),
    "Quaternion f32 too long": ext(EXT_QUATERNION_F32, bytes(17)),
    "Quaternion f64 too short": ext(EXT_QUATERNION_F64, bytes(24)),
    "tuple of an int": ext(EXT_TUPLE, h("01")),
    "tuple of a map": ext(EXT_TUPLE, h("80")),
    "tuple truncated": ext(EXT_TUPLE, h("92 01")),
    "tuple with extra data": ext(EXT_TUPLE, h("90 01")),
    "tuple empty data": h("c7 00 00"),
    "list key": h("81 90 01"),
    "map key": h("81 80 01"),
    "list in a tuple key": b"\x81" + ext(EXT_TUPLE, h("91 90")) + b"\x01",
    "lists 100 deep": b"\x91" * 100 + b"\x00",
    "lists 33 deep": b"\x91" * 33 + b"\x00",
    "lists past msgpack's stack": b"\x91" * 5000 + b"\x00",
    "maps 33 deep": b"\x81\x00" * 33 + b"\x00",
    "array over max_array_len": b"\xdd" + (65537).to_bytes(4, "big") + bytes(65537),
    "map over max_map_len": b"\xdf" + (65537).to_bytes(4, "big") + bytes(2 * 65537),
    "array header beyond the data": b"\xdd\xff\xff\xff\xff",
    "str beyond the data": b"\xdb\xff\xff\xff\xff",
    "over max_buffer_size": b"\xc6" + (1 << 20).to_bytes(4, "big") + bytes(1 << 20),
    "17 equal tuple keys": b"\xde\x00\x11" + h("d4 00 90 c0") * 17,
}


def nested_tuples(levels: int) -> bytes:
    """``levels`` tuples, each holding the next, built by hand."""
    packed = b"\x90"
    for _ in range(levels - 1):
        packed = b"\x91" + ext(EXT_TUPLE, packed)
    return ext(EXT_TUPLE, packed)


MALFORMED["tuples 33 deep"] = nested_tuples(33)
MALFORMED["tuples 200 deep"] = nested_tuples(200)
MALFORMED["31 lists around 2 tuples"] = b"\x91" * 31 + nested_tuples(2)


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_raises_decoding_error(data: bytes) -> None:
    """Every malformed or refused input raises DecodingError, and nothing else."""
    with pytest.raises(DecodingError):
        unpackb(data)


def test_decoding_error_is_a_value_error() -> None:
    """DecodingError is both a MultiplayerError and a ValueError, and chains the cause."""
    with pytest.raises(ValueError) as info:
        unpackb(h("01 02"))
    assert isinstance(info.value, MultiplayerError)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (h("d4 11 00"), "unknown ext type code 17"),
        (ext(EXT_RECT2_F32, bytes(8)), "Rect2 data must be 16 bytes"),
        (ext(EXT_RECT2I, h("01 02 03")), "truncated integer vector"),
        (h("01 02"), "extra bytes"),
        (h("a2 ff fe"), "UTF-8"),
        (b"\x91" * 33 + b"\x00", "max_depth=32"),
        (nested_tuples(33), "max_depth=32"),
        (h("81 90 01"), "map keys of type list"),
        (TIMESTAMP, "Timestamp"),
        (ext(EXT_VECTOR2_F32, bytes(4)), "Vector2 data must be 8 bytes"),
    ],
)
def test_decoding_error_messages(data: bytes, message: str) -> None:
    """The message says what was wrong."""
    with pytest.raises(DecodingError, match=message):
        unpackb(data)


def test_depth_32_is_accepted() -> None:
    """Lists or tuples nested exactly max_depth deep decode."""
    value: Any = []
    for _ in range(31):
        value = [value]
    assert unpackb(packb(value)) == value
    assert unpackb(b"\x91" * 31 + b"\x90") == value
    assert type(unpackb(nested_tuples(32))) is tuple


def test_depth_counts_lists_maps_and_tuples() -> None:
    """Depth adds up across lists, dict values, dict keys and tuples."""
    small = Codec(max_depth=3)
    assert small.unpackb(small.packb([{1: (2,)}])) == [{1: (2,)}]
    assert small.unpackb(small.packb({((1,),): 0})) == {((1,),): 0}
    for too_deep in ([{1: [(2,)]}], [[[[]]]], {((1, (2,)),): 0}, ((((),),),)):
        with pytest.raises(DecodingError, match="max_depth=3"):
            small.unpackb(packb(too_deep))
    with pytest.raises(EncodingError, match="max_depth=3"):
        small.packb(((((),),),))


def test_limits_are_configurable() -> None:
    """Each size limit refuses the first value over it and accepts the one at it."""
    small = Codec(
        max_buffer_size=64,
        max_str_len=4,
        max_bin_len=4,
        max_array_len=4,
        max_map_len=4,
        max_ext_len=16,
    )
    accepted = ["abcd", b"abcd", [1, 2, 3, 4], (1, 2, 3, 4), {1: 1, 2: 2, 3: 3, 4: 4}, Color.RED]
    refused = ["abcde", b"abcde", [1] * 5, (1,) * 5, dict.fromkeys(range(5)), Vector3(0.1, 0, 0)]
    for value in accepted:
        assert_same(small.unpackb(packb(value)), value)
    for value in refused:
        with pytest.raises(DecodingError):
            small.unpackb(packb(value))
    assert len(packb([Vector3(1, 2, 3)] * 4)) == 61
    assert small.unpackb(packb([Vector3(1, 2, 3)] * 4)) == [Vector3(1, 2, 3)] * 4
    with pytest.raises(DecodingError, match="max_buffer_size=64"):
        small.unpackb(packb([Color.RED] * 4))


def test_default_limits() -> None:
    """By default, 65536 items and 1 MiB are accepted and one more is refused."""
    assert len(unpackb(packb([0] * 65536))) == 65536
    assert len(unpackb(packb(bytes((1 << 20) - 5)))) == (1 << 20) - 5
    with pytest.raises(DecodingError):
        unpackb(packb([0] * 65537))
    with pytest.raises(DecodingError, match="max_buffer_size"):
        unpackb(packb(bytes((1 << 20) - 4)))


def test_max_objects_counts_items_and_containers_twice() -> None:
    """Every list item and map entry counts one, and every list, map, tuple and
    extension value one more: the first input over the limit is refused."""
    small = Codec(max_objects=11)
    cases = [  # (value at the limit, value one step over it)
        ([[]] * 5, [[]] * 6),  # 5 + (1 + 5) = 11, 6 + (1 + 6) = 13
        ([dict.fromkeys(range(8))], [dict.fromkeys(range(9))]),  # (1 + 8) + (1 + 1)
        ([()] * 5, [()] * 6),  # (a tuple's items are a list: the tuple counts as one)
        ([Vector2(1, 2)] * 5, [Vector2(1, 2)] * 6),
        ([1, [2, [3, 4]], 5, 6], [1, [2, [3, 4, 5]], 6, 7]),  # 3 + 3 + 5, 4 + 3 + 5
    ]
    for fits, over in cases:
        assert_same(small.unpackb(packb(fits)), fits)
        with pytest.raises(DecodingError, match="more than max_objects=11 values"):
            small.unpackb(packb(over))


@pytest.mark.parametrize("item", [b"\x80", b"\x90", b"\xc0", ext(EXT_TUPLE, b"\x90")])
def test_a_bomb_is_refused_before_it_is_built(item: bytes) -> None:
    """The attack run's bomb: arrays of 65535 empty maps (or lists, nils, tuples) in a
    megabyte, within every other limit. It is refused once max_objects are built,
    not at its end: the junk byte in its last array is never reached."""
    array = b"\xdc" + (65535).to_bytes(2, "big") + item * 65535
    count = (1 << 20) // len(array)
    junk = b"\xdc" + (65535).to_bytes(2, "big") + item * 65534 + b"\xc1"
    bomb = b"\xdc" + count.to_bytes(2, "big") + array * (count - 1) + junk
    assert len(bomb) <= 1 << 20
    with pytest.raises(DecodingError, match="invalid msgpack format byte"):
        Codec(max_objects=1 << 30).unpackb(bomb)  # (built whole, up to the junk)
    with pytest.raises(DecodingError, match="more than max_objects=131072 values"):
        unpackb(bomb)


def test_short_inputs_are_not_counted() -> None:
    """Under max_objects / 2 bytes the limit cannot be reached (nothing takes less
    than a byte, or counts more than two): the usual packet pays nothing for it."""
    tallies: list[int] = []

    class Watched(Codec):
        def _unpack(self, data: bytes, allow_objects: bool, level: int, tally: Any) -> Any:
            if level == 0:
                tallies.append(tally.limit if tally is not None else 0)
            return super()._unpack(data, allow_objects, level, tally)

    small = Watched(max_objects=100)
    assert small.unpackb(b"\xdc\x00\x2f" + b"\x90" * 47) == [[]] * 47  # 50 bytes
    assert tallies == [0]
    assert small.unpackb(b"\xdc\x00\x30" + b"\x90" * 48) == [[]] * 48  # 51: counted, 97
    assert tallies == [0, 100]
    with pytest.raises(DecodingError, match="max_objects=100"):
        small.unpackb(b"\xdc\x00\x34" + b"\x90" * 52)  # 52 + (1 + 52)


def test_the_default_max_objects_holds_an_array_or_a_map_at_its_limit() -> None:
    """131072: an array of 65536 values, or a map of 65536 entries, fits with room."""
    assert len(unpackb(packb([0, 1, 1, [None] * 65536, "x"]))) == 5
    assert len(unpackb(packb([0, 1, 1, dict.fromkeys(range(65536))]))[3]) == 65536
    with pytest.raises(DecodingError, match="max_objects"):
        unpackb(packb([[None] * 65536, [None] * 65536]))


LIMITS = ["max_buffer_size", "max_array_len", "max_depth", "max_objects"]


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("bad", [0, -1])
def test_limits_must_be_positive(name: str, bad: int) -> None:
    """A limit under 1 raises ValueError, naming it."""
    with pytest.raises(ValueError, match=name):
        Codec(**{name: bad})


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("bad", [1.5, None, "3"])
def test_limits_must_be_ints(name: str, bad: Any) -> None:
    """A limit that is not an int raises TypeError at the call (the compiled build's
    own check says "int object expected")."""
    with pytest.raises(TypeError, match=f"{name} must be an int|int object expected"):
        Codec(**{name: bad})


@pytest.mark.parametrize("name", LIMITS)
def test_a_limit_of_true_is_1(name: str) -> None:
    """A bool is an int, in both builds."""
    assert getattr(Codec(**{name: True}), name) == 1


def colliding_keys(count: int) -> list[tuple[int, int]]:
    """Distinct 2-tuples of ints with one hash value, against CPython's 64-bit tuple hash.

    The tuple hash (xxHash-like) is invertible in its last lane, so for any first item
    there is an int second item that lands on the chosen hash.
    """
    mask = 2**64 - 1
    prime1, prime2, prime5 = 11400714785074694791, 14029467366897019727, 2870177450012600261
    target = 0x0123456789ABCDEF

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (64 - r))) & mask

    def step(acc: int, lane: int) -> int:
        return (rotl((acc + lane * prime2) & mask, 31) * prime1) & mask

    before_last = rotl((target * pow(prime1, -1, 2**64)) & mask, 64 - 31)
    found: list[tuple[int, int]] = []
    first = 0
    while len(found) < count:
        first += 1
        lane = ((before_last - step(prime5, first)) * pow(prime2, -1, 2**64)) & mask
        second = lane if lane < 2**61 - 1 else lane - 2**64
        if -(2**61) + 1 < second < 2**61 - 1 and second != -1:
            found.append((first, second))
    return found


@pytest.mark.skipif(sys.hash_info.width != 64, reason="the crafted keys assume 64-bit hashes")
def test_hash_flooding_keys_are_refused() -> None:
    """A map of many distinct keys sharing one hash is refused before the dict is built."""
    keys = colliding_keys(5000)
    # CPython's 64-bit tuple hash is fixed (not randomised): the keys must collide here
    assert len({hash(key) for key in keys[:50]}) == 1, "the inverted tuple hash changed"
    data = b"\xdf" + len(keys).to_bytes(4, "big") + b"".join(packb(k) + b"\xc0" for k in keys)
    with pytest.raises(DecodingError, match="share a hash"):
        unpackb(data)
    few = b"\x8f" + b"".join(packb(k) + b"\xc0" for k in keys[:15])
    assert len(unpackb(few)) == 15


@hypothesis_settings
@given(st.binary(max_size=256))
def test_random_bytes_raise_only_decoding_error(data: bytes) -> None:
    """Random bytes decode to something or raise DecodingError, never anything else."""
    try:
        unpackb(data)
    except DecodingError:
        pass


POINT_CODEC = point_codec()
interesting = st.sampled_from(
    [
        *(0x00, 0x01, 0x03, 0x06, 0x7F, 0x80, 0x81, 0x90, 0x91, 0x92, 0xA1, 0xC0, 0xC4, 0xC7),
        *(0xCC, 0xCD, 0xCF, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xDC, 0xDE, 0xE0, 0xFF),
        POINT_CODE,
    ]
)


@hypothesis_settings
@given(st.lists(st.one_of(interesting, st.integers(0, 255)), max_size=96).map(bytes), st.booleans())
def test_msgpack_like_bytes_raise_only_decoding_error(data: bytes, allow_objects: bool) -> None:
    """Bytes made of msgpack headers and ext codes raise only DecodingError."""
    try:
        POINT_CODEC.unpackb(data, allow_objects=allow_objects)
    except DecodingError:
        pass


@hypothesis_settings
@given(values, st.data())
def test_mutated_encodings_raise_only_decoding_error(value: Any, data: st.DataObject) -> None:
    """A valid encoding with a byte changed, dropped or added raises only DecodingError."""
    packed = bytearray(packb(value))
    index = data.draw(st.integers(0, len(packed)))
    action = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
    if action == "replace" and index < len(packed):
        packed[index] = data.draw(st.integers(0, 255))
    elif action == "delete" and index < len(packed):
        del packed[index]
    elif action == "insert":
        packed.insert(index, data.draw(st.integers(0, 255)))
    else:
        del packed[index:]
    try:
        unpackb(bytes(packed))
    except DecodingError:
        pass


# User types.


def test_user_type_round_trip(codec: Codec) -> None:
    """A registered type travels as its ext code, inside containers and tuples too."""
    assert codec.packb(Point(1, 2)) == h("d7 28 01000000 02000000")
    value = [Point(-1, 5), (Point(0, 0),), {"p": Point(7, 7)}]
    assert_same(codec.unpackb(codec.packb(value)), value)


def test_user_type_needs_registration_on_the_decoding_side(codec: Codec) -> None:
    """A codec without the registration refuses the ext code."""
    with pytest.raises(DecodingError, match=f"unknown ext type code {POINT_CODE}"):
        Codec().unpackb(codec.packb(Point(1, 2)))


def test_allow_objects_false_refuses_user_types(codec: Codec) -> None:
    """With allow_objects=False, user types raise on both sides; built-in types still pass."""
    with pytest.raises(EncodingError, match="allow_object_decoding = True on both sides"):
        codec.packb([Point(1, 2)], allow_objects=False)
    with pytest.raises(DecodingError, match="object decoding is off"):
        codec.unpackb(codec.packb([Point(1, 2)]), allow_objects=False)
    plain = [(1, Vector2(1, 2)), {Vector2i(1, 1): Color.RED}]
    assert_same(codec.unpackb(codec.packb(plain, allow_objects=False), allow_objects=False), plain)


def test_allow_objects_reaches_into_tuples(codec: Codec) -> None:
    """allow_objects=False also applies to user types nested in tuples."""
    with pytest.raises(EncodingError):
        codec.packb(((Point(1, 2),),), allow_objects=False)
    with pytest.raises(DecodingError):
        codec.unpackb(codec.packb(((Point(1, 2),),)), allow_objects=False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ext(POINT_CODE, bytes(4)), "decode function of [a-z_.]*test_codec.Point failed"),
        (ext(POINT_CODE, bytes(16)), "decode function of [a-z_.]*test_codec.Point failed"),
    ],
)
def test_user_decode_errors_become_decoding_error(codec: Codec, data: bytes, message: str) -> None:
    """An exception raised by the decode function becomes a chained DecodingError."""
    with pytest.raises(DecodingError, match=message) as info:
        codec.unpackb(data)
    assert isinstance(info.value.__cause__, struct.error)


def test_user_decode_must_return_the_type() -> None:
    """A decode function that returns another type raises DecodingError."""
    odd = Codec()
    odd.register_type(Point, 40, encode_point, lambda data: "not a point")  # type: ignore[arg-type, return-value]
    with pytest.raises(DecodingError, match="returned str"):
        odd.unpackb(odd.packb(Point(1, 2)))


def test_user_encode_errors_become_encoding_error() -> None:
    """An encode function that raises or returns something else raises EncodingError."""
    odd = Codec()
    odd.register_type(Point, 40, lambda p: struct.pack("<b", p.x), decode_point)
    with pytest.raises(EncodingError, match=r"encode function of [a-z_.]*test_codec\.Point failed"):
        odd.packb(Point(1000, 0))


def test_user_encode_must_return_bytes() -> None:
    """An encode function that returns something else than bytes raises EncodingError."""

    class Thing:
        pass

    odd = Codec()
    odd.register_type(Thing, 41, lambda thing: 12, lambda data: Thing())  # type: ignore[arg-type, return-value]
    with pytest.raises(EncodingError, match="returned int, not bytes"):
        odd.packb(Thing())


def test_user_types_cannot_be_map_keys(codec: Codec) -> None:
    """A registered type may be packed as a map key, but decoding refuses it."""
    with pytest.raises(DecodingError, match=r"map keys of type [a-z_.]*test_codec\.Point"):
        codec.unpackb(codec.packb({Point(1, 2): 0}))


def test_registered_subclass_of_str_wins_over_str() -> None:
    """A registered str subclass travels as its ext type, not as a str."""

    class NodePath(str):
        pass

    paths = Codec()
    paths.register_type(NodePath, 33, lambda p: p.encode(), lambda d: NodePath(d.decode()))
    result = paths.unpackb(paths.packb(NodePath("/root/Player")))
    assert type(result) is NodePath and result == "/root/Player"


def test_subclasses_of_registered_types_are_not_registered(codec: Codec) -> None:
    """Registration is for the exact class: a subclass raises EncodingError."""

    @dataclass(frozen=True)
    class Point3(Point):
        z: int = 0

    with pytest.raises(EncodingError, match="Point3"):
        codec.packb(Point3(1, 2))


@pytest.mark.parametrize("code", [31, 0, 128, -1, 255])
def test_register_type_code_range(code: int) -> None:
    """Codes outside 32..127 raise ValueError."""
    with pytest.raises(ValueError, match=r"32\.\.127"):
        Codec().register_type(Point, code, encode_point, decode_point)


def test_register_type_refuses_bool_code() -> None:
    """A bool is not a code."""
    with pytest.raises(ValueError):
        Codec().register_type(Point, True, encode_point, decode_point)


def test_register_type_refuses_duplicates(codec: Codec) -> None:
    """A taken code or an already registered class raises ValueError."""

    class Other:
        pass

    with pytest.raises(ValueError, match=r"already registered for [a-z_.]*test_codec\.Point"):
        codec.register_type(Other, POINT_CODE, lambda o: b"", lambda d: Other())
    with pytest.raises(ValueError, match="already registered"):
        codec.register_type(Point, POINT_CODE + 1, encode_point, decode_point)


@pytest.mark.parametrize("cls", [tuple, list, dict, int, str, bytes, bool, Vector2, Color])
def test_register_type_refuses_built_in_types(cls: type) -> None:
    """Types the codec handles itself cannot be registered."""
    with pytest.raises(ValueError, match="encoded by the codec itself"):
        Codec().register_type(cls, 50, lambda v: b"", lambda d: cls())


def test_register_type_needs_a_class() -> None:
    """Registering something else than a class raises TypeError."""
    with pytest.raises(TypeError):
        Codec().register_type(Point(1, 2), 50, encode_point, decode_point)  # type: ignore[arg-type]


def test_unsupported_message_lists_registered_types(codec: Codec) -> None:
    """The EncodingError message names the registered types too."""
    with pytest.raises(EncodingError, match=r"registered types [a-z_.]*test_codec\.Point"):
        codec.packb(object())


def test_module_level_functions_use_default_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    """register_type, packb, unpackb and pack_array_items act on codec.default_codec."""
    monkeypatch.setattr(codec_module, "default_codec", Codec())
    register_type(Point, POINT_CODE, encode_point, decode_point)
    assert codec_module.default_codec.packb(Point(1, 2)) == packb(Point(1, 2))
    assert unpackb(packb(Point(3, 4))) == Point(3, 4)
    assert pack_array_items([Point(1, 2)]) == packb(Point(1, 2))
    with pytest.raises(DecodingError):
        Codec().unpackb(packb(Point(1, 2)))


def test_encoders_may_use_the_codec() -> None:
    """An encode or decode function may call the codec itself (packing is re-entrant)."""

    @dataclass(frozen=True)
    class Box:
        items: tuple[Any, ...]

    boxes = Codec()
    boxes.register_type(
        Box, 50, lambda box: boxes.packb(box.items), lambda data: Box(boxes.unpackb(data))
    )
    value = [Box((1, (2, Box(()))))]
    assert_same(boxes.unpackb(boxes.packb(value)), value)


def test_threads_pack_independently() -> None:
    """Threads packing at once each get their own packers and the right bytes."""
    value = [(1, (2, (3, Vector2(1.5, 2)))), {"k": (4,)}]
    expected = packb(value)
    results: list[bool] = []

    def work() -> None:
        results.append(all(packb(value) == expected for _ in range(300)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 4


# Helpers for the RPC layer.


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "90"),
        (15, "9f"),
        (16, "dc 0010"),
        (65535, "dc ffff"),
        (65536, "dd 00010000"),
        (2**32 - 1, "dd ffffffff"),
    ],
)
def test_array_header_golden_bytes(n: int, expected: str) -> None:
    """array_header uses fixarray, array 16 or array 32, as msgpack does."""
    assert array_header(n) == h(expected)


@pytest.mark.parametrize("n", [-1, 2**32])
def test_array_header_range(n: int) -> None:
    """A negative count or one beyond 2**32 - 1 raises ValueError."""
    with pytest.raises(ValueError):
        array_header(n)


@pytest.mark.parametrize("n", [0, 1, 12, 13, 14, 15, 16, 100, 65532, 65533, 65536])
def test_pack_array_items_composes_with_array_header(n: int) -> None:
    """header(3 + n) + three packed fields + pack_array_items(args) == packb(fields + args)."""
    args = [(i, Vector2i(i, -i)) if i % 2 else i for i in range(n)] if n < 200 else [*range(n)]
    fields = [0, 7, "path"]
    message = array_header(3 + n) + b"".join(packb(f) for f in fields) + pack_array_items(args)
    assert message == packb(fields + args)
    roomy = Codec(max_array_len=1 << 17)
    assert_same(roomy.unpackb(message, allow_objects=False), fields + args)


def test_pack_array_items_takes_a_tuple_as_the_sequence() -> None:
    """The sequence itself is not packed, so a tuple of arguments is fine."""
    assert pack_array_items((1, (2,))) == packb(1) + packb((2,))


def test_pack_array_items_honours_allow_objects(codec: Codec) -> None:
    """pack_array_items refuses user types when allow_objects=False."""
    assert codec.pack_array_items([Point(1, 2)]) == codec.packb(Point(1, 2))
    with pytest.raises(EncodingError):
        codec.pack_array_items([Point(1, 2)], allow_objects=False)
