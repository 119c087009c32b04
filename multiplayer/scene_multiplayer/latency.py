"""Round-trip times and the server's clock, measured with PING/PONG packets.

Each side pings its direct neighbours every ``ping_interval`` (a client: the server;
the server: every client); any peer can also be pinged on demand, through the
relay. A PONG carries the answerer's clock, which gives a client the offset between
its clock and the server's: ``server time = local time + offset``. The offset comes
from the sample with the smallest round trip among the last few (the half-RTT guess
is least wrong when the round trip is short), as NTP does. Godot has no such
packets; its users time RPCs by hand.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..exceptions import PeerDisconnected, PeerNotFound, ProfileError
from ..protocol.messages import Ping, Pong
from ..transport.peer import TARGET_PEER_SERVER, TransferMode
from .refusals import Refusal

if TYPE_CHECKING:
    from .relay import ServerRelay
    from .scene_multiplayer import SceneMultiplayer
    from .session import PeerSession, SessionTable

__all__ = ["PING_CHECKS", "PeerClock", "Pinger"]

SAMPLES = 8  # offset samples kept per peer
SMOOTHING = 0.125  # weight of a new round trip in the average (TCP's RFC 6298 value)
STALE = 30.0  # pings unanswered for this long are forgotten
MAX_WAITING = 4096  # unanswered pings kept per peer (the newest)
PING_CHECKS = 8
"""How often, per ``ping_interval``, poll() looks for peers due a ping."""

_RELIABLE = TransferMode.RELIABLE


class PeerClock:
    """The pings sent to one peer, and what their answers told."""

    __slots__ = ("_next_seq", "_samples", "_waiting", "last_ping", "rtt")

    def __init__(self) -> None:
        self.rtt: float | None = None
        """The smoothed round trip in seconds, None before the first answer."""
        self.last_ping = float("-inf")
        # A list, not a deque(maxlen=SAMPLES): eight pairs take a tenth of a deque's
        # 760-byte block, and every connected peer has a clock.
        self._samples: list[tuple[float, float]] = []
        self._waiting: dict[int, tuple[float, asyncio.Future[float] | None]] = {}
        self._next_seq = 1

    def due(self, now: float, interval: float) -> bool:
        """Whether an automatic ping is due."""
        return interval > 0 and now - self.last_ping >= interval

    def start(self, now: float, future: asyncio.Future[float] | None = None) -> int:
        """A ping leaves: its sequence number (``future`` gets the round trip)."""
        self.last_ping = now
        seq = self._next_seq
        self._next_seq += 1
        self._waiting[seq] = (now, future)
        if len(self._waiting) > MAX_WAITING:  # a peer that never answers
            _, dropped = self._waiting.pop(next(iter(self._waiting)))
            if dropped is not None and not dropped.done():
                dropped.set_exception(TimeoutError("too many pings waiting for an answer"))
        return seq

    def finish(self, seq: int, their_time: float, now: float) -> bool:
        """A PONG came back; False if it answers no ping of ours."""
        waiting = self._waiting.pop(seq, None)
        if waiting is None:
            return False
        sent, future = waiting
        rtt = max(0.0, now - sent)
        self.rtt = rtt if self.rtt is None else self.rtt + SMOOTHING * (rtt - self.rtt)
        samples = self._samples
        samples.append((rtt, their_time - (sent + rtt / 2)))
        if len(samples) > SAMPLES:
            del samples[0]
        if future is not None and not future.done():
            future.set_result(rtt)
        return True

    def offset(self) -> float | None:
        """Their clock minus ours, from the best recent sample; None before any."""
        return min(self._samples)[1] if self._samples else None

    def expire(self, now: float) -> None:
        """Forget automatic pings unanswered for ``STALE`` seconds."""
        for seq, (sent, future) in list(self._waiting.items()):
            if now - sent > STALE and (future is None or future.done()):
                del self._waiting[seq]

    def close(self, peer_id: int) -> None:
        """The peer left: whoever awaits a ping to it gets PeerDisconnected."""
        waiting, self._waiting = self._waiting, {}
        for _, future in waiting.values():
            if future is not None and not future.done():
                future.set_exception(PeerDisconnected(peer_id))


class Pinger:
    """Sends the pings, answers them, and reads the clocks (one per API)."""

    def __init__(self, api: SceneMultiplayer, sessions: SessionTable, relay: ServerRelay) -> None:
        self._api = api
        self._sessions = sessions
        self._relay = relay
        self._next_check = 0.0

    async def ping(self, peer_id: int, timeout: float | None) -> float:
        """See :meth:`SceneMultiplayer.ping`."""
        packet_format = self._relay.format
        if not packet_format.clock:
            hint = "Godot's protocol has no PING; time a round trip of your own RPCs"
            raise ProfileError("ping()", packet_format.name, hint)
        self._relay.check_send(peer_id, "ping")
        session = self._sessions.admitted.get(peer_id)
        if session is None:
            raise PeerNotFound(peer_id)
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._send(session, time.monotonic(), future)
        limit = self._api.rpc_timeout if timeout is None else timeout
        async with asyncio.timeout(limit):
            return await future

    def ping_neighbours(self) -> None:
        """Ping the direct neighbours that are due one (from ``poll()``)."""
        interval = self._api.ping_interval
        if interval <= 0 or not self._relay.format.clock:
            return
        # A poll can run thousands of times a second (event-driven frames): the peers
        # are looked over at most PING_CHECKS times per ping_interval, not at each.
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + interval / PING_CHECKS
        admitted = self._sessions.admitted
        if self._relay.is_server:
            neighbours = list(admitted.values())
        else:
            server = admitted.get(TARGET_PEER_SERVER)
            neighbours = [] if server is None else [server]
        for session in neighbours:
            if session.clock.due(now, interval):
                self._send(session, now)
        for session in admitted.values():
            session.clock.expire(now)

    def _send(
        self, session: PeerSession, now: float, future: asyncio.Future[float] | None = None
    ) -> None:
        seq = session.clock.start(now, future)
        self._relay.route(session.peer_id, self._relay.format.encode(Ping(seq)), _RELIABLE, 0)

    def on_ping(self, session: PeerSession, message: Ping) -> None:
        pong = Pong(message.seq, time.monotonic())
        self._relay.route(session.peer_id, self._relay.format.encode(pong), _RELIABLE, 0)

    def on_pong(self, session: PeerSession, message: Pong) -> None:
        if not session.clock.finish(message.seq, message.time, time.monotonic()):
            raise Refusal(("pong",), "answer to a ping that was never sent")

    def rtt(self, peer_id: int) -> float | None:
        session = self._sessions.all.get(peer_id)
        return None if session is None else session.clock.rtt

    def clock_offset(self) -> float:
        """The server's clock minus ours (0.0 on the server, or before any answer)."""
        if self._relay.is_server:
            return 0.0
        server = self._sessions.all.get(TARGET_PEER_SERVER)
        offset = None if server is None else server.clock.offset()
        return offset or 0.0
