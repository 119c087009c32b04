"""Authentication: Godot's pending peers and their SYS AUTH exchange.

Godot: ``SceneMultiplayer::send_auth``, ``complete_auth`` and the pending peers of
``poll()`` (modules/multiplayer/scene_multiplayer.cpp).

A peer that connects while ``auth_callback`` is set is *pending*: both sides
exchange authentication data (``send_auth``; the other side's ``auth_callback``
runs) until each calls ``complete_auth``, which sends an empty SYS AUTH. Only when
both have done so is the peer admitted (``peer_connected``). Until then nothing but
authentication data flows from it, it is in no peer list, and it fails
(``peer_authentication_failed``) if it leaves or ``auth_timeout`` runs out. Peers
learned through the server's ADD_PEER skip all this: the server vouches for them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..exceptions import DecodingError, InvalidState
from ..protocol.messages import SysAuth
from ..transport.peer import ConnectionStatus, TransferMode
from .refusals import Refusal

if TYPE_CHECKING:
    from .handlers import HandlerRunner
    from .membership import Membership
    from .relay import ServerRelay
    from .scene_multiplayer import SceneMultiplayer
    from .session import PeerSession, SessionTable

__all__ = ["AuthProgress", "Authenticator"]

logger = logging.getLogger("multiplayer.scene")

_RELIABLE = TransferMode.RELIABLE


@dataclass(slots=True)
class AuthProgress:
    """How far one pending peer got: since when, and which sides completed."""

    since: float
    local_done: bool = False
    remote_done: bool = False

    def check_can_send(self, peer_id: int) -> None:
        """Raise unless data may still be sent (Godot: ``ERR_FILE_CANT_WRITE``).

        Raises:
            InvalidState: A side completed already.
        """
        if self.local_done or self.remote_done:
            raise InvalidState(f"authentication with peer {peer_id} is already completed")

    def complete_local(self, peer_id: int) -> bool:
        """This side is done; True if the other side was too (admit the peer).

        Raises:
            InvalidState: This side completed already.
        """
        if self.local_done:
            raise InvalidState(f"authentication with peer {peer_id} is already completed")
        self.local_done = True
        return self.remote_done

    def complete_remote(self) -> bool:
        """The other side is done; True if this side was too (admit the peer)."""
        self.remote_done = True
        return self.local_done


class Authenticator:
    """Runs the authentication of one API's pending peers."""

    def __init__(
        self,
        api: SceneMultiplayer,
        sessions: SessionTable,
        relay: ServerRelay,
        handlers: HandlerRunner,
        members: Membership,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._relay = relay
        self._handlers = handlers
        self._members = members

    def send_auth(self, peer_id: int, data: bytes) -> None:
        """See :meth:`SceneMultiplayer.send_auth`."""
        self._relay.require_peer()
        if not data:
            raise ValueError("send_auth needs at least one byte")
        session, progress = self._pending(peer_id)
        progress.check_can_send(peer_id)
        self._write(session, SysAuth(bytes(data)))

    def complete_auth(self, peer_id: int) -> None:
        """See :meth:`SceneMultiplayer.complete_auth`."""
        self._relay.require_peer()
        session, progress = self._pending(peer_id)
        both = progress.complete_local(peer_id)
        self._write(session, SysAuth(b""))
        if both and not session.leaving:
            self._members.admit(peer_id)

    def _pending(self, peer_id: int) -> tuple[PeerSession, AuthProgress]:
        session = self._sessions.all.get(peer_id)
        if session is None or session.auth is None:
            raise InvalidState(f"peer {peer_id} is not authenticating")
        return session, session.auth

    def _write(self, session: PeerSession, message: SysAuth) -> None:
        # Authentication is between direct neighbours: never relayed.
        if session.leaving:
            return  # peer_authentication_failed follows at the end of poll()
        packet = self._relay.format.encode(message)
        self._relay.write((session.peer_id,), packet, _RELIABLE, 0)

    def on_packet(self, session: PeerSession, data: bytes) -> None:
        """A packet from a pending peer: only authentication data is allowed."""
        try:
            message = self._relay.format.decode(data, allow_objects=False)
        except DecodingError as exc:
            raise Refusal(("bad auth",), f"malformed packet during authentication: {exc}") from None
        if not isinstance(message, SysAuth):
            kind = type(message).__name__
            raise Refusal(("not auth", kind), f"{kind} before authentication: dropped")
        progress = session.auth
        assert progress is not None  # (poll() sends only pending peers' packets here)
        if not message.data:
            if progress.remote_done:
                raise Refusal(("auth twice",), "completed authentication twice")
            if progress.complete_remote():
                self._members.admit(session.peer_id)
            return
        if progress.remote_done:
            raise Refusal(("auth after done",), "authentication data after completing")
        callback = self._api.auth_callback
        if callback is None:
            raise Refusal(("auth off",), "authentication data, but no auth_callback")
        args = (session.peer_id, message.data)
        self._handlers.run(session.peer_id, session.tasks, "auth_callback", callback, args)

    def on_late_auth(self, session: PeerSession, message: SysAuth) -> None:
        """SYS AUTH from an admitted peer: Godot accepts only a late, empty "done"."""
        if message.data:
            raise Refusal(("auth",), "authentication data from an admitted peer")

    def check_timeouts(self) -> None:
        """Fail the pending peers whose ``auth_timeout`` ran out, oldest first."""
        if len(self._sessions.all) == len(self._sessions.admitted):
            return  # nobody is authenticating
        timeout = self._api.auth_timeout
        if timeout <= 0:
            return
        deadline = time.monotonic() - timeout
        expired = [
            s
            for s in self._sessions.all.values()
            if s.auth is not None and s.auth.since <= deadline
        ]
        for session in expired:
            logger.warning("peer %d: authentication timed out after %s s", session.peer_id, timeout)
            self._members.end(session)
            peer = self._relay.peer
            if peer is not None and peer.get_connection_status() is ConnectionStatus.CONNECTED:
                peer.disconnect_peer(session.peer_id)
            self._api.peer_authentication_failed.emit(session.peer_id)
