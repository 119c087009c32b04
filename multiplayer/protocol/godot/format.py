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
* SPAWN ``[4][u8 scene][u32 spawner path id][u32 net id][u32 N][u32 name length, NUL
  included][N x u32 synchronizer net id][name][0]``, then for a custom spawn (scene
  0xFF) ``[u32 size][V]``, then the spawn state: the ``V`` of every spawn property of
  the N synchronizers, one after the other, with no count
  (``SceneReplicationInterface::_make_spawn_packet``, ``on_spawn_receive``).
* DESPAWN ``[5][u32 net id]`` (``_make_despawn_packet``).
* SYNC ``[6][u16 time]`` then entries ``[u32 synchronizer id][u32 size][V...]`` of
  ALWAYS values (``_send_sync``); its delta ``[6|0x10]`` then entries ``[u32 id][u64
  mask of the ON_CHANGE properties that follow][u32 size][V...]`` (``_send_delta``).

A state's values carry no count: Godot's receiver reads as many as its own
configuration lists. Each compressed variant says its own length, though, so here a
state is read whole (every value up to its size), and the receiver compares the
count with its configuration: a state with more bytes than that reads is refused,
where Godot ignores the rest of an ALWAYS state (``on_sync_receive``).

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

import itertools
import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..._mypyc import chained, mypyc_attr
from ...exceptions import DecodingError, EncodingError
from ..commands import Command, SysCommand
from ..messages import (
    ConfirmPath,
    Despawn,
    Message,
    Raw,
    Relay,
    RemoteCall,
    SimplifyPath,
    Spawn,
    Sync,
    SysAddPeer,
    SysAuth,
    SysDelPeer,
)
from .variant import VariantCodec

if TYPE_CHECKING:
    from ..native.codec import Codec

__all__ = ["MAX_ARGS", "MAX_WATCHED", "SYNC_MTU", "GodotFormat"]

MAX_ARGS = 255
"""Godot's limit on a call's arguments ("Too many arguments (>255).")."""

MAX_WATCHED = 64
"""The most ON_CHANGE properties of a synchronizer: one bit each in a delta's u64 mask
(``MultiplayerSynchronizer::get_delta_state``)."""

SYNC_MTU = 1350
"""The most bytes of a SYNC packet of ALWAYS entries (SceneMultiplayer's default
``max_sync_packet_size``, ``sync_mtu`` in scene_replication_interface.h)."""

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
_BYTES = (bytes, bytearray, memoryview)
_DELTA_FLAG = 0x10  # CMD_FLAG_0: a SYNC of ON_CHANGE values
_SYNC_HEAD = struct.Struct("<BH")  # command, time
_SYNC_MIN = 11  # Godot refuses a shorter SYNC, delta or not ("Invalid sync packet")
_ENTRY = struct.Struct("<II")  # synchronizer id, size
_DELTA_ENTRY = struct.Struct("<IQI")  # synchronizer id, mask, size
_MASK = struct.Struct("<Q")
_SPAWN_HEAD = struct.Struct("<BBIIII")  # command, scene, spawner, net id, N, name length
_CUSTOM_SCENE = 0xFF  # MultiplayerSpawner::INVALID_ID


@mypyc_attr(allow_interpreted_subclasses=True)
class GodotFormat:
    """The ``"godot"`` profile (a :class:`~multiplayer.protocol.format.PacketFormat`).

    Args:
        codec: The API's native codec: its limits bound what ``decode`` takes (its
            registered types do not apply: Godot's values have a fixed set of types).
    """

    name: ClassVar[str] = "godot"
    relay_growth: ClassVar[int] = 0  # the source's i32 replaces the target's
    inline_paths: ClassVar[bool] = True
    peer_lists: ClassVar[bool] = False  # (one ADD_PEER per peer, as Godot reads them)
    sorted_method_ids: ClassVar[bool] = True
    awaitable_calls: ClassVar[bool] = False
    clock: ClassVar[bool] = False
    sync_net_ids: ClassVar[bool] = True
    delta_packets: ClassVar[bool] = True
    sync_limit: ClassVar[int] = SYNC_MTU

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.variants = VariantCodec(
            max_str_len=codec.max_str_len,
            max_bin_len=codec.max_bin_len,
            max_array_len=codec.max_array_len,
            max_map_len=codec.max_map_len,
            max_depth=codec.max_depth,
            max_objects=codec.max_objects,
        )
        self._encoders: dict[type[Any], Callable[[Any], bytes]] = {
            RemoteCall: self._remote_call,
            SimplifyPath: _simplify_path,
            ConfirmPath: _confirm_path,
            Raw: _raw,
            Spawn: self._spawn,
            Despawn: _despawn,
            Sync: self._sync,
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
        if len(items) == 1 and type(items[0]) in _BYTES and items[0]:
            # One PackedByteArray goes raw. (An empty one goes as a variant: raw, as
            # Godot sends it, it would arrive as no argument at all.)
            return b"\x80" + bytes(items[0])
        return b"\x00" + bytes((len(items),)) + self.variants.compress_many(items)

    def encode_call(
        self,
        path_id: int,
        name_id: int,
        packed_args: bytes,
        argc: int,
        path: str | None = None,
        wide: bool = False,
    ) -> bytes:
        """A REMOTE_CALL around ``pack_args`` output: by ``path_id`` in the smallest
        width (32 bits if ``wide``: Godot's choice for the peers that confirmed the
        path when others of the same call have not), or, with ``path``, by the path
        appended after the arguments."""
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
        width = 2 if wide or path_id > 0xFFFF else 0 if path_id <= 0xFF else 1
        node = _NODE_IDS[width].pack(path_id)
        return bytes((meta | width << _NODE_WIDTH_SHIFT,)) + node + name + packed_args[1:]

    def encode_request(
        self, request_id: int, path_id: int, name_id: int, packed_args: bytes, argc: int
    ) -> bytes:
        raise EncodingError("Godot's protocol has no awaited calls (rpc_call)")

    # SYNC in parts. A state is ``[u32 size][V...]`` (ALWAYS) or ``[u64 mask][u32
    # size][V...]`` (ON_CHANGE), so an entry is the id in front of it, and a body is
    # the command byte and the entries of one kind (Godot keeps deltas in packets of
    # their own); ``sync_packet`` puts the time after the command byte of an ALWAYS
    # body, and sends a delta body as it is.

    sync_room: ClassVar[int] = _SYNC_HEAD.size

    def pack_value(self, value: Any) -> bytes:
        return self.variants.compress(value)

    def pack_state(self, values: list[Any]) -> bytes:
        data = self.variants.compress_many(values)
        return _U32.pack(len(data)) + data

    def pack_delta(self, indices: Sequence[int], packed: Sequence[bytes]) -> bytes:
        """Raises EncodingError for a property past the 64th (the mask has 64 bits)."""
        data = b"".join([packed[i] for i in indices])
        return _MASK.pack(_mask(indices)) + _U32.pack(len(data)) + data

    def sync_entry(self, path_id: int, state: bytes) -> bytes:
        return _U32.pack(path_id) + state

    def sync_body(self, always: Sequence[bytes], delta: Sequence[bytes]) -> bytes:
        """Raises ValueError for entries of both kinds: they go in separate packets."""
        if always and delta:
            raise ValueError("Godot sends ALWAYS and ON_CHANGE entries in separate packets")
        if delta:
            return bytes((Command.SYNC | _DELTA_FLAG,)) + b"".join(delta)
        return bytes((Command.SYNC,)) + b"".join(always)

    def sync_packet(self, seq: int, body: bytes) -> bytes:
        """An ALWAYS body under time ``seq`` (its low 16 bits: Godot's ``uint16_t
        sync_net_time`` wraps); a delta body as it is (deltas carry no time)."""
        if body[0] & _DELTA_FLAG:
            return body
        return _SYNC_HEAD.pack(Command.SYNC, seq & 0xFFFF) + body[1:]

    def state_size(self, values: list[Any], *, delta: bool) -> int:
        if delta:
            return _MASK.size + _U32.size + len(self.variants.compress_many(values[1::2]))
        return _U32.size + len(self.variants.compress_many(values))

    def _sync(self, m: Sync) -> bytes:
        if m.always and m.delta:
            raise EncodingError("Godot sends ALWAYS and ON_CHANGE entries in separate packets")
        try:
            if m.delta:
                entries = [self._delta_entry(sync_id, pairs) for sync_id, pairs in m.delta]
                return self.sync_body([], entries)
            always = [self.sync_entry(i, self.pack_state(values)) for i, values in m.always]
            return self.sync_packet(m.seq, self.sync_body(always, []))
        except (struct.error, TypeError, ValueError) as exc:
            raise chained(EncodingError(f"cannot encode a Godot SYNC: {exc}"), None) from None

    def _delta_entry(self, sync_id: int, pairs: list[Any]) -> bytes:
        indices = pairs[::2]
        _mask(indices)  # (each in range)
        if any(b <= a for a, b in itertools.pairwise(indices)):
            raise EncodingError("a Godot delta lists its properties in ascending order")
        packed = [b""] * MAX_WATCHED
        for i, value in zip(indices, pairs[1::2], strict=True):
            packed[i] = self.pack_value(value)
        return self.sync_entry(sync_id, self.pack_delta(indices, packed))

    # SPAWN.

    def _spawn(self, m: Spawn) -> bytes:
        custom = m.scene == -1
        if not (custom or 0 <= m.scene < _CUSTOM_SCENE):
            raise EncodingError(f"a Godot SPAWN's scene is 0 to 254 or -1, not {m.scene}")
        if not custom and m.data is not None:
            raise EncodingError("only a custom spawn (scene -1) carries data in Godot's SPAWN")
        name = m.name.encode() + b"\x00"
        try:
            head = _SPAWN_HEAD.pack(
                Command.SPAWN,
                _CUSTOM_SCENE if custom else m.scene,
                m.spawner_path_id,
                m.net_id,
                len(m.sync_ids),
                len(name),
            )
            ids = struct.pack(f"<{len(m.sync_ids)}I", *m.sync_ids)
        except struct.error as exc:
            raise chained(EncodingError(f"cannot encode a Godot SPAWN: {exc}"), None) from None
        arg = b""
        if custom:
            value = self.variants.compress(m.data)
            arg = _U32.pack(len(value)) + value
        return head + ids + name + arg + self.variants.compress_many(m.states)

    def _decode_spawn(self, data: bytes) -> Spawn:
        if len(data) <= _SPAWN_HEAD.size:
            raise DecodingError(f"SPAWN of {len(data)} bytes is too short")
        _, scene, spawner, net_id, count, name_len = _SPAWN_HEAD.unpack_from(data)
        offset = _SPAWN_HEAD.size
        if count * 4 + name_len > len(data) - offset:
            raise DecodingError(
                f"SPAWN of {len(data)} bytes for {count} ids and a name of {name_len}"
            )
        ids = list(struct.unpack_from(f"<{count}I", data, offset))
        offset += 4 * count
        name = _c_string(data[offset : offset + name_len], "SPAWN name")
        offset += name_len
        arg = None
        if scene == _CUSTOM_SCENE:
            if len(data) - offset < _U32.size:
                raise DecodingError("custom SPAWN without its argument's size")
            size = _U32.unpack_from(data, offset)[0]
            offset += _U32.size
            if size > len(data) - offset:
                raise DecodingError(f"custom SPAWN argument of {size} bytes overruns the packet")
            (arg,) = self._values(data, offset, offset + size, "custom SPAWN argument", 1)
            offset += size
        states = self._values(data, offset, len(data), "SPAWN state")
        return Spawn(
            spawner, net_id, -1 if scene == _CUSTOM_SCENE else scene, name, arg, states, ids
        )

    def _decode_sync(self, data: bytes) -> Sync:
        if len(data) < _SYNC_MIN:
            raise DecodingError(f"SYNC of {len(data)} bytes is too short")
        if data[0] & _DELTA_FLAG:
            return Sync(0, [], self._delta_entries(data))
        time = _SYNC_HEAD.unpack_from(data)[1]
        offset, entries = _SYNC_HEAD.size, []
        while offset < len(data):
            if len(data) - offset < _ENTRY.size:
                raise DecodingError("SYNC ends inside an entry's header")
            sync_id, size = _ENTRY.unpack_from(data, offset)
            offset += _ENTRY.size
            end = _entry_end(data, offset, size, "SYNC")
            entries.append([sync_id, self._values(data, offset, end, "SYNC state")])
            offset = end
        return Sync(time, entries, [])

    def _delta_entries(self, data: bytes) -> list[Any]:
        offset, entries = 1, []
        while offset < len(data):
            if len(data) - offset < _DELTA_ENTRY.size:
                raise DecodingError("delta SYNC ends inside an entry's header")
            sync_id, mask, size = _DELTA_ENTRY.unpack_from(data, offset)
            offset += _DELTA_ENTRY.size
            end = _entry_end(data, offset, size, "delta SYNC")
            if not mask:
                raise DecodingError("delta SYNC entry without properties")
            indices = [i for i in range(MAX_WATCHED) if mask >> i & 1]
            values = self._values(data, offset, end, "delta SYNC state", len(indices))
            entries.append(
                [sync_id, [x for pair in zip(indices, values, strict=True) for x in pair]]
            )
            offset = end
        return entries

    def _values(self, data: bytes, start: int, end: int, what: str, count: int = -1) -> list[Any]:
        """Every compressed value in ``data[start:end]`` (exactly ``count`` of them, if
        given): a state is read to its last byte."""
        chunk = data[start:end]
        decompress = self.variants.decompress
        values, offset = [], 0
        while offset < len(chunk):
            value, offset = decompress(chunk, offset)
            values.append(value)
        if count >= 0 and len(values) != count:
            raise DecodingError(f"{what} holds {len(values)} values, not {count}")
        return values

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
            DecodingError: It is not a well-formed Godot packet, or its values are
                more than the codec's ``max_objects``.
        """
        variants = self.variants
        variants.begin_packet()  # one budget for all the values of the packet
        try:
            return self._decode(data)
        finally:
            variants.end_packet()

    def _decode(self, data: bytes) -> Message:
        if not data:
            raise DecodingError("empty packet")
        command = data[0] & _CMD_MASK
        if command == Command.REMOTE_CALL:
            return self._decode_call(data)
        if command == Command.SYNC and data[0] & ~_DELTA_FLAG == Command.SYNC:
            return self._decode_sync(data)
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
        if command == Command.SPAWN:
            return self._decode_spawn(data)
        if command == Command.DESPAWN:
            if len(data) != 5:
                raise DecodingError(f"DESPAWN must be 5 bytes, not {len(data)}")
            return Despawn(_U32.unpack_from(data, 1)[0])
        return _decode_sys(data)

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


def _despawn(m: Despawn) -> bytes:
    try:
        return bytes((Command.DESPAWN,)) + _U32.pack(m.net_id)
    except struct.error as exc:
        raise chained(EncodingError(f"cannot encode a Godot DESPAWN: {exc}"), None) from None


def _mask(indices: Sequence[int]) -> int:
    mask = 0
    for i in indices:
        if not 0 <= i < MAX_WATCHED:
            raise EncodingError(f"Godot replicates at most {MAX_WATCHED} ON_CHANGE properties")
        mask |= 1 << i
    return mask


def _entry_end(data: bytes, offset: int, size: int, what: str) -> int:
    if size > len(data) - offset:
        raise DecodingError(f"{what} entry of {size} bytes overruns the packet")
    return offset + size


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
        raise chained(DecodingError(f"{what} is not UTF-8"), None) from None
