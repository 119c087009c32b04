"""Tests for :mod:`multiplayer.transport.queued_peer`: the receive side and the one
close/disconnect state machine, on a peer whose link hooks only record their calls."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import InvalidState, PeerNotFound
from multiplayer.transport.inbox import Packet
from multiplayer.transport.peer import ConnectionStatus, TransferMode
from multiplayer.transport.queued_peer import QueuedPeer

Call = tuple[str, int, bool, str | None]


class RecordingPeer(QueuedPeer):
    """A QueuedPeer with no network: the hooks record what the state machine asks."""

    def __init__(self, unique_id: int) -> None:
        super().__init__()
        self.calls: list[Call | str] = []
        self._status = ConnectionStatus.CONNECTED
        self._unique_id = unique_id

    def put_packet(self, data: bytes) -> None:
        raise AssertionError("not used")

    def get_max_packet_size(self) -> int:
        return 100

    def _end_link(self, peer_id: int, *, notify: bool, kick_reason: str | None = None) -> None:
        self.calls.append(("end_link", peer_id, notify, kick_reason))

    def _end_every_link(self) -> None:
        self.calls.append("end_every_link")


def joined(peer: RecordingPeer, *peer_ids: int) -> RecordingPeer:
    """``peer`` after a poll() that reported ``peer_ids`` connected."""
    for peer_id in peer_ids:
        peer._inbox.stage_connected(peer_id)
    peer.poll()
    return peer


def record(peer: QueuedPeer) -> list[tuple[str, int]]:
    events: list[tuple[str, int]] = []
    peer.peer_connected.connect(lambda i: events.append(("connected", i)))
    peer.peer_disconnected.connect(lambda i: events.append(("disconnected", i)))
    return events


def test_disconnect_peer_asks_for_the_link_to_end_and_reports_at_poll() -> None:
    """disconnect_peer(id) ends the link with a local event; the peer stays known
    until the poll() that reports its leave."""
    server = joined(RecordingPeer(1), 2)
    server.disconnect_peer(2)
    assert server.calls == [("end_link", 2, True, None)]
    assert 2 in server._known
    events = record(server)
    server._inbox.stage_disconnected(2)  # what the link hook stages
    server.poll()
    assert events == [("disconnected", 2)]


def test_forced_disconnect_on_a_server_forgets_the_peer_at_once() -> None:
    """force=True: no local event, the peer's packets are dropped, and it is unknown
    at once (Godot erases it); a leave already staged is not reported."""
    server = joined(RecordingPeer(1), 2, 3)
    server._inbox.stage_packet(Packet(2, b"unread"))
    server._inbox.stage_packet(Packet(3, b"kept"))
    server.poll()
    events = record(server)
    server._inbox.stage_disconnected(2)  # it left; poll() has not said so yet
    server.disconnect_peer(2, force=True)
    assert server.calls == [("end_link", 2, False, None)]
    assert [server.get_packet_peer(), server.get_packet()] == [3, b"kept"]
    with pytest.raises(PeerNotFound):
        server.disconnect_peer(2)
    server.poll()
    assert events == []


def test_forced_disconnect_on_a_client_resets_it() -> None:
    """A client forcing its server off forgets everything and is DISCONNECTED."""
    client = joined(RecordingPeer(5), 1)
    client.disconnect_peer(1, force=True)
    assert client.calls == [("end_link", 1, False, None)]
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert client.get_unique_id() == 0


def test_disconnect_of_an_unknown_peer_raises_and_ends_nothing() -> None:
    """disconnect_peer or kick_peer of a peer poll() never reported raises PeerNotFound."""
    server = joined(RecordingPeer(1), 2)
    with pytest.raises(PeerNotFound):
        server.disconnect_peer(3)
    with pytest.raises(PeerNotFound):
        server.kick_peer(3, "who?")
    assert server.calls == []


def test_kick_peer_ends_the_link_with_its_reason() -> None:
    """kick_peer(id, reason) ends the link with the reason, and a local event."""
    server = joined(RecordingPeer(1), 2)
    server.kick_peer(2, "cheating")
    assert server.calls == [("end_link", 2, True, "cheating")]


def test_close_ends_every_link_and_resets_without_a_signal() -> None:
    """close(): every link ends, the peer is DISCONNECTED at once, and no event is
    reported, even for what was staged before."""
    server = joined(RecordingPeer(1), 2)
    events = record(server)
    server._inbox.stage_disconnected(2)
    server.close()
    assert server.calls == ["end_every_link"]
    assert server.get_connection_status() is ConnectionStatus.DISCONNECTED
    server.poll()
    assert events == []


def test_a_client_losing_its_server_keeps_what_it_sent() -> None:
    """A client whose server left is DISCONNECTED at that poll(), emits
    peer_disconnected(1), and can still read the server's last packets."""
    client = joined(RecordingPeer(5), 1)
    events = record(client)
    client._inbox.stage_packet(Packet(1, b"last words", 3, TransferMode.UNRELIABLE))
    client._inbox.stage_disconnected(1)
    client.poll()
    assert events == [("disconnected", 1)]
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert client._take_packet() == (1, b"last words", TransferMode.UNRELIABLE, 3)
    with pytest.raises(InvalidState):
        client.get_packet()


def test_a_client_that_never_connected_reports_nothing() -> None:
    """A failed connection attempt ends DISCONNECTED with no peer_disconnected."""
    client = RecordingPeer(0)
    client._status = ConnectionStatus.CONNECTING
    events = record(client)
    client._inbox.stage_disconnected(1)
    client.poll()
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert events == []


def test_a_client_is_connected_by_the_poll_that_reports_the_server() -> None:
    """A CONNECTING client takes the id it was assigned when poll() reports peer 1."""
    client = RecordingPeer(0)
    client._status = ConnectionStatus.CONNECTING
    client._assigned_id = 9
    events = record(client)
    client._inbox.stage_connected(1)
    assert client.get_unique_id() == 0
    client.poll()
    assert events == [("connected", 1)]
    assert (client.get_connection_status(), client.get_unique_id()) == (
        ConnectionStatus.CONNECTED,
        9,
    )
