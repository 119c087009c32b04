"""The multiplayer API and its replicator, each as the other sees it.

Godot's SceneReplicationInterface calls its SceneMultiplayer's ``send_command`` and
its SceneCacheInterface's ``send_object_cache`` / ``get_cached_object``; here those
are the relay's ``route``, the path cache's ``announce`` and the sender's session
(the :mod:`multiplayer.replication.host` protocol). The other way, SPAWN, DESPAWN
and SYNC packets reach the replicator through ``on_spawn``, ``on_despawn`` and
``on_sync`` here, which refuse what it refuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..transport.peer import TransferMode
from .refusals import Refusal

if TYPE_CHECKING:
    from ..peer_sets import PeerSet, PeerSlots
    from ..protocol.format import PacketFormat
    from ..protocol.messages import Despawn, Spawn, Sync
    from ..scene.node import Node
    from .scene_multiplayer import SceneMultiplayer
    from .session import PeerSession

__all__ = ["SceneReplicationHost"]

_RELIABLE = TransferMode.RELIABLE


class SceneReplicationHost:
    """Implements :class:`~multiplayer.replication.host.ReplicationHost` for a
    :class:`~multiplayer.SceneMultiplayer` (its parts are built before the
    replicator, which gets this host)."""

    __slots__ = ("_api",)

    def __init__(self, api: SceneMultiplayer) -> None:
        self._api = api

    @property
    def format(self) -> PacketFormat:
        return self._api._relay.format

    def own_id(self) -> int | None:
        peer = self._api.multiplayer_peer
        return None if peer is None else peer.get_unique_id()

    def get_peers(self) -> list[int]:
        return self._api.get_peers()

    def is_admitted(self, peer_id: int) -> bool:
        session = self._api._sessions.admitted.get(peer_id)
        return session is not None and not session.leaving

    def send_command(self, peer_id: int, packet: bytes) -> None:
        self._api._relay.route(peer_id, packet, _RELIABLE, 0)

    def path_id_for(self, peer_id: int, node: Node) -> int:
        return self._api._cache.announce([peer_id], node)[0]

    def tell_path(self, peer_ids: list[int], node: Node) -> None:
        announce = self._api._cache.announce
        if self._api._relay.is_server:
            announce(peer_ids, node)
        else:  # a client's definition for another client travels in a relay of its own
            for peer_id in peer_ids:
                announce([peer_id], node)

    def peer_slots(self) -> PeerSlots:
        return self._api._peer_slots

    def peers_told(self, path_id: int) -> PeerSet:
        return self._api._cache.paths.told(path_id)

    def path_confirmed(self, path_id: int, peer_id: int) -> bool:
        return self._api._cache.paths.is_confirmed(path_id, peer_id) is not None

    def path_of(self, sender: int, path_id: int) -> str | None:
        session = self._api._sessions.all.get(sender)
        return None if session is None else session.paths.get(path_id)

    def find_node(self, path: str) -> Node | None:
        return self._api._cache.resolve(path)

    def max_packet_size(self) -> int:
        return self._api._relay.require_peer().get_max_packet_size()

    def notice(self, peer_id: int, reason: str) -> None:
        self._api._refusals.note(peer_id, ("sync",), reason)

    # Packets for the replicator.

    def on_spawn(self, session: PeerSession, message: Spawn) -> None:
        path = session.paths.get(message.spawner_path_id)
        spawner = self._api._cache.resolve(path) if path is not None else None
        if spawner is None:
            raise Refusal(("spawn", path), f"SPAWN for a spawner not found: {path!r}")
        reason = self._api._replicator.on_spawn(session.peer_id, spawner, message)
        if reason is not None:
            raise Refusal(("spawn", path), f"SPAWN refused: {reason}")

    def on_despawn(self, session: PeerSession, message: Despawn) -> None:
        reason = self._api._replicator.on_despawn(session.peer_id, message)
        if reason is not None:
            raise Refusal(("despawn",), reason)

    def on_sync(self, session: PeerSession, message: Sync, size: int) -> None:
        reason = self._api._replicator.on_sync(session.peer_id, message, size)
        if reason is not None:
            raise Refusal(("sync",), reason)
