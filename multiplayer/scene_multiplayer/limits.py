"""Per-peer budgets: how fast a peer may send, and how many refusals it may earn.

Two rules protect a server from one bad client without slowing the others:

* **Rate.** Each peer has a budget of packets and of bytes per second (token buckets
  holding one second's worth). A packet over budget is dropped unread, which counts
  as a violation. Generous by default; 0 turns a limit off.
* **Violations.** Every refused packet (malformed, not allowed, over the rate...)
  is a violation. A peer with more than ``max_violations`` within
  ``violation_window`` seconds is disconnected with close code 1008.

Plain bookkeeping with the caller's clock; SceneMultiplayer acts on the answers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["PeerLimits", "RateLimits"]


@dataclass(slots=True)
class RateLimits:
    """The settings, shared by all peers of one API."""

    packets_per_second: float = 5000.0
    bytes_per_second: float = 8 * 1024 * 1024
    max_violations: int = 25
    violation_window: float = 10.0


@dataclass(slots=True)
class _Peer:
    packets: float
    bytes: float
    last: float
    violations: deque[float] = field(default_factory=deque)


class PeerLimits:
    """The budgets and recent violations of every peer."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._peers: dict[int, _Peer] = {}

    def active(self) -> bool:
        """Whether a rate limit is on (else ``allow`` always says yes)."""
        return bool(self.limits.packets_per_second or self.limits.bytes_per_second)

    def allow(self, peer_id: int, size: int, now: float) -> bool:
        """Take one packet of ``size`` bytes from the peer's budget; False if over."""
        limits = self.limits
        if not limits.packets_per_second and not limits.bytes_per_second:
            return True
        state = self._peers.get(peer_id)
        if state is None:
            state = self._peers[peer_id] = _Peer(
                limits.packets_per_second, limits.bytes_per_second, now
            )
        elapsed = now - state.last
        state.last = now
        if limits.packets_per_second:
            state.packets = min(
                limits.packets_per_second, state.packets + elapsed * limits.packets_per_second
            )
            if state.packets < 1:
                return False
        if limits.bytes_per_second:
            state.bytes = min(
                limits.bytes_per_second, state.bytes + elapsed * limits.bytes_per_second
            )
            if state.bytes < size:
                return False
            state.bytes -= size
        state.packets -= 1
        return True

    def violation(self, peer_id: int, now: float) -> bool:
        """Record a violation; True if the peer has now earned a disconnect."""
        limits = self.limits
        if limits.max_violations <= 0:
            return False
        state = self._peers.get(peer_id)
        if state is None:
            state = self._peers[peer_id] = _Peer(
                limits.packets_per_second, limits.bytes_per_second, now
            )
        window = state.violations
        window.append(now)
        while window and window[0] <= now - limits.violation_window:
            window.popleft()
        return len(window) > limits.max_violations

    def forget(self, peer_id: int) -> None:
        self._peers.pop(peer_id, None)

    def clear(self) -> None:
        self._peers.clear()
