"""The high-level packet format: what SceneMultiplayer puts inside a transport packet.

Every packet is one msgpack array whose first item is the command (Godot's
``NetworkCommands`` numbers, plus one of ours). See docs/protocol.md §2::

    [0, path_id, name_id, *args]   REMOTE_CALL     call a method of a node
                                   (no args: the bytes c1 path_id name_id)
    [1, path_id, path]             SIMPLIFY_PATH   path_id now means this node path
    [2, path_id, ok]               CONFIRM_PATH    the receiver resolved it (or not)
    [3, data]                      RAW             send_bytes payload
    [4, spawner_path_id, net_id, scene, name, data, states]
                                   SPAWN           a node spawned by that spawner
    [5, net_id]                    DESPAWN         it left the sender's tree
    [6, seq, always, delta]        SYNC            state: always = [[path_id, [values]]...],
                                                   delta = [[path_id, [index, value, ...]]...]
    [7, 0, data]                   SYS AUTH        authentication data (empty: done)
    [7, 1, peer]                   SYS ADD_PEER    server -> client: peer joined
    [7, 2, peer]                   SYS DEL_PEER    server -> client: peer left
    [7, 3, peer, packet]           SYS RELAY       client -> server: deliver to peer;
                                                   server -> client: from peer
    [8, name_id, name]             SIMPLIFY_NAME   name_id now means this method name
    [9, request_id, path_id, name_id, *args]
                                   REQUEST         a call whose result is wanted back
    [11, path_id]                  FORGET_PATH     path_id is no longer used
    [12, seq]                      PING            answer with a PONG
    [13, seq, time]                PONG            the answerer's clock (seconds)
    [10, request_id, status, value]
                                   RESPONSE        its result (status 0), the error it
                                                   raised (1: [type name, message]), or
                                                   why it was refused (2: a reason)

Ids are chosen by the sender, one counter for paths and one for names, and stay
valid until ``clear()``. The transport is ordered, so a SIMPLIFY always arrives
before the first call that uses its id: calls never wait for the confirmation.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import DecodingError
from .native.codec import Codec, array_header

__all__ = [
    "BARE_CALL",
    "Command",
    "ConfirmPath",
    "Despawn",
    "ForgetPath",
    "Message",
    "Ping",
    "Pong",
    "Raw",
    "Relay",
    "RemoteCall",
    "Request",
    "Response",
    "SimplifyName",
    "SimplifyPath",
    "Spawn",
    "Status",
    "Sync",
    "SysAddPeer",
    "SysAuth",
    "SysCommand",
    "SysDelPeer",
    "check_method_name",
    "check_wire_path",
    "decode",
    "encode_call",
    "encode_request",
    "inner_command",
]


class Command(enum.IntEnum):
    """The first item of every packet."""

    REMOTE_CALL = 0
    SIMPLIFY_PATH = 1
    CONFIRM_PATH = 2
    RAW = 3
    SPAWN = 4
    DESPAWN = 5
    SYNC = 6
    SYS = 7
    SIMPLIFY_NAME = 8
    REQUEST = 9
    RESPONSE = 10
    FORGET_PATH = 11
    PING = 12
    PONG = 13


class Status(enum.IntEnum):
    """The outcome carried by a RESPONSE."""

    OK = 0
    ERROR = 1
    REFUSED = 2


class SysCommand(enum.IntEnum):
    """The second item of a SYS packet."""

    AUTH = 0
    ADD_PEER = 1
    DEL_PEER = 2
    RELAY = 3


# Messages are plain (not frozen) dataclasses: a frozen one costs a microsecond more
# to build, on every packet. Their commands are packed as int(...): the codec packs
# exact types, and an IntEnum would take its much slower fallback.


@dataclass(slots=True)
class RemoteCall:
    path_id: int
    name_id: int
    args: list[Any]


@dataclass(slots=True)
class Request:
    request_id: int
    path_id: int
    name_id: int
    args: list[Any]


@dataclass(slots=True)
class Response:
    request_id: int
    status: Status
    value: Any

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.RESPONSE), self.request_id, int(self.status), self.value])


@dataclass(slots=True)
class SimplifyPath:
    path_id: int
    path: str

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.SIMPLIFY_PATH), self.path_id, self.path])


@dataclass(slots=True)
class ForgetPath:
    path_id: int

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.FORGET_PATH), self.path_id])


@dataclass(slots=True)
class Spawn:
    spawner_path_id: int
    net_id: int
    scene: int  # the index of the spawnable scene; -1 for spawn_function
    name: str
    data: Any  # the spawn_function's argument
    states: list[Any]  # per synchronizer of the node: its spawn properties' values

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb(
            [
                Command.SPAWN,
                self.spawner_path_id,
                self.net_id,
                self.scene,
                self.name,
                self.data,
                self.states,
            ]
        )


@dataclass(slots=True)
class Despawn:
    net_id: int

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.DESPAWN), self.net_id])


@dataclass(slots=True)
class Sync:
    seq: int
    always: list[Any]  # [[path_id, [value, ...]], ...]: every ALWAYS property
    delta: list[Any]  # [[path_id, [index, value, ...]], ...]: changed ON_CHANGE ones

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.SYNC), self.seq, self.always, self.delta])


@dataclass(slots=True)
class Ping:
    seq: int

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.PING), self.seq])


@dataclass(slots=True)
class Pong:
    seq: int
    time: float

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.PONG), self.seq, self.time])


@dataclass(slots=True)
class SimplifyName:
    name_id: int
    name: str

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.SIMPLIFY_NAME), self.name_id, self.name])


@dataclass(slots=True)
class ConfirmPath:
    path_id: int
    ok: bool

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.CONFIRM_PATH), self.path_id, self.ok])


@dataclass(slots=True)
class Raw:
    data: bytes

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.RAW), self.data])


@dataclass(slots=True)
class SysAuth:
    data: bytes

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.SYS), int(SysCommand.AUTH), self.data])


@dataclass(slots=True)
class SysAddPeer:
    peer: int

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.SYS), int(SysCommand.ADD_PEER), self.peer])


@dataclass(slots=True)
class SysDelPeer:
    peer: int

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.SYS), int(SysCommand.DEL_PEER), self.peer])


@dataclass(slots=True)
class Relay:
    peer: int
    packet: bytes

    def serialize(self, codec: Codec) -> bytes:
        return codec.packb([int(Command.SYS), int(SysCommand.RELAY), self.peer, self.packet])


Message = (
    RemoteCall
    | Request
    | Response
    | SimplifyPath
    | ForgetPath
    | Spawn
    | Despawn
    | Sync
    | Ping
    | Pong
    | SimplifyName
    | ConfirmPath
    | Raw
    | SysAuth
    | SysAddPeer
    | SysDelPeer
    | Relay
)


BARE_CALL = 0xC1
"""First byte of a REMOTE_CALL without arguments: ``c1 path_id name_id`` (msgpack
never uses 0xC1, so it cannot start an array)."""


def encode_call(path_id: int, name_id: int, packed_args: bytes, argc: int) -> bytes:
    """A REMOTE_CALL packet around arguments packed once with ``pack_array_items``.

    For ``b_func(5)`` on a cached path and name this is 5 bytes: ``94 00 01 01 05``
    (Godot's confirmed call is 6). Without arguments it is the 3 bytes
    ``c1 01 01``, as in Godot.
    """
    if not argc:
        return bytes((BARE_CALL,)) + _small(path_id) + _small(name_id)
    head = array_header(3 + argc)
    return head + bytes((Command.REMOTE_CALL,)) + _small(path_id) + _small(name_id) + packed_args


def encode_request(
    request_id: int, path_id: int, name_id: int, packed_args: bytes, argc: int
) -> bytes:
    """A REQUEST packet (a call whose result is sent back)."""
    head = array_header(4 + argc) + bytes((Command.REQUEST,)) + _small(request_id)
    return head + _small(path_id) + _small(name_id) + packed_args


MAX_PATH_LENGTH = 1024
MAX_PATH_PARTS = 64
MAX_NAME_LENGTH = 128


def check_wire_path(path: str) -> None:
    """Refuse a node path that could leave the API's root, or is oversized.

    A wire path is ``"."`` (the root itself) or child names joined by ``/``: no
    leading ``/``, no empty, ``.`` or ``..`` part.

    Raises:
        DecodingError: It is not such a path.
    """
    if path == ".":
        return
    parts = path.split("/")
    if len(path) > MAX_PATH_LENGTH or len(parts) > MAX_PATH_PARTS:
        raise DecodingError(
            f"node path longer than {MAX_PATH_LENGTH} characters or {MAX_PATH_PARTS} parts"
        )
    if any(part in ("", ".", "..") for part in parts):
        raise DecodingError(f"node path {_brief(path)} is not relative to the root")


def check_method_name(name: str) -> None:
    """Refuse a method name that is no Python identifier or is oversized.

    Raises:
        DecodingError: It is not such a name.
    """
    if len(name) > MAX_NAME_LENGTH or not name.isidentifier():
        raise DecodingError(f"method name {_brief(name)} is not an identifier")


def inner_command(packet: bytes) -> int | None:
    """The command of a packet, read without decoding it (None if unreadable).

    The server uses it to look inside a relay request before forwarding it.
    """
    if not packet:
        return None
    head = packet[0]
    if head == BARE_CALL:
        return Command.REMOTE_CALL
    offset = 1 if 0x90 <= head <= 0x9F else 3 if head == 0xDC else 5 if head == 0xDD else -1
    if offset < 0 or len(packet) <= offset:
        return None
    command = packet[offset]
    return command if command < 0x80 else None


def _small(value: int) -> bytes:
    """msgpack for a non-negative id: one byte up to 127, else uint16/uint32."""
    if value < 0x80:
        return bytes((value,))
    if value < 0x10000:
        return b"\xcd" + value.to_bytes(2, "big")
    return b"\xce" + value.to_bytes(4, "big")


def decode(data: bytes, codec: Codec, *, allow_objects: bool) -> Message:
    """Parse one high-level packet.

    Raises:
        DecodingError: It is not valid msgpack, or not a well-formed message.
    """
    if data[:1] == b"\xc1":  # a call without arguments: two ids follow
        ids = codec.unpackb(b"\x92" + data[1:], allow_objects=False)
        if type(ids[0]) is not int or type(ids[1]) is not int:
            raise DecodingError(f"bare REMOTE_CALL ids must be ints, not {_brief(ids)}")
        return RemoteCall(ids[0], ids[1], [])
    items = codec.unpackb(data, allow_objects=allow_objects)
    if not isinstance(items, list) or not items:
        raise DecodingError("a packet must be a non-empty msgpack array")
    command = items[0]
    if command == 0 and len(items) >= 3 and type(items[1]) is int and type(items[2]) is int:
        return RemoteCall(items[1], items[2], items[3:])  # the hot path, checked inline
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
            raise DecodingError(f"RESPONSE with unknown status {_brief(items[2])}")
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
    raise DecodingError(f"unknown command {_brief(command)}")


def _decode_sys(items: list[Any]) -> Message:
    sub = items[1]
    if sub == SysCommand.AUTH:
        _check(items, 3, "SYS AUTH", (int, bytes))
        return SysAuth(items[2])
    if sub == SysCommand.ADD_PEER:
        _check(items, 3, "SYS ADD_PEER", (int, int))
        return SysAddPeer(items[2])
    if sub == SysCommand.DEL_PEER:
        _check(items, 3, "SYS DEL_PEER", (int, int))
        return SysDelPeer(items[2])
    if sub == SysCommand.RELAY:
        _check(items, 4, "SYS RELAY", (int, int, bytes))
        return Relay(items[2], items[3])
    raise DecodingError(f"unknown SYS command {_brief(sub)}")


def _check(
    items: list[Any], length: int, name: str, types: Sequence[type], *, variadic: bool = False
) -> None:
    if len(items) < length or (not variadic and len(items) != length):
        raise DecodingError(f"{name} needs {length} items, got {len(items)}")
    for i, expected in enumerate(types, start=1):
        value = items[i]
        # bool is an int in Python; on the wire they are distinct
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise DecodingError(f"{name} item {i} must be {expected.__name__}, not {_brief(value)}")


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
