"""Every refused packet logged, in a rate-limited form that a peer cannot flood.

Every packet refused because of what a remote peer sent is logged, so nothing is
dropped unseen. A refusal is logged at once the first time its peer and kind come
up; repeats within ``interval`` seconds are counted, and the count is logged when the
interval is over (``flush``, called once a poll): "refused from peer 2: ... (57 more
times in 10 s)", or "(57 more of this kind in 10 s)" with the last reason when they
differed. Only the first part of a kind, a word of the code's, tells kinds apart:
the rest, and the reason, may hold what the peer sent (a path, a name, a number, the
decoder's view of its bytes), and a peer that varies them gets no more lines for it.
A peer gets at most ``lines_per_interval`` lines an interval, and all peers together
``max_lines_per_interval`` (a peer that reconnects gets a new id, not more room);
past that, refusals are counted and summed up in one line, when the interval ends or
the peer leaves, itself charged to the budgets. The tables are bounded (the oldest
entries go first, their counts kept for the summaries), and a peer's entries go
when it leaves. Every refusal also counts as one violation in the peer's budget
(see :mod:`.limits`), unless it is a :class:`Race`.

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
    from .session import PeerSession, SessionTable

__all__ = ["Race", "Referee", "Refusal", "RefusalLog"]

logger = logging.getLogger("multiplayer.scene")

DEFAULT_MAX_KINDS = 4096
DEFAULT_INTERVAL = 10.0
DEFAULT_LINES_PER_INTERVAL = 20
DEFAULT_MAX_LINES_PER_INTERVAL = 200
_SHORT = 200  # characters of a kind's part kept for its key
_MORE_SAME = " (%d more times in %.0f s)"
_MORE_VARIED = " (%d more of this kind in %.0f s)"  # (the line shows the last reason)


class Refusal(Exception):
    """A packet is refused because of what its sender sent; never escapes ``poll()``.

    Args:
        kind: What was wrong, for counting repeats: a word of the code's first
            (what the log tells kinds apart by), then any details (they may hold
            text from the network: keep them short).
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
    """One (peer, kind): when it was last logged, and repeats since (the reason of
    the last one, and whether any differed from the one logged)."""

    logged_at: float
    reason: str
    repeats: int = 0
    total: int = 1
    varied: bool = False

    def repeat(self, reason: str) -> None:
        self.repeats += 1
        if reason != self.reason:
            self.reason, self.varied = reason, True

    def logged(self, now: float, reason: str) -> tuple[int, bool]:
        """It is being logged (with ``reason``): the repeats it had, and whether
        they varied; the count starts again."""
        repeats, varied = self.repeats, self.varied
        self.logged_at, self.reason, self.repeats, self.varied = now, reason, 0, False
        return repeats, varied


@dataclass(slots=True)
class _Lines:
    """One peer's log lines in the current interval, and what was left unlogged."""

    since: float
    lines: int = 0
    unlogged: int = 0


class RefusalLog:
    """Counts refusals per peer and kind, and logs them rate-limited.

    Args:
        logger: Where the lines go.
        max_kinds: How many (peer, kind) entries are remembered.
        interval: Seconds between two lines about the same entry.
        lines_per_interval: The most lines about one peer per interval.
        max_lines_per_interval: The most lines about all peers per interval (a peer
            that reconnects under a new id gets a new budget, this one stays).

    Nothing counted is dropped unseen: what a budget held back is summed up in one
    line when its interval ends, when its peer leaves, or at ``clear()`` (and what
    everyone's budget held back, those lines included, in one line an interval).
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
        self._entries: dict[tuple[object, ...], _Entry] = {}  # (peer, kind[0], line, level)
        self._peers: dict[int, _Lines] = {}
        self._all = _Lines(float("-inf"))  # every peer's lines together
        self._totals: dict[tuple[object, ...], int] = {}  # (peer, *kind) -> refusals
        self._next_flush = 0.0
        self._refused: dict[int, int] = {}  # per peer (see refused); forgotten as it leaves

    def refuse(
        self, peer_id: int, kind: tuple[object, ...], reason: str, now: float | None = None
    ) -> None:
        """Record that a packet from ``peer_id`` was refused, and log it if due."""
        self._refused[peer_id] = self._refused.get(peer_id, 0) + 1
        self._record("refused from peer %d: %s", logging.WARNING, peer_id, kind, reason, now)

    def refused(self, peer_id: int) -> int:
        """How many packets from ``peer_id`` were refused (of every kind)."""
        return self._refused.get(peer_id, 0)

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
        self._record("peer %d: %s", level, peer_id, kind, reason, now, counted_as="note")

    def count(self, peer_id: int, kind: tuple[object, ...]) -> int:
        """How many refusals of ``kind`` from ``peer_id`` were recorded."""
        return self._totals.get((peer_id, *(_short(part) for part in kind)), 0)

    def flush(self, now: float | None = None) -> None:
        """Log the counts of the intervals that are over (called once a poll: it looks
        at its tables at most once a second)."""
        now = time.monotonic() if now is None else now
        if now < self._next_flush or not (self._entries or self._peers or self._all.unlogged):
            return
        self._next_flush = now + min(1.0, self.interval)
        for key, entry in list(self._entries.items()):
            if entry.repeats and now - entry.logged_at >= self.interval:
                self._log_repeats(key, entry, now)
        for peer_id, lines in list(self._peers.items()):
            if now - lines.since >= self.interval:
                self._end_interval(peer_id, lines, now)
                del self._peers[peer_id]
        if now - self._all.since >= self.interval:  # (one summary an interval)
            self._end_global(now)
            self._all = _Lines(now)

    def _log_repeats(self, key: tuple[object, ...], entry: _Entry, now: float) -> None:
        """The interval of an entry with repeats is over: log their count (with the
        last reason, if they differed from the one logged)."""
        peer_id, line, level = _parts(key)
        since, reason = entry.logged_at, entry.reason
        repeats, varied = entry.logged(now, reason)
        if self._may_log(peer_id, now, count=repeats):
            more = _MORE_VARIED if varied else _MORE_SAME
            self._logger.log(level, line + more, peer_id, reason, repeats, now - since)

    def forget_peer(self, peer_id: int, now: float | None = None) -> None:
        """``peer_id`` left: what was held back about it is summed up (in one line,
        charged to everyone's budget, else counted there), then dropped."""
        pending = sum(e.repeats for k, e in self._entries.items() if k[0] == peer_id)
        lines = self._peers.pop(peer_id, None)
        pending += lines.unlogged if lines is not None else 0
        if pending and self._charge(time.monotonic() if now is None else now):
            self._logger.warning(
                "peer %d: %d more refusals and notes not logged before it left", peer_id, pending
            )
        elif pending:
            self._all.unlogged += pending
        for table in (self._entries, self._totals):
            for key in [k for k in table if k[0] == peer_id]:
                del table[key]
        self._refused.pop(peer_id, None)

    def clear(self) -> None:
        now = time.monotonic()
        for peer_id in {key[0] for key in self._entries} | set(self._peers):
            assert isinstance(peer_id, int)
            self.forget_peer(peer_id, now)
        self._end_global(float("inf"))
        self._all = _Lines(float("-inf"))
        self._entries.clear()
        self._totals.clear()
        self._peers.clear()
        self._refused.clear()

    def _record(
        self,
        line: str,
        level: int,
        peer_id: int,
        kind: tuple[object, ...],
        reason: str,
        now: float | None,
        counted_as: str = "",
    ) -> None:
        now = time.monotonic() if now is None else now
        self._count(peer_id, (counted_as, *kind) if counted_as else kind)
        # Only the kind's first part, the code's word, makes the key: the rest, and
        # the reason, may come from the peer, which must not get a line per variant.
        key = (peer_id, _short(kind[0]) if kind else None, line, level)
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._entries[key] = entry  # re-inserted: the most recent entries are kept
            entry.total += 1
            if now - entry.logged_at < self.interval:
                entry.repeat(reason)
                return
        if not self._may_log(peer_id, now):
            if entry is not None:
                entry.repeat(reason)
            return
        if entry is None:
            self._entries[key] = entry = _Entry(now, reason)
            self._trim_entries()
        repeats, varied = entry.logged(now, reason)
        if repeats:
            more = " (%d more of this kind before)" if varied else " (%d more times before)"
            self._logger.log(level, line + more, peer_id, reason, repeats)
        else:
            self._logger.log(level, line, peer_id, reason)

    def _count(self, peer_id: int, kind: tuple[object, ...]) -> None:
        """Count a refusal (or note) of ``kind`` for :meth:`count`."""
        total_key = (peer_id, *(_short(part) for part in kind))
        self._totals[total_key] = self._totals.pop(total_key, 0) + 1  # (most recent last)
        _trim(self._totals, self._max_kinds)

    def _trim_entries(self) -> None:
        """Drop the oldest entries past ``max_kinds``; the repeats they held go to
        their peer's count of what was not logged, summed up at the interval's end."""
        entries = self._entries
        while len(entries) > self._max_kinds:
            key = next(iter(entries))
            entry = entries.pop(key)
            lines = self._peers.get(key[0])  # type: ignore[call-overload]
            if entry.repeats and lines is not None:
                lines.unlogged += entry.repeats
            elif entry.repeats:
                self._all.unlogged += entry.repeats

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
                peer_id,
                lines.unlogged,
                min(now - lines.since, self.interval),
            )
        else:
            self._all.unlogged += lines.unlogged
        lines.unlogged = 0

    def _end_global(self, now: float) -> None:
        """Everyone's interval is over: sum up what no budget let through."""
        if self._all.unlogged:
            self._logger.warning(
                "%d more refusals and notes not logged: more than %d lines in %.0f s",
                self._all.unlogged,
                self.max_lines_per_interval,
                self.interval,
            )
            self._all.unlogged = 0


def _parts(key: tuple[object, ...]) -> tuple[int, str, int]:
    """(peer id, line, level) of an entry's key."""
    peer_id, _, line, level = key
    assert isinstance(peer_id, int) and isinstance(line, str) and isinstance(level, int)
    return peer_id, line, level


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
            self._kick(session, "too many invalid packets")

    def over_time_budget(self, sender: int) -> None:
        """The packets of ``sender`` went over its time budget (see :mod:`.limits`):
        it is throttled, or disconnected if it was over it before, within the
        violation window. (The server only: a client's budget never runs.)"""
        session = self._sessions.all.get(sender)
        if session is None or session.kicked or session.leaving:
            return
        budget = session.budget
        limits = budget.limits
        if budget.overrun(time.monotonic()):
            logger.warning(
                "peer %d: its packets took more than %g s of this side's time a second "
                "(cpu_per_second) again within %s s: disconnecting it",
                sender,
                limits.cpu_per_second,
                limits.violation_window,
            )
            self._kick(session, "packets too costly to read")
            return
        reason = (
            f"its packets took more than {limits.cpu_per_second:g} s of this side's time "
            "a second (cpu_per_second): they are dropped until it is back within it"
        )
        self._log.note(sender, ("time budget",), reason)

    def _kick(self, session: PeerSession, reason: str) -> None:
        session.kicked = True
        peer = self._api.multiplayer_peer
        if peer is not None:
            peer.kick_peer(session.peer_id, reason)


def _short(part: object) -> object:
    # A key part may come from the network (a path, a name): keep it small.
    return part[:_SHORT] if isinstance(part, str) else part
