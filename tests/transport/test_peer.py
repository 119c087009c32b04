"""Tests for :mod:`multiplayer.peer`: settings, routing, and the offline peer."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import InvalidState, PeerNotFound
from multiplayer.transport.peer import (
    TARGET_PEER_BROADCAST,
    TARGET_PEER_SERVER,
    ConnectionStatus,
    OfflineMultiplayerPeer,
    TransferMode,
    resolve_targets,
)


def test_offline_peer_is_a_connected_server_with_id_1() -> None:
    """OfflineMultiplayerPeer is CONNECTED, has id 1 and is the server."""
    peer = OfflineMultiplayerPeer()
    assert peer.get_connection_status() is ConnectionStatus.CONNECTED
    assert peer.get_unique_id() == 1
    assert peer.is_server()


def test_offline_peer_drops_packets_and_receives_nothing() -> None:
    """put_packet() is accepted and dropped; nothing is ever available to read."""
    peer = OfflineMultiplayerPeer()
    peer.set_target_peer(TARGET_PEER_BROADCAST)
    peer.put_packet(b"to nobody")
    peer.set_target_peer(5)
    peer.put_packet(b"to nobody either")
    peer.poll()

    assert peer.get_available_packet_count() == 0
    with pytest.raises(InvalidState):
        peer.get_packet()
    with pytest.raises(InvalidState):
        peer.get_packet_peer()


def test_offline_peer_speaks_native() -> None:
    """The offline peer, like every peer by default, says it speaks "native"."""
    assert OfflineMultiplayerPeer().protocol == "native"


def test_protocol_is_read_only() -> None:
    """protocol is a property without a setter."""
    peer = OfflineMultiplayerPeer()
    with pytest.raises(AttributeError):
        peer.protocol = "godot"  # type: ignore[misc]


def test_offline_peer_does_not_support_relay() -> None:
    """OfflineMultiplayerPeer reports no server relay support."""
    assert OfflineMultiplayerPeer().is_server_relay_supported() is False


def test_offline_peer_has_no_peer_to_disconnect() -> None:
    """disconnect_peer() on the offline peer raises PeerNotFound."""
    with pytest.raises(PeerNotFound) as info:
        OfflineMultiplayerPeer().disconnect_peer(2)
    assert info.value.peer_id == 2


def test_peer_default_settings() -> None:
    """A new peer targets everyone, reliably, on channel 0, accepting connections."""
    peer = OfflineMultiplayerPeer()
    assert peer.get_target_peer() == TARGET_PEER_BROADCAST == 0
    assert peer.transfer_mode is TransferMode.RELIABLE
    assert peer.transfer_channel == 0
    assert peer.refuse_new_connections is False
    assert peer.TARGET_PEER_SERVER == TARGET_PEER_SERVER == 1


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (3, [3]),
        (2, [2]),
        (0, [2, 3, 4]),
        (-3, [2, 4]),
        (-2, [3, 4]),
        (-9, [2, 3, 4]),
    ],
)
def test_resolve_targets_on_the_server(target: int, expected: list[int]) -> None:
    """On the server: >0 is that peer, 0 every client, <0 every client but -target."""
    assert resolve_targets(target, TARGET_PEER_SERVER, [2, 3, 4]) == expected


@pytest.mark.parametrize("target", [9, 1])
def test_resolve_targets_unknown_peer_on_the_server(target: int) -> None:
    """On the server a positive target that is not connected raises PeerNotFound."""
    with pytest.raises(PeerNotFound) as info:
        resolve_targets(target, TARGET_PEER_SERVER, [2, 3, 4])
    assert info.value.peer_id == target


@pytest.mark.parametrize("target", [1, 0, 3, 5, 9, -1, -3])
def test_resolve_targets_on_a_client_always_goes_to_the_server(target: int) -> None:
    """On a client every target resolves to the server, peer 1."""
    assert resolve_targets(target, 5, [TARGET_PEER_SERVER]) == [1]


@pytest.mark.parametrize("channel", [-1, 256, 1000])
def test_transfer_channel_out_of_range_raises(channel: int) -> None:
    """transfer_channel outside 0..255 raises ValueError and keeps the old value."""
    peer = OfflineMultiplayerPeer()
    peer.transfer_channel = 7
    with pytest.raises(ValueError):
        peer.transfer_channel = channel
    assert peer.transfer_channel == 7


@pytest.mark.parametrize("channel", [0, 1, 255])
def test_transfer_channel_in_range_is_kept(channel: int) -> None:
    """transfer_channel accepts every value in 0..255."""
    peer = OfflineMultiplayerPeer()
    peer.transfer_channel = channel
    assert peer.transfer_channel == channel


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, TransferMode.UNRELIABLE),
        (1, TransferMode.UNRELIABLE_ORDERED),
        (2, TransferMode.RELIABLE),
        (TransferMode.UNRELIABLE, TransferMode.UNRELIABLE),
    ],
)
def test_transfer_mode_setter_converts_ints(value: int, expected: TransferMode) -> None:
    """transfer_mode accepts plain ints and stores them as TransferMode members."""
    peer = OfflineMultiplayerPeer()
    peer.transfer_mode = value  # type: ignore[assignment]
    assert peer.transfer_mode is expected
    assert type(peer.transfer_mode) is TransferMode


def test_transfer_mode_setter_rejects_unknown_values() -> None:
    """transfer_mode rejects an int that is not a TransferMode with ValueError."""
    peer = OfflineMultiplayerPeer()
    with pytest.raises(ValueError):
        peer.transfer_mode = 3  # type: ignore[assignment]
    assert peer.transfer_mode is TransferMode.RELIABLE


def test_set_target_peer_is_kept() -> None:
    """set_target_peer() stores the target that get_target_peer() returns."""
    peer = OfflineMultiplayerPeer()
    peer.set_target_peer(-4)
    assert peer.get_target_peer() == -4
