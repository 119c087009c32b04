"""Refusal and RefusalLog: one line per kind, counts at powers of ten, bounded."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from multiplayer.scene_multiplayer.refusals import Refusal, RefusalLog


def test_first_then_powers_of_ten(caplog: pytest.LogCaptureFixture) -> None:
    """A kind is logged the first time, then at 10, 100, 1000 repeats."""
    log = RefusalLog(logging.getLogger("multiplayer.test"))
    for _ in range(1000):
        log.refuse(2, ("bad",), "bad packet")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused from peer 2: bad packet",
        "refused from peer 2: bad packet (10 times)",
        "refused from peer 2: bad packet (100 times)",
        "refused from peer 2: bad packet (1000 times)",
    ]
    assert log.count(2, ("bad",)) == 1000


def test_bounded_and_forgotten() -> None:
    """The oldest kinds go past the bound; a peer's kinds go when it leaves."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), max_kinds=3)
    for kind in ("a", "b", "c", "d"):
        log.refuse(2, (kind,), kind)
    assert log.count(2, ("a",)) == 0 and log.count(2, ("d",)) == 1
    log.refuse(3, ("x" * 1000,), "long")
    assert log.count(3, ("x" * 1000,)) == 1  # long parts are shortened the same way
    log.forget_peer(2)
    assert log.count(2, ("d",)) == 0


def test_a_refusal_carries_its_kind_and_reason() -> None:
    """Raised where a packet is read, it carries what the log needs."""
    refusal = Refusal(("call", "Game", "hello"), "RPC 'hello' on 'Game': no such node")
    assert refusal.kind == ("call", "Game", "hello")
    assert refusal.reason == str(refusal) == "RPC 'hello' on 'Game': no such node"


def test_the_server_disconnects_a_client_with_too_many_refusals(make_session: Any) -> None:
    """Past max_violations within the window the server kicks the sender; once."""
    session = make_session(clients=1)
    server = session.api(0)
    server.rate_limits.max_violations = 3
    for _ in range(3):
        server._referee.refuse(2, ("x",), "bad")
    assert not server._sessions.all[2].kicked
    server._referee.refuse(2, ("x",), "bad")
    assert server._sessions.all[2].kicked
    server._referee.refuse(2, ("x",), "bad")  # (kicked already: no second kick)
    session.pump()
    assert server.get_peers() == [] and session.api(1).get_peers() == []


def test_a_client_never_disconnects_the_server(make_session: Any) -> None:
    """A client logs what it refuses but keeps the server, whatever the count."""
    session = make_session(clients=1)
    client = session.api(1)
    client.rate_limits.max_violations = 1
    for _ in range(10):
        client._referee.refuse(1, ("x",), "bad")
    session.pump()
    assert client.get_peers() == [1] and client._refusals.count(1, ("x",)) == 10


def test_a_leaver_over_the_limit_is_not_kicked(
    make_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that sends junk and leaves in the same poll is read to the end: its
    refusals are logged, poll() goes on, and nobody tries to kick a peer that left."""
    session = make_session(clients=2)
    server = session.api(0)
    server.rate_limits.max_violations = 3
    for _ in range(10):
        session.craft(1, [250, "junk"])  # an unknown command: refused each time
    client_peer = session.api(1).multiplayer_peer
    assert client_peer is not None
    client_peer.close()  # leaves before the server reads any of it
    server.poll()  # (raised PeerNotFound from the kick before the fix)
    session.pump()
    assert server.get_peers() == [3]
    assert "refused from peer 2: malformed packet: unknown command 250 (10 times)" in caplog.text
