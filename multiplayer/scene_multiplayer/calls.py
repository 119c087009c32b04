"""Awaited calls to one peer, waiting for their answer (``rpc_call``).

Each call gets a request id and a future; the answer (a RESPONSE from that peer:
the book is the peer's own, so no other can settle it) settles it. When the peer
leaves, its calls fail with ``PeerDisconnected`` at once, never waiting for their
timeout. Answers that arrive after their caller stopped waiting (a timeout, a
cancellation) are recognised and ignored. While the peer is away (its link lost,
its session waiting to resume: docs/resume.md) the timeouts are paused: the call
and its answer are kept for the resume, and the time away is not the peer's
slowness. Godot has no awaited calls (godot-proposals #2032).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..exceptions import PeerDisconnected, RemoteError, RPCRefused
from ..protocol.messages import Response, Status

__all__ = ["PendingCalls"]


class PendingCalls:
    """The calls to one peer that wait for an answer.

    Args:
        peer_id: The peer asked (for the errors its answers become).
    """

    __slots__ = ("_calls", "_loop", "_next_id", "_paused", "_timeouts", "peer_id")

    def __init__(self, peer_id: int) -> None:
        self.peer_id = peer_id
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 1
        self._timeouts: dict[int, asyncio.Timeout] = {}
        self._paused: dict[int, float] | None = None  # seconds left, while away
        # The loop of the timeouts (poll() may run on none: a plain loop's tree).
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._calls)

    def open(self) -> tuple[int, asyncio.Future[Any]]:
        """A new call: its request id and the future of its answer."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        request_id = self._next_id
        self._next_id += 1
        self._calls[request_id] = future
        return request_id, future

    def close(self, request_id: int) -> None:
        """The caller stopped waiting (answered, timed out or cancelled)."""
        self._calls.pop(request_id, None)
        self._timeouts.pop(request_id, None)

    def watch(self, request_id: int, timeout: asyncio.Timeout) -> None:
        """``timeout`` bounds the wait of call ``request_id``: it is paused while the
        peer is away."""
        self._timeouts[request_id] = timeout
        self._loop = loop = asyncio.get_running_loop()
        if self._paused is not None:
            self._pause_one(request_id, timeout, loop.time())

    def pause(self) -> None:
        """The peer is away: no call times out until it is back."""
        if self._paused is None:
            self._paused = {}
            if self._timeouts and self._loop is not None:
                now = self._loop.time()
                for request_id, timeout in self._timeouts.items():
                    self._pause_one(request_id, timeout, now)

    def _pause_one(self, request_id: int, timeout: asyncio.Timeout, now: float) -> None:
        assert self._paused is not None
        when = timeout.when()
        if when is not None and not timeout.expired():
            self._paused[request_id] = max(0.0, when - now)
            timeout.reschedule(None)

    def unpause(self) -> None:
        """The peer is back: each call has the time it had left when it went away."""
        paused, self._paused = self._paused, None
        if not paused or self._loop is None:
            return
        now = self._loop.time()
        for request_id, left in paused.items():
            timeout = self._timeouts.get(request_id)
            if timeout is not None:
                timeout.reschedule(now + left)

    def answer(self, response: Response) -> bool | None:
        """Settle the call ``response`` answers: True; None for a late answer (the call
        timed out); False if no call has that id."""
        future = self._calls.get(response.request_id)
        if future is None:
            # Ids only grow: a smaller one was a real call whose caller stopped
            # waiting (timed out, cancelled); a larger one was never made.
            return None if 0 < response.request_id < self._next_id else False
        if future.done():
            return True
        if response.status is Status.OK:
            future.set_result(response.value)
        else:
            future.set_exception(_outcome(self.peer_id, response))
        return True

    def fail(self) -> None:
        """The peer is gone: every caller stops waiting, with PeerDisconnected."""
        calls, self._calls = self._calls, {}
        for future in calls.values():
            if not future.done():
                future.set_exception(PeerDisconnected(self.peer_id))


def _outcome(sender: int, response: Response) -> Exception:
    if response.status is Status.REFUSED:
        return RPCRefused(sender, _text(response.value))
    value = response.value
    if isinstance(value, list) and len(value) == 2:
        return RemoteError(sender, _text(value[0])[:100], _text(value[1])[:2000])
    return RemoteError(sender, "RemoteError", _text(value))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)[:200]
