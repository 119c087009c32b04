"""The public surface: every name in __all__ exists, none twice."""

from __future__ import annotations

import multiplayer


def test_all_names_exist_once() -> None:
    """multiplayer.__all__ names real objects, each once, sorted."""
    names = multiplayer.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(multiplayer, name), name
