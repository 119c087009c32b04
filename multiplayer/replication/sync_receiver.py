"""Receiving state: Godot's ``SceneReplicationInterface::on_sync_receive`` and
``on_delta_receive``, for SYNC packets that carry both kinds.

A SYNC is applied only if it is newer than the last one from its sender (Godot drops
a stale ``sync_net_time`` likewise; here all travels in order on one link, so a
stale one comes from a forged or replayed packet). Each entry names a synchronizer
by the sender's path id and is applied only if the sender is that synchronizer's
authority here (Godot: "Ignoring sync data from non-authority"). An entry that is
refused does not stop the others of the packet: a receiver that lost one node still
follows the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol.messages import Sync
from .stats import PeerStats
from .synchronizer import MultiplayerSynchronizer

if TYPE_CHECKING:
    from .host import ReplicationHost

__all__ = ["SyncReceiver"]

_MAX_REASONS = 3  # refused entries named in the one log line of a packet


class SyncReceiver:
    """Applies the SYNC packets peers send, for one multiplayer API.

    Args:
        host: The API, as replication sees it.
        stats: Traffic per peer, shared with the sending side.
    """

    def __init__(self, host: ReplicationHost, stats: dict[int, PeerStats]) -> None:
        self._host = host
        self._stats = stats
        self._seq_in: dict[int, int] = {}

    def last_seq(self, peer_id: int) -> int:
        """The sequence number of the last SYNC applied from ``peer_id`` (0: none)."""
        return self._seq_in.get(peer_id, 0)

    def on_sync(self, sender: int, message: Sync, size: int) -> str | None:
        """Apply a SYNC of ``size`` bytes; the reason if (some of) it was refused."""
        if message.seq <= self._seq_in.get(sender, 0):
            return None  # stale: newer state was applied already
        self._seq_in[sender] = message.seq
        stats = self._stats.get(sender)
        if stats is None:
            stats = self._stats[sender] = PeerStats()
        stats.bytes_received += size
        stats.packets_received += 1
        reasons = [self._apply(sender, entry, delta=False) for entry in message.always]
        reasons += [self._apply(sender, entry, delta=True) for entry in message.delta]
        refused = [r for r in reasons if r is not None]
        return "; ".join(refused[:_MAX_REASONS]) if refused else None

    def forget_peer(self, peer_id: int) -> None:
        self._seq_in.pop(peer_id, None)

    def clear(self) -> None:
        self._seq_in.clear()

    def _apply(self, sender: int, entry: Any, *, delta: bool) -> str | None:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and type(entry[0]) is int
            and isinstance(entry[1], list)
        ):
            return "a SYNC entry is not [path_id, [values]]"
        path = self._host.path_of(sender, entry[0])
        sync = self._host.find_node(path) if path is not None else None
        if not isinstance(sync, MultiplayerSynchronizer):
            return f"SYNC for {path!r}, which is no synchronizer here"
        if sender != sync.get_multiplayer_authority():
            return f"SYNC for {path!r} from a peer that is not its authority"
        try:
            reason = self._set(sync, entry[1], delta=delta)
        except (LookupError, ValueError, TypeError, AttributeError) as exc:
            return f"cannot apply state to {path!r}: {exc}"
        if reason is not None:
            return f"{reason} for {path!r}"
        sync.bytes_received += self._host.format.state_size(entry[1], delta=delta)
        (sync.delta_synchronized if delta else sync.synchronized).emit()
        return None

    @staticmethod
    def _set(sync: MultiplayerSynchronizer, values: list[Any], *, delta: bool) -> str | None:
        """Set ALWAYS ``values``, or ON_CHANGE ``[index, value, ...]`` pairs."""
        config = sync.replication_config
        if not delta:
            sync.set_state(config.sync_properties(), values)
            return None
        props = config.watch_properties()
        if len(values) % 2 or not all(type(i) is int and 0 <= i < len(props) for i in values[::2]):
            return "bad delta indices"
        sync.set_state([props[i] for i in values[::2]], values[1::2])
        return None
