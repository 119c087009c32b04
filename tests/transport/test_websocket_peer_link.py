"""Tests for multiplayer.transport.websocket_peer_link: the queue flow control counts.

The link itself is exercised through WebSocketPeer over real sockets
(tests/transport/test_websocket_peer.py); this covers its bookkeeping alone.
"""

from __future__ import annotations

from multiplayer.transport.websocket_peer_link import LinkSettings, Received


def settings(packets: int, size: int) -> LinkSettings:
    return LinkSettings(
        inbound_buffer_size=size,
        max_queued_packets=packets,
        heartbeat_interval=0.0,
        handshake_timeout=3.0,
        protocols=(),
        headers=(),
    )


def test_received_counts_packets_and_bytes_in_order() -> None:
    """Packets come out in order with their kind; the byte count follows."""
    received = Received(settings(4, 100))
    received.append(b"abc", True)
    received.append(b"\x00\x01", False)
    assert len(received) == 2 and received.size == 5
    assert received.popleft() == (b"abc", True)
    assert received.popleft() == (b"\x00\x01", False)
    assert len(received) == 0 and received.size == 0


def test_room_is_the_packets_left_until_either_limit() -> None:
    """Room shrinks with each packet, and is none once the bytes reach their limit."""
    received = Received(settings(4, 10))
    assert received.room() == 4
    received.append(b"12345", False)
    assert received.room() == 3
    received.append(b"12345", False)
    assert received.room() == 0  # 10 bytes: the byte limit, with packets to spare


def test_reading_resumes_only_when_half_is_free_both_ways() -> None:
    """half_free() needs both the packets and the bytes at half their limit or less."""
    received = Received(settings(4, 100))
    for _ in range(4):
        received.append(b"x", False)
    assert not received.half_free()
    received.popleft()
    received.popleft()
    assert received.half_free()
    big = Received(settings(100, 10))
    big.append(b"123456", False)
    assert not big.half_free()  # one packet, but 6 bytes of 10
