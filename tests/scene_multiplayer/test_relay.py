"""The relay and the two send verbs: client to client through the server, peer lists,
send_bytes, and what the server refuses to forward."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from multiplayer import InvalidState, PacketTooLarge, PeerNotFound, SceneMultiplayer, TransferMode
from multiplayer.protocol.messages import Raw, Relay
from multiplayer.testing import MemoryNetwork

# The send verbs.


def test_route_wraps_for_another_client_and_write_does_not(make_session: Any) -> None:
    """route() from a client to a client sends a RELAY to the server; write() and
    route() to the server send the packet as it is."""
    session = make_session(clients=2)
    relay = session.api(1)._relay
    packet = relay.format.encode(Raw(b"x"))
    for sent in session.sent:
        sent.clear()
    relay.route(3, packet, TransferMode.RELIABLE, 0)
    relay.route(1, packet, TransferMode.RELIABLE, 0)
    relay.write([1], packet, TransferMode.RELIABLE, 0)
    assert session.sent[1] == [relay.format.encode(Relay(3, packet)), packet, packet]
    got = session.packets()
    session.pump()
    assert got[2] == [(2, b"x")] and got[0] == [(2, b"x"), (2, b"x")]


def test_a_relay_too_large_to_forward_raises_at_the_call() -> None:
    """A relayed packet must leave room for the sender id the server writes in."""
    network = MemoryNetwork(max_packet_size=200)
    apis = []
    for _ in range(3):
        api = SceneMultiplayer()
        api.multiplayer_peer = network.create_server() if not apis else network.create_client()
        apis.append(api)
    for _ in range(3):
        for api in apis:
            api.poll()
    growth = apis[1]._relay.format.relay_growth
    with pytest.raises(PacketTooLarge):
        apis[1].send_bytes(bytes(200 - growth), 3)
    apis[1].send_bytes(bytes(150), 3)  # room enough


def test_without_relay_a_client_reaches_only_the_server(make_session: Any) -> None:
    """With server_relay off, routing to another client is a local mistake."""
    session = make_session(clients=2, relay=False)
    relay = session.api(1)._relay
    with pytest.raises(InvalidState, match="server_relay is off"):
        relay.route(3, b"\x90", TransferMode.RELIABLE, 0)


def test_targets_follow_godots_rules(make_session: Any) -> None:
    """> 0 that peer, 0 every admitted peer, < 0 all but one; never oneself."""
    session = make_session(clients=3)
    relay = session.api(0)._relay
    assert relay.targets(0, 1) == [2, 3, 4]
    assert relay.targets(-3, 1) == [2, 4]
    assert relay.targets(3, 1) == [3]
    assert relay.targets(1, 1) == []


def test_the_pre_send_check(make_session: Any) -> None:
    """check_send gives the own id, or raises for no peer, unknown target, not connected."""
    session = make_session(clients=1)
    relay = session.api(1)._relay
    assert relay.check_send(1, "send") == 2
    assert relay.check_send(0, "send") == relay.check_send(-1, "send") == 2
    with pytest.raises(PeerNotFound):
        relay.check_send(5, "send")
    session.api(1).multiplayer_peer = None
    with pytest.raises(InvalidState, match="no multiplayer_peer"):
        relay.check_send(1, "send")


# Relaying, peer lists and send_bytes.


def test_client_to_client_through_the_server(make_session: Any) -> None:
    """A client's rpc_id to another client arrives with the original sender's id."""
    session = make_session(clients=2)
    session.games[1].rpc_id(3, "hello", "psst")
    session.pump()
    assert session.games[2].calls == [("hello", 2, "psst")]
    assert session.games[0].calls == []
    session.games[2].rpc("hello", "all")
    session.pump()
    assert session.games[0].calls == [("hello", 3, "all")]
    assert session.games[1].calls == [("hello", 3, "all")]


def test_send_bytes_routes_like_rpc_id(make_session: Any) -> None:
    """send_bytes: > 0 one peer, 0 all, < 0 all but one; relayed with the true sender."""
    session = make_session(clients=2)
    got = session.packets()
    session.api(0).send_bytes(b"to 2", 2)
    session.api(1).send_bytes(b"all from 2")
    session.api(1).send_bytes(b"not the server", -1)
    session.api(2).send_bytes(b"3 to 2", 2)
    session.pump()
    assert got[0] == [(2, b"all from 2")]
    assert got[1] == [(1, b"to 2"), (3, b"3 to 2")]
    assert got[2] == [(2, b"all from 2"), (2, b"not the server")]


def test_send_bytes_misuse(make_session: Any) -> None:
    """Empty data, an unknown peer or oneself raise at the call."""
    session = make_session(clients=1)
    with pytest.raises(ValueError):
        session.api(0).send_bytes(b"")
    with pytest.raises(PeerNotFound):
        session.api(0).send_bytes(b"x", 7)
    with pytest.raises(ValueError):
        session.api(0).send_bytes(b"x", 1)


def test_nested_relays_are_refused(make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A relay inside a relay is refused: one packet cannot multiply."""

    session = make_session(clients=2)
    inner = msgpack.packb([7, 3, 0, msgpack.packb([3, b"boom"])])
    got = session.packets()
    session.craft(1, [7, 3, 0, inner])
    session.pump()
    assert got == [[], [], []]
    assert "refused from peer 2: a SYS packet inside a relay" in caplog.text


def test_relay_to_self_or_server_is_refused(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A relay aimed at the sender itself or at the server is refused."""

    session = make_session(clients=1)
    for target in (2, 1):
        session.craft(1, [7, 3, target, msgpack.packb([3, b"x"])])
    session.pump()
    assert "refused from peer 2: relay to 2 makes no sense" in caplog.text
    assert session.api(0)._refusals.count(2, ("relay target",)) == 2  # logged once


def test_a_relay_to_a_peer_that_just_left_is_dropped_quietly(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A relay that crossed its target's leave is an honest race (Godot drops it too):
    no refusal; a relay to a peer that never was is refused."""
    session = make_session(clients=2)
    session.network._cut(3, notify_server=True, notify_client=True)
    session.pump()
    session.craft(1, [7, 3, 3, msgpack.packb([3, b"late"])])
    session.pump()
    assert "refused" not in caplog.text
    session.craft(1, [7, 3, 99, msgpack.packb([3, b"nobody"])])
    session.pump()
    assert "refused from peer 2: relay to peer 99: not here" in caplog.text


def test_a_relay_to_a_peer_the_transport_lost_is_no_fault_of_the_sender(
    make_session: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transport lost peer 3 before its leave was read, so forwarding to it raises
    PeerNotFound. That once logged "refused from peer 2: could not answer a packet:
    peer not found: 3", blaming an innocent sender; it is dropped quietly now."""
    from multiplayer import PeerNotFound

    session = make_session(clients=2)
    peer = session.api(0).multiplayer_peer
    put = peer.put_packet

    def lost_3(data: bytes) -> None:
        if peer.get_target_peer() == 3:
            raise PeerNotFound(3)
        put(data)

    monkeypatch.setattr(peer, "put_packet", lost_3)
    session.craft(1, [7, 3, 3, msgpack.packb([3, b"to 3"])])
    session.craft(1, [7, 3, 0, msgpack.packb([3, b"to all"])])
    session.pump()
    assert "refused" not in caplog.text and "could not answer" not in caplog.text


def test_relay_minus_one_is_not_read_by_the_server(make_session: Any) -> None:
    """send_bytes(-1) from a client reaches the others but not the server (Godot)."""
    session = make_session(clients=2)
    got = session.packets()
    session.api(1).send_bytes(b"x", -1)
    session.pump()
    assert got == [[], [], [(2, b"x")]]


def test_a_client_cannot_claim_another_id(make_session: Any) -> None:
    """Whatever a client writes in a relay, the receiver sees the true sender."""

    session = make_session(clients=2)
    got = session.packets()
    session.craft(1, [7, 3, 3, msgpack.packb([3, b"I am 1"])])
    session.pump()
    assert got[2] == [(2, b"I am 1")]


def test_relayed_junk_is_refused_at_the_server(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Junk relayed towards a client is refused by the server, which keeps the books."""
    session = make_session(clients=2)
    session.craft(1, [7, 3, 3, b"\x00garbage"])
    session.craft(1, [7, 3, 3, b"\x93\xcc\x07\x01"])  # SYS written as a uint8
    session.pump()
    assert "refused from peer 2: malformed relayed packet" in caplog.text
    assert session.api(0)._refusals.count(2, ("relay junk",)) >= 1


def test_a_client_never_disconnects_the_server_for_relayed_floods(make_session: Any) -> None:
    """Many bad packets relayed by the server do not make a client drop the server."""
    session = make_session(clients=2)
    for _ in range(200):
        session.craft(1, [7, 3, 3, b"\x93\x00\x05\x05"])  # calls with unknown ids
    session.pump(8)
    victim = session.api(2)
    assert 1 in victim.get_peers()  # still connected to the server
    assert victim._refusals.count(2, ("unknown id", "path")) == 200  # refused, counted
