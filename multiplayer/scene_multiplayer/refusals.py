"""One log line per kind of refused packet, not one per packet.

Every packet refused because of what a remote peer sent is logged, so nothing is
dropped unseen; but a peer that repeats itself must not flood the log. The first
refusal of a kind (peer, reason) is logged; repeats are counted and logged at the
10th, 100th, 1000th… The table is bounded: the oldest kinds are forgotten first, and
a peer's kinds go when it leaves. Every refusal also counts as one violation in the
peer's budget (see :mod:`.limits`).

Code that reads a packet refuses it by raising :exc:`Refusal`; ``poll()`` catches it
and logs it against the packet's sender, so a refusal is a value that travels up,
never a string returned beside a result.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .scene_multiplayer import SceneMultiplayer
    from .session import SessionTable

__all__ = ["Referee", "Refusal", "RefusalLog"]

logger = logging.getLogger("multiplayer.scene")

DEFAULT_MAX_KINDS = 4096


class Refusal(Exception):
    """A packet is refused because of what its sender sent; never escapes ``poll()``.

    Args:
        kind: What was wrong, for counting repeats (it may hold text from the
            network: keep it short).
        reason: The log line's text.
    """

    def __init__(self, kind: tuple[object, ...], reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class RefusalLog:
    """Counts refusals per (peer, kind) and decides which ones to log."""

    def __init__(self, logger: logging.Logger, max_kinds: int = DEFAULT_MAX_KINDS) -> None:
        self._logger = logger
        self._max_kinds = max_kinds
        self._counts: dict[tuple[object, ...], int] = {}

    def refuse(self, peer_id: int, kind: tuple[object, ...], reason: str) -> None:
        """Record that a packet from ``peer_id`` was refused, and log it if due."""
        self._log("refused from peer %d: %s", peer_id, kind, reason)

    def note(self, peer_id: int, kind: tuple[object, ...], reason: str) -> None:
        """Record something a packet from ``peer_id`` showed that is no fault of it (a
        race, a difference between the two sides), and log it if due, as refusals
        are: the line says what happened, not that it was refused."""
        self._log("peer %d: %s", peer_id, ("note", *kind), reason)

    def _log(self, line: str, peer_id: int, kind: tuple[object, ...], reason: str) -> None:
        key = (peer_id, *(_short(part) for part in kind))
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count  # re-inserted: the most recent kinds are kept
        if len(self._counts) > self._max_kinds:
            del self._counts[next(iter(self._counts))]
        if count == 1:
            self._logger.warning(line, peer_id, reason)
        elif _is_power_of_ten(count):
            self._logger.warning(line + " (%d times)", peer_id, reason, count)

    def count(self, peer_id: int, kind: tuple[object, ...]) -> int:
        return self._counts.get((peer_id, *(_short(part) for part in kind)), 0)

    def forget_peer(self, peer_id: int) -> None:
        for key in [k for k in self._counts if k[0] == peer_id]:
            del self._counts[key]

    def clear(self) -> None:
        self._counts.clear()


class Referee:
    """Logs refused packets, and disconnects a client that earned it (one per API).

    Only the server disconnects: a client never drops the server for what other
    clients had it relay. Every peer the server knows is its direct neighbour.
    """

    def __init__(self, api: SceneMultiplayer, sessions: SessionTable, log: RefusalLog) -> None:
        self._api = api
        self._sessions = sessions
        self._log = log

    def refuse(self, sender: int, kind: tuple[object, ...], reason: str) -> None:
        """Log a refused packet (the first of its kind, then at 10, 100, 1000…), and
        disconnect its sender once it has too many violations."""
        self._log.refuse(sender, kind, reason)
        api = self._api
        if not api.is_server():
            return
        session = self._sessions.all.get(sender)
        if session is None or session.kicked or session.leaving:
            # Not a peer we keep books on, or already on its way out: a leaver's last
            # packets are still read after the transport forgot it, and cannot be kicked.
            return
        if session.budget.violation(time.monotonic()):
            limits = session.budget.limits
            logger.warning(
                "peer %d: more than %d refused packets within %s s: disconnecting it",
                sender,
                limits.max_violations,
                limits.violation_window,
            )
            session.kicked = True
            peer = api.multiplayer_peer
            if peer is not None:
                peer.kick_peer(sender, "too many invalid packets")


def _short(part: object) -> object:
    # A key part may come from the network (a path, a name): keep it small.
    return part[:200] if isinstance(part, str) else part


def _is_power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1
