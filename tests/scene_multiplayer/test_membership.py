"""Membership: peers admitted and removed, leaves after their last packets, and the
peer lists the server keeps for its clients."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from multiplayer import PeerNotFound, SceneMultiplayer
from multiplayer.testing import MemoryNetwork


def test_ids_and_peer_connected_order() -> None:
    """Each peer learns of every other: the server of clients, a client of 1 then the rest."""
    seen: dict[int, list[int]] = {}
    network = MemoryNetwork()
    apis = []
    for i in range(3):
        api = SceneMultiplayer()
        seen[i] = []
        api.peer_connected.connect(seen[i].append)
        api.multiplayer_peer = network.create_server() if i == 0 else network.create_client()
        apis.append(api)
        for _ in range(3):
            for a in apis:
                a.poll()
    assert [a.get_unique_id() for a in apis] == [1, 2, 3]
    assert seen == {0: [2, 3], 1: [1, 3], 2: [1, 2]}
    assert sorted(apis[1].get_peers()) == [1, 3]


def test_peer_disconnected_everywhere(make_session: Any) -> None:
    """When a client leaves, the server and the other clients get peer_disconnected."""
    session = make_session(clients=2)
    left: list[list[int]] = [[], [], []]
    for i in range(3):
        session.api(i).peer_disconnected.connect(left[i].append)
    session.api(2).multiplayer_peer = None
    session.pump()
    assert left[0] == [3]
    assert left[1] == [3]
    assert session.api(1).get_peers() == [1]


def test_many_peers_leaving_in_one_poll(make_session: Any) -> None:
    """Clients that leave together are all reported gone, and poll() does not fail
    telling one leaver that another left (the transport forgot them both)."""
    session = make_session(clients=3)
    left: list[int] = []
    session.api(0).peer_disconnected.connect(left.append)
    for index in (1, 2, 3):
        session.api(index).multiplayer_peer.close()
    session.api(0).poll()  # one poll sees the three leaves
    assert sorted(left) == [2, 3, 4]
    assert session.api(0).get_peers() == []


def test_last_rpc_before_a_leave_is_processed(make_session: Any) -> None:
    """An RPC a client sent right before leaving runs before its peer_disconnected."""
    session = make_session(clients=1)
    order: list[str] = []
    session.api(0).peer_disconnected.connect(lambda i: order.append(f"left {i}"))
    session.games[1].hello.rpc_id(1, "bye")
    session.api(1).multiplayer_peer = None
    session.pump()
    assert session.games[0].calls == [("hello", 2, "bye")]
    assert order == ["left 2"]


def test_kicked_peer_is_reported_gone(make_session: Any) -> None:
    """disconnect_peer(id) ends with peer_disconnected(id) here and on the others."""
    session = make_session(clients=2)
    left: list[list[int]] = [[], [], []]
    for i in range(3):
        session.api(i).peer_disconnected.connect(left[i].append)
    session.api(0).disconnect_peer(2)
    session.pump()
    assert left[0] == [2]
    assert left[2] == [2]
    assert left[1] == [1]
    with pytest.raises(PeerNotFound):
        session.api(0).disconnect_peer(2)


def test_without_relay_clients_know_only_the_server(make_session: Any) -> None:
    """With server_relay off a client learns only of peer 1."""
    session = make_session(clients=2, relay=False)
    assert session.api(1).get_peers() == [1]
    assert session.api(0).get_peers() == [2, 3]
    with pytest.raises(PeerNotFound):
        session.games[1].rpc_id(3, "hello", 1)


def test_a_client_cannot_spoof_membership(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Peer-list updates sent by a client are refused by the server."""
    session = make_session(clients=1)
    peer = session.api(1).multiplayer_peer
    assert peer is not None
    peer.set_target_peer(1)
    peer.put_packet(b"\x93\x07\x01\x05")  # [SYS, ADD_PEER, 5]
    session.pump()
    assert session.api(0).get_peers() == [2]
    assert "refused from peer 2: peer list update not from the server" in caplog.text


def test_peer_lists_name_only_other_clients(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Even from the server, an ADD_PEER of the server or of oneself is refused."""
    session = make_session(clients=1)
    session.craft(0, [7, 1, 1], to=2)
    session.craft(0, [7, 1, 2], to=2)
    session.pump()
    assert "bad peer id 1" in caplog.text
    assert session.api(1)._refusals.count(1, ("membership id",)) == 2  # logged once
    assert session.api(1).get_peers() == [1]
    session.craft(0, [7, 4, [9, 1]], to=2)  # (a list with a bad id: none admitted)
    session.pump()
    assert session.api(1)._refusals.count(1, ("membership id",)) == 3
    assert session.api(1).get_peers() == [1]


def test_a_leave_during_the_poll_waits_for_the_end_of_it(make_session: Any) -> None:
    """A leave the transport reports while it is polled is held until the packets
    are read; outside a poll it is handled at once."""
    session = make_session(clients=1)
    members = session.api(0)._members
    left: list[int] = []
    session.api(0).peer_disconnected.connect(left.append)
    members.polling = True
    members.on_disconnected(2)
    assert left == [] and list(session.api(0)._sessions.leaving) == [2]
    members.polling = False
    members.remove_leavers()
    assert left == [2] and session.api(0)._sessions.leaving == {}
    members.on_disconnected(2)  # an unknown peer: nothing happens
    assert left == [2]


async def test_while_a_clients_link_is_away_no_call_of_it_times_out(make_session: Any) -> None:
    """A client's link is away (its transport reports peer_dropped(1)): its calls to
    every peer wait, not only those to the server, since they all go through it;
    connection_lost and reconnected say so, and the answer comes once it is back."""
    session = make_session(clients=2)
    api = session.api(1)
    api.rpc_timeout = 0.1
    seen: list[str] = []
    api.connection_lost.connect(lambda: seen.append("lost"))
    api.reconnected.connect(lambda: seen.append("back"))
    other = session.api(2).get_unique_id()
    call = asyncio.create_task(session.games[1].rpc_call(other, "slow", 1))
    await asyncio.sleep(0)  # (the call is made, its timeout running)
    peer = api.multiplayer_peer
    assert peer is not None
    peer.peer_dropped.emit(1)
    await asyncio.sleep(0.2)  # (past rpc_timeout, with no poll: away, it does not count)
    assert not call.done()
    peer.peer_resumed.emit(1)
    for _ in range(50):
        session.pump()
        await asyncio.sleep(0.001)
        if call.done():
            break
    assert call.result() is None
    assert seen == ["lost", "back"]


def test_only_peers_it_knows_are_reported_away(make_session: Any) -> None:
    """peer_dropped is for a peer the program was told joined (an admitted one),
    never for one it does not know."""
    session = make_session(clients=1)
    api = session.api(0)
    dropped: list[int] = []
    api.peer_dropped.connect(dropped.append)
    peer = api.multiplayer_peer
    assert peer is not None
    client = session.api(1).get_unique_id()
    peer.peer_dropped.emit(client)
    peer.peer_dropped.emit(999)  # (not a peer at all)
    assert dropped == [client]


def server_and_one_client(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[MemoryNetwork, SceneMultiplayer, SceneMultiplayer, list[str]]:
    """A server with one client in, and the list (emptied) of the names of the
    messages the server encodes from then on."""
    network = MemoryNetwork()
    server = SceneMultiplayer()
    server.multiplayer_peer = network.create_server()
    sent: list[str] = []
    # What the server puts on the wire, decoded (the format itself may be compiled).
    peer = server.multiplayer_peer
    put = peer.put_packet
    decode = server._relay.format.decode

    def put_packet(data: bytes) -> None:
        sent.append(type(decode(data, allow_objects=False)).__name__)
        put(data)

    monkeypatch.setattr(peer, "put_packet", put_packet)
    first = SceneMultiplayer()
    first.multiplayer_peer = network.create_client()
    for _ in range(3):
        for api in (server, first):
            api.poll()
    sent.clear()
    return network, server, first, sent


def test_joins_of_one_poll_are_told_in_one_peer_list_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Native profile: clients that join in one poll of the server are told together:
    each peer gets one ADD_PEERS, not an ADD_PEER per other peer (N joins cost N*N
    packets the other way), and every peer ends up knowing every other."""
    network, server, first, sent = server_and_one_client(monkeypatch)
    clients = []
    for _ in range(4):  # (all four arrive before the server's next poll)
        api = SceneMultiplayer()
        api.multiplayer_peer = network.create_client()
        clients.append(api)
    everyone = [server, first, *clients]
    for _ in range(3):
        for api in everyone:
            api.poll()
    # One list for the client already there, one for each newcomer.
    assert sent.count("SysAddPeers") == 5 and "SysAddPeer" not in sent
    ids = sorted(api.get_unique_id() for api in everyone[1:])
    for api in everyone[1:]:
        assert sorted(api.get_peers()) == [
            peer for peer in [1, *ids] if peer != api.get_unique_id()
        ]


def test_joins_between_frames_are_told_at_the_next_frame_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An event-driven tree takes packets in between frames (a poll without
    replication): the joins of those polls wait for the frame and are told together
    (a burst of joins one at a time would cost a list per peer and join); a packet
    written in between sends the waiting lists first."""
    network, server, first, sent = server_and_one_client(monkeypatch)
    clients = []
    for _ in range(3):  # one at a time, each taken in by a poll between frames
        api = SceneMultiplayer()
        api.multiplayer_peer = network.create_client()
        clients.append(api)
        server._poll(replicate=False)
    assert "SysAddPeers" not in sent  # (waiting for the frame)
    server.poll()  # the frame
    assert sent.count("SysAddPeers") == 4  # one for the first client, one per newcomer
    # Between frames again: a packet written sends the waiting list before it.
    events: list[tuple[str, object]] = []
    first.peer_connected.connect(lambda peer_id: events.append(("joined", peer_id)))
    first.peer_packet.connect(lambda sender, data: events.append(("packet", data)))
    first.poll()
    late = SceneMultiplayer()
    late.multiplayer_peer = network.create_client()
    server._poll(replicate=False)
    events.clear()
    server.send_bytes(b"hello", first.get_unique_id())
    first.poll()
    everyone = [server, first, *clients, late]
    for _ in range(3):
        for api in everyone:
            api.poll()
    assert events == [("joined", late.get_unique_id()), ("packet", b"hello")], events
    ids = sorted(api.get_unique_id() for api in everyone[1:])
    for api in everyone[1:]:
        assert sorted(api.get_peers()) == [p for p in [1, *ids] if p != api.get_unique_id()]


def test_a_peer_list_goes_before_what_the_join_sends(make_session: Any) -> None:
    """What the server sends as a peer joins (its peer_connected handlers' calls) comes
    after the list that names the newcomer: a client that hears of it can call it."""
    session = make_session(clients=2)
    server = session.games[0]
    session.api(0).peer_connected.connect(lambda peer_id: server.rpc("hello", peer_id))
    events: list[tuple[str, int]] = []
    client = session.games[1]
    session.api(1).peer_connected.connect(lambda peer_id: events.append(("peer", peer_id)))
    client._record = lambda method, value: events.append((method, value))  # type: ignore[method-assign]
    session._add(session.network.create_client(), True)
    session.pump()
    newcomer = 4
    assert events.index(("peer", newcomer)) < events.index(("hello", newcomer)), events


def test_a_peer_that_joins_and_leaves_in_one_poll_is_told_nothing() -> None:
    """A join told with others at the poll's end: a newcomer that left in the same
    poll is neither told the list nor named in the others' (the transport has
    forgotten it: writing to it would fail the poll)."""
    network = MemoryNetwork()
    server = SceneMultiplayer()
    server.multiplayer_peer = network.create_server()
    stays = SceneMultiplayer()
    stays.multiplayer_peer = network.create_client()
    goes = SceneMultiplayer()
    goes.multiplayer_peer = network.create_client()
    goes.poll()
    goes.multiplayer_peer.close()  # (gone before the server's first poll)
    for _ in range(3):
        for api in (server, stays):
            api.poll()
    assert server.get_peers() == [stays.get_unique_id()]
    assert stays.get_peers() == [1]
