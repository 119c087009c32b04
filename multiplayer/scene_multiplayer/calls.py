"""Awaited calls waiting for their answer (``rpc_call``).

Each call gets a request id and a future; the answer (a RESPONSE from the peer that
was asked, and from no other) settles it. A call whose peer leaves fails with
``PeerDisconnected`` at once, never waits for its timeout. Answers that arrive after
their caller stopped waiting (a timeout, a cancellation) are recognised and ignored.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..exceptions import PeerDisconnected, RemoteError, RPCRefused
from ..protocol.messages import Response, Status

__all__ = ["PendingCalls"]


class PendingCalls:
    """The calls of one API that wait for an answer."""

    def __init__(self) -> None:
        self._calls: dict[int, tuple[int, asyncio.Future[Any]]] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._calls)

    def open(self, peer_id: int) -> tuple[int, asyncio.Future[Any]]:
        """A new call to ``peer_id``: its request id and the future of its answer."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        request_id = self._next_id
        self._next_id += 1
        self._calls[request_id] = (peer_id, future)
        return request_id, future

    def close(self, request_id: int) -> None:
        """The caller stopped waiting (answered, timed out or cancelled)."""
        self._calls.pop(request_id, None)

    def answer(self, sender: int, response: Response) -> bool | None:
        """Settle the call ``response`` answers: True; None for a late answer (the call
        timed out); False if no call to ``sender`` has that id."""
        pending = self._calls.get(response.request_id)
        if pending is None or pending[0] != sender:
            # Ids only grow: a smaller one was a real call whose caller stopped
            # waiting (timed out, cancelled); a larger one was never made.
            return None if 0 < response.request_id < self._next_id else False
        future = pending[1]
        if future.done():
            return True
        if response.status is Status.OK:
            future.set_result(response.value)
        else:
            future.set_exception(_outcome(sender, response))
        return True

    def fail(self, peer_id: int | None) -> None:
        """Peer ``peer_id`` (None: every peer) is gone: its callers stop waiting."""
        for request_id, (target, future) in list(self._calls.items()):
            if peer_id is None or target == peer_id:
                del self._calls[request_id]
                if not future.done():
                    future.set_exception(PeerDisconnected(target))


def _outcome(sender: int, response: Response) -> Exception:
    if response.status is Status.REFUSED:
        return RPCRefused(sender, _text(response.value))
    value = response.value
    if isinstance(value, list) and len(value) == 2:
        return RemoteError(sender, _text(value[0])[:100], _text(value[1])[:2000])
    return RemoteError(sender, "RemoteError", _text(value))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)[:200]
