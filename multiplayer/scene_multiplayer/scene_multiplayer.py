"""``SceneMultiplayer``: the high-level multiplayer API of a scene tree (Godot's).

It is cut where Godot's modules/multiplayer cuts it (scene_multiplayer.cpp,
scene_cache_interface.cpp, scene_rpc_interface.cpp, scene_replication_interface.cpp).
This class is the facade: the public API, the signals, the poll loop and the
connection status. The work is done by its parts:

* :class:`~.cache.PathCache` (SceneCacheInterface): path and name ids, node lookups;
* :class:`~.rpc_interface.RPCInterface` (SceneRPCInterface): calls out and in;
* :class:`~.auth.Authenticator`: the pending peers' SYS AUTH exchange;
* :class:`~.relay.ServerRelay`: the two send verbs (route, write) and relaying;
* :class:`~.membership.Membership`: peers admitted and removed, the peer lists;
* :class:`~.latency.Pinger`: round trips and the server's clock;
* :class:`~.reader.PacketReader`: each packet that arrived through its sender's
  budgets, decoded and handed to the part that reads it;
* :class:`~.refusals.Referee`: refused packets, and the peers they get disconnected;
* the replicator (SceneReplicationInterface), which sees the API through a
  :class:`~.replication_host.SceneReplicationHost`;
* one :class:`~.session.PeerSession` per peer, whatever part it concerns.

Where Godot silently drops or misroutes, this raises at the call site (a local
mistake) or logs one line naming the peer (a remote one); see docs/godot.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidState
from ..peer_sets import PeerSlots
from ..protocol.format import get_format
from ..protocol.messages import (
    ConfirmPath,
    Despawn,
    ForgetPath,
    Message,
    Ping,
    Pong,
    Raw,
    Relay,
    RemoteCall,
    Request,
    Response,
    SimplifyName,
    SimplifyPath,
    Spawn,
    Sync,
    SysAddPeer,
    SysAddPeers,
    SysAuth,
    SysDelPeer,
)
from ..protocol.native.codec import Codec, default_codec
from ..replication.replicator import PeerStats, SceneReplicator
from ..scene.api import MultiplayerAPI
from ..signals import Signal
from ..transport.peer import (
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    OfflineMultiplayerPeer,
    TransferMode,
)
from .auth import Authenticator
from .cache import IdCache, PathCache
from .handlers import HandlerRunner
from .latency import Pinger
from .limits import RateLimits
from .membership import Membership
from .reader import PacketReader
from .refusals import Referee, RefusalLog
from .relay import ServerRelay
from .replication_host import SceneReplicationHost
from .rpc_interface import RPCInterface
from .session import PeerSession, SessionTable

if TYPE_CHECKING:
    from ..protocol.format import PacketFormat
    from ..scene.node import Node
    from ..scene.tree import SceneTree

__all__ = ["MultiplayerAPI", "SceneMultiplayer"]

logger = logging.getLogger("multiplayer.scene")

Receiver = Callable[[PeerSession, Any], None]


class SceneMultiplayer(MultiplayerAPI):
    """The high-level multiplayer API of a scene tree (or of one of its branches).

    Signals: MultiplayerAPI's, and
        peer_packet(id, data): raw bytes from ``send_bytes`` arrived from peer ``id``.
        peer_authenticating(id): a peer connected and must authenticate (auth_callback set).
        peer_authentication_failed(id): it left, or timed out, before both sides completed.
    """

    def __init__(self, peer: MultiplayerPeer | None = None) -> None:
        super().__init__()
        self.peer_packet: Signal[int, bytes] = Signal("peer_packet")
        self.peer_authenticating: Signal[int] = Signal("peer_authenticating")
        self.peer_authentication_failed: Signal[int] = Signal("peer_authentication_failed")
        self.auth_callback: Callable[[int, bytes], object] | None = None
        self.server_relay = True
        self.allow_object_decoding = False
        self.validate_arguments = True
        self.rpc_timeout = 10.0
        self.ping_interval = 1.0
        self.rate_limits = RateLimits()
        self._auth_timeout = 3.0
        self._codec: Codec = default_codec
        self._status = ConnectionStatus.DISCONNECTED
        self._sessions = sessions = SessionTable(self.rate_limits)
        self._refusals = RefusalLog(logger)
        self._referee = Referee(self, sessions, self._refusals)
        self._handlers = HandlerRunner()
        # Until a peer names its profile, packets would be the native profile's.
        native = get_format("native")(self._codec)
        self._relay = relay = ServerRelay(self, sessions, self._referee, self._dispatch, native)
        # Which peers have each path and spawned node: a bit per peer (peer_sets).
        self._peer_slots = PeerSlots()
        self._cache = PathCache(sessions, relay, self._refusals, self._peer_slots)
        self._host = SceneReplicationHost(self)
        self._replicator = SceneReplicator(self._host)
        self._members = Membership(
            self, sessions, relay, self._cache, self._replicator, self._refusals
        )
        self._rpc = RPCInterface(
            self, sessions, relay, self._cache, self._handlers, self._replicator, self._referee
        )
        self._auth = Authenticator(self, sessions, relay, self._handlers, self._members)
        self._pinger = Pinger(self, sessions, relay)
        self._receivers = _receivers(self)
        self._reader = PacketReader(self, sessions, relay, self._referee, self._handlers)
        self.multiplayer_peer = peer if peer is not None else OfflineMultiplayerPeer()

    # Configuration.

    @property
    def multiplayer_peer(self) -> MultiplayerPeer | None:
        """The transport. Replacing it forgets every peer; None closes the old one.

        Raises:
            InvalidState: The new peer is not started (Godot requires a connecting
                or connected peer).
            ValueError: It speaks a wire profile no packet format is registered for.
        """
        return self._relay.peer

    @multiplayer_peer.setter
    def multiplayer_peer(self, peer: MultiplayerPeer | None) -> None:
        old = self._relay.peer
        if peer is old and peer is not None:
            return  # Godot: setting the same peer again changes nothing
        factory = get_format(peer.protocol) if peer is not None else None
        if peer is not None and peer.get_connection_status() is ConnectionStatus.DISCONNECTED:
            raise InvalidState(
                "this multiplayer peer is not started: await peer.create_server(...) or "
                "peer.create_client(...) first (Godot requires a connecting or connected peer)"
            )
        self._members.listen(old, peer)
        self.clear()
        self._use(peer, factory(self._codec) if factory is not None else self._relay.format)
        if peer is None:
            if old is not None:
                old.close()
            return
        self._status = peer.get_connection_status()

    @property
    def codec(self) -> Codec:
        """Packs and unpacks values (limits, registered types); the packet format of
        the peer's wire profile is built around it."""
        return self._codec

    @codec.setter
    def codec(self, codec: Codec) -> None:
        self._codec = codec
        self._use(self._relay.peer, get_format(self._relay.format.name)(codec))

    def _use(self, peer: MultiplayerPeer | None, packet_format: PacketFormat) -> None:
        """Send with ``peer`` and ``packet_format`` (the hot path's lookups are made here)."""
        self._relay.bind(peer, packet_format)
        self._rpc.bind(packet_format)

    def has_multiplayer_peer(self) -> bool:
        return self._relay.peer is not None

    @property
    def root_path(self) -> str:
        """Absolute path of the node that wire paths are relative to ("" until set)."""
        return self._cache.root_path

    @root_path.setter
    def root_path(self, path: str) -> None:
        if path and not path.startswith("/"):
            raise ValueError(f"root_path must be absolute or empty, not {path!r}")
        self._cache.set_root(path.rstrip("/") if path != "/" else path)

    def _bind(self, tree: SceneTree | None, root_path: str) -> None:
        self._cache.tree = tree
        self.root_path = root_path

    @property
    def _tree(self) -> SceneTree | None:
        return self._cache.tree  # (the tree's tests check what it bound)

    @property
    def _paths(self) -> IdCache:
        return self._cache.paths  # (replication's tests read path ids)

    @property
    def auth_timeout(self) -> float:
        """Seconds a peer has to complete authentication (default 3.0; 0: no limit)."""
        return self._auth_timeout

    @auth_timeout.setter
    def auth_timeout(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"auth_timeout must be 0 or more, not {seconds}")
        self._auth_timeout = float(seconds)

    @property
    def refuse_new_connections(self) -> bool:
        return self._relay.require_peer().refuse_new_connections

    @refuse_new_connections.setter
    def refuse_new_connections(self, refuse: bool) -> None:
        self._relay.require_peer().refuse_new_connections = refuse

    # Queries.

    def get_unique_id(self) -> int:
        """This peer's id (1 on the server; 0 with no multiplayer peer, as in Godot)."""
        peer = self._relay.peer
        return peer.get_unique_id() if peer is not None else 0

    def is_server(self) -> bool:
        return self.get_unique_id() == TARGET_PEER_SERVER

    def get_peers(self) -> list[int]:
        """The ids of the other peers this one knows (admitted ones, in join order)."""
        return list(self._sessions.admitted)

    def get_peer_refusals(self, peer_id: int) -> int:
        """How many packets from ``peer_id`` were refused so far (bad, unknown,
        unauthorized or over the rate limits: each is logged, or counted in a
        summary line); 0 for a peer unknown or gone."""
        return self._refusals.refused(peer_id)

    def get_authenticating_peers(self) -> list[int]:
        """The peers that connected and have not completed authentication."""
        return self._sessions.authenticating()

    def get_remote_sender_id(self) -> int:
        """The peer whose RPC is running (this peer's own id for ``call_local``), else 0.

        Stays right across ``await`` in ``async def`` handlers.
        """
        return self._handlers.sender()

    def get_replication_stats(self, peer_id: int) -> PeerStats:
        """State traffic with ``peer_id``: bytes and packets each way (Godot's network
        profiler); zeros for a peer with none yet."""
        return self._replicator.stats.get(peer_id, PeerStats())

    def get_rtt(self, peer_id: int) -> float | None:
        """The smoothed round-trip time to ``peer_id`` in seconds (None before any
        measurement). Direct links are measured every ``ping_interval``; others when
        ``ping()`` is called."""
        return self._pinger.rtt(peer_id)

    def get_clock_offset(self) -> float:
        """The server's clock minus this peer's, in seconds (0.0 on the server, and on
        a client until its first ping to the server came back)."""
        return self._pinger.clock_offset()

    def get_server_time(self) -> float:
        """The server's clock, as estimated here: schedule events on it so that every
        peer acts at the same moment (seconds; ``time.monotonic()`` on the server)."""
        return time.monotonic() + self.get_clock_offset()

    # Sending.

    def rpc(self, peer_id: int, node: Node, method: str, args: Sequence[Any] = ()) -> None:
        """Call ``method`` of ``node`` on ``peer_id`` (0 all, < 0 all but ``-peer_id``).

        Runs it here too, synchronously and after sending, if it is ``call_local`` and
        this peer is among the targets (Godot's order).

        Raises:
            InvalidState: No peer, not connected, or ``node`` is not in the tree.
            ValueError: ``method`` is not an RPC of ``node``, or it targets only this
                peer and is not ``call_local``.
            PeerNotFound: ``peer_id`` > 0 is neither connected nor this peer.
            EncodingError: An argument cannot be sent.
        """
        self._rpc.rpc(peer_id, node, method, args)

    async def rpc_call(
        self,
        peer_id: int,
        node: Node,
        method: str,
        args: Sequence[Any] = (),
        timeout: float | None = None,
    ) -> Any:
        """Call ``method`` of ``node`` on one peer and return what it returns.

        The handler may be ``async def``. The same permission rules as ``rpc_id``
        apply. Calling this peer's own id runs the method here (it must be
        ``call_local``).

        Raises:
            RemoteError: The handler raised there (type name and message).
            RPCRefused: The peer refused the call.
            PeerDisconnected: The peer left (or we did) before answering.
            TimeoutError: No answer within ``timeout`` (default ``rpc_timeout``).
            InvalidState, ValueError, PeerNotFound, EncodingError: as for ``rpc``.
        """
        return await self._rpc.rpc_call(peer_id, node, method, args, timeout)

    def send_bytes(
        self,
        data: bytes,
        id: int = 0,  # Godot's name, shadowing the builtin
        mode: TransferMode = TransferMode.RELIABLE,
        channel: int = 0,
    ) -> None:
        """Send raw bytes; the receivers get ``peer_packet(sender, data)``.

        ``id`` as for ``rpc_id``: > 0 one peer, 0 everyone, < 0 everyone but ``-id``.
        From a client to other clients the bytes go through the server's relay, and
        the receivers see the original sender.

        Raises:
            ValueError: ``data`` is empty, or ``id`` is this peer.
            InvalidState: No peer, or not connected.
            PeerNotFound: ``id`` > 0 is not a connected peer.
        """
        self._relay.send_bytes(data, id, mode, channel)

    async def ping(self, peer_id: int, timeout: float | None = None) -> float:
        """Measure the round trip to any connected peer now (through the relay for
        another client); the time in seconds.

        Raises:
            PeerNotFound: It is not connected; TimeoutError: no answer in time
            (default ``rpc_timeout``); PeerDisconnected: it left meanwhile.
        """
        return await self._pinger.ping(peer_id, timeout)

    def send_auth(self, peer_id: int, data: bytes) -> None:
        """Send authentication data to a peer that is authenticating; its
        ``auth_callback(our_id, data)`` runs there.

        Raises:
            InvalidState: No peer; ``peer_id`` is not authenticating; or either side
                already completed.
            ValueError: ``data`` is empty (empty means "completed" on the wire).
        """
        self._auth.send_auth(peer_id, data)

    def complete_auth(self, peer_id: int) -> None:
        """Declare this side's authentication of ``peer_id`` complete. The peer is
        admitted (``peer_connected``) once the other side has completed too.

        Raises:
            InvalidState: No peer; ``peer_id`` is not authenticating; or this side
                completed already.
        """
        self._auth.complete_auth(peer_id)

    def disconnect_peer(self, peer_id: int) -> None:
        """Disconnect a peer. Its ``peer_disconnected`` follows at a poll (or, for a
        peer still authenticating, ``peer_authentication_failed``).

        Raises:
            PeerNotFound: ``peer_id`` is not connected.
        """
        self._members.disconnect(peer_id)

    # The frame.

    def poll(self) -> None:
        """Take in what arrived: admit and drop peers, run the RPCs, fire the signals;
        then send the replication state that is due."""
        self._poll(replicate=True)

    def _poll(self, replicate: bool) -> None:
        peer = self._relay.peer
        if peer is None:
            return
        self._cache.refresh()
        self._update_status()
        self._members.polling = True
        try:
            peer.poll()
        finally:
            self._members.polling = False
            if replicate:
                # The joins since the last frame, told together. (Between frames, an
                # event-driven tree takes packets in as they come, a join or two at a
                # time: told at once, a burst of joins costs a message per peer and
                # join. Any packet written meanwhile sends them first: see
                # Membership._announce_join.)
                self._members.flush_joins()
        # Leaves reported by this poll wait until the packets that came before them
        # were read: a peer's last words are not lost (Godot drops them). A drain
        # cut short by a peer's time budget leaves them for a later poll.
        if self._reader.drain(peer):
            self._members.remove_leavers()
        self._auth.check_timeouts()
        self._refusals.flush()
        self._update_status()
        if self._status is ConnectionStatus.CONNECTED:
            self._pinger.ping_neighbours()
            if replicate:
                self._replicator.on_network_process()

    def _dispatch(self, session: PeerSession, message: Message, size: int) -> None:
        """Read ``message`` (of ``size`` bytes) from ``session``'s peer (or raise Refusal)."""
        if type(message) is Sync:
            self._host.on_sync(session, message, size)
        else:
            self._receivers[type(message)](session, message)

    def _update_status(self) -> None:
        peer = self._relay.peer
        if peer is None:
            return
        status = peer.get_connection_status()
        if status is self._status:
            return
        previous, self._status = self._status, status
        if status is not ConnectionStatus.DISCONNECTED:
            self._relay.set_own_id(peer.get_unique_id())
            return
        was_client = not self._relay.is_server  # (its role while it was connected)
        self.clear()
        if was_client and previous is ConnectionStatus.CONNECTING:
            self.connection_failed.emit()
        elif was_client:
            self.server_disconnected.emit()

    def clear(self) -> None:
        """Forget every peer and every cached id (Godot's ``clear()``): their calls
        and pings fail, their handlers are cancelled, their books go."""
        self._cache.clear()  # (first: each peer's teardown then has nothing to find there)
        self._refusals.clear()
        self._members.end_all()
        self._replicator.clear()
        self._status = ConnectionStatus.DISCONNECTED


def _receivers(api: SceneMultiplayer) -> dict[type[Any], Receiver]:
    """Who reads each message from an admitted peer (SYNC, and REMOTE_CALL on the
    hot path, are read before this table is looked at)."""
    rpc, cache, relay, pinger, host = api._rpc, api._cache, api._relay, api._pinger, api._host
    return {
        RemoteCall: rpc.on_call,
        Request: rpc.on_request,
        Response: rpc.on_response,
        SimplifyPath: cache.on_simplify_path,
        SimplifyName: cache.on_simplify_name,
        ConfirmPath: cache.on_confirm_path,
        ForgetPath: cache.on_forget_path,
        Spawn: host.on_spawn,
        Despawn: host.on_despawn,
        Ping: pinger.on_ping,
        Pong: pinger.on_pong,
        Raw: lambda session, message: api.peer_packet.emit(session.peer_id, message.data),
        Relay: relay.on_relay,
        SysAddPeer: api._members.on_peer_list,
        SysAddPeers: api._members.on_peer_list,
        SysDelPeer: api._members.on_peer_list,
        SysAuth: api._auth.on_late_auth,
    }


MultiplayerAPI.set_default_interface(SceneMultiplayer)
