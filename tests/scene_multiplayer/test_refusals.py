"""Refusal, Race and RefusalLog: every refusal logged, rate-limited, bounded."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from multiplayer.scene_multiplayer.refusals import Race, Refusal, RefusalLog


def test_the_first_is_logged_and_repeats_are_counted_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first refusal of a (peer, kind, reason) is logged at once; repeats within
    the interval are counted and logged as a count when it is over."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), interval=10)
    for i in range(1000):
        log.refuse(2, ("bad",), "bad packet", now=i / 100)  # over 10 s
    log.flush(now=20)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused from peer 2: bad packet",
        "refused from peer 2: bad packet (999 more times in 20 s)",
    ]
    assert log.count(2, ("bad",)) == 1000


def test_another_reason_of_the_same_kind_is_counted_with_the_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Kinds are told apart by their first part only: the rest, and the reason, may
    come from the peer, which gets no new line by varying them. The summary says
    the repeats differed, and shows the last."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), interval=10)
    log.refuse(2, ("args", "f"), "argument 'x' must be int, not str", now=0)
    log.refuse(2, ("args", "g"), "argument 'y' must be str, not int", now=1)
    log.refuse(3, ("args", "f"), "argument 'x' must be int, not str", now=2)
    log.flush(now=12)
    assert [r.getMessage() for r in caplog.records] == [
        "refused from peer 2: argument 'x' must be int, not str",
        "refused from peer 3: argument 'x' must be int, not str",
        "refused from peer 2: argument 'y' must be str, not int (1 more of this kind in 12 s)",
    ]
    assert log.count(2, ("args", "f")) == 1 and log.count(2, ("args", "g")) == 1


def test_a_peer_cannot_flood_the_log_with_varied_junk(caplog: pytest.LogCaptureFixture) -> None:
    """Junk whose reasons all differ (the decoder's view of random bytes) makes one
    line, and its count when the interval is over."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), interval=10)
    for i in range(100):
        log.refuse(2, ("bad packet", f"error #{i}"), f"malformed packet: error #{i}", now=1)
    log.flush(now=11)
    assert [r.getMessage() for r in caplog.records] == [
        "refused from peer 2: malformed packet: error #0",
        "refused from peer 2: malformed packet: error #99 (99 more of this kind in 10 s)",
    ]


def test_at_most_lines_per_interval_about_a_peer(caplog: pytest.LogCaptureFixture) -> None:
    """At most lines_per_interval lines a peer an interval, whatever the kinds; the
    rest are counted and summed up in one line when the interval is over."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), lines_per_interval=5, interval=10)
    for i in range(100):
        log.refuse(2, (f"kind {i}",), f"junk #{i}", now=1)
    log.flush(now=11)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:5] == [f"refused from peer 2: junk #{i}" for i in range(5)]
    assert lines[5:] == ["peer 2: 95 more refusals and notes not logged in the last 10 s"]


def test_notes_say_what_happened_without_refused(caplog: pytest.LogCaptureFixture) -> None:
    log = RefusalLog(logging.getLogger("multiplayer.test"))
    log.note(2, ("race",), "call for a node freed here meanwhile", level=logging.INFO)
    (record,) = caplog.records
    assert record.getMessage() == "peer 2: call for a node freed here meanwhile"
    assert record.levelno == logging.INFO


def test_a_race_is_logged_but_never_counted(make_session: Any) -> None:
    """The referee counts a Refusal as a violation, never a Race."""
    session = make_session(clients=1)
    server = session.api(0)
    server.rate_limits.max_violations = 1
    for _ in range(5):
        server._referee.judge(2, Race(("race",), "a race"))
    assert not server._sessions.all[2].kicked
    server._referee.judge(2, Refusal(("x",), "bad"))
    server._referee.judge(2, Refusal(("x",), "bad"))
    assert server._sessions.all[2].kicked


def test_bounded_and_forgotten() -> None:
    """The oldest kinds go past the bound; a peer's kinds go when it leaves."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), max_kinds=3)
    for kind in ("a", "b", "c", "d"):
        log.refuse(2, (kind,), kind)
    assert log.count(2, ("a",)) == 0 and log.count(2, ("d",)) == 1
    log.refuse(3, ("x" * 1000,), "long")
    assert log.count(3, ("x" * 1000,)) == 1  # long parts are shortened the same way
    assert (log.refused(2), log.refused(3), log.refused(4)) == (4, 1, 0)
    log.note(3, ("race",), "a note is no refusal")
    assert log.refused(3) == 1
    log.forget_peer(2)
    assert log.count(2, ("d",)) == 0
    assert log.refused(2) == 0


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
    assert "refused from peer 2: malformed packet: unknown command 250" in caplog.text


def test_what_a_budget_held_back_is_summed_up_when_the_interval_rolls_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The summary is logged even when the next refusal, not flush(), ends the
    interval (the reviewer saw it lost inside a long drain)."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), lines_per_interval=2, interval=10)
    for i in range(10):
        log.refuse(2, (f"junk {i}",), f"junk #{i}", now=1)
    log.refuse(2, ("late",), "junk #late", now=12)  # a new interval, no flush between
    lines = [r.getMessage() for r in caplog.records]
    assert "peer 2: 8 more refusals and notes not logged in the last 10 s" in lines
    assert lines[-1] == "refused from peer 2: junk #late"


def test_what_was_held_back_about_a_leaver_is_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    log = RefusalLog(logging.getLogger("multiplayer.test"), lines_per_interval=2)
    for i in range(50):
        log.refuse(2, (f"junk {i % 3}",), f"junk #{i % 3}", now=1)
    log.forget_peer(2)
    assert caplog.records[-1].getMessage() == (
        "peer 2: 48 more refusals and notes not logged before it left"
    )
    log.refuse(3, ("x",), "x", now=1)
    log.refuse(3, ("x",), "x", now=2)
    log.clear()
    assert caplog.records[-1].getMessage() == (
        "peer 3: 1 more refusals and notes not logged before it left"
    )


def test_the_tables_stay_bounded_whatever_the_kinds() -> None:
    """Entries and per-kind counts are bounded as they are inserted, logged or not."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), max_kinds=100, lines_per_interval=1)
    for i in range(10_000):
        log.refuse(2, ("kind", i), f"reason {i}", now=1)
    assert len(log._totals) <= 100 and len(log._entries) <= 100


def test_every_line_counts_against_the_budgets(caplog: pytest.LogCaptureFixture) -> None:
    """Repeat summaries from flush() are charged to the peer's budget, and every peer's
    lines to everyone's: many peers (or one that reconnects under new ids) cannot
    flood the log either."""
    log = RefusalLog(
        logging.getLogger("multiplayer.test"),
        lines_per_interval=3,
        max_lines_per_interval=10,
        interval=10,
    )
    for peer in range(2, 102):
        for i in range(5):
            log.refuse(peer, ("junk",), f"junk #{i}", now=1)
    for peer in range(2, 102):
        log.refuse(peer, ("junk",), "junk #0", now=5)
    log.flush(now=20)
    log.flush(now=40)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) <= 10 + 10 + 2  # two intervals' budgets, and the summaries
    assert messages[-1].endswith("not logged: more than 10 lines in 10 s")


def test_an_entry_pushed_out_of_the_table_keeps_its_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entries past max_kinds go, oldest first, but the repeats they held are summed
    up with their peer's: other peers' kinds cannot make them vanish."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), max_kinds=2, interval=10)
    for _ in range(5):
        log.refuse(2, ("bad",), "bad", now=1)
    log.refuse(3, ("x",), "x", now=1)
    log.refuse(4, ("y",), "y", now=1)  # pushes peer 2's entry out, with its 4 repeats
    log.flush(now=12)
    assert "peer 2: 4 more refusals and notes not logged in the last 10 s" in caplog.text


def test_the_summaries_of_leavers_count_against_everyones_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Many peers that send junk and leave: each leave's summary is a line of the
    global budget, and past it they are summed up too, in one line an interval."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), max_lines_per_interval=10)
    for peer in range(2, 102):
        log.refuse(peer, ("junk",), "junk", now=1)
        log.refuse(peer, ("junk",), "junk", now=1)
        log.forget_peer(peer, now=1)
    log.flush(now=12)
    log.refuse(200, ("junk",), "junk", now=12)  # (a new interval: the summary is out)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 10 + 1 + 1
    assert messages[-2] == "190 more refusals and notes not logged: more than 10 lines in 10 s"


def test_notes_are_kinds_of_their_own(caplog: pytest.LogCaptureFixture) -> None:
    """A note is counted apart from refusals, and by its own kind."""
    log = RefusalLog(logging.getLogger("multiplayer.test"))
    log.note(2, ("lacks", "A"), "no A here", now=1)
    log.note(2, ("sync",), "stale state", now=1)
    log.refuse(2, ("lacks",), "refused", now=1)
    assert len(caplog.records) == 3
    assert log.count(2, ("note", "lacks", "A")) == 1 and log.count(2, ("lacks",)) == 1


def test_everyones_summary_is_one_line_an_interval(caplog: pytest.LogCaptureFixture) -> None:
    """What everyone's budget held back is summed up when its interval ends, in one
    line, however often flush() runs meanwhile (and even once every peer left)."""
    log = RefusalLog(logging.getLogger("multiplayer.test"), max_lines_per_interval=2, interval=10)
    for peer in range(2, 12):
        log.refuse(peer, ("junk",), "junk", now=1)
    for now in (11.5, 12.5, 15, 20):  # the peers' summaries: 2 fit the new interval
        log.flush(now=now)
    for peer in range(2, 12):
        log.forget_peer(peer, now=20)
    summaries = [r.getMessage() for r in caplog.records if "lines in 10 s" in r.getMessage()]
    assert summaries == []
    log.flush(now=22)
    summaries = [r.getMessage() for r in caplog.records if "lines in 10 s" in r.getMessage()]
    assert summaries == ["6 more refusals and notes not logged: more than 2 lines in 10 s"]
    assert len(caplog.records) == 2 + 2 + 1
