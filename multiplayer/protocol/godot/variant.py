"""Godot 4's variant encoding, sans-I/O: Python values to Godot's bytes and back.

Two encodings, both from Godot (4.6; real_t is f32, as in default builds):

* ``encode`` / ``decode``: ``encode_variant`` / ``decode_variant`` (``core/io/marshalls.cpp``).
  A u32 little-endian header, ``type | flags << 16``, then the data, padded to a
  multiple of 4. Flag bit 16 means 64-bit (an INT beyond int32, a FLOAT that is not
  an f32, a math type from a double build); for ARRAY, bits 16-17 say how the
  element type of a typed array is given, and for DICTIONARY bits 16-17 and 18-19
  do so for the key and value types (Godot 4.3+ and 4.4+).
* ``compress`` / ``decompress``: ``MultiplayerAPI::encode_and_compress_variant`` /
  ``decode_and_decompress_variant`` (``scene/main/multiplayer_api.cpp``), what RPC
  arguments and replicated state use. One meta byte, ``type | mode << 6``: a BOOL is
  that byte alone (``0x01`` false, ``0x81`` true), an INT the byte and 1, 2, 4 or 8
  bytes (mode 0-3, the smallest that holds it); any other value is ``encode``'s
  output, whose first byte already is the type.

=====================  ===============================  =================================
Python                 Godot (type id)                  notes
=====================  ===============================  =================================
``None``               NIL (0)
``bool``               BOOL (1)                         a u32 0 or 1 when not compressed
``int``                INT (2)                          int64; int32 when it fits
``float``              FLOAT (3)                        f32 when exact, else f64
``str``                STRING (4)                       STRING_NAME (21) decodes to str too
``Vector2/3/4``        VECTOR2/3/4 (5, 9, 12)           f32 components
``Vector2i/3i/4i``     VECTOR2I/3I/4I (6, 10, 13)       int32 components
``Rect2``, ``Rect2i``  RECT2 (7), RECT2I (8)            x, y, width, height
``Quaternion``         QUATERNION (15)                  x, y, z, w as f32
``Color``              COLOR (20)                       r, g, b, a as f32 (always)
``str``                NODE_PATH (22), decode only      the path's text: ``"/root/a:b"``
``dict``               DICTIONARY (27)                  typed ones decode too
``list``, ``tuple``    ARRAY (28)                       decodes to list; typed ones too
``bytes``              PACKED_BYTE_ARRAY (29)           also from bytearray, memoryview
``array('i')``         PACKED_INT32_ARRAY (30)          decodes to a list of int
``array('q')``         PACKED_INT64_ARRAY (31)          and ``array('l')`` of 8 bytes
``array('f')``         PACKED_FLOAT32_ARRAY (32)        decodes to a list of float
``array('d')``         PACKED_FLOAT64_ARRAY (33)        decodes to a list of float
``list`` of ``str``    PACKED_STRING_ARRAY (34)         decode only
``list`` of values     PACKED_VECTOR2/3/COLOR/VECTOR4   decode only (35-38)
=====================  ===============================  =================================

``IntEnum`` and ``IntFlag`` members go as INT and ``str`` subclasses as STRING.
Anything else raises :exc:`~multiplayer.exceptions.EncodingError`: sets, objects,
user classes (Godot's objects travel only with ``allow_object_decoding``, which this
codec does not do), and ints, vector components or f32s out of range.

Precision: Godot's math types hold f32s, so the float components of the value types
are sent as f32, and a Python float that is not exactly an f32 is rounded to the
nearest one (``Vector2(0.1, 0)`` arrives as ``Vector2(0.10000000149011612, 0)``).
A plain ``float`` is sent as f64 when f32 would change it, as Godot does.

Godot's strings stop at the first NUL and skip a leading UTF-8 byte order mark
(``String::parse_utf8``); decoding does the same, so a ``str`` holding ``"\\0"``
arrives cut there. Dictionary keys that Python finds equal (``1``, ``1.0``,
``True``) become one key, where Godot keeps them apart.

Decoding treats its input as hostile and raises
:exc:`~multiplayer.exceptions.DecodingError`, and nothing else, for truncated data,
counts past the end of the data or over the limits (``max_str_len``,
``max_bin_len``, ``max_array_len``, ``max_map_len``, ``max_objects``), nesting deeper
than ``max_depth``, invalid UTF-8, dictionary keys Python cannot hash (Godot allows an
Array as a key), unknown type ids and the Godot types that have no value here:
TRANSFORM2D, PLANE, AABB, BASIS, TRANSFORM3D, PROJECTION, RID, OBJECT (in any
form), CALLABLE and SIGNAL.
"""

from __future__ import annotations

import _thread
import array
import enum
import struct
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

from ..._mypyc import chained, mypyc_attr
from ...exceptions import DecodingError, EncodingError
from ...values import (
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

__all__ = ["VariantCodec", "VariantType"]


class VariantType(enum.IntEnum):
    """Godot 4's ``Variant::Type`` ids (``core/variant/variant.h``), as on the wire."""

    NIL = 0
    BOOL = 1
    INT = 2
    FLOAT = 3
    STRING = 4
    VECTOR2 = 5
    VECTOR2I = 6
    RECT2 = 7
    RECT2I = 8
    VECTOR3 = 9
    VECTOR3I = 10
    TRANSFORM2D = 11
    VECTOR4 = 12
    VECTOR4I = 13
    PLANE = 14
    QUATERNION = 15
    AABB = 16
    BASIS = 17
    TRANSFORM3D = 18
    PROJECTION = 19
    COLOR = 20
    STRING_NAME = 21
    NODE_PATH = 22
    RID = 23
    OBJECT = 24
    CALLABLE = 25
    SIGNAL = 26
    DICTIONARY = 27
    ARRAY = 28
    PACKED_BYTE_ARRAY = 29
    PACKED_INT32_ARRAY = 30
    PACKED_INT64_ARRAY = 31
    PACKED_FLOAT32_ARRAY = 32
    PACKED_FLOAT64_ARRAY = 33
    PACKED_STRING_ARRAY = 34
    PACKED_VECTOR2_ARRAY = 35
    PACKED_VECTOR3_ARRAY = 36
    PACKED_COLOR_ARRAY = 37
    PACKED_VECTOR4_ARRAY = 38


_T = VariantType
# Plain ints for the per-value paths: an IntEnum member costs ~100 ns more to compare
# or to pack.
_BOOL: Final = int(_T.BOOL)
_INT: Final = int(_T.INT)
_FLOAT: Final = int(_T.FLOAT)
_STRING: Final = int(_T.STRING)
_VECTOR2: Final = int(_T.VECTOR2)
_VECTOR3: Final = int(_T.VECTOR3)
_ARRAY: Final = int(_T.ARRAY)
_DICTIONARY: Final = int(_T.DICTIONARY)
_PACKED_BYTE_ARRAY: Final = int(_T.PACKED_BYTE_ARRAY)
_VARIANT_MAX: Final = len(VariantType)
_FLAG_64: Final = 1 << 16  # HEADER_DATA_FLAG_64 (marshalls.cpp)
_COUNT_MASK: Final = 0x7FFF_FFFF  # Array and Dictionary counts: bit 31 is an old "shared" flag
_INT32_MIN: Final = -(1 << 31)
_INT32_MAX: Final = (1 << 31) - 1
_MAX_SHARED_HASH: Final = 16
"""Dictionary keys allowed to share one hash value: more is a hash-flooding attempt."""

_SUPPORTED: Final = (
    "None, bool, int, float, str, bytes, bytearray, memoryview, list, tuple, dict, "
    "Vector2, Vector2i, Vector3, Vector3i, Vector4, Vector4i, Rect2, Rect2i, Quaternion, "
    "Color, array.array of typecode 'i', 'l', 'q', 'f' or 'd', IntEnum and IntFlag members "
    "(sent as int), str subclasses (sent as str)"
)

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_HEAD_U32 = struct.Struct("<II")  # a header and a count, a bool or a u32 type
_HEAD_I32 = struct.Struct("<Ii")
_HEAD_I64 = struct.Struct("<Iq")
_HEAD_F32 = struct.Struct("<If")
_HEAD_F64 = struct.Struct("<Id")
_HEAD_2F = struct.Struct("<I2f")
_HEAD_3F = struct.Struct("<I3f")
_HEAD_4F = struct.Struct("<I4f")
_HEAD_2I = struct.Struct("<I2i")
_HEAD_3I = struct.Struct("<I3i")
_HEAD_4I = struct.Struct("<I4i")
_NODE_PATH_COUNTS = struct.Struct("<III")
_COMPRESSED_INTS = (struct.Struct("<b"), struct.Struct("<h"), struct.Struct("<i"), _I64)
_COMPRESSED_INT8 = struct.Struct("<Bb")
_COMPRESSED_INT16 = struct.Struct("<Bh")
_COMPRESSED_INT32 = struct.Struct("<Bi")
_COMPRESSED_INT64 = struct.Struct("<Bq")

_NIL_BYTES = _U32.pack(_T.NIL)
_TRUE_BYTES = _HEAD_U32.pack(_T.BOOL, 1)
_FALSE_BYTES = _HEAD_U32.pack(_T.BOOL, 0)
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")  # indexed by length % 4
_LITTLE_ENDIAN = sys.byteorder == "little"


def _positive(name: str, value: int) -> int:
    # (A bool is an int here as everywhere in Python: the compiled build cannot tell
    # them apart at the call, so neither does the interpreted one.)
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _type_name(value: Any) -> str:
    cls = type(value)
    if cls.__module__ in ("builtins", "multiplayer.values"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


# Encoding the values that hold no others: (value, depth) -> bytes. Godot writes each
# with its header first (marshalls.cpp, encode_variant).


def _write_nil(value: None, depth: int) -> bytes:
    return _NIL_BYTES


def _write_bool(value: bool, depth: int) -> bytes:
    return _TRUE_BYTES if value else _FALSE_BYTES


def _write_int(value: int, depth: int) -> bytes:
    """int32 when it fits, else int64 with the 64-bit flag (as ``encode_variant`` decides)."""
    if _INT32_MIN <= value <= _INT32_MAX:
        return _HEAD_I32.pack(_INT, value)
    try:
        return _HEAD_I64.pack(_INT | _FLAG_64, value)
    except struct.error:
        raise chained(EncodingError(f"int {value} does not fit in Godot's int64"), None) from None


def _write_float(value: float, depth: int) -> bytes:
    """f32 unless that changes the value (``double(float(d)) != d``): then f64 and the
    flag. A NaN is never equal to itself, so it goes as f64, as from Godot."""
    try:
        data = _HEAD_F32.pack(_FLOAT, value)
    except OverflowError:  # finite, but beyond the f32 range
        return _HEAD_F64.pack(_FLOAT | _FLAG_64, value)
    if _F32.unpack_from(data, 4)[0] == value:
        return data
    return _HEAD_F64.pack(_FLOAT | _FLAG_64, value)


def _write_str(value: str, depth: int) -> bytes:
    # Godot reads a string up to its first NUL, and skips a leading byte order mark
    # (String::parse_utf8): such a string would arrive cut, so it is refused here.
    if "\0" in value or value[:1] == "\ufeff":
        raise EncodingError(
            "a Godot String cannot hold a NUL character or start with a byte order mark"
            f" (Godot would read it cut short): {value[:20]!r}"
        )
    try:
        raw = value.encode()
    except UnicodeEncodeError as exc:
        raise chained(EncodingError(f"cannot encode the string: {exc.reason}"), None) from None
    return _HEAD_U32.pack(_STRING, len(raw)) + raw + _PAD[len(raw) & 3]


def _write_bytes(value: bytes | bytearray | memoryview, depth: int) -> bytes:
    raw = bytes(value)
    return _HEAD_U32.pack(_PACKED_BYTE_ARRAY, len(raw)) + raw + _PAD[len(raw) & 3]


_PACKED_TYPES = {
    # (typecode, itemsize): the packed array an array.array becomes. The item sizes
    # are checked because C's int and long vary between platforms.
    ("i", 4): _T.PACKED_INT32_ARRAY,
    ("l", 4): _T.PACKED_INT32_ARRAY,
    ("l", 8): _T.PACKED_INT64_ARRAY,
    ("q", 8): _T.PACKED_INT64_ARRAY,
    ("f", 4): _T.PACKED_FLOAT32_ARRAY,
    ("d", 8): _T.PACKED_FLOAT64_ARRAY,
}


def _write_packed(value: array.array[Any], depth: int) -> bytes:
    kind = _PACKED_TYPES.get((value.typecode, value.itemsize))
    if kind is None:
        raise EncodingError(
            f"cannot encode an array.array of typecode {value.typecode!r}: Godot's packed "
            "arrays take 'i' (int32), 'l' or 'q' (int64), 'f' (float32) and 'd' (float64)"
        )
    if not _LITTLE_ENDIAN:
        value = array.array(value.typecode, value)
        value.byteswap()
    return _HEAD_U32.pack(kind, len(value)) + value.tobytes()


_Writer = Callable[[Any, int], bytes]


def _float_writer(
    kind: int, layout: struct.Struct, parts: Callable[[Any], Iterable[float]]
) -> _Writer:
    name = VariantType(kind).name
    kind = int(kind)

    def write(value: Any, depth: int) -> bytes:
        try:
            return layout.pack(kind, *parts(value))
        except OverflowError:
            raise chained(
                EncodingError(f"a {name} component is beyond the f32 range: {value!r}"), None
            ) from None

    return write


def _int_writer(kind: int, layout: struct.Struct, parts: Callable[[Any], Iterable[int]]) -> _Writer:
    name = VariantType(kind).name
    kind = int(kind)

    def write(value: Any, depth: int) -> bytes:
        try:
            return layout.pack(kind, *parts(value))
        except struct.error:
            raise chained(
                EncodingError(f"a {name} component does not fit in int32: {value!r}"), None
            ) from None

    return write


def _write_vector2(value: Vector2, depth: int) -> bytes:
    try:
        return _HEAD_2F.pack(_VECTOR2, value.x, value.y)
    except OverflowError:
        raise chained(
            EncodingError(f"a VECTOR2 component is beyond the f32 range: {value!r}"), None
        ) from None


def _write_vector3(value: Vector3, depth: int) -> bytes:
    try:
        return _HEAD_3F.pack(_VECTOR3, value.x, value.y, value.z)
    except OverflowError:
        raise chained(
            EncodingError(f"a VECTOR3 component is beyond the f32 range: {value!r}"), None
        ) from None


def _rect_parts(value: Rect2 | Rect2i) -> tuple[Any, Any, Any, Any]:
    return (value.position.x, value.position.y, value.size.x, value.size.y)


_LEAF_WRITERS: dict[type, _Writer] = {
    type(None): _write_nil,
    bool: _write_bool,
    int: _write_int,
    float: _write_float,
    str: _write_str,
    Vector2: _write_vector2,
    Vector3: _write_vector3,
    Vector2i: _int_writer(_T.VECTOR2I, _HEAD_2I, tuple),
    Vector3i: _int_writer(_T.VECTOR3I, _HEAD_3I, tuple),
    Vector4: _float_writer(_T.VECTOR4, _HEAD_4F, tuple),
    Vector4i: _int_writer(_T.VECTOR4I, _HEAD_4I, tuple),
    Rect2: _float_writer(_T.RECT2, _HEAD_4F, _rect_parts),
    Rect2i: _int_writer(_T.RECT2I, _HEAD_4I, _rect_parts),
    Quaternion: _float_writer(_T.QUATERNION, _HEAD_4F, tuple),
    Color: _float_writer(_T.COLOR, _HEAD_4F, tuple),  # f32 even in double builds
    bytes: _write_bytes,
    bytearray: _write_bytes,
    memoryview: _write_bytes,
    array.array: _write_packed,
}


def _compress_int(value: int) -> bytes:
    """The meta byte ``INT | mode << 6`` and the smallest of int8/16/32/64 that holds it."""
    if -0x80 <= value <= 0x7F:
        return _COMPRESSED_INT8.pack(_INT, value)
    if -0x8000 <= value <= 0x7FFF:
        return _COMPRESSED_INT16.pack(_INT | 1 << 6, value)
    if _INT32_MIN <= value <= _INT32_MAX:
        return _COMPRESSED_INT32.pack(_INT | 2 << 6, value)
    try:
        return _COMPRESSED_INT64.pack(_INT | 3 << 6, value)
    except struct.error:
        raise chained(EncodingError(f"int {value} does not fit in Godot's int64"), None) from None


# Decoding the values that hold no others: (data, offset after the header, header,
# depth) -> (value, offset after it). The caller has read the header.

_Reader = Callable[[bytes, int, int, int], tuple[Any, int]]


def _truncated(name: str, offset: int) -> DecodingError:
    return DecodingError(f"truncated {name} at offset {offset}")


def _read_nil(data: bytes, offset: int, header: int, depth: int) -> tuple[Any, int]:
    return None, offset


def _read_bool(data: bytes, offset: int, header: int, depth: int) -> tuple[Any, int]:
    if offset + 4 > len(data):
        raise _truncated("BOOL", offset)
    return _U32.unpack_from(data, offset)[0] != 0, offset + 4


def _read_int(data: bytes, offset: int, header: int, depth: int) -> tuple[Any, int]:
    layout = _I64 if header & _FLAG_64 else _I32
    end = offset + layout.size
    if end > len(data):
        raise _truncated("INT", offset)
    return layout.unpack_from(data, offset)[0], end


def _read_float(data: bytes, offset: int, header: int, depth: int) -> tuple[Any, int]:
    layout = _F64 if header & _FLAG_64 else _F32
    end = offset + layout.size
    if end > len(data):
        raise _truncated("FLOAT", offset)
    return layout.unpack_from(data, offset)[0], end


def _fixed_reader(kind: int, cls: type, code: str, count: int, *, wide: bool = True) -> _Reader:
    """A reader of ``count`` numbers of struct ``code`` made into ``cls``. With ``wide``,
    the 64-bit flag means f64 numbers: a Godot built with double-precision real_t sends
    those, and Godot decodes either (``decode_variant``). Color is always f32."""
    name = VariantType(kind).name
    narrow = struct.Struct(f"<{count}{code}")
    double = struct.Struct(f"<{count}d") if wide else narrow

    def read(data: bytes, offset: int, header: int, depth: int) -> tuple[Any, int]:
        layout = double if header & _FLAG_64 else narrow
        end = offset + layout.size
        if end > len(data):
            raise _truncated(name, offset)
        return cls(*layout.unpack_from(data, offset)), end

    return read


def _utf8(data: bytes, start: int, end: int) -> str:
    """Godot's reading of a string's bytes (``String::parse_utf8``): up to the first NUL,
    a leading byte order mark skipped, invalid UTF-8 refused."""
    raw = data[start:end]
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        nul = raw.find(b"\0")
        if nul < 0:  # the bad bytes are not hidden behind a NUL
            raise chained(DecodingError(f"invalid UTF-8 in a string: {exc.reason}"), None) from None
        return _utf8(raw, 0, nul)
    if "\0" in text:
        text = text[: text.index("\0")]
    return text[1:] if text[:1] == "\ufeff" else text


_REFUSED = frozenset(
    {
        _T.TRANSFORM2D,
        _T.PLANE,
        _T.AABB,
        _T.BASIS,
        _T.TRANSFORM3D,
        _T.PROJECTION,
        _T.RID,
        _T.CALLABLE,
        _T.SIGNAL,
    }
)


def _refused(kind: int) -> DecodingError:
    if kind == _T.OBJECT:
        return DecodingError(
            "refused an OBJECT: objects are not decoded (Godot's allow_object_decoding "
            "defaults to false)"
        )
    if kind in _REFUSED:
        return DecodingError(f"Godot's {VariantType(kind).name} (type {kind}) has no value here")
    return DecodingError(f"unknown variant type id {kind}")


def _make_dict(keys: list[Any], values: list[Any]) -> dict[Any, Any]:
    """The dictionary of the pairs; refuses unhashable keys and keys crafted to share a
    hash value (the hashes of floats, and of the value types built from them, are not
    randomized: many keys with one hash would make building the dict quadratic)."""
    try:
        if len(keys) > _MAX_SHARED_HASH and not all(type(key) is str for key in keys):
            if max(Counter(map(hash, keys)).values()) > _MAX_SHARED_HASH:
                raise DecodingError(
                    f"more than {_MAX_SHARED_HASH} dictionary keys share a hash value"
                )
        return dict(zip(keys, values, strict=True))
    except TypeError:
        bad = next((key for key in keys if type(key).__hash__ is None), None)
        raise DecodingError(
            f"a dictionary key of type {_type_name(bad)} cannot be a Python dict key"
        ) from None


_PACKED_NUMBERS = {
    # type: (struct code, item size)
    _T.PACKED_INT32_ARRAY: ("i", 4),
    _T.PACKED_INT64_ARRAY: ("q", 8),
    _T.PACKED_FLOAT32_ARRAY: ("f", 4),
    _T.PACKED_FLOAT64_ARRAY: ("d", 8),
}

_PACKED_VALUES = {
    # type: (value type, f32 layout, f64 layout): the 64-bit flag means f64
    # components (double builds), except for colors, which are always f32.
    _T.PACKED_VECTOR2_ARRAY: (Vector2, struct.Struct("<2f"), struct.Struct("<2d")),
    _T.PACKED_VECTOR3_ARRAY: (Vector3, struct.Struct("<3f"), struct.Struct("<3d")),
    _T.PACKED_COLOR_ARRAY: (Color, struct.Struct("<4f"), struct.Struct("<4f")),
    _T.PACKED_VECTOR4_ARRAY: (Vector4, struct.Struct("<4f"), struct.Struct("<4d")),
}


# (Not a native class: mypyc would lay its attributes over threading.local's C struct,
# shared by every thread, and crash the process.)
@mypyc_attr(native_class=False)
class _Budget(_thread._local):  # (threading.local, named so for mypyc)
    """What the values being decoded on this thread may still build (``max_objects``):
    one packet's, between ``begin_packet`` and ``end_packet``, else one call's."""

    left = 0
    in_packet = False


class _Decoder:
    """The limits, and the readers that need them: strings, containers, packed arrays."""

    def __init__(
        self,
        max_str_len: int,
        max_bin_len: int,
        max_array_len: int,
        max_map_len: int,
        max_depth: int,
        max_objects: int,
    ) -> None:
        self.max_str_len = _positive("max_str_len", max_str_len)
        self.max_bin_len = _positive("max_bin_len", max_bin_len)
        self.max_array_len = _positive("max_array_len", max_array_len)
        self.max_map_len = _positive("max_map_len", max_map_len)
        self.max_depth = _positive("max_depth", max_depth)
        self.max_objects = _positive("max_objects", max_objects)
        self._budget = _Budget()
        self._readers: dict[int, _Reader] = {
            _T.NIL: _read_nil,
            _T.BOOL: _read_bool,
            _T.INT: _read_int,
            _T.FLOAT: _read_float,
            _T.STRING: self._read_string,
            _T.VECTOR2: _fixed_reader(_T.VECTOR2, Vector2, "f", 2),
            _T.VECTOR2I: _fixed_reader(_T.VECTOR2I, Vector2i, "i", 2, wide=False),
            _T.RECT2: _fixed_reader(_T.RECT2, Rect2, "f", 4),
            _T.RECT2I: _fixed_reader(_T.RECT2I, Rect2i, "i", 4, wide=False),
            _T.VECTOR3: _fixed_reader(_T.VECTOR3, Vector3, "f", 3),
            _T.VECTOR3I: _fixed_reader(_T.VECTOR3I, Vector3i, "i", 3, wide=False),
            _T.VECTOR4: _fixed_reader(_T.VECTOR4, Vector4, "f", 4),
            _T.VECTOR4I: _fixed_reader(_T.VECTOR4I, Vector4i, "i", 4, wide=False),
            _T.QUATERNION: _fixed_reader(_T.QUATERNION, Quaternion, "f", 4),
            _T.COLOR: _fixed_reader(_T.COLOR, Color, "f", 4, wide=False),
            _T.STRING_NAME: self._read_string,
            _T.NODE_PATH: self._read_node_path,
            _T.DICTIONARY: self._read_dictionary,
            _T.ARRAY: self._read_array,
            _T.PACKED_BYTE_ARRAY: self._read_packed_bytes,
            _T.PACKED_STRING_ARRAY: self._read_packed_strings,
        }
        for kind in _PACKED_NUMBERS:
            self._readers[kind] = self._read_packed_numbers
        for kind in _PACKED_VALUES:
            self._readers[kind] = self._read_packed_values
        # Plain int keys: a lookup by an int then matches by identity of hash and value
        # without calling the IntEnum's comparison.
        self._readers = {int(kind): reader for kind, reader in self._readers.items()}

    def _read(self, data: bytes, offset: int, depth: int) -> tuple[Any, int]:
        """One ``encode_variant`` value at ``offset``: the header, then its reader."""
        end = offset + 4
        if end > len(data):
            raise _truncated("variant header", offset)
        header = _U32.unpack_from(data, offset)[0]
        reader = self._readers.get(header & 0xFF)
        if reader is None:
            raise _refused(header & 0xFF)
        return reader(data, end, header, depth)

    def _deeper(self, depth: int) -> int:
        if depth >= self.max_depth:
            raise DecodingError(f"nested deeper than max_depth={self.max_depth}")
        return depth + 1

    # The work budget (max_objects): a container is charged for itself and its items
    # before any item is read, from the count it declares.

    def begin_packet(self) -> None:
        """Charge every value decoded on this thread to one budget of ``max_objects``,
        until :meth:`end_packet` (else each decoding call has a budget of its own)."""
        budget = self._budget
        budget.left, budget.in_packet = self.max_objects, True

    def end_packet(self) -> None:
        self._budget.in_packet = False

    def _begin_call(self, count: int) -> None:
        """A public decoding call for ``count`` values: charge them, to a new budget
        unless a packet's is open."""
        budget = self._budget
        if not budget.in_packet:
            budget.left = self.max_objects
        self._spend(count)

    def _spend(self, count: int) -> None:
        budget = self._budget
        budget.left -= count
        if budget.left < 0:
            raise DecodingError(f"more than max_objects={self.max_objects} values")

    def _count(self, data: bytes, offset: int, name: str, limit: int, limit_name: str) -> int:
        """The u32 count at ``offset``, at most ``limit``. (Godot reads it as an int32 and
        refuses a negative one, 2**31 or more here: a limit or the data left does.)"""
        if offset + 4 > len(data):
            raise _truncated(f"{name} count", offset)
        count: int = _U32.unpack_from(data, offset)[0]
        if count > limit:
            raise DecodingError(f"{name} of {count} exceeds {limit_name}={limit}")
        return count

    def _masked_count(
        self, data: bytes, offset: int, name: str, limit: int, limit_name: str
    ) -> int:
        """An Array's or a Dictionary's count: Godot masks off bit 31 (once a "shared"
        flag), so ``0x80000002`` counts 2 there, and here."""
        count = self._count(data, offset, name, 0xFFFF_FFFF, "u32") & _COUNT_MASK
        if count > limit:
            raise DecodingError(f"{name} of {count} exceeds {limit_name}={limit}")
        return count

    @staticmethod
    def _fits(data: bytes, offset: int, size: int, name: str) -> None:
        """Refuse a count before allocating anything for it: its items cannot take less
        than ``size`` bytes, and they must fit in the data that is left."""
        if size > len(data) - offset:
            raise DecodingError(f"{name} needs {size} bytes, {len(data) - offset} are left")

    # Strings.

    def _read_string(
        self, data: bytes, offset: int, header: int = 0, depth: int = 0
    ) -> tuple[str, int]:
        """A u32 byte length, the UTF-8 bytes and zeros to a multiple of 4 (``_decode_string``).
        A reader itself (STRING and STRING_NAME), and the strings of the others.

        The hot path of every RPC: the checks of ``_count`` and ``_fits`` are inlined.
        """
        start = offset + 4
        if start > len(data):
            raise _truncated("string length", offset)
        length: int = _U32.unpack_from(data, offset)[0]
        if length > self.max_str_len:
            raise DecodingError(f"string of {length} exceeds max_str_len={self.max_str_len}")
        end = start + length
        padded = end + (-length & 3)
        if padded > len(data):
            raise DecodingError(
                f"string needs {padded - start} bytes, {len(data) - start} are left"
            )
        return _utf8(data, start, end), padded

    def _read_node_path(self, data: bytes, offset: int, header: int, depth: int) -> tuple[Any, int]:
        """The path's text. The counts of names and subnames (bit 31 of the first marks
        the format of Godot 3 and 4; without it Godot refuses the path), flags (bit 0:
        absolute; bit 1: an obsolete extra subname), then each name as a string."""
        if offset + 12 > len(data):
            raise _truncated("NODE_PATH", offset)
        names, subnames, flags = _NODE_PATH_COUNTS.unpack_from(data, offset)
        if not names & 0x8000_0000:
            raise DecodingError("NODE_PATH in the format before Godot 3, which Godot refuses")
        names &= _COUNT_MASK
        total = names + subnames + (1 if flags & 2 else 0)
        if total > self.max_array_len:
            raise DecodingError(
                f"NODE_PATH of {total} names exceeds max_array_len={self.max_array_len}"
            )
        offset += 12
        self._fits(data, offset, 4 * total, "NODE_PATH")
        self._spend(total)
        parts = []
        for _ in range(total):
            part, offset = self._read_string(data, offset)
            parts.append(part)
        text = "/".join(parts[:names])
        subpath = ":".join(parts[names:])
        if subpath:
            text += ":" + subpath
        return ("/" + text if flags & 1 else text), offset

    # Containers.

    def _skip_container_type(self, data: bytes, offset: int, kind: int, name: str) -> int:
        """Past the element type of a typed Array or Dictionary (``_decode_container_type``):
        kind 1 is a builtin type id (u32), 2 a class name and 3 a script path (strings).
        The values come back as plain lists and dicts, so the type is only checked."""
        if kind == 0:
            return offset
        if kind != 1:
            return self._read_string(data, offset)[1]
        if offset + 4 > len(data):
            raise _truncated(f"{name} element type", offset)
        element = _U32.unpack_from(data, offset)[0]
        if element >= _VARIANT_MAX:
            raise DecodingError(f"typed {name} of unknown element type {element}")
        return offset + 4

    def _read_array(self, data: bytes, offset: int, header: int, depth: int) -> tuple[Any, int]:
        depth = self._deeper(depth)
        offset = self._skip_container_type(data, offset, header >> 16 & 3, "ARRAY")
        count = self._masked_count(data, offset, "ARRAY", self.max_array_len, "max_array_len")
        offset += 4
        self._fits(data, offset, 4 * count, "ARRAY")  # each item has a 4-byte header
        self._spend(1 + count)
        read = self._read
        items = []
        for _ in range(count):
            item, offset = read(data, offset, depth)
            items.append(item)
        return items, offset

    def _read_dictionary(
        self, data: bytes, offset: int, header: int, depth: int
    ) -> tuple[Any, int]:
        depth = self._deeper(depth)
        offset = self._skip_container_type(data, offset, header >> 16 & 3, "DICTIONARY key")
        offset = self._skip_container_type(data, offset, header >> 18 & 3, "DICTIONARY value")
        count = self._masked_count(data, offset, "DICTIONARY", self.max_map_len, "max_map_len")
        offset += 4
        self._fits(data, offset, 8 * count, "DICTIONARY")
        self._spend(1 + count)
        read = self._read
        keys, values = [], []
        for _ in range(count):
            key, offset = read(data, offset, depth)
            value, offset = read(data, offset, depth)
            keys.append(key)
            values.append(value)
        return _make_dict(keys, values), offset

    # Packed arrays: a u32 count, then the items. Only bytes need padding: the other
    # items are multiples of 4 bytes.

    def _read_packed_bytes(
        self, data: bytes, offset: int, header: int, depth: int
    ) -> tuple[Any, int]:
        count = self._count(data, offset, "PACKED_BYTE_ARRAY", self.max_bin_len, "max_bin_len")
        start = offset + 4
        # Godot writes the padding; it would accept it missing at the very end of the
        # data (it checks only the count), which this does not.
        self._fits(data, start, count + (-count & 3), "PACKED_BYTE_ARRAY")
        return data[start : start + count], start + count + (-count & 3)

    def _read_packed_numbers(
        self, data: bytes, offset: int, header: int, depth: int
    ) -> tuple[Any, int]:
        kind = VariantType(header & 0xFF)
        code, size = _PACKED_NUMBERS[kind]
        count = self._count(data, offset, kind.name, self.max_array_len, "max_array_len")
        start = offset + 4
        self._fits(data, start, count * size, kind.name)
        return list(struct.unpack_from(f"<{count}{code}", data, start)), start + count * size

    def _read_packed_strings(
        self, data: bytes, offset: int, header: int, depth: int
    ) -> tuple[Any, int]:
        """Each string as in a STRING, but Godot counts a NUL terminator in its length,
        which ``_utf8`` stops at."""
        name = "PACKED_STRING_ARRAY"
        count = self._count(data, offset, name, self.max_array_len, "max_array_len")
        offset += 4
        self._fits(data, offset, 4 * count, name)
        self._spend(1 + count)
        strings = []
        for _ in range(count):
            string, offset = self._read_string(data, offset)
            strings.append(string)
        return strings, offset

    def _read_packed_values(
        self, data: bytes, offset: int, header: int, depth: int
    ) -> tuple[Any, int]:
        kind = VariantType(header & 0xFF)
        cls, narrow, double = _PACKED_VALUES[kind]
        layout = double if header & _FLAG_64 else narrow
        count = self._count(data, offset, kind.name, self.max_array_len, "max_array_len")
        start = offset + 4
        end = start + count * layout.size
        self._fits(data, start, end - start, kind.name)
        self._spend(1 + count)
        return [cls(*item) for item in layout.iter_unpack(data[start:end])], end


class VariantCodec(_Decoder):
    """Godot 4's variant encoding of one value, plain and compressed, with limits.

    Args:
        max_str_len: Longest string (and STRING_NAME, NodePath name), in bytes.
        max_bin_len: Longest PackedByteArray, in bytes.
        max_array_len: Most items in an Array, a packed array or a NodePath.
        max_map_len: Most entries in a Dictionary.
        max_depth: Deepest nesting of Arrays and Dictionaries: ``[[1]]`` has depth 2.
        max_objects: Most values one call decodes (one packet's, between
            :meth:`begin_packet` and :meth:`end_packet`): every value counts one, and
            every Array, Dictionary, NodePath and packed array of strings or values
            one more; a Dictionary entry, key and value, counts one. Charged before
            the items are read, from the counts the data declares.

    The names and defaults are those of the native
    :class:`~multiplayer.protocol.native.codec.Codec`. Encoding checks only
    ``max_depth`` (a list that holds itself would recurse forever); decoding checks
    them all.
    """

    def __init__(
        self,
        *,
        max_str_len: int = 1 << 20,
        max_bin_len: int = 1 << 20,
        max_array_len: int = 65536,
        max_map_len: int = 65536,
        max_depth: int = 32,
        max_objects: int = 1 << 17,
    ) -> None:
        super().__init__(
            max_str_len, max_bin_len, max_array_len, max_map_len, max_depth, max_objects
        )
        self._writers: dict[type, _Writer] = {
            **_LEAF_WRITERS,
            list: self._write_array,
            tuple: self._write_array,
            dict: self._write_dictionary,
        }

    def __repr__(self) -> str:
        return (
            f"VariantCodec(max_str_len={self.max_str_len}, max_bin_len={self.max_bin_len}, "
            f"max_array_len={self.max_array_len}, max_map_len={self.max_map_len}, "
            f"max_depth={self.max_depth}, max_objects={self.max_objects})"
        )

    # Encoding.

    def encode(self, value: Any) -> bytes:
        """``value`` as Godot's ``encode_variant`` writes it (objects not allowed).

        Raises:
            EncodingError: ``value`` holds something Godot has no type for, or out of
                range (see the module docstring).
        """
        try:
            return self._write(value, 0)
        except RecursionError:
            raise chained(EncodingError("the value is nested too deeply"), None) from None

    def compress(self, value: Any) -> bytes:
        """``value`` as ``MultiplayerAPI::encode_and_compress_variant`` writes it: a bool
        in one byte, an int in 2, 3, 5 or 9, anything else as :meth:`encode`.

        Raises:
            EncodingError: As :meth:`encode`.
        """
        cls = type(value)
        if cls is int:
            return _compress_int(value)
        if cls is bool:
            return b"\x81" if value else b"\x01"
        if cls not in self._writers and isinstance(value, (enum.IntEnum, enum.IntFlag)):
            return _compress_int(int(value))
        return self.encode(value)

    def compress_many(self, values: Iterable[Any]) -> bytes:
        """The values compressed one after the other, as RPC arguments and replication
        state are sent (``encode_and_compress_variants``; the caller handles the raw
        PackedByteArray case and the argument count).

        Raises:
            EncodingError: As :meth:`encode`.
        """
        return b"".join([self.compress(value) for value in values])

    def _write(self, value: Any, depth: int) -> bytes:
        writer = self._writers.get(type(value))
        if writer is not None:
            return writer(value, depth)
        if isinstance(value, (enum.IntEnum, enum.IntFlag)):
            return _write_int(int(value), depth)
        if isinstance(value, str):
            return _write_str(str.__str__(value), depth)
        raise EncodingError(
            f"cannot encode {_type_name(value)}: Godot's variant encoding takes {_SUPPORTED}"
        )

    def _write_array(self, value: list[Any] | tuple[Any, ...], depth: int) -> bytes:
        depth = self._deeper_to_write(depth)
        write = self._write
        return b"".join([_HEAD_U32.pack(_ARRAY, len(value)), *[write(v, depth) for v in value]])

    def _write_dictionary(self, value: dict[Any, Any], depth: int) -> bytes:
        depth = self._deeper_to_write(depth)
        write = self._write
        parts = [_HEAD_U32.pack(_DICTIONARY, len(value))]
        for key, item in value.items():
            parts.append(write(key, depth))
            parts.append(write(item, depth))
        return b"".join(parts)

    def _deeper_to_write(self, depth: int) -> int:
        if depth >= self.max_depth:
            raise EncodingError(f"lists and dicts nested deeper than max_depth={self.max_depth}")
        return depth + 1

    # Decoding.

    def decode(self, data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[Any, int]:
        """The ``encode_variant`` value at ``offset`` and the offset after it.

        Raises:
            DecodingError: The bytes there are not a whole value, or a refused one.
            ValueError: ``offset`` is negative.
        """
        if type(data) is not bytes:
            data = bytes(data)
        offset = _start(offset)
        self._begin_call(1)
        try:
            return self._read(data, offset, 0)
        except RecursionError:
            raise chained(_too_deep(), None) from None

    def decompress(self, data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[Any, int]:
        """The ``encode_and_compress_variant`` value at ``offset`` and the offset after it.

        Raises:
            DecodingError: As :meth:`decode`.
            ValueError: ``offset`` is negative.
        """
        if type(data) is not bytes:
            data = bytes(data)
        offset = _start(offset)
        self._begin_call(1)
        try:
            return self._decompress(data, offset, 0)
        except RecursionError:
            raise chained(_too_deep(), None) from None

    def decompress_many(
        self, data: bytes | bytearray | memoryview, offset: int, count: int
    ) -> tuple[list[Any], int]:
        """``count`` compressed values from ``offset`` on, and the offset after them
        (``decode_and_decompress_variants``).

        Raises:
            DecodingError: As :meth:`decode`.
            ValueError: ``offset`` or ``count`` is negative.
        """
        if type(count) is not int or count < 0:
            raise ValueError(f"count must be a non-negative int, got {count!r}")
        if type(data) is not bytes:
            data = bytes(data)
        offset = _start(offset)
        self._begin_call(count)
        decompress = self._decompress
        values = []
        try:
            for _ in range(count):
                value, offset = decompress(data, offset, 0)
                values.append(value)
        except RecursionError:
            raise chained(_too_deep(), None) from None
        return values, offset

    def _decompress(self, data: bytes, offset: int, depth: int) -> tuple[Any, int]:
        if offset >= len(data):
            raise _truncated("variant (no data left)", offset)
        meta = data[offset]
        kind = meta & 0x3F  # VARIANT_META_TYPE_MASK
        if kind == _INT:
            layout = _COMPRESSED_INTS[meta >> 6]
            end = offset + 1 + layout.size
            if end > len(data):
                raise _truncated("compressed INT", offset)
            return layout.unpack_from(data, offset + 1)[0], end
        if kind == _BOOL:
            return meta & 0x80 != 0, offset + 1  # Godot reads bit 7 only
        # The rest is encode_variant's, whose header byte 0 is the whole type: mode
        # bits set there make an unknown type (decode_variant refuses it too).
        return self._read(data, offset, depth)


def _too_deep() -> DecodingError:
    """Python's recursion limit, reached under a ``max_depth`` set very high."""
    return DecodingError("nested too deeply for Python's recursion limit")


def _start(offset: int) -> int:
    if type(offset) is not int or offset < 0:
        raise ValueError(f"offset must be a non-negative int, got {offset!r}")
    return offset
