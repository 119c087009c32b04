"""The godot profile's packets are Godot's: the reference calls of bench/run.py's
wire_bytes, made by the real Godot 4.6 engine, equal the godot profile's encoding of
the same calls byte for byte (so the bench's "Godot 4" sizes are the engine's); so do
its path announcement (with a node-level rpc_config in the checksum), a call by
path, a lone PackedByteArray argument and a 64-bit float."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from multiplayer import Node, Vector2, rpc
from multiplayer.protocol.godot.format import GodotFormat
from multiplayer.protocol.messages import ConfirmPath, RemoteCall, SimplifyPath
from multiplayer.protocol.native.codec import Codec
from multiplayer.scene_multiplayer.method_ids import method_ids

PROJECT = Path(__file__).parent / "projects" / "wire_calls"
FORMAT = GodotFormat(Codec())
GO, NONE, ONE = 0, 1, 2  # main.gd's RPCs, sorted: go, none, one
REFERENCE: list[list[Any]] = [  # bench/run.py's WIRE_CASES, and two more
    [],
    [5],
    [Vector2(1.5, 2.0)],
    ["abcdefghij"],
    [list(range(10))],
    [b"\x01\x02\x03"],
    [0.1],
]


class Main(Node):
    """main.gd's node, in Python: the same RPCs, the same rpc_config."""

    def __init__(self) -> None:
        super().__init__("Main")
        self.rpc_config("extra", {"rpc_mode": 1})

    @rpc
    def go(self) -> None: ...

    @rpc("any_peer")
    def none(self) -> None: ...

    @rpc("any_peer")
    def one(self, value: Any) -> None: ...

    def extra(self) -> None: ...


async def test_godot_sends_the_reference_calls_as_the_godot_profile_does(browser: Any) -> None:
    calls: list[bytes] = []
    announced: list[tuple[SimplifyPath, bytes]] = []
    by_path: list[bytes] = []
    done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        """Godot's server side of the conversation, by hand: the id, a confirmation,
        `go` once the first call came, then the calls by id."""
        await ws.send(struct.pack("<i", 2))
        async for data in ws:
            assert isinstance(data, bytes)
            message = FORMAT.decode(data, allow_objects=False)
            if isinstance(message, SimplifyPath):
                announced.append((message, data))
                await ws.send(FORMAT.encode(ConfirmPath(message.path_id, True)))
            elif isinstance(message, RemoteCall) and message.path is not None:
                by_path.append(data)
                await ws.send(FORMAT.encode(RemoteCall(0, GO, [], "Main")))
            elif isinstance(message, RemoteCall):
                calls.append(data)
                if len(calls) == len(REFERENCE):
                    done.set()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with browser.godot(PROJECT, user_args=[f"--port={port}"]) as godot:
            await godot.wait_for("TEST: sent")
            await asyncio.wait_for(done.wait(), 10)
            assert godot.errors() == []
    ((simplify, simplify_bytes),) = announced
    path_id = simplify.path_id
    checksum = method_ids(Main()).checksum
    assert FORMAT.encode(SimplifyPath(path_id, "Main", checksum)) == simplify_bytes
    warm_up = FORMAT.pack_args([0], allow_objects=False)
    assert by_path == [FORMAT.encode_call(0, ONE, warm_up, 1, "Main")]
    for args, data in zip(REFERENCE, calls, strict=True):
        method = ONE if args else NONE
        packed = FORMAT.pack_args(args, allow_objects=False)
        assert FORMAT.encode_call(path_id, method, packed, len(args)) == data, args
