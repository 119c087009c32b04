"""Tests for :mod:`multiplayer.transport.framing.base`: the framing interface."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pytest

from multiplayer.exceptions import ProtocolError
from multiplayer.transport.framing.base import Framing, Greeting


class BareIdFraming(Framing):
    """A framing in the shape of Godot's (base.py's docstring): the server sends the
    bare id, and each message is one packet. A test double, not the godot profile."""

    name = "bare-id"
    client_greets = False
    packet_overhead = 0

    def server_greeting(self, peer_id: int, max_message_size: int) -> bytes:
        return struct.pack("<i", peer_id)

    def parse_server_greeting(self, message: bytes) -> Greeting:
        if len(message) != 4:
            raise ProtocolError(f"expected a 4-byte id, got {len(message)} bytes")
        return Greeting(struct.unpack("<i", message)[0])

    def encode(self, packets: Sequence[bytes], max_message_size: int) -> list[bytes]:
        return list(packets)

    def decode(self, message: bytes) -> list[bytes]:
        return [message]


def test_greeting_defaults_to_no_message_limit() -> None:
    """A Greeting that does not say the sender's limit has max_message_size None."""
    assert Greeting(5) == Greeting(5, None)
    assert Greeting(5, 1024).max_message_size == 1024


def test_greeting_is_frozen() -> None:
    """A Greeting is a value: it cannot be changed."""
    greeting = Greeting(2, 64)
    with pytest.raises(AttributeError):
        greeting.peer_id = 3  # type: ignore[misc]


def test_framing_is_abstract() -> None:
    """Framing cannot be made without the server greeting and the packet methods."""
    with pytest.raises(TypeError, match="abstract"):
        Framing()  # type: ignore[abstract]


def test_a_framing_without_a_client_greeting() -> None:
    """A framing whose client does not greet needs only the server greeting; asking
    it for a client greeting is a programming error, named after the framing."""
    framing = BareIdFraming()
    assert framing.server_greeting(7, 1 << 20) == b"\x07\x00\x00\x00"
    assert framing.parse_server_greeting(b"\x07\x00\x00\x00") == Greeting(7)
    with pytest.raises(NotImplementedError, match="bare-id"):
        framing.client_greeting(1 << 20)
    with pytest.raises(NotImplementedError, match="bare-id"):
        framing.parse_client_greeting(b"")


def test_a_one_packet_per_message_framing() -> None:
    """encode/decode may map packets to messages one to one, with no overhead."""
    framing = BareIdFraming()
    assert framing.encode([b"a", b"bc"], 64) == [b"a", b"bc"]
    assert framing.decode(b"bc") == [b"bc"]
    with pytest.raises(ProtocolError):
        framing.parse_server_greeting(b"\x07\x00")
