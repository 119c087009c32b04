"""Tests for Godot's variant encoding in :mod:`multiplayer.protocol.godot.variant`.

Byte layouts are Godot 4's (``core/io/marshalls.cpp``: ``encode_variant`` /
``decode_variant``; ``scene/main/multiplayer_api.cpp``:
``encode_and_compress_variant``): a u32 LE header ``type | flags << 16`` then the
data padded to 4; compressed, a BOOL is one byte and an INT a meta byte
``2 | mode << 6`` and 1/2/4/8 bytes.
"""

from __future__ import annotations

import array
import enum
import math
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from multiplayer.exceptions import DecodingError, EncodingError, MultiplayerError
from multiplayer.protocol.godot.variant import VariantCodec, VariantType as T
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
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
FLAG_64 = 1 << 16

codec = VariantCodec()


def h(text: str) -> bytes:
    """Bytes from hex with spaces, for readable golden vectors."""
    return bytes.fromhex(text)


def u32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


def f32(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def f64(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


def string(text: str, kind: int = T.STRING) -> bytes:
    """A STRING (or STRING_NAME) as Godot writes it: length, UTF-8, zeros to 4."""
    raw = text.encode()
    return u32(kind, len(raw)) + raw + bytes(-len(raw) % 4)


def raw_string(text: str) -> bytes:
    """A string without a header, as inside a NodePath or a typed container's type."""
    return string(text)[4:]


def normalized(value: Any) -> Any:
    """What a value decodes to: tuples become lists, all the way down."""
    if type(value) in (list, tuple):
        return [normalized(item) for item in value]
    if type(value) is dict:
        return {key: normalized(item) for key, item in value.items()}
    return value


def assert_same(a: Any, b: Any) -> None:
    """Equal, and of the same types all the way down (-0.0 is not 0.0, NaN is NaN)."""
    assert type(a) is type(b), (a, b)
    if type(a) is list:
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif type(a) is dict:
        assert_same(list(a), list(b))
        assert_same(list(a.values()), list(b.values()))
    elif type(a) in (Rect2, Rect2i):
        assert_same([a.position, a.size], [b.position, b.size])
    elif type(a) in (Vector2, Vector2i, Vector3, Vector3i, Vector4, Vector4i, Quaternion, Color):
        assert_same(list(a), list(b))
    elif type(a) is float:
        assert a == b or (math.isnan(a) and math.isnan(b)), (a, b)
        assert math.copysign(1.0, a) == math.copysign(1.0, b)
    else:
        assert a == b


def decodes_to(data: bytes, expected: Any) -> None:
    """``data`` decodes to ``expected`` and is consumed whole."""
    value, end = codec.decode(data)
    assert_same(value, expected)
    assert end == len(data)


# Real Godot 4.6 bytes, from the oracle's capture (/tmp/godot-oracle-work/build/
# capture.json): the arguments of the two server_hello REMOTE_CALLs the Godot client
# sent, after the argc byte (03).

GODOT_ARGS_1 = h(
    "02 2a"  # 42: INT, mode 0 (int8)
    " 04 00 00 00 10 00 00 00 68 65 6c 6c 6f 20 66 72 6f 6d 20 67 6f 64 6f 74"  # 16 bytes
    " 05 00 00 00 00 00 c0 3f 00 00 10 c0"  # Vector2(1.5, -2.25): two f32
)
GODOT_ARGS_2 = h(
    "82 60 79 fe ff"  # -100000: mode 2 (int32)
    " 04 00 00 00 06 00 00 00 73 65 63 6f 6e 64 00 00"  # "second", padded to 8
    " 05 00 00 00 cd cc cc 3d e6 b1 61 7f"  # Vector2(0.1, 3e38) as f32
)
# From the server oracle (build-server/capture.json): client_echo's arguments.
GODOT_ARGS_3 = h(
    "02 07 04 00 00 00 09 00 00 00 77 65 6c 63 6f 6d 65 20 35 00 00 00"
    " 05 00 00 00 00 00 c0 3f 00 00 10 c0"
)


def test_godot_captured_arguments_decode() -> None:
    """The arguments real Godot sent decode to what its script passed."""
    assert codec.decompress_many(GODOT_ARGS_1, 0, 3) == (
        [42, "hello from godot", Vector2(1.5, -2.25)],
        len(GODOT_ARGS_1),
    )
    values, end = codec.decompress_many(GODOT_ARGS_2, 0, 3)
    assert end == len(GODOT_ARGS_2)
    assert values[:2] == [-100000, "second"]
    assert values[2] == Vector2(struct.unpack("<f", f32(0.1))[0], struct.unpack("<f", f32(3e38))[0])
    assert codec.decompress_many(GODOT_ARGS_3, 0, 3) == (
        [7, "welcome 5", Vector2(1.5, -2.25)],
        len(GODOT_ARGS_3),
    )


def test_godot_captured_arguments_encode() -> None:
    """Encoding the same values gives Godot's bytes exactly, f32 rounding included."""
    assert codec.compress_many([42, "hello from godot", Vector2(1.5, -2.25)]) == GODOT_ARGS_1
    assert codec.compress_many([-100000, "second", Vector2(0.1, 3e38)]) == GODOT_ARGS_2
    assert codec.compress_many([7, "welcome 5", Vector2(1.5, -2.25)]) == GODOT_ARGS_3


# Golden bytes: compressed.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "81"),  # BOOL (1) with bit 7 set
        (False, "01"),
        (5, "02 05"),  # INT (2), mode 0: int8
        (-1, "02 ff"),
        (127, "02 7f"),
        (-128, "02 80"),
        (128, "42 80 00"),  # mode 1: int16
        (-32768, "42 00 80"),
        (32767, "42 ff 7f"),
        (32768, "82 00 80 00 00"),  # mode 2: int32
        (INT32_MIN, "82 00 00 00 80"),
        (INT32_MAX + 1, "c2 00 00 00 80 00 00 00 00"),  # mode 3: int64
        (INT64_MIN, "c2 00 00 00 00 00 00 00 80"),
        (INT64_MAX, "c2 ff ff ff ff ff ff ff 7f"),
        (None, "00 00 00 00"),  # anything else: encode_variant's bytes
        (1.5, "03 00 00 00 00 00 c0 3f"),
        (Vector2(1.5, -2.25), "05 00 00 00 00 00 c0 3f 00 00 10 c0"),
    ],
)
def test_compressed_golden_bytes(value: Any, expected: str) -> None:
    """BOOL in one byte, INT in the smallest of 1/2/4/8 bytes, the rest as encode."""
    assert codec.compress(value) == h(expected)
    decoded, end = codec.decompress(h(expected))
    assert_same(decoded, value)
    assert end == len(h(expected))


# Golden bytes: encode_variant.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, u32(T.NIL)),
        (True, u32(T.BOOL, 1)),  # a u32 0 or 1 once inside a container
        (False, u32(T.BOOL, 0)),
        (5, h("02 00 00 00 05 00 00 00")),  # int32 when it fits
        (-1, h("02 00 00 00 ff ff ff ff")),
        (INT32_MAX + 1, h("02 00 01 00 00 00 00 80 00 00 00 00")),  # the 64-bit flag
        (INT64_MIN, h("02 00 01 00 00 00 00 00 00 00 00 80")),
        (1.5, h("03 00 00 00 00 00 c0 3f")),  # f32: it is exact
        (-0.0, h("03 00 00 00 00 00 00 80")),
        (math.inf, h("03 00 00 00 00 00 80 7f")),
        (0.1, h("03 00 01 00 9a 99 99 99 99 99 b9 3f")),  # not an f32: f64 and the flag
        (1e300, u32(T.FLOAT | FLAG_64) + f64(1e300)),  # beyond the f32 range
        ("", h("04 00 00 00 00 00 00 00")),
        ("a", h("04 00 00 00 01 00 00 00 61 00 00 00")),  # padded to 4
        ("abcd", h("04 00 00 00 04 00 00 00 61 62 63 64")),  # nothing to pad
        ("é", h("04 00 00 00 02 00 00 00 c3 a9 00 00")),  # the length is in bytes
        (Vector2(1.5, -2.25), h("05 00 00 00 00 00 c0 3f 00 00 10 c0")),
        (Vector2i(1, -1), h("06 00 00 00 01 00 00 00 ff ff ff ff")),
        (Rect2(1, 2, 3, 4), u32(T.RECT2) + f32(1, 2, 3, 4)),  # x, y, width, height
        (Rect2i(-1, 2, 3, 4), u32(T.RECT2I) + struct.pack("<4i", -1, 2, 3, 4)),
        (Vector3(1, 2, 3), h("09 00 00 00 00 00 80 3f 00 00 00 40 00 00 40 40")),
        (Vector3i(1, 2, -3), u32(T.VECTOR3I) + struct.pack("<3i", 1, 2, -3)),
        (Vector4(1, 2, 3, 4), u32(T.VECTOR4) + f32(1, 2, 3, 4)),
        (Vector4i(1, 2, 3, -4), u32(T.VECTOR4I) + struct.pack("<4i", 1, 2, 3, -4)),
        (Quaternion(), h("0f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80 3f")),
        (Color(1, 0.5, 0), h("14 00 00 00 00 00 80 3f 00 00 00 3f 00 00 00 00 00 00 80 3f")),
        ([], h("1c 00 00 00 00 00 00 00")),  # ARRAY (28): untyped, a u32 count
        ([1, "a"], u32(T.ARRAY, 2, T.INT, 1) + string("a")),
        ((None,), u32(T.ARRAY, 1, T.NIL)),  # a tuple is an Array too
        ({}, h("1b 00 00 00 00 00 00 00")),  # DICTIONARY (27)
        ({"k": True}, u32(T.DICTIONARY, 1) + string("k") + u32(T.BOOL, 1)),
        (b"", h("1d 00 00 00 00 00 00 00")),  # PACKED_BYTE_ARRAY (29)
        (b"\x01\x02\x03", h("1d 00 00 00 03 00 00 00 01 02 03 00")),
        (array.array("i", [1, -1]), h("1e 00 00 00 02 00 00 00 01 00 00 00 ff ff ff ff")),
        (array.array("q", [-2]), u32(T.PACKED_INT64_ARRAY, 1) + struct.pack("<q", -2)),
        (array.array("f", [0.5, 2]), u32(T.PACKED_FLOAT32_ARRAY, 2) + f32(0.5, 2)),
        (array.array("d", [0.1]), u32(T.PACKED_FLOAT64_ARRAY, 1) + f64(0.1)),
    ],
)
def test_encode_golden_bytes(value: Any, expected: bytes) -> None:
    """Each type has Godot's header and layout (marshalls.cpp, encode_variant)."""
    assert codec.encode(value) == expected
    decoded, end = codec.decode(expected)
    assert end == len(expected)
    if isinstance(value, array.array):
        assert_same(decoded, value.tolist())
    else:
        assert_same(decoded, normalized(value))


def test_compress_of_other_types_is_encode() -> None:
    """Compressing anything but a bool or an int gives encode's bytes (whose first byte
    already is the type, as encode_and_compress_variant writes it)."""
    for value in (None, 2.5, "x", [True, 1], {1: 2}, b"ab", Color.RED, Rect2i(1, 2, 3, 4)):
        assert codec.compress(value) == codec.encode(value)


def test_nan_goes_as_f64() -> None:
    """NaN != NaN, so Godot's ``double(f) != d`` test picks f64 for it; both decode."""
    data = codec.encode(math.nan)
    assert data[:4] == u32(T.FLOAT | FLAG_64)
    assert math.isnan(codec.decode(data)[0])
    assert math.isnan(codec.decode(u32(T.FLOAT) + f32(math.nan))[0])


def test_float_components_are_rounded_to_f32() -> None:
    """Godot's math types hold f32s: a float that is not one arrives rounded."""
    rounded = struct.unpack("<f", f32(0.1))[0]
    assert rounded != 0.1
    for value, expected in [
        (Vector2(0.1, 1), Vector2(rounded, 1)),
        (Vector3(0, 0.1, 0), Vector3(0, rounded, 0)),
        (Color(0.1, 0, 0), Color(rounded, 0, 0)),
        (Rect2(0, 0, 0.1, 1), Rect2(0, 0, rounded, 1)),
        (Quaternion(0.1, 0, 0, 1), Quaternion(rounded, 0, 0, 1)),
        (Vector4(0, 0, 0, 0.1), Vector4(0, 0, 0, rounded)),
    ]:
        assert codec.decode(codec.encode(value))[0] == expected


# Types that only decode, from hand-built bytes.


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (string("name", T.STRING_NAME), "name"),  # STRING_NAME (21) is a str here
        (u32(T.BOOL, 2), True),  # any non-zero u32 is true
        (u32(T.INT | FLAG_64) + struct.pack("<q", -5), -5),  # 64-bit flag on a small int
        (u32(T.VECTOR2 | FLAG_64) + f64(0.1, -2), Vector2(0.1, -2)),  # a double build's
        (u32(T.VECTOR3 | FLAG_64) + f64(0.1, 0.2, 0.3), Vector3(0.1, 0.2, 0.3)),
        (u32(T.RECT2 | FLAG_64) + f64(0.1, 0, 1, 2), Rect2(0.1, 0, 1, 2)),
        (u32(T.VECTOR4 | FLAG_64) + f64(1, 2, 3, 0.1), Vector4(1, 2, 3, 0.1)),
        (u32(T.QUATERNION | FLAG_64) + f64(0, 0, 0.1, 1), Quaternion(0, 0, 0.1, 1)),
        (u32(T.COLOR | FLAG_64) + f32(1, 0, 0, 1), Color(1, 0, 0)),  # Color: always f32
        (u32(T.STRING | 0x0100) + raw_string("x"), "x"),  # unused header bits are ignored
        (u32(T.ARRAY, 0x8000_0002, T.NIL, T.NIL), [None, None]),  # bit 31: old "shared"
        (u32(T.DICTIONARY, 0x8000_0000), {}),
    ],
)
def test_decode_only_layouts(data: bytes, expected: Any) -> None:
    """Layouts Godot may send that encode never writes."""
    decodes_to(data, expected)


@pytest.mark.parametrize(
    ("names", "subnames", "flags", "expected"),
    [
        (["root", "Main"], [], 1, "/root/Main"),  # flag bit 0: absolute
        (["a", "b"], ["c"], 0, "a/b:c"),
        (["Player"], ["position", "x"], 0, "Player:position:x"),
        ([], ["x"], 0, ":x"),
        (["."], [], 0, "."),
        ([], [], 0, ""),
    ],
)
def test_node_path(names: list[str], subnames: list[str], flags: int, expected: str) -> None:
    """A NODE_PATH decodes to its text: names joined by '/', subnames by ':'."""
    data = u32(T.NODE_PATH, 0x8000_0000 | len(names), len(subnames), flags)
    data += b"".join(raw_string(part) for part in [*names, *subnames])
    decodes_to(data, expected)


def test_node_path_obsolete_property_flag() -> None:
    """Flag bit 1 (a property stored apart, Godot 3) adds one subname."""
    data = u32(T.NODE_PATH, 0x8000_0001, 0, 2) + raw_string("a") + raw_string("p")
    decodes_to(data, "a:p")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Header bits 16-17 = 1: a builtin element type (u32) precedes the count.
        (u32(T.ARRAY | 1 << 16, T.INT, 2, T.INT, 1, T.INT, 2), [1, 2]),
        (u32(T.ARRAY | 1 << 16, T.VECTOR2, 1, T.VECTOR2) + f32(1, 2), [Vector2(1, 2)]),
        # 2: a class name, 3: a script path, as strings (their elements would be objects).
        (u32(T.ARRAY | 2 << 16) + raw_string("Node") + u32(0), []),
        (u32(T.ARRAY | 3 << 16) + raw_string("res://enemy.gd") + u32(0), []),
        # Dictionary: bits 16-17 type the keys, bits 18-19 the values.
        (
            u32(T.DICTIONARY | 5 << 16, T.STRING, T.INT, 1) + string("a") + u32(T.INT, 1),
            {"a": 1},
        ),
        (u32(T.DICTIONARY | 1 << 16, T.INT, 1, T.INT, 7, T.NIL), {7: None}),
        (u32(T.DICTIONARY | 4 << 16, T.FLOAT, 1, T.NIL, T.FLOAT) + f32(0.5), {None: 0.5}),
        (u32(T.DICTIONARY | 10 << 16) + raw_string("Node") + raw_string("Resource") + u32(0), {}),
    ],
)
def test_typed_containers(data: bytes, expected: Any) -> None:
    """Typed arrays (4.3+) and dictionaries (4.4+) decode to plain lists and dicts."""
    decodes_to(data, expected)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (u32(T.PACKED_INT32_ARRAY, 2) + struct.pack("<2i", -1, 7), [-1, 7]),
        (u32(T.PACKED_INT64_ARRAY, 1) + struct.pack("<q", INT64_MIN), [INT64_MIN]),
        (u32(T.PACKED_FLOAT32_ARRAY, 2) + f32(0.5, -1), [0.5, -1.0]),
        (u32(T.PACKED_FLOAT64_ARRAY, 1) + f64(0.1), [0.1]),
        # Godot counts a NUL terminator in each string's length (encode_variant).
        (u32(T.PACKED_STRING_ARRAY, 2, 2) + b"a\0\0\0" + u32(4) + b"abc\0", ["a", "abc"]),
        (u32(T.PACKED_STRING_ARRAY, 0), []),
        (u32(T.PACKED_VECTOR2_ARRAY, 2) + f32(1, 2, 3, 4), [Vector2(1, 2), Vector2(3, 4)]),
        (u32(T.PACKED_VECTOR2_ARRAY | FLAG_64, 1) + f64(0.1, 2), [Vector2(0.1, 2)]),
        (u32(T.PACKED_VECTOR3_ARRAY, 1) + f32(1, 2, 3), [Vector3(1, 2, 3)]),
        (u32(T.PACKED_VECTOR3_ARRAY | FLAG_64, 1) + f64(1, 2, 0.3), [Vector3(1, 2, 0.3)]),
        (u32(T.PACKED_COLOR_ARRAY, 1) + f32(1, 0, 0, 1), [Color.RED]),
        (u32(T.PACKED_COLOR_ARRAY | FLAG_64, 1) + f32(0, 1, 0, 1), [Color.GREEN]),
        (u32(T.PACKED_VECTOR4_ARRAY, 1) + f32(1, 2, 3, 4), [Vector4(1, 2, 3, 4)]),
        (u32(T.PACKED_VECTOR4_ARRAY | FLAG_64, 1) + f64(1, 2, 3, 0.1), [Vector4(1, 2, 3, 0.1)]),
        (u32(T.PACKED_VECTOR2_ARRAY, 0), []),
    ],
)
def test_packed_arrays(data: bytes, expected: Any) -> None:
    """Packed arrays decode to lists of plain values or of the value types."""
    decodes_to(data, expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"ab\0c", "ab"),  # Godot's parse_utf8 stops at a NUL...
        (b"\0\xff", ""),  # ...and does not read past it
        (b"\xef\xbb\xbfhi", "hi"),  # a byte order mark is skipped
        (b"\xef\xbb\xbf", ""),
    ],
)
def test_strings_read_as_godot_reads_them(raw: bytes, expected: str) -> None:
    """A string's bytes are read as String::parse_utf8 reads them."""
    decodes_to(u32(T.STRING, len(raw)) + raw + bytes(-len(raw) % 4), expected)


def test_compressed_bool_reads_bit_7_only() -> None:
    """Godot takes a compressed BOOL's value from bit 7 and ignores bit 6."""
    assert codec.decompress(h("41")) == (False, 1)
    assert codec.decompress(h("c1")) == (True, 1)


def test_offsets() -> None:
    """Values are read from ``offset``, and the offset after them comes back."""
    data = b"junk" + codec.compress_many([1, "two", Vector3(3, 3, 3)]) + b"tail"
    values, end = codec.decompress_many(data, 4, 3)
    assert values == [1, "two", Vector3(3, 3, 3)]
    assert data[end:] == b"tail"
    value, end = codec.decompress(data, 4)
    assert (value, end) == (1, 6)
    assert codec.decode(b"xx" + codec.encode([1]), 2) == ([1], 2 + 16)
    assert codec.decompress_many(b"abc", 3, 0) == ([], 3)


def test_buffers_other_than_bytes() -> None:
    """bytearray and memoryview input decode like bytes."""
    data = codec.encode({"a": [1, 2.5]})
    assert codec.decode(bytearray(data)) == ({"a": [1, 2.5]}, len(data))
    assert codec.decode(memoryview(data)) == ({"a": [1, 2.5]}, len(data))
    assert codec.decompress_many(bytearray(GODOT_ARGS_1), 0, 3)[1] == len(GODOT_ARGS_1)


# Round trips.

f32s = st.floats(width=32)  # the value types carry f32s: these survive unchanged
int32s = st.integers(INT32_MIN, INT32_MAX)
texts = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0\ufeff"))
value_types = st.one_of(
    st.builds(Vector2, f32s, f32s),
    st.builds(Vector2i, int32s, int32s),
    st.builds(Vector3, f32s, f32s, f32s),
    st.builds(Vector3i, int32s, int32s, int32s),
    st.builds(Vector4, f32s, f32s, f32s, f32s),
    st.builds(Vector4i, int32s, int32s, int32s, int32s),
    st.builds(Rect2, f32s, f32s, f32s, f32s),
    st.builds(Rect2i, int32s, int32s, int32s, int32s),
    st.builds(Quaternion, f32s, f32s, f32s, f32s),
    st.builds(Color, f32s, f32s, f32s, f32s),
)
keys = st.one_of(
    st.none(),
    st.integers(INT64_MIN, INT64_MAX),
    st.floats(allow_nan=False),
    texts,
    st.binary(max_size=8),
    value_types,
)
scalars = st.one_of(st.booleans(), keys, st.floats())
packed = st.one_of(
    st.lists(int32s, max_size=5).map(lambda v: array.array("i", v)),
    st.lists(st.integers(INT64_MIN, INT64_MAX), max_size=5).map(lambda v: array.array("q", v)),
    st.lists(f32s, max_size=5).map(lambda v: array.array("f", v)),
    st.lists(st.floats(), max_size=5).map(lambda v: array.array("d", v)),
)
values = st.recursive(
    st.one_of(scalars, packed),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=20,
)


def expected_of(value: Any) -> Any:
    """What ``value`` decodes to: lists for tuples and packed arrays."""
    if isinstance(value, array.array):
        return value.tolist()
    if type(value) in (list, tuple):
        return [expected_of(item) for item in value]
    if type(value) is dict:
        return {key: expected_of(item) for key, item in value.items()}
    return value


@hypothesis_settings
@given(values)
def test_round_trip(value: Any) -> None:
    """Any supported value comes back equal and of the same types, plain or compressed."""
    data = codec.encode(value)
    assert len(data) % 4 == 0  # Godot keeps everything 4-aligned
    assert_same(codec.decode(data)[0], expected_of(value))
    assert_same(codec.decompress(codec.compress(value))[0], expected_of(value))


@hypothesis_settings
@given(st.lists(values, max_size=6))
def test_round_trip_many(items: list[Any]) -> None:
    """compress_many / decompress_many read back every value and stop at the end."""
    data = codec.compress_many(items)
    decoded, end = codec.decompress_many(data + b"\xff", 0, len(items))
    assert end == len(data)
    assert_same(decoded, expected_of(items))


def test_nested_round_trip() -> None:
    """Containers of containers keep their shape and their values' types."""
    value = {
        1: [Vector3(1, 2, 3), (Vector2i(4, 5), [b"", b"bytes"])],
        "dict": {"inner": {None: [True, False, 0, 0.5]}},
        Vector2(1, 2): Rect2(Vector2(0, 0), Vector2(8, 8)),
        Rect2i(1, 2, 3, 4): [array.array("f", [1.5]), Quaternion(0, 1, 0, 0)],
        2.5: "é\u4e2d\U0001f600",
    }
    assert_same(codec.decode(codec.encode(value))[0], expected_of(value))


def test_enums_and_str_subclasses() -> None:
    """IntEnum and IntFlag members go as INT, str subclasses (StrEnum) as STRING."""

    class Team(enum.IntEnum):
        RED = 2

    class Flags(enum.IntFlag):
        A = 1
        B = 300

    class Mode(enum.StrEnum):
        FAST = "fast"

    assert codec.compress(Team.RED) == h("02 02")
    assert codec.compress(Flags.A | Flags.B) == codec.compress(301)
    assert codec.encode(Team.RED) == codec.encode(2)
    assert codec.compress(Mode.FAST) == codec.encode("fast")
    assert_same(codec.decode(codec.encode([Team.RED, Mode.FAST]))[0], [2, "fast"])


def test_packed_array_l_typecode() -> None:
    """An array('l') goes as the packed array of its C long's size."""
    kind = T.PACKED_INT64_ARRAY if array.array("l").itemsize == 8 else T.PACKED_INT32_ARRAY
    data = codec.encode(array.array("l", [1, -2]))
    assert data[:8] == u32(kind, 2)
    assert codec.decode(data)[0] == [1, -2]


def test_depth_32_is_accepted() -> None:
    """Lists and dicts nested exactly max_depth deep encode and decode."""
    value: Any = []
    for _ in range(31):
        value = [value] if len(repr(value)) % 2 else {"k": value}
    data = codec.encode(value)
    assert codec.decode(data)[0] == value


# Hostile input: only DecodingError may come out.


def assert_refused(data: bytes, match: str = "") -> None:
    """decode and decompress both raise DecodingError (matching ``match``)."""
    with pytest.raises(DecodingError, match=match):
        codec.decode(data)
    with pytest.raises(DecodingError, match=match):
        codec.decompress(data)


def only_decoding_errors(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except DecodingError:
        pass


@hypothesis_settings
@given(st.binary(max_size=200), st.integers(0, 200), st.integers(0, 6))
def test_fuzz_arbitrary_bytes(data: bytes, offset: int, count: int) -> None:
    """Arbitrary bytes decode or raise DecodingError, at any offset."""
    offset = min(offset, len(data))
    only_decoding_errors(codec.decode, data, offset)
    only_decoding_errors(codec.decompress, data, offset)
    only_decoding_errors(codec.decompress_many, data, offset, count)


@hypothesis_settings
@given(st.integers(0, 38), st.integers(0, 15), st.binary(max_size=64))
def test_fuzz_each_type(kind: int, flags: int, body: bytes) -> None:
    """Every type id with any flags and any body decodes or raises DecodingError."""
    data = u32(kind | flags << 16) + body
    only_decoding_errors(codec.decode, data)
    only_decoding_errors(codec.decompress_many, data + data, 0, 2)


@hypothesis_settings
@given(values, st.data())
def test_fuzz_mutated_encodings(value: Any, data: st.DataObject) -> None:
    """Valid encodings with bytes changed, cut or inserted decode or raise DecodingError."""
    encoded = bytearray(codec.compress_many([value, value]))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(encoded)))
        action = data.draw(st.sampled_from(["set", "cut", "insert"]))
        if action == "set" and at < len(encoded):
            encoded[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del encoded[at:]
        else:
            encoded[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    mutated = bytes(encoded)
    only_decoding_errors(codec.decode, mutated)
    only_decoding_errors(codec.decompress, mutated)
    only_decoding_errors(codec.decompress_many, mutated, 0, 2)


RICH = [
    None,
    True,
    -7,
    INT64_MAX,
    0.1,
    "héllo",
    Vector2(1, 2),
    Vector3i(1, 2, 3),
    Rect2(1, 2, 3, 4),
    Quaternion(),
    Color.BLUE,
    [1, [2, {"a": b"xyz"}], ()],
    {Vector2i(1, 2): [array.array("d", [0.5])], "s": array.array("i", [1, 2, 3])},
    b"\x00\x01\x02\x03\x04",
]


def test_truncation_at_every_offset() -> None:
    """Every proper prefix of a valid encoding raises DecodingError."""
    plain = codec.encode(RICH)
    for end in range(len(plain)):
        with pytest.raises(DecodingError):
            codec.decode(plain[:end])
    compressed = codec.compress_many(RICH)
    for end in range(len(compressed)):
        with pytest.raises(DecodingError):
            codec.decompress_many(compressed[:end], 0, len(RICH))
    typed = u32(T.ARRAY | 1 << 16, T.INT, 1, T.INT, 5)
    path = u32(T.NODE_PATH, 0x8000_0001, 1, 1) + raw_string("a") + raw_string("b")
    for data in (typed, path, u32(T.PACKED_STRING_ARRAY, 1, 2) + b"a\0\0\0"):
        codec.decode(data)
        for end in range(len(data)):
            with pytest.raises(DecodingError):
                codec.decode(data[:end])


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (u32(T.STRING, 0x8000_0000), "max_str_len"),
        (u32(T.STRING, 2**32 - 1), "max_str_len"),
        (u32(T.STRING, 100) + b"short", "needs"),
        (u32(T.STRING, 5) + b"abcde", "needs"),  # the padding is missing
        (u32(T.PACKED_BYTE_ARRAY, 0x8000_0000), "max_bin_len"),
        (u32(T.PACKED_BYTE_ARRAY, 3) + b"abc", "needs"),  # no padding at the end
        (u32(T.PACKED_INT32_ARRAY, 0x8000_0000), "max_array_len"),
        (u32(T.PACKED_INT32_ARRAY, 60000) + bytes(8), "needs"),
        (u32(T.PACKED_FLOAT64_ARRAY, 2) + bytes(15), "needs"),
        (u32(T.PACKED_VECTOR3_ARRAY, 0x8000_0000), "max_array_len"),
        (u32(T.PACKED_VECTOR2_ARRAY | FLAG_64, 1) + bytes(8), "needs"),  # f64s: 16 bytes
        (u32(T.PACKED_STRING_ARRAY, 0x8000_0000), "max_array_len"),
        (u32(T.PACKED_STRING_ARRAY, 60000) + bytes(8), "needs"),
        (u32(T.ARRAY, 0x7FFF_FFFF), "max_array_len"),
        (u32(T.ARRAY, 65536) + bytes(100), "needs"),
        (u32(T.DICTIONARY, 0xFFFF_FFFF), "max_map_len"),
        (u32(T.DICTIONARY, 1000) + bytes(4000), "needs"),  # each entry takes 8 bytes
        (u32(T.NODE_PATH, 0xFFFF_FFFF, 0, 0), "max_array_len"),
        (u32(T.NODE_PATH, 0x8000_0000, 0xFFFF_FFFF, 0), "max_array_len"),
        (u32(T.NODE_PATH, 0x8000_0000, 1000, 0) + bytes(40), "needs"),
    ],
)
def test_huge_counts(data: bytes, match: str) -> None:
    """A count past the limits or past the data is refused before anything is built."""
    assert_refused(data, match)


def test_array_count_bit_31_is_masked() -> None:
    """Godot masks bit 31 of an Array's count: 2**31 items is an empty Array there."""
    decodes_to(u32(T.ARRAY, 0x8000_0000), [])


def nested(levels: int, kind: str) -> bytes:
    """``levels`` Arrays (or single-entry Dictionaries) each holding the next, built by hand."""
    opening = u32(T.ARRAY, 1) if kind == "array" else u32(T.DICTIONARY, 1, T.NIL)
    return opening * levels + u32(T.NIL)


@pytest.mark.parametrize("kind", ["array", "dict"])
def test_depth_limit(kind: str) -> None:
    """32 nested containers decode; 33 raise DecodingError naming max_depth."""
    codec.decode(nested(32, kind))
    assert_refused(nested(33, kind), "max_depth=32")
    assert_refused(nested(5000, kind), "max_depth=32")


def test_depth_counts_keys_and_typed_containers() -> None:
    """Depth adds up through dictionary keys and typed arrays."""
    small = VariantCodec(max_depth=2)
    ok = u32(T.DICTIONARY, 1, T.ARRAY, 0, T.NIL)  # {[]: None}: depth 2 (refused: a list key)
    with pytest.raises(DecodingError, match="cannot be a Python dict key"):
        small.decode(ok)
    with pytest.raises(DecodingError, match="max_depth=2"):
        small.decode(u32(T.DICTIONARY, 1, T.ARRAY, 1, T.ARRAY, 0, T.NIL))
    with pytest.raises(DecodingError, match="max_depth=2"):
        small.decode(u32(T.ARRAY | 1 << 16, T.ARRAY, 1, T.ARRAY | 1 << 16, T.ARRAY, 1, T.ARRAY, 0))


def test_python_recursion_limit_is_a_decoding_error() -> None:
    """With max_depth beyond Python's stack, deep nesting still raises DecodingError."""
    deep = VariantCodec(max_depth=1_000_000)
    with pytest.raises(DecodingError, match="nested too deeply"):
        deep.decode(nested(100_000, "array"))
    with pytest.raises(EncodingError, match="nested too deeply"):
        value: Any = []
        for _ in range(100_000):
            value = [value]
        deep.encode(value)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (T.TRANSFORM2D, f32(1, 0, 0, 1, 0, 0)),
        (T.PLANE, f32(0, 1, 0, 5)),
        (T.AABB, f32(0, 0, 0, 1, 1, 1)),
        (T.BASIS, f32(1, 0, 0, 0, 1, 0, 0, 0, 1)),
        (T.TRANSFORM3D, f32(*range(12))),
        (T.PROJECTION, f32(*range(16))),
        (T.RID, bytes(8)),
        (T.CALLABLE, b""),
        (T.SIGNAL, raw_string("hit") + bytes(8)),
    ],
)
def test_types_without_a_python_value_are_refused(kind: T, body: bytes) -> None:
    """Each Godot type with no value here raises DecodingError naming it."""
    assert_refused(u32(kind) + body, kind.name)
    assert_refused(u32(T.ARRAY, 1, kind) + body, kind.name)


@pytest.mark.parametrize(
    "data",
    [
        u32(T.OBJECT) + raw_string("Node") + u32(0),  # a full object
        u32(T.OBJECT) + raw_string(""),  # a null object
        u32(T.OBJECT | 1 << 16) + struct.pack("<Q", 1234),  # an instance id
        u32(T.OBJECT | 1 << 16) + bytes(8),  # id 0: null
        u32(T.OBJECT),  # what Godot sends for a freed object, compressed
        u32(T.DICTIONARY, 1) + string("k") + u32(T.OBJECT | 1 << 16) + bytes(8),
    ],
)
def test_objects_are_refused(data: bytes) -> None:
    """OBJECT in any form raises DecodingError: object decoding is off."""
    assert_refused(data, "OBJECT")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (u32(39), "unknown variant type id 39"),
        (u32(0xFF), "unknown variant type id 255"),
        (u32(T.ARRAY, 1, 64), "unknown variant type id 64"),
        (h("45 00 00 00") + f32(1, 2), "unknown variant type id 69"),  # mode bits on a Vector2
        (u32(T.ARRAY | 1 << 16, 39, 0), "unknown element type 39"),
        (u32(T.DICTIONARY | 4 << 16, 200, 0), "unknown element type 200"),
        (u32(T.ARRAY | 2 << 16, 2) + b"\xff\xfe\0\0" + u32(0), "UTF-8"),
        (u32(T.NODE_PATH, 1, 0, 0) + raw_string("a"), "before Godot 3"),
        (u32(T.STRING, 2) + b"\xff\xfe\0\0", "UTF-8"),
        (u32(T.STRING, 3) + b"\xed\xa0\x80\0", "UTF-8"),  # an encoded surrogate
        (u32(T.STRING_NAME, 1) + b"\x80\0\0\0", "UTF-8"),
        (u32(T.PACKED_STRING_ARRAY, 1, 1) + b"\xc3\0\0\0", "UTF-8"),
        (u32(T.NODE_PATH, 0x8000_0001, 0, 0) + u32(1) + b"\xff\0\0\0", "UTF-8"),
        (u32(T.DICTIONARY, 1, T.ARRAY, 0, T.NIL), "type list cannot be a Python dict key"),
        (u32(T.DICTIONARY, 1, T.DICTIONARY, 0, T.NIL), "type dict cannot be a Python dict key"),
        (b"", "truncated"),
        (h("04 00 00"), "truncated variant header"),
    ],
)
def test_malformed_input(data: bytes, match: str) -> None:
    """Each kind of malformed input raises a DecodingError that says what was wrong."""
    assert_refused(data, match)


def test_compressed_truncation() -> None:
    """A compressed INT without all its bytes, or no byte at all, is refused."""
    for data in (b"", h("02"), h("42 01"), h("82 01 02 03"), h("c2 01 02 03 04 05 06 07")):
        with pytest.raises(DecodingError, match="truncated"):
            codec.decompress(data)
    with pytest.raises(DecodingError, match="truncated"):
        codec.decompress_many(h("02 01"), 0, 2)
    with pytest.raises(DecodingError, match="truncated"):
        codec.decompress(h("02 01"), 5)  # an offset past the end


def test_hash_flooding_keys_are_refused() -> None:
    """Over 16 keys with one hash value are refused (float hashes are not randomized:
    x and x * 2**61 share one); 16 are fine."""
    floods = [1.5 * 2.0 ** (61 * k) for k in range(-8, 9)]
    assert len(set(floods)) == 17 and len(set(map(hash, floods))) == 1
    with pytest.raises(DecodingError, match="share a hash value"):
        codec.decode(codec.encode(dict.fromkeys(floods)))
    assert len(codec.decode(codec.encode(dict.fromkeys(floods[:16])))[0]) == 16
    strings = {str(i): i for i in range(1000)}
    assert codec.decode(codec.encode(strings))[0] == strings


def test_limits_are_configurable() -> None:
    """Each limit refuses the first value over it, names itself, and accepts the one at it."""
    small = VariantCodec(max_str_len=4, max_bin_len=4, max_array_len=4, max_map_len=4)
    accepted = ["abcd", b"abcd", [1, 2, 3, 4], {1: 1, 2: 2, 3: 3, 4: 4}, array.array("i", [1] * 4)]
    refused = [
        ("abcde", "max_str_len=4"),
        (b"abcde", "max_bin_len=4"),
        ([1] * 5, "max_array_len=4"),
        (dict.fromkeys(range(5)), "max_map_len=4"),
        (array.array("d", [1.0] * 5), "max_array_len=4"),
    ]
    for value in accepted:
        assert_same(small.decode(codec.encode(value))[0], expected_of(value))
    for value, match in refused:
        with pytest.raises(DecodingError, match=match):
            small.decode(codec.encode(value))


@pytest.mark.parametrize(
    ("kind", "item"),
    [
        (T.ARRAY, lambda i: u32(T.NIL)),
        (T.DICTIONARY, lambda i: u32(T.INT, i, T.NIL)),
        (T.PACKED_STRING_ARRAY, lambda i: u32(0)),
        (T.PACKED_VECTOR2_ARRAY, lambda i: f32(i, 0)),
    ],
)
def test_max_objects_is_charged_before_the_items_are_read(
    kind: T, item: Callable[[int], bytes]
) -> None:
    """A container is charged for itself and its items from the count it declares:
    one over max_objects is refused before an item is read (they are junk here)."""
    small = VariantCodec(max_objects=10)
    fits = u32(kind, 8) + b"".join(item(i) for i in range(8))  # 1 (the value) + 1 + 8
    assert len(small.decode(fits)[0]) == 8
    over = u32(kind, 9) + b"\xff" * 9 * len(item(0))
    with pytest.raises(DecodingError, match="more than max_objects=10 values"):
        small.decode(over)


def test_max_objects_adds_up_nested_values_and_top_level_ones() -> None:
    """Every value counts one, every container one more; decompress_many charges its
    count first. Each call has a budget of its own, unless a packet's is open."""
    small = VariantCodec(max_objects=10)
    fits = [[None], [None] * 3]  # 1 + (1 + 2) + (1 + 1) + (1 + 3)
    assert small.decode(codec.encode(fits))[0] == fits
    with pytest.raises(DecodingError, match="max_objects=10"):
        small.decode(codec.encode([[None], [None] * 4]))
    with pytest.raises(DecodingError, match="max_objects=10"):
        small.decompress_many(b"\x01" * 11, 0, 11)
    four = codec.compress([None] * 4)  # 1 + 5
    assert small.decompress(four)[0] == small.decompress(four)[0] == [None] * 4
    small.begin_packet()
    try:
        small.decompress(four)
        with pytest.raises(DecodingError, match="max_objects=10"):
            small.decompress(four)
    finally:
        small.end_packet()
    assert small.decompress(four)[0] == [None] * 4


def test_default_limits() -> None:
    """The defaults are the native codec's: 65536 items, 1 MiB strings and bytes,
    131072 values."""
    assert repr(codec) == (
        "VariantCodec(max_str_len=1048576, max_bin_len=1048576, max_array_len=65536, "
        "max_map_len=65536, max_depth=32, max_objects=131072)"
    )
    assert len(codec.decode(codec.encode([None] * 65536))[0]) == 65536
    with pytest.raises(DecodingError, match="max_array_len"):
        codec.decode(codec.encode([None] * 65537))
    assert len(codec.decode(codec.encode(bytes(1 << 20)))[0]) == 1 << 20
    with pytest.raises(DecodingError, match="max_bin_len"):
        codec.decode(codec.encode(bytes((1 << 20) + 1)))


LIMITS = ["max_str_len", "max_bin_len", "max_array_len", "max_depth", "max_objects"]


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("bad", [0, -1])
def test_limits_must_be_positive(name: str, bad: int) -> None:
    """A limit under 1 raises ValueError, naming it."""
    with pytest.raises(ValueError, match=name):
        VariantCodec(**{name: bad})


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("bad", [1.5, None, "3"])
def test_limits_must_be_ints(name: str, bad: Any) -> None:
    """A limit that is not an int raises TypeError at the call (the compiled build's
    own check says "int object expected")."""
    with pytest.raises(TypeError, match=f"{name} must be an int|int object expected"):
        VariantCodec(**{name: bad})


@pytest.mark.parametrize("name", LIMITS)
def test_a_limit_of_true_is_1(name: str) -> None:
    """A bool is an int, in both builds."""
    assert getattr(VariantCodec(**{name: True}), name) == 1


def test_bad_offsets_and_counts() -> None:
    """A negative offset or count is the caller's error: ValueError."""
    for call in (lambda: codec.decode(b"", -1), lambda: codec.decompress(b"", -1)):
        with pytest.raises(ValueError, match="offset"):
            call()
    with pytest.raises(ValueError, match="count"):
        codec.decompress_many(b"", 0, -1)


def test_decoding_error_is_a_value_error() -> None:
    """DecodingError is both a MultiplayerError and a ValueError."""
    with pytest.raises(ValueError) as info:
        codec.decode(b"")
    assert isinstance(info.value, MultiplayerError)


# Encoding errors.


class Custom:
    pass


class Plain(enum.Enum):
    A = 1


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ({1, 2}, "set"),
        (frozenset(), "frozenset"),
        (object(), "object"),
        (Custom(), "test_variant.Custom"),
        (Plain.A, "test_variant.Plain"),
        (1j, "complex"),
        (OrderedDict(), "collections.OrderedDict"),
        ([1, {"k": {2}}], "set"),
        (range(3), "range"),
    ],
)
def test_unsupported_types_raise_encoding_error(value: Any, name: str) -> None:
    """Anything without a Godot type raises EncodingError naming it and the supported ones."""
    with pytest.raises(EncodingError, match=rf"cannot encode \S*{name}: .* takes None, bool, int"):
        codec.encode(value)
    with pytest.raises(EncodingError):
        codec.compress(value)
    with pytest.raises(TypeError):  # EncodingError is a TypeError
        codec.compress_many([1, value])


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (2**63, "int64"),
        (INT64_MIN - 1, "int64"),
        ([2**100], "int64"),
        (Vector2i(2**31, 0), "VECTOR2I .* int32"),
        (Vector3i(0, 0, INT32_MIN - 1), "VECTOR3I .* int32"),
        (Vector4i(0, 0, 0, 2**40), "VECTOR4I .* int32"),
        (Rect2i(0, 0, 2**31, 1), "RECT2I .* int32"),
        (Vector2(1e39, 0), "VECTOR2 .* f32"),
        (Vector3(0, -1e300, 0), "VECTOR3 .* f32"),
        (Color(0, 0, 0, 1e40), "COLOR .* f32"),
        (Rect2(0, 0, 1e300, 1), "RECT2 .* f32"),
        (Quaternion(1e300, 0, 0, 1), "QUATERNION .* f32"),
        (Vector4(0, 0, 0, 1e300), "VECTOR4 .* f32"),
        ("\ud800", "surrogate"),
        (array.array("b", [1]), "typecode 'b'"),
        (array.array("H", [1]), "typecode 'H'"),
    ],
)
def test_out_of_range_values_raise_encoding_error(value: Any, match: str) -> None:
    """Values Godot's types cannot hold raise EncodingError, plain and compressed."""
    with pytest.raises(EncodingError, match=match):
        codec.encode(value)
    with pytest.raises(EncodingError, match=match):
        codec.compress(value)


def test_self_containing_values_raise_encoding_error() -> None:
    """A list or dict that holds itself, or nesting past max_depth, raises EncodingError."""
    loop: list[Any] = []
    loop.append(loop)
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    deep: Any = []
    for _ in range(32):
        deep = [deep]
    for value in (loop, cycle, deep, {"k": deep}):
        with pytest.raises(EncodingError, match="max_depth=32"):
            codec.encode(value)
    assert codec.encode([1]) == u32(T.ARRAY, 1, T.INT, 1)  # still sane


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "\ufeffhello"])
def test_a_string_godot_would_cut_raises_at_the_sender(text: str) -> None:
    """Godot reads a String up to its first NUL and skips a leading byte order mark:
    such a string is refused where it is sent, not silently cut on arrival."""
    with pytest.raises(EncodingError, match="NUL character or start with a byte order mark"):
        VariantCodec().encode(text)
    with pytest.raises(EncodingError):
        VariantCodec().compress_many([{"key": text}])
