"""Who is still authenticating, and how far each side got (Godot's pending peers).

A peer that connects while ``auth_callback`` is set is *pending*: both sides exchange
authentication data until each calls ``complete_auth``. Only when both have done so
is the peer admitted (reference.md §2.10). Until then nothing but authentication
data flows to or from it. This module only keeps the books; SceneMultiplayer sends
and receives.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import InvalidState

__all__ = ["AuthBook"]


@dataclass(slots=True)
class _Pending:
    since: float
    local_done: bool = False
    remote_done: bool = False


class AuthBook:
    """The peers under authentication, in the order they came."""

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}

    def begin(self, peer_id: int, now: float) -> None:
        self._pending[peer_id] = _Pending(now)

    def __contains__(self, peer_id: object) -> bool:
        return peer_id in self._pending

    def peers(self) -> list[int]:
        return list(self._pending)

    def check_can_send(self, peer_id: int) -> None:
        """Raise unless data may still be sent to ``peer_id``.

        Raises:
            InvalidState: It is not authenticating, or a side already completed.
        """
        pending = self._get(peer_id)
        if pending.local_done or pending.remote_done:
            raise InvalidState(f"authentication with peer {peer_id} is already completed")

    def complete_local(self, peer_id: int) -> bool:
        """This side is done; True if the other side was too (admit the peer).

        Raises:
            InvalidState: Not authenticating, or completed already.
        """
        pending = self._get(peer_id)
        if pending.local_done:
            raise InvalidState(f"authentication with peer {peer_id} is already completed")
        pending.local_done = True
        return self._finish_if_done(peer_id, pending)

    def complete_remote(self, peer_id: int) -> bool:
        """The other side is done; True if this side was too (admit the peer)."""
        pending = self._pending[peer_id]
        pending.remote_done = True
        return self._finish_if_done(peer_id, pending)

    def remote_done(self, peer_id: int) -> bool:
        return self._pending[peer_id].remote_done

    def expired(self, now: float, timeout: float) -> list[int]:
        """The peers whose time is up, dropped from the book, oldest first."""
        if timeout <= 0:
            return []
        late = [p for p, pending in self._pending.items() if pending.since + timeout <= now]
        for peer_id in late:
            del self._pending[peer_id]
        return late

    def drop(self, peer_id: int) -> bool:
        """Forget ``peer_id``; True if it was authenticating."""
        return self._pending.pop(peer_id, None) is not None

    def clear(self) -> None:
        self._pending.clear()

    def _get(self, peer_id: int) -> _Pending:
        pending = self._pending.get(peer_id)
        if pending is None:
            raise InvalidState(f"peer {peer_id} is not authenticating")
        return pending

    def _finish_if_done(self, peer_id: int, pending: _Pending) -> bool:
        if pending.local_done and pending.remote_done:
            del self._pending[peer_id]
            return True
        return False
