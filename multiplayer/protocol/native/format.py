"""The native packet format: Godot's commands as msgpack arrays (docs/protocol.md §2).

Encoding is in :mod:`.encode`, which holds the layout table. Decoding treats its
input as hostile: the codec's limits apply, and every item of every command has
its type checked (``bool`` and ``int`` kept apart, as they are on the wire), so a
message handed on is well-formed whatever the sender put in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ..._mypyc import mypyc_attr
from ...exceptions import DecodingError
from ..commands import Command, Status, SysCommand
from ..messages import (
    ConfirmPath,
    Despawn,
    ForgetPath,
    Message,
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
    Sync,
    SysAddPeer,
    SysAddPeers,
    SysAuth,
    SysDelPeer,
    brief,
)
from . import encode as _encode
from .codec import Codec

__all__ = ["RELAY_ID_ROOM", "NativeFormat"]

RELAY_ID_ROOM = 5
"""The most bytes a peer id takes in msgpack (an int32): what a relayed packet may
grow by when the server writes the sender's id in place of the target's."""

_ENCODERS: dict[type[Any], Callable[[Any, Codec], bytes]] = {
    RemoteCall: _encode.remote_call,
    Request: _encode.request,
    Response: _encode.response,
    SimplifyPath: _encode.simplify_path,
    ConfirmPath: _encode.confirm_path,
    ForgetPath: _encode.forget_path,
    SimplifyName: _encode.simplify_name,
    Raw: _encode.raw,
    Spawn: _encode.spawn,
    Despawn: _encode.despawn,
    Sync: _encode.sync,
    Ping: _encode.ping,
    Pong: _encode.pong,
    SysAuth: _encode.sys_auth,
    SysAddPeer: _encode.sys_add_peer,
    SysAddPeers: _encode.sys_add_peers,
    SysDelPeer: _encode.sys_del_peer,
    Relay: _encode.relay,
}


@mypyc_attr(allow_interpreted_subclasses=True)
class NativeFormat:
    """The ``"native"`` profile (a :class:`~multiplayer.protocol.format.PacketFormat`).

    Args:
        codec: Packs and unpacks the values; its limits bound what ``decode`` takes.
    """

    name: ClassVar[str] = "native"
    relay_growth: ClassVar[int] = RELAY_ID_ROOM
    inline_paths: ClassVar[bool] = False
    peer_lists: ClassVar[bool] = True
    sorted_method_ids: ClassVar[bool] = False
    awaitable_calls: ClassVar[bool] = True
    clock: ClassVar[bool] = True
    sync_net_ids: ClassVar[bool] = False
    delta_packets: ClassVar[bool] = False
    sync_limit: ClassVar[int] = 0
    sync_room: ClassVar[int] = _encode.SYNC_ROOM
    encode_call = staticmethod(_encode.encode_call)
    encode_request = staticmethod(_encode.encode_request)
    sync_body = staticmethod(_encode.sync_body)

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        # The codec's own methods, called with no extra frame: a call's arguments are
        # items of the packet's array; a value or a state is one msgpack object.
        self.pack_args = codec.pack_array_items
        self.pack_value = codec.packb
        self.pack_state = codec.packb

    def __repr__(self) -> str:
        return f"<NativeFormat codec={self.codec!r}>"

    def encode(self, message: Message) -> bytes:
        """``message`` as a packet.

        Raises:
            EncodingError: A value in it cannot be packed.
        """
        return _ENCODERS[type(message)](message, self.codec)

    # SYNC in parts (the layout is in :mod:`.encode`).

    def pack_delta(self, indices: Sequence[int], packed: Sequence[bytes]) -> bytes:
        return _encode.sync_delta(indices, packed, self.codec)

    def sync_entry(self, path_id: int, state: bytes) -> bytes:
        return _encode.sync_entry(path_id, state, self.codec)

    def sync_packet(self, seq: int, body: bytes) -> bytes:
        return _encode.sync_packet(seq, body, self.codec)

    def state_size(self, values: list[Any], *, delta: bool) -> int:
        return _encode.sync_state_size(values, self.codec)

    def decode(self, data: bytes, *, allow_objects: bool) -> Message:
        """Parse one packet.

        Raises:
            DecodingError: It is not valid msgpack, or not a well-formed message.
        """
        codec = self.codec
        if data[:1] == b"\xc1":  # a call without arguments: two ids follow
            ids = codec.unpackb(b"\x92" + data[1:], allow_objects=False)
            if type(ids[0]) is not int or type(ids[1]) is not int:
                raise DecodingError(f"bare REMOTE_CALL ids must be ints, not {brief(ids)}")
            return RemoteCall(ids[0], ids[1], [])
        items = codec.unpackb(data, allow_objects=allow_objects)
        if not isinstance(items, list) or not items:
            raise DecodingError("a packet must be a non-empty msgpack array")
        command = items[0]
        if command == 0 and len(items) >= 3 and type(items[1]) is int and type(items[2]) is int:
            return RemoteCall(items[1], items[2], items[3:])  # the hot path, checked inline
        return _decode_items(command, items)


def _decode_items(command: Any, items: list[Any]) -> Message:
    """Every command but a well-formed REMOTE_CALL, with its items checked."""
    if command == Command.REMOTE_CALL:
        _check(items, 3, "REMOTE_CALL", (int, int), variadic=True)
        return RemoteCall(items[1], items[2], items[3:])
    if command == Command.SIMPLIFY_PATH:
        _check(items, 3, "SIMPLIFY_PATH", (int, str))
        return SimplifyPath(items[1], items[2])
    if command == Command.REQUEST:
        _check(items, 4, "REQUEST", (int, int, int), variadic=True)
        return Request(items[1], items[2], items[3], items[4:])
    if command == Command.RESPONSE:
        _check(items, 4, "RESPONSE", (int, int))
        if items[2] not in (Status.OK, Status.ERROR, Status.REFUSED):
            raise DecodingError(f"RESPONSE with unknown status {brief(items[2])}")
        return Response(items[1], Status(items[2]), items[3])
    if command == Command.SPAWN:
        _check(items, 7, "SPAWN", (int, int, int, str, object, list))
        return Spawn(items[1], items[2], items[3], items[4], items[5], items[6])
    if command == Command.DESPAWN:
        _check(items, 2, "DESPAWN", (int,))
        return Despawn(items[1])
    if command == Command.SYNC:
        _check(items, 4, "SYNC", (int, list, list))
        return Sync(items[1], items[2], items[3])
    if command == Command.PING:
        _check(items, 2, "PING", (int,))
        return Ping(items[1])
    if command == Command.PONG:
        _check(items, 3, "PONG", (int, float))
        return Pong(items[1], items[2])
    if command == Command.FORGET_PATH:
        _check(items, 2, "FORGET_PATH", (int,))
        return ForgetPath(items[1])
    if command == Command.SIMPLIFY_NAME:
        _check(items, 3, "SIMPLIFY_NAME", (int, str))
        return SimplifyName(items[1], items[2])
    if command == Command.CONFIRM_PATH:
        _check(items, 3, "CONFIRM_PATH", (int, bool))
        return ConfirmPath(items[1], items[2])
    if command == Command.RAW:
        _check(items, 2, "RAW", (bytes,))
        return Raw(items[1])
    if command == Command.SYS and len(items) >= 2:
        return _decode_sys(items)
    raise DecodingError(f"unknown command {brief(command)}")


def _decode_sys(items: list[Any]) -> Message:
    sub = items[1]
    if sub == SysCommand.AUTH:
        _check(items, 3, "SYS AUTH", (int, bytes))
        return SysAuth(items[2])
    if sub == SysCommand.ADD_PEER:
        _check(items, 3, "SYS ADD_PEER", (int, int))
        return SysAddPeer(items[2])
    if sub == SysCommand.ADD_PEERS:
        _check(items, 3, "SYS ADD_PEERS", (int, list))
        peers = items[2]
        if not all(type(peer) is int for peer in peers):
            raise DecodingError("SYS ADD_PEERS names a peer that is not an integer")
        return SysAddPeers(peers)
    if sub == SysCommand.DEL_PEER:
        _check(items, 3, "SYS DEL_PEER", (int, int))
        return SysDelPeer(items[2])
    if sub == SysCommand.RELAY:
        _check(items, 4, "SYS RELAY", (int, int, bytes))
        return Relay(items[2], items[3])
    raise DecodingError(f"unknown SYS command {brief(sub)}")


def _check(
    items: list[Any], length: int, name: str, types: Sequence[type], *, variadic: bool = False
) -> None:
    if len(items) < length or (not variadic and len(items) != length):
        raise DecodingError(f"{name} needs {length} items, got {len(items)}")
    for i, expected in enumerate(types, start=1):
        value = items[i]
        # bool is an int in Python; on the wire they are distinct
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise DecodingError(f"{name} item {i} must be {expected.__name__}, not {brief(value)}")
