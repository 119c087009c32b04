"""What went to and came from each peer: Godot's profiler shows the bandwidth of a
multiplayer session; these counters are that, per peer, for a program to read.

``Counts`` are a link's running counters (bumped on the hot path: plain ints on a
slotted object). ``PeerStats`` is a snapshot, for one peer or the sum of all (those
gone included), from ``get_peer_stats(peer_id)`` and ``get_stats()``.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Counts", "PeerStats"]


class Counts:
    """A link's running counters (see :class:`PeerStats` for what each counts)."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "messages_in",
        "messages_out",
        "packets_in",
        "packets_out",
    )

    def __init__(self) -> None:
        self.messages_in = self.bytes_in = self.packets_in = 0
        self.messages_out = self.bytes_out = self.packets_out = 0

    def received(self, size: int, packets: int) -> None:
        """A data message of ``size`` bytes came, with ``packets`` packets."""
        self.messages_in += 1
        self.bytes_in += size
        self.packets_in += packets

    def sent(self, packets: int, messages: list[bytes]) -> None:
        """``packets`` packets went, as ``messages``."""
        self.packets_out += packets
        self.messages_out += len(messages)
        self.bytes_out += sum(map(len, messages))

    def add(self, other: Counts) -> None:
        """Add ``other``'s counts to these (a link that is gone, to the peer's)."""
        self.messages_in += other.messages_in
        self.bytes_in += other.bytes_in
        self.packets_in += other.packets_in
        self.messages_out += other.messages_out
        self.bytes_out += other.bytes_out
        self.packets_out += other.packets_out

    def snapshot(self) -> PeerStats:
        return PeerStats(
            self.messages_in,
            self.bytes_in,
            self.packets_in,
            self.messages_out,
            self.bytes_out,
            self.packets_out,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PeerStats:
    """Counters of one peer (or of all): data messages and packets each way.

    A packet is what ``put_packet`` put (an RPC, a sync, a spawn); a message is a
    WebSocket message, which carries one packet or, coalesced, several. Bytes are
    the messages' payloads (WebSocket's own frame headers, 2 to 14 bytes a message,
    are not counted). A resumable link's acknowledgements are not data: not counted.
    """

    messages_in: int = 0
    bytes_in: int = 0
    packets_in: int = 0
    messages_out: int = 0
    bytes_out: int = 0
    packets_out: int = 0

    @property
    def coalesced(self) -> int:
        """Packets sent that shared a message with others (saved messages)."""
        return max(0, self.packets_out - self.messages_out)
