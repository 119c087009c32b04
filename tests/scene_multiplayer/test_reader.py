"""PacketReader: each packet through its sender's budgets, then decoded and
dispatched; the time budget's throttling, disconnection and share of a poll."""

from __future__ import annotations

import time
from typing import Any

import pytest

from multiplayer import Node, rpc
from multiplayer.protocol.native.codec import Codec
from multiplayer.scene_multiplayer.reader import full_collections

SLOW = 0.004  # seconds a marked packet takes to decode


class SlowCodec(Codec):
    """A codec that takes SLOW seconds over any packet holding b"slow"."""

    def unpackb(self, data: bytes, *, allow_objects: bool = True) -> Any:
        if b"slow" in data:
            end = time.perf_counter() + SLOW
            while time.perf_counter() < end:
                pass
        return super().unpackb(data, allow_objects=allow_objects)


def slow_session(make_session: Any, cpu_per_second: float) -> Any:
    session = make_session(clients=2)
    server = session.api(0)
    server.codec = SlowCodec()
    server.rate_limits.cpu_per_second = cpu_per_second
    return session


def test_a_costly_peer_has_a_share_of_each_poll(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Past a tenth of its time budget in one poll, the poll stops reading: what is
    left, the other peers' packets too, waits for the next poll, and is not lost."""
    session = slow_session(make_session, cpu_per_second=0.2)  # 20 ms a poll
    server = session.api(0)
    got: list[tuple[int, bytes]] = []
    server.peer_packet.connect(lambda sender, data: got.append((sender, data)))
    for i in range(8):
        session.api(1).send_bytes(b"slow %d" % i, 1)
    session.api(2).send_bytes(b"hello", 1)
    server.poll()
    assert 1 <= len(got) < 8  # (6 of them take 24 ms: fewer if the machine is slow)
    for _ in range(8):
        server.poll()
    assert got == [(2, b"slow %d" % i) for i in range(8)] + [(3, b"hello")]
    assert "time budget" not in caplog.text  # 32 ms: within its 200 ms a second


def test_a_peer_over_its_time_budget_is_throttled_then_disconnected(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Over cpu_per_second, a peer's packets are dropped (each a violation) until
    its budget refills; over it again within the violation window, it is
    disconnected. The others are not affected."""
    session = slow_session(make_session, cpu_per_second=0.003)  # 4 ms: over at once
    server = session.api(0)
    got: list[tuple[int, bytes]] = []
    server.peer_packet.connect(lambda sender, data: got.append((sender, data)))
    for i in range(3):
        session.api(1).send_bytes(b"slow %d" % i, 1)
    session.pump()
    assert got == [(2, b"slow 0")]
    assert (
        "peer 2: its packets took more than 0.003 s of this side's time a second "
        "(cpu_per_second): they are dropped until it is back within it" in caplog.text
    )
    assert "refused from peer 2: over its time budget: packet dropped" in caplog.text
    assert server.get_peers() == [2, 3]
    budget = server._sessions.all[2].budget
    deadline = time.monotonic() + 30
    while not budget.recovered(time.perf_counter()) and time.monotonic() < deadline:
        time.sleep(0.01)  # (some 0.3 s: 1 ms over, refilled at 3 ms a second)
    session.api(1).send_bytes(b"slow again", 1)
    session.api(2).send_bytes(b"hello", 1)
    session.pump()
    assert got == [(2, b"slow 0"), (2, b"slow again"), (3, b"hello")]
    assert "(cpu_per_second) again within 10.0 s: disconnecting it" in caplog.text
    assert server.get_peers() == [3]


class Heavy(Node):
    @rpc("any_peer")
    def work(self) -> None:
        end = time.perf_counter() + 0.1
        while time.perf_counter() < end:
            pass


def test_the_time_of_the_applications_handlers_is_not_counted(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A call to a handler that takes long is the application's business: its time
    is not the caller's."""
    session = make_session(clients=1)
    session.api(0).rate_limits.cpu_per_second = 0.03  # (a handler takes 0.1 s)
    heavy = [Heavy(), Heavy()]
    for tree, node in zip(session.trees, heavy, strict=True):
        tree.root.add_child(node)
    session.pump()
    for _ in range(2):
        heavy[1].work.rpc_id(1)
        session.pump()
    assert "time budget" not in caplog.text and session.api(0).get_peers() == [2]


def test_a_leaver_cut_short_by_its_share_keeps_its_last_words(make_session: Any) -> None:
    """A leave waits until the packets before it were read, across polls cut short."""
    session = slow_session(make_session, cpu_per_second=0.05)  # 5 ms a poll
    server = session.api(0)
    events: list[object] = []
    server.peer_packet.connect(lambda sender, data: events.append(data))
    server.peer_disconnected.connect(lambda peer_id: events.append(("left", peer_id)))
    for i in range(4):
        session.api(1).send_bytes(b"slow %d" % i, 1)
    session.api(1).send_bytes(b"bye", 1)
    client_peer = session.api(1).multiplayer_peer
    assert client_peer is not None
    client_peer.close()
    for _ in range(6):
        server.poll()
    assert events == [b"slow 0", b"slow 1", b"slow 2", b"slow 3", b"bye", ("left", 2)]


class PausedCodec(Codec):
    """A codec during whose decoding of b"pause" a full garbage collection of 0.1 s
    runs (as it does, in a big heap, whenever the allocator decides)."""

    def unpackb(self, data: bytes, *, allow_objects: bool = True) -> Any:
        if b"pause" in data:
            full_collections("start", {"generation": 2})
            end = time.perf_counter() + 0.1
            while time.perf_counter() < end:
                pass
            full_collections("stop", {"generation": 2})
        return super().unpackb(data, allow_objects=allow_objects)


def test_a_full_garbage_collection_is_not_charged_to_the_peer(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A full collection that happens to run while a packet is read is the whole
    process's work, not its sender's: an honest peer is not throttled for it."""
    session = make_session(clients=1)
    server = session.api(0)
    server.codec = PausedCodec()
    server.rate_limits.cpu_per_second = 0.05
    for _ in range(3):
        session.games[1].hello.rpc_id(1, "pause")
        session.pump()
    assert [c[2] for c in session.games[0].calls] == ["pause"] * 3
    assert "time budget" not in caplog.text


def test_real_full_collections_are_timed() -> None:
    import gc

    before = full_collections.seconds
    gc.collect()
    assert full_collections.seconds > before
