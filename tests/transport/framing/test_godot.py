"""Tests for :mod:`multiplayer.transport.framing.godot`: Godot 4's bare framing."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import ProtocolError
from multiplayer.transport.framing.godot import GodotFraming

FRAMING = GodotFraming()


def test_the_server_greeting_is_the_bare_little_endian_id() -> None:
    """Godot's _poll_server sends the id as 4 bytes, int32 little-endian, nothing else."""
    assert FRAMING.server_greeting(2, 65535) == b"\x02\x00\x00\x00"
    assert FRAMING.server_greeting(0x7FFFFFFF, 1) == b"\xff\xff\xff\x7f"


def test_the_client_does_not_greet() -> None:
    """The server speaks first; a client greeting is not part of the profile."""
    assert FRAMING.client_greets is False
    with pytest.raises(NotImplementedError):
        FRAMING.client_greeting(65535)


def test_parsing_the_greeting_gives_the_id_and_no_size_limit() -> None:
    greeting = FRAMING.parse_server_greeting(b"\x39\x30\x00\x00")
    assert greeting.peer_id == 12345
    assert greeting.max_message_size is None


@pytest.mark.parametrize("message", [b"", b"\x02\x00\x00", b"\x02\x00\x00\x00\x00"])
def test_a_greeting_of_another_length_is_a_protocol_error(message: bytes) -> None:
    """Godot closes with "Invalid ID received from server" unless it gets 4 bytes."""
    with pytest.raises(ProtocolError, match="4-byte id"):
        FRAMING.parse_server_greeting(message)


def test_a_negative_id_parses_as_negative() -> None:
    """The id is signed: the peer then refuses it as below 2 (not the framing's call)."""
    assert FRAMING.parse_server_greeting(b"\xff\xff\xff\xff").peer_id == -1


def test_one_message_per_packet_with_nothing_added() -> None:
    """Packets are never batched or wrapped: each is one WebSocket message as it is."""
    assert FRAMING.packet_overhead == 0
    packets = [b"\x03abc", b"\x00\x01\x01\x00", b"\x07"]
    assert FRAMING.encode(packets, 65535) == packets
    assert FRAMING.decode(b"\x03abc") == [b"\x03abc"]


def test_ids_are_drawn_at_random() -> None:
    assert FRAMING.random_ids is True


def test_a_godot_peer_is_assumed_to_take_godots_default_message_size() -> None:
    """Godot's inbound_buffer_size is 65535 by default, and its greeting does not
    say: the peer keeps its packets to that."""
    assert FRAMING.peer_message_size == 65535
