"""Tests for the Godot value types in :mod:`multiplayer.values`."""

from __future__ import annotations

import copy
import math
import operator
import pickle
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from multiplayer.values import (
    Color,
    Quaternion,
    Rect2,
    Rect2i,
    Vector2,
    Vector2i,
    Vector3,
    Vector3i,
    Vector4,
    Vector4i,
)

# No deadline: a slow CI machine must not turn a correct run into a failure.
hypothesis_settings = settings(deadline=None)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


# Construction.


def test_defaults_are_zero() -> None:
    """The vectors default to zero; Color's alpha defaults to 1."""
    assert tuple(Vector2()) == (0.0, 0.0)
    assert tuple(Vector2i()) == (0, 0)
    assert tuple(Vector3()) == (0.0, 0.0, 0.0)
    assert tuple(Vector3i()) == (0, 0, 0)
    assert tuple(Color(0.1, 0.2, 0.3)) == (0.1, 0.2, 0.3, 1.0)


@pytest.mark.parametrize(
    "value", [Vector2(1, 2), Vector3(1, 2, 3), Color(1, 0, 0), Vector2(Fraction(1, 2), 2)]
)
def test_float_types_store_floats(value: Any) -> None:
    """Ints and other real numbers given to a float type are stored as floats."""
    assert all(type(c) is float for c in value)


@pytest.mark.parametrize("cls", [Vector2, Vector3, Color])
@pytest.mark.parametrize("bad", ["1", None, True, 1j, [1]])
def test_float_types_reject_non_numbers(cls: Any, bad: object) -> None:
    """A str, None, a bool or a complex is not a float component."""
    with pytest.raises(TypeError):
        cls(bad, 0, 0) if cls is not Vector2 else cls(bad, 0)


@pytest.mark.parametrize("cls", [Vector2i, Vector3i])
@pytest.mark.parametrize("bad", [1.0, 1.5, "1", None, True, Fraction(1, 1)])
def test_int_vectors_reject_non_ints(cls: Any, bad: object) -> None:
    """An integer vector takes ints only: not floats, even integral ones, nor bools."""
    with pytest.raises(TypeError):
        cls(0, bad)


def test_int_vectors_store_exact_ints() -> None:
    """An int subclass given to an integer vector is stored as a plain int."""

    class MyInt(int):
        pass

    assert type(Vector2i(MyInt(3), 4).x) is int


@pytest.mark.parametrize(
    "value", [Vector2(1, 2), Vector2i(1, 2), Vector3(1, 2, 3), Vector3i(1, 2, 3), Color(1, 0, 0)]
)
def test_immutable(value: Any) -> None:
    """Setting, adding or deleting an attribute raises AttributeError."""
    with pytest.raises(AttributeError):
        value.x = 5
    with pytest.raises(AttributeError):
        value.other = 5
    with pytest.raises(AttributeError):
        del value.y
    assert not hasattr(value, "__dict__")


# Python protocols.


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Vector2(1.5, 2), "Vector2(1.5, 2.0)"),
        (Vector2i(3, -4), "Vector2i(3, -4)"),
        (Vector3(1, 2.5, -0.0), "Vector3(1.0, 2.5, -0.0)"),
        (Vector3i(1, 2, 3), "Vector3i(1, 2, 3)"),
        (Color(1, 0.5, 0), "Color(1.0, 0.5, 0.0, 1.0)"),
    ],
)
def test_repr(value: object, text: str) -> None:
    """repr() reads like the constructor call."""
    assert repr(value) == text


def test_equality_and_hash() -> None:
    """Equal values hash alike; the types are never equal to each other or to tuples."""
    assert Vector2(1, 2) == Vector2(1.0, 2.0)
    assert hash(Vector2(1, 2)) == hash(Vector2(1.0, 2.0))
    assert Vector2(1, 2) != Vector2(2, 1)
    assert Vector2(1, 2) != Vector2i(1, 2)
    assert Vector2(1, 2) != (1.0, 2.0)
    assert Vector3i(1, 2, 3) != [1, 2, 3]
    assert Color(1, 0, 0) != Color(1, 0, 0, 0.5)
    assert len({Vector2(1, 2), Vector2(1, 2), Vector2i(1, 2), (1, 2)}) == 3
    assert {Vector3i(1, 2, 3): "a"}[Vector3i(1, 2, 3)] == "a"


def test_iteration_and_indexing() -> None:
    """The components unpack, index and count like a sequence."""
    x, y = Vector2(1, 2)
    assert (x, y) == (1.0, 2.0)
    r, g, b, a = Color(0.1, 0.2, 0.3)
    assert (r, g, b, a) == (0.1, 0.2, 0.3, 1.0)
    assert Vector3i(4, 5, 6)[2] == 6
    assert Vector2(1, 2)[-1] == 2.0
    assert [len(v) for v in (Vector2(), Vector2i(), Vector3(), Vector3i(), Color.RED)] == [
        2,
        2,
        3,
        3,
        4,
    ]
    with pytest.raises(IndexError):
        Vector2()[2]


def test_truthiness() -> None:
    """A zero vector is falsy, as in Godot; a colour is always truthy."""
    assert not Vector2() and not Vector2i() and not Vector3() and not Vector3i()
    assert Vector2(0, 1) and Vector2i(1, 0) and Vector3(0, 0, -1) and Vector3i(0, 1, 0)
    assert Color(0, 0, 0, 0)


def test_pattern_matching() -> None:
    """The components can be matched positionally."""
    match Vector3(1, 2, 3):
        case Vector3(x, y, z):
            assert (x, y, z) == (1.0, 2.0, 3.0)
        case _:  # pragma: no cover
            pytest.fail("no match")


@pytest.mark.parametrize(
    "value", [Vector2(1, 2), Vector2i(1, 2), Vector3(1, 2, 3), Vector3i(1, 2, 3), Color(1, 0, 0)]
)
def test_pickle_and_copy(value: object) -> None:
    """Values pickle and copy despite refusing attribute assignment."""
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value


# Arithmetic.


def test_float_vector_arithmetic() -> None:
    """+ and - take the same type; * and / take a scalar or the same type."""
    a, b = Vector2(1, 2), Vector2(3, 5)
    assert a + b == Vector2(4, 7)
    assert b - a == Vector2(2, 3)
    assert a * 2 == 2 * a == Vector2(2, 4)
    assert a * b == Vector2(3, 10)
    assert b / 2 == Vector2(1.5, 2.5)
    assert b / Vector2(3, 5) == Vector2.ONE
    assert -a == Vector2(-1, -2)
    assert +a == a
    assert abs(Vector2(-1, 2)) == Vector2(-1, 2).abs() == Vector2(1, 2)
    u, v = Vector3(1, 2, 3), Vector3(4, 5, 6)
    assert u + v == Vector3(5, 7, 9)
    assert v - u == Vector3(3, 3, 3)
    assert u * 0.5 == 0.5 * u == Vector3(0.5, 1, 1.5)
    assert u * v == Vector3(4, 10, 18)
    assert v / Vector3(4, 5, 6) == Vector3.ONE
    assert u / 2 == Vector3(0.5, 1, 1.5)
    assert -u == Vector3(-1, -2, -3)
    assert abs(-u) == (-u).abs() == u


def test_int_vector_arithmetic() -> None:
    """Integer vectors add, subtract, multiply by ints, and floor-divide as Python ints do."""
    a, b = Vector2i(7, -7), Vector2i(2, 3)
    assert a + b == Vector2i(9, -4)
    assert a - b == Vector2i(5, -10)
    assert a * 2 == 2 * a == Vector2i(14, -14)
    assert a * b == Vector2i(14, -21)
    assert a // 2 == Vector2i(3, -4)
    assert a // b == Vector2i(3, -3)
    assert a % 2 == Vector2i(1, 1)
    assert a % b == Vector2i(1, 2)
    assert -a == Vector2i(-7, 7)
    assert abs(a) == a.abs() == Vector2i(7, 7)
    u = Vector3i(7, -7, 1)
    assert u + Vector3i(1, 1, 1) == Vector3i(8, -6, 2)
    assert u - Vector3i(1, 1, 1) == Vector3i(6, -8, 0)
    assert 3 * u == u * 3 == Vector3i(21, -21, 3)
    assert u * Vector3i(2, 2, 2) == Vector3i(14, -14, 2)
    assert u // 2 == Vector3i(3, -4, 0)
    assert u // Vector3i(2, 2, 1) == Vector3i(3, -4, 1)
    assert u % 3 == Vector3i(1, 2, 1)
    assert u % Vector3i(3, 3, 3) == Vector3i(1, 2, 1)
    assert -u == Vector3i(-7, 7, -1)
    assert +u == u
    assert abs(u) == u.abs() == Vector3i(7, 7, 1)


def test_color_arithmetic() -> None:
    """Colours combine channel by channel, alpha included."""
    c = Color(0.5, 0.25, 1, 1)
    assert c + Color(0.5, 0.25, 0, 0) == Color(1, 0.5, 1, 1)
    assert c - Color(0.5, 0.25, 1, 0.5) == Color(0, 0, 0, 0.5)
    assert c * 2 == 2 * c == Color(1, 0.5, 2, 2)
    assert c * Color(2, 2, 0.5, 0.5) == Color(1, 0.5, 0.5, 0.5)
    assert c / 2 == Color(0.25, 0.125, 0.5, 0.5)
    assert c / Color(0.5, 0.25, 1, 1) == Color(1, 1, 1, 1)


@pytest.mark.parametrize(
    ("operation", "left", "right"),
    [
        (operator.add, Vector2(1, 2), (1, 2)),
        (operator.add, Vector2(1, 2), Vector2i(1, 2)),
        (operator.sub, Vector2(1, 2), Vector3(1, 2, 3)),
        (operator.mul, Vector2(1, 2), "2"),
        (operator.truediv, Vector3(1, 2, 3), Vector2(1, 2)),
        (operator.mul, Vector2i(1, 2), 1.5),
        (operator.mul, 1.5, Vector3i(1, 2, 3)),
        (operator.truediv, Vector2i(1, 2), 2),
        (operator.floordiv, Vector2i(1, 2), 2.0),
        (operator.mod, Vector3i(1, 2, 3), Vector2i(1, 2)),
        (operator.add, Color(1, 0, 0), Vector3(1, 0, 0)),
        (operator.lt, Vector2(1, 2), Vector2(2, 3)),
    ],
)
def test_mixed_arithmetic_raises_type_error(operation: Any, left: Any, right: Any) -> None:
    """Operations between unrelated types raise TypeError rather than guess."""
    with pytest.raises(TypeError):
        operation(left, right)


def test_color_has_no_negation() -> None:
    """-Color raises TypeError: Godot's unary minus inverts, use inverted() for that."""
    with pytest.raises(TypeError):
        -Color(1, 0, 0)  # type: ignore[operator]


def test_division_by_zero_raises() -> None:
    """Division by zero raises ZeroDivisionError, as Python numbers do."""
    with pytest.raises(ZeroDivisionError):
        Vector2(1, 2) / 0
    with pytest.raises(ZeroDivisionError):
        Vector2i(1, 2) // Vector2i(1, 0)


# Helpers.


def test_lengths_and_distances() -> None:
    """length, length_squared, distance_to and friends on a 3-4-5 triangle."""
    assert Vector2(3, 4).length() == 5.0
    assert Vector2(3, 4).length_squared() == 25.0
    assert Vector2i(3, 4).length() == 5.0
    assert Vector2i(3, 4).length_squared() == 25
    assert type(Vector2i(3, 4).length_squared()) is int
    assert Vector3(2, 3, 6).length() == 7.0
    assert Vector3(2, 3, 6).length_squared() == 49.0
    assert Vector3i(2, 3, 6).length() == 7.0
    assert Vector3i(2, 3, 6).length_squared() == 49
    assert Vector2(1, 1).distance_to(Vector2(4, 5)) == 5.0
    assert Vector2(1, 1).distance_squared_to(Vector2(4, 5)) == 25.0
    assert Vector3(1, 1, 1).distance_to(Vector3(3, 4, 7)) == 7.0
    assert Vector3(1, 1, 1).distance_squared_to(Vector3(3, 4, 7)) == 49.0


def test_normalized() -> None:
    """normalized() has length 1, and the zero vector stays zero."""
    assert Vector2(3, 4).normalized() == Vector2(0.6, 0.8)
    assert Vector3(0, 0, -2).normalized() == Vector3.FORWARD
    assert Vector2().normalized() == Vector2.ZERO
    assert Vector3().normalized() == Vector3.ZERO
    assert Vector2(1, 1).direction_to(Vector2(4, 5)) == Vector2(0.6, 0.8)
    assert Vector3(1, 1, 1).direction_to(Vector3(1, 1, 1)) == Vector3.ZERO


@hypothesis_settings
@given(finite, finite)
def test_normalized_has_unit_length(x: float, y: float) -> None:
    """Any non-zero vector normalizes to length 1."""
    v = Vector2(x, y)
    if v.length() > 1e-100:
        assert math.isclose(v.normalized().length(), 1.0)


def test_dot_and_cross() -> None:
    """dot and cross products, in 2D (a scalar) and 3D (a vector)."""
    assert Vector2(1, 2).dot(Vector2(3, 4)) == 11.0
    assert Vector2(1, 0).cross(Vector2(0, 1)) == 1.0
    assert Vector2(0, 1).cross(Vector2(1, 0)) == -1.0
    assert Vector3(1, 2, 3).dot(Vector3(4, 5, 6)) == 32.0
    assert Vector3.RIGHT.cross(Vector3.UP) == Vector3.BACK
    assert Vector3(1, 2, 3).cross(Vector3(4, 5, 6)) == Vector3(-3, 6, -3)


def test_angles() -> None:
    """angle(), rotated() and from_angle() measure radians from the x axis."""
    assert Vector2.RIGHT.angle() == 0.0
    assert Vector2.DOWN.angle() == math.pi / 2
    assert Vector2.RIGHT.rotated(math.pi / 2).is_equal_approx(Vector2.DOWN)
    assert Vector2(1, 2).rotated(math.pi).is_equal_approx(Vector2(-1, -2))
    assert Vector2.from_angle(math.pi).is_equal_approx(Vector2.LEFT)


def test_lerp() -> None:
    """lerp gives the start at 0, the end at 1 and extrapolates beyond."""
    a, b = Vector2(0, 10), Vector2(10, 20)
    assert a.lerp(b, 0) == a
    assert a.lerp(b, 1) == b
    assert a.lerp(b, 0.5) == Vector2(5, 15)
    assert a.lerp(b, 2) == Vector2(20, 30)
    assert Vector3(0, 0, 0).lerp(Vector3(2, 4, 8), 0.25) == Vector3(0.5, 1, 2)
    assert Color(0, 0, 0, 0).lerp(Color(1, 1, 1, 1), 0.5) == Color(0.5, 0.5, 0.5, 0.5)


def test_is_equal_approx() -> None:
    """is_equal_approx tolerates float rounding, relative to the magnitude."""
    assert Vector2(0.1 + 0.2, 1).is_equal_approx(Vector2(0.3, 1))
    assert not Vector2(0.3, 1).is_equal_approx(Vector2(0.31, 1))
    assert Vector3(1e9, 0, 0).is_equal_approx(Vector3(1e9 + 1, 0, 0))
    assert not Vector3(1, 0, 0).is_equal_approx(Vector3(1, 0, 0.001))
    assert Color(0.1 + 0.2, 0, 0).is_equal_approx(Color(0.3, 0, 0))
    assert not Color(1, 0, 0).is_equal_approx(Color(1, 0, 0, 0.5))


def test_constants() -> None:
    """The direction constants follow Godot: 2D y points down, 3D forward is -z."""
    assert Vector2.UP == Vector2(0, -1)
    assert (Vector2.DOWN, Vector2.LEFT, Vector2.RIGHT) == (
        Vector2(0, 1),
        Vector2(-1, 0),
        Vector2(1, 0),
    )
    assert (Vector2.ZERO, Vector2.ONE) == (Vector2(0, 0), Vector2(1, 1))
    assert (Vector2i.UP, Vector2i.ONE, Vector2i.ZERO) == (
        Vector2i(0, -1),
        Vector2i(1, 1),
        Vector2i(),
    )
    assert (Vector2i.DOWN, Vector2i.LEFT, Vector2i.RIGHT) == (
        Vector2i(0, 1),
        Vector2i(-1, 0),
        Vector2i(1, 0),
    )
    assert (Vector3.UP, Vector3.DOWN) == (Vector3(0, 1, 0), Vector3(0, -1, 0))
    assert (Vector3.FORWARD, Vector3.BACK) == (Vector3(0, 0, -1), Vector3(0, 0, 1))
    assert (Vector3.LEFT, Vector3.RIGHT) == (Vector3(-1, 0, 0), Vector3(1, 0, 0))
    assert (Vector3.ZERO, Vector3.ONE) == (Vector3(), Vector3(1, 1, 1))
    assert (Vector3i.UP, Vector3i.FORWARD) == (Vector3i(0, 1, 0), Vector3i(0, 0, -1))
    assert (Vector3i.DOWN, Vector3i.BACK) == (Vector3i(0, -1, 0), Vector3i(0, 0, 1))
    assert (Vector3i.LEFT, Vector3i.RIGHT) == (Vector3i(-1, 0, 0), Vector3i(1, 0, 0))
    assert (Vector3i.ZERO, Vector3i.ONE) == (Vector3i(), Vector3i(1, 1, 1))
    assert Color.TRANSPARENT == Color(1, 1, 1, 0)
    assert (Color.BLACK, Color.WHITE) == (Color(0, 0, 0), Color(1, 1, 1))
    assert (Color.RED, Color.GREEN, Color.BLUE) == (Color(1, 0, 0), Color(0, 1, 0), Color(0, 0, 1))


def test_conversions() -> None:
    """Float to integer vectors truncate toward zero, as in Godot; back is exact."""
    assert Vector2i.from_vector2(Vector2(1.7, -1.7)) == Vector2i(1, -1)
    assert Vector3i.from_vector3(Vector3(2.5, -0.5, 3)) == Vector3i(2, 0, 3)
    assert Vector2.from_vector2i(Vector2i(3, -4)) == Vector2(3, -4)
    assert Vector3.from_vector3i(Vector3i(1, 2, 3)) == Vector3(1, 2, 3)
    assert Vector2(*Vector2i(5, 6)) == Vector2(5, 6)


# Color.


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("#ff8000", Color(1, 128 / 255, 0)),
        ("ff8000", Color(1, 128 / 255, 0)),
        ("#FF800080", Color(1, 128 / 255, 0, 128 / 255)),
        ("#f80", Color(1, 8 / 15, 0)),
        ("#f808", Color(1, 8 / 15, 0, 8 / 15)),
        ("#000000", Color.BLACK),
    ],
)
def test_color_from_html(code: str, expected: Color) -> None:
    """from_html reads #RRGGBB[AA] and #RGB[A], with or without the #."""
    assert Color.from_html(code) == expected
    assert Color.html(code) == expected


@pytest.mark.parametrize(
    "code", ["", "#", "#ff800", "#ff80000", "#gg8000", "#ff 800", "#ff8000ff00"]
)
def test_color_from_html_rejects_bad_codes(code: str) -> None:
    """Anything but 3, 4, 6 or 8 hex digits raises ValueError."""
    with pytest.raises(ValueError, match="invalid HTML color"):
        Color.from_html(code)


def test_color_to_html() -> None:
    """to_html rounds each channel to a byte, clamps, and leaves out the # (Godot 4)."""
    assert Color(1, 0.5, 0).to_html() == "ff8000ff"
    assert Color(1, 0.5, 0).to_html(with_alpha=False) == "ff8000"
    assert Color(1, 1, 1, 0.5).to_html() == "ffffff80"
    assert Color(2, -1, math.nan, 0).to_html() == "ff000000"
    assert Color.from_html("#12345678").to_html() == "12345678"


def test_color_inverted() -> None:
    """inverted() flips r, g and b and keeps alpha."""
    assert Color(1, 0.25, 0, 0.5).inverted() == Color(0, 0.75, 1, 0.5)


# Vector4 and Vector4i.


def test_vector4_construction_and_protocols() -> None:
    """Vector4 and Vector4i follow the other vectors: defaults, storage, repr, equality."""
    assert tuple(Vector4()) == (0.0, 0.0, 0.0, 0.0)
    assert tuple(Vector4i()) == (0, 0, 0, 0)
    assert all(type(c) is float for c in Vector4(1, 2, Fraction(1, 2), 4))
    assert repr(Vector4(1, 2.5, -0.0, 4)) == "Vector4(1.0, 2.5, -0.0, 4.0)"
    assert repr(Vector4i(1, -2, 3, 4)) == "Vector4i(1, -2, 3, 4)"
    assert Vector4(1, 2, 3, 4) == Vector4(1.0, 2.0, 3.0, 4.0)
    assert hash(Vector4(1, 2, 3, 4)) == hash(Vector4(1.0, 2.0, 3.0, 4.0))
    assert Vector4(1, 2, 3, 4) != Vector4i(1, 2, 3, 4)
    assert Vector4(1, 2, 3, 4) != Quaternion(1, 2, 3, 4)
    assert Vector4(1, 2, 3, 4) != (1.0, 2.0, 3.0, 4.0)
    assert len({Vector4i(1, 2, 3, 4), Vector4i(1, 2, 3, 4), Vector4(1, 2, 3, 4)}) == 2
    x, y, z, w = Vector4i(1, 2, 3, 4)
    assert (x, y, z, w) == (1, 2, 3, 4)
    assert Vector4(1, 2, 3, 4)[3] == 4.0 and len(Vector4i()) == 4
    assert not Vector4() and not Vector4i() and Vector4(0, 0, 0, 1) and Vector4i(0, 0, 0, -1)
    assert (Vector4.ZERO, Vector4.ONE) == (Vector4(), Vector4(1, 1, 1, 1))
    assert (Vector4i.ZERO, Vector4i.ONE) == (Vector4i(), Vector4i(1, 1, 1, 1))
    with pytest.raises(TypeError):
        Vector4(1, 2, 3, "4")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Vector4i(1, 2, 3, 4.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Vector4i(True, 2, 3, 4)


def test_vector4_arithmetic() -> None:
    """Component-wise arithmetic, as on the other vectors."""
    a, b = Vector4(1, 2, 3, 4), Vector4(4, 3, 2, 1)
    assert a + b == Vector4(5, 5, 5, 5)
    assert a - b == Vector4(-3, -1, 1, 3)
    assert a * 2 == 2 * a == Vector4(2, 4, 6, 8)
    assert a * b == Vector4(4, 6, 6, 4)
    assert a / 2 == Vector4(0.5, 1, 1.5, 2)
    assert a / a == Vector4.ONE
    assert -a == Vector4(-1, -2, -3, -4) and +a == a
    assert abs(-a) == (-a).abs() == a
    i, j = Vector4i(7, -7, 2, 9), Vector4i(2, 3, 2, 4)
    assert i + j == Vector4i(9, -4, 4, 13)
    assert i - j == Vector4i(5, -10, 0, 5)
    assert i * 2 == 2 * i == Vector4i(14, -14, 4, 18)
    assert i * j == Vector4i(14, -21, 4, 36)
    assert i // 2 == Vector4i(3, -4, 1, 4)
    assert i // j == Vector4i(3, -3, 1, 2)
    assert i % 2 == Vector4i(1, 1, 0, 1)
    assert i % j == Vector4i(1, 2, 0, 1)
    assert -i == Vector4i(-7, 7, -2, -9) and +i == i
    assert abs(i) == i.abs() == Vector4i(7, 7, 2, 9)
    for operation, left, right in [
        (operator.add, a, i),
        (operator.mul, i, 1.5),
        (operator.truediv, i, 2),
        (operator.sub, a, Quaternion()),
    ]:
        with pytest.raises(TypeError):
            operation(left, right)


def test_vector4_helpers() -> None:
    """length, normalized, dot, distances, lerp and is_equal_approx."""
    v = Vector4(1, 2, 2, 4)
    assert v.length() == 5.0 and v.length_squared() == 25.0
    assert Vector4i(1, 2, 2, 4).length() == 5.0
    assert Vector4i(1, 2, 2, 4).length_squared() == 25
    assert v.normalized() == Vector4(0.2, 0.4, 0.4, 0.8)
    assert Vector4().normalized() == Vector4.ZERO
    assert v.dot(Vector4(1, 1, 1, 1)) == 9.0
    assert Vector4().distance_to(v) == 5.0 and Vector4().distance_squared_to(v) == 25.0
    assert Vector4().direction_to(v) == v.normalized()
    assert Vector4().lerp(v, 0.5) == Vector4(0.5, 1, 1, 2)
    assert Vector4(0.1 + 0.2, 0, 0, 1).is_equal_approx(Vector4(0.3, 0, 0, 1))
    assert not Vector4(0.3, 0, 0, 1).is_equal_approx(Vector4(0.3, 0, 0, 1.01))
    assert Vector4i.from_vector4(Vector4(1.7, -1.7, 0.5, -0.5)) == Vector4i(1, -1, 0, 0)
    assert Vector4.from_vector4i(Vector4i(1, 2, 3, 4)) == Vector4(1, 2, 3, 4)


# Rect2 and Rect2i.


def test_rect_constructors() -> None:
    """(x, y, width, height), (position, size) or nothing, as in Godot."""
    assert Rect2(1, 2, 3, 4) == Rect2(Vector2(1, 2), Vector2(3, 4))
    assert Rect2(1, 2, 3, 4).position == Vector2(1, 2)
    assert Rect2(1, 2, 3, 4).size == Vector2(3, 4)
    assert Rect2() == Rect2(0, 0, 0, 0)
    assert Rect2i(1, 2, 3, 4) == Rect2i(Vector2i(1, 2), Vector2i(3, 4))
    assert Rect2i().size == Vector2i.ZERO
    assert type(Rect2(1, 2, 3, 4).size.x) is float
    for bad in [
        lambda: Rect2(1, 2, 3),  # type: ignore[call-overload]
        lambda: Rect2(Vector2i(1, 2), Vector2i(3, 4)),  # type: ignore[call-overload]
        lambda: Rect2(Vector2(), 1),  # type: ignore[call-overload]
        lambda: Rect2i(1, 2, 3, 4.5),  # type: ignore[call-overload]
        lambda: Rect2i(Vector2(), Vector2()),  # type: ignore[call-overload]
        lambda: Rect2(1, 2, 3, "4"),  # type: ignore[call-overload]
    ]:
        with pytest.raises(TypeError):
            bad()


def test_rect_protocols() -> None:
    """repr, equality, hashing, truthiness and pattern matching."""
    assert repr(Rect2(1, 2.5, 3, 4)) == "Rect2(1.0, 2.5, 3.0, 4.0)"
    assert repr(Rect2i(1, -2, 3, 4)) == "Rect2i(1, -2, 3, 4)"
    assert hash(Rect2(1, 2, 3, 4)) == hash(Rect2(1.0, 2.0, 3.0, 4.0))
    assert Rect2(1, 2, 3, 4) != Rect2i(1, 2, 3, 4)
    assert Rect2(1, 2, 3, 4) != Vector4(1, 2, 3, 4)
    assert Rect2(1, 2, 3, 4) != Rect2(1, 2, 3, 5)
    assert {Rect2i(1, 2, 3, 4): "a"}[Rect2i(1, 2, 3, 4)] == "a"
    assert not Rect2() and not Rect2i()
    assert Rect2(0, 0, 0, 1) and Rect2i(1, 0, 0, 0)
    match Rect2i(1, 2, 3, 4):
        case Rect2i(Vector2i(x, y), size):
            assert (x, y, size) == (1, 2, Vector2i(3, 4))
        case _:  # pragma: no cover
            pytest.fail("no match")
    with pytest.raises(AttributeError):
        Rect2().position = Vector2(1, 1)  # type: ignore[misc]


def test_rect_geometry() -> None:
    """end, area, center, has_area and has_point (left/top edges in, right/bottom out)."""
    r = Rect2(1, 2, 4, 6)
    assert r.end == Vector2(5, 8)
    assert r.get_area() == 24.0
    assert r.get_center() == Vector2(3, 5)
    assert r.has_area() and not Rect2(1, 1, 0, 5).has_area() and not Rect2(0, 0, -1, 1).has_area()
    assert r.has_point(Vector2(1, 2)) and r.has_point(Vector2(4.99, 7.99))
    assert not r.has_point(Vector2(5, 3)) and not r.has_point(Vector2(2, 8))
    assert not r.has_point(Vector2(0.99, 3))
    i = Rect2i(1, 2, 4, 6)
    assert i.end == Vector2i(5, 8) and i.get_area() == 24 and type(i.get_area()) is int
    assert i.get_center() == Vector2i(3, 5)
    assert Rect2i(0, 0, 3, 5).get_center() == Vector2i(1, 2)
    assert Rect2i(0, 0, -3, -5).get_center() == Vector2i(-1, -2)  # C truncates toward zero
    assert i.has_point(Vector2i(1, 2)) and i.has_point(Vector2i(4, 7))
    assert not i.has_point(Vector2i(5, 2)) and not i.has_point(Vector2i(1, 8))
    assert i.has_area() and not Rect2i(0, 0, 5, 0).has_area()


def test_rect_intersections() -> None:
    """intersects (touching counts only with include_borders), encloses, intersection."""
    a, b = Rect2(0, 0, 4, 4), Rect2(4, 0, 2, 2)  # b touches a's right edge
    assert not a.intersects(b) and a.intersects(b, include_borders=True)
    assert a.intersects(Rect2(3, 3, 2, 2)) and not a.intersects(Rect2(5, 5, 1, 1), True)
    assert a.encloses(Rect2(0, 0, 4, 4)) and a.encloses(Rect2(1, 1, 2, 2))
    assert not a.encloses(Rect2(1, 1, 4, 1))
    assert a.intersection(Rect2(2, 3, 5, 5)) == Rect2(2, 3, 2, 1)
    assert a.intersection(b) == Rect2()
    ai = Rect2i(0, 0, 4, 4)
    assert not ai.intersects(Rect2i(4, 0, 2, 2)) and ai.intersects(Rect2i(-1, -1, 2, 2))
    assert ai.encloses(Rect2i(1, 1, 3, 3)) and not ai.encloses(Rect2i(1, 1, 4, 3))
    assert ai.intersection(Rect2i(2, 3, 5, 5)) == Rect2i(2, 3, 2, 1)
    assert ai.intersection(Rect2i(9, 9, 1, 1)) == Rect2i()


def test_rect_growing() -> None:
    """merge, expand, grow and abs."""
    a = Rect2(0, 0, 2, 2)
    assert a.merge(Rect2(3, -1, 1, 1)) == Rect2(0, -1, 4, 3)
    assert a.expand(Vector2(-1, 5)) == Rect2(-1, 0, 3, 5)
    assert a.expand(Vector2(1, 1)) == a
    assert a.grow(1) == Rect2(-1, -1, 4, 4) and a.grow(-0.5) == Rect2(0.5, 0.5, 1, 1)
    assert Rect2(5, 5, -2, -3).abs() == Rect2(3, 2, 2, 3)
    assert Rect2(5, 5, 2, -3).abs() == Rect2(5, 2, 2, 3)
    i = Rect2i(0, 0, 2, 2)
    assert i.merge(Rect2i(3, -1, 1, 1)) == Rect2i(0, -1, 4, 3)
    assert i.expand(Vector2i(-1, 5)) == Rect2i(-1, 0, 3, 5)
    assert i.grow(2) == Rect2i(-2, -2, 6, 6)
    assert Rect2i(5, 5, -2, -3).abs() == Rect2i(3, 2, 2, 3)
    assert Rect2(0.1 + 0.2, 0, 1, 1).is_equal_approx(Rect2(0.3, 0, 1, 1))
    assert not Rect2(0, 0, 1, 1).is_equal_approx(Rect2(0, 0, 1, 1.1))
    assert Rect2.from_rect2i(Rect2i(1, 2, 3, 4)) == Rect2(1, 2, 3, 4)
    assert Rect2i.from_rect2(Rect2(1.7, -1.7, 3.9, 4)) == Rect2i(1, -1, 3, 4)


# Quaternion.

angles = st.floats(min_value=-3.0, max_value=3.0)


def test_quaternion_protocols() -> None:
    """Identity by default; repr, equality, hashing; always truthy, like Color."""
    assert tuple(Quaternion()) == (0.0, 0.0, 0.0, 1.0) and Quaternion() == Quaternion.IDENTITY
    assert repr(Quaternion(0, 1, 0, 0)) == "Quaternion(0.0, 1.0, 0.0, 0.0)"
    assert hash(Quaternion(0, 1, 0, 0)) == hash(Quaternion(0.0, 1.0, 0.0, 0.0))
    assert Quaternion(1, 2, 3, 4) != Vector4(1, 2, 3, 4)
    assert Quaternion() and Quaternion(0, 0, 0, 0)
    assert Quaternion(1, 2, 3, 4)[2] == 3.0 and len(Quaternion()) == 4
    match Quaternion(1, 2, 3, 4):
        case Quaternion(x, y, z, w):
            assert (x, y, z, w) == (1, 2, 3, 4)
        case _:  # pragma: no cover
            pytest.fail("no match")
    with pytest.raises(TypeError):
        Quaternion(0, 0, 0, True)


def test_quaternion_arithmetic() -> None:
    """+, -, scaling, and * as the Hamilton product (i * j = k)."""
    i, j, k = Quaternion(1, 0, 0, 0), Quaternion(0, 1, 0, 0), Quaternion(0, 0, 1, 0)
    assert i * j == k and j * k == i and k * i == j
    assert j * i == -k
    assert i * i == Quaternion(0, 0, 0, -1)
    assert Quaternion() * i == i * Quaternion() == i
    q = Quaternion(1, 2, 3, 4)
    assert q + q == q * 2 == 2 * q == Quaternion(2, 4, 6, 8)
    assert q - q == Quaternion(0, 0, 0, 0)
    assert q / 2 == Quaternion(0.5, 1, 1.5, 2)
    assert -q == Quaternion(-1, -2, -3, -4) and +q == q
    for operation, left, right in [
        (operator.add, q, Vector4(1, 2, 3, 4)),
        (operator.mul, q, Vector2(1, 2)),
        (operator.truediv, q, q),
    ]:
        with pytest.raises(TypeError):
            operation(left, right)


def test_quaternion_rotation() -> None:
    """from_axis_angle and q * v: 90 degrees about y takes x to -z (right-handed)."""
    quarter = Quaternion.from_axis_angle(Vector3.UP, math.pi / 2)
    assert quarter.is_equal_approx(Quaternion(0, math.sqrt(0.5), 0, math.sqrt(0.5)))
    assert (quarter * Vector3(1, 0, 0)).is_equal_approx(Vector3(0, 0, -1))
    assert (quarter * Vector3.UP).is_equal_approx(Vector3.UP)
    about_x = Quaternion.from_axis_angle(Vector3.RIGHT, math.pi / 2)
    # a * b rotates by b first: x -(y)-> -z -(x)-> y
    assert ((about_x * quarter) * Vector3(1, 0, 0)).is_equal_approx(Vector3(0, 1, 0))
    assert (about_x * (quarter * Vector3(1, 0, 0))).is_equal_approx(Vector3(0, 1, 0))
    with pytest.raises(ValueError, match="normalized"):
        Quaternion.from_axis_angle(Vector3(0, 2, 0), 1.0)


def test_quaternion_norms_and_inverse() -> None:
    """length, normalized, is_normalized (Godot's UNIT_EPSILON), inverse, dot."""
    q = Quaternion(0, 3, 0, 4)
    assert q.length() == 5.0 and q.length_squared() == 25.0
    assert q.normalized() == Quaternion(0, 0.6, 0, 0.8)
    assert q.normalized().is_normalized() and not q.is_normalized()
    assert Quaternion(0, 0, 0, 1.0004).is_normalized()  # squared: 1.0008, within 0.001
    assert not Quaternion(0, 0, 0, 1.001).is_normalized()
    with pytest.raises(ZeroDivisionError):
        Quaternion(0, 0, 0, 0).normalized()
    unit = q.normalized()
    assert unit.inverse() == Quaternion(0, -0.6, 0, 0.8)
    assert (unit * unit.inverse()).is_equal_approx(Quaternion())
    with pytest.raises(ValueError, match="inverse"):
        q.inverse()
    assert unit.dot(unit) == pytest.approx(1.0)
    assert unit.get_angle() == pytest.approx(2 * math.acos(0.8))
    assert unit.get_axis().is_equal_approx(Vector3.UP)
    assert Quaternion().get_axis() == Vector3.ZERO and Quaternion().get_angle() == 0.0


@hypothesis_settings
@given(angles, angles, angles)
def test_from_euler_is_y_x_z(x: float, y: float, z: float) -> None:
    """from_euler is the rotation about z, then x, then y (Godot's default YXZ order)."""
    expected = (
        Quaternion.from_axis_angle(Vector3.UP, y)
        * Quaternion.from_axis_angle(Vector3.RIGHT, x)
        * Quaternion.from_axis_angle(Vector3.BACK, z)
    )
    assert Quaternion.from_euler(Vector3(x, y, z)).is_equal_approx(expected)


@hypothesis_settings
@given(st.floats(min_value=-1.5, max_value=1.5), angles, angles)
def test_get_euler_inverts_from_euler(x: float, y: float, z: float) -> None:
    """Away from the poles (|x| < pi/2), get_euler gives the angles back."""
    euler = Quaternion.from_euler(Vector3(x, y, z)).get_euler()
    assert euler.x == pytest.approx(x, abs=1e-6)
    assert euler.y == pytest.approx(y, abs=1e-6)
    assert euler.z == pytest.approx(z, abs=1e-6)


def test_get_euler_special_cases() -> None:
    """A pure x rotation keeps its angle past pi/2; at the poles z folds into y."""
    assert Quaternion.from_axis_angle(Vector3.RIGHT, 2.5).get_euler() == pytest.approx(
        Vector3(2.5, 0, 0)
    )
    up = Quaternion.from_euler(Vector3(math.pi / 2, 0.5, 0.25)).get_euler()
    assert (up.x, up.z) == (math.pi / 2, 0.0)
    assert up.y == pytest.approx(0.25, abs=1e-6)  # y - z: the rotations about one axis
    down = Quaternion.from_euler(Vector3(-math.pi / 2, 0.5, 0.25)).get_euler()
    assert (down.x, down.z) == (-math.pi / 2, 0.0)
    assert down.y == pytest.approx(0.75, abs=1e-6)  # y + z
    with pytest.raises(ValueError, match="get_euler"):
        Quaternion(0, 0, 0, 2).get_euler()


def test_slerp() -> None:
    """slerp: the ends at 0 and 1, half the angle at 0.5, along the shorter arc."""
    start, end = Quaternion(), Quaternion.from_axis_angle(Vector3.UP, math.pi / 2)
    assert start.slerp(end, 0).is_equal_approx(start)
    assert start.slerp(end, 1).is_equal_approx(end)
    half = start.slerp(end, 0.5)
    assert half.is_equal_approx(Quaternion.from_axis_angle(Vector3.UP, math.pi / 4))
    assert start.slerp(-end, 0.5).is_equal_approx(half)  # -end is the same rotation
    near = Quaternion.from_axis_angle(Vector3.UP, 1e-4)  # the straight-line branch
    assert start.slerp(near, 0.5).is_equal_approx(Quaternion.from_axis_angle(Vector3.UP, 5e-5))
    with pytest.raises(ValueError, match="slerp"):
        start.slerp(Quaternion(0, 0, 0, 3), 0.5)


@pytest.mark.parametrize(
    "value",
    [
        Vector4(1, 2, 3, 4),
        Vector4i(1, 2, 3, 4),
        Rect2(1, 2, 3, 4),
        Rect2i(1, 2, 3, 4),
        Quaternion(0, 0.6, 0, 0.8),
    ],
)
def test_new_types_immutable_pickle_and_copy(value: Any) -> None:
    """The new types are immutable, slotted, and pickle and copy like the others."""
    with pytest.raises(AttributeError):
        value.other = 5
    with pytest.raises(AttributeError):
        delattr(value, value.__match_args__[0])
    assert not hasattr(value, "__dict__")
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value


# Everyday Godot methods (issue 14).


def test_vector2_move_toward_stops_at_the_target() -> None:
    """move_toward moves by delta, never past the target."""
    start, target = Vector2(0, 0), Vector2(10, 0)
    assert start.move_toward(target, 3) == Vector2(3, 0)
    assert start.move_toward(target, 30) == target
    assert target.move_toward(target, 1) == target


def test_vector2_length_and_rounding_methods() -> None:
    """limit_length, clamp, min/max, snapped, floor/ceil/round (half away), sign."""
    v = Vector2(3, 4)
    assert v.limit_length(1).is_equal_approx(Vector2(0.6, 0.8))
    assert v.limit_length(10) is v
    assert v.clamp(Vector2(0, 0), Vector2(2, 5)) == Vector2(2, 4)
    assert v.min(Vector2(5, 1)) == Vector2(3, 1) and v.max(Vector2(5, 1)) == Vector2(5, 4)
    assert Vector2(7, 12).snapped(Vector2(5, 0)) == Vector2(5, 12)
    assert Vector2(-1.5, 2.5).round() == Vector2(-2, 3)
    assert Vector2(-1.5, 2.5).floor() == Vector2(-2, 2)
    assert Vector2(-1.5, 2.5).ceil() == Vector2(-1, 3)
    assert Vector2(-3, 0).sign() == Vector2(-1, 0)


def test_vector2_angles_and_planes() -> None:
    """angle_to, angle_to_point, orthogonal, project, slide, reflect, bounce."""
    right, up = Vector2.RIGHT, Vector2(0, 1)
    assert right.angle_to(up) == pytest.approx(math.pi / 2)
    assert Vector2(1, 1).angle_to_point(Vector2(2, 2)) == pytest.approx(math.pi / 4)
    assert Vector2(1, 2).orthogonal() == Vector2(2, -1)
    assert Vector2(3, 4).project(Vector2(2, 0)) == Vector2(3, 0)
    v, n = Vector2(1, -1), Vector2(0, 1)
    assert v.slide(n) == Vector2(1, 0)
    assert v.bounce(n) == Vector2(1, 1)
    assert v.reflect(n) == Vector2(-1, -1)
    with pytest.raises(ValueError, match="normalized"):
        v.slide(Vector2(0, 2))
    assert n.is_normalized() and not v.is_normalized()
    assert Vector2(1e-7, 0).is_zero_approx() and Vector2(1, 2).is_finite()
    assert not Vector2(math.inf, 0).is_finite()


def test_vector3_everyday_methods() -> None:
    """Vector3: move_toward, limit_length, clamp, snapped, round, rotated, slide, angle_to."""
    v = Vector3(0, 3, 4)
    assert Vector3().move_toward(v, 5) == v
    assert Vector3().move_toward(v, 2.5).is_equal_approx(Vector3(0, 1.5, 2))
    assert v.limit_length(1).is_equal_approx(Vector3(0, 0.6, 0.8))
    assert v.clamp(Vector3(1, 0, 0), Vector3(2, 2, 2)) == Vector3(1, 2, 2)
    assert v.min(Vector3(1, 1, 9)) == Vector3(0, 1, 4) and v.max(Vector3()) == v
    assert Vector3(7, 2, -0.5).snapped(Vector3(5, 5, 1)) == Vector3(5, 0, 0)
    assert Vector3(0.5, -0.5, 1.4).round() == Vector3(1, -1, 1)
    assert Vector3(0.5, -0.5, 1.4).floor() == Vector3(0, -1, 1)
    assert Vector3(0.5, -0.5, 1.4).ceil() == Vector3(1, -0.0, 2)
    assert Vector3(-2, 0, 3).sign() == Vector3(-1, 0, 1)
    turned = Vector3(1, 0, 0).rotated(Vector3(0, 1, 0), math.pi / 2)
    assert turned.is_equal_approx(Vector3(0, 0, -1))
    assert Vector3(1, 0, 0).angle_to(Vector3(0, 0, 1)) == pytest.approx(math.pi / 2)
    n = Vector3(0, 1, 0)
    assert Vector3(1, -1, 0).slide(n) == Vector3(1, 0, 0)
    assert Vector3(1, -1, 0).bounce(n) == Vector3(1, 1, 0)
    assert Vector3(1, 1, 0).project(Vector3(2, 0, 0)) == Vector3(1, 0, 0)
    assert n.is_normalized() and Vector3(0, 1e-7, 0).is_zero_approx() and n.is_finite()
    with pytest.raises(ValueError):
        Vector3(1, 0, 0).rotated(Vector3(0, 2, 0), 1.0)


def test_integer_vectors_everyday_methods() -> None:
    """Vector2i/3i: distance_to, clamp, min/max, sign, snapped stay integers."""
    a, b = Vector2i(1, 1), Vector2i(4, 5)
    assert a.distance_to(b) == 5.0 and a.distance_squared_to(b) == 25
    assert b.clamp(Vector2i(0, 0), Vector2i(3, 3)) == Vector2i(3, 3)
    assert a.min(b) == a and a.max(b) == b
    assert Vector2i(-4, 0).sign() == Vector2i(-1, 0)
    assert Vector2i(7, 13).snapped(Vector2i(5, 10)) == Vector2i(5, 10)
    c = Vector3i(1, 2, 3)
    assert c.distance_to(Vector3i(1, 2, 5)) == 2.0 and c.distance_squared_to(c) == 0
    assert c.clamp(Vector3i(2, 2, 2), Vector3i(2, 2, 2)) == Vector3i(2, 2, 2)
    assert c.min(Vector3i(0, 5, 0)) == Vector3i(0, 2, 0)
    assert c.max(Vector3i(0, 5, 0)) == Vector3i(1, 5, 3)
    assert Vector3i(-1, 0, 9).sign() == Vector3i(-1, 0, 1)
    assert c.snapped(Vector3i(2, 2, 2)) == Vector3i(2, 2, 4)
    assert isinstance(c.snapped(Vector3i(2, 2, 2)).x, int)


def test_setting_a_component_says_how_to_move_instead() -> None:
    """Assigning x raises AttributeError with the way to build a new value."""
    position = Vector2(1, 2)
    with pytest.raises(AttributeError, match=r"position \+ Vector2\(1, 0\)"):
        position.x = 3  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        position.other = 3  # type: ignore[attr-defined]
