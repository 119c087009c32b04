"""Argument counts and annotation checks of RPC methods."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import pytest

from multiplayer import Node, Vector2, rpc
from multiplayer.scene_multiplayer.arguments import checker, signature_of


class Color(enum.IntEnum):
    RED = 1
    BLUE = 2


def typed(
    a: int,
    b: float,
    c: str,
    d: list[int],
    e: dict[str, Vector2],
    f: tuple[int, str],
    g: int | None = None,
) -> None: ...


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (int, [0, -5, 2**40], [True, 1.0, "1", None]),
        (float, [1.5, 2], [True, "1.0", None]),
        (bool, [True, False], [0, 1, None]),
        (str, ["", "x"], [b"x", 1]),
        (bytes, [b"", b"x"], ["x", bytearray(b"x")]),
        (type(None), [None], [0, ""]),
        (list[int], [[], [1, 2]], [[1, "2"], (1, 2), {1: 2}]),
        (list, [[], ["a", 1]], [(1,)]),
        (tuple[int, str], [(1, "a")], [(1, 2), (1,), [1, "a"]]),
        (tuple[int, ...], [(), (1, 2, 3)], [(1, "2"), [1]]),
        (dict[str, int], [{}, {"a": 1}], [{1: 1}, {"a": "b"}, []]),
        (int | None, [None, 3], ["3", 3.0]),
        (Literal["roll", "pass"], ["roll"], ["jump", 1]),
        (Color, [Color.RED, 1, 2], [3, "RED", True]),
        (Vector2, [Vector2(1, 2)], [(1, 2), [1, 2]]),
        (Annotated[int, "meta"], [1], ["1"]),
    ],
)
def test_checkers(annotation: Any, good: list[Any], bad: list[Any]) -> None:
    """Each supported annotation accepts matching values and refuses others."""
    check = checker(annotation)
    assert check is not None
    for value in good:
        assert check(value), value
    for value in bad:
        assert not check(value), value


def test_any_and_missing_annotations_accept_everything() -> None:
    """Any, object and unannotated parameters are not checked (Godot's behaviour)."""
    assert checker(Any) is None
    assert checker(object) is None

    def loose(a, b: Any, *rest):  # type: ignore[no-untyped-def]
        ...

    signature = signature_of(loose)
    assert signature.type_error([object(), object(), 1, "x"]) is None


def test_signature_counts_and_names() -> None:
    """Counts include defaults and *args; the error names the argument and types."""
    signature = signature_of(typed)
    assert (signature.fewest, signature.most) == (6, 7)
    assert signature.count_error(5) == "5 arguments, expected 6 to 7"
    good = [1, 2.0, "s", [1], {"k": Vector2()}, (1, "x")]
    assert signature.type_error(good) is None
    assert signature.type_error([1, 2.0, "s", [1], {"k": (1, 2)}, (1, "x")]) == (
        "argument 'e' must be dict[str, multiplayer.values.Vector2], not dict"
    )
    assert signature.type_error([True, *good[1:]]) == "argument 'a' must be int, not bool"


def test_bound_methods_skip_self() -> None:
    """A bound method's signature does not count self."""

    class N(Node):
        @rpc
        def f(self, x: int, *more: str) -> None: ...

    node = N()
    signature = signature_of(N.f.function.__get__(node))
    assert signature.fewest == 1
    assert signature.type_error([1, "a", "b"]) is None
    assert signature.type_error([1, "a", 2]) == "argument 'more' must be str, not int"


def test_unresolvable_annotations_disable_checks() -> None:
    """An annotation naming an unknown type does not break the method: no checks."""

    def odd(x: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        ...

    assert signature_of(odd).type_error(["anything"]) is None
