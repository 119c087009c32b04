"""One log line per kind of refused packet, not one per packet.

Every packet refused because of what a remote peer sent is logged, so nothing is
dropped unseen; but a peer that repeats itself must not flood the log. The first
refusal of a kind (peer, reason) is logged; repeats are counted and logged at the
10th, 100th, 1000th… The table is bounded: the oldest kinds are forgotten first, and
a peer's kinds go when it leaves. (Issue #4's violation counting will build on it.)
"""

from __future__ import annotations

import logging

__all__ = ["RefusalLog"]

DEFAULT_MAX_KINDS = 4096


class RefusalLog:
    """Counts refusals per (peer, kind) and decides which ones to log."""

    def __init__(self, logger: logging.Logger, max_kinds: int = DEFAULT_MAX_KINDS) -> None:
        self._logger = logger
        self._max_kinds = max_kinds
        self._counts: dict[tuple[object, ...], int] = {}

    def refuse(self, peer_id: int, kind: tuple[object, ...], reason: str) -> None:
        """Record that a packet from ``peer_id`` was refused, and log it if due."""
        key = (peer_id, *(_short(part) for part in kind))
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count  # re-inserted: the most recent kinds are kept
        if len(self._counts) > self._max_kinds:
            del self._counts[next(iter(self._counts))]
        if count == 1:
            self._logger.warning("refused from peer %d: %s", peer_id, reason)
        elif _is_power_of_ten(count):
            self._logger.warning("refused from peer %d: %s (%d times)", peer_id, reason, count)

    def count(self, peer_id: int, kind: tuple[object, ...]) -> int:
        return self._counts.get((peer_id, *(_short(part) for part in kind)), 0)

    def forget_peer(self, peer_id: int) -> None:
        for key in [k for k in self._counts if k[0] == peer_id]:
            del self._counts[key]

    def clear(self) -> None:
        self._counts.clear()


def _short(part: object) -> object:
    # A key part may come from the network (a path, a name): keep it small.
    return part[:200] if isinstance(part, str) else part


def _is_power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1
