"""Tests for :mod:`multiplayer.transport.stats`: the counters of what went to and
came from each peer (``get_peer_stats``, ``get_stats``), over real sockets."""

from __future__ import annotations

import pytest

from multiplayer import PeerNotFound, PeerStats
from multiplayer.transport.stats import Counts
from tests.transport.peers import (
    Peers,
    disconnected,
    drain,
    join,
    poll_until,
    record,
    start_server,
)


def test_counts_add_up_and_coalesced_is_what_shared_a_message() -> None:
    counts = Counts()
    counts.received(10, 3)
    counts.sent(5, [b"abc", b"de"])
    other = Counts()
    other.received(4, 1)
    counts.add(other)
    stats = counts.snapshot()
    assert stats == PeerStats(2, 14, 4, 2, 5, 5)
    assert stats.coalesced == 3  # five packets in two messages
    assert PeerStats(packets_out=1, messages_out=2).coalesced == 0  # (never below 0)


async def test_each_peer_is_counted_each_way(peers: Peers) -> None:
    """Packets put in one pass of the loop go as one message (coalesced); the
    receiving side counts the same message, bytes and packets."""
    server = await start_server(peers)
    client = await join(peers, server)
    before_up = server.get_peer_stats(2)
    before_down = client.get_peer_stats(1)
    for n in range(5):
        client.put_packet(b"up%d" % n)
    server.set_target_peer(2)
    server.put_packet(b"down")
    await poll_until(peers, lambda: server.get_available_packet_count() == 5)
    await poll_until(peers, lambda: client.get_available_packet_count() == 1)
    assert len(drain(server)) == 5 and drain(client) == [(1, b"down")]
    up_sent = client.get_peer_stats(1)
    up_got = server.get_peer_stats(2)
    assert up_sent.packets_out - before_down.packets_out == 5
    assert up_sent.messages_out - before_down.messages_out == 1  # (one batch)
    assert up_got.packets_in - before_up.packets_in == 5
    assert up_got.messages_in - before_up.messages_in == 1
    sent_bytes = up_sent.bytes_out - before_down.bytes_out
    assert sent_bytes == up_got.bytes_in - before_up.bytes_in > 5 * 3
    assert up_sent.coalesced >= 4
    down = server.get_peer_stats(2)
    assert down.packets_out - before_up.packets_out == 1
    with pytest.raises(PeerNotFound):
        server.get_peer_stats(99)


async def test_the_totals_keep_peers_that_left_until_the_next_start(peers: Peers) -> None:
    server = await start_server(peers)
    first = await join(peers, server)
    second = await join(peers, server)
    for client in (first, second):
        client.put_packet(b"hello")
    await poll_until(peers, lambda: server.get_available_packet_count() == 2)
    drain(server)
    first_in = server.get_peer_stats(2).packets_in
    left = record(server)
    first.close()
    await poll_until(peers, lambda: ("disconnected", 2) in left)
    total = server.get_stats()
    assert total.packets_in == first_in + server.get_peer_stats(3).packets_in
    server.close()
    assert server.get_stats() == total  # (after close() too)
    await server.wait_closed()
    await poll_until(peers, disconnected(second))
    await server.create_server(0, "127.0.0.1")
    assert server.get_stats() == PeerStats()  # (a new start counts from 0)
