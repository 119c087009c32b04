"""Receiving state: Godot's ``SceneReplicationInterface::on_sync_receive`` and
``on_delta_receive``, for SYNC packets that carry both kinds.

A SYNC is applied only if it is newer than the last one from its sender (Godot drops
a stale ``sync_net_time`` likewise; here all travels in order on one link, so a
stale one comes from a forged or replayed packet). Each entry names a synchronizer
by the sender's path id and is applied only if the sender is that synchronizer's
authority here (Godot: "Ignoring sync data from non-authority"). An entry that is
refused does not stop the others of the packet: a receiver that lost one node still
follows the rest. An entry for a synchronizer that is not here is logged and
skipped, but not refused: its node may have been despawned or freed here while the
state was on its way.

In a profile with ``sync_net_ids`` and ``delta_packets`` (Godot's), an entry names its
synchronizer by the net id the sender's SPAWN gave it, or by a path id with bit 31
set (``_find_synchronizer``); deltas come in packets of their own, and the time of
an ALWAYS entry is checked against the last one its synchronizer applied, 16 bits
wrapping (``MultiplayerSynchronizer::update_inbound_sync_time``): Godot's
SYNC packets of one frame share a time, so a per-sender check would drop all but
the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol.messages import Sync
from .net_ids import PATH_ID_FLAG
from .stats import PeerStats
from .synchronizer import MultiplayerSynchronizer

if TYPE_CHECKING:
    from .host import ReplicationHost
    from .net_ids import NetIds

__all__ = ["SyncReceiver"]

_MAX_REASONS = 3  # refused entries named in the one log line of a packet
_HALF_TIME = 32767  # a 16-bit time this far behind the last one is newer (wrapped)


class SyncReceiver:
    """Applies the SYNC packets peers send, for one multiplayer API.

    Args:
        host: The API, as replication sees it.
        stats: Traffic per peer, shared with the sending side.
        net_ids: The synchronizer ids peers gave (in a profile with ``sync_net_ids``).
    """

    def __init__(self, host: ReplicationHost, stats: dict[int, PeerStats], net_ids: NetIds) -> None:
        self._host = host
        self._stats = stats
        self._net_ids = net_ids
        self._seq_in: dict[int, int] = {}
        self._times: dict[MultiplayerSynchronizer, int] = {}  # last time applied

    def last_seq(self, peer_id: int) -> int:
        """The sequence number of the last SYNC applied from ``peer_id`` (0: none)."""
        return self._seq_in.get(peer_id, 0)

    def on_sync(self, sender: int, message: Sync, size: int) -> str | None:
        """Apply a SYNC of ``size`` bytes; the reason if (some of) it was refused."""
        timed = self._host.format.delta_packets
        if not timed:
            if message.seq <= self._seq_in.get(sender, 0):
                return None  # stale: newer state was applied already
            self._seq_in[sender] = message.seq
        stats = self._stats.get(sender)
        if stats is None:
            stats = self._stats[sender] = PeerStats()
        stats.bytes_received += size
        stats.packets_received += 1
        time = message.seq if timed else None
        reasons = [self._apply(sender, entry, False, time) for entry in message.always]
        reasons += [self._apply(sender, entry, True, None) for entry in message.delta]
        refused = [r for r in reasons if r is not None]
        return "; ".join(refused[:_MAX_REASONS]) if refused else None

    def forget_peer(self, peer_id: int) -> None:
        self._seq_in.pop(peer_id, None)

    def forget_synchronizer(self, sync: MultiplayerSynchronizer) -> None:
        """``sync`` left: the next time it enters, any time is new (Godot's reset)."""
        self._times.pop(sync, None)

    def clear(self) -> None:
        self._seq_in.clear()
        self._times.clear()

    def _apply(self, sender: int, entry: Any, delta: bool, time: int | None) -> str | None:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and type(entry[0]) is int
            and isinstance(entry[1], list)
        ):
            return "a SYNC entry is not [path_id, [values]]"
        sync, path = self._find(sender, entry[0])
        if sync is None:
            # Logged, not refused (Godot skips it): an honest sender's state may cross
            # the despawn of its node here.
            self._host.notice(sender, f"SYNC for {path}, which is no synchronizer here")
            return None
        if sender != sync.get_multiplayer_authority():
            return f"SYNC for {path} from a peer that is not its authority"
        if time is not None and not self._is_new(sync, time):
            return None  # stale: newer state was applied already
        try:
            reason = self._set(sync, entry[1], delta=delta)
        except (LookupError, ValueError, TypeError, AttributeError) as exc:
            return f"cannot apply state to {path}: {exc}"
        if reason is not None:
            return f"{reason} for {path}"
        sync.bytes_received += self._host.format.state_size(entry[1], delta=delta)
        (sync.delta_synchronized if delta else sync.synchronized).emit()
        return None

    def _find(self, sender: int, sync_id: int) -> tuple[MultiplayerSynchronizer | None, str]:
        """The synchronizer an entry names, and how to name it in a log line."""
        host = self._host
        if host.format.sync_net_ids and not sync_id & PATH_ID_FLAG:
            sync = self._net_ids.find(sender, sync_id)
            return sync, f"synchronizer id {sync_id}" if sync is None else repr(sync.name)
        path = host.path_of(
            sender, sync_id & ~PATH_ID_FLAG if host.format.sync_net_ids else sync_id
        )
        node = host.find_node(path) if path is not None else None
        return (node if isinstance(node, MultiplayerSynchronizer) else None), repr(path)

    def _is_new(self, sync: MultiplayerSynchronizer, time: int) -> bool:
        """Whether ``time`` is newer than the last one ``sync`` applied; if so, it is
        now the last one."""
        last = self._times.get(sync)
        if last is not None and time <= last and last - time < _HALF_TIME:
            return False
        self._times[sync] = time
        return True

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
