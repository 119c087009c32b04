"""``ReplicationHost``: all that replication needs of the multiplayer API under it.

Godot's SceneReplicationInterface holds its SceneMultiplayer and SceneCacheInterface
and uses a handful of their calls (``send_command``, ``send_object_cache``,
``get_cached_object``). This is that handful, as an interface: the replicator sees
nothing else of the API, and the API sees only the replicator's entry points. The
bytes of its packets come from the API's packet format, so replication holds no
byte layout and works over any wire profile.

Spawners and synchronizers reach the replicator of their branch's API through
:func:`replicator_of`, the one place that knows where the API keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..peer_sets import PeerSet, PeerSlots
    from ..protocol.format import PacketFormat
    from ..scene.node import Node
    from .replicator import SceneReplicator

__all__ = ["ReplicationHost", "replicator_of"]


class ReplicationHost(Protocol):
    """The multiplayer API, as the replicator sees it."""

    @property
    def format(self) -> PacketFormat:
        """The packet format of the peer's wire profile: every SPAWN, DESPAWN and SYNC
        is encoded with it (it may change between two frames: read it when sending)."""

    def own_id(self) -> int | None:
        """This peer's id, or None without a multiplayer peer."""

    def get_peers(self) -> list[int]:
        """The admitted peers this one may send to."""

    def is_admitted(self, peer_id: int) -> bool:
        """Whether ``peer_id`` is connected and admitted (and not leaving)."""

    def send_command(self, peer_id: int, packet: bytes) -> None:
        """Send a replication packet, reliably, relayed if need be.

        Raises:
            PacketTooLarge: It does not fit in one packet.
        """

    def path_id_for(self, peer_id: int, node: Node) -> int:
        """Our id for ``node``'s path, defined for ``peer_id`` first if new to it."""

    def tell_path(self, peer_ids: list[int], node: Node) -> None:
        """Define ``node``'s path for those of ``peer_ids`` new to it (one packet,
        written to them all)."""

    def peer_slots(self) -> PeerSlots:
        """The peers' bits, for the replicator's sets of peers: shared with the path
        cache, released when a peer leaves."""

    def peers_told(self, path_id: int) -> PeerSet:
        """The peers that were told ``path_id`` (read only)."""

    def path_confirmed(self, path_id: int, peer_id: int) -> bool:
        """Whether ``peer_id`` answered our definition of ``path_id`` (CONFIRM_PATH)."""

    def path_of(self, sender: int, path_id: int) -> str | None:
        """The path ``sender`` defined as ``path_id``, or None."""

    def find_node(self, path: str) -> Node | None:
        """The node at a wire path, or None."""

    def max_packet_size(self) -> int:
        """The largest packet the multiplayer peer takes."""

    def notice(self, peer_id: int, reason: str) -> None:
        """Log what ``peer_id`` sent that could not be used but is no fault of it (a
        race: state for a node freed here meanwhile): logged as refusals are, but
        never counted against the peer."""


def replicator_of(node: Node) -> SceneReplicator:
    """The replicator of the multiplayer API that serves ``node``'s branch.

    Godot's spawners and synchronizers register through
    ``MultiplayerAPI.object_configuration_add``; until the abstract API offers a
    way, this reads the replicator its SceneMultiplayer holds.
    """
    return node.multiplayer._replicator
