"""Every refused packet logged, in a rate-limited form that a peer cannot flood.

Every packet refused because of what a remote peer sent is logged, so nothing is
dropped unseen. A refusal is logged at once the first time its peer, kind and reason
come up; repeats within ``interval`` seconds are counted, and the count is logged
when the interval is over (``flush``, called once a poll): "refused from peer 2:
... (57 more times in 10 s)". A peer gets at most ``lines_per_interval`` lines an
interval; past that its refusals are counted together and summed up in one line, so
varied junk cannot flood the log either. The tables are bounded (the oldest entries
go first), and a peer's entries go when it leaves. Every refusal also counts as one
violation in the peer's budget (see :mod:`.limits`), unless it is a :class:`Race`.

Code that reads a packet refuses it by raising :exc:`Refusal`; ``poll()`` catches it
and logs it against the packet's sender, so a refusal is a value that travels up,
never a string returned beside a result. What an honest peer can send because of a
race with this side (a call for a node freed here meanwhile, a relay to a peer that
just left) raises :exc:`Race`: logged quietly (INFO), never counted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scene_multiplayer import SceneMultiplayer
    from .session import SessionTable

__all__ = ["Race", "Referee", "Refusal", "RefusalLog"]

logger = logging.getLogger("multiplayer.scene")

DEFAULT_MAX_KINDS = 4096
DEFAULT_INTERVAL = 10.0
DEFAULT_LINES_PER_INTERVAL = 20
DEFAULT_MAX_LINES_PER_INTERVAL = 200


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


class Race(Refusal):
    """A packet that cannot be used, but that an honest peer may send because of a
    race with this side: logged quietly, never counted against the peer."""


@dataclass(slots=True)
class _Entry:
    """One (peer, kind, reason): when it was last logged, and repeats since."""

    logged_at: float
    repeats: int = 0
    total: int = 1


@dataclass(slots=True)
class _Lines:
    """One peer's log lines in the current interval, and what was left unlogged."""

    since: float
    lines: int = 0
    unlogged: int = 0


class RefusalLog:
    """Counts refusals per peer, kind and reason, and logs them rate-limited.

    Args:
        logger: Where the lines go.
        max_kinds: How many (peer, kind, reason) entries are remembered.
        interval: Seconds between two lines about the same entry.
        lines_per_interval: The most lines about one peer per interval.
        max_lines_per_interval: The most lines about all peers per interval (a peer
            that reconnects under a new id gets a new budget, this one stays).

    Nothing counted is dropped unseen: what a budget held back is summed up in one
    line when its interval ends, when its peer leaves, or at ``clear()``.
    """

    def __init__(
        self,
        logger: logging.Logger,
        max_kinds: int = DEFAULT_MAX_KINDS,
        interval: float = DEFAULT_INTERVAL,
        lines_per_interval: int = DEFAULT_LINES_PER_INTERVAL,
        max_lines_per_interval: int = DEFAULT_MAX_LINES_PER_INTERVAL,
    ) -> None:
        self._logger = logger
        self._max_kinds = max_kinds
        self.interval = interval
        self.lines_per_interval = lines_per_interval
        self.max_lines_per_interval = max_lines_per_interval
        self._entries: dict[tuple[object, ...], _Entry] = {}
        self._peers: dict[int, _Lines] = {}
        self._all = _Lines(float("-inf"))  # every peer's lines together
        self._totals: dict[tuple[object, ...], int] = {}  # (peer, *kind) -> refusals
        self._next_flush = 0.0

    def refuse(
        self, peer_id: int, kind: tuple[object, ...], reason: str, now: float | None = None
    ) -> None:
        """Record that a packet from ``peer_id`` was refused, and log it if due."""
        self._record("refused from peer %d: %s", logging.WARNING, peer_id, kind, reason, now)

    def note(
        self,
        peer_id: int,
        kind: tuple[object, ...],
        reason: str,
        level: int = logging.WARNING,
        now: float | None = None,
    ) -> None:
        """Record something a packet from ``peer_id`` showed that is no fault of it (a
        race, a difference between the two sides), and log it if due, as refusals
        are: the line says what happened, not that it was refused."""
        self._record("peer %d: %s", level, peer_id, ("note", *kind), reason, now)

    def count(self, peer_id: int, kind: tuple[object, ...]) -> int:
        """How many refusals of ``kind`` from ``peer_id`` were recorded."""
        return self._totals.get((peer_id, *(_short(part) for part in kind)), 0)

    def flush(self, now: float | None = None) -> None:
        """Log the counts of the intervals that are over (called once a poll: it looks
        at its tables at most once a second)."""
        now = time.monotonic() if now is None else now
        if now < self._next_flush or not (self._entries or self._peers):
            return
        self._next_flush = now + min(1.0, self.interval)
        for key, entry in list(self._entries.items()):
            if entry.repeats and now - entry.logged_at >= self.interval:
                peer_id, line, level, reason = _parts(key)
                since, repeats = entry.logged_at, entry.repeats
                entry.logged_at, entry.repeats = now, 0
                if self._may_log(peer_id, now, count=repeats):
                    self._logger.log(
                        level, line + " (%d more times in %.0f s)", peer_id, reason,
                        repeats, now - since,
                    )
        for peer_id, lines in list(self._peers.items()):
            if now - lines.since >= self.interval:
                self._end_interval(peer_id, lines, now)
                del self._peers[peer_id]
        self._end_global(now)

    def forget_peer(self, peer_id: int) -> None:
        """``peer_id`` left: what was held back about it is summed up, then dropped."""
        pending = sum(e.repeats for k, e in self._entries.items() if k[0] == peer_id)
        lines = self._peers.pop(peer_id, None)
        pending += lines.unlogged if lines is not None else 0
        if pending:
            self._logger.warning(
                "peer %d: %d more refusals and notes not logged before it left", peer_id, pending
            )
        for table in (self._entries, self._totals):
            for key in [k for k in table if k[0] == peer_id]:
                del table[key]

    def clear(self) -> None:
        for peer_id in {key[0] for key in self._entries} | set(self._peers):
            assert isinstance(peer_id, int)
            self.forget_peer(peer_id)
        self._end_global(float("inf"))
        self._all = _Lines(float("-inf"))
        self._entries.clear()
        self._totals.clear()
        self._peers.clear()

    def _record(
        self,
        line: str,
        level: int,
        peer_id: int,
        kind: tuple[object, ...],
        reason: str,
        now: float | None,
    ) -> None:
        now = time.monotonic() if now is None else now
        short = tuple(_short(part) for part in kind)
        total_key = (peer_id, *short)
        self._totals[total_key] = self._totals.pop(total_key, 0) + 1  # (most recent last)
        _trim(self._totals, self._max_kinds)
        key = (peer_id, *short, line, level, _short(reason))
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._entries[key] = entry  # re-inserted: the most recent entries are kept
            entry.total += 1
            if now - entry.logged_at < self.interval:
                entry.repeats += 1
                return
        if not self._may_log(peer_id, now):
            if entry is not None:
                entry.repeats += 1
            return
        if entry is None:
            self._entries[key] = entry = _Entry(now)
            _trim(self._entries, self._max_kinds)
        repeats, entry.logged_at, entry.repeats = entry.repeats, now, 0
        if repeats:
            self._logger.log(level, line + " (%d more times before)", peer_id, reason, repeats)
        else:
            self._logger.log(level, line, peer_id, reason)

    def _may_log(self, peer_id: int, now: float, count: int = 1) -> bool:
        """Whether a line about the peer may be logged now (it is then charged to the
        peer's budget and to everyone's); if not, the ``count`` refusals it stood for
        are held back, to be summed up when the interval ends."""
        lines = self._peers.get(peer_id)
        if lines is None or now - lines.since >= self.interval:
            if lines is not None:
                self._end_interval(peer_id, lines, now)
            lines = self._peers[peer_id] = _Lines(now)
        if not self._charge(now) or lines.lines >= self.lines_per_interval:
            lines.unlogged += count
            return False
        lines.lines += 1
        return True

    def _charge(self, now: float) -> bool:
        """Take one line from everyone's budget; False if it is spent."""
        everyone = self._all
        if now - everyone.since >= self.interval:
            self._end_global(now)
            everyone = self._all = _Lines(now)
        if everyone.lines >= self.max_lines_per_interval:
            return False
        everyone.lines += 1
        return True

    def _end_interval(self, peer_id: int, lines: _Lines, now: float) -> None:
        """A peer's interval is over: sum up what it held back in one line (itself
        charged to everyone's budget, else counted there)."""
        if not lines.unlogged:
            return
        if self._charge(now):
            self._logger.warning(
                "peer %d: %d more refusals and notes not logged in the last %.0f s",
                peer_id, lines.unlogged, min(now - lines.since, self.interval),
            )
        else:
            self._all.unlogged += lines.unlogged
        lines.unlogged = 0

    def _end_global(self, now: float) -> None:
        """Everyone's interval is over: sum up what no budget let through."""
        if self._all.unlogged:
            self._logger.warning(
                "%d more refusals and notes not logged: more than %d lines in %.0f s",
                self._all.unlogged, self.max_lines_per_interval, self.interval,
            )
            self._all.unlogged = 0


def _parts(key: tuple[object, ...]) -> tuple[int, str, int, object]:
    """(peer id, line, level, reason) of an entry's key."""
    peer_id, line, level, reason = key[0], key[-3], key[-2], key[-1]
    assert isinstance(peer_id, int) and isinstance(line, str) and isinstance(level, int)
    return peer_id, line, level, reason


def _trim(table: dict[tuple[object, ...], Any], limit: int) -> None:
    """Drop the oldest entries past ``limit`` (they were re-inserted when used)."""
    while len(table) > limit:
        del table[next(iter(table))]


class Referee:
    """Logs refused packets, and disconnects a client that earned it (one per API).

    Only the server disconnects: a client never drops the server for what other
    clients had it relay. Every peer the server knows is its direct neighbour.
    """

    def __init__(self, api: SceneMultiplayer, sessions: SessionTable, log: RefusalLog) -> None:
        self._api = api
        self._sessions = sessions
        self._log = log

    def judge(self, sender: int, refusal: Refusal) -> None:
        """A packet from ``sender`` was refused: a :class:`Race` is logged quietly and
        not counted; anything else is ``refuse``d."""
        if isinstance(refusal, Race):
            self._log.note(sender, refusal.kind, refusal.reason, level=logging.INFO)
        else:
            self.refuse(sender, refusal.kind, refusal.reason)

    def refuse(self, sender: int, kind: tuple[object, ...], reason: str) -> None:
        """Log a refused packet (rate-limited: see :class:`RefusalLog`), and
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
