"""One record per peer: everything a multiplayer API keeps about it.

Godot spreads a peer over SceneMultiplayer's ``pending_peers`` and
``connected_peers``, SceneCacheInterface's ``PeerInfo`` and the replicator's
per-peer tables. Here the API's own per-peer state lives in one :class:`PeerSession`,
from the peer's connection to its leave: its authentication progress, the ids it
defined, its rate budget, its clock, the calls waiting for its answers and the
handlers running for it. Removing the record is the teardown: nothing about a peer
outlives it, and :meth:`PeerSession.close` is the one place that stops what waits
on it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .cache import DEFAULT_MAX_REMOTE_IDS, RemoteIds
from .calls import PendingCalls
from .handlers import cancel
from .latency import PeerClock
from .limits import Budget, RateLimits

if TYPE_CHECKING:
    from .auth import AuthProgress

__all__ = ["PeerSession", "SessionTable"]


class PeerSession:
    """What one API keeps about one peer, from its connection to its leave.

    Args:
        peer_id: The peer.
        limits: The API's rate limits, which the peer's budget follows.
        auth: Its authentication progress, if it must authenticate first.
        max_remote_ids: How many path (and name) ids the peer may define.
    """

    __slots__ = (
        "auth",
        "budget",
        "calls",
        "clock",
        "kicked",
        "leaving",
        "names",
        "paths",
        "peer_id",
        "tasks",
    )

    def __init__(
        self,
        peer_id: int,
        limits: RateLimits,
        auth: AuthProgress | None = None,
        max_remote_ids: int = DEFAULT_MAX_REMOTE_IDS,
    ) -> None:
        self.peer_id = peer_id
        self.auth = auth
        """Its authentication progress; None once admitted (or if it needs none)."""
        self.kicked = False
        """It is being disconnected for misbehaving: what it still sends is not read."""
        self.leaving = False
        """Its leave was reported during this poll: nothing more is sent to it."""
        self.paths = RemoteIds("path", max_remote_ids)
        """The node path ids it defined (SIMPLIFY_PATH)."""
        self.names = RemoteIds("name", max_remote_ids)
        """The method name ids it defined (SIMPLIFY_NAME)."""
        self.budget = Budget(limits)
        self.clock = PeerClock()
        self.calls = PendingCalls(peer_id)
        self.tasks: set[asyncio.Task[Any]] = set()
        """The async handlers running for it."""

    def __repr__(self) -> str:
        state = "authenticating" if self.auth is not None else "admitted"
        return f"<PeerSession {self.peer_id} {state}{' leaving' if self.leaving else ''}>"

    def close(self) -> None:
        """The peer is gone: fail what waits on it, stop what runs for it."""
        self.calls.fail()
        self.clock.close(self.peer_id)
        cancel(self.tasks)


MAX_DEPARTED = 1024


class SessionTable:
    """The peers one API knows: authenticating or admitted, and those leaving.

    Args:
        limits: The API's rate limits, for each new session's budget.
    """

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.all: dict[int, PeerSession] = {}
        """Every known peer, authenticating or admitted, by id."""
        self.admitted: dict[int, PeerSession] = {}
        """The admitted peers, in the order they were admitted."""
        self.leaving: dict[int, PeerSession] = {}
        """The peers whose leave this poll reported, until the end of the poll."""
        self.departed: dict[int, None] = {}
        """The last ``MAX_DEPARTED`` admitted peers that left, oldest first: packets
        for them may still be on their way (a relay that crossed their leave)."""

    def open(self, peer_id: int, auth: AuthProgress | None = None) -> PeerSession:
        """A new session (or the one ``peer_id`` has already)."""
        session = self.all.get(peer_id)
        if session is None:
            session = self.all[peer_id] = PeerSession(peer_id, self.limits, auth)
        return session

    def admit(self, session: PeerSession) -> None:
        session.auth = None
        self.admitted[session.peer_id] = session

    def drop(self, session: PeerSession) -> None:
        """Forget ``session`` and close it (a leaving peer stays in ``leaving``)."""
        if self.all.get(session.peer_id) is session:
            del self.all[session.peer_id]
        if self.admitted.get(session.peer_id) is session:
            del self.admitted[session.peer_id]
            self.departed[session.peer_id] = None
            if len(self.departed) > MAX_DEPARTED:
                del self.departed[next(iter(self.departed))]
        session.close()

    def authenticating(self) -> list[int]:
        """The peers still authenticating, in the order they came."""
        return [peer_id for peer_id, session in self.all.items() if session.auth is not None]

    def staying(self) -> list[int]:
        """The admitted peers, but those leaving."""
        leaving = self.leaving
        return [p for p in self.admitted if p not in leaving]
