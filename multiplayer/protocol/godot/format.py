"""The ``"godot"`` packet format: Godot 4's SceneMultiplayer packets, byte for byte.

Layouts (reference.md §2; integers little-endian; ``V`` is a value in Godot's
compressed variant encoding, :mod:`.variant`):

* REMOTE_CALL ``[meta][node id: u8/u16/u32][method id: u8/u16][argc: u8][V...]``
  (``SceneRPCInterface::_send_rpc``). ``meta`` is the command (0) with flags: bits
  4-5 the node id's width (0: u8, 1: u16, 2: u32), bit 6 the method id's (0: u8,
  1: u16), bit 7 "bytes only or no arguments": then no ``argc`` follows, and the
  rest is nothing (no arguments) or the raw bytes of a single PackedByteArray
  argument. A node id with bit 31 set is ``0x80000000 | offset``: the node's path
  (UTF-8, NUL-terminated) starts at ``offset``, after the arguments, because the
  receiver has not confirmed the path's id yet.
* SIMPLIFY_PATH ``[1][md5: 32 hex chars][0][u32 id][path][0]`` and CONFIRM_PATH
  ``[2][checksum matched: u8][u32 id]`` (``SceneCacheInterface``).
* RAW ``[3][bytes...]``, at least one byte (``_process_raw``).
* SYS ``[7][sub]``: AUTH ``[7][0][data...]`` (empty: "this side completed"),
  ADD_PEER and DEL_PEER ``[7][1|2][i32 peer]``, RELAY ``[7][3][i32 peer][packet]``
  (``SceneMultiplayer::_process_sys``).

Godot has no awaited calls, no method-name ids, no FORGET_PATH and no clock: this
profile says so through its traits (``inline_paths``, ``sorted_method_ids``,
``awaitable_calls``, ``clock``), and encoding such a message raises
:exc:`~multiplayer.exceptions.EncodingError`.

Decoding is strict where Godot is lenient: the high bits of a command byte other
than REMOTE_CALL's and SYNC's must be clear, a packet may not carry bytes past its
last field, and a checksum is 32 lowercase hex digits; no honest Godot peer sends
anything else.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ...exceptions import DecodingError, EncodingError, ProfileError
from ..commands import Command, SysCommand
from ..messages import (
    ConfirmPath,
    Message,
    Raw,
    Relay,
    RemoteCall,
    SimplifyPath,
    SysAddPeer,
    SysAuth,
    SysDelPeer,
)
from .variant import VariantCodec

if TYPE_CHECKING:
    from ..native.codec import Codec

__all__ = ["MAX_ARGS", "GodotFormat"]

MAX_ARGS = 255
"""Godot's limit on a call's arguments ("Too many arguments (>255).")."""

_CMD_MASK = 0x07
_NODE_WIDTH_SHIFT = 4
_NAME_WIDTH_FLAG = 0x40
_BYTES_OR_NONE_FLAG = 0x80
_PATH_FLAG = 0x80000000
_NODE_IDS = (struct.Struct("<B"), struct.Struct("<H"), struct.Struct("<I"))
_NAME_IDS = (struct.Struct("<B"), struct.Struct("<H"))
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_SYS_HEADER = struct.Struct("<BBi")  # command, sub-command, peer
_CONFIRM = struct.Struct("<BBI")
_MD5_LEN = 32
_SIMPLIFY_MIN = 1 + _MD5_LEN + 1 + 4 + 1  # command, md5, NUL, id, at least the NUL
_HEX = frozenset(b"0123456789abcdef")


class GodotFormat:
    """The ``"godot"`` profile (a :class:`~multiplayer.protocol.format.PacketFormat`).

    Args:
        codec: The API's native codec: its limits bound what ``decode`` takes (its
            registered types do not apply: Godot's values have a fixed set of types).
    """

    name: ClassVar[str] = "godot"
    relay_growth: ClassVar[int] = 0  # the source's i32 replaces the target's
    inline_paths: ClassVar[bool] = True
    sorted_method_ids: ClassVar[bool] = True
    awaitable_calls: ClassVar[bool] = False
    clock: ClassVar[bool] = False

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.variants = VariantCodec(
            max_str_len=codec.max_str_len,
            max_bin_len=codec.max_bin_len,
            max_array_len=codec.max_array_len,
            max_map_len=codec.max_map_len,
            max_depth=codec.max_depth,
        )
        self._encoders: dict[type[Any], Callable[[Any], bytes]] = {
            RemoteCall: self._remote_call,
            SimplifyPath: _simplify_path,
            ConfirmPath: _confirm_path,
            Raw: _raw,
            SysAuth: _sys_auth,
            SysAddPeer: lambda m: _SYS_HEADER.pack(Command.SYS, SysCommand.ADD_PEER, m.peer),
            SysDelPeer: lambda m: _SYS_HEADER.pack(Command.SYS, SysCommand.DEL_PEER, m.peer),
            Relay: _relay,
        }

    def __repr__(self) -> str:
        return f"<GodotFormat codec={self.codec!r}>"

    # Calls.

    def pack_args(self, items: Sequence[Any], *, allow_objects: bool) -> bytes:
        """A call's arguments as they follow the ids, behind one byte of meta flags
        (``encode_call`` takes both apart).

        Raises:
            EncodingError: More than 255 arguments, or a value Godot has no type for.
        """
        if not items:
            return b"\x80"  # Godot's "no arguments": nothing follows
        if len(items) > MAX_ARGS:
            raise EncodingError(f"too many arguments ({len(items)} > {MAX_ARGS}) for Godot")
        if len(items) == 1 and type(items[0]) is bytes and items[0]:
            # One PackedByteArray goes raw. (An empty one goes as a variant: raw, it
            # would arrive as no argument at all.)
            return b"\x80" + items[0]
        return b"\x00" + bytes((len(items),)) + self.variants.compress_many(items)

    def encode_call(
        self, path_id: int, name_id: int, packed_args: bytes, argc: int, path: str | None = None
    ) -> bytes:
        """A REMOTE_CALL around ``pack_args`` output: by ``path_id`` in the smallest
        width, or, with ``path``, by the path appended after the arguments."""
        meta = packed_args[0]
        if name_id > 0xFF:
            meta |= _NAME_WIDTH_FLAG
            name = _NAME_IDS[1].pack(name_id)
        else:
            name = _NAME_IDS[0].pack(name_id)
        if path is not None:
            offset = 1 + 4 + len(name) + len(packed_args) - 1
            node = _U32.pack(_PATH_FLAG | offset)
            tail = path.encode() + b"\x00"
            return bytes((meta | 2 << _NODE_WIDTH_SHIFT,)) + node + name + packed_args[1:] + tail
        width = 0 if path_id <= 0xFF else 1 if path_id <= 0xFFFF else 2
        node = _NODE_IDS[width].pack(path_id)
        return bytes((meta | width << _NODE_WIDTH_SHIFT,)) + node + name + packed_args[1:]

    def encode_request(
        self, request_id: int, path_id: int, name_id: int, packed_args: bytes, argc: int
    ) -> bytes:
        raise EncodingError("Godot's protocol has no awaited calls (rpc_call)")

    # SYNC: Godot's layout needs the receiver's replication config to read a state
    # (its values carry no count), and keeps deltas in packets of their own. Until
    # replication speaks it, SYNC and its parts are refused with a clear error.

    sync_room: ClassVar[int] = 0

    def _no_sync(self, *args: Any, **kwargs: Any) -> Any:
        raise ProfileError("replication (MultiplayerSynchronizer)", self.name, "not yet")

    pack_value = pack_state = pack_delta = sync_entry = sync_body = _no_sync
    sync_packet = state_size = _no_sync

    def _remote_call(self, m: RemoteCall) -> bytes:
        packed = self.pack_args(m.args, allow_objects=False)
        return self.encode_call(m.path_id, m.name_id, packed, len(m.args), m.path)

    # Every message.

    def encode(self, message: Message) -> bytes:
        """``message`` as Godot's bytes.

        Raises:
            EncodingError: A value in it has no Godot type, or Godot's protocol has
                no such message.
        """
        encoder = self._encoders.get(type(message))
        if encoder is None:
            raise EncodingError(f"Godot's protocol has no {type(message).__name__} message")
        return encoder(message)

    def decode(self, data: bytes, *, allow_objects: bool) -> Message:
        """Parse one packet (objects are never decoded, as in Godot's default).

        Raises:
            DecodingError: It is not a well-formed Godot packet.
        """
        if not data:
            raise DecodingError("empty packet")
        command = data[0] & _CMD_MASK
        if command == Command.REMOTE_CALL:
            return self._decode_call(data)
        if data[0] & ~_CMD_MASK:
            raise DecodingError(f"command byte {data[0]:#04x} has unknown flags")
        if command == Command.SIMPLIFY_PATH:
            return _decode_simplify_path(data)
        if command == Command.CONFIRM_PATH:
            return _decode_confirm_path(data)
        if command == Command.RAW:
            if len(data) < 2:
                raise DecodingError("RAW packet without bytes")
            return Raw(data[1:])
        if command == Command.SYS:
            return _decode_sys(data)
        raise DecodingError(f"command {Command(command).name} is not supported yet")

    def _decode_call(self, data: bytes) -> RemoteCall:
        meta = data[0]
        width = meta >> _NODE_WIDTH_SHIFT & 3
        if width == 3:
            raise DecodingError("REMOTE_CALL with an invalid node id width")
        node_id = _NODE_IDS[width]
        name_id = _NAME_IDS[1 if meta & _NAME_WIDTH_FLAG else 0]
        offset = 1 + node_id.size + name_id.size
        if len(data) < offset:
            raise DecodingError("REMOTE_CALL shorter than its ids")
        target = node_id.unpack_from(data, 1)[0]
        name = name_id.unpack_from(data, 1 + node_id.size)[0]
        end, path = len(data), None
        if target & _PATH_FLAG:
            end = target & ~_PATH_FLAG
            if not offset <= end < len(data):
                raise DecodingError("REMOTE_CALL path offset outside the packet")
            path = _c_string(data[end:], "REMOTE_CALL path")
            target = 0
        args = self._decode_args(data[:end], offset, bool(meta & _BYTES_OR_NONE_FLAG))
        return RemoteCall(target, name, args, path)

    def _decode_args(self, data: bytes, offset: int, bytes_or_none: bool) -> list[Any]:
        if bytes_or_none:
            return [data[offset:]] if offset < len(data) else []
        if offset >= len(data):
            raise DecodingError("REMOTE_CALL without its argument count")
        args, end = self.variants.decompress_many(data, offset + 1, data[offset])
        if end != len(data):
            raise DecodingError(f"REMOTE_CALL has {len(data) - end} bytes past its arguments")
        return args


def _simplify_path(m: SimplifyPath) -> bytes:
    checksum = m.checksum.encode("ascii")
    if len(checksum) != _MD5_LEN:
        raise EncodingError(f"a Godot SIMPLIFY_PATH needs an md5 checksum, not {m.checksum!r}")
    return (
        bytes((Command.SIMPLIFY_PATH,))
        + checksum
        + b"\x00"
        + _U32.pack(m.path_id)
        + m.path.encode()
        + b"\x00"
    )


def _confirm_path(m: ConfirmPath) -> bytes:
    return _CONFIRM.pack(Command.CONFIRM_PATH, m.ok, m.path_id)


def _raw(m: Raw) -> bytes:
    if not m.data:
        raise EncodingError("Godot refuses an empty RAW packet: send at least one byte")
    return bytes((Command.RAW,)) + m.data


def _sys_auth(m: SysAuth) -> bytes:
    return bytes((Command.SYS, SysCommand.AUTH)) + m.data


def _relay(m: Relay) -> bytes:
    return _SYS_HEADER.pack(Command.SYS, SysCommand.RELAY, m.peer) + m.packet


def _decode_simplify_path(data: bytes) -> SimplifyPath:
    if len(data) < _SIMPLIFY_MIN:
        raise DecodingError(f"SIMPLIFY_PATH of {len(data)} bytes is too short")
    checksum = data[1 : 1 + _MD5_LEN]
    if data[1 + _MD5_LEN] != 0 or not _HEX.issuperset(checksum):
        raise DecodingError("SIMPLIFY_PATH checksum is not 32 hex digits and a NUL")
    path_id = _U32.unpack_from(data, 2 + _MD5_LEN)[0]
    path = _c_string(data[_SIMPLIFY_MIN - 1 :], "SIMPLIFY_PATH path")
    return SimplifyPath(path_id, path, checksum.decode("ascii"))


def _decode_confirm_path(data: bytes) -> ConfirmPath:
    if len(data) != _CONFIRM.size:
        raise DecodingError(f"CONFIRM_PATH must be {_CONFIRM.size} bytes, not {len(data)}")
    _, ok, path_id = _CONFIRM.unpack(data)
    if ok > 1:
        raise DecodingError(f"CONFIRM_PATH checksum flag {ok} is not 0 or 1")
    return ConfirmPath(path_id, bool(ok))


def _decode_sys(data: bytes) -> Message:
    if len(data) < 2:
        raise DecodingError("SYS packet without a sub-command")
    sub = data[1]
    if sub == SysCommand.AUTH:
        return SysAuth(data[2:])
    if sub not in (SysCommand.ADD_PEER, SysCommand.DEL_PEER, SysCommand.RELAY):
        raise DecodingError(f"unknown SYS command {sub}")
    if len(data) < _SYS_HEADER.size + (sub == SysCommand.RELAY):
        raise DecodingError(f"SYS {SysCommand(sub).name} of {len(data)} bytes is too short")
    peer = _SYS_HEADER.unpack_from(data)[2]
    if sub == SysCommand.RELAY:
        return Relay(peer, data[_SYS_HEADER.size :])
    if len(data) != _SYS_HEADER.size:
        raise DecodingError(f"SYS {SysCommand(sub).name} has bytes past the peer id")
    return SysAddPeer(peer) if sub == SysCommand.ADD_PEER else SysDelPeer(peer)


def _c_string(data: bytes, what: str) -> str:
    """NUL-terminated UTF-8 text, the NUL last (Godot's ``encode_cstring``)."""
    if len(data) < 2 or data[-1] != 0 or 0 in data[:-1]:
        raise DecodingError(f"{what} is not one non-empty NUL-terminated string")
    try:
        return data[:-1].decode()
    except UnicodeDecodeError:
        raise DecodingError(f"{what} is not UTF-8") from None
