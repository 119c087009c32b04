"""Tests for :mod:`multiplayer.transport.resume`: the account of a resumable session
(counts, replay buffer, acknowledgements) and the gate on resume attempts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from multiplayer.exceptions import ProtocolError
from multiplayer.transport.resume import (
    ACK_EVERY_BYTES,
    ACK_EVERY_MESSAGES,
    RESUME_FAILURES,
    RESUME_WINDOW,
    TOKEN_SIZE,
    Replay,
    ResumeGap,
    ResumeGate,
    new_token,
    same_token,
)


def test_tokens_are_fresh_random_bytes() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(token) == TOKEN_SIZE for token in tokens)
    token = new_token()
    assert same_token(token, bytes(token))
    assert not same_token(token, bytes(16))
    assert not same_token(token, token[:8])


def test_a_replay_keeps_what_is_not_acknowledged() -> None:
    replay = Replay(b"t" * 16, 1000)
    assert replay.record([b"a", b"bb"]) and replay.record([b"ccc"])
    assert (replay.sent, replay.buffered) == (3, 6)
    replay.acknowledged(1)
    assert (replay.buffered, replay.replay(1)) == (5, [b"bb", b"ccc"])
    assert replay.replay(3) == []
    assert replay.buffered == 0


def test_a_replay_over_its_limit_says_so() -> None:
    replay = Replay(b"t" * 16, 10)
    assert replay.record([b"x" * 10])
    assert not replay.record([b"y"])


@pytest.mark.parametrize("count", [-1, 4])
def test_an_impossible_acknowledgement_is_a_protocol_error(count: int) -> None:
    replay = Replay(b"t" * 16, 1000)
    replay.record([b"a", b"b", b"c"])
    with pytest.raises(ProtocolError, match="acknowledged"):
        replay.acknowledged(count)


def test_an_acknowledgement_cannot_go_back() -> None:
    """A resume from a count below what was acknowledged cannot be served: those
    messages are gone. (An honest peer never asks it.)"""
    replay = Replay(b"t" * 16, 1000)
    replay.record([b"a", b"b", b"c"])
    replay.acknowledged(2)
    with pytest.raises(ProtocolError):
        replay.replay(1)


def test_the_receiver_acknowledges_after_enough_messages_or_bytes() -> None:
    replay = Replay(b"t" * 16, 1000)
    due = [replay.arrived(1) for _ in range(ACK_EVERY_MESSAGES)]
    assert due == [False] * (ACK_EVERY_MESSAGES - 1) + [True]
    assert replay.take_ack() == ACK_EVERY_MESSAGES and not replay.ack_due()
    assert replay.arrived(ACK_EVERY_BYTES)
    assert replay.ack_due()


def test_a_resume_counts_as_an_acknowledgement_and_changes_the_token() -> None:
    replay = Replay(b"a" * 16, 1000)
    replay.arrived(5)
    replay.resumed(b"b" * 16)
    assert replay.token == b"b" * 16 and not replay.ack_due()


@settings(deadline=None)
@given(
    sizes=st.lists(st.integers(1, 50), min_size=1, max_size=60),
    acks=st.lists(st.integers(0, 60), max_size=10),
    cut=st.integers(0, 60),
)
def test_what_is_replayed_is_exactly_what_the_receiver_missed(
    sizes: list[int], acks: list[int], cut: int
) -> None:
    """Whatever the acknowledgements in between, replaying from the receiver's count
    gives back exactly the messages after it."""
    messages = [bytes([i % 256]) * size for i, size in enumerate(sizes)]
    replay = Replay(b"t" * 16, 1 << 20)
    replay.record(messages)
    acked = 0
    for ack in sorted(min(a, len(messages)) for a in acks):
        replay.acknowledged(ack)
        acked = ack
    received = max(acked, min(cut, len(messages)))
    assert replay.replay(received) == messages[received:]
    assert replay.buffered == sum(map(len, messages[received:]))


def test_the_gate_shuts_an_address_after_too_many_refusals() -> None:
    gate = ResumeGate()
    for _ in range(RESUME_FAILURES):
        assert gate.allows("10.0.0.1", 0.0)
        gate.refused("10.0.0.1", 0.0)
    assert not gate.allows("10.0.0.1", 1.0)
    assert gate.allows("10.0.0.2", 1.0)  # (another address)
    assert gate.allows("10.0.0.1", RESUME_WINDOW)  # the window is over


def test_the_gate_forgets_the_oldest_address_past_its_bound() -> None:
    gate = ResumeGate(max_addresses=3)
    for address in ("a", "b", "c", "d"):
        for _ in range(RESUME_FAILURES):
            gate.refused(address, 0.0)
    assert gate.allows("a", 0.0)  # forgotten: memory stays bounded
    assert not gate.allows("d", 0.0)


def test_the_old_token_is_good_until_the_other_side_has_spoken() -> None:
    """A resume rotates the token; until the client speaks on the resumed link, it
    may not have the new one (the answer could have been cut off), so the old one
    is still accepted; after that, only the new one."""
    replay = Replay(b"a" * 16, 1000)
    replay.record([b"x"])
    assert replay.accept(b"a" * 16, 0) == [b"x"]
    replay.resumed(b"b" * 16)
    assert replay.accept(b"a" * 16, 1) == []  # (the old one, still good)
    assert replay.accept(b"b" * 16, 1) == []
    replay.confirmed()
    with pytest.raises(ProtocolError, match="wrong token"):
        replay.accept(b"a" * 16, 1)
    with pytest.raises(ProtocolError, match="wrong token"):
        replay.accept(b"c" * 16, 1)


def test_what_is_let_go_in_flight_makes_an_early_resume_a_gap() -> None:
    """Past its limit while the link is up, the buffer lets go of what it holds: late
    acknowledgements are taken without complaint, a resume from before the let-go
    is a ResumeGap (an honest end, with its reason), and once the other side has
    acknowledged past it, resuming works again."""
    replay = Replay(b"t" * 16, 10)
    assert not replay.record([b"x" * 6, b"y" * 6])
    replay.let_go()
    assert (replay.buffered, replay.lapsed) == (0, True)
    replay.acknowledged(1)  # (late, behind what was let go: fine)
    with pytest.raises(ResumeGap, match="2 messages it had not acknowledged"):
        replay.replay(0)
    replay.record([b"z"])
    replay.acknowledged(2)  # caught up
    assert not replay.lapsed
    assert replay.replay(2) == [b"z"]


def test_two_lost_answers_in_a_row_leave_the_clients_token_good() -> None:
    """The server accepts a resume with the old token, answers with a new one, and
    that answer is lost too: the token the client holds is still the one it
    presented, and it is still good."""
    replay = Replay(b"a" * 16, 1000)
    replay.accept(b"a" * 16, 0)
    replay.resumed(b"b" * 16)  # (answer lost: the client still holds "a")
    replay.accept(b"a" * 16, 0)
    replay.resumed(b"c" * 16)  # (lost again)
    assert replay.accept(b"a" * 16, 0) == []
    replay.resumed(b"d" * 16)
    replay.confirmed()
    with pytest.raises(ProtocolError, match="wrong token"):
        replay.accept(b"a" * 16, 0)
