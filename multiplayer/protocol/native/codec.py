"""The high-level payload codec: the only module that imports msgpack.

RPC arguments and other high-level values travel as msgpack. Plain msgpack would turn
a tuple into a list, a ``Vector2`` into nothing at all, and hand back whatever an
unknown extension type holds; this module pins down what goes on the wire and what
comes back from it.

Packing uses ``strict_types=True``, so that subclasses and tuples reach the ``default``
hook instead of being flattened silently (a ``str`` subclass would otherwise be packed
without asking, and a tuple as a list). Supported values: ``None``, ``bool``, ``int``
(64-bit), ``float``, ``str``, ``bytes``, ``list``, ``dict``, ``tuple`` and the value
types of :mod:`multiplayer.values`; ``IntEnum`` and ``IntFlag`` members are sent as
ints and ``str`` subclasses (``StrEnum``) as str; types registered with
:meth:`Codec.register_type` as extension types. Anything else raises
:exc:`~multiplayer.exceptions.EncodingError`.

Extension type codes: 0..31 belong to the library, 32..127 to users.

=====  ================  ====================================================  ===========
code   type              data                                                  on the wire
=====  ================  ====================================================  ===========
0      ``tuple``         the items packed as a msgpack array                   ``(1, 2)``: 6
1      ``Vector2``       2 little-endian f32s                                  10 (fixext 8)
2      ``Vector2``       2 little-endian f64s                                  18 (fixext 16)
3      ``Vector2i``      2 msgpack ints, one after the other                   4..21
4      ``Vector3``       3 little-endian f32s                                  15 (ext 8)
5      ``Vector3``       3 little-endian f64s                                  27 (ext 8)
6      ``Vector3i``      3 msgpack ints, one after the other                   6..30
7      ``Color``         r, g, b, a as little-endian f32                       18 (fixext 16)
8      ``Color``         r, g, b, a as little-endian f64                       35 (ext 8)
9      ``Vector4``       4 little-endian f32s                                  18 (fixext 16)
10     ``Vector4``       4 little-endian f64s                                  35 (ext 8)
11     ``Vector4i``      4 msgpack ints, one after the other                   6..39
12     ``Rect2``         x, y, width, height as little-endian f32              18 (fixext 16)
13     ``Rect2``         x, y, width, height as little-endian f64              35 (ext 8)
14     ``Rect2i``        x, y, width, height as msgpack ints                   6..39
15     ``Quaternion``    x, y, z, w as little-endian f32                       18 (fixext 16)
16     ``Quaternion``    x, y, z, w as little-endian f64                       35 (ext 8)
17-31  reserved          refused on decode
=====  ================  ====================================================  ===========

A float type is sent as f32 when every component survives the round trip through f32
unchanged (a NaN counts as surviving; its payload bits are not kept), else as f64.
Integer vector and ``Rect2i`` components must fit in an int64.

Unpacking treats its input as hostile: the buffer, strings, binaries, arrays, maps and
extension data have size limits, containers (tuples included) may nest at most
``max_depth`` deep, map keys must be hashable scalars, tuples or value types (and many
keys with one hash value are refused, against hash flooding), and unknown extension
codes are refused. Every failure raises :exc:`~multiplayer.exceptions.DecodingError`
and nothing else.

The work one input costs is bounded too, by ``max_objects``: a megabyte within every
other limit can hold a million empty maps, which take the better part of a second to
build and check. Every value counts one, and every list, map, tuple and extension
value one more (building them is what costs); a map entry, key and value, counts one.
The count is kept as msgpack builds the containers, so a bomb is stopped after
``max_objects`` of them, not after the whole megabyte. An input of fewer than
``max_objects / 2`` bytes cannot reach the limit (nothing takes less than a byte, or
counts more than two) and is not counted at all: the usual packet pays nothing.
"""

from __future__ import annotations

import _thread
import enum
import operator
import struct
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain, compress
from typing import Any, TypeVar

import msgpack

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

__all__ = [
    "EXT_COLOR_F32",
    "EXT_COLOR_F64",
    "EXT_QUATERNION_F32",
    "EXT_QUATERNION_F64",
    "EXT_RECT2I",
    "EXT_RECT2_F32",
    "EXT_RECT2_F64",
    "EXT_TUPLE",
    "EXT_VECTOR2I",
    "EXT_VECTOR2_F32",
    "EXT_VECTOR2_F64",
    "EXT_VECTOR3I",
    "EXT_VECTOR3_F32",
    "EXT_VECTOR3_F64",
    "EXT_VECTOR4I",
    "EXT_VECTOR4_F32",
    "EXT_VECTOR4_F64",
    "USER_CODES",
    "Codec",
    "array_header",
    "default_codec",
    "pack_array_items",
    "packb",
    "register_type",
    "unpackb",
]

_T = TypeVar("_T")

EXT_TUPLE = 0
EXT_VECTOR2_F32 = 1
EXT_VECTOR2_F64 = 2
EXT_VECTOR2I = 3
EXT_VECTOR3_F32 = 4
EXT_VECTOR3_F64 = 5
EXT_VECTOR3I = 6
EXT_COLOR_F32 = 7
EXT_COLOR_F64 = 8
EXT_VECTOR4_F32 = 9
EXT_VECTOR4_F64 = 10
EXT_VECTOR4I = 11
EXT_RECT2_F32 = 12
EXT_RECT2_F64 = 13
EXT_RECT2I = 14
EXT_QUATERNION_F32 = 15
EXT_QUATERNION_F64 = 16

USER_CODES = range(32, 128)
"""The extension type codes open to :meth:`Codec.register_type`."""

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_MAX_SHARED_HASH = 16
"""Map keys allowed to share one hash value: more is a hash-flooding attempt."""

_PACKERS_KEPT = 2
"""Idle packers kept per thread and setting; nested packing takes more, briefly."""

_SUPPORTED = (
    "None, bool, int, float, str, bytes, list, tuple, dict, Vector2, Vector2i, Vector3, "
    "Vector3i, Vector4, Vector4i, Rect2, Rect2i, Quaternion, Color, IntEnum and IntFlag "
    "members (sent as int), str subclasses (sent as str)"
)

# The types that come out of unpackb.

_SCALAR_KEY_TYPES = frozenset({str, int, float, bool, type(None), bytes})
_VALUE_TYPES = frozenset(
    {Vector2, Vector2i, Vector3, Vector3i, Vector4, Vector4i, Rect2, Rect2i, Quaternion, Color}
)
_KEY_TYPES = _SCALAR_KEY_TYPES | _VALUE_TYPES | {tuple}
_CONTAINERS = frozenset({list, dict, tuple})
_DECODED_TYPES = _KEY_TYPES | _CONTAINERS

_first = operator.itemgetter(0)


def _type_name(cls: type) -> str:
    if cls.__module__ in ("builtins", "multiplayer.values"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


# Extension types of the library.

_F32 = {n: struct.Struct(f"<{n}f") for n in (2, 3, 4)}
_F64 = {n: struct.Struct(f"<{n}d") for n in (2, 3, 4)}


def _same_floats(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x == y or (x != x and y != y) for x, y in zip(a, b, strict=True))


def _floats_ext(values: tuple[float, ...], f32_code: int) -> msgpack.ExtType:
    """f32 when nothing is lost (``f32_code``), else f64 (the next code)."""
    f32, f64 = _F32[len(values)], _F64[len(values)]
    try:
        data = f32.pack(*values)
    except OverflowError:  # finite, but beyond the f32 range
        return msgpack.ExtType(f32_code + 1, f64.pack(*values))
    unpacked = f32.unpack(data)
    if unpacked == values or _same_floats(unpacked, values):  # the second is for NaNs
        return msgpack.ExtType(f32_code, data)
    return msgpack.ExtType(f32_code + 1, f64.pack(*values))


_INT_FORMATS = [
    # (head byte, lowest, highest, struct code): the msgpack int formats, smallest
    # first, as msgpack picks them. The fixints, -32..127, are the single head byte.
    (0xCC, 0, 0xFF, "B"),
    (0xCD, 0, 0xFFFF, "H"),
    (0xCE, 0, 0xFFFF_FFFF, "I"),
    (0xCF, 0, _INT64_MAX, "Q"),
    (0xD0, -0x80, -1, "b"),
    (0xD1, -0x8000, -1, "h"),
    (0xD2, -0x8000_0000, -1, "i"),
    (0xD3, _INT64_MIN, -1, "q"),
]
_INT_WRITERS = [
    (head, low, high, struct.Struct(">B" + code)) for head, low, high, code in _INT_FORMATS
]
_INT_READERS = {head: struct.Struct(">" + code) for head, _, _, code in _INT_FORMATS}


def _pack_int64(value: int) -> bytes:
    """``value`` as one msgpack int, byte for byte as ``msgpack.packb`` writes it."""
    if -32 <= value <= 127:
        return bytes((value & 0xFF,))
    for head, lowest, highest, layout in _INT_WRITERS:
        if lowest <= value <= highest:
            return layout.pack(head, value)
    raise EncodingError(f"integer vector component {value} does not fit in an int64")


def _read_int64(data: bytes, offset: int) -> tuple[int, int]:
    """The msgpack int at ``offset`` and the offset after it."""
    if offset >= len(data):
        raise DecodingError("truncated integer vector")
    head = data[offset]
    if head <= 0x7F:
        return head, offset + 1
    if head >= 0xE0:
        return head - 0x100, offset + 1
    reader = _INT_READERS.get(head)
    if reader is None:
        raise DecodingError(f"integer vector component has format byte 0x{head:02x}")
    end = offset + 1 + reader.size
    if end > len(data):
        raise DecodingError("truncated integer vector")
    (value,) = reader.unpack_from(data, offset + 1)
    if value > _INT64_MAX:
        raise DecodingError(f"integer vector component {value} does not fit in an int64")
    return value, end


def _ints_ext(values: tuple[int, ...], code: int) -> msgpack.ExtType:
    return msgpack.ExtType(code, b"".join(map(_pack_int64, values)))


def _encode_value(obj: Any) -> msgpack.ExtType | None:
    """The extension type of a value type, or None for anything else."""
    cls = type(obj)
    if cls is Vector2:
        return _floats_ext((obj.x, obj.y), EXT_VECTOR2_F32)
    if cls is Vector3:
        return _floats_ext((obj.x, obj.y, obj.z), EXT_VECTOR3_F32)
    if cls is Color:
        return _floats_ext((obj.r, obj.g, obj.b, obj.a), EXT_COLOR_F32)
    if cls is Vector2i:
        return _ints_ext((obj.x, obj.y), EXT_VECTOR2I)
    if cls is Vector3i:
        return _ints_ext((obj.x, obj.y, obj.z), EXT_VECTOR3I)
    return _encode_rarer_value(obj, cls)


def _encode_rarer_value(obj: Any, cls: type) -> msgpack.ExtType | None:
    """:func:`_encode_value` for the types that games send less often."""
    if cls is Quaternion:
        return _floats_ext((obj.x, obj.y, obj.z, obj.w), EXT_QUATERNION_F32)
    if cls is Rect2:
        position, size = obj.position, obj.size
        return _floats_ext((position.x, position.y, size.x, size.y), EXT_RECT2_F32)
    if cls is Rect2i:
        position, size = obj.position, obj.size
        return _ints_ext((position.x, position.y, size.x, size.y), EXT_RECT2I)
    if cls is Vector4:
        return _floats_ext((obj.x, obj.y, obj.z, obj.w), EXT_VECTOR4_F32)
    if cls is Vector4i:
        return _ints_ext((obj.x, obj.y, obj.z, obj.w), EXT_VECTOR4I)
    return None


def _float_decoder(cls: type, layout: struct.Struct) -> Callable[[bytes], Any]:
    name = cls.__name__

    def decode(data: bytes) -> Any:
        if len(data) != layout.size:
            raise DecodingError(f"{name} data must be {layout.size} bytes, got {len(data)}")
        return cls(*layout.unpack(data))

    return decode


def _int_decoder(cls: type, count: int) -> Callable[[bytes], Any]:
    name = cls.__name__

    def decode(data: bytes) -> Any:
        values: list[int] = []
        offset = 0
        for _ in range(count):
            value, offset = _read_int64(data, offset)
            values.append(value)
        if offset != len(data):
            raise DecodingError(f"{name} data has {len(data) - offset} bytes too many")
        return cls(*values)

    return decode


_VALUE_DECODERS: dict[int, Callable[[bytes], Any]] = {
    EXT_VECTOR2_F32: _float_decoder(Vector2, _F32[2]),
    EXT_VECTOR2_F64: _float_decoder(Vector2, _F64[2]),
    EXT_VECTOR2I: _int_decoder(Vector2i, 2),
    EXT_VECTOR3_F32: _float_decoder(Vector3, _F32[3]),
    EXT_VECTOR3_F64: _float_decoder(Vector3, _F64[3]),
    EXT_VECTOR3I: _int_decoder(Vector3i, 3),
    EXT_COLOR_F32: _float_decoder(Color, _F32[4]),
    EXT_COLOR_F64: _float_decoder(Color, _F64[4]),
    EXT_VECTOR4_F32: _float_decoder(Vector4, _F32[4]),
    EXT_VECTOR4_F64: _float_decoder(Vector4, _F64[4]),
    EXT_VECTOR4I: _int_decoder(Vector4i, 4),
    EXT_RECT2_F32: _float_decoder(Rect2, _F32[4]),
    EXT_RECT2_F64: _float_decoder(Rect2, _F64[4]),
    EXT_RECT2I: _int_decoder(Rect2i, 4),
    EXT_QUATERNION_F32: _float_decoder(Quaternion, _F32[4]),
    EXT_QUATERNION_F64: _float_decoder(Quaternion, _F64[4]),
}


# Map keys.


def _make_dict(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """``object_pairs_hook``: check the keys before anything hashes them."""
    for key, _ in pairs:  # a plain loop: faster than set(map(...)) for typical small maps
        if type(key) not in _SCALAR_KEY_TYPES:
            _check_composite_keys(pairs)
            break
    return dict(pairs)


def _check_composite_keys(pairs: list[tuple[Any, Any]]) -> None:
    """Refuse keys that are not :data:`_KEY_TYPES`, even inside tuples, and hash floods.

    Tuples and value types pass the type check, but their hashes, unlike ``str``'s,
    are not randomized: a peer can craft thousands of distinct keys with one hash value
    and make building the dict quadratic.
    """
    _check_key_types(set(map(type, map(_first, pairs))))
    tuples = [key for key, _ in pairs if type(key) is tuple]
    while tuples:
        key = tuples.pop()
        types = set(map(type, key))
        _check_key_types(types)
        if tuple in types:
            tuples.extend(item for item in key if type(item) is tuple)
    hashes = Counter(map(hash, map(_first, pairs)))
    if max(hashes.values()) > _MAX_SHARED_HASH:
        raise DecodingError(f"more than {_MAX_SHARED_HASH} map keys share a hash value")


def _check_key_types(types: set[type]) -> None:
    bad = types - _KEY_TYPES
    if bad:
        names = ", ".join(sorted(_type_name(cls) for cls in bad))
        raise DecodingError(f"map keys of type {names} are not allowed")


_is_container = _CONTAINERS.__contains__
_is_dict = frozenset({dict}).__contains__
_is_tuple = frozenset({tuple}).__contains__


def _children(level: list[Any]) -> list[Any]:
    """The items of lists and tuples, the values of dicts and the tuple keys of dicts."""
    is_dict = list(map(_is_dict, map(type, level)))
    dicts = list(compress(level, is_dict))
    sequences = compress(level, map(operator.not_, is_dict))
    keys = list(chain.from_iterable(dicts))
    return list(
        chain(
            chain.from_iterable(sequences),
            chain.from_iterable(map(dict.values, dicts)),
            compress(keys, map(_is_tuple, map(type, keys))),
        )
    )


def _explain(exc: Exception) -> str:
    """A DecodingError message for an exception of msgpack's."""
    if isinstance(exc, msgpack.ExtraData):
        return "extra bytes after the value"
    if isinstance(exc, msgpack.StackError):
        return "nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 in a string: {exc.reason}"
    if isinstance(exc, msgpack.FormatError):
        return "invalid msgpack format byte"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"malformed msgpack: {exc}" if str(exc) else f"malformed msgpack: {exc!r}"


def _positive(name: str, value: int) -> int:
    # (A bool is an int here as everywhere in Python: the compiled build cannot tell
    # them apart at the call, so neither does the interpreted one.)
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class _Tally:
    """What one ``unpackb`` of a long input may still build (see ``max_objects``); its
    hooks are msgpack's, and raise once the input has built too much."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def take(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise self._over()

    # (The hooks run for every container of a long input: ``take`` is inlined.)

    def list_hook(self, items: list[Any]) -> list[Any]:
        self.left -= 1 + len(items)
        if self.left < 0:
            raise self._over()
        return items

    def pairs_hook(self, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        self.left -= 1 + len(pairs)
        if self.left < 0:
            raise self._over()
        return _make_dict(pairs) if pairs else {}

    def _over(self) -> DecodingError:
        return DecodingError(f"more than max_objects={self.limit} values")


# (Not a native class: mypyc would lay its attributes over threading.local's C struct,
# shared by every thread, and crash the process.)
@mypyc_attr(native_class=False)
class _PerThread(_thread._local):  # (threading.local, named so for mypyc)
    """Each thread's idle packers (a Packer is not re-entrant) and tuple nesting depth."""

    def __init__(self) -> None:
        self.packers: dict[bool, list[msgpack.Packer]] = {False: [], True: []}
        self.tuple_depth = 0


@mypyc_attr(allow_interpreted_subclasses=True)
class Codec:
    """Packs values to msgpack and unpacks them, with limits and a registry of user types.

    Args:
        max_buffer_size: Longest input ``unpackb`` accepts, in bytes.
        max_str_len: Longest string, in bytes.
        max_bin_len: Longest binary.
        max_array_len: Most items in an array (a list or a tuple).
        max_map_len: Most entries in a map.
        max_ext_len: Longest extension type data (a tuple's packed items included).
        max_depth: Deepest nesting of lists, dicts and tuples: ``[[1]]`` has depth 2.
        max_objects: Most values one input may decode to, lists, maps, tuples and
            extension values counting double (see the module docstring). The
            default holds an array or a map at its length limit, with room to spare.

    ``packb`` checks only that tuples nest at most ``max_depth`` deep (it would
    otherwise recurse without bound); ``unpackb`` checks all the limits.
    """

    def __init__(
        self,
        *,
        max_buffer_size: int = 1 << 20,
        max_str_len: int = 1 << 20,
        max_bin_len: int = 1 << 20,
        max_array_len: int = 65536,
        max_map_len: int = 65536,
        max_ext_len: int = 1 << 20,
        max_depth: int = 32,
        max_objects: int = 1 << 17,
    ) -> None:
        self.max_buffer_size = _positive("max_buffer_size", max_buffer_size)
        self.max_str_len = _positive("max_str_len", max_str_len)
        self.max_bin_len = _positive("max_bin_len", max_bin_len)
        self.max_array_len = _positive("max_array_len", max_array_len)
        self.max_map_len = _positive("max_map_len", max_map_len)
        self.max_ext_len = _positive("max_ext_len", max_ext_len)
        self.max_depth = _positive("max_depth", max_depth)
        self.max_objects = _positive("max_objects", max_objects)
        self._encoders: dict[type, tuple[int, Callable[[Any], bytes]]] = {}
        self._decoders: dict[int, tuple[type, Callable[[bytes], Any]]] = {}
        self._user_types: tuple[type, ...] = ()
        self._decoded_types = _DECODED_TYPES
        self._leaf_types = _DECODED_TYPES - _CONTAINERS
        self._local = _PerThread()

    # User types.

    def register_type(
        self,
        cls: type[_T],
        code: int,
        encode: Callable[[_T], bytes],
        decode: Callable[[bytes], _T],
    ) -> None:
        """Send instances of ``cls`` (exactly; not of its subclasses) as ext type ``code``.

        Both sides must register the same class with the same code. The remote side may
        send any bytes under that code: ``decode`` must validate them, and any exception
        it raises becomes a :exc:`DecodingError`.

        Raises:
            ValueError: ``code`` is outside 32..127 or taken, ``cls`` is registered
                already, or the codec handles ``cls`` itself.
        """
        if not isinstance(cls, type):
            raise TypeError(f"expected a class, got {cls!r}")
        if type(code) is not int or code not in USER_CODES:
            raise ValueError(
                f"ext code {code!r} is not in {USER_CODES.start}..{USER_CODES.stop - 1} "
                "(0..31 are reserved for the library)"
            )
        if code in self._decoders:
            taken = _type_name(self._decoders[code][0])
            raise ValueError(f"ext code {code} is already registered for {taken}")
        if cls in self._encoders:
            taken_code = self._encoders[cls][0]
            raise ValueError(f"{_type_name(cls)} is already registered as ext code {taken_code}")
        if cls in _DECODED_TYPES or cls in (bytearray, memoryview):
            raise ValueError(f"{_type_name(cls)} is encoded by the codec itself")
        self._encoders[cls] = (code, encode)
        self._decoders[code] = (cls, decode)
        self._user_types = (*self._user_types, cls)
        self._decoded_types = self._decoded_types | {cls}
        self._leaf_types = self._leaf_types | {cls}

    # Packing.

    def packb(self, value: Any, *, allow_objects: bool = True) -> bytes:
        """``value`` as msgpack bytes.

        Args:
            value: A supported value (see the module docstring).
            allow_objects: Whether registered user types may be packed.

        Raises:
            EncodingError: ``value`` holds something that cannot be sent.
        """
        idle = self._local.packers[allow_objects]
        packer = idle.pop() if idle else self._new_packer(allow_objects)
        try:
            data: bytes = packer.pack(value)
            return data
        except EncodingError:
            raise
        except (ValueError, OverflowError, TypeError, RecursionError) as exc:
            raise chained(EncodingError(f"cannot encode the value: {exc}"), exc) from exc
        finally:
            if len(idle) < _PACKERS_KEPT:
                idle.append(packer)

    def pack_array_items(self, items: Sequence[Any], *, allow_objects: bool = True) -> bytes:
        """The packed items of an array, without the array header.

        Put :func:`array_header` in front, with the count of every item that follows:
        a message can then pack its own fields and reuse these bytes for many receivers.

        Raises:
            EncodingError: An item cannot be sent.
        """
        items = list(items)
        packed = self.packb(items, allow_objects=allow_objects)
        return packed[_array_header_size(len(items)) :]

    def _new_packer(self, allow_objects: bool) -> msgpack.Packer:
        return msgpack.Packer(
            default=partial(self._default, allow_objects),
            use_bin_type=True,
            strict_types=True,
            datetime=False,
        )

    def _default(self, allow_objects: bool, obj: Any) -> Any:
        """The Packer's ``default`` hook: everything but the exact msgpack types comes here."""
        ext = _encode_value(obj)
        if ext is not None:
            return ext
        cls = type(obj)
        if cls is int:  # msgpack passes on the ints it cannot hold
            raise EncodingError(
                f"an int of {obj.bit_length()} bits does not fit in msgpack's -2**63..2**64-1"
            )
        if cls is tuple:
            return msgpack.ExtType(EXT_TUPLE, self._pack_tuple(obj, allow_objects))
        user = self._encoders.get(cls)
        if user is not None:
            return self._encode_user(obj, user, allow_objects)
        if isinstance(obj, (enum.IntEnum, enum.IntFlag)):
            return int(obj)
        if isinstance(obj, str):
            return str.__str__(obj)
        raise EncodingError(self._unsupported(cls))

    def _pack_tuple(self, obj: tuple[Any, ...], allow_objects: bool) -> bytes:
        local = self._local
        if local.tuple_depth >= self.max_depth:
            raise EncodingError(f"tuples nested deeper than max_depth={self.max_depth}")
        local.tuple_depth += 1
        try:
            return self.packb(list(obj), allow_objects=allow_objects)
        finally:
            local.tuple_depth -= 1

    def _encode_user(
        self, obj: Any, user: tuple[int, Callable[[Any], bytes]], allow_objects: bool
    ) -> msgpack.ExtType:
        name = _type_name(type(obj))
        if not allow_objects:
            raise EncodingError(
                f"{name} is a registered object type and object encoding is off: "
                "set allow_object_decoding = True on both sides to send it"
            )
        code = user[0]
        encode: Callable[[Any], object] = user[1]  # (checked below, not where it returns)
        try:
            data = encode(obj)
        except Exception as exc:
            raise chained(
                EncodingError(f"the encode function of {name} failed: {exc!r}"), exc
            ) from exc
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise EncodingError(
                f"the encode function of {name} returned {_type_name(type(data))}, not bytes"
            )
        return msgpack.ExtType(code, bytes(data))

    def _unsupported(self, cls: type) -> str:
        registered = ", ".join(_type_name(user) for user in self._user_types)
        also = f", and the registered types {registered}" if registered else ""
        return (
            f"cannot encode {_type_name(cls)}: supported types are {_SUPPORTED}{also} "
            "(other classes: multiplayer.register_type)"
        )

    # Unpacking.

    def unpackb(self, data: bytes, *, allow_objects: bool = True) -> Any:
        """The value packed in ``data``: exactly one value, nothing after it.

        Args:
            data: Bytes from the network; nothing is assumed about them.
            allow_objects: Whether registered user types may be unpacked.

        Raises:
            DecodingError: ``data`` is malformed, over a limit, or holds a refused type.
        """
        if len(data) > self.max_buffer_size:
            raise DecodingError(f"{len(data)} bytes exceed max_buffer_size={self.max_buffer_size}")
        # (Counted only where the limit can be reached: two per byte at most.)
        tally = _Tally(self.max_objects) if 2 * len(data) > self.max_objects else None
        value = self._unpack(data, allow_objects, 0, tally)
        # The usual packet, an array of plain values, is one level deep: checked at
        # once. Anything else gets the full walk.
        if type(value) is not list or not self._leaf_types.issuperset(map(type, value)):
            self._check_tree(value)
        return value

    def _unpack(self, data: bytes, allow_objects: bool, level: int, tally: _Tally | None) -> Any:
        """Unpack one value; ``level`` is how many tuples enclose it; ``tally``, if
        any, counts what it builds."""
        try:
            return msgpack.unpackb(
                data,
                ext_hook=partial(self._ext_hook, allow_objects, level, tally),
                object_pairs_hook=_make_dict if tally is None else tally.pairs_hook,
                list_hook=None if tally is None else tally.list_hook,
                strict_map_key=False,  # int keys are common (Godot); _make_dict checks them
                raw=False,
                use_list=True,
                max_str_len=self.max_str_len,
                max_bin_len=self.max_bin_len,
                max_array_len=self.max_array_len,
                max_map_len=self.max_map_len,
                max_ext_len=self.max_ext_len,
            )
        except DecodingError:
            raise
        except (msgpack.UnpackException, ValueError, TypeError, RecursionError) as exc:
            raise chained(DecodingError(_explain(exc)), exc) from exc

    def _ext_hook(
        self, allow_objects: bool, level: int, tally: _Tally | None, code: int, data: bytes
    ) -> Any:
        if code == EXT_TUPLE:  # (its list of items is counted as a list)
            if level >= self.max_depth:
                raise DecodingError(f"nested deeper than max_depth={self.max_depth}")
            items = self._unpack(data, allow_objects, level + 1, tally)
            if type(items) is not list:
                raise DecodingError(f"tuple data must be an array, got {_type_name(type(items))}")
            return tuple(items)
        if tally is not None:
            tally.take(1)
        decode = _VALUE_DECODERS.get(code)
        if decode is not None:
            return decode(data)
        user = self._decoders.get(code)
        if user is None:
            raise DecodingError(f"unknown ext type code {code}")
        return self._decode_user(user, data, allow_objects)

    def _decode_user(
        self, user: tuple[type, Callable[[bytes], Any]], data: bytes, allow_objects: bool
    ) -> Any:
        cls, decode = user
        name = _type_name(cls)
        if not allow_objects:
            raise DecodingError(f"{name} is a registered object type and object decoding is off")
        try:
            value = decode(data)
        except Exception as exc:
            raise chained(
                DecodingError(f"the decode function of {name} failed: {exc!r}"), exc
            ) from exc
        if not isinstance(value, cls):
            raise DecodingError(f"the decode function of {name} returned {_type_name(type(value))}")
        return value

    def _check_tree(self, root: Any) -> None:
        """Check the nesting depth and the types of a decoded value, without recursion.

        msgpack builds the whole value first (its own stack stops at 1024 levels), then
        this walk checks ``max_depth``, one level at a time with C-level iterators (a
        megabyte can hold a million empty lists). It also refuses msgpack's built-in
        Timestamp, the one extension type that bypasses ``ext_hook``.
        """
        level = [root]
        self._check_types({type(root)})
        depth = 0
        while True:
            level = list(compress(level, map(_is_container, map(type, level))))
            if not level:
                return
            depth += 1
            if depth > self.max_depth:
                raise DecodingError(f"nested deeper than max_depth={self.max_depth}")
            level = _children(level)
            self._check_types(set(map(type, level)))

    def _check_types(self, types: set[type]) -> None:
        if types <= self._decoded_types:
            return
        for cls in types - self._decoded_types:
            if not issubclass(cls, self._user_types):
                raise DecodingError(f"unexpected value of type {_type_name(cls)}")


def _array_header_size(n: int) -> int:
    return 1 if n < 16 else 3 if n <= 0xFFFF else 5


def array_header(n: int) -> bytes:
    """The msgpack header of an array of ``n`` items; the items follow it.

    Raises:
        ValueError: ``n`` is negative or above 2**32 - 1.
    """
    if n < 0 or n > 0xFFFF_FFFF:
        raise ValueError(f"an array cannot have {n} items")
    if n < 16:
        return bytes((0x90 | n,))
    if n <= 0xFFFF:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


default_codec = Codec()
"""The codec the module-level functions use, with the default limits."""


def packb(value: Any, *, allow_objects: bool = True) -> bytes:
    """:meth:`Codec.packb` on :data:`default_codec`."""
    return default_codec.packb(value, allow_objects=allow_objects)


def unpackb(data: bytes, *, allow_objects: bool = True) -> Any:
    """:meth:`Codec.unpackb` on :data:`default_codec`."""
    return default_codec.unpackb(data, allow_objects=allow_objects)


def pack_array_items(items: Sequence[Any], *, allow_objects: bool = True) -> bytes:
    """:meth:`Codec.pack_array_items` on :data:`default_codec`."""
    return default_codec.pack_array_items(items, allow_objects=allow_objects)


def register_type(
    cls: type[_T], code: int, encode: Callable[[_T], bytes], decode: Callable[[bytes], _T]
) -> None:
    """:meth:`Codec.register_type` on :data:`default_codec`."""
    default_codec.register_type(cls, code, encode, decode)
