"""Tests for the in-memory peers of :mod:`multiplayer.testing`."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import InvalidState, PacketTooLarge, PeerNotFound
from multiplayer.testing import MemoryMultiplayerPeer, MemoryNetwork
from multiplayer.transport.peer import ConnectionStatus, TransferMode


class Events:
    """Records a peer's peer_connected and peer_disconnected emissions in order."""

    def __init__(self, peer: MemoryMultiplayerPeer) -> None:
        self.log: list[tuple[str, int]] = []
        peer.peer_connected.connect(lambda peer_id: self.log.append(("connected", peer_id)))
        peer.peer_disconnected.connect(lambda peer_id: self.log.append(("disconnected", peer_id)))


def received(peer: MemoryMultiplayerPeer) -> list[tuple[int, bytes]]:
    """Take every available packet as (sender, data)."""
    packets = []
    while peer.get_available_packet_count():
        sender = peer.get_packet_peer()
        packets.append((sender, peer.get_packet()))
    return packets


def connected_network(
    clients: int,
) -> tuple[MemoryNetwork, MemoryMultiplayerPeer, list[MemoryMultiplayerPeer]]:
    """A network with a server and ``clients`` clients, all polled once."""
    network = MemoryNetwork()
    server = network.create_server()
    peers = [network.create_client() for _ in range(clients)]
    network.poll()
    return network, server, peers


def test_ids_are_1_then_2_3_4_in_connection_order() -> None:
    """The server is peer 1 and clients get 2, 3, 4 in the order they were created."""
    network, server, clients = connected_network(3)

    assert server.get_unique_id() == 1
    assert server.is_server()
    assert [c.get_unique_id() for c in clients] == [2, 3, 4]
    assert not any(c.is_server() for c in clients)
    assert sorted(network.clients) == [2, 3, 4]


def test_ids_are_not_reused_after_a_client_leaves() -> None:
    """A client joining after another left gets a fresh id, never a freed one."""
    network, _server, clients = connected_network(2)
    clients[1].close()
    network.poll()

    late = network.create_client()
    network.poll()

    assert late.get_unique_id() == 4
    assert sorted(network.clients) == [2, 4]


def test_peer_connected_fires_only_at_poll() -> None:
    """peer_connected fires on the server per client and on each client for 1, only at poll."""
    network = MemoryNetwork()
    server = network.create_server()
    server_events = Events(server)
    first = network.create_client()
    second = network.create_client()
    first_events, second_events = Events(first), Events(second)

    assert server_events.log == first_events.log == second_events.log == []

    network.poll()

    assert server_events.log == [("connected", 2), ("connected", 3)]
    assert first_events.log == [("connected", 1)]
    assert second_events.log == [("connected", 1)]

    network.poll()
    assert len(server_events.log) == 2
    assert len(first_events.log) == 1


def test_client_is_connecting_until_its_poll() -> None:
    """A new client is CONNECTING with id 0 until its poll() makes it CONNECTED."""
    network = MemoryNetwork()
    network.create_server()
    client = network.create_client()

    assert client.get_connection_status() is ConnectionStatus.CONNECTING
    assert client.get_unique_id() == 0

    client.poll()

    assert client.get_connection_status() is ConnectionStatus.CONNECTED
    assert client.get_unique_id() == 2


def test_server_is_connected_at_once() -> None:
    """create_server() returns a CONNECTED peer with id 1 and relay support."""
    server = MemoryNetwork().create_server()
    assert server.get_connection_status() is ConnectionStatus.CONNECTED
    assert server.get_unique_id() == 1
    assert server.is_server_relay_supported()


def test_second_server_on_a_network_raises() -> None:
    """create_server() on a network whose server is running raises InvalidState."""
    network = MemoryNetwork()
    network.create_server()
    with pytest.raises(InvalidState):
        network.create_server()


def test_server_routes_to_one_client() -> None:
    """A server packet for target > 0 reaches that client only, from peer 1."""
    network, server, clients = connected_network(3)
    server.set_target_peer(3)
    server.put_packet(b"for 3")

    assert all(c.get_available_packet_count() == 0 for c in clients)  # not before poll
    network.poll()

    assert [received(c) for c in clients] == [[], [(1, b"for 3")], []]


def test_server_broadcasts_to_every_client() -> None:
    """A server packet for target 0 reaches every client."""
    network, server, clients = connected_network(3)
    server.set_target_peer(0)
    server.put_packet(b"all")
    network.poll()

    assert [received(c) for c in clients] == [[(1, b"all")]] * 3


def test_server_excludes_one_client_with_a_negative_target() -> None:
    """A server packet for target -id reaches every client but that one."""
    network, server, clients = connected_network(3)
    server.set_target_peer(-3)
    server.put_packet(b"not 3")
    network.poll()

    assert [received(c) for c in clients] == [[(1, b"not 3")], [], [(1, b"not 3")]]


@pytest.mark.parametrize("target", [1, 0, 3, -2, 99])
def test_client_packets_always_reach_the_server(target: int) -> None:
    """Whatever the target, a client's packet goes to the server with the client's id."""
    network, server, clients = connected_network(3)
    clients[0].set_target_peer(target)
    clients[0].put_packet(b"from 2")
    network.poll()

    assert received(server) == [(2, b"from 2")]
    assert [received(c) for c in clients] == [[], [], []]


def test_channel_and_mode_are_carried() -> None:
    """The receiver sees the sender's transfer_channel and transfer_mode for each packet."""
    network, server, (client,) = connected_network(1)
    client.transfer_channel = 7
    client.transfer_mode = TransferMode.UNRELIABLE
    client.put_packet(b"a")
    client.transfer_channel = 0
    client.transfer_mode = TransferMode.RELIABLE
    client.put_packet(b"b")
    network.poll()

    assert server.get_packet_channel() == 7
    assert server.get_packet_mode() is TransferMode.UNRELIABLE
    assert server.get_packet() == b"a"
    assert server.get_packet_channel() == 0
    assert server.get_packet_mode() is TransferMode.RELIABLE
    assert server.get_packet() == b"b"


def test_packets_keep_their_order() -> None:
    """Packets from several senders are read in the order they were put."""
    network, server, clients = connected_network(2)
    clients[0].put_packet(b"1")
    clients[1].put_packet(b"2")
    clients[0].put_packet(b"3")
    network.poll()

    assert received(server) == [(2, b"1"), (3, b"2"), (2, b"3")]


def test_put_packet_to_unknown_target_raises_peer_not_found() -> None:
    """A server packet for a peer that is not connected raises PeerNotFound."""
    network, server, clients = connected_network(1)
    server.set_target_peer(9)
    with pytest.raises(PeerNotFound):
        server.put_packet(b"x")
    network.poll()
    assert received(clients[0]) == []


def test_put_packet_before_connected_raises_invalid_state() -> None:
    """put_packet() on a client still CONNECTING raises InvalidState."""
    network = MemoryNetwork()
    server = network.create_server()
    client = network.create_client()
    with pytest.raises(InvalidState):
        client.put_packet(b"too early")
    network.poll()
    assert received(server) == []


def test_oversized_packet_raises_packet_too_large() -> None:
    """A packet over max_packet_size raises PacketTooLarge; one of exactly the limit goes."""
    network = MemoryNetwork(max_packet_size=16)
    server = network.create_server()
    client = network.create_client()
    network.poll()

    assert client.get_max_packet_size() == 16
    with pytest.raises(PacketTooLarge) as info:
        client.put_packet(b"x" * 17)
    assert (info.value.size, info.value.limit) == (17, 16)
    client.put_packet(b"y" * 16)
    network.poll()
    assert received(server) == [(2, b"y" * 16)]


def test_client_without_server_fails_at_poll_silently() -> None:
    """A client on a network with no server is DISCONNECTED after poll, with no signal."""
    network = MemoryNetwork()
    client = network.create_client()
    events = Events(client)
    assert client.get_connection_status() is ConnectionStatus.CONNECTING

    client.poll()

    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert client.get_unique_id() == 0
    assert events.log == []


def test_client_refused_fails_at_poll_silently() -> None:
    """With refuse_new_connections, a client is DISCONNECTED after poll and nobody is told."""
    network = MemoryNetwork()
    server = network.create_server()
    server.refuse_new_connections = True
    server_events = Events(server)
    client = network.create_client()
    client_events = Events(client)

    network.poll()
    client.poll()

    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert client_events.log == []
    assert server_events.log == []
    assert network.clients == {}

    server.refuse_new_connections = False
    accepted = network.create_client()
    network.poll()
    assert accepted.get_unique_id() == 2  # the refused client used no id


def test_server_disconnect_peer_notifies_both_sides_at_poll() -> None:
    """Server disconnect_peer(id): the server gets peer_disconnected(id), the client (1)."""
    _network, server, (kept, dropped) = connected_network(2)
    server_events, kept_events, dropped_events = Events(server), Events(kept), Events(dropped)

    server.disconnect_peer(3)
    assert server_events.log == dropped_events.log == []  # signals wait for poll

    server.poll()
    dropped.poll()
    kept.poll()

    assert server_events.log == [("disconnected", 3)]
    assert dropped_events.log == [("disconnected", 1)]
    assert dropped.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert dropped.get_unique_id() == 0
    assert kept_events.log == []
    assert kept.get_connection_status() is ConnectionStatus.CONNECTED
    server.set_target_peer(3)
    with pytest.raises(PeerNotFound):
        server.put_packet(b"gone")


def test_server_disconnect_unknown_peer_raises() -> None:
    """Server disconnect_peer() of an id that is not connected raises PeerNotFound."""
    _network, server, _clients = connected_network(1)
    with pytest.raises(PeerNotFound):
        server.disconnect_peer(5)


def test_server_forced_disconnect_emits_nothing_locally() -> None:
    """Server disconnect_peer(id, force=True) emits no local signal; the client is told."""
    _network, server, (client,) = connected_network(1)
    client.put_packet(b"unread")
    server_events, client_events = Events(server), Events(client)

    server.disconnect_peer(2, force=True)
    server.poll()
    client.poll()

    assert server_events.log == []
    assert received(server) == []  # the forgotten peer's packets are dropped too
    assert client_events.log == [("disconnected", 1)]
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    # forgotten at once, as on the WebSocket peer (Godot erases it)
    with pytest.raises(PeerNotFound):
        server.disconnect_peer(2)
    server.set_target_peer(2)
    with pytest.raises(PeerNotFound):
        server.put_packet(b"to nobody")


def test_client_forced_disconnect_resets_it_at_once() -> None:
    """A client's disconnect_peer(1, force=True) leaves it DISCONNECTED at once, with no
    signal; the server is told at its poll."""
    _network, server, (client,) = connected_network(1)
    server_events, client_events = Events(server), Events(client)

    client.disconnect_peer(1, force=True)
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert client.get_unique_id() == 0
    server.poll()
    client.poll()

    assert client_events.log == []
    assert server_events.log == [("disconnected", 2)]


def test_kick_peer_disconnects_and_reports_both_sides() -> None:
    """kick_peer(id, reason) on the memory server acts as disconnect_peer(id)."""
    _network, server, (client,) = connected_network(1)
    server_events, client_events = Events(server), Events(client)

    server.kick_peer(2, "cheating")
    server.poll()
    client.poll()

    assert server_events.log == [("disconnected", 2)]
    assert client_events.log == [("disconnected", 1)]


def test_memory_peers_speak_native() -> None:
    """Memory peers, server and client, say they speak the native profile."""
    _network, server, clients = connected_network(2)
    assert server.protocol == "native"
    assert [client.protocol for client in clients] == ["native", "native"]


def test_client_close_is_seen_by_the_server() -> None:
    """A client's close() gives the server peer_disconnected(id) at poll, none on the client."""
    network, server, (client,) = connected_network(1)
    server_events, client_events = Events(server), Events(client)

    client.close()

    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert server_events.log == []
    network.poll()
    client.poll()
    assert server_events.log == [("disconnected", 2)]
    assert client_events.log == []


def test_client_disconnect_peer_from_the_server() -> None:
    """A client's disconnect_peer(1) reports the leave on both sides at poll."""
    _network, server, (client,) = connected_network(1)
    server_events, client_events = Events(server), Events(client)

    client.disconnect_peer(1)
    server.poll()
    client.poll()

    assert server_events.log == [("disconnected", 2)]
    assert client_events.log == [("disconnected", 1)]
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED


def test_server_close_is_seen_by_every_client() -> None:
    """A server's close() gives every client peer_disconnected(1); the server emits nothing."""
    network, server, clients = connected_network(3)
    server_events = Events(server)
    client_events = [Events(c) for c in clients]

    server.close()

    assert server.get_connection_status() is ConnectionStatus.DISCONNECTED
    server.poll()
    for client in clients:
        client.poll()
    assert server_events.log == []
    assert [e.log for e in client_events] == [[("disconnected", 1)]] * 3
    assert all(c.get_connection_status() is ConnectionStatus.DISCONNECTED for c in clients)
    assert network.clients == {}


def test_packet_sent_before_client_leaves_stays_readable() -> None:
    """A client packet put right before close() is still readable after the leave."""
    _network, server, (client,) = connected_network(1)
    server_events = Events(server)
    client.put_packet(b"goodbye")
    client.close()

    server.poll()
    assert server_events.log == [("disconnected", 2)]
    assert received(server) == [(2, b"goodbye")]


def test_packet_sent_before_server_disconnects_client_stays_readable() -> None:
    """A server packet put right before disconnect_peer() is readable by the client."""
    _network, server, (client,) = connected_network(1)
    client_events = Events(client)
    server.set_target_peer(2)
    server.put_packet(b"you are kicked")
    server.disconnect_peer(2)

    client.poll()
    assert client_events.log == [("disconnected", 1)]
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert received(client) == [(1, b"you are kicked")]


def test_client_cut_by_server_close_cannot_reach_a_new_server() -> None:
    """A client dropped by server close() cannot put packets into the network's next server."""
    network, server, (client,) = connected_network(1)
    server.close()
    new_server = network.create_server()
    events = Events(new_server)

    # The client has not polled yet, so it still believes it is connected.
    assert client.get_connection_status() is ConnectionStatus.CONNECTED
    # Its link is gone, so the packet goes nowhere (the leave is reported at its poll).
    client.put_packet(b"stale")
    new_server.poll()

    assert events.log == []
    assert new_server.get_available_packet_count() == 0


def test_latency_delays_packets_and_leaves_by_polls() -> None:
    """With latency N, what is sent reaches the receiver at its (N + 1)th poll after,
    packets and leaves in the order they were sent; joins stay immediate."""
    network = MemoryNetwork(latency=2)
    server = network.create_server()
    client = network.create_client()
    network.poll()
    assert client.get_unique_id() == 2 and server.get_available_packet_count() == 0
    client.set_target_peer(1)
    client.put_packet(b"a")
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    client.close()
    for _ in range(2):
        server.poll()
        assert server.get_available_packet_count() == 0 and left == []
    server.poll()
    assert server.get_packet() == b"a" and left == [2]


def test_latency_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="latency"):
        MemoryNetwork(latency=-1)
