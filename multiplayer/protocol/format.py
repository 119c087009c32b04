"""Packet formats: how a wire profile lays messages out in bytes, found by name.

A profile is what a transport peer speaks (``MultiplayerPeer.protocol``). Each one
has a :class:`PacketFormat`, built for one API around its value codec;
SceneMultiplayer takes the one its peer names, so a new profile is a new module
registered here, and nothing above the protocol layer changes. Godot itself fixes
one format (``SceneMultiplayer::_process_packet``, ``SceneRPCInterface::_send_rpc``,
``SceneCacheInterface::process_simplify_path``): a command byte whose high bits
carry flags, a checksum in SIMPLIFY_PATH, variant-encoded arguments. The native profile keeps
Godot's commands and meanings in msgpack arrays (:mod:`multiplayer.protocol.native`).

Formats decode bytes from the network: ``decode`` raises
:exc:`~multiplayer.exceptions.DecodingError` and nothing else, whatever the bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .native.format import NativeFormat

if TYPE_CHECKING:
    from .messages import Message
    from .native.codec import Codec

__all__ = [
    "FormatFactory",
    "PackArgs",
    "PacketFormat",
    "format_names",
    "get_format",
    "register_format",
]


class PackArgs(Protocol):
    """Packs a call's arguments once, for ``encode_call`` / ``encode_request``."""

    def __call__(self, items: Sequence[Any], *, allow_objects: bool) -> bytes: ...


class PacketFormat(Protocol):
    """One profile's packet layout, for one multiplayer API.

    Besides ``encode`` and ``decode`` it has the fast paths of the RPC hot path: the
    arguments of a call are packed once (``pack_args``) and wrapped for each
    receiver with that receiver's ids (``encode_call``), so a broadcast packs its
    values once.
    """

    # Read-only members: a class attribute, an instance attribute or a property
    # satisfies each.

    @property
    def name(self) -> str:
        """The profile's name, as ``MultiplayerPeer.protocol`` says it."""

    @property
    def relay_growth(self) -> int:
        """How many bytes a SYS RELAY packet may grow when the server forwards it (it
        writes the sender's id where the target's was)."""

    @property
    def codec(self) -> Codec:
        """The API's value codec: its limits and registered types."""

    @property
    def pack_args(self) -> PackArgs:
        """Pack a call's arguments (raises EncodingError)."""

    def encode(self, message: Message) -> bytes:
        """``message`` as one packet.

        Raises:
            EncodingError: A value in it cannot be sent.
        """

    def decode(self, data: bytes, *, allow_objects: bool) -> Message:
        """The message in one packet from the network.

        Raises:
            DecodingError: It is not a well-formed message.
        """

    def encode_call(self, path_id: int, name_id: int, packed_args: bytes, argc: int) -> bytes:
        """A REMOTE_CALL packet around ``pack_args`` output for ``argc`` arguments."""

    def encode_request(
        self, request_id: int, path_id: int, name_id: int, packed_args: bytes, argc: int
    ) -> bytes:
        """A REQUEST packet, like ``encode_call`` with the request's id."""


FormatFactory = Callable[["Codec"], PacketFormat]
"""Builds a profile's format around an API's value codec (usually the class)."""

_FORMATS: dict[str, FormatFactory] = {NativeFormat.name: NativeFormat}


def register_format(name: str, factory: FormatFactory) -> None:
    """Make profile ``name`` available to every multiplayer API.

    Raises:
        ValueError: A profile of that name is registered already.
    """
    if name in _FORMATS:
        raise ValueError(f"a packet format named {name!r} is registered already")
    _FORMATS[name] = factory


def get_format(name: str) -> FormatFactory:
    """The format of profile ``name``.

    Raises:
        ValueError: No such profile is registered (the message lists those that are).
    """
    factory = _FORMATS.get(name)
    if factory is None:
        known = ", ".join(repr(n) for n in format_names())
        raise ValueError(f"unknown wire profile {name!r}: the known profiles are {known}")
    return factory


def format_names() -> list[str]:
    """The registered profiles, sorted."""
    return sorted(_FORMATS)
