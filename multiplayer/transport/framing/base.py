"""The framing interface: how a WebSocket peer greets and puts packets in messages.

A *framing* is the transport half of a protocol profile. It says three things, and
nothing about sockets (it is sans-I/O, like websockets' ``frames.py``):

* the **greeting**: what the two sides exchange once the WebSocket is open, so that
  the client learns its peer id (and, if the framing says so, each side learns the
  other's largest message, and the client gets a token to resume its session
  with: see :mod:`multiplayer.transport.resume`);
* how the packets put for one peer in one flush are **encoded** into WebSocket
  messages;
* how one received message is **decoded** back into packets.

The WebSocket peer calls a framing once per greeting and once per flushed or
received *message*, never once per packet, so a framing is free to batch.

Two framings exist: ``native.py`` (a HELLO both ways, then PACKET and BATCH
messages) and ``godot.py`` (Godot 4's own: the server sends the bare 4-byte id as soon
as the WebSocket is open, then one message per packet, nothing around it).

The peer keeps every decision that does not depend on the bytes: the timeouts, the
id range (a client refuses an id below 2, as Godot does) and the message limits.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["Framing", "Greeting", "Resumption"]


@dataclass(frozen=True, slots=True)
class Resumption:
    """The part of a greeting about resuming a session (only in resumable framings)."""

    token: bytes
    """The server's: the token the client resumes with. The client's: the token it
    presents."""
    received: int = 0
    """Data messages the sender has received from the other side in this session
    (0 in a new session): the other side replays what came after."""


@dataclass(frozen=True, slots=True)
class Greeting:
    """What a greeting told the side that received it."""

    peer_id: int
    """The id the server assigned to the client; 0 in a client's greeting, or the id
    of the session it resumes."""
    max_message_size: int | None = None
    """The sender's largest accepted message, or None if the framing does not say."""
    resumption: Resumption | None = None
    """The server's: the session can be resumed (None: it cannot). The client's:
    it resumes the session of ``peer_id`` (None: a new session)."""
    grace: float = 0.0
    """The sender's ``reconnect_grace`` (only if the framing is ``resumable``): the
    client's, how long it would try to come back (0: it would not, so the server
    offers no resume); the server's, how long it keeps the session (the shorter
    of the two)."""


class Framing(abc.ABC):
    """The transport framing of one protocol profile (stateless: one instance serves
    every connection).

    Methods that parse raise :class:`~multiplayer.exceptions.ProtocolError` on bad
    input: the peer turns that into a closed connection (1002), never a traceback.
    """

    name: ClassVar[str]
    """The profile's name, as given to ``WebSocketMultiplayerPeer(protocol=...)``."""

    client_greets: ClassVar[bool]
    """Whether the client greets first and the server waits for it before giving an
    id (otherwise the server sends the id as soon as the WebSocket is open)."""

    packet_overhead: ClassVar[int]
    """Bytes a message holding one packet adds to it: a packet may be at most the
    other side's message limit minus this."""

    peer_message_size: ClassVar[int | None] = None
    """The other side's largest message, when its greeting does not say: None
    assumes it takes what we take (our ``inbound_buffer_size``)."""

    resumable: ClassVar[bool] = False
    """Whether a client whose link is lost can resume its session: greetings carry
    a :class:`Resumption`, and data messages are counted and acknowledged
    (:meth:`ack`, :meth:`parse_ack`) so that none is lost or repeated."""

    ack_kind: ClassVar[int] = -1
    """The first byte of an acknowledgement (only if ``resumable``)."""

    random_ids: ClassVar[bool] = False
    """Whether the server draws client ids at random in [2, 2^31 - 1] (as Godot's
    ``generate_unique_id`` does) rather than counting them up from 2."""

    # The greeting.

    def client_greeting(
        self,
        max_message_size: int,
        peer_id: int = 0,
        resumption: Resumption | None = None,
        grace: float = 0.0,
    ) -> bytes:
        """The client's first message (only if ``client_greets``); with ``peer_id``
        and ``resumption`` (only if ``resumable``), it asks to resume that session."""
        raise NotImplementedError(f"the {self.name} framing has no client greeting")

    def parse_client_greeting(self, message: bytes) -> Greeting:
        """Read a client's first message (only if ``client_greets``).

        Raises:
            ProtocolError: It is not a valid greeting.
        """
        raise NotImplementedError(f"the {self.name} framing has no client greeting")

    @abc.abstractmethod
    def server_greeting(
        self,
        peer_id: int,
        max_message_size: int,
        resumption: Resumption | None = None,
        grace: float = 0.0,
    ) -> bytes:
        """The server's first message, which gives the client ``peer_id`` (and, with
        ``resumption``, only if ``resumable``, the token to resume with)."""

    @abc.abstractmethod
    def parse_server_greeting(self, message: bytes) -> Greeting:
        """Read the server's first message.

        Raises:
            ProtocolError: It is not a valid greeting.
        """

    # Packets: called once per message (subclasses may bind plain functions here).

    @abc.abstractmethod
    def encode(self, packets: Sequence[bytes], max_message_size: int) -> list[bytes]:
        """Put the packets flushed for one peer into messages of at most
        ``max_message_size`` bytes (each packet fits alone: ``put_packet`` checks
        ``len(packet) + packet_overhead <= max_message_size``)."""

    # Acknowledgements (only if ``resumable``).

    def ack(self, received: int) -> bytes:
        """The message that acknowledges ``received`` data messages in all."""
        raise NotImplementedError(f"the {self.name} framing does not resume sessions")

    def parse_ack(self, message: bytes) -> int:
        """The count an acknowledgement (a message starting with ``ack_kind``) carries.

        Raises:
            ProtocolError: It is malformed.
        """
        raise NotImplementedError(f"the {self.name} framing does not resume sessions")

    @abc.abstractmethod
    def decode(self, message: bytes) -> list[bytes]:
        """The packets in one received binary message.

        Raises:
            ProtocolError: The message is malformed.
        """
