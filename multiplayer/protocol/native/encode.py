"""The native layout, encoding side: one msgpack array per packet.

Every packet is ``[command, *fields]``, the fields in the order the message
dataclass declares them (docs/protocol.md §2)::

    [0, path_id, name_id, *args]   REMOTE_CALL     (no args: the bytes c1 path_id name_id)
    [1, path_id, path]             SIMPLIFY_PATH
    [2, path_id, ok]               CONFIRM_PATH
    [3, data]                      RAW
    [4, spawner_path_id, net_id, scene, name, data, states]
                                   SPAWN
    [5, net_id]                    DESPAWN
    [6, seq, always, delta]        SYNC            always = [[path_id, [values]]...],
                                                   delta = [[path_id, [index, value, ...]]...]
    [7, 0, data]                   SYS AUTH
    [7, 1, peer]                   SYS ADD_PEER
    [7, 2, peer]                   SYS DEL_PEER
    [7, 3, peer, packet]           SYS RELAY
    [8, name_id, name]             SIMPLIFY_NAME
    [9, request_id, path_id, name_id, *args]
                                   REQUEST
    [10, request_id, status, value]
                                   RESPONSE
    [11, path_id]                  FORGET_PATH
    [12, seq]                      PING
    [13, seq, time]                PONG

Commands are packed as ``int(...)``: the codec packs exact types at C speed, and an
``IntEnum`` member would take its Python fallback. The message classes are imported
for type checking only: an encoder reads a message's fields, never its class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..commands import Command, SysCommand
from .codec import array_header

if TYPE_CHECKING:
    from ..messages import (
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
        Sync,
        SysAddPeer,
        SysAddPeers,
        SysAuth,
        SysDelPeer,
    )
    from .codec import Codec

__all__ = [
    "BARE_CALL",
    "SYNC_ROOM",
    "confirm_path",
    "despawn",
    "encode_call",
    "encode_request",
    "forget_path",
    "inner_command",
    "ping",
    "pong",
    "raw",
    "relay",
    "remote_call",
    "request",
    "response",
    "simplify_name",
    "simplify_path",
    "spawn",
    "sync",
    "sync_body",
    "sync_delta",
    "sync_entry",
    "sync_packet",
    "sync_state_size",
    "sys_add_peer",
    "sys_add_peers",
    "sys_auth",
    "sys_del_peer",
]

BARE_CALL = 0xC1
"""First byte of a REMOTE_CALL without arguments: ``c1 path_id name_id`` (msgpack
never uses 0xC1, so it cannot start an array)."""

_SYS = int(Command.SYS)


# The fast paths: a call's arguments are packed once (``Codec.pack_array_items``) and
# the same bytes go to every receiver, each with its own ids.


def encode_call(
    path_id: int,
    name_id: int,
    packed_args: bytes,
    argc: int,
    path: str | None = None,
    wide: bool = False,
) -> bytes:
    """A REMOTE_CALL packet around arguments packed once with ``pack_array_items``.

    For ``b_func(5)`` on a cached path and name this is 5 bytes: ``94 00 01 01 05``
    (Godot's confirmed call is 6). Without arguments it is the 3 bytes
    ``c1 01 01``, as in Godot. (``path`` and ``wide`` are for profiles with
    ``inline_paths``; here a path id is always defined before its first use.)
    """
    if path is not None:
        raise ValueError("the native profile names nodes by path id only")
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


def inner_command(packet: bytes) -> int | None:
    """The command of a packet, read without decoding it (None if unreadable)."""
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


# SYNC in parts, for the replicator: a synchronizer's state is packed once a frame, made
# into an entry once for every peer that gets the same bytes, and the entries of a
# packet are joined once for every peer that gets them all; a peer's packet is then
# the head, its sequence number and that body. The parts make the bytes ``sync``
# makes of the same content: [6, seq, [entry...], [entry...]], each entry
# [path_id, state], a state [value...] (ALWAYS) or [index, value, ...] (ON_CHANGE).

_SYNC_HEAD = array_header(4) + bytes((Command.SYNC,))
_ENTRY_HEAD = array_header(2)

SYNC_ROOM = 16
"""The most bytes a SYNC packet adds to its entries (array header, command, a ``seq``
below 2**32 and two array headers of fewer than 65536 entries: 13 at most)."""


def sync_delta(indices: Sequence[int], packed: Sequence[bytes], codec: Codec) -> bytes:
    """The state of an ON_CHANGE entry, ``[index, value, ...]``, for the properties at
    ``indices`` whose values ``packed`` holds already packed (indexed by property)."""
    packb = codec.packb
    return array_header(2 * len(indices)) + b"".join(packb(i) + packed[i] for i in indices)


def sync_entry(path_id: int, state: bytes, codec: Codec) -> bytes:
    """An entry, ``[path_id, state]``, around a state packed once."""
    return _ENTRY_HEAD + codec.packb(path_id) + state


def sync_body(always: Sequence[bytes], delta: Sequence[bytes]) -> bytes:
    """What follows ``seq`` in a SYNC packet: its two lists of entries."""
    return array_header(len(always)) + b"".join(always) + array_header(len(delta)) + b"".join(delta)


def sync_packet(seq: int, body: bytes, codec: Codec) -> bytes:
    """A SYNC packet: the head and ``seq`` in front of a body built once."""
    return _SYNC_HEAD + codec.packb(seq) + body


def sync_state_size(values: list[Any], codec: Codec) -> int:
    """How many bytes the state of a received entry took (ALWAYS values and delta
    pairs alike: the state is the msgpack array of them)."""
    return len(codec.packb(values))


# One encoder per message.


def remote_call(m: RemoteCall, codec: Codec) -> bytes:
    return encode_call(m.path_id, m.name_id, codec.pack_array_items(m.args), len(m.args))


def request(m: Request, codec: Codec) -> bytes:
    packed = codec.pack_array_items(m.args)
    return encode_request(m.request_id, m.path_id, m.name_id, packed, len(m.args))


def response(m: Response, codec: Codec) -> bytes:
    return codec.packb([int(Command.RESPONSE), m.request_id, int(m.status), m.value])


def simplify_path(m: SimplifyPath, codec: Codec) -> bytes:
    return codec.packb([int(Command.SIMPLIFY_PATH), m.path_id, m.path])


def forget_path(m: ForgetPath, codec: Codec) -> bytes:
    return codec.packb([int(Command.FORGET_PATH), m.path_id])


def spawn(m: Spawn, codec: Codec) -> bytes:
    fields = [m.spawner_path_id, m.net_id, m.scene, m.name, m.data, m.states]
    return codec.packb([int(Command.SPAWN), *fields])


def despawn(m: Despawn, codec: Codec) -> bytes:
    return codec.packb([int(Command.DESPAWN), m.net_id])


def sync(m: Sync, codec: Codec) -> bytes:
    return codec.packb([int(Command.SYNC), m.seq, m.always, m.delta])


def ping(m: Ping, codec: Codec) -> bytes:
    return codec.packb([int(Command.PING), m.seq])


def pong(m: Pong, codec: Codec) -> bytes:
    return codec.packb([int(Command.PONG), m.seq, m.time])


def simplify_name(m: SimplifyName, codec: Codec) -> bytes:
    return codec.packb([int(Command.SIMPLIFY_NAME), m.name_id, m.name])


def confirm_path(m: ConfirmPath, codec: Codec) -> bytes:
    return codec.packb([int(Command.CONFIRM_PATH), m.path_id, m.ok])


def raw(m: Raw, codec: Codec) -> bytes:
    return codec.packb([int(Command.RAW), m.data])


def sys_auth(m: SysAuth, codec: Codec) -> bytes:
    return codec.packb([_SYS, int(SysCommand.AUTH), m.data])


def sys_add_peer(m: SysAddPeer, codec: Codec) -> bytes:
    return codec.packb([_SYS, int(SysCommand.ADD_PEER), m.peer])


def sys_add_peers(m: SysAddPeers, codec: Codec) -> bytes:
    return codec.packb([_SYS, int(SysCommand.ADD_PEERS), list(m.peers)])


def sys_del_peer(m: SysDelPeer, codec: Codec) -> bytes:
    return codec.packb([_SYS, int(SysCommand.DEL_PEER), m.peer])


def relay(m: Relay, codec: Codec) -> bytes:
    return codec.packb([_SYS, int(SysCommand.RELAY), m.peer, m.packet])
