"""Round-trip times and the server's clock, measured with PING/PONG packets.

Each side pings its direct neighbours every ``ping_interval`` (a client: the server;
the server: every client); any peer can also be pinged on demand, through the
relay. A PONG carries the answerer's clock, which gives a client the offset between
its clock and the server's: ``server time = local time + offset``. The offset comes
from the sample with the smallest round trip among the last few (the half-RTT guess
is least wrong when the round trip is short), as NTP does.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field

from ..exceptions import PeerDisconnected

__all__ = ["Latency"]

SAMPLES = 8  # offset samples kept per peer
SMOOTHING = 0.125  # weight of a new round trip in the average (TCP's RFC 6298 value)
STALE = 30.0  # pings unanswered for this long are forgotten


@dataclass(slots=True)
class _PeerClock:
    rtt: float | None = None
    last_ping: float = float("-inf")
    samples: collections.deque[tuple[float, float]] = field(
        default_factory=lambda: collections.deque(maxlen=SAMPLES)
    )  # (round trip, offset)


class Latency:
    """Pings sent and answered, per peer."""

    def __init__(self) -> None:
        self._peers: dict[int, _PeerClock] = {}
        self._pending: dict[int, tuple[int, float, asyncio.Future[float] | None]] = {}
        self._next_seq = 1

    def due(self, peer_id: int, now: float, interval: float) -> bool:
        """Whether an automatic ping to ``peer_id`` is due."""
        state = self._peers.setdefault(peer_id, _PeerClock())
        return interval > 0 and now - state.last_ping >= interval

    def start(self, peer_id: int, now: float, future: asyncio.Future[float] | None = None) -> int:
        """A ping leaves for ``peer_id``: its sequence number."""
        self._peers.setdefault(peer_id, _PeerClock()).last_ping = now
        seq = self._next_seq
        self._next_seq += 1
        self._pending[seq] = (peer_id, now, future)
        if len(self._pending) > 4096:  # unanswered pings: keep the newest
            _, _, dropped = self._pending.pop(next(iter(self._pending)))
            if dropped is not None and not dropped.done():
                dropped.set_exception(TimeoutError("too many pings waiting for an answer"))
        return seq

    def finish(self, peer_id: int, seq: int, their_time: float, now: float) -> bool:
        """A PONG came back; False if it answers no ping of ours to that peer."""
        pending = self._pending.get(seq)
        if pending is None or pending[0] != peer_id:
            return False
        del self._pending[seq]
        sent = pending[1]
        rtt = max(0.0, now - sent)
        state = self._peers.setdefault(peer_id, _PeerClock())
        state.rtt = rtt if state.rtt is None else state.rtt + SMOOTHING * (rtt - state.rtt)
        state.samples.append((rtt, their_time - (sent + rtt / 2)))
        future = pending[2]
        if future is not None and not future.done():
            future.set_result(rtt)
        return True

    def rtt(self, peer_id: int) -> float | None:
        state = self._peers.get(peer_id)
        return None if state is None else state.rtt

    def offset(self, peer_id: int) -> float | None:
        """Their clock minus ours, from the best recent sample; None before any."""
        state = self._peers.get(peer_id)
        if state is None or not state.samples:
            return None
        return min(state.samples)[1]

    def expire(self, now: float) -> None:
        for seq, (_, sent, future) in list(self._pending.items()):
            if now - sent > STALE and (future is None or future.done()):
                del self._pending[seq]

    def forget(self, peer_id: int) -> None:
        self._peers.pop(peer_id, None)
        for seq, (target, _, future) in list(self._pending.items()):
            if target == peer_id:
                del self._pending[seq]
                if future is not None and not future.done():
                    future.set_exception(PeerDisconnected(peer_id))

    def clear(self) -> None:
        for peer_id in list(self._peers):
            self.forget(peer_id)
        self._pending.clear()
