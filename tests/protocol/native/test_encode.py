"""The native layout, encoding side: golden bytes of the call and SYNC fast paths."""

from __future__ import annotations

import msgpack
import pytest

from multiplayer.protocol.commands import Command
from multiplayer.protocol.messages import Sync
from multiplayer.protocol.native.codec import default_codec, pack_array_items, packb
from multiplayer.protocol.native.encode import (
    SYNC_ROOM,
    encode_call,
    encode_request,
    inner_command,
    sync,
    sync_body,
    sync_delta,
    sync_entry,
    sync_packet,
    sync_state_size,
)


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


def test_sync_parts_golden_bytes() -> None:
    """[6, 1, [[1, [5]]], [[2, [0, "x"]]]] in parts: entries 92 01 91 05 and
    92 02 92 00 a1 78, a body of both lists, then 94 06 and the sequence number."""
    always = sync_entry(1, packb([5]), default_codec)
    assert always.hex() == "92019105"
    delta = sync_entry(2, sync_delta([0], [packb("x")], default_codec), default_codec)
    assert delta.hex() == "92029200a178"
    packet = sync_packet(1, sync_body([always], [delta]), default_codec)
    assert packet.hex() == "94060191920191059192029200a178"
    assert packet == sync(Sync(1, [[1, [5]]], [[2, [0, "x"]]]), default_codec)


@pytest.mark.parametrize("number", [127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**40])
def test_sync_ids_and_sequence_numbers_of_every_size(number: int) -> None:
    """Path ids and sequence numbers take msgpack's smallest int form, as the Sync
    message's encoding does (a u8 at 128..255, unlike a call's ids); 17 entries
    make an array16."""
    entry = sync_entry(number, packb([number]), default_codec)
    packet = sync_packet(number, sync_body([entry] * 17, []), default_codec)
    assert packet == sync(Sync(number, [[number, [number]]] * 17, []), default_codec)


@pytest.mark.parametrize("index", [0, 127, 128, 255, 256])
def test_delta_indices_of_every_size(index: int) -> None:
    """A delta state is the msgpack array [index, value, ...], whatever the index."""
    packed = [packb(-i) for i in range(index + 1)]
    assert sync_delta([index], packed, default_codec) == packb([index, -index])
    assert sync_delta([], packed, default_codec) == packb([])


def test_sync_room_covers_what_is_not_entries() -> None:
    """The head, a 5-byte sequence number and two array16 headers fit in SYNC_ROOM."""
    entry = sync_entry(1, packb([]), default_codec)
    body = sync_body([entry] * 16, [entry] * 16)
    packet = sync_packet(2**32 - 1, body, default_codec)
    assert len(packet) - 32 * len(entry) == 13 <= SYNC_ROOM


def test_state_size_is_the_state_as_sent() -> None:
    """A received entry's values measure what pack_state / sync_delta made of them."""
    assert sync_state_size([1, "abc"], default_codec) == len(packb([1, "abc"])) == 6
    delta = sync_delta([1], [packb(None), packb(70000)], default_codec)
    assert sync_state_size([1, 70000], default_codec) == len(delta) == 7
