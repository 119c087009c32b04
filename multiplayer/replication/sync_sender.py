"""Sending state: the SYNC side of Godot's SceneReplicationInterface (``_send_sync``,
``_send_delta``, on every ``on_network_process``).

Every network frame (the end of ``poll()``), each synchronizer this peer is the
authority of is checked; what is due for one peer, from all synchronizers, goes in
one SYNC packet (Godot sends one per synchronizer and kind). ON_CHANGE values are
compared in their packed form, so a change inside a list or a dict is seen, and each
peer gets what changed since what it last got (all of it the first time).
Synchronizers are addressed by their node path id. A state too large for one packet
is split over several; one synchronizer too large for a packet is an error, logged,
never a silent skip (Godot skips states over 1350 bytes: #89262).

Cost: a server sends the same state to many peers, so each entry is packed once per
frame for every peer that gets the same bytes, and when every peer gets the same
entries (everyone sees everything and got the same updates: the usual case) the
packet body is built once and only its sequence number differs per peer. Filters
run once per peer and frame. A frame where nothing is due reads nothing.

The bytes are the packet format's (``PacketFormat``'s SYNC parts: ``pack_state``,
``pack_value``, ``pack_delta``, ``sync_entry``, ``sync_body``, ``sync_packet``); this
module decides what goes to whom, and in how many packets, never how it is laid out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ..exceptions import EncodingError, PacketTooLarge
from ..values import Color, Vector2, Vector2i, Vector3, Vector3i
from .net_ids import PATH_ID_FLAG
from .stats import PeerStats
from .synchronizer import MultiplayerSynchronizer, VisibilityUpdateMode

if TYPE_CHECKING:
    from ..protocol.format import PacketFormat
    from .baselines import Baselines, Outgoing
    from .host import ReplicationHost
    from .net_ids import NetIds
    from .spawning import SpawnReplicator
    from .visibility import Visibility

__all__ = ["SyncSender", "advance"]

logger = logging.getLogger("multiplayer.scene")

_now = time.monotonic  # the replication clock (tests replace it)

# Values that cannot change without becoming another object: the same object as at
# the last check has the same packed form, and need not be packed again to know.
_IMMUTABLE = frozenset(
    {bool, int, float, str, bytes, type(None), Vector2, Vector2i, Vector3, Vector3i, Color}
)


class _Entry(NamedTuple):
    """One synchronizer's state in a SYNC packet, packed."""

    data: bytes
    sync: MultiplayerSynchronizer
    size: int  # of its state (what synchronizer.bytes_sent counts)
    checks: int | None  # for ON_CHANGE entries: the check they bring the peer to


class _Part(NamedTuple):
    """The entries of one SYNC packet, and the packet after its sequence number."""

    always: list[_Entry]
    delta: list[_Entry]
    body: bytes
    step: int  # what it moves the sequence number by (a Godot delta has none: 0)


# Entries (kind 0: ALWAYS, 1: ON_CHANGE) for every peer, or for one peer.
_Lists = tuple[list[_Entry], list[_Entry]]


@dataclass(slots=True)
class _Due:
    """A synchronizer with something due this frame."""

    sync: MultiplayerSynchronizer
    out: Outgoing
    always: bytes | None  # its ALWAYS values, packed as a state, if they are due
    checked: bool  # its ON_CHANGE values were checked
    audience: list[int] | None = None  # the peers that get it (None: every peer)


def advance(last_due: float, interval: float, now: float) -> float:
    """When the send going out now was due: one ``interval`` after the last one.

    State is checked once a frame, so a send goes out up to a frame after it is due;
    counting the next interval from that late frame would make intervals up to a frame
    longer (20 Hz at 60 frames a second could be 15 Hz). A sender more than an
    interval behind (its first send, a long frame, a shorter interval) starts again
    from now instead of catching up with a burst."""
    due = last_due + interval
    return due if now - due < interval else now


class _FailureLog:
    """Local failures that would repeat every frame (a getter that raises, a state
    too large for a packet), logged the first time and then at the 10th, 100th...
    time, as refused packets are. The table is bounded: the oldest kinds go first."""

    __slots__ = ("_counts",)
    _MAX_KINDS = 1024

    def __init__(self) -> None:
        self._counts: dict[tuple[object, ...], int] = {}

    def log(self, kind: tuple[object, ...], message: str) -> None:
        count = self._counts.pop(kind, 0) + 1
        self._counts[kind] = count  # re-inserted: the most recent kinds are kept
        if len(self._counts) > self._MAX_KINDS:
            del self._counts[next(iter(self._counts))]
        if count == 1:
            logger.error("replication: %s", message)
        elif _is_power_of_ten(count):
            logger.error("replication: %s (%d times)", message, count)

    def forget(self, kind: tuple[object, ...]) -> None:
        self._counts.pop(kind, None)


def _is_power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


class SyncSender:
    """Sends the state that is due, for one multiplayer API.

    Args:
        host: The API, as replication sees it.
        visibility: Which peers see each synchronizer this frame.
        baselines: What each peer has of each synchronizer's state.
        spawns: Which peers have the nodes spawned here.
        stats: Traffic per peer, shared with the receiving side.
        net_ids: Our synchronizers' net ids (in a profile with ``sync_net_ids``).
    """

    def __init__(
        self,
        host: ReplicationHost,
        visibility: Visibility,
        baselines: Baselines,
        spawns: SpawnReplicator,
        stats: dict[int, PeerStats],
        net_ids: NetIds,
    ) -> None:
        self._host = host
        self._net_ids = net_ids
        self._visibility = visibility
        self._baselines = baselines
        self._spawns = spawns
        self._stats = stats
        self._seq_out: dict[int, int] = {}
        self._failures = _FailureLog()
        # This frame's peers, and their bits: whether a set of peers (who has a node,
        # who was told a path) holds them all is then one operation, not one a peer.
        self._peers: list[int] = []
        self._everyone = 0

    def send_due(self) -> None:
        """Send what is due, to every peer that sees it, one SYNC packet per peer."""
        host = self._host
        peers = host.get_peers()
        records = self._baselines.records
        if not peers or not records:
            return
        now = _now()
        own_id = host.own_id()
        self._peers, self._everyone = peers, host.peer_slots().mask_of(peers)
        due: list[_Due] = []
        self._visibility.begin_frame()
        try:
            for sync, out in list(records.items()):
                if sync.get_multiplayer_authority() != own_id or not sync.is_inside_tree():
                    continue
                try:
                    if sync.has_filters() and (
                        sync.visibility_update_mode is not VisibilityUpdateMode.NONE
                    ):
                        sync.update_visibility(0)  # Godot re-evaluates filters every frame
                    item = self._collect(sync, out, now)
                    if item is not None:
                        item.audience = self._audience(sync, peers)
                        due.append(item)
                except Exception as exc:  # a getter or a filter of the user's raised
                    path = sync.get_path()
                    self._failures.log(("state", path), f"{path}: cannot read its state: {exc!r}")
            if due:
                self._send_due(due, peers)
        finally:
            self._visibility.end_frame()

    def forget_peer(self, peer_id: int) -> None:
        self._seq_out.pop(peer_id, None)
        self._failures.forget(("too large", peer_id))

    def clear(self) -> None:
        self._seq_out.clear()

    # Collecting what is due.

    def _collect(self, sync: MultiplayerSynchronizer, out: Outgoing, now: float) -> _Due | None:
        """What ``sync`` has due now: its ALWAYS values (packed), and whether its
        ON_CHANGE values were checked; None if nothing is due."""
        always_due = now - out.last_always >= sync.replication_interval
        delta_due = now - out.last_delta >= sync.delta_interval
        if not (always_due or delta_due):
            return None  # between two intervals: nothing is read
        config = sync.replication_config
        always = None
        if always_due and (props := config.sync_properties()):
            out.last_always = advance(out.last_always, sync.replication_interval, now)
            always = self._host.format.pack_state(sync.get_state(props))
        checked = False
        if delta_due and (props := config.watch_properties()):
            out.last_delta = advance(out.last_delta, sync.delta_interval, now)
            self._check_changes(sync, out, props)
            checked = True
        if always is None and (not checked or (not out.got and out.last_change <= out.got_all)):
            return None  # nothing, or no change that any peer lacks
        return _Due(sync, out, always, checked)

    def _check_changes(
        self, sync: MultiplayerSynchronizer, out: Outgoing, props: list[str]
    ) -> None:
        values = sync.get_state(props)
        pack = self._host.format.pack_value  # equal values, equal bytes (its contract)
        out.checks += 1
        checks = out.checks
        if len(out.packed) != len(values):  # first check, or the config changed
            out.packed = [pack(v) for v in values]
            out.values = values
            out.changed_at = [checks] * len(values)
            out.last_change = checks
            return
        old, packed = out.values, out.packed
        for i, value in enumerate(values):
            if value is old[i] and type(value) in _IMMUTABLE:
                continue  # the very object packed last time: the same bytes
            old[i] = value
            blob = pack(value)
            if blob != packed[i]:
                packed[i] = blob
                out.changed_at[i] = checks
                out.last_change = checks

    def _audience(self, sync: MultiplayerSynchronizer, peers: list[int]) -> list[int] | None:
        """The peers that get ``sync``'s state: those that see it and have its node
        (None: all of ``peers``)."""
        visible = self._visibility.among(sync, peers)
        has = self._spawns.spawn_peers(sync)
        if has is None:  # not spawned here: every peer has it in its scene
            return None if visible is None else [p for p in peers if p in visible]
        if not has:
            return []
        if visible is None:
            if peers is self._peers:  # (always, but for a caller of its own)
                return None if has.covers(self._everyone) else has.among(self._everyone)
            return None if has.issuperset(peers) else [p for p in peers if p in has]
        return [p for p in peers if p in visible and p in has]

    # Sending it.

    def _send_due(self, due: list[_Due], peers: list[int]) -> None:
        """Pack each entry once; send every peer its packets."""
        packet_format = self._host.format
        net_ids = packet_format.sync_net_ids
        shared: _Lists = ([], [])  # entries for every peer
        extra: dict[int, _Lists] = {}  # and the ones only some peers get
        for item in due:
            group = item.audience  # None: every peer
            audience = peers if group is None else group
            if not audience:
                continue
            sync = item.sync
            sync_id = 0
            if net_ids:
                sync_id, ready = self._net_address(sync, audience)
                if ready is not audience:
                    if not ready:
                        continue
                    audience = group = ready
            found = self._found(item, audience, group, packet_format)
            if not found:
                continue
            if not net_ids:
                sync_id = self._path_address(sync, audience)
            for kind, state, checks, peers_of in found:
                data = packet_format.sync_entry(sync_id, state)
                _place(_Entry(data, sync, len(state), checks), kind, peers_of, shared, extra)
        if shared[0] or shared[1] or extra:
            self._send_parts(shared, extra, peers, packet_format)

    def _found(
        self, item: _Due, audience: list[int], group: list[int] | None, packet_format: PacketFormat
    ) -> list[tuple[int, bytes, int | None, list[int] | None]]:
        """``item``'s states for ``audience`` (``group`` None: every peer), as (kind 0:
        always, 1: delta; the state; its check; its peers)."""
        found: list[tuple[int, bytes, int | None, list[int] | None]] = []
        if item.always is not None:
            found.append((0, item.always, None, group))
        if item.checked:
            for peers_of, since in _baselines(item.out, audience, group is None):
                try:
                    state = _changed_state(item.out, since, packet_format)
                except EncodingError as exc:  # more ON_CHANGE properties than it names
                    path = item.sync.get_path()
                    self._failures.log(("delta", path), f"{path}: {exc}")
                    break
                if state is not None:
                    found.append((1, state, item.out.checks, peers_of))
        return found

    def _path_address(self, sync: MultiplayerSynchronizer, audience: list[int]) -> int:
        """``sync``'s path id, the same for all peers; each is told it first."""
        host = self._host
        path_id = host.path_id_for(audience[0], sync)
        told = host.peers_told(path_id)
        if audience is self._peers:  # everyone: the usual case, one operation
            if not told.covers(self._everyone):
                host.tell_path(told.lacking(self._everyone), sync)
        elif not told.issuperset(audience):
            host.tell_path([peer_id for peer_id in audience if peer_id not in told], sync)
        return path_id

    def _net_address(
        self, sync: MultiplayerSynchronizer, audience: list[int]
    ) -> tuple[int, list[int]]:
        """Godot's id for ``sync``, and the peers of ``audience`` that can read it
        (``audience`` itself if all can): its spawn's net id, for every peer that has
        its node; else its path id with bit 31 set, for the peers that confirmed the
        path, the others being told it (``_verify_synchronizer``)."""
        net_id = self._net_ids.own_id(sync)
        if net_id:
            return net_id, audience
        host = self._host
        path_id = self._path_address(sync, audience)
        ready = [peer_id for peer_id in audience if host.path_confirmed(path_id, peer_id)]
        return path_id | PATH_ID_FLAG, audience if len(ready) == len(audience) else ready

    def _send_parts(
        self,
        shared: _Lists,
        extra: dict[int, _Lists],
        peers: list[int],
        packet_format: PacketFormat,
    ) -> None:
        """Split the entries into packets and send them: one body for all the peers
        that get only the shared entries, and packets of their own for the others."""
        limit = max(64, self._host.max_packet_size() - 64)
        common = _split(shared, limit, packet_format)
        common_sent: list[list[int]] = [[] for _ in common]
        sync_packet = packet_format.sync_packet
        for peer_id in peers:
            own = extra.get(peer_id)
            if own is None:
                for part, sent in zip(common, common_sent, strict=True):
                    if self._send_part(peer_id, part, sync_packet):
                        sent.append(peer_id)
            else:
                lists = (shared[0] + own[0], shared[1] + own[1])
                for part in _split(lists, limit, packet_format):
                    if self._send_part(peer_id, part, sync_packet):
                        self._sent(part, [peer_id], everyone=False)
        for part, sent in zip(common, common_sent, strict=True):
            if sent:
                self._sent(part, sent, everyone=len(sent) == len(peers))

    def _send_part(
        self, peer_id: int, part: _Part, sync_packet: Callable[[int, bytes], bytes]
    ) -> bool:
        """Send one SYNC packet, made with the format's ``sync_packet``; False if it
        could not go (logged)."""
        seq = self._seq_out.get(peer_id, 0) + part.step
        self._seq_out[peer_id] = seq
        packet = sync_packet(seq, part.body)
        try:
            self._host.send_command(peer_id, packet)
        except PacketTooLarge as exc:
            # Not skipped in silence: logged, and the changes stay due.
            self._failures.log(
                ("too large", peer_id), f"state for peer {peer_id} does not fit in a packet: {exc}"
            )
            return False
        stats = self._stats.get(peer_id)
        if stats is None:
            stats = self._stats[peer_id] = PeerStats()
        stats.bytes_sent += len(packet)
        stats.packets_sent += 1
        return True

    def _sent(self, part: _Part, peers: list[int], *, everyone: bool) -> None:
        """``part`` reached ``peers`` (``everyone``: every peer there is): count its
        bytes, and move their baselines (only now, so that changes that could not be
        sent stay due)."""
        count = len(peers)
        records = self._baselines.records
        for entry in part.always:
            entry.sync.bytes_sent += entry.size * count
        for entry in part.delta:
            entry.sync.bytes_sent += entry.size * count
            out = records.get(entry.sync)
            if out is None or entry.checks is None:
                continue
            if everyone:
                out.got_all = entry.checks
                out.got.clear()
            else:
                out.got.update(dict.fromkeys(peers, entry.checks))


def _place(
    entry: _Entry, kind: int, group: list[int] | None, shared: _Lists, extra: dict[int, _Lists]
) -> None:
    """File ``entry`` (kind 0: always, 1: delta) for every peer (``group`` None), or
    for each peer of ``group``."""
    if group is None:
        shared[kind].append(entry)
        return
    for peer_id in group:
        lists = extra.get(peer_id)
        if lists is None:
            lists = extra[peer_id] = ([], [])
        lists[kind].append(entry)


def _baselines(
    out: Outgoing, audience: list[int], everyone: bool
) -> list[tuple[list[int] | None, int]]:
    """The peers of ``audience`` (``everyone``: all the peers there are) grouped by
    the check they have of ``out`` (-1: none yet), as (group, check); the group is
    None for every peer."""
    got, got_all = out.got, out.got_all
    if not got:
        return [(None if everyone else audience, got_all)]
    groups: dict[int, list[int]] = {}
    for peer_id in audience:
        since = got.get(peer_id, got_all)
        group = groups.get(since)
        if group is None:
            groups[since] = [peer_id]
        else:
            group.append(peer_id)
    if len(groups) == 1:
        ((since, _),) = groups.items()
        if everyone:  # every peer has the same again: one number says it
            out.got_all = since
            got.clear()
            return [(None, since)]
        return [(audience, since)]
    return [(group, since) for since, group in groups.items()]


def _changed_state(out: Outgoing, since: int, packet_format: PacketFormat) -> bytes | None:
    """The ON_CHANGE state of what changed after check ``since``, or None if nothing
    did."""
    if out.last_change <= since:
        return None
    changed = [i for i, at in enumerate(out.changed_at) if at > since]
    return packet_format.pack_delta(changed, out.packed)


def _split(entries: _Lists, limit: int, packet_format: PacketFormat) -> list[_Part]:
    """Entries grouped in packets of at most ``limit`` bytes (one entry per packet at
    worst: a single entry over the limit goes alone, and the send reports it). Where
    ``delta_packets``, the kinds go apart, ALWAYS entries within ``sync_limit``."""
    room = packet_format.sync_room
    apart = packet_format.delta_packets
    parts: list[_Lists] = []
    current: _Lists = ([], [])
    size = room
    for kind in (0, 1):
        most = limit
        if apart:
            if kind == 0 and packet_format.sync_limit:
                most = min(limit, packet_format.sync_limit)
            elif current[0]:
                parts.append(current)
                current, size = ([], []), room
        for entry in entries[kind]:
            cost = len(entry.data)
            if size + cost > most and (current[0] or current[1]):
                parts.append(current)
                current, size = ([], []), room
            current[kind].append(entry)
            size += cost
    if current[0] or current[1]:
        parts.append(current)
    body = packet_format.sync_body
    return [
        _Part(
            always,
            delta,
            body([e.data for e in always], [e.data for e in delta]),
            1 if always or not apart else 0,
        )
        for always, delta in parts
    ]
