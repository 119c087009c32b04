"""Sets of peer ids that cost a bit per peer: which peers were told a path, have a
spawned node, answered a definition.

A server keeps such a set for every path and every spawned node, so their memory
is per (peer, object) pair: with Python sets of ints, about 80 bytes a pair, 80 KiB
per client for 1,000 objects, more than the client's connection. Here each set is
one integer used as a bitmask, and each peer a bit: a thousand peers take 128 bytes
per set.

The bits are handed out by a :class:`PeerSlots` shared by the sets of one owner.
When a peer leaves, ``release`` clears its bit in every set made with those slots
before the bit can go to another peer, so a newcomer never inherits what a former
peer had.
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Iterable, Iterator, Set

__all__ = ["PeerSet", "PeerSlots"]


class PeerSlots:
    """The bit of each peer, for the :class:`PeerSet` objects made with it."""

    __slots__ = ("_bits", "_free", "_ids", "_sets", "_slot_of")

    def __init__(self) -> None:
        self._slot_of: dict[int, int] = {}
        self._ids: list[int] = []  # slot -> peer id (0: free)
        self._bits: list[int] = []  # slot -> 1 << slot (made once)
        self._free: list[int] = []  # a heap: the lowest free slot goes first
        # Every live set made with these slots, by id (a PeerSet, like a set, is not
        # hashable); a set that is collected leaves it.
        self._sets: weakref.WeakValueDictionary[int, PeerSet] = weakref.WeakValueDictionary()

    def bit(self, peer_id: int) -> int:
        """``peer_id``'s bit, given it if it has none."""
        slot = self._slot_of.get(peer_id)
        if slot is None:
            slot = self._take(peer_id)
        return self._bits[slot]

    def bit_if_any(self, peer_id: int) -> int:
        """``peer_id``'s bit, or 0 if it has none (then no set holds it)."""
        slot = self._slot_of.get(peer_id)
        return 0 if slot is None else self._bits[slot]

    def _take(self, peer_id: int) -> int:
        if self._free:
            slot = heapq.heappop(self._free)
            self._ids[slot] = peer_id
        else:
            slot = len(self._ids)
            self._ids.append(peer_id)
            self._bits.append(1 << slot)
        self._slot_of[peer_id] = slot
        return slot

    def release(self, peer_id: int) -> None:
        """``peer_id`` is gone: it leaves every set, and its bit is free again."""
        slot = self._slot_of.pop(peer_id, None)
        if slot is None:
            return
        keep = ~self._bits[slot]
        for peer_set in self._sets.values():
            peer_set._mask &= keep
        self._ids[slot] = 0
        heapq.heappush(self._free, slot)

    def clear(self) -> None:
        """Every peer is gone."""
        for peer_id in list(self._slot_of):
            self.release(peer_id)

    def ids(self, mask: int) -> Iterator[int]:
        """The peer ids of the bits set in ``mask``, lowest slot first."""
        ids = self._ids
        while mask:
            low = mask & -mask
            yield ids[low.bit_length() - 1]
            mask ^= low

    def mask_of(self, peer_ids: Iterable[int]) -> int:
        """The bits of ``peer_ids``, given to those that have none (a mask for
        ``PeerSet.covers``, so every peer of it must count)."""
        mask = 0
        bit = self.bit
        for peer_id in peer_ids:
            mask |= bit(peer_id)
        return mask


class PeerSet(Set[int]):
    """A set of peer ids: a read-only ``Set`` (it compares equal to a ``set`` of the
    same ids), with ``add``, ``discard``, ``update`` and ``clear``."""

    __slots__ = ("__weakref__", "_mask", "_slots")

    def __init__(self, slots: PeerSlots, peer_ids: Iterable[int] = ()) -> None:
        self._slots = slots
        self._mask = 0
        slots._sets[id(self)] = self
        self.update(peer_ids)

    # (__contains__ and issuperset are on every RPC's path: no call inside)

    def __contains__(self, peer_id: object) -> bool:
        slots = self._slots
        slot = slots._slot_of.get(peer_id) if isinstance(peer_id, int) else None
        return slot is not None and bool(self._mask & slots._bits[slot])

    def __iter__(self) -> Iterator[int]:
        return self._slots.ids(self._mask)

    def __len__(self) -> int:
        return self._mask.bit_count()

    def __bool__(self) -> bool:
        return bool(self._mask)

    def __repr__(self) -> str:
        return f"PeerSet({sorted(self)})"

    def add(self, peer_id: int) -> None:
        self._mask |= self._slots.bit(peer_id)

    def discard(self, peer_id: int) -> None:
        self._mask &= ~self._slots.bit_if_any(peer_id)

    def update(self, peer_ids: Iterable[int]) -> None:
        bit = self._slots.bit
        mask = self._mask
        for peer_id in peer_ids:
            mask |= bit(peer_id)
        self._mask = mask

    def covers(self, mask: int) -> bool:
        """Whether every peer of ``mask`` (from ``PeerSlots.mask_of``) is in the set:
        for a check repeated over many sets, the mask is made once."""
        return self._mask & mask == mask

    def among(self, mask: int) -> list[int]:
        """The peers of ``mask`` that are in the set."""
        return list(self._slots.ids(mask & self._mask))

    def lacking(self, mask: int) -> list[int]:
        """The peers of ``mask`` that are not in the set."""
        return list(self._slots.ids(mask & ~self._mask))

    def issuperset(self, peer_ids: Iterable[int]) -> bool:
        """Whether every one of ``peer_ids`` is in the set."""
        slot_of, bits = self._slots._slot_of, self._slots._bits
        mask = self._mask
        for peer_id in peer_ids:
            slot = slot_of.get(peer_id)
            if slot is None or not mask & bits[slot]:
                return False
        return True

    def clear(self) -> None:
        self._mask = 0
