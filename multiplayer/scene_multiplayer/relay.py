"""Where packets go: this API's two send verbs, and the server's relay.

A packet leaves in one of two ways:

* :meth:`ServerRelay.write` puts it on this peer's own links, as it is (the
  transport's ``_put_many``). Only the server has a link to every peer.
* :meth:`ServerRelay.route` delivers it to any one peer: written directly to a
  neighbour, or, from a client to another client, wrapped in a SYS RELAY for the
  server to forward (Godot's ``SceneMultiplayer::send_command``; the forwarding is
  its ``_process_sys``, case ``SYS_COMMAND_RELAY``).

The rest is the relay itself. The server forwards a RELAY with the original sender's
id in place of the target's, with the transfer mode and channel it arrived on, and
reads a broadcast itself unless it was excluded; a client reads a relayed packet as
coming from that original sender, so everything above it sees the true sender. With
the relay on, the server also keeps every client's peer list, so that clients can
name each other (SYS ADD_PEER / DEL_PEER, in :mod:`.membership`).

Unlike Godot, the inner packet is decoded and checked at the server before it is
forwarded: junk is refused where the sender can be held to account, and SYS packets
never travel inside a relay (one packet could otherwise multiply, or nest deep).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..exceptions import DecodingError, InvalidState, PacketTooLarge, PeerNotFound
from ..protocol.format import PacketFormat
from ..protocol.messages import (
    Message,
    Raw,
    Relay,
    SysAddPeer,
    SysAddPeers,
    SysAuth,
    SysDelPeer,
)
from ..transport.peer import TARGET_PEER_SERVER, ConnectionStatus, MultiplayerPeer, TransferMode
from .refusals import Refusal

if TYPE_CHECKING:
    from .refusals import Referee
    from .scene_multiplayer import SceneMultiplayer
    from .session import PeerSession, SessionTable

__all__ = ["Dispatch", "ServerRelay"]

logger = logging.getLogger("multiplayer.scene")

Dispatch = Callable[["PeerSession", Message, int], None]
"""Reads a message of some size as coming from a peer's session (raises Refusal)."""

_RELIABLE = TransferMode.RELIABLE
_NEIGHBOUR_ONLY = (Relay, SysAddPeer, SysAddPeers, SysDelPeer, SysAuth)


def _no_peer(targets: Sequence[int], data: bytes, mode: TransferMode, channel: int) -> None:
    raise InvalidState("this multiplayer API has no multiplayer_peer")


class ServerRelay:
    """Sends for one API, and relays for the others when it is the server."""

    def __init__(
        self,
        api: SceneMultiplayer,
        sessions: SessionTable,
        referee: Referee,
        dispatch: Dispatch,
        packet_format: PacketFormat,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._referee = referee
        self._dispatch = dispatch
        self.peer: MultiplayerPeer | None = None
        self.format = packet_format
        """How packets are laid out: the format of the peer's wire profile."""
        self.own_id = 0
        self.is_server = False
        """Whether this peer is the server, as of the last status change; kept when
        the peer disconnects, to tell which signal that is."""
        self.write = _no_peer
        """Put a packet on our links to ``targets``, as is: ``write(targets, packet,
        mode, channel)`` (bound to the peer's ``_put_many`` while there is one)."""
        self.mode = _RELIABLE
        self.channel = 0
        """The transfer mode and channel of the packet being read: a relay forwards
        with them (Godot)."""
        self._supported = False

    def bind(self, peer: MultiplayerPeer | None, packet_format: PacketFormat) -> None:
        """Send with ``peer`` and ``packet_format`` from now on."""
        self.peer = peer
        self.format = packet_format
        self.bind_write()
        self._supported = peer is not None and peer.is_server_relay_supported()
        if peer is not None:
            self.set_own_id(peer.get_unique_id())

    def bind_write(self) -> None:
        """``write`` puts straight on the peer's links (membership may stand in for
        it a moment: see ``Membership._announce_join``)."""
        peer = self.peer
        self.write = _no_peer if peer is None else peer._put_many

    def reachable(self, peers: set[int]) -> set[int]:
        """Those of ``peers`` the transport can still put packets for (it forgets a
        leaver as it reports the leave, before the API removes it); all of them
        for a transport that does not say."""
        known = getattr(self.peer, "_known", None)
        return peers if known is None else {peer for peer in peers if peer in known}

    def set_own_id(self, own_id: int) -> None:
        self.own_id = own_id
        self.is_server = own_id == TARGET_PEER_SERVER

    def enabled(self) -> bool:
        """Whether packets between clients go through the server."""
        return self._api.server_relay and self._supported

    def require_peer(self) -> MultiplayerPeer:
        if self.peer is None:
            raise InvalidState("this multiplayer API has no multiplayer_peer")
        return self.peer

    # What every send checks first.

    def check_send(self, peer_id: int, action: str, what: str = "") -> int:
        """This peer's id, once sending to ``peer_id`` (0, < 0, or a peer) is possible.

        Raises:
            InvalidState: No peer, or it is not connected.
            PeerNotFound: ``peer_id`` > 0 is neither admitted nor this peer.
        """
        peer = self.peer
        if peer is None:
            raise InvalidState("this multiplayer API has no multiplayer_peer")
        status = peer.get_connection_status()
        if status is not ConnectionStatus.CONNECTED:
            action += f" {what!r}" if what else ""
            raise InvalidState(f"cannot {action}: the multiplayer peer is {status.name}")
        own_id = peer.get_unique_id()
        if own_id != self.own_id:  # (a status change the last poll has not seen)
            self.set_own_id(own_id)
        if peer_id > 0 and peer_id != own_id and peer_id not in self._sessions.admitted:
            raise PeerNotFound(peer_id)
        return own_id

    def targets(self, peer_id: int, own_id: int) -> list[int]:
        """The peers ``peer_id`` names, by Godot's rules: > 0 that peer, 0 every
        admitted peer, < 0 all but ``-peer_id``; never this peer itself."""
        if peer_id == own_id:
            return []
        if peer_id > 0:
            return [peer_id]
        return [p for p in self._sessions.admitted if p != -peer_id]

    # The two send verbs (``write`` is bound in ``bind``).

    def route(self, to: int, packet: bytes, mode: TransferMode, channel: int) -> None:
        """Deliver ``packet`` to peer ``to``, through the server if it is another client.

        Raises:
            InvalidState: ``to`` is another client and the relay is off.
            PacketTooLarge: It does not fit, relay header included.
        """
        if to in self._sessions.leaving:
            return  # it left; its peer_disconnected comes at the end of this poll
        if to != TARGET_PEER_SERVER and not self.is_server:
            if not self.enabled():
                raise InvalidState("server_relay is off: a client can only reach the server")
            packet = self.wrap(to, packet)
            to = TARGET_PEER_SERVER
        self.write((to,), packet, mode, channel)

    def wrap(self, to: int, packet: bytes) -> bytes:
        """A relay request; raises if the server could not forward it (it writes our
        id where the target was, which may take more bytes).

        Raises:
            PacketTooLarge: The forwarded packet would not fit.
        """
        wrapped = self.format.encode(Relay(to, packet))
        limit = self.require_peer().get_max_packet_size() - self.format.relay_growth
        if len(wrapped) > limit:
            raise PacketTooLarge(len(wrapped), limit)
        return wrapped

    def send_bytes(self, data: bytes, to: int, mode: TransferMode, channel: int) -> None:
        """See :meth:`SceneMultiplayer.send_bytes`."""
        if not data:
            raise ValueError("send_bytes needs at least one byte")
        own_id = self.check_send(to, "send_bytes")
        if to == own_id:
            raise ValueError("send_bytes to yourself")
        packet = self.format.encode(Raw(bytes(data)))
        if not self.is_server and to <= 0 and self.enabled():
            # One relay request: the server fans it out and reads it too (Godot).
            self.write((TARGET_PEER_SERVER,), self.wrap(to, packet), mode, channel)
            return
        for target in self.targets(to, own_id):
            self.route(target, packet, mode, channel)

    # Relayed packets.

    def on_relay(self, session: PeerSession, relay: Relay) -> None:
        """A RELAY: forwarded (and perhaps read) on the server, read on a client."""
        try:
            inner = self.format.decode(relay.packet, allow_objects=self._api.allow_object_decoding)
        except DecodingError as exc:
            raise Refusal(("relay junk",), f"malformed relayed packet: {exc}") from None
        if isinstance(inner, _NEIGHBOUR_ONLY):
            raise Refusal(("nested sys",), "a SYS packet inside a relay")
        if not self.is_server:
            # On a client, a relay comes from the server and carries the source.
            source = self._sessions.admitted.get(relay.peer)
            if session.peer_id != TARGET_PEER_SERVER or source is None:
                raise Refusal(("relay",), f"relayed packet from unknown peer {relay.peer}")
            self._read_here(source, inner, len(relay.packet))
            return
        if not self.enabled():
            raise Refusal(("relay off",), "relay request while server_relay is off")
        self._forward(session, relay, inner)

    def _forward(self, session: PeerSession, relay: Relay, inner: Message) -> None:
        sender, target = session.peer_id, relay.peer
        if target == TARGET_PEER_SERVER or target == sender:
            raise Refusal(("relay target",), f"relay to {target} makes no sense")
        forward = self.format.encode(Relay(sender, relay.packet))
        if target > 0:
            if target not in self._sessions.admitted:
                if target in self._sessions.departed:
                    # Godot too drops it: the target left while the packet was on its
                    # way, an honest race that is not the sender's fault.
                    logger.debug("relay from %d to %d, which left: dropped", sender, target)
                    return
                raise Refusal(("relay to", target), f"relay to peer {target}: not here")
            self._write_forward(sender, target, forward)
            return
        for other in self._sessions.staying():
            if other != sender and other != -target:
                self._write_forward(sender, other, forward)
        if target != -TARGET_PEER_SERVER:  # Godot: -1 excludes the server from reading it
            self._read_here(session, inner, len(relay.packet))

    def _read_here(self, source: PeerSession, message: Message, size: int) -> None:
        """Read a relayed message as its original sender's: a refusal is theirs."""
        try:
            self._dispatch(source, message, size)
        except Refusal as refusal:
            self._referee.judge(source.peer_id, refusal)

    def _write_forward(self, sender: int, target: int, packet: bytes) -> None:
        try:
            self.route(target, packet, self.mode, self.channel)  # (skips a leaver)
        except PacketTooLarge as exc:
            reason = f"relayed packet too large to forward: {exc}"
            self._referee.refuse(sender, ("relay size",), reason)
        except PeerNotFound:
            # The transport lost the target before its leave was read here: the same
            # race as a relay to a peer that left, and no fault of the sender.
            logger.debug("relay from %d to %d, which is gone: dropped", sender, target)
