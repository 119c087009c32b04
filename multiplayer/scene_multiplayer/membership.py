"""Peers arriving and leaving (Godot's ``_add_peer``, ``_admit_peer``, ``_del_peer``).

A peer the transport connects is admitted at once, or first authenticates when
``auth_callback`` is set (see :mod:`.auth`). With the relay on, the server keeps
every client's peer list: when a peer is admitted it tells the others (SYS
ADD_PEER) and tells the newcomer who is there, before any RPC; when one leaves, the
others hear it (SYS DEL_PEER). A client takes these lists from the server only.

A leave reported while the transport is being polled waits for the end of the
poll, so that the packets the peer sent before leaving are read first (Godot drops
them). Removing a peer ends its session: one teardown, the same for a leave, an
authentication timeout and ``clear()``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..exceptions import PeerNotFound
from ..protocol.messages import SysAddPeer, SysAddPeers, SysDelPeer
from ..transport.peer import TARGET_PEER_SERVER, MultiplayerPeer, TransferMode
from .auth import AuthProgress
from .refusals import Refusal

if TYPE_CHECKING:
    from ..replication.replicator import SceneReplicator
    from ..signals import Signal
    from .cache import PathCache
    from .refusals import RefusalLog
    from .relay import ServerRelay
    from .scene_multiplayer import SceneMultiplayer
    from .session import PeerSession, SessionTable

__all__ = ["Membership"]

logger = logging.getLogger("multiplayer.scene")

_RELIABLE = TransferMode.RELIABLE


class Membership:
    """Admits and removes the peers of one API, and keeps the clients' peer lists."""

    def __init__(
        self,
        api: SceneMultiplayer,
        sessions: SessionTable,
        relay: ServerRelay,
        cache: PathCache,
        replicator: SceneReplicator,
        refusals: RefusalLog,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._relay = relay
        self._cache = cache
        self._replicator = replicator
        self._refusals = refusals
        self.polling = False
        """The transport is being polled: leaves wait for the end of the poll."""
        # Joins announced together (profiles with peer lists): the peers there before
        # them, and the newcomers, until the next packet written or the poll's end.
        self._before: list[int] = []
        self._joining: list[int] = []

    # The transport's signals.

    def listen(self, old: MultiplayerPeer | None, new: MultiplayerPeer | None) -> None:
        """Follow ``new``'s joins and leaves instead of ``old``'s."""
        if old is not None:
            old.peer_connected.disconnect(self.on_connected)
            old.peer_disconnected.disconnect(self.on_disconnected)
            old.peer_dropped.disconnect(self.on_dropped)
            old.peer_resumed.disconnect(self.on_resumed)
        if new is not None:
            new.peer_connected.connect(self.on_connected)
            new.peer_disconnected.connect(self.on_disconnected)
            new.peer_dropped.connect(self.on_dropped)
            new.peer_resumed.connect(self.on_resumed)

    def on_connected(self, peer_id: int) -> None:
        if self._api.auth_callback is None:
            self.admit(peer_id)
            return
        self._sessions.open(peer_id, AuthProgress(time.monotonic()))
        self._api.peer_authenticating.emit(peer_id)

    def on_disconnected(self, peer_id: int) -> None:
        session = self._sessions.all.get(peer_id)
        if self.polling and session is not None:
            session.leaving = True
            self._sessions.leaving[peer_id] = session
        else:
            self.remove(peer_id)

    def on_dropped(self, peer_id: int) -> None:
        """The link of a peer is lost and its session waits to resume (docs/resume.md):
        the peer stays, with its nodes, authority and calls; only the calls' timeouts
        wait (on a client, those to every peer: they all go through the server)."""
        for session in self._reached_through(peer_id):
            session.calls.pause()
        self._report(peer_id, self._api.connection_lost, self._api.peer_dropped)

    def on_resumed(self, peer_id: int) -> None:
        for session in self._reached_through(peer_id):
            session.calls.unpause()
        self._report(peer_id, self._api.reconnected, self._api.peer_resumed)

    def _reached_through(self, peer_id: int) -> list[PeerSession]:
        if peer_id == TARGET_PEER_SERVER and not self._relay.is_server:
            return list(self._sessions.all.values())
        session = self._sessions.all.get(peer_id)
        return [session] if session is not None else []

    def _report(self, peer_id: int, client_signal: Signal[()], signal: Signal[int]) -> None:
        """Emit a drop or a return of an admitted peer (one still authenticating was
        never reported joined, and is not reported away either)."""
        if peer_id not in self._sessions.admitted:
            return
        if peer_id == TARGET_PEER_SERVER and not self._relay.is_server:
            client_signal.emit()
        signal.emit(peer_id)

    # Admitting and removing.

    def admit(self, peer_id: int) -> None:
        """Admit a peer: a new neighbour without authentication, one that completed
        it, or one the server announced."""
        sessions = self._sessions
        if peer_id in sessions.admitted:
            return
        self._announce_join(peer_id)
        sessions.admit(sessions.open(peer_id))
        try:
            self._replicator.on_peer_admitted(peer_id)  # spawns before any user RPC (Godot)
        except Exception:  # a bug of ours must not leave the peer half admitted
            logger.exception("replication failed for new peer %d", peer_id)
        if peer_id == TARGET_PEER_SERVER and not self._relay.is_server:
            self._api.connected_to_server.emit()
        self._api.peer_connected.emit(peer_id)

    def remove(self, peer_id: int) -> None:
        """A peer left; one still authenticating failed (Godot)."""
        session = self._sessions.all.get(peer_id)
        if session is None:
            return
        self.end(session)
        if session.auth is not None:
            self._api.peer_authentication_failed.emit(peer_id)
            return
        self._announce_leave(peer_id)
        self._replicator.on_peer_removed(peer_id)
        self._api.peer_disconnected.emit(peer_id)

    def disconnect(self, peer_id: int) -> None:
        """See :meth:`SceneMultiplayer.disconnect_peer`."""
        if peer_id not in self._sessions.all:
            raise PeerNotFound(peer_id)
        self._relay.require_peer().disconnect_peer(peer_id)

    def remove_leavers(self) -> None:
        """Remove the peers whose leave the last poll reported. They stay listed until
        all are removed, so that what removing one sends to the others (DEL_PEER)
        goes to no other leaver, which the transport has already forgotten."""
        leaving = self._sessions.leaving
        if leaving:
            for session in list(leaving.values()):
                self.remove(session.peer_id)
            leaving.clear()

    def end(self, session: PeerSession) -> None:
        """The teardown of one peer, for a leave, a timeout and ``clear()`` alike."""
        self._sessions.drop(session)
        self._cache.forget_peer(session.peer_id)
        self._refusals.forget_peer(session.peer_id)

    def end_all(self) -> None:
        """Every peer's teardown, with no signal (``clear()``)."""
        for session in list(self._sessions.all.values()):
            self.end(session)
        self._sessions.leaving.clear()
        self._before, self._joining = [], []
        self._relay.bind_write()

    # The clients' peer lists.

    def _announce_join(self, peer_id: int) -> None:
        """Godot's ``_admit_peer`` on a server: each side learns of the other.

        Where the profile has peer lists, the joins of one poll are told together:
        each peer there before gets one ADD_PEERS naming the newcomers, and each
        newcomer one naming everyone else, instead of an ADD_PEER per pair (N joins
        cost N*N packets). Nothing is reordered: the batch goes out before any
        other packet is written (``relay.write`` flushes it first while it waits)."""
        relay = self._relay
        if not (relay.is_server and relay.enabled()):
            return
        if relay.format.peer_lists:
            if not self._joining:
                self._before = self._sessions.staying()
                relay.write = self._write_after_joins
            self._joining.append(peer_id)
            if not self.polling:
                self.flush_joins()
            return
        others = self._sessions.staying()
        if others:
            relay.write(others, relay.format.encode(SysAddPeer(peer_id)), _RELIABLE, 0)
        for other in others:
            relay.write((peer_id,), relay.format.encode(SysAddPeer(other)), _RELIABLE, 0)

    def _write_after_joins(
        self, targets: Sequence[int], data: bytes, mode: TransferMode, channel: int
    ) -> None:
        self.flush_joins()
        self._relay.write(targets, data, mode, channel)

    def flush_joins(self) -> None:
        """Tell the joins announced since the last flush (see ``_announce_join``);
        those that left meanwhile, in this poll, are told nothing, nor told of."""
        if not self._joining:
            return
        relay = self._relay
        relay.bind_write()
        staying = relay.reachable(set(self._sessions.staying()))
        before = [peer_id for peer_id in self._before if peer_id in staying]
        joining = [peer_id for peer_id in self._joining if peer_id in staying]
        self._before, self._joining = [], []
        encode = relay.format.encode
        if before and joining:
            relay.write(before, encode(SysAddPeers(joining)), _RELIABLE, 0)
        everyone = [*before, *joining]
        for peer_id in joining:
            others = [other for other in everyone if other != peer_id]
            if others:
                relay.write((peer_id,), encode(SysAddPeers(others)), _RELIABLE, 0)

    def _announce_leave(self, peer_id: int) -> None:
        relay = self._relay
        if not (relay.is_server and relay.enabled()):
            return
        others = self._sessions.staying()
        if others:
            relay.write(others, relay.format.encode(SysDelPeer(peer_id)), _RELIABLE, 0)

    def on_peer_list(
        self, session: PeerSession, message: SysAddPeer | SysAddPeers | SysDelPeer
    ) -> None:
        """A client hears from the server who joined or left (Godot: only with the
        relay on, only from peer 1)."""
        relay = self._relay
        if relay.is_server or session.peer_id != TARGET_PEER_SERVER or not relay.enabled():
            raise Refusal(("membership",), "peer list update not from the server")
        peers = message.peers if isinstance(message, SysAddPeers) else [message.peer]
        for peer in peers:
            if peer <= TARGET_PEER_SERVER or peer == relay.own_id:
                raise Refusal(("membership id",), f"bad peer id {peer}")
        for peer in peers:
            if isinstance(message, SysDelPeer):
                self.remove(peer)
            else:
                self.admit(peer)
