"""SceneReplicationHost: the API as the replicator sees it, over the API's parts."""

from __future__ import annotations

from typing import Any

from multiplayer.protocol.messages import Raw
from multiplayer.replication.host import ReplicationHost
from multiplayer.scene_multiplayer.replication_host import SceneReplicationHost


def host_of(session: Any, index: int) -> ReplicationHost:
    return SceneReplicationHost(session.api(index))


def test_identity_and_peers(make_session: Any) -> None:
    """own_id, get_peers, is_admitted (leavers are not), packet format and size."""
    session = make_session(clients=2)
    host = host_of(session, 0)
    api = session.api(0)
    assert host.own_id() == 1 and host.get_peers() == [2, 3]
    assert host.is_admitted(2) and not host.is_admitted(9)
    api._sessions.all[3].leaving = True
    api._sessions.leaving[3] = api._sessions.all[3]
    assert not host.is_admitted(3)
    assert host.format is api._relay.format
    assert host.format.codec is api.codec
    assert host.max_packet_size() == session.network.max_packet_size
    api.multiplayer_peer = None
    assert host.own_id() is None


def test_send_command_routes_through_the_relay(make_session: Any) -> None:
    """A client's command for another client goes through the server, as a relay."""
    session = make_session(clients=2)
    got = session.packets()
    host = host_of(session, 1)
    host.send_command(3, host.format.encode(Raw(b"state")))
    session.pump()
    assert got[2] == [(2, b"state")]


def test_path_ids_both_ways(make_session: Any) -> None:
    """path_id_for defines the path for a peer; it then finds it by the sender's id."""
    session = make_session(clients=1)
    server, client = host_of(session, 0), host_of(session, 1)
    path_id = server.path_id_for(2, session.games[0])
    assert server.path_id_for(2, session.games[0]) == path_id
    assert set(server.peers_told(path_id)) == {2}
    session.pump()
    assert client.path_of(1, path_id) == "Game"
    assert client.path_of(9, path_id) is None
    assert client.find_node("Game") is session.games[1]
    assert client.find_node("Nowhere") is None


def test_tell_path_defines_a_path_for_many_peers_at_once(make_session: Any) -> None:
    """tell_path: the server's one packet reaches each peer new to the path; a
    client's definitions for other clients each go in a relay of their own (one
    written "to several" would reach the server alone, as a duplicate)."""
    session = make_session(clients=3)
    server, client = host_of(session, 0), host_of(session, 1)
    server.tell_path([2, 3], session.games[0])
    path_id = server.path_id_for(4, session.games[0])
    session.pump()
    assert [host_of(session, i).path_of(1, path_id) for i in (1, 2, 3)] == ["Game"] * 3
    client.tell_path([1, 3, 4], session.games[1])
    client.tell_path([3], session.games[1])  # told already: nothing more
    session.pump()
    own = client.path_id_for(3, session.games[1])
    for index in (0, 2, 3):
        assert host_of(session, index).path_of(2, own) == "Game"
    assert all(session.api(i)._refusals.refused(2) == 0 for i in range(4))


def test_path_confirmed_once_the_peer_answered(make_session: Any) -> None:
    """path_confirmed: false until the receiver's CONFIRM_PATH arrives (Godot's
    synchronizers named by path wait for it)."""
    session = make_session(clients=1, protocol="godot")
    server = host_of(session, 0)
    path_id = server.path_id_for(2, session.games[0])
    assert not server.path_confirmed(path_id, 2)
    session.pump()
    assert server.path_confirmed(path_id, 2)
    assert not server.path_confirmed(path_id, 3)
