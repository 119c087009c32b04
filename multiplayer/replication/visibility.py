"""Which peers see a synchronizer, each visibility filter asked once per peer and frame.

The rule is the synchronizer's own (:meth:`MultiplayerSynchronizer.is_visible_to`,
Godot's: every filter agrees, then public or made visible to that peer). Godot asks
the filters again every frame (``VISIBILITY_PROCESS_IDLE``) and again for each use;
a filter may be costly (a distance check per peer), so here the answer of a frame's
evaluation is kept until that frame's state has gone, and the spawn checks and the
sending of that frame both use it. Outside a network frame nothing is kept: filters
may say otherwise by the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .synchronizer import MultiplayerSynchronizer

__all__ = ["Visibility"]


class Visibility:
    """Visibility answers of the current network frame."""

    __slots__ = ("_in_frame", "_memo")

    def __init__(self) -> None:
        # synchronizer -> the peers that see it (None: all of them)
        self._memo: dict[MultiplayerSynchronizer, set[int] | None] = {}
        self._in_frame = False

    def begin_frame(self) -> None:
        """State is being sent: keep the answers until :meth:`end_frame`."""
        self._in_frame = True

    def end_frame(self) -> None:
        self._in_frame = False
        self._memo.clear()

    def among(self, sync: MultiplayerSynchronizer, peers: list[int]) -> set[int] | None:
        """The peers of ``peers`` that see ``sync`` (None: all of them)."""
        memo = self._memo
        if sync in memo:
            return memo[sync]
        return sync._visible_among(peers)

    def sees(self, sync: MultiplayerSynchronizer, peer_id: int) -> bool:
        """Whether ``peer_id`` sees ``sync``."""
        memo = self._memo
        if sync in memo:
            visible = memo[sync]
            return visible is None or peer_id in visible
        return sync.is_visible_to(peer_id)

    def evaluate(
        self, sync: MultiplayerSynchronizer, for_peer: int, peers: list[int]
    ) -> set[int] | None:
        """Ask again after ``sync``'s visibility changed for ``for_peer`` (0: for the
        whole of ``peers``): the peers that see it now (None: all of them). Call
        :meth:`settle` once the change has been acted on."""
        if for_peer == 0:
            self._memo[sync] = visible = sync._visible_among(peers)
            return visible
        self._memo.pop(sync, None)  # one peer's flag changed: the filters decide anew
        return None if sync.is_visible_to(for_peer) else set()

    def settle(self, sync: MultiplayerSynchronizer) -> None:
        """A change of ``sync`` was acted on: outside a frame, forget the answer."""
        if not self._in_frame:
            self._memo.pop(sync, None)

    def forget(self, sync: MultiplayerSynchronizer) -> None:
        """``sync`` left: its answer goes with it."""
        self._memo.pop(sync, None)
