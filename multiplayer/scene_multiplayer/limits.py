"""Per-peer budgets: how fast a peer may send, what its packets may cost, and how
many refusals it may earn.

Three rules protect a server from one bad client without slowing the others:

* **Rate.** Each peer has a budget of packets and of bytes per second (token buckets
  holding one second's worth). A packet over budget is dropped unread, which counts
  as a violation. Generous by default; 0 turns a limit off.
* **Time.** Each peer has a budget of the server's time: ``cpu_per_second`` seconds
  a second of decoding and dispatching its packets (a token bucket holding one
  second's worth; the time the application's own RPC handlers take is not counted).
  Of it, a peer's packets may take a tenth (:data:`POLL_SHARE`) in one poll: past
  that, the poll stops reading, and what is left, everyone's, waits
  for the next poll, so that one peer cannot hold the event loop for long. A peer
  that goes over the budget is *throttled*: its packets are dropped unread, each a
  violation, until the budget has refilled. One that goes over it again within
  ``violation_window`` is disconnected with close code 1008. Packets within every
  size limit can still cost much to read (a megabyte of empty maps is refused only
  once its ``max_objects`` are built): this bounds what one peer takes from the
  others, whatever its packets are made of. 0 turns it off.
* **Violations.** Every refused packet (malformed, not allowed, over the rate...)
  is a violation. A peer with more than ``max_violations`` within
  ``violation_window`` seconds is disconnected with close code 1008.

Plain bookkeeping with the caller's clock; SceneMultiplayer acts on the answers.
Godot has none of these rules: its server reads whatever a client sends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["OVER_BUDGET", "POLL_SHARE", "SHARE_USED", "Budget", "RateLimits"]

POLL_SHARE = 0.1
"""The part of its ``cpu_per_second`` a peer's packets may take in one poll: a
tenth of a second's worth."""

SHARE_USED = 1
"""What :meth:`Budget.charge` says when the peer had its share of this poll."""
OVER_BUDGET = 2
"""What :meth:`Budget.charge` says when the peer just went over its time budget."""


@dataclass(slots=True)
class RateLimits:
    """The settings, shared by all peers of one API (changes apply at once)."""

    packets_per_second: float = 5000.0
    bytes_per_second: float = 8 * 1024 * 1024
    max_violations: int = 25
    violation_window: float = 10.0
    cpu_per_second: float = 0.05
    """Seconds of the server's time a peer's packets may take a second (see the
    module docstring; 0 is off)."""

    def active(self) -> bool:
        """Whether a rate limit is on (else every packet is within budget)."""
        return bool(self.packets_per_second or self.bytes_per_second)


class Budget:
    """One peer's token buckets and recent violations.

    The buckets start full at the peer's first packet, so a new peer may send one
    second's worth at once.
    """

    __slots__ = (
        "_bytes",
        "_cpu",
        "_cpu_last",
        "_last",
        "_overrun_at",
        "_packets",
        "_poll",
        "_poll_spent",
        "_violations",
        "limits",
        "throttled",
    )

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._packets = 0.0
        self._bytes = 0.0
        self._last: float | None = None
        self._cpu = 0.0
        self._cpu_last: float | None = None
        self.throttled = False
        """Over its time budget: its packets are dropped until :meth:`recovered`."""
        self._overrun_at = float("-inf")  # when it last went over its time budget
        self._poll = -1  # the poll its time was last charged in, and how much then
        self._poll_spent = 0.0
        # Made at the first violation: most peers never have one, and an empty
        # deque costs 760 bytes (every connected peer has a Budget).
        self._violations: deque[float] | None = None

    def allow(self, size: int, now: float) -> bool:
        """Take one packet of ``size`` bytes from the budget; False if over it."""
        limits = self.limits
        per_packet, per_byte = limits.packets_per_second, limits.bytes_per_second
        if not per_packet and not per_byte:
            return True
        last = self._last
        elapsed = 0.0 if last is None else now - last
        if last is None:
            self._packets, self._bytes = per_packet, per_byte
        self._last = now
        if per_packet:
            self._packets = min(per_packet, self._packets + elapsed * per_packet)
            if self._packets < 1:
                return False
        if per_byte:
            self._bytes = min(per_byte, self._bytes + elapsed * per_byte)
            if self._bytes < size:
                return False
            self._bytes -= size
        self._packets -= 1
        return True

    def charge(self, seconds: float, now: float, poll: int) -> int:
        """Take ``seconds`` of the server's time, spent on a packet read at ``now``
        during poll number ``poll``, from the time budget.

        Returns:
            0; :data:`SHARE_USED` if the peer's packets took their share of this poll
            (read no more of them in it); :data:`OVER_BUDGET` if this puts the peer
            over its budget (it is throttled from now on).
        """
        # (Once a packet: the refill of _refill is inlined.)
        per_second, last = self.limits.cpu_per_second, self._cpu_last
        cpu = per_second if last is None else self._cpu + (now - last) * per_second
        if cpu > per_second:
            cpu = per_second
        self._cpu_last, self._cpu = now, cpu - seconds
        if poll != self._poll:
            self._poll, self._poll_spent = poll, 0.0
        spent = self._poll_spent = self._poll_spent + seconds
        if cpu < seconds and not self.throttled:
            self.throttled = True
            return OVER_BUDGET
        return SHARE_USED if spent > per_second * POLL_SHARE else 0

    def recovered(self, now: float) -> bool:
        """Whether a throttled peer's time budget has refilled (it is no longer
        throttled then)."""
        if self._refill(now) >= 0 or self.limits.cpu_per_second <= 0:
            self.throttled = False
        return not self.throttled

    def _refill(self, now: float) -> float:
        """The time budget at ``now`` (it starts full)."""
        per_second, last = self.limits.cpu_per_second, self._cpu_last
        if last is None:
            cpu = per_second
        else:
            cpu = min(per_second, self._cpu + (now - last) * per_second)
        self._cpu, self._cpu_last = cpu, now
        return cpu

    def overrun(self, now: float) -> bool:
        """Record that the peer went over its time budget at ``now``; True if it did
        so before, within the violation window (it has earned a disconnect)."""
        again = now - self._overrun_at <= self.limits.violation_window
        self._overrun_at = now
        return again

    def violation(self, now: float) -> bool:
        """Record a violation; True if the peer has now earned a disconnect."""
        limits = self.limits
        if limits.max_violations <= 0:
            return False
        window = self._violations
        if window is None:
            window = self._violations = deque()
        window.append(now)
        while window and window[0] <= now - limits.violation_window:
            window.popleft()
        return len(window) > limits.max_violations
