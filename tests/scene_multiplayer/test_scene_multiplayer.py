"""SceneMultiplayer, the facade: peers and signals, the poll loop, status, the
packet format its peer's profile names."""

from __future__ import annotations

from typing import Any

import pytest

from multiplayer import (
    ConnectionStatus,
    InvalidState,
    Node,
    SceneMultiplayer,
    SceneTree,
)
from multiplayer.protocol import format as formats
from multiplayer.protocol.native.codec import Codec
from multiplayer.protocol.native.format import NativeFormat
from multiplayer.testing import MemoryMultiplayerPeer, MemoryNetwork

# The packet format.


def test_the_format_is_the_peers_profile(make_session: Any) -> None:
    """Offline and memory peers speak "native"; the API encodes with that format."""
    api = SceneMultiplayer()
    assert isinstance(api._relay.format, NativeFormat)
    session = make_session(clients=1)
    assert session.api(1)._relay.format.name == session.api(1).multiplayer_peer.protocol


def test_an_unknown_profile_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer speaking a profile with no registered format raises ValueError at the
    assignment, naming the known ones; the API keeps its peer."""
    monkeypatch.setattr(MemoryMultiplayerPeer, "protocol", property(lambda self: "nope"))
    api = SceneMultiplayer()
    offline = api.multiplayer_peer
    with pytest.raises(ValueError, match=r"'nope'.*'native'"):
        api.multiplayer_peer = MemoryNetwork().create_server()
    assert api.multiplayer_peer is offline


def test_a_new_profile_needs_no_change_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A format registered for a profile is the one its peers' APIs send with."""
    encoded: list[type] = []

    class Counting(NativeFormat):
        name = "counting"

        def encode(self, message: Any) -> bytes:
            encoded.append(type(message))
            return super().encode(message)

    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))
    formats.register_format("counting", Counting)
    monkeypatch.setattr(MemoryMultiplayerPeer, "protocol", property(lambda self: "counting"))
    network = MemoryNetwork()
    server, client = SceneMultiplayer(), SceneMultiplayer()
    server.multiplayer_peer = network.create_server()
    client.multiplayer_peer = network.create_client()
    got: list[tuple[int, bytes]] = []
    server.peer_packet.connect(lambda sender, data: got.append((sender, data)))
    for _ in range(2):
        server.poll()
        client.poll()
    client.send_bytes(b"hi", 1)
    server.poll()
    assert isinstance(client._relay.format, Counting)
    assert got == [(2, b"hi")] and encoded


def test_setting_the_codec_rebuilds_the_format() -> None:
    """The format (and the RPC fast path) packs with the codec set last."""
    api = SceneMultiplayer()
    codec = Codec(max_depth=4)
    api.codec = codec
    assert api.codec is codec and api._relay.format.codec is codec
    assert api._rpc._pack_args == codec.pack_array_items


# Peers and signals; the remaining members.


def test_client_only_signals() -> None:
    """connected_to_server, connection_failed and server_disconnected fire on clients only."""
    network = MemoryNetwork()
    server, client = SceneMultiplayer(), SceneMultiplayer()
    events: list[str] = []
    for name, api in (("server", server), ("client", client)):
        api.connected_to_server.connect(lambda n=name: events.append(f"{n} connected"))
        api.server_disconnected.connect(lambda n=name: events.append(f"{n} lost server"))
        api.connection_failed.connect(lambda n=name: events.append(f"{n} failed"))
    server.multiplayer_peer = network.create_server()
    client.multiplayer_peer = network.create_client()
    for _ in range(2):
        server.poll()
        client.poll()
    assert events == ["client connected"]
    server.multiplayer_peer = None  # closes the server
    client.poll()
    assert events == ["client connected", "client lost server"]
    assert client.get_peers() == []

    lonely = SceneMultiplayer()
    lonely.connection_failed.connect(lambda: events.append("lonely failed"))
    lonely.multiplayer_peer = MemoryNetwork().create_client()  # no server there
    lonely.poll()
    assert events[-1] == "lonely failed"


def test_setting_the_same_peer_again_changes_nothing(make_session: Any) -> None:
    """multiplayer_peer = the same peer keeps the session (Godot returns early)."""
    session = make_session(clients=1)
    api = session.api(0)
    api.multiplayer_peer = api.multiplayer_peer
    assert api.get_peers() == [2]


def test_an_unstarted_peer_is_refused() -> None:
    """Assigning a peer that was never started raises (a forgotten await, typically)."""
    from multiplayer import WebSocketMultiplayerPeer

    api = SceneMultiplayer()
    with pytest.raises(InvalidState, match="not started"):
        api.multiplayer_peer = WebSocketMultiplayerPeer()


def test_no_peer_means_id_0() -> None:
    """Without a multiplayer peer, get_unique_id() is 0 and is_server() False (Godot)."""
    api = SceneMultiplayer()
    api.multiplayer_peer = None
    assert api.get_unique_id() == 0
    assert not api.is_server()
    assert api.get_peers() == []


def test_refuse_new_connections_and_clear(make_session: Any) -> None:
    """refuse_new_connections goes to the transport; clear() forgets every peer."""
    session = make_session(clients=1)
    api = session.api(0)
    assert api.has_multiplayer_peer()
    api.refuse_new_connections = True
    assert api.refuse_new_connections
    late = session.network.create_client()
    late.poll()
    assert late.get_connection_status() == ConnectionStatus.DISCONNECTED
    api.clear()
    assert api.get_peers() == []
    api.multiplayer_peer = None
    assert not api.has_multiplayer_peer()
    with pytest.raises(InvalidState):
        _ = api.refuse_new_connections


def test_allow_object_decoding_guards_registered_types(make_session: Any) -> None:
    """Registered classes travel only with allow_object_decoding on both sides."""
    from multiplayer.protocol.native.codec import Codec

    class Card:
        def __init__(self, rank: int) -> None:
            self.rank = rank

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Card) and other.rank == self.rank

    codec = Codec()
    codec.register_type(Card, 40, lambda c: bytes([c.rank]), lambda b: Card(b[0]))
    session = make_session(clients=1)
    for i in range(2):
        session.api(i).codec = codec
    from multiplayer import EncodingError

    with pytest.raises(EncodingError, match="allow_object_decoding"):
        session.games[0].hello.rpc(Card(7))
    for i in range(2):
        session.api(i).allow_object_decoding = True
    session.games[0].hello.rpc(Card(7))
    session.pump()
    assert session.games[1].calls == [("hello", 1, Card(7))]


def test_process_polls_branch_apis(make_session: Any) -> None:
    """SceneTree.process() polls every branch's API: a server and a client in one tree."""
    network = MemoryNetwork()
    tree = SceneTree()
    apis = []
    for name, peer in (("Server", network.create_server()), ("Client", network.create_client())):
        branch = Node(name)
        tree.root.add_child(branch)
        api = SceneMultiplayer()
        tree.set_multiplayer(api, branch.get_path())
        api.multiplayer_peer = peer
        branch.add_child(make_session.Game())
        apis.append(api)
    for _ in range(3):
        tree.process(0)
    assert apis[0].get_peers() == [2] and apis[1].get_peers() == [1]
    server_game = tree.root.get_node("Server/Game")
    assert isinstance(server_game, make_session.Game)
    server_game.hello.rpc("hi")
    tree.process(0)
    client_game = tree.root.get_node("Client/Game")
    assert isinstance(client_game, make_session.Game) and client_game.calls == [("hello", 1, "hi")]


def test_sender_id_is_zero_outside_handlers(make_session: Any) -> None:
    """get_remote_sender_id() is 0 outside an RPC."""
    session = make_session(clients=1)
    assert session.api(0).get_remote_sender_id() == 0
