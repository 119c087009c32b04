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
