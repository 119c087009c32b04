"""The messages SceneMultiplayer exchanges, as typed values, whatever their bytes.

One dataclass per message; :data:`Message` is their union. A wire profile (a
:class:`~multiplayer.protocol.format.PacketFormat`, such as the native msgpack
layout of :mod:`multiplayer.protocol.native`) turns them into bytes and back, so
that nothing above the protocol layer knows a byte layout.

Ids are chosen by the sender, one counter for paths and one for names. A path id
stays valid until the sender's FORGET_PATH (its node left the tree) or ``clear()``;
a name id until ``clear()``. The transport is ordered, so a SIMPLIFY always arrives
before the first call that uses its id: calls never wait for the confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..exceptions import DecodingError
from .commands import Command, Status, SysCommand

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PATH_LENGTH",
    "MAX_PATH_PARTS",
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
    "SysAddPeers",
    "SysAuth",
    "SysCommand",
    "SysDelPeer",
    "brief",
    "check_method_name",
    "check_wire_path",
]


# Messages are plain (not frozen) slotted dataclasses: one is built for every packet
# received, and a frozen dataclass's __init__ sets each field through
# object.__setattr__, several times slower.


@dataclass(slots=True)
class RemoteCall:
    """Call method ``name_id`` of node ``path_id`` with ``args`` (Godot's REMOTE_CALL).

    In a profile whose calls may precede the receiver's confirmation of a path id
    (``PacketFormat.inline_paths``, Godot's), such a call names its node by ``path``
    itself instead, and ``path_id`` is then unused.
    """

    path_id: int
    name_id: int
    args: list[Any]
    path: str | None = None


@dataclass(slots=True)
class Request:
    """A call whose result is wanted back, under ``request_id`` (``rpc_call``)."""

    request_id: int
    path_id: int
    name_id: int
    args: list[Any]


@dataclass(slots=True)
class Response:
    """The answer to a Request: its result (OK), the error it raised (ERROR:
    ``[type name, message]``), or why it was refused (REFUSED: a reason)."""

    request_id: int
    status: Status
    value: Any


@dataclass(slots=True)
class SimplifyPath:
    """From now on, the sender's ``path_id`` means this node path (Godot's
    SIMPLIFY_PATH; the path is relative to the multiplayer root).

    ``checksum`` is the md5 of the node's RPC method names, in a profile that
    carries it (Godot's ``get_rpc_md5``), else empty.
    """

    path_id: int
    path: str
    checksum: str = ""


@dataclass(slots=True)
class ConfirmPath:
    """The receiver of a SIMPLIFY_PATH found the node (``ok``) or not; in a profile
    with checksums, ``ok`` says whether the checksum matched (Godot's receiver does
    not answer for a node it lacks)."""

    path_id: int
    ok: bool


@dataclass(slots=True)
class ForgetPath:
    """The sender no longer uses ``path_id``: its node left the tree."""

    path_id: int


@dataclass(slots=True)
class SimplifyName:
    """From now on, the sender's ``name_id`` means this method name."""

    name_id: int
    name: str


@dataclass(slots=True)
class Raw:
    """Bytes from ``send_bytes``, for the receiver's ``peer_packet`` signal."""

    data: bytes


@dataclass(slots=True)
class Spawn:
    """A node spawned by the spawner at ``spawner_path_id`` (Godot's SPAWN).

    In a profile with ``sync_net_ids`` (Godot's), ``sync_ids`` are the net ids the
    sender gave the synchronizers it sends the state of, and ``states`` holds the
    values of all their spawn properties in one list: each receiving synchronizer
    takes as many as it has spawn properties. Otherwise ``sync_ids`` is empty and
    ``states`` holds one list of values per synchronizer of the node.
    """

    spawner_path_id: int
    net_id: int
    scene: int  # the index of the spawnable scene; -1 for spawn_function
    name: str
    data: Any  # the spawn_function's argument
    states: list[Any]
    sync_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Despawn:
    """The node ``net_id`` left the sender's tree."""

    net_id: int


@dataclass(slots=True)
class Sync:
    """Synchronizer state, sequence-numbered per sender and receiver.

    Entries name a synchronizer by the sender's path id, or, in a profile with
    ``sync_net_ids`` (Godot's), by the net id its SPAWN gave it, else by its path id
    with bit 31 set. In a profile with ``delta_packets`` (Godot's) a packet holds
    entries of one kind, and ``seq`` (0 in a delta) is a 16-bit time.
    """

    seq: int
    always: list[Any]  # [[sync_id, [value, ...]], ...]: every ALWAYS property
    delta: list[Any]  # [[sync_id, [index, value, ...]], ...]: changed ON_CHANGE ones


@dataclass(slots=True)
class Ping:
    """Answer with a Pong carrying the same ``seq``."""

    seq: int


@dataclass(slots=True)
class Pong:
    """The answer to Ping ``seq``, with the answerer's clock in seconds."""

    seq: int
    time: float


@dataclass(slots=True)
class SysAuth:
    """Authentication data; empty means "this side completed" (Godot's SYS AUTH)."""

    data: bytes


@dataclass(slots=True)
class SysAddPeer:
    """Server to client: ``peer`` joined (Godot's SYS ADD_PEER)."""

    peer: int


@dataclass(slots=True)
class SysAddPeers:
    """Server to client: ``peers`` joined, or were there (native profile: one packet
    for what Godot sends as an ADD_PEER each)."""

    peers: list[int]


@dataclass(slots=True)
class SysDelPeer:
    """Server to client: ``peer`` left (Godot's SYS DEL_PEER)."""

    peer: int


@dataclass(slots=True)
class Relay:
    """Client to server: deliver ``packet`` to ``peer`` (0: all, < 0: all but one);
    server to client: ``packet`` comes from ``peer`` (Godot's SYS RELAY)."""

    peer: int
    packet: bytes


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
    | SysAddPeers
    | SysDelPeer
    | Relay
)


# What a peer may name. The checks belong to the messages, not to a profile: they
# keep a peer inside the API's branch whatever bytes carried the text.

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
        raise DecodingError(f"node path {brief(path)} is not relative to the root")


def check_method_name(name: str) -> None:
    """Refuse a method name that is no Python identifier or is oversized.

    Raises:
        DecodingError: It is not such a name.
    """
    if len(name) > MAX_NAME_LENGTH or not name.isidentifier():
        raise DecodingError(f"method name {brief(name)} is not an identifier")


def brief(value: object) -> str:
    """``repr(value)``, cut to 40 characters: remote text in a log line stays short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
