"""The multiplayer API as replication sees it (see :mod:`multiplayer.replication.host`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..transport.peer import TransferMode

if TYPE_CHECKING:
    from ..protocol.native.codec import Codec
    from ..scene.node import Node
    from .scene_multiplayer import SceneMultiplayer

__all__ = ["SceneReplicationHost"]

_RELIABLE = TransferMode.RELIABLE


class SceneReplicationHost:
    """Implements :class:`~multiplayer.replication.host.ReplicationHost` for a
    :class:`~multiplayer.SceneMultiplayer`."""

    __slots__ = ("_api",)

    def __init__(self, api: SceneMultiplayer) -> None:
        self._api = api

    @property
    def codec(self) -> Codec:
        return self._api.codec

    def own_id(self) -> int | None:
        peer = self._api.multiplayer_peer
        return None if peer is None else peer.get_unique_id()

    def get_peers(self) -> list[int]:
        return self._api.get_peers()

    def is_admitted(self, peer_id: int) -> bool:
        return peer_id in self._api._connected

    def send_command(self, peer_id: int, packet: bytes) -> None:
        self._api._send(peer_id, packet, _RELIABLE, 0)

    def path_id_for(self, peer_id: int, node: Node) -> int:
        return self._api._announce_path(peer_id, node)

    def peers_told(self, path_id: int) -> set[int]:
        return self._api._paths._told[path_id]

    def path_of(self, sender: int, path_id: int) -> str | None:
        return self._api._paths.lookup(sender, path_id)

    def find_node(self, path: str) -> Node | None:
        return self._api._resolve(path)

    def max_packet_size(self) -> int:
        return self._api._require_peer().get_max_packet_size()

    def report(self, peer_id: int, kind: tuple[object, ...], reason: str) -> None:
        self._api._refusals.refuse(peer_id, kind, reason)
