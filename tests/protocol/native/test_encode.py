"""The native layout, encoding side: golden bytes of the call fast paths."""

from __future__ import annotations

import msgpack
import pytest

from multiplayer.protocol.commands import Command
from multiplayer.protocol.native.codec import pack_array_items
from multiplayer.protocol.native.encode import encode_call, encode_request, inner_command


def test_cached_call_golden_bytes() -> None:
    """b_func(5) on path id 1 and name id 1 is 94 00 01 01 05 (5 bytes; Godot: 6)."""
    assert encode_call(1, 1, pack_array_items([5]), 1) == bytes.fromhex("9400010105")


@pytest.mark.parametrize("ident", [0, 1, 127, 128, 65535, 65536, 2**31])
def test_call_ids_of_every_size(ident: int) -> None:
    """Ids of 1, 3 and 5 bytes encode as valid msgpack."""
    packet = encode_call(ident, ident, pack_array_items(["x", None]), 2)
    assert msgpack.unpackb(packet) == [0, ident, ident, "x", None]


def test_no_argument_call() -> None:
    """A call without arguments is c1 and its two ids: 3 bytes, like Godot's."""
    assert encode_call(2, 3, b"", 0) == bytes.fromhex("c10203")
    assert encode_call(300, 70000, b"", 0) == bytes.fromhex("c1cd012cce00011170")


def test_request_layout() -> None:
    """A REQUEST is [9, request_id, path_id, name_id, *args]."""
    packet = encode_request(200, 1, 2, pack_array_items([True]), 1)
    assert msgpack.unpackb(packet) == [9, 200, 1, 2, True]


@pytest.mark.parametrize(
    ("packet", "command"),
    [
        (bytes.fromhex("c10203"), Command.REMOTE_CALL),
        (msgpack.packb([3, b"x"]), Command.RAW),
        (msgpack.packb([6, *range(20)]), Command.SYNC),  # array16 header
        (msgpack.packb([4, *range(70000)]), Command.SPAWN),  # array32 header
        (b"", None),
        (b"\x05", None),  # not an array
        (b"\x91", None),  # truncated
        (msgpack.packb(["x"]), None),  # not an int command
    ],
)
def test_inner_command(packet: bytes, command: int | None) -> None:
    """The command is read without decoding; anything else gives None."""
    assert inner_command(packet) == command
