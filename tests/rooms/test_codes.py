"""Tests for :mod:`multiplayer.rooms.codes`."""

from __future__ import annotations

import pytest

from multiplayer.rooms.codes import ALPHABET, CODE_LENGTH, new_code, normalize_code


def test_codes_are_random_crockford_base32() -> None:
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) for code in codes)
    assert not set("ILOU") & set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("7k2mq9", "7K2MQ9"), ("7K2-MQ9", "7K2MQ9"), ("o1lIq9", "0111Q9"), (" ab cd ef", "ABCDEF")],
)
def test_a_typed_code_is_read_leniently(typed: str, code: str) -> None:
    """Case does not matter, I and L read as 1, O as 0, hyphens and spaces go."""
    assert normalize_code(typed) == code


@pytest.mark.parametrize("typed", ["", "ABCDE", "ABCDEFG", "ABCDE!", "ABCDEU"])
def test_what_is_not_a_code_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="not a room code"):
        normalize_code(typed)
