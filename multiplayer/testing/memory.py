"""In-memory peers, for testing what sits above the transport without sockets.

A :class:`MemoryNetwork` holds one server and any number of clients. They follow the
WebSocket peer's rules exactly: ids 1, then 2, 3, … in connection order, never reused;
a client's packets go to the server whatever the target; a server routes by target
(> 0 one peer, 0 everyone, < 0 everyone but one); joins, leaves and packets are seen
only at ``poll()``, in the order they happened. Delivery needs no event loop, so
tests of the layers above run synchronously. It is immediate, or, with ``latency``,
takes that many of the receiver's polls, so that tests can open the windows in
which the two sides disagree (a node freed on one side while the other's packet
about it is on its way)::

    network = MemoryNetwork()
    server = network.create_server()
    client = network.create_client()
    network.poll()            # both sides now see each other
"""

from __future__ import annotations

from collections import deque

from ..exceptions import InvalidState, PacketTooLarge
from ..transport.inbox import Packet
from ..transport.peer import TARGET_PEER_SERVER, ConnectionStatus, as_packet
from ..transport.queued_peer import QueuedPeer

__all__ = ["MemoryMultiplayerPeer", "MemoryNetwork"]


class MemoryNetwork:
    """A server and its clients, wired in memory.

    Args:
        max_packet_size: The largest packet ``put_packet`` accepts.
        protocol: The wire profile every peer of the network says it speaks
            (``"native"`` or ``"godot"``), so that SceneMultiplayer encodes for it.
        latency: How many of its own ``poll()`` calls a peer makes before it sees a
            packet or a leave sent to it (0: at the next one). Joins are immediate.
    """

    def __init__(
        self, max_packet_size: int = (1 << 20) - 1, protocol: str = "native", latency: int = 0
    ) -> None:
        if latency < 0:
            raise ValueError("latency must be 0 or more polls")
        self.max_packet_size = max_packet_size
        self.protocol = protocol
        self.latency = latency
        self.server: MemoryMultiplayerPeer | None = None
        self.clients: dict[int, MemoryMultiplayerPeer] = {}
        self._next_id = 2

    def create_server(self) -> MemoryMultiplayerPeer:
        """The network's server, CONNECTED with id 1.

        Raises:
            InvalidState: The network has a server already.
        """
        if self.server is not None and self.server.get_connection_status():
            raise InvalidState("this network already has a server")
        self.server = MemoryMultiplayerPeer(self)
        self.server._status = ConnectionStatus.CONNECTED
        self.server._unique_id = TARGET_PEER_SERVER
        return self.server

    def create_client(self) -> MemoryMultiplayerPeer:
        """A new client, CONNECTING until its next ``poll()``.

        If there is no server, or it refuses new connections, the client's next
        ``poll()`` finds it DISCONNECTED, as a failed WebSocket connection would.
        """
        client = MemoryMultiplayerPeer(self)
        client._status = ConnectionStatus.CONNECTING
        server = self.server
        if server is None or not server.get_connection_status() or server.refuse_new_connections:
            client._inbox.stage_disconnected(TARGET_PEER_SERVER)
            return client
        client._assigned_id = self._next_id
        self._next_id += 1
        self.clients[client._assigned_id] = client
        server._inbox.stage_connected(client._assigned_id)
        client._inbox.stage_connected(TARGET_PEER_SERVER)
        return client

    def peers(self) -> list[MemoryMultiplayerPeer]:
        """The server and every client still on the network."""
        server = [self.server] if self.server is not None else []
        return server + list(self.clients.values())

    def poll(self) -> None:
        """``poll()`` every peer on the network, the server first."""
        for peer in self.peers():
            peer.poll()

    def _peer(self, peer_id: int) -> MemoryMultiplayerPeer | None:
        if peer_id == TARGET_PEER_SERVER:
            return self.server
        return self.clients.get(peer_id)

    def _links_of(self, peer: MemoryMultiplayerPeer) -> list[int]:
        """The peers ``peer`` has a live link to (none once it was cut off)."""
        if peer is self.server:
            return list(self.clients)
        if self.clients.get(peer._unique_id or peer._assigned_id) is peer:
            return [TARGET_PEER_SERVER]
        return []

    def _cut(self, client_id: int, *, notify_server: bool, notify_client: bool) -> None:
        """Remove the link between the server and ``client_id``."""
        client = self.clients.pop(client_id, None)
        if client is None:
            return
        if notify_client:
            client._arrive(TARGET_PEER_SERVER)
        if self.server is not None and notify_server:
            self.server._arrive(client_id)


class MemoryMultiplayerPeer(QueuedPeer):
    """A peer on a :class:`MemoryNetwork`; create it with the network's methods."""

    def __init__(self, network: MemoryNetwork) -> None:
        super().__init__()
        self.network = network
        self._polls = 0
        # What is on its way here: (the poll it arrives at, a packet or a leaver's id)
        self._in_transit: deque[tuple[int, Packet | int]] = deque()

    def poll(self) -> None:
        self._polls += 1
        transit = self._in_transit
        while transit and transit[0][0] <= self._polls:
            item = transit.popleft()[1]
            if isinstance(item, Packet):
                self._inbox.stage_packet(item)
            else:
                self._inbox.stage_disconnected(item)
        super().poll()

    def _arrive(self, item: Packet | int) -> None:
        """A packet, or the leave of peer ``item``, reaches this peer: at its next
        poll, or ``latency`` polls later."""
        latency = self.network.latency
        if not latency and not self._in_transit:
            if isinstance(item, Packet):
                self._inbox.stage_packet(item)
            else:
                self._inbox.stage_disconnected(item)
            return
        self._in_transit.append((self._polls + 1 + latency, item))

    @property
    def protocol(self) -> str:
        return self.network.protocol

    def is_server_relay_supported(self) -> bool:
        return True

    def get_max_packet_size(self) -> int:
        return self.network.max_packet_size

    def put_packet(self, data: bytes) -> None:
        self._check_connected("put_packet")
        data = as_packet(data)
        if len(data) > self.network.max_packet_size:
            raise PacketTooLarge(len(data), self.network.max_packet_size)
        links = self.network._links_of(self)
        packet = Packet(self._unique_id, data, self._transfer_channel, self._transfer_mode)
        for peer_id in self._live_targets(links):
            receiver = self.network._peer(peer_id)
            if receiver is not None and peer_id in links:
                receiver._arrive(packet)

    # The link hooks of QueuedPeer's close/disconnect state machine.

    def _end_link(self, peer_id: int, *, notify: bool, kick_reason: str | None = None) -> None:
        network = self.network
        if peer_id not in network._links_of(self):
            return  # it left already; its leave is reported at the next poll()
        if self is network.server:
            network._cut(peer_id, notify_server=notify, notify_client=True)
        else:  # a client, connected or still connecting
            own_id = self._unique_id or self._assigned_id
            network._cut(own_id, notify_server=True, notify_client=notify)

    def _end_every_link(self) -> None:
        for peer_id in self.network._links_of(self):
            self._end_link(peer_id, notify=False)
