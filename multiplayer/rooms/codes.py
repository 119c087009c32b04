"""Room codes: short, unambiguous, case-insensitive, hard to guess.

A player reads a code off a friend's screen or hears it over voice chat, so a code
uses Crockford's base32 alphabet (digits and letters, without I, L, O and U): when
one is typed back, ``i`` and ``l`` are read as 1, ``o`` as 0, case does not matter,
and hyphens and spaces are ignored. Six characters are 30 random bits (about a
billion codes): enough that a private room is not found by trying codes at the
rate a server allows joins.
"""

from __future__ import annotations

import secrets

__all__ = ["ALPHABET", "CODE_LENGTH", "new_code", "normalize_code"]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32 digits."""
CODE_LENGTH = 6
"""Characters in a code (30 random bits)."""

_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})
_DIGITS = frozenset(ALPHABET)


def new_code(length: int = CODE_LENGTH) -> str:
    """A fresh random code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_code(text: str, length: int = CODE_LENGTH) -> str:
    """The code a player typed, as the directory knows it.

    Raises:
        ValueError: It is not a code (wrong length, or a character no code has).
    """
    code = text.upper().translate(_READ_AS)
    if len(code) != length or not _DIGITS.issuperset(code):
        raise ValueError(f"{text!r} is not a room code ({length} of {ALPHABET})")
    return code
