"""Packet formats: how a wire profile lays messages out in bytes, found by name.

A profile is what a transport peer speaks (``MultiplayerPeer.protocol``). Each one
has a :class:`PacketFormat`, built for one API around its value codec;
SceneMultiplayer takes the one its peer names, so a new profile is a new module
registered here, and nothing above the protocol layer changes. Godot itself fixes
one format (``SceneMultiplayer::_process_packet``, ``SceneRPCInterface::_send_rpc``,
``SceneCacheInterface::process_simplify_path``): a command byte whose high bits
carry flags, a checksum in SIMPLIFY_PATH, variant-encoded arguments; the ``"godot"``
profile writes exactly that (:mod:`multiplayer.protocol.godot`). The native profile
keeps Godot's commands and meanings in msgpack arrays (:mod:`multiplayer.protocol.native`)
and adds what Godot lacks. Where the two differ in meaning, not only in bytes, a
format says so with its traits (``inline_paths``, ``sorted_method_ids``,
``awaitable_calls``, ``clock``, ``sync_net_ids``, ``delta_packets``), which the
layers above read.

Formats decode bytes from the network: ``decode`` raises
:exc:`~multiplayer.exceptions.DecodingError` and nothing else, whatever the bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .godot.format import GodotFormat
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

    Besides ``encode`` and ``decode`` it has the fast paths of the two hot paths,
    which build a packet from parts packed once and shared:

    * RPC: the arguments of a call are packed once (``pack_args``) and wrapped for
      each receiver with that receiver's ids (``encode_call``), so a broadcast packs
      its values once.
    * SYNC: each synchronizer's state is packed once a frame (``pack_state``; ON_CHANGE
      values one by one with ``pack_value``, then ``pack_delta``), made an entry once
      for every peer that gets the same bytes (``sync_entry``), the entries of a
      packet are joined once for every peer that gets them all (``sync_body``), and
      only then does each peer's packet get its sequence number (``sync_packet``).

    What a profile must guarantee of the SYNC parts, so that replication can trust
    them without knowing a byte of them (``tests/protocol/test_format.py`` checks
    every registered profile):

    * Same content, same bytes: ``sync_packet(seq, sync_body(A, D))`` is
      ``encode(Sync(seq, always, delta))``, where ``A`` holds
      ``sync_entry(sync_id, pack_state(values))`` for each ``[sync_id, values]`` of
      ``always``, and ``D`` holds ``sync_entry(sync_id, pack_delta(indices,
      packed))`` for each ``[sync_id, [index, value, ...]]`` of ``delta`` (indices
      ascending, at least one; ``packed`` indexed by property, ``pack_value``
      output). ``decode``
      reads it back as that ``Sync`` (with ``seq`` 0 for a delta packet where
      ``delta_packets``; ``seq`` is then taken modulo 2**16), with no help from the
      receiver's configuration: a state's values are all it holds.
    * Entries are independent: any entries, in any grouping and order, make a body
      (where ``delta_packets``: any entries of one kind).
    * ``pack_value`` is a function of the value: equal values give equal bytes, and
      values the receiver would tell apart give different bytes (replication compares
      them to find what changed).
    * ``len(sync_packet(seq, sync_body(A, D)))`` is at most the entries' lengths plus
      ``sync_room``, for ``seq`` below 2**32 and fewer than 65536 entries (replication
      splits state over packets with it).
    * ``state_size`` of a received entry's values is the length of the state they
      were sent as (``pack_state`` or ``pack_delta``): both sides count the same bytes
      per synchronizer.
    """

    # Read-only members: a class attribute, an instance attribute or a property
    # satisfies each; so does a callable attribute satisfy a method.

    @property
    def name(self) -> str:
        """The profile's name, as ``MultiplayerPeer.protocol`` says it."""

    @property
    def relay_growth(self) -> int:
        """How many bytes a SYS RELAY packet may grow when the server forwards it (it
        writes the sender's id where the target's was)."""

    @property
    def peer_lists(self) -> bool:
        """Whether the server may name many peers in one SYS ADD_PEERS (else one
        ADD_PEER each, as Godot)."""

    @property
    def inline_paths(self) -> bool:
        """Whether a path id may be used only once its receiver confirmed it, calls
        naming the node by its path until then; SIMPLIFY_PATH then carries the md5
        of the node's RPC names, CONFIRM_PATH says whether it matched, and there is
        no FORGET_PATH (Godot's). Otherwise a definition always precedes its use on
        the ordered link, and calls never wait."""

    @property
    def sorted_method_ids(self) -> bool:
        """Whether a method id is the method's index among its node's sorted RPC
        names (Godot's), rather than an id defined with SIMPLIFY_NAME."""

    @property
    def awaitable_calls(self) -> bool:
        """Whether REQUEST and RESPONSE exist (``rpc_call``)."""

    @property
    def clock(self) -> bool:
        """Whether PING and PONG exist (round trips, the server's clock)."""

    @property
    def sync_net_ids(self) -> bool:
        """Whether synchronizers are named by net ids, not path ids (Godot's): a SPAWN
        gives one to each synchronizer of the node whose root is the node and whose
        authority is the sender, carries only their state (``Spawn.sync_ids``), and
        SYNC names them by it; a synchronizer without one is named by its path id
        with bit 31 set, and only once the receiver confirmed the path. Otherwise a
        SPAWN carries every synchronizer's state and SYNC names them by path id."""

    @property
    def delta_packets(self) -> bool:
        """Whether ON_CHANGE entries travel in packets of their own, without a sequence
        number, and ALWAYS ones under a 16-bit time that each synchronizer checks
        (Godot's ``update_inbound_sync_time``); otherwise one SYNC carries both kinds
        under a sequence number checked per sender."""

    @property
    def sync_limit(self) -> int:
        """The most bytes of a SYNC packet of ALWAYS entries (0: the peer's limit)."""

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

    # The RPC fast path.

    def encode_call(
        self,
        path_id: int,
        name_id: int,
        packed_args: bytes,
        argc: int,
        path: str | None = None,
        wide: bool = False,
    ) -> bytes:
        """A REMOTE_CALL packet around ``pack_args`` output for ``argc`` arguments:
        naming the node by ``path_id``, or by ``path`` itself; ``wide`` writes the id
        at its widest (both only where ``inline_paths``)."""

    def encode_request(
        self, request_id: int, path_id: int, name_id: int, packed_args: bytes, argc: int
    ) -> bytes:
        """A REQUEST packet, like ``encode_call`` with the request's id."""

    # The SYNC fast path.

    @property
    def sync_room(self) -> int:
        """The most bytes a SYNC packet adds to the entries it carries."""

    def pack_value(self, value: Any) -> bytes:
        """One ON_CHANGE property's value, packed.

        Raises:
            EncodingError: It cannot be sent.
        """

    def pack_state(self, values: list[Any]) -> bytes:
        """The state of an ALWAYS entry: every ALWAYS property's value.

        Raises:
            EncodingError: A value cannot be sent.
        """

    def pack_delta(self, indices: Sequence[int], packed: Sequence[bytes]) -> bytes:
        """The state of an ON_CHANGE entry: the properties at ``indices`` (ascending),
        whose ``pack_value`` output ``packed`` holds, indexed by property.

        Raises:
            EncodingError: The profile cannot name a property that far (Godot: 64).
        """

    def sync_entry(self, path_id: int, state: bytes) -> bytes:
        """One synchronizer's entry: ``state`` for the synchronizer the sender calls
        ``path_id`` (its sync id: see ``sync_net_ids``)."""

    def sync_body(self, always: Sequence[bytes], delta: Sequence[bytes]) -> bytes:
        """The entries of one SYNC packet (ALWAYS, then ON_CHANGE), joined once for
        every peer that gets them.

        Raises:
            ValueError: Entries of both kinds, where ``delta_packets``.
        """

    def sync_packet(self, seq: int, body: bytes) -> bytes:
        """A SYNC packet: ``body`` under sequence number ``seq``."""

    def state_size(self, values: list[Any], *, delta: bool) -> int:
        """How many bytes a received entry's state took: ``values`` are its ALWAYS
        values, or its ``[index, value, ...]`` pairs if ``delta``."""


FormatFactory = Callable[["Codec"], PacketFormat]
"""Builds a profile's format around an API's value codec (usually the class)."""

_FORMATS: dict[str, FormatFactory] = {
    NativeFormat.name: NativeFormat,
    GodotFormat.name: GodotFormat,
}


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
