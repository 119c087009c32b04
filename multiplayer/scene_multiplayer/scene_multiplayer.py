"""``SceneMultiplayer``: RPCs, peer bookkeeping and relay on top of a MultiplayerPeer.

It follows Godot's SceneMultiplayer (reference.md §2-§3): the server admits peers and
tells every client who else is there (SYS ADD/DEL); a client reaches other clients
through the server, which stamps the original sender's id on what it relays; RPCs
are checked on the receiver against the receiver's own configuration and authority.

Where Godot silently drops or misroutes, this raises at the call site (a local
mistake) or logs one line naming the peer (a remote one); see docs/godot.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import (
    DecodingError,
    EncodingError,
    InvalidState,
    PacketTooLarge,
    PeerNotFound,
    RemoteError,
)
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
    Status,
    Sync,
    SysAddPeer,
    SysAuth,
    SysDelPeer,
    check_method_name,
    check_wire_path,
    decode,
    encode_call,
    encode_request,
)
from ..protocol.native.codec import Codec, default_codec
from ..replication.replicator import PeerStats, SceneReplicator
from ..scene.api import MultiplayerAPI
from ..scene.rpc import RPCConfig, RPCMode
from ..signals import Signal
from ..transport.peer import (
    TARGET_PEER_SERVER,
    ConnectionStatus,
    MultiplayerPeer,
    OfflineMultiplayerPeer,
    TransferMode,
)
from .arguments import check_count, function_of, handler_of
from .auth import AuthBook
from .cache import IdCache
from .calls import PendingCalls
from .handlers import HandlerRunner
from .latency import Latency
from .limits import PeerLimits, RateLimits
from .refusals import RefusalLog
from .replication_host import SceneReplicationHost

if TYPE_CHECKING:
    from ..scene.node import Node
    from ..scene.tree import SceneTree

__all__ = ["MultiplayerAPI", "SceneMultiplayer"]

logger = logging.getLogger("multiplayer.scene")

PING_CHECKS = 8
"""How often, per ``ping_interval``, poll() looks for peers due a ping."""

_RELIABLE = TransferMode.RELIABLE
_NEIGHBOUR_ONLY = (Relay, SysAddPeer, SysDelPeer, SysAuth)  # never inside a relay
RELAY_ID_ROOM = 5  # a peer id in msgpack: at most 5 bytes


class SceneMultiplayer(MultiplayerAPI):
    """The high-level multiplayer API of a scene tree (or of one of its branches).

    Signals:
        peer_connected(id), peer_disconnected(id): a peer joined or left.
        connected_to_server(), connection_failed(), server_disconnected(): clients only.
        peer_packet(id, data): raw bytes from ``send_bytes`` arrived from peer ``id``.
        peer_authenticating(id): a peer connected and must authenticate (auth_callback set).
        peer_authentication_failed(id): it left, or timed out, before both sides completed.
    """

    def __init__(self, peer: MultiplayerPeer | None = None) -> None:
        self.peer_connected: Signal[int] = Signal("peer_connected")
        self.peer_disconnected: Signal[int] = Signal("peer_disconnected")
        self.connected_to_server: Signal[()] = Signal("connected_to_server")
        self.connection_failed: Signal[()] = Signal("connection_failed")
        self.server_disconnected: Signal[()] = Signal("server_disconnected")
        self.peer_packet: Signal[int, bytes] = Signal("peer_packet")
        self.peer_authenticating: Signal[int] = Signal("peer_authenticating")
        self.peer_authentication_failed: Signal[int] = Signal("peer_authentication_failed")
        self.auth_callback: Callable[[int, bytes], object] | None = None
        self._auth_timeout = 3.0
        self._auth = AuthBook()
        self.server_relay = True
        self.allow_object_decoding = False
        self.codec: Codec = default_codec
        self._root_path = ""
        self._tree: SceneTree | None = None
        # Node lookups both ways, valid while the tree is unchanged (its _version):
        self._nodes: dict[str, Node] = {}  # wire path -> node
        self._wire_paths: dict[Node, str] = {}  # node -> wire path
        self._nodes_version = -1
        self._nodes_tree: SceneTree | None = None
        self._peer: MultiplayerPeer | None = None
        self._status = ConnectionStatus.DISCONNECTED
        self._is_client = False
        self._connected: dict[int, None] = {}  # ordered set of admitted peers
        self._paths = IdCache("path")
        self._names = IdCache("name")
        self._refusals = RefusalLog(logger)
        self.rate_limits = RateLimits()
        self._limits = PeerLimits(self.rate_limits)
        self._kicked: set[int] = set()  # disconnected for misbehaving, leave pending
        self._handlers = HandlerRunner()
        self._packet_mode = TransferMode.RELIABLE
        self._packet_channel = 0
        self._polling = False
        self._pending_leaves: list[int] = []
        self.rpc_timeout = 10.0
        self.validate_arguments = True
        self._calls = PendingCalls()
        self._replicator = SceneReplicator(SceneReplicationHost(self))
        self._latency = Latency()
        self.ping_interval = 1.0
        self._next_ping_check = 0.0
        self.multiplayer_peer = peer if peer is not None else OfflineMultiplayerPeer()

    # Configuration.

    @property
    def multiplayer_peer(self) -> MultiplayerPeer | None:
        """The transport. Replacing it forgets every peer; None closes the old one."""
        return self._peer

    @multiplayer_peer.setter
    def multiplayer_peer(self, peer: MultiplayerPeer | None) -> None:
        old = self._peer
        if peer is old and peer is not None:
            return  # Godot: setting the same peer again changes nothing
        if old is not None:
            old.peer_connected.disconnect(self._on_peer_connected)
            old.peer_disconnected.disconnect(self._on_peer_disconnected)
        if peer is not None and peer.get_connection_status() is ConnectionStatus.DISCONNECTED:
            raise InvalidState(
                "this multiplayer peer is not started: await peer.create_server(...) or "
                "peer.create_client(...) first (Godot requires a connecting or connected peer)"
            )
        self.clear()
        self._peer = peer
        if peer is None:
            if old is not None:
                old.close()
            return
        peer.peer_connected.connect(self._on_peer_connected)
        peer.peer_disconnected.connect(self._on_peer_disconnected)
        self._status = peer.get_connection_status()
        self._is_client = self._status is not ConnectionStatus.DISCONNECTED and not peer.is_server()

    def has_multiplayer_peer(self) -> bool:
        return self._peer is not None

    @property
    def root_path(self) -> str:
        """Absolute path of the node that wire paths are relative to ("" until set)."""
        return self._root_path

    @root_path.setter
    def root_path(self, path: str) -> None:
        if path and not path.startswith("/"):
            raise ValueError(f"root_path must be absolute or empty, not {path!r}")
        self._root_path = path.rstrip("/") if path != "/" else path
        self._nodes_version = -1  # cached lookups were relative to the old root

    def _bind(self, tree: SceneTree | None, root_path: str) -> None:
        self._tree = tree
        self.root_path = root_path

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
        return self._require_peer().refuse_new_connections

    @refuse_new_connections.setter
    def refuse_new_connections(self, refuse: bool) -> None:
        self._require_peer().refuse_new_connections = refuse

    # Queries.

    def get_unique_id(self) -> int:
        """This peer's id (1 on the server; 0 with no multiplayer peer, as in Godot)."""
        return self._peer.get_unique_id() if self._peer is not None else 0

    def is_server(self) -> bool:
        return self.get_unique_id() == TARGET_PEER_SERVER

    def get_peers(self) -> list[int]:
        """The ids of the other peers this one knows (admitted ones, in join order)."""
        return list(self._connected)

    def get_remote_sender_id(self) -> int:
        """The peer whose RPC is running (this peer's own id for ``call_local``), else 0.

        Stays right across ``await`` in ``async def`` handlers.
        """
        return self._handlers.sender()

    # The frame.

    def poll(self) -> None:
        """Take in what arrived: admit and drop peers, run the RPCs, fire the signals;
        then send the replication state that is due."""
        self._poll(replicate=True)

    def _poll(self, replicate: bool) -> None:
        peer = self._peer
        if peer is None:
            return
        tree = self._tree
        if (
            tree is not None
            and tree._version != self._nodes_version
            and (self._nodes or self._wire_paths)
        ):
            self._forget_lookups(tree)  # (drops nodes that left: the cache keeps none alive)
        self._update_status()
        self._polling = True
        try:
            peer.poll()
        finally:
            self._polling = False
        # Leaves reported by this poll wait until the packets that came before them
        # were processed: a peer's last words are not lost (Godot drops them). That
        # holds for a client whose server left, too.
        self._drain(peer)
        # The leavers stay listed until all are removed: what removing one sends to
        # the others (Godot's DEL_PEER) must not go to another leaver, which the
        # transport has already forgotten.
        for peer_id in self._pending_leaves:
            self._remove(peer_id)
        self._pending_leaves = []
        self._check_auth_timeouts()
        self._update_status()
        self._ping_neighbours()
        if replicate and self._status is ConnectionStatus.CONNECTED:
            self._replicator.on_network_process()

    def _drain(self, peer: MultiplayerPeer) -> None:
        # What stays the same for the whole drain is read once: this runs per packet.
        limits = self._limits if self._is_server_now() and self._limits.active() else None
        kicked, auth, connected = self._kicked, self._auth, self._connected
        while peer.get_available_packet_count():
            # mode and channel are kept for the relay, which forwards with them
            sender, data, self._packet_mode, self._packet_channel = peer._take_packet()
            if sender in kicked:
                continue  # being disconnected for misbehaving: the rest is not read
            if sender not in connected and sender not in auth:
                logger.debug("dropped a packet from %d, which is not connected", sender)
                continue
            # (a client does not rate-limit the server: what the server relays from
            # others is limited at the server, per sender)
            if limits is not None and not limits.allow(sender, len(data), time.monotonic()):
                self._refuse(sender, ("rate",), "over its rate limit: packet dropped")
                continue
            try:
                if sender in connected:  # (admitted peers are no longer in auth)
                    self._process_packet(sender, data)
                else:
                    self._process_auth_packet(sender, data)
            except (PacketTooLarge, PeerNotFound, InvalidState) as exc:
                # A reply the transport refused (the peer left, a size limit): the
                # packet that caused it came from the network, so poll() goes on.
                self._refuse(sender, ("reply failed",), f"could not answer a packet: {exc}")
            except Exception:  # a bug of ours: logged with its traceback, poll() goes on
                logger.exception("internal error on a packet from peer %d", sender)
            if peer is not self._peer:
                return  # a handler replaced the peer

    def _update_status(self) -> None:
        peer = self._peer
        if peer is None:
            return
        status = peer.get_connection_status()
        if status is self._status:
            return
        previous, self._status = self._status, status
        if status is ConnectionStatus.CONNECTING or (
            status is ConnectionStatus.CONNECTED and previous is ConnectionStatus.DISCONNECTED
        ):
            self._is_client = status is ConnectionStatus.CONNECTING or not peer.is_server()
        if status is ConnectionStatus.DISCONNECTED:
            was_client = self._is_client
            self.clear()
            if was_client and previous is ConnectionStatus.CONNECTING:
                self.connection_failed.emit()
            elif was_client:
                self.server_disconnected.emit()

    def clear(self) -> None:
        """Forget every peer and every cached id (Godot's ``clear()``)."""
        self._connected.clear()
        self._calls.fail(None)
        self._replicator.clear()
        self._latency.clear()
        self._kicked.clear()
        self._auth.clear()
        self._pending_leaves.clear()
        self._paths.clear()
        self._names.clear()
        self._refusals.clear()
        self._status = ConnectionStatus.DISCONNECTED

    def disconnect_peer(self, peer_id: int) -> None:
        """Disconnect a peer. Its ``peer_disconnected`` follows at a poll (or, for a
        peer still authenticating, ``peer_authentication_failed``).

        Raises:
            PeerNotFound: ``peer_id`` is not connected.
        """
        if peer_id not in self._connected and peer_id not in self._auth:
            raise PeerNotFound(peer_id)
        self._require_peer().disconnect_peer(peer_id)

    # Authentication (Godot's, reference.md §2.10).

    def get_authenticating_peers(self) -> list[int]:
        """The peers that connected and have not completed authentication."""
        return self._auth.peers()

    def send_auth(self, peer_id: int, data: bytes) -> None:
        """Send authentication data to a peer that is authenticating; its
        ``auth_callback(our_id, data)`` runs there.

        Raises:
            InvalidState: No peer; ``peer_id`` is not authenticating; or either side
                already completed.
            ValueError: ``data`` is empty (empty means "completed" on the wire).
        """
        peer = self._require_peer()
        if not data:
            raise ValueError("send_auth needs at least one byte")
        self._auth.check_can_send(peer_id)
        self._put_direct(peer, peer_id, SysAuth(bytes(data)).serialize(self.codec))

    def complete_auth(self, peer_id: int) -> None:
        """Declare this side's authentication of ``peer_id`` complete. The peer is
        admitted (``peer_connected``) once the other side has completed too.

        Raises:
            InvalidState: No peer; ``peer_id`` is not authenticating; or this side
                completed already.
        """
        peer = self._require_peer()
        both = self._auth.complete_local(peer_id)
        self._put_direct(peer, peer_id, SysAuth(b"").serialize(self.codec))
        if both and peer_id not in self._pending_leaves:
            self._admit(peer_id)

    def _put_direct(self, peer: MultiplayerPeer, peer_id: int, packet: bytes) -> None:
        # Authentication is between direct neighbours: never relayed.
        if peer_id in self._pending_leaves:
            return  # it left; peer_authentication_failed follows at the end of poll()
        peer.set_target_peer(peer_id)
        peer.transfer_mode = _RELIABLE
        peer.transfer_channel = 0
        peer.put_packet(packet)

    def _process_auth_packet(self, sender: int, data: bytes) -> None:
        """A packet from a peer still authenticating: only auth data is allowed."""
        try:
            message = decode(data, self.codec, allow_objects=False)
        except DecodingError as exc:
            self._refuse(sender, ("bad auth",), f"malformed packet during authentication: {exc}")
            return
        if not isinstance(message, SysAuth):
            kind = type(message).__name__
            self._refuse(sender, ("not auth", kind), f"{kind} before authentication: dropped")
            return
        if not message.data:
            if self._auth.remote_done(sender):
                self._refuse(sender, ("auth twice",), "completed authentication twice")
            elif self._auth.complete_remote(sender):
                self._admit(sender)
            return
        if self._auth.remote_done(sender):
            self._refuse(sender, ("auth after done",), "authentication data after completing")
            return
        callback = self.auth_callback
        if callback is None:
            self._refuse(sender, ("auth off",), "authentication data, but no auth_callback")
            return
        self._handlers.run(sender, "auth_callback", callback, (sender, message.data))

    def _check_auth_timeouts(self) -> None:
        if not self._auth.peers():
            return
        for peer_id in self._auth.expired(time.monotonic(), self._auth_timeout):
            logger.warning(
                "peer %d: authentication timed out after %s s", peer_id, self._auth_timeout
            )
            peer = self._peer
            if peer is not None and peer.get_connection_status() is ConnectionStatus.CONNECTED:
                peer.disconnect_peer(peer_id)
            self.peer_authentication_failed.emit(peer_id)

    # Membership.

    def _on_peer_connected(self, peer_id: int) -> None:
        if self.auth_callback is None:
            self._admit(peer_id)
            return
        self._auth.begin(peer_id, time.monotonic())
        self.peer_authenticating.emit(peer_id)

    def _on_peer_disconnected(self, peer_id: int) -> None:
        if self._polling:
            self._pending_leaves.append(peer_id)
        else:
            self._remove(peer_id)

    def _admit(self, peer_id: int) -> None:
        if peer_id in self._connected:
            return
        if self._relay_enabled() and self._is_server_now():
            # Godot's _admit_peer: each side learns of the other before any RPC.
            others = self._staying()
            self._put_all(others, SysAddPeer(peer_id).serialize(self.codec))
            for other in others:
                self._put(peer_id, SysAddPeer(other).serialize(self.codec), _RELIABLE, 0)
        self._connected[peer_id] = None
        try:
            self._replicator.on_peer_admitted(peer_id)  # spawns before any user RPC (Godot)
        except Exception:  # a bug of ours must not leave the peer half admitted
            logger.exception("replication failed for new peer %d", peer_id)
        if peer_id == TARGET_PEER_SERVER and not self._is_server_now():
            self.connected_to_server.emit()
        self.peer_connected.emit(peer_id)

    def _remove(self, peer_id: int) -> None:
        if self._auth.drop(peer_id):
            self._forget_books(peer_id)
            self.peer_authentication_failed.emit(peer_id)
            return
        if peer_id not in self._connected:
            return
        del self._connected[peer_id]
        if self._relay_enabled() and self._is_server_now():
            self._put_all(self._staying(), SysDelPeer(peer_id).serialize(self.codec))
        self._replicator.on_peer_removed(peer_id)
        self._paths.forget_peer(peer_id)
        self._names.forget_peer(peer_id)
        self._calls.fail(peer_id)
        self._forget_books(peer_id)
        self._latency.forget(peer_id)
        self.peer_disconnected.emit(peer_id)

    def _forget_books(self, peer_id: int) -> None:
        """Drop what was kept about a peer that left (admitted or not)."""
        self._refusals.forget_peer(peer_id)
        self._limits.forget(peer_id)
        self._kicked.discard(peer_id)
        self._handlers.cancel(peer_id)

    def _is_server_now(self) -> bool:
        return self._peer is not None and self._peer.get_unique_id() == TARGET_PEER_SERVER

    def _relay_enabled(self) -> bool:
        return (
            self.server_relay and self._peer is not None and self._peer.is_server_relay_supported()
        )

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
        config = self._config_for(node, method)
        peer = self._require_peer()
        own_id = peer.get_unique_id()
        if peer.get_connection_status() is not ConnectionStatus.CONNECTED:
            raise InvalidState(
                f"cannot call RPC {method!r}: the multiplayer peer is "
                f"{peer.get_connection_status().name}"
            )
        if peer_id == own_id and not config.call_local:
            raise ValueError(f"RPC {method!r} on yourself is not allowed by selected mode")
        if peer_id > 0 and peer_id != own_id and peer_id not in self._connected:
            raise PeerNotFound(peer_id)
        check_count(node, method, args)
        if peer_id > 0 and peer_id != own_id and not self._replicator.active():
            self._send_rpc([peer_id], node, method, args, config)  # the usual case, direct
        else:
            targets = self._rpc_targets(peer_id, own_id)
            if self._replicator.active():
                targets = self._visible_targets(node, peer_id, targets)
            if targets:
                send = functools.partial(self._send_rpc, targets, node, method, args, config)
                if not self._replicator.hold_rpc(node, send):
                    send()
        local = config.call_local and (
            peer_id == 0 or peer_id == own_id or (peer_id < 0 and peer_id != -own_id)
        )
        if local:
            self._handlers.run(
                own_id, _describe_call(node, method), function_of(node, method), args
            )

    @staticmethod
    def _config_for(node: Node, method: str) -> RPCConfig:
        config = node.get_rpc_config(method)
        if config is None:
            raise ValueError(
                f"Unable to get the RPC configuration for the function {method!r} at path "
                f"{node._describe()}: it is missing or not marked with @rpc / rpc_config"
            )
        return config

    def _rpc_targets(self, peer_id: int, own_id: int) -> list[int]:
        if peer_id == own_id:
            return []
        if peer_id > 0:
            return [peer_id]
        return [p for p in self._connected if p != -peer_id]

    def _visible_targets(self, node: Node, peer_id: int, targets: list[int]) -> list[int]:
        """Broadcasts skip peers that cannot see ``node``; an explicit target that
        cannot see it raises (Godot: "a peer that cannot see this node")."""
        visible = [p for p in targets if self._replicator.rpc_visible(node, p)]
        if peer_id > 0 and not visible and targets:
            raise InvalidState(f"peer {peer_id} cannot see {node._describe()}")
        return visible

    def _send_rpc(
        self, targets: list[int], node: Node, method: str, args: Sequence[Any], config: RPCConfig
    ) -> None:
        packed = self.codec.pack_array_items(args, allow_objects=self.allow_object_decoding)
        if len(targets) > 1 and self._is_server_now():
            # A broadcast from the server: the ids are ours, the same for every peer
            # (each told them first if new to it), so one packet goes to all at once.
            leaving = self._pending_leaves
            direct = [t for t in targets if t not in leaving] if leaving else targets
            if direct:
                path_id, name_id = self._announce_to_all(direct, node, method)
                call = encode_call(path_id, name_id, packed, len(args))
                self._require_peer()._put_many(direct, call, config.transfer_mode, config.channel)
            return
        call = b""
        for target in targets:
            path_id, name_id = self._announce(target, node, method)
            call = call or encode_call(path_id, name_id, packed, len(args))
            self._send(target, call, config.transfer_mode, config.channel)

    def _announce(self, target: int, node: Node, method: str) -> tuple[int, int]:
        """Our ids for ``node`` and ``method``, defined for ``target`` if new to it.

        The definitions go first, reliably: the ordered link delivers them before the
        call, so the call itself never waits for a confirmation.
        """
        path_id = self._announce_path(target, node)
        name_id, new = self._names.id_for(method, target)
        if new:
            self._send(target, SimplifyName(name_id, method).serialize(self.codec), _RELIABLE, 0)
        return path_id, name_id

    def _announce_to_all(self, targets: list[int], node: Node, method: str) -> tuple[int, int]:
        """``_announce`` for many peers of the server at once (each gets the path's
        definition, then the name's, if new to it)."""
        path = self._wire_path(node)
        paths, names = self._paths, self._names
        if not paths.has_local(path):
            node.tree_exiting.connect(lambda: self._retire_path(path), one_shot=True)
        path_id, name_id = paths.local_id(path), names.local_id(method)
        new_path, new_name = paths.tell(path_id, targets), names.tell(name_id, targets)
        if new_path:
            self._put_all(new_path, SimplifyPath(path_id, path).serialize(self.codec))
        if new_name:
            self._put_all(new_name, SimplifyName(name_id, method).serialize(self.codec))
        return path_id, name_id

    def _announce_path(self, target: int, node: Node) -> int:
        """Our id for ``node``'s path, defined for ``target`` first if new to it."""
        path = self._wire_path(node)
        paths = self._paths
        if not paths.has_local(path):
            node.tree_exiting.connect(lambda: self._retire_path(path), one_shot=True)
        path_id, new = paths.id_for(path, target)
        if new:
            self._send(target, SimplifyPath(path_id, path).serialize(self.codec), _RELIABLE, 0)
        return path_id

    def _retire_path(self, path: str) -> None:
        """The node at ``path`` leaves the tree: its id goes, everywhere it was told."""
        retired = self._paths.retire(path)
        if retired is None:
            return
        path_id, told = retired
        for peer_id in told:
            if peer_id in self._connected:
                self._send(peer_id, ForgetPath(path_id).serialize(self.codec), _RELIABLE, 0)

    def _wire_path(self, node: Node) -> str:
        """``node``'s path relative to ``root_path``, as it travels."""
        tree = node._tree
        if tree is not None:
            if tree._version != self._nodes_version or tree is not self._nodes_tree:
                self._forget_lookups(tree)
            cached = self._wire_paths.get(node)
            if cached is not None:
                return cached
        if self._tree is None and tree is not None:
            self._tree = tree
        absolute = node.get_path()
        root = self._root_path
        if not root:
            raise InvalidState(
                "the multiplayer root_path is not set (use SceneTree.set_multiplayer)"
            )
        if absolute == root:
            path = "."
        elif absolute.startswith(root + "/"):
            path = absolute[len(root) + 1 :]
        else:
            raise InvalidState(f"{absolute} is outside this multiplayer's root {root}")
        self._wire_paths[node] = path
        return path

    def _send(self, to: int, packet: bytes, mode: TransferMode, channel: int) -> None:
        if to in self._pending_leaves:
            return  # it left; its peer_disconnected comes at the end of this poll
        if to != TARGET_PEER_SERVER and not self._is_server_now():
            if not self._relay_enabled():
                raise InvalidState("server_relay is off: a client can only reach the server")
            packet = self._wrap_relay(to, packet)
            to = TARGET_PEER_SERVER
        self._put(to, packet, mode, channel)

    def _wrap_relay(self, to: int, packet: bytes) -> bytes:
        """A relay request; raises if the server could not forward it (it writes our
        id, up to 5 bytes, where the target was)."""
        wrapped = Relay(to, packet).serialize(self.codec)
        limit = self._require_peer().get_max_packet_size() - RELAY_ID_ROOM
        if len(wrapped) > limit:
            raise PacketTooLarge(len(wrapped), limit)
        return wrapped

    def _staying(self) -> list[int]:
        """The connected peers, but those whose leave this poll reported."""
        leaving = self._pending_leaves
        return [p for p in self._connected if p not in leaving]

    def _put_all(self, targets: list[int], packet: bytes) -> None:
        """One reliable packet to several peers (the server's direct links)."""
        if targets:
            self._require_peer()._put_many(targets, packet, _RELIABLE, 0)

    def _put(self, to: int, packet: bytes, mode: TransferMode, channel: int) -> None:
        self._require_peer()._put_many((to,), packet, mode, channel)

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
        if not data:
            raise ValueError("send_bytes needs at least one byte")
        peer = self._require_connected("send_bytes")
        own_id = peer.get_unique_id()
        if id == own_id:
            raise ValueError("send_bytes to yourself")
        if id > 0 and id not in self._connected:
            raise PeerNotFound(id)
        packet = Raw(bytes(data)).serialize(self.codec)
        if own_id != TARGET_PEER_SERVER and id <= 0 and self._relay_enabled():
            # One relay request: the server fans it out and reads it too (Godot).
            self._put(TARGET_PEER_SERVER, self._wrap_relay(id, packet), mode, channel)
            return
        for target in self._rpc_targets(id, own_id):
            self._send(target, packet, mode, channel)

    # Receiving.

    def _process_packet(self, sender: int, data: bytes) -> None:
        try:
            message = decode(data, self.codec, allow_objects=self.allow_object_decoding)
        except DecodingError as exc:
            self._refuse(sender, ("bad packet", str(exc)), f"malformed packet: {exc}")
            return
        self._dispatch(sender, message, data)

    def _dispatch(self, sender: int, message: Message, data: bytes) -> None:
        if isinstance(message, RemoteCall):
            self._process_call(sender, message)
        elif isinstance(message, Request):
            self._process_request(sender, message)
        elif isinstance(message, Response):
            self._process_response(sender, message)
        elif isinstance(message, SimplifyPath):
            self._process_simplify_path(sender, message)
        elif isinstance(message, Spawn):
            self._process_spawn(sender, message)
        elif isinstance(message, Sync):
            reason = self._replicator.on_sync(sender, message, len(data))
            if reason is not None:
                self._refuse(sender, ("sync",), reason)
        elif isinstance(message, Despawn):
            reason = self._replicator.on_despawn(sender, message)
            if reason is not None:
                self._refuse(sender, ("despawn",), reason)
        elif isinstance(message, Ping):
            pong = Pong(message.seq, time.monotonic()).serialize(self.codec)
            self._send(sender, pong, _RELIABLE, 0)
        elif isinstance(message, Pong):
            if not self._latency.finish(sender, message.seq, message.time, time.monotonic()):
                self._refuse(sender, ("pong",), "answer to a ping that was never sent")
        elif isinstance(message, ForgetPath):
            if not self._paths.undefine(sender, message.path_id):
                self._refuse(sender, ("forget",), f"forget of unknown path id {message.path_id}")
        elif isinstance(message, SimplifyName):
            self._define(self._names, sender, message.name_id, message.name)
        elif isinstance(message, ConfirmPath):
            self._process_confirm(sender, message)
        elif isinstance(message, Relay):
            self._process_relay(sender, message)
        elif isinstance(message, SysAddPeer | SysDelPeer):
            self._process_membership(sender, message)
        elif isinstance(message, Raw):
            self.peer_packet.emit(sender, message.data)
        elif isinstance(message, SysAuth):
            self._process_late_auth(sender, message)

    def _process_late_auth(self, sender: int, message: SysAuth) -> None:
        # Godot: from an admitted peer only a late, empty "done" is acceptable.
        if message.data:
            self._refuse(sender, ("auth",), "authentication data from an admitted peer")

    def _define(self, cache: IdCache, sender: int, remote_id: int, text: str) -> bool:
        try:
            if cache is self._paths:
                check_wire_path(text)
            else:
                check_method_name(text)
            cache.define(sender, remote_id, text)
        except DecodingError as exc:
            self._refuse(sender, ("define", cache.kind), str(exc))
            return False
        return True

    def _process_simplify_path(self, sender: int, message: SimplifyPath) -> None:
        if not self._define(self._paths, sender, message.path_id, message.path):
            return
        # A missing node is reported with the first call that needs it (one line
        # naming path, method and sender); here the sender is only told.
        ok = self._resolve(message.path) is not None
        self._send(sender, ConfirmPath(message.path_id, ok).serialize(self.codec), _RELIABLE, 0)

    def _process_confirm(self, sender: int, message: ConfirmPath) -> None:
        if not self._paths.confirm(sender, message.path_id, message.ok):
            reason = f"confirmation of path id {message.path_id}: unknown, or confirmed already"
            self._refuse(sender, ("confirm",), reason)
        elif not message.ok:
            # An honest answer, not a violation: a peer may lack a node we call (it
            # was freed there, or never spawned), and must not be kicked for saying so.
            path = self._paths.text_of(message.path_id)
            reason = f"peer has no node at {path!r}: RPCs to it will fail"
            self._refusals.refuse(sender, ("lacks", path), reason)

    def _resolve(self, path: str) -> Node | None:
        tree = self._tree
        if tree is None or not self._root_path:
            return None
        if tree._version != self._nodes_version or tree is not self._nodes_tree:
            self._forget_lookups(tree)
        node = self._nodes.get(path)
        if node is None:
            node = self._find(tree, path)
            if node is not None:
                self._nodes[path] = node
        return node

    def _forget_lookups(self, tree: SceneTree) -> None:
        """The tree changed (or is another): cached node lookups may be wrong."""
        self._nodes.clear()
        self._wire_paths.clear()
        self._nodes_version = tree._version
        self._nodes_tree = tree

    def _find(self, tree: SceneTree, path: str) -> Node | None:
        # Wire paths are checked on arrival (check_wire_path): children names only,
        # so a peer cannot reach outside this API's branch.
        node = tree.root.get_node_or_null(self._root_path)
        if node is None or path == ".":
            return node
        for name in path.split("/"):
            node = node._children.get(name)
            if node is None:
                return None
        return node

    def _process_spawn(self, sender: int, message: Spawn) -> None:
        path = self._paths.lookup(sender, message.spawner_path_id)
        spawner = self._resolve(path) if path is not None else None
        if spawner is None:
            self._refuse(sender, ("spawn", path), f"SPAWN for a spawner not found: {path!r}")
            return
        reason = self._replicator.on_spawn(sender, spawner, message)
        if reason is not None:
            self._refuse(sender, ("spawn", path), f"SPAWN refused: {reason}")

    def _process_call(self, sender: int, call: RemoteCall) -> None:
        target = self._check_call(sender, call.path_id, call.name_id, call.args)
        if isinstance(target, str):
            return
        node, method, function = target
        what = _describe_call(node, method)
        if not self._handlers.run(sender, what, function, call.args):
            self._refuse(sender, ("busy",), f"{what()}: too many calls in progress")

    def _process_request(self, sender: int, request: Request) -> None:
        target = self._check_call(sender, request.path_id, request.name_id, request.args)
        if isinstance(target, str):
            self._respond(sender, request.request_id, Status.REFUSED, target)
            return
        node, method, function = target

        def reply(status: Status, value: Any) -> None:
            self._respond(sender, request.request_id, status, value)

        self._handlers.run(sender, _describe_call(node, method), function, request.args, reply)

    def _check_call(
        self, sender: int, path_id: int, name_id: int, args: Sequence[Any]
    ) -> tuple[Node, str, Callable[..., Any]] | str:
        """The node, method and function a call from ``sender`` may run, or the reason
        it may not (already logged)."""
        path = self._paths.lookup(sender, path_id)
        method = self._names.lookup(sender, name_id)
        if path is None or method is None:
            which = "path" if path is None else "method name"
            return self._refused(sender, ("unknown id", which), f"RPC with an unknown {which} id")
        key = ("call", path, method)
        node = self._resolve(path)
        if node is None:
            return self._refused(sender, key, f"RPC {method!r} on {path!r}: no such node")
        config = node.get_rpc_config(method)
        if config is None:
            return self._refused(sender, key, f"RPC {method!r} on {path!r}: not an RPC method")
        if not self._allowed(sender, node, config):
            mode, authority = config.rpc_mode.name, node.get_multiplayer_authority()
            return self._refused(
                sender,
                key,
                f"RPC {method!r} is not allowed on node {path!r}: mode is {mode}, "
                f"authority is {authority}",
            )
        function, signature = handler_of(node, method)
        error = signature.count_error(len(args))
        if error is None and self.validate_arguments:
            error = signature.type_error(args)
        if error is not None:
            return self._refused(sender, ("args", method), f"RPC {method!r} on {path!r}: {error}")
        return node, method, function

    def _refused(self, sender: int, key: tuple[object, ...], reason: str) -> str:
        self._refuse(sender, key, reason)
        return reason

    @staticmethod
    def _allowed(sender: int, node: Node, config: RPCConfig) -> bool:
        if config.rpc_mode is RPCMode.ANY_PEER:
            return True
        if config.rpc_mode is RPCMode.AUTHORITY:
            return sender == node.get_multiplayer_authority()
        return False

    def get_replication_stats(self, peer_id: int) -> PeerStats:
        """State traffic with ``peer_id``: bytes and packets each way (Godot's network
        profiler); zeros for a peer with none yet."""
        return self._replicator.stats.get(peer_id, PeerStats())

    # Latency and the shared clock.

    def get_rtt(self, peer_id: int) -> float | None:
        """The smoothed round-trip time to ``peer_id`` in seconds (None before any
        measurement). Direct links are measured every ``ping_interval``; others when
        ``ping()`` is called."""
        return self._latency.rtt(peer_id)

    async def ping(self, peer_id: int, timeout: float | None = None) -> float:
        """Measure the round trip to any connected peer now (through the relay for
        another client); the time in seconds.

        Raises:
            PeerNotFound: It is not connected; TimeoutError: no answer in time
            (default ``rpc_timeout``); PeerDisconnected: it left meanwhile.
        """
        self._require_connected("ping")
        if peer_id not in self._connected:
            raise PeerNotFound(peer_id)
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        seq = self._latency.start(peer_id, time.monotonic(), future)
        self._send(peer_id, Ping(seq).serialize(self.codec), _RELIABLE, 0)
        async with asyncio.timeout(self.rpc_timeout if timeout is None else timeout):
            return await future

    def get_clock_offset(self) -> float:
        """The server's clock minus this peer's, in seconds (0.0 on the server, and on
        a client until its first ping to the server came back)."""
        if self.is_server():
            return 0.0
        return self._latency.offset(TARGET_PEER_SERVER) or 0.0

    def get_server_time(self) -> float:
        """The server's clock, as estimated here: schedule events on it so that every
        peer acts at the same moment (seconds; ``time.monotonic()`` on the server)."""
        return time.monotonic() + self.get_clock_offset()

    def _ping_neighbours(self) -> None:
        if self.ping_interval <= 0 or self._status is not ConnectionStatus.CONNECTED:
            return
        now = time.monotonic()
        # A poll can run thousands of times a second (event-driven frames): the peers
        # are looked over at most PING_CHECKS times per ping_interval, not at each.
        if now < self._next_ping_check:
            return
        self._next_ping_check = now + self.ping_interval / PING_CHECKS
        neighbours = self._connected if self._is_server_now() else (TARGET_PEER_SERVER,)
        for peer_id in neighbours:
            if peer_id in self._connected and self._latency.due(peer_id, now, self.ping_interval):
                seq = self._latency.start(peer_id, now)
                self._send(peer_id, Ping(seq).serialize(self.codec), _RELIABLE, 0)
        self._latency.expire(now)

    # Awaitable RPCs.

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
        config = self._config_for(node, method)
        peer = self._require_connected(f"rpc_call {method!r}")
        own_id = peer.get_unique_id()
        if peer_id == own_id:
            if not config.call_local:
                raise ValueError(f"RPC {method!r} on yourself is not allowed by selected mode")
            check_count(node, method, args)
            local: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

            def settle(status: Status, value: Any) -> None:
                if not local.done():
                    if status is Status.OK:
                        local.set_result(value)
                    else:
                        local.set_exception(RemoteError(own_id, *_error(value)))

            function = function_of(node, method)
            self._handlers.run(own_id, f"RPC {method!r}", function, args, settle)
            return await local
        if peer_id <= 0:
            raise ValueError("rpc_call needs one peer id (> 0): a call has one answer")
        if peer_id not in self._connected:
            raise PeerNotFound(peer_id)
        check_count(node, method, args)
        limit = self.rpc_timeout if timeout is None else timeout
        request_id, future = self._calls.open(peer_id)
        try:
            self._send_request(peer_id, request_id, node, method, args)
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            raise TimeoutError(
                f"no answer from peer {peer_id} to {method!r} within {limit} s"
            ) from None
        finally:
            self._calls.close(request_id)

    def _send_request(
        self, peer_id: int, request_id: int, node: Node, method: str, args: Sequence[Any]
    ) -> None:
        path_id, name_id = self._announce(peer_id, node, method)
        packed = self.codec.pack_array_items(args, allow_objects=self.allow_object_decoding)
        packet = encode_request(request_id, path_id, name_id, packed, len(args))
        self._send(peer_id, packet, _RELIABLE, 0)

    def _respond(self, to: int, request_id: int, status: Status, value: Any) -> None:
        if to not in self._connected or to in self._pending_leaves:
            return  # it left: nobody is waiting any more
        try:
            packet = Response(request_id, status, value).serialize(self.codec)
            self._send(to, packet, _RELIABLE, 0)
        except (EncodingError, PacketTooLarge) as exc:
            logger.warning("the result for peer %d cannot be sent: %s", to, exc)
            error = ["EncodingError", f"the result cannot be sent: {exc}"]
            self._send(
                to, Response(request_id, Status.ERROR, error).serialize(self.codec), _RELIABLE, 0
            )

    def _process_response(self, sender: int, response: Response) -> None:
        settled = self._calls.answer(sender, response)
        if settled is None:
            logger.debug("late answer from peer %d (the call timed out)", sender)
        elif not settled:
            self._refuse(sender, ("response",), "answer to a call that was never made")

    def _process_relay(self, sender: int, relay: Relay) -> None:
        # The inner packet is decoded and checked before anything else: peer lists,
        # authentication and relays travel between neighbours only (a relay inside a
        # relay would let one packet multiply, or nest deep), and junk is refused
        # here, where the sender can be held to account, not at the receiver.
        try:
            inner = decode(relay.packet, self.codec, allow_objects=self.allow_object_decoding)
        except DecodingError as exc:
            self._refuse(sender, ("relay junk",), f"malformed relayed packet: {exc}")
            return
        if isinstance(inner, _NEIGHBOUR_ONLY):
            self._refuse(sender, ("nested sys",), "a SYS packet inside a relay")
            return
        if not self._is_server_now():
            # On a client, a relay comes from the server and carries the source.
            if sender != TARGET_PEER_SERVER or relay.peer not in self._connected:
                self._refuse(sender, ("relay",), f"relayed packet from unknown peer {relay.peer}")
                return
            self._dispatch(relay.peer, inner, relay.packet)
            return
        if not self._relay_enabled():
            self._refuse(sender, ("relay off",), "relay request while server_relay is off")
            return
        target = relay.peer
        if target == TARGET_PEER_SERVER or target == sender:
            self._refuse(sender, ("relay target",), f"relay to {target} makes no sense")
            return
        forward = Relay(sender, relay.packet).serialize(self.codec)
        if target > 0:
            if target in self._connected:
                self._forward(sender, target, forward)
            else:  # unknown, or it left while the packet was on its way
                self._refuse(sender, ("relay to", target), f"relay to peer {target}: not here")
            return
        for other in list(self._connected):
            if other != sender and other != -target:
                self._forward(sender, other, forward)
        if target != -TARGET_PEER_SERVER:
            self._dispatch(sender, inner, relay.packet)

    def _forward(self, sender: int, target: int, packet: bytes) -> None:
        try:
            self._put(target, packet, self._packet_mode, self._packet_channel)
        except PacketTooLarge as exc:
            self._refuse(sender, ("relay size",), f"relayed packet too large to forward: {exc}")

    def _process_membership(self, sender: int, message: SysAddPeer | SysDelPeer) -> None:
        if self._is_server_now() or sender != TARGET_PEER_SERVER or not self._relay_enabled():
            self._refuse(sender, ("membership",), "peer list update not from the server")
            return
        if message.peer <= TARGET_PEER_SERVER or message.peer == self.get_unique_id():
            self._refuse(sender, ("membership id",), f"bad peer id {message.peer}")
            return
        if isinstance(message, SysAddPeer):
            self._admit(message.peer)
        else:
            self._remove(message.peer)

    # Errors.

    def _refuse(self, sender: int, key: tuple[object, ...], reason: str) -> None:
        """Log a refused packet (the first of its kind, then at 10, 100, 1000…), and
        disconnect its sender once it has too many violations."""
        self._refusals.refuse(sender, key, reason)
        if sender in self._kicked or not self._is_server_now():
            return  # a client never disconnects the server for what others relayed
        if sender not in self._connected and sender not in self._auth:
            return  # not a peer we keep books on
        if self._limits.violation(sender, time.monotonic()) and self._is_neighbour(sender):
            limits = self.rate_limits
            logger.warning(
                "peer %d: more than %d refused packets within %s s: disconnecting it",
                sender,
                limits.max_violations,
                limits.violation_window,
            )
            self._limits.forget(sender)
            self._kicked.add(sender)
            self._require_peer().kick_peer(sender, "too many invalid packets")

    def _is_neighbour(self, peer_id: int) -> bool:
        """Whether our transport has a link to ``peer_id`` (relayed peers have none)."""
        if self._is_server_now():
            return peer_id in self._connected or peer_id in self._auth
        return peer_id == TARGET_PEER_SERVER

    def _require_connected(self, action: str) -> MultiplayerPeer:
        peer = self._require_peer()
        if peer.get_connection_status() is not ConnectionStatus.CONNECTED:
            status = peer.get_connection_status().name
            raise InvalidState(f"{action}: the multiplayer peer is {status}")
        return peer

    def _require_peer(self) -> MultiplayerPeer:
        if self._peer is None:
            raise InvalidState("this multiplayer API has no multiplayer_peer")
        return self._peer


def _error(value: Any) -> tuple[str, str]:
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]), str(value[1])
    return "RPCRefused", str(value)


MultiplayerAPI.set_default_interface(SceneMultiplayer)


def _describe_call(node: Node, method: str) -> Callable[[], str]:
    """What a call is, for a log line, made only if a line is written."""
    return lambda: f"RPC {method!r} on {node._describe()}"
