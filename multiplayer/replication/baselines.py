"""What a synchronizer's authority remembers of the state it sends.

Godot keeps this on each MultiplayerSynchronizer (``last_sync_usec``, its watchers'
``last_change_usec``) and, per peer, in the replication interface's
``PeerInfo.last_watch_usecs``. Here it is one :class:`Outgoing` record per
synchronizer: when its sends were last due, its ON_CHANGE values as last packed, the
check at which each one last changed, and the check each peer has (its baseline).

A peer without a baseline (-1) gets every ON_CHANGE value in its next delta. That
is how a peer that joins, sees the synchronizer again, or gets its node spawned
anew catches up: Godot's "the first send includes every watched property".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .synchronizer import MultiplayerSynchronizer

__all__ = ["Baselines", "Outgoing"]


@dataclass(slots=True)
class Outgoing:
    """What the authority remembers of one synchronizer."""

    # When the last send was due, which is not when it went: see sync_sender.advance.
    last_always: float = float("-inf")
    last_delta: float = float("-inf")
    packed: list[bytes] = field(default_factory=list)  # ON_CHANGE values, packed
    values: list[Any] = field(default_factory=list)  # the objects that were packed
    changed_at: list[int] = field(default_factory=list)  # check number of last change
    checks: int = 0
    last_change: int = 0  # the latest of changed_at
    # The check each peer has: got_all, unless got says otherwise for that peer. When
    # every peer has every update (the usual case) got is empty, so one number is read
    # and moved for all peers, whatever their count.
    got_all: int = -1
    got: dict[int, int] = field(default_factory=dict)

    def reset(self, peer_id: int) -> None:
        """``peer_id`` gets all of the state next time (it has none of it)."""
        if self.got_all == -1:
            self.got.pop(peer_id, None)
        else:
            self.got[peer_id] = -1


class Baselines:
    """The :class:`Outgoing` record of every synchronizer registered here.

    Attributes:
        records: Synchronizer -> its record, in registration order (the order of
            entries in SYNC packets). The sender reads it directly: it is walked
            every network frame.
    """

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: dict[MultiplayerSynchronizer, Outgoing] = {}

    def __len__(self) -> int:
        return len(self.records)

    def add(self, sync: MultiplayerSynchronizer) -> None:
        self.records[sync] = Outgoing()

    def remove(self, sync: MultiplayerSynchronizer) -> None:
        self.records.pop(sync, None)

    def reset(self, sync: MultiplayerSynchronizer, peer_id: int) -> None:
        """``peer_id`` has none of ``sync``'s state (it got a new copy of its node)."""
        out = self.records.get(sync)
        if out is not None:
            out.reset(peer_id)

    def reset_peer(self, peer_id: int) -> None:
        """``peer_id`` has none of any synchronizer's state (it just joined)."""
        for out in self.records.values():
            out.reset(peer_id)

    def forget_peer(self, peer_id: int) -> None:
        """``peer_id`` left. (``got_all`` speaks of the peers still here: unchanged.)"""
        for out in self.records.values():
            out.got.pop(peer_id, None)

    def clear(self) -> None:
        """No peer has anything (this side disconnected); the values stay known."""
        for out in self.records.values():
            out.got.clear()
            out.got_all = -1
