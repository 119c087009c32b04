"""Per-peer budgets: how fast a peer may send, and how many refusals it may earn.

Two rules protect a server from one bad client without slowing the others:

* **Rate.** Each peer has a budget of packets and of bytes per second (token buckets
  holding one second's worth). A packet over budget is dropped unread, which counts
  as a violation. Generous by default; 0 turns a limit off.
* **Violations.** Every refused packet (malformed, not allowed, over the rate...)
  is a violation. A peer with more than ``max_violations`` within
  ``violation_window`` seconds is disconnected with close code 1008.

Plain bookkeeping with the caller's clock; SceneMultiplayer acts on the answers.
Godot has neither rule: its server reads whatever a client sends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["Budget", "RateLimits"]


@dataclass(slots=True)
class RateLimits:
    """The settings, shared by all peers of one API (changes apply at once)."""

    packets_per_second: float = 5000.0
    bytes_per_second: float = 8 * 1024 * 1024
    max_violations: int = 25
    violation_window: float = 10.0

    def active(self) -> bool:
        """Whether a rate limit is on (else every packet is within budget)."""
        return bool(self.packets_per_second or self.bytes_per_second)


class Budget:
    """One peer's token buckets and recent violations.

    The buckets start full at the peer's first packet, so a new peer may send one
    second's worth at once.
    """

    __slots__ = ("_bytes", "_last", "_packets", "_violations", "limits")

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._packets = 0.0
        self._bytes = 0.0
        self._last: float | None = None
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
