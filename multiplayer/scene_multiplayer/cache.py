"""Short ids for strings sent often: node paths and method names, per peer.

Godot's SceneCacheInterface replaces a node path with a small id once the receiver
has it. Here the same table also serves method names, so a call carries neither the
path nor the name after the first time (and, unlike Godot, does not depend on both
sides listing the same RPC methods in the same order).

Sending side: the API gives each string one id, from a counter that only grows
until ``clear()``, and remembers which peers were told. A node path's id is retired
when its node leaves the tree (the receivers are told to forget it), so the tables
hold the live nodes, not every node a long session ever had. Receiving side: each peer's
ids are kept apart, so no peer can change what another peer's ids mean, and their
number is capped.
"""

from __future__ import annotations

from ..exceptions import DecodingError

__all__ = ["DEFAULT_MAX_REMOTE_IDS", "IdCache"]

DEFAULT_MAX_REMOTE_IDS = 65536


class IdCache:
    """One table of ids: the ones we assign, and the ones each peer assigned.

    Args:
        kind: What the ids stand for ("path" or "name"), for error messages.
        max_remote_ids: How many ids one peer may define.
    """

    def __init__(self, kind: str, max_remote_ids: int = DEFAULT_MAX_REMOTE_IDS) -> None:
        self.kind = kind
        self.max_remote_ids = max_remote_ids
        self._ids: dict[str, int] = {}
        self._texts: dict[int, str] = {}  # the other way round
        self._last_id = 0
        self._told: dict[int, set[int]] = {}  # id -> peers that were sent it
        self._confirmed: dict[tuple[int, int], bool] = {}  # (id, peer) -> resolved there
        self._remote: dict[int, dict[int, str]] = {}  # peer -> their id -> string

    # Sending side.

    def local_id(self, text: str) -> int:
        """Our id for ``text``, assigned on first use (ids start at 1)."""
        found = self._ids.get(text)
        if found is None:
            self._last_id += 1
            found = self._ids[text] = self._last_id
            self._texts[found] = text
            self._told[found] = set()
        return found

    def id_for(self, text: str, peer: int) -> tuple[int, bool]:
        """Our id for ``text``, and whether ``peer`` is new to it (it is marked told:
        the caller sends the definition)."""
        found = self._ids.get(text)
        if found is None:
            found = self.local_id(text)
        told = self._told[found]
        if peer in told:
            return found, False
        told.add(peer)
        return found, True

    def tell(self, local_id: int, peers: list[int]) -> list[int]:
        """The ``peers`` new to our ``local_id``, now marked told (the caller sends
        them the definition)."""
        told = self._told[local_id]
        if told.issuperset(peers):
            return []
        new = [peer for peer in peers if peer not in told]
        told.update(new)
        return new

    def has_local(self, text: str) -> bool:
        return text in self._ids

    def retire(self, text: str) -> tuple[int, set[int]] | None:
        """Stop using our id for ``text``: (the id, the peers that were told it).

        A later ``local_id(text)`` gives a new id: ids are never reused.
        """
        local_id = self._ids.pop(text, None)
        if local_id is None:
            return None
        del self._texts[local_id]
        told = self._told.pop(local_id)
        self._confirmed = {k: v for k, v in self._confirmed.items() if k[0] != local_id}
        return local_id, told

    def is_told(self, local_id: int, peer: int) -> bool:
        """Whether ``peer`` was sent our ``local_id``."""
        return peer in self._told[local_id]

    def mark_told(self, local_id: int, peer: int) -> None:
        self._told[local_id].add(peer)

    def confirm(self, peer: int, local_id: int, ok: bool) -> bool:
        """Record the receiver's answer; False if the id was never sent to it, or it
        answered already (an honest peer answers each definition once)."""
        if local_id not in self._told or peer not in self._told[local_id]:
            return False
        if (local_id, peer) in self._confirmed:
            return False
        self._confirmed[(local_id, peer)] = ok
        return True

    def is_confirmed(self, local_id: int, peer: int) -> bool | None:
        """True or False once ``peer`` answered for ``local_id``; None before."""
        return self._confirmed.get((local_id, peer))

    def text_of(self, local_id: int) -> str | None:
        return self._texts.get(local_id)

    # Receiving side.

    def define(self, peer: int, remote_id: int, text: str) -> None:
        """``peer`` says its ``remote_id`` means ``text``.

        Raises:
            DecodingError: The id is not positive, was defined already, or the peer
                defined more than ``max_remote_ids``.
        """
        table = self._remote.setdefault(peer, {})
        if remote_id <= 0:
            raise DecodingError(f"{self.kind} id {remote_id} is not positive")
        if remote_id in table:
            raise DecodingError(f"duplicate {self.kind} id {remote_id}")
        if len(table) >= self.max_remote_ids:
            raise DecodingError(f"more than {self.max_remote_ids} {self.kind} ids")
        table[remote_id] = text

    def undefine(self, peer: int, remote_id: int) -> bool:
        """``peer`` stopped using ``remote_id``; False if it never defined it."""
        table = self._remote.get(peer)
        return table is not None and table.pop(remote_id, None) is not None

    def lookup(self, peer: int, remote_id: int) -> str | None:
        """What ``peer``'s ``remote_id`` means, or None if it never said."""
        table = self._remote.get(peer)
        return None if table is None else table.get(remote_id)

    def remote_count(self, peer: int) -> int:
        return len(self._remote.get(peer, ()))

    # Membership.

    def forget_peer(self, peer: int) -> None:
        """``peer`` left: drop its ids and what it was told."""
        self._remote.pop(peer, None)
        for peers in self._told.values():
            peers.discard(peer)
        self._confirmed = {k: v for k, v in self._confirmed.items() if k[1] != peer}

    def clear(self) -> None:
        self._ids.clear()
        self._texts.clear()
        self._last_id = 0
        self._told.clear()
        self._confirmed.clear()
        self._remote.clear()
