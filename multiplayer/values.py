"""Godot's small value types: the vectors ``Vector2``, ``Vector2i``, ``Vector3``,
``Vector3i``, ``Vector4`` and ``Vector4i``, the rectangles ``Rect2`` and ``Rect2i``,
``Quaternion`` and ``Color``.

RPC arguments and replicated properties are mostly positions, directions, areas,
rotations and colours, so each wire profile sends these types in a compact form (the
native one: msgpack extensions, :mod:`multiplayer.protocol.native.codec`; the Godot
one: Godot's own variant encoding, :mod:`multiplayer.protocol.godot.variant`) and
gives them back as the same types, where a tuple or a list would lose the meaning.

They are immutable and hashable (usable as dict keys, as in Godot), and final. They
are plain classes with ``__slots__`` rather than named tuples, so that a ``Vector2``
is never equal to a ``tuple``: the codec keeps the two apart on the wire.

Immutable means a position moves by assigning a new value, never by changing a
component: ``self.position += velocity * delta``, ``self.position =
self.position.move_toward(target, speed * delta)``, or ``self.position =
Vector2(self.position.x + 1, self.position.y)`` where GDScript writes
``position.x += 1`` (which raises :exc:`AttributeError` here, saying so). The usual
Godot methods are there under Godot's names: ``length``, ``normalized``,
``distance_to``, ``direction_to``, ``lerp``, ``move_toward``, ``limit_length``,
``clamp``, ``snapped``, ``round``, ``angle_to``, ``rotated``, ``project``,
``slide``, ``reflect``, ``bounce``, …

Differences from Godot, on purpose:

* The float types hold Python floats (64-bit); Godot's hold 32-bit ``real_t``. The
  codec sends 32-bit floats whenever that loses nothing.
* Dividing by zero raises :exc:`ZeroDivisionError`, as Python numbers do; Godot
  gives ``inf`` or an error message. ``//`` and ``%`` on the integer vectors round
  toward minus infinity, as Python ints do; Godot truncates toward zero.
* ``to_html()`` leaves out the ``#``, as Godot 4 does.
* Float vectors accept ints (and other real numbers) and store floats; integer
  vectors accept only integers. Neither accepts ``bool``.
* The ``Quaternion`` methods that Godot defines for unit quaternions only
  (``inverse``, ``get_euler``, ``slerp``) raise :exc:`ValueError` for another one;
  Godot prints an error and returns a default value.
* ``Rect2i.get_center()`` truncates toward zero, as Godot does (it is not ``//``).
* ``slide``, ``reflect``, ``bounce`` and ``Vector3.rotated`` raise
  :exc:`ValueError` for a normal (axis) that is not normalized; Godot prints an
  error and returns a zero vector.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections.abc import Iterator
from typing import Any, ClassVar, NoReturn, TypeVar, final, overload

__all__ = [
    "Color",
    "Quaternion",
    "Rect2",
    "Rect2i",
    "Vector2",
    "Vector2i",
    "Vector3",
    "Vector3i",
    "Vector4",
    "Vector4i",
]

_set = object.__setattr__

_CMP_EPSILON = 0.00001
"""Godot's ``CMP_EPSILON``, the tolerance of ``is_equal_approx``."""


def _to_float(value: object) -> float:
    """A component of a float type: any real number but a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float, numbers.Real)):
        raise TypeError(f"expected a real number, got {type(value).__name__}")
    return float(value)


def _to_int(value: object) -> int:
    """A component of an integer vector: any integer but a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, numbers.Integral)):
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return int(value)


def _is_equal_approx(a: float, b: float) -> bool:
    """Godot's ``Math::is_equal_approx``: a relative tolerance, with a floor."""
    if a == b:
        return True
    return abs(a - b) < max(_CMP_EPSILON * abs(a), _CMP_EPSILON)


_R = TypeVar("_R", int, float)


def _sign(value: float) -> float:
    """Godot's ``SIGN``: 1, -1, or 0 for zero."""
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0


def _round(value: float) -> float:
    """Godot's ``Math::round``: half away from zero (Python's ``round`` goes to even)."""
    return math.copysign(math.floor(abs(value) + 0.5), value)


def _snapped(value: float, step: float) -> float:
    """Godot's ``Math::snapped``: the nearest multiple of ``step`` (0: unchanged)."""
    return math.floor(value / step + 0.5) * step if step != 0 else value


def _clamp(value: _R, low: _R, high: _R) -> _R:
    """Godot's ``CLAMP``: ``low`` below it, ``high`` above it."""
    return low if value < low else high if value > high else value


def _check_normal(normal: Vector2 | Vector3, method: str) -> None:
    if not _is_unit(normal.length_squared()):
        raise ValueError(f"{method}() needs a normalized normal, not {normal!r}")


class _Immutable:
    """Refuses attribute assignment and deletion; the subclasses set slots in ``__init__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        kind = type(self).__name__
        raise AttributeError(
            f"{kind} is immutable: make a new one, e.g. `position = position + "
            f"{kind}(1, 0)` or `{kind}(position.x + 1, position.y)`"
            if name in ("x", "y", "z", "w")
            else f"{kind} is immutable"
        )

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")


@final
class Vector2(_Immutable):
    """A 2D vector of floats: positions, velocities, directions.

    ``Vector2.UP`` is ``(0, -1)``: in Godot's 2D space y grows downward.
    """

    __slots__ = ("x", "y")
    __match_args__ = ("x", "y")

    x: float
    y: float

    ZERO: ClassVar[Vector2]
    ONE: ClassVar[Vector2]
    UP: ClassVar[Vector2]
    DOWN: ClassVar[Vector2]
    LEFT: ClassVar[Vector2]
    RIGHT: ClassVar[Vector2]

    def __init__(self, x: float = 0.0, y: float = 0.0) -> None:
        _set(self, "x", x if type(x) is float else _to_float(x))
        _set(self, "y", y if type(y) is float else _to_float(y))

    @classmethod
    def from_angle(cls, angle: float) -> Vector2:
        """The unit vector at ``angle`` radians from the x axis."""
        return cls(math.cos(angle), math.sin(angle))

    @classmethod
    def from_vector2i(cls, v: Vector2i) -> Vector2:
        """The float vector with the components of ``v``."""
        return cls(float(v.x), float(v.y))

    # Python protocols.

    def __repr__(self) -> str:
        return f"Vector2({self.x!r}, {self.y!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Vector2:
            return NotImplemented
        return self.x == other.x and self.y == other.y

    def __hash__(self) -> int:
        return hash(("Vector2", self.x, self.y))

    def __iter__(self) -> Iterator[float]:
        return iter((self.x, self.y))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> float:
        return (self.x, self.y)[index]

    def __bool__(self) -> bool:
        return self.x != 0.0 or self.y != 0.0

    def __reduce__(self) -> tuple[type[Vector2], tuple[float, float]]:
        return (Vector2, (self.x, self.y))

    # Arithmetic.

    def __add__(self, other: Vector2) -> Vector2:
        if type(other) is not Vector2:
            return NotImplemented
        return Vector2(self.x + other.x, self.y + other.y)

    def __sub__(self, other: Vector2) -> Vector2:
        if type(other) is not Vector2:
            return NotImplemented
        return Vector2(self.x - other.x, self.y - other.y)

    def __mul__(self, other: Vector2 | float) -> Vector2:
        if type(other) is Vector2:
            return Vector2(self.x * other.x, self.y * other.y)
        if isinstance(other, (int, float)):
            return Vector2(self.x * other, self.y * other)
        return NotImplemented

    def __rmul__(self, other: float) -> Vector2:
        if isinstance(other, (int, float)):
            return Vector2(self.x * other, self.y * other)
        return NotImplemented

    def __truediv__(self, other: Vector2 | float) -> Vector2:
        if type(other) is Vector2:
            return Vector2(self.x / other.x, self.y / other.y)
        if isinstance(other, (int, float)):
            return Vector2(self.x / other, self.y / other)
        return NotImplemented

    def __neg__(self) -> Vector2:
        return Vector2(-self.x, -self.y)

    def __pos__(self) -> Vector2:
        return self

    def __abs__(self) -> Vector2:
        return Vector2(abs(self.x), abs(self.y))

    # Godot methods.

    def abs(self) -> Vector2:
        """The vector with the absolute value of each component."""
        return Vector2(abs(self.x), abs(self.y))

    def length(self) -> float:
        """The Euclidean length."""
        return math.hypot(self.x, self.y)

    def length_squared(self) -> float:
        """The squared length: cheaper than ``length()`` for comparisons."""
        return self.x * self.x + self.y * self.y

    def normalized(self) -> Vector2:
        """The unit vector in the same direction; the zero vector stays zero."""
        length = math.hypot(self.x, self.y)
        if length == 0.0:
            return Vector2()
        return Vector2(self.x / length, self.y / length)

    def distance_to(self, to: Vector2) -> float:
        """The distance between the two points."""
        return math.hypot(to.x - self.x, to.y - self.y)

    def distance_squared_to(self, to: Vector2) -> float:
        """The squared distance between the two points."""
        dx, dy = to.x - self.x, to.y - self.y
        return dx * dx + dy * dy

    def direction_to(self, to: Vector2) -> Vector2:
        """The unit vector pointing from this point to ``to``."""
        return Vector2(to.x - self.x, to.y - self.y).normalized()

    def dot(self, with_: Vector2) -> float:
        """The dot product."""
        return self.x * with_.x + self.y * with_.y

    def cross(self, with_: Vector2) -> float:
        """The z component of the 3D cross product of the two vectors."""
        return self.x * with_.y - self.y * with_.x

    def angle(self) -> float:
        """The angle from the x axis in radians, in ``[-pi, pi]``."""
        return math.atan2(self.y, self.x)

    def rotated(self, angle: float) -> Vector2:
        """The vector rotated by ``angle`` radians."""
        cos, sin = math.cos(angle), math.sin(angle)
        return Vector2(self.x * cos - self.y * sin, self.x * sin + self.y * cos)

    def lerp(self, to: Vector2, weight: float) -> Vector2:
        """Linear interpolation: ``self`` at weight 0, ``to`` at weight 1."""
        return Vector2(self.x + (to.x - self.x) * weight, self.y + (to.y - self.y) * weight)

    def is_equal_approx(self, to: Vector2) -> bool:
        """Whether each component is equal to ``to``'s within Godot's tolerance."""
        return _is_equal_approx(self.x, to.x) and _is_equal_approx(self.y, to.y)

    def angle_to(self, to: Vector2) -> float:
        """The signed angle from this vector to ``to``, in radians."""
        return math.atan2(self.cross(to), self.dot(to))

    def angle_to_point(self, to: Vector2) -> float:
        """The angle of the line from this point to ``to``, in radians."""
        return math.atan2(to.y - self.y, to.x - self.x)

    def move_toward(self, to: Vector2, delta: float) -> Vector2:
        """This point moved ``delta`` toward ``to``, without overshooting it: the usual
        way to move at a speed (``pos = pos.move_toward(target, speed * delta)``)."""
        dx, dy = to.x - self.x, to.y - self.y
        length = math.hypot(dx, dy)
        if length <= delta or length < _CMP_EPSILON:
            return to
        return Vector2(self.x + dx / length * delta, self.y + dy / length * delta)

    def limit_length(self, length: float = 1.0) -> Vector2:
        """The vector shortened to ``length`` if it is longer."""
        current = math.hypot(self.x, self.y)
        if current > 0 and length < current:
            return Vector2(self.x / current * length, self.y / current * length)
        return self

    def clamp(self, min: Vector2, max: Vector2) -> Vector2:
        """Each component clamped between ``min``'s and ``max``'s."""
        return Vector2(_clamp(self.x, min.x, max.x), _clamp(self.y, min.y, max.y))

    def min(self, with_: Vector2) -> Vector2:
        """The smaller of each pair of components."""
        return Vector2(builtins.min(self.x, with_.x), builtins.min(self.y, with_.y))

    def max(self, with_: Vector2) -> Vector2:
        """The larger of each pair of components."""
        return Vector2(builtins.max(self.x, with_.x), builtins.max(self.y, with_.y))

    def snapped(self, step: Vector2) -> Vector2:
        """Each component rounded to the nearest multiple of ``step``'s."""
        return Vector2(_snapped(self.x, step.x), _snapped(self.y, step.y))

    def floor(self) -> Vector2:
        return Vector2(math.floor(self.x), math.floor(self.y))

    def ceil(self) -> Vector2:
        return Vector2(math.ceil(self.x), math.ceil(self.y))

    def round(self) -> Vector2:
        """Each component rounded half away from zero, as Godot does."""
        return Vector2(_round(self.x), _round(self.y))

    def sign(self) -> Vector2:
        """Each component's sign: 1, -1, or 0."""
        return Vector2(_sign(self.x), _sign(self.y))

    def orthogonal(self) -> Vector2:
        """The perpendicular vector, rotated 90 degrees counter-clockwise: ``(y, -x)``."""
        return Vector2(self.y, -self.x)

    def project(self, b: Vector2) -> Vector2:
        """This vector projected onto ``b``."""
        return b * (self.dot(b) / b.length_squared())

    def slide(self, n: Vector2) -> Vector2:
        """This vector along a plane of normal ``n`` (normalized).

        Raises:
            ValueError: ``n`` is not normalized (Godot prints an error).
        """
        _check_normal(n, "slide")
        return self - n * self.dot(n)

    def reflect(self, n: Vector2) -> Vector2:
        """This vector mirrored by the line of normal ``n`` (normalized)."""
        _check_normal(n, "reflect")
        return n * (2.0 * self.dot(n)) - self

    def bounce(self, n: Vector2) -> Vector2:
        """This vector bounced off a plane of normal ``n`` (normalized)."""
        return -self.reflect(n)

    def is_normalized(self) -> bool:
        return _is_unit(self.length_squared())

    def is_zero_approx(self) -> bool:
        return abs(self.x) < _CMP_EPSILON and abs(self.y) < _CMP_EPSILON

    def is_finite(self) -> bool:
        return math.isfinite(self.x) and math.isfinite(self.y)


Vector2.ZERO = Vector2(0.0, 0.0)
Vector2.ONE = Vector2(1.0, 1.0)
Vector2.UP = Vector2(0.0, -1.0)
Vector2.DOWN = Vector2(0.0, 1.0)
Vector2.LEFT = Vector2(-1.0, 0.0)
Vector2.RIGHT = Vector2(1.0, 0.0)


@final
class Vector2i(_Immutable):
    """A 2D vector of ints: grid cells, tile coordinates."""

    __slots__ = ("x", "y")
    __match_args__ = ("x", "y")

    x: int
    y: int

    ZERO: ClassVar[Vector2i]
    ONE: ClassVar[Vector2i]
    UP: ClassVar[Vector2i]
    DOWN: ClassVar[Vector2i]
    LEFT: ClassVar[Vector2i]
    RIGHT: ClassVar[Vector2i]

    def __init__(self, x: int = 0, y: int = 0) -> None:
        _set(self, "x", x if type(x) is int else _to_int(x))
        _set(self, "y", y if type(y) is int else _to_int(y))

    @classmethod
    def from_vector2(cls, v: Vector2) -> Vector2i:
        """The integer vector of ``v``'s components truncated toward zero, as in Godot."""
        return cls(int(v.x), int(v.y))

    # Python protocols.

    def __repr__(self) -> str:
        return f"Vector2i({self.x!r}, {self.y!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Vector2i:
            return NotImplemented
        return self.x == other.x and self.y == other.y

    def __hash__(self) -> int:
        return hash(("Vector2i", self.x, self.y))

    def __iter__(self) -> Iterator[int]:
        return iter((self.x, self.y))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> int:
        return (self.x, self.y)[index]

    def __bool__(self) -> bool:
        return self.x != 0 or self.y != 0

    def __reduce__(self) -> tuple[type[Vector2i], tuple[int, int]]:
        return (Vector2i, (self.x, self.y))

    # Arithmetic.

    def __add__(self, other: Vector2i) -> Vector2i:
        if type(other) is not Vector2i:
            return NotImplemented
        return Vector2i(self.x + other.x, self.y + other.y)

    def __sub__(self, other: Vector2i) -> Vector2i:
        if type(other) is not Vector2i:
            return NotImplemented
        return Vector2i(self.x - other.x, self.y - other.y)

    def __mul__(self, other: Vector2i | int) -> Vector2i:
        if type(other) is Vector2i:
            return Vector2i(self.x * other.x, self.y * other.y)
        if isinstance(other, int):
            return Vector2i(self.x * other, self.y * other)
        return NotImplemented

    def __rmul__(self, other: int) -> Vector2i:
        if isinstance(other, int):
            return Vector2i(self.x * other, self.y * other)
        return NotImplemented

    def __floordiv__(self, other: Vector2i | int) -> Vector2i:
        if type(other) is Vector2i:
            return Vector2i(self.x // other.x, self.y // other.y)
        if isinstance(other, int):
            return Vector2i(self.x // other, self.y // other)
        return NotImplemented

    def __mod__(self, other: Vector2i | int) -> Vector2i:
        if type(other) is Vector2i:
            return Vector2i(self.x % other.x, self.y % other.y)
        if isinstance(other, int):
            return Vector2i(self.x % other, self.y % other)
        return NotImplemented

    def __neg__(self) -> Vector2i:
        return Vector2i(-self.x, -self.y)

    def __pos__(self) -> Vector2i:
        return self

    def __abs__(self) -> Vector2i:
        return Vector2i(abs(self.x), abs(self.y))

    # Godot methods.

    def abs(self) -> Vector2i:
        """The vector with the absolute value of each component."""
        return Vector2i(abs(self.x), abs(self.y))

    def length(self) -> float:
        """The Euclidean length."""
        return math.hypot(self.x, self.y)

    def length_squared(self) -> int:
        """The squared length, exact."""
        return self.x * self.x + self.y * self.y

    def distance_to(self, to: Vector2i) -> float:
        """The distance between the two points."""
        return (to - self).length()

    def distance_squared_to(self, to: Vector2i) -> int:
        """The squared distance between the two points, exact."""
        return (to - self).length_squared()

    def clamp(self, min: Vector2i, max: Vector2i) -> Vector2i:
        """Each component clamped between ``min``'s and ``max``'s."""
        return Vector2i(*(_clamp(v, lo, hi) for v, lo, hi in zip(self, min, max, strict=True)))

    def min(self, with_: Vector2i) -> Vector2i:
        return Vector2i(*(builtins.min(a, b) for a, b in zip(self, with_, strict=True)))

    def max(self, with_: Vector2i) -> Vector2i:
        return Vector2i(*(builtins.max(a, b) for a, b in zip(self, with_, strict=True)))

    def sign(self) -> Vector2i:
        return Vector2i(*(int(_sign(v)) for v in self))

    def snapped(self, step: Vector2i) -> Vector2i:
        """Each component rounded to the nearest multiple of ``step``'s."""
        return Vector2i(*(int(_snapped(v, s)) for v, s in zip(self, step, strict=True)))


Vector2i.ZERO = Vector2i(0, 0)
Vector2i.ONE = Vector2i(1, 1)
Vector2i.UP = Vector2i(0, -1)
Vector2i.DOWN = Vector2i(0, 1)
Vector2i.LEFT = Vector2i(-1, 0)
Vector2i.RIGHT = Vector2i(1, 0)


@final
class Vector3(_Immutable):
    """A 3D vector of floats.

    ``Vector3.UP`` is ``(0, 1, 0)`` and ``Vector3.FORWARD`` is ``(0, 0, -1)``, as in Godot.
    """

    __slots__ = ("x", "y", "z")
    __match_args__ = ("x", "y", "z")

    x: float
    y: float
    z: float

    ZERO: ClassVar[Vector3]
    ONE: ClassVar[Vector3]
    UP: ClassVar[Vector3]
    DOWN: ClassVar[Vector3]
    LEFT: ClassVar[Vector3]
    RIGHT: ClassVar[Vector3]
    FORWARD: ClassVar[Vector3]
    BACK: ClassVar[Vector3]

    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> None:
        _set(self, "x", x if type(x) is float else _to_float(x))
        _set(self, "y", y if type(y) is float else _to_float(y))
        _set(self, "z", z if type(z) is float else _to_float(z))

    @classmethod
    def from_vector3i(cls, v: Vector3i) -> Vector3:
        """The float vector with the components of ``v``."""
        return cls(float(v.x), float(v.y), float(v.z))

    # Python protocols.

    def __repr__(self) -> str:
        return f"Vector3({self.x!r}, {self.y!r}, {self.z!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Vector3:
            return NotImplemented
        return self.x == other.x and self.y == other.y and self.z == other.z

    def __hash__(self) -> int:
        return hash(("Vector3", self.x, self.y, self.z))

    def __iter__(self) -> Iterator[float]:
        return iter((self.x, self.y, self.z))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> float:
        return (self.x, self.y, self.z)[index]

    def __bool__(self) -> bool:
        return self.x != 0.0 or self.y != 0.0 or self.z != 0.0

    def __reduce__(self) -> tuple[type[Vector3], tuple[float, float, float]]:
        return (Vector3, (self.x, self.y, self.z))

    # Arithmetic.

    def __add__(self, other: Vector3) -> Vector3:
        if type(other) is not Vector3:
            return NotImplemented
        return Vector3(self.x + other.x, self.y + other.y, self.z + other.z)

    def __sub__(self, other: Vector3) -> Vector3:
        if type(other) is not Vector3:
            return NotImplemented
        return Vector3(self.x - other.x, self.y - other.y, self.z - other.z)

    def __mul__(self, other: Vector3 | float) -> Vector3:
        if type(other) is Vector3:
            return Vector3(self.x * other.x, self.y * other.y, self.z * other.z)
        if isinstance(other, (int, float)):
            return Vector3(self.x * other, self.y * other, self.z * other)
        return NotImplemented

    def __rmul__(self, other: float) -> Vector3:
        if isinstance(other, (int, float)):
            return Vector3(self.x * other, self.y * other, self.z * other)
        return NotImplemented

    def __truediv__(self, other: Vector3 | float) -> Vector3:
        if type(other) is Vector3:
            return Vector3(self.x / other.x, self.y / other.y, self.z / other.z)
        if isinstance(other, (int, float)):
            return Vector3(self.x / other, self.y / other, self.z / other)
        return NotImplemented

    def __neg__(self) -> Vector3:
        return Vector3(-self.x, -self.y, -self.z)

    def __pos__(self) -> Vector3:
        return self

    def __abs__(self) -> Vector3:
        return Vector3(abs(self.x), abs(self.y), abs(self.z))

    # Godot methods.

    def abs(self) -> Vector3:
        """The vector with the absolute value of each component."""
        return Vector3(abs(self.x), abs(self.y), abs(self.z))

    def length(self) -> float:
        """The Euclidean length."""
        return math.hypot(self.x, self.y, self.z)

    def length_squared(self) -> float:
        """The squared length: cheaper than ``length()`` for comparisons."""
        return self.x * self.x + self.y * self.y + self.z * self.z

    def normalized(self) -> Vector3:
        """The unit vector in the same direction; the zero vector stays zero."""
        length = math.hypot(self.x, self.y, self.z)
        if length == 0.0:
            return Vector3()
        return Vector3(self.x / length, self.y / length, self.z / length)

    def distance_to(self, to: Vector3) -> float:
        """The distance between the two points."""
        return math.hypot(to.x - self.x, to.y - self.y, to.z - self.z)

    def distance_squared_to(self, to: Vector3) -> float:
        """The squared distance between the two points."""
        dx, dy, dz = to.x - self.x, to.y - self.y, to.z - self.z
        return dx * dx + dy * dy + dz * dz

    def direction_to(self, to: Vector3) -> Vector3:
        """The unit vector pointing from this point to ``to``."""
        return Vector3(to.x - self.x, to.y - self.y, to.z - self.z).normalized()

    def dot(self, with_: Vector3) -> float:
        """The dot product."""
        return self.x * with_.x + self.y * with_.y + self.z * with_.z

    def cross(self, with_: Vector3) -> Vector3:
        """The cross product."""
        return Vector3(
            self.y * with_.z - self.z * with_.y,
            self.z * with_.x - self.x * with_.z,
            self.x * with_.y - self.y * with_.x,
        )

    def lerp(self, to: Vector3, weight: float) -> Vector3:
        """Linear interpolation: ``self`` at weight 0, ``to`` at weight 1."""
        return Vector3(
            self.x + (to.x - self.x) * weight,
            self.y + (to.y - self.y) * weight,
            self.z + (to.z - self.z) * weight,
        )

    def is_equal_approx(self, to: Vector3) -> bool:
        """Whether each component is equal to ``to``'s within Godot's tolerance."""
        return (
            _is_equal_approx(self.x, to.x)
            and _is_equal_approx(self.y, to.y)
            and _is_equal_approx(self.z, to.z)
        )

    def angle_to(self, to: Vector3) -> float:
        """The unsigned angle between the two vectors, in radians."""
        return math.atan2(self.cross(to).length(), self.dot(to))

    def move_toward(self, to: Vector3, delta: float) -> Vector3:
        """This point moved ``delta`` toward ``to``, without overshooting it."""
        d = to - self
        length = d.length()
        if length <= delta or length < _CMP_EPSILON:
            return to
        return self + d * (delta / length)

    def limit_length(self, length: float = 1.0) -> Vector3:
        """The vector shortened to ``length`` if it is longer."""
        current = self.length()
        return self * (length / current) if current > 0 and length < current else self

    def clamp(self, min: Vector3, max: Vector3) -> Vector3:
        """Each component clamped between ``min``'s and ``max``'s."""
        return Vector3(*(_clamp(v, lo, hi) for v, lo, hi in zip(self, min, max, strict=True)))

    def min(self, with_: Vector3) -> Vector3:
        return Vector3(*(builtins.min(a, b) for a, b in zip(self, with_, strict=True)))

    def max(self, with_: Vector3) -> Vector3:
        return Vector3(*(builtins.max(a, b) for a, b in zip(self, with_, strict=True)))

    def snapped(self, step: Vector3) -> Vector3:
        """Each component rounded to the nearest multiple of ``step``'s."""
        return Vector3(*(_snapped(v, s) for v, s in zip(self, step, strict=True)))

    def floor(self) -> Vector3:
        return Vector3(math.floor(self.x), math.floor(self.y), math.floor(self.z))

    def ceil(self) -> Vector3:
        return Vector3(math.ceil(self.x), math.ceil(self.y), math.ceil(self.z))

    def round(self) -> Vector3:
        """Each component rounded half away from zero, as Godot does."""
        return Vector3(_round(self.x), _round(self.y), _round(self.z))

    def sign(self) -> Vector3:
        return Vector3(_sign(self.x), _sign(self.y), _sign(self.z))

    def rotated(self, axis: Vector3, angle: float) -> Vector3:
        """This vector rotated ``angle`` radians around ``axis`` (normalized).

        Raises:
            ValueError: ``axis`` is not normalized (Godot prints an error).
        """
        _check_normal(axis, "rotated")
        return Quaternion.from_axis_angle(axis, angle) * self

    def project(self, b: Vector3) -> Vector3:
        """This vector projected onto ``b``."""
        return b * (self.dot(b) / b.length_squared())

    def slide(self, n: Vector3) -> Vector3:
        """This vector along the plane of normal ``n`` (normalized)."""
        _check_normal(n, "slide")
        return self - n * self.dot(n)

    def reflect(self, n: Vector3) -> Vector3:
        """This vector mirrored by the plane of normal ``n`` (normalized)."""
        _check_normal(n, "reflect")
        return n * (2.0 * self.dot(n)) - self

    def bounce(self, n: Vector3) -> Vector3:
        """This vector bounced off the plane of normal ``n`` (normalized)."""
        return -self.reflect(n)

    def is_normalized(self) -> bool:
        return _is_unit(self.length_squared())

    def is_zero_approx(self) -> bool:
        return all(abs(v) < _CMP_EPSILON for v in self)

    def is_finite(self) -> bool:
        return all(math.isfinite(v) for v in self)


Vector3.ZERO = Vector3(0.0, 0.0, 0.0)
Vector3.ONE = Vector3(1.0, 1.0, 1.0)
Vector3.UP = Vector3(0.0, 1.0, 0.0)
Vector3.DOWN = Vector3(0.0, -1.0, 0.0)
Vector3.LEFT = Vector3(-1.0, 0.0, 0.0)
Vector3.RIGHT = Vector3(1.0, 0.0, 0.0)
Vector3.FORWARD = Vector3(0.0, 0.0, -1.0)
Vector3.BACK = Vector3(0.0, 0.0, 1.0)


@final
class Vector3i(_Immutable):
    """A 3D vector of ints: voxel and grid-map cells."""

    __slots__ = ("x", "y", "z")
    __match_args__ = ("x", "y", "z")

    x: int
    y: int
    z: int

    ZERO: ClassVar[Vector3i]
    ONE: ClassVar[Vector3i]
    UP: ClassVar[Vector3i]
    DOWN: ClassVar[Vector3i]
    LEFT: ClassVar[Vector3i]
    RIGHT: ClassVar[Vector3i]
    FORWARD: ClassVar[Vector3i]
    BACK: ClassVar[Vector3i]

    def __init__(self, x: int = 0, y: int = 0, z: int = 0) -> None:
        _set(self, "x", x if type(x) is int else _to_int(x))
        _set(self, "y", y if type(y) is int else _to_int(y))
        _set(self, "z", z if type(z) is int else _to_int(z))

    @classmethod
    def from_vector3(cls, v: Vector3) -> Vector3i:
        """The integer vector of ``v``'s components truncated toward zero, as in Godot."""
        return cls(int(v.x), int(v.y), int(v.z))

    # Python protocols.

    def __repr__(self) -> str:
        return f"Vector3i({self.x!r}, {self.y!r}, {self.z!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Vector3i:
            return NotImplemented
        return self.x == other.x and self.y == other.y and self.z == other.z

    def __hash__(self) -> int:
        return hash(("Vector3i", self.x, self.y, self.z))

    def __iter__(self) -> Iterator[int]:
        return iter((self.x, self.y, self.z))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> int:
        return (self.x, self.y, self.z)[index]

    def __bool__(self) -> bool:
        return self.x != 0 or self.y != 0 or self.z != 0

    def __reduce__(self) -> tuple[type[Vector3i], tuple[int, int, int]]:
        return (Vector3i, (self.x, self.y, self.z))

    # Arithmetic.

    def __add__(self, other: Vector3i) -> Vector3i:
        if type(other) is not Vector3i:
            return NotImplemented
        return Vector3i(self.x + other.x, self.y + other.y, self.z + other.z)

    def __sub__(self, other: Vector3i) -> Vector3i:
        if type(other) is not Vector3i:
            return NotImplemented
        return Vector3i(self.x - other.x, self.y - other.y, self.z - other.z)

    def __mul__(self, other: Vector3i | int) -> Vector3i:
        if type(other) is Vector3i:
            return Vector3i(self.x * other.x, self.y * other.y, self.z * other.z)
        if isinstance(other, int):
            return Vector3i(self.x * other, self.y * other, self.z * other)
        return NotImplemented

    def __rmul__(self, other: int) -> Vector3i:
        if isinstance(other, int):
            return Vector3i(self.x * other, self.y * other, self.z * other)
        return NotImplemented

    def __floordiv__(self, other: Vector3i | int) -> Vector3i:
        if type(other) is Vector3i:
            return Vector3i(self.x // other.x, self.y // other.y, self.z // other.z)
        if isinstance(other, int):
            return Vector3i(self.x // other, self.y // other, self.z // other)
        return NotImplemented

    def __mod__(self, other: Vector3i | int) -> Vector3i:
        if type(other) is Vector3i:
            return Vector3i(self.x % other.x, self.y % other.y, self.z % other.z)
        if isinstance(other, int):
            return Vector3i(self.x % other, self.y % other, self.z % other)
        return NotImplemented

    def __neg__(self) -> Vector3i:
        return Vector3i(-self.x, -self.y, -self.z)

    def __pos__(self) -> Vector3i:
        return self

    def __abs__(self) -> Vector3i:
        return Vector3i(abs(self.x), abs(self.y), abs(self.z))

    # Godot methods.

    def abs(self) -> Vector3i:
        """The vector with the absolute value of each component."""
        return Vector3i(abs(self.x), abs(self.y), abs(self.z))

    def length(self) -> float:
        """The Euclidean length."""
        return math.hypot(self.x, self.y, self.z)

    def length_squared(self) -> int:
        """The squared length, exact."""
        return self.x * self.x + self.y * self.y + self.z * self.z

    def distance_to(self, to: Vector3i) -> float:
        """The distance between the two points."""
        return (to - self).length()

    def distance_squared_to(self, to: Vector3i) -> int:
        """The squared distance between the two points, exact."""
        return (to - self).length_squared()

    def clamp(self, min: Vector3i, max: Vector3i) -> Vector3i:
        """Each component clamped between ``min``'s and ``max``'s."""
        return Vector3i(*(_clamp(v, lo, hi) for v, lo, hi in zip(self, min, max, strict=True)))

    def min(self, with_: Vector3i) -> Vector3i:
        return Vector3i(*(builtins.min(a, b) for a, b in zip(self, with_, strict=True)))

    def max(self, with_: Vector3i) -> Vector3i:
        return Vector3i(*(builtins.max(a, b) for a, b in zip(self, with_, strict=True)))

    def sign(self) -> Vector3i:
        return Vector3i(*(int(_sign(v)) for v in self))

    def snapped(self, step: Vector3i) -> Vector3i:
        """Each component rounded to the nearest multiple of ``step``'s."""
        return Vector3i(*(int(_snapped(v, s)) for v, s in zip(self, step, strict=True)))


Vector3i.ZERO = Vector3i(0, 0, 0)
Vector3i.ONE = Vector3i(1, 1, 1)
Vector3i.UP = Vector3i(0, 1, 0)
Vector3i.DOWN = Vector3i(0, -1, 0)
Vector3i.LEFT = Vector3i(-1, 0, 0)
Vector3i.RIGHT = Vector3i(1, 0, 0)
Vector3i.FORWARD = Vector3i(0, 0, -1)
Vector3i.BACK = Vector3i(0, 0, 1)


def _to_byte(value: float) -> int:
    """A channel in 0..1 as 0..255: rounded half away from zero and clamped, as in Godot."""
    scaled = value * 255.0
    if not scaled > 0.0:  # also NaN
        return 0
    return min(math.floor(scaled + 0.5), 255)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


@final
class Color(_Immutable):
    """An RGBA colour of floats, each channel nominally in 0..1 (HDR values may exceed 1).

    Arithmetic works channel by channel on all four channels, alpha included, as in Godot.
    """

    __slots__ = ("a", "b", "g", "r")
    __match_args__ = ("r", "g", "b", "a")

    r: float
    g: float
    b: float
    a: float

    BLACK: ClassVar[Color]
    WHITE: ClassVar[Color]
    TRANSPARENT: ClassVar[Color]
    RED: ClassVar[Color]
    GREEN: ClassVar[Color]
    BLUE: ClassVar[Color]

    def __init__(self, r: float, g: float, b: float, a: float = 1.0) -> None:
        _set(self, "r", r if type(r) is float else _to_float(r))
        _set(self, "g", g if type(g) is float else _to_float(g))
        _set(self, "b", b if type(b) is float else _to_float(b))
        _set(self, "a", a if type(a) is float else _to_float(a))

    @classmethod
    def from_html(cls, code: str) -> Color:
        """Parse ``"#RRGGBB"``, ``"#RRGGBBAA"``, ``"#RGB"`` or ``"#RGBA"``; the ``#`` is optional.

        Raises:
            ValueError: ``code`` is not one of these forms.
        """
        digits = code[1:] if code.startswith("#") else code
        if len(digits) not in (3, 4, 6, 8) or not _HEX_DIGITS.issuperset(digits):
            raise ValueError(f"invalid HTML color code: {code!r}")
        if len(digits) <= 4:
            channels = [int(d, 16) / 15.0 for d in digits]
        else:
            channels = [int(digits[i : i + 2], 16) / 255.0 for i in range(0, len(digits), 2)]
        return cls(*channels)

    html = from_html
    """Godot's name for :meth:`from_html`."""

    def to_html(self, with_alpha: bool = True) -> str:
        """The ``"rrggbbaa"`` hex code (``"rrggbb"`` without alpha), without ``#`` as in Godot."""
        channels = (self.r, self.g, self.b, self.a) if with_alpha else (self.r, self.g, self.b)
        return "".join(f"{_to_byte(c):02x}" for c in channels)

    # Python protocols.

    def __repr__(self) -> str:
        return f"Color({self.r!r}, {self.g!r}, {self.b!r}, {self.a!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Color:
            return NotImplemented
        return self.r == other.r and self.g == other.g and self.b == other.b and self.a == other.a

    def __hash__(self) -> int:
        return hash(("Color", self.r, self.g, self.b, self.a))

    def __iter__(self) -> Iterator[float]:
        return iter((self.r, self.g, self.b, self.a))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> float:
        return (self.r, self.g, self.b, self.a)[index]

    def __bool__(self) -> bool:
        return True  # Not "non-zero": Godot's Color() is opaque black, which is falsy there.

    def __reduce__(self) -> tuple[type[Color], tuple[float, float, float, float]]:
        return (Color, (self.r, self.g, self.b, self.a))

    # Arithmetic.

    def __add__(self, other: Color) -> Color:
        if type(other) is not Color:
            return NotImplemented
        return Color(self.r + other.r, self.g + other.g, self.b + other.b, self.a + other.a)

    def __sub__(self, other: Color) -> Color:
        if type(other) is not Color:
            return NotImplemented
        return Color(self.r - other.r, self.g - other.g, self.b - other.b, self.a - other.a)

    def __mul__(self, other: Color | float) -> Color:
        if type(other) is Color:
            return Color(self.r * other.r, self.g * other.g, self.b * other.b, self.a * other.a)
        if isinstance(other, (int, float)):
            return Color(self.r * other, self.g * other, self.b * other, self.a * other)
        return NotImplemented

    def __rmul__(self, other: float) -> Color:
        if isinstance(other, (int, float)):
            return Color(self.r * other, self.g * other, self.b * other, self.a * other)
        return NotImplemented

    def __truediv__(self, other: Color | float) -> Color:
        if type(other) is Color:
            return Color(self.r / other.r, self.g / other.g, self.b / other.b, self.a / other.a)
        if isinstance(other, (int, float)):
            return Color(self.r / other, self.g / other, self.b / other, self.a / other)
        return NotImplemented

    # Godot methods.

    def lerp(self, to: Color, weight: float) -> Color:
        """Linear interpolation of each channel: ``self`` at weight 0, ``to`` at weight 1."""
        return Color(
            self.r + (to.r - self.r) * weight,
            self.g + (to.g - self.g) * weight,
            self.b + (to.b - self.b) * weight,
            self.a + (to.a - self.a) * weight,
        )

    def inverted(self) -> Color:
        """The colour with ``1 - channel`` for r, g and b; alpha is kept."""
        return Color(1.0 - self.r, 1.0 - self.g, 1.0 - self.b, self.a)

    def is_equal_approx(self, to: Color) -> bool:
        """Whether each channel is equal to ``to``'s within Godot's tolerance."""
        return all(_is_equal_approx(a, b) for a, b in zip(self, to, strict=True))


Color.BLACK = Color(0.0, 0.0, 0.0)
Color.WHITE = Color(1.0, 1.0, 1.0)
Color.TRANSPARENT = Color(1.0, 1.0, 1.0, 0.0)
Color.RED = Color(1.0, 0.0, 0.0)
Color.GREEN = Color(0.0, 1.0, 0.0)
Color.BLUE = Color(0.0, 0.0, 1.0)


@final
class Vector4(_Immutable):
    """A 4D vector of floats: shader parameters, and anything else that needs four numbers."""

    __slots__ = ("w", "x", "y", "z")
    __match_args__ = ("x", "y", "z", "w")

    x: float
    y: float
    z: float
    w: float

    ZERO: ClassVar[Vector4]
    ONE: ClassVar[Vector4]

    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0, w: float = 0.0) -> None:
        _set(self, "x", x if type(x) is float else _to_float(x))
        _set(self, "y", y if type(y) is float else _to_float(y))
        _set(self, "z", z if type(z) is float else _to_float(z))
        _set(self, "w", w if type(w) is float else _to_float(w))

    @classmethod
    def from_vector4i(cls, v: Vector4i) -> Vector4:
        """The float vector with the components of ``v``."""
        return cls(float(v.x), float(v.y), float(v.z), float(v.w))

    # Python protocols.

    def __repr__(self) -> str:
        return f"Vector4({self.x!r}, {self.y!r}, {self.z!r}, {self.w!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Vector4:
            return NotImplemented
        return self.x == other.x and self.y == other.y and self.z == other.z and self.w == other.w

    def __hash__(self) -> int:
        return hash(("Vector4", self.x, self.y, self.z, self.w))

    def __iter__(self) -> Iterator[float]:
        return iter((self.x, self.y, self.z, self.w))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> float:
        return (self.x, self.y, self.z, self.w)[index]

    def __bool__(self) -> bool:
        return self.x != 0.0 or self.y != 0.0 or self.z != 0.0 or self.w != 0.0

    def __reduce__(self) -> tuple[type[Vector4], tuple[float, float, float, float]]:
        return (Vector4, (self.x, self.y, self.z, self.w))

    # Arithmetic.

    def __add__(self, other: Vector4) -> Vector4:
        if type(other) is not Vector4:
            return NotImplemented
        return Vector4(self.x + other.x, self.y + other.y, self.z + other.z, self.w + other.w)

    def __sub__(self, other: Vector4) -> Vector4:
        if type(other) is not Vector4:
            return NotImplemented
        return Vector4(self.x - other.x, self.y - other.y, self.z - other.z, self.w - other.w)

    def __mul__(self, other: Vector4 | float) -> Vector4:
        if type(other) is Vector4:
            return Vector4(self.x * other.x, self.y * other.y, self.z * other.z, self.w * other.w)
        if isinstance(other, (int, float)):
            return Vector4(self.x * other, self.y * other, self.z * other, self.w * other)
        return NotImplemented

    def __rmul__(self, other: float) -> Vector4:
        if isinstance(other, (int, float)):
            return Vector4(self.x * other, self.y * other, self.z * other, self.w * other)
        return NotImplemented

    def __truediv__(self, other: Vector4 | float) -> Vector4:
        if type(other) is Vector4:
            return Vector4(self.x / other.x, self.y / other.y, self.z / other.z, self.w / other.w)
        if isinstance(other, (int, float)):
            return Vector4(self.x / other, self.y / other, self.z / other, self.w / other)
        return NotImplemented

    def __neg__(self) -> Vector4:
        return Vector4(-self.x, -self.y, -self.z, -self.w)

    def __pos__(self) -> Vector4:
        return self

    def __abs__(self) -> Vector4:
        return Vector4(abs(self.x), abs(self.y), abs(self.z), abs(self.w))

    # Godot methods.

    def abs(self) -> Vector4:
        """The vector with the absolute value of each component."""
        return Vector4(abs(self.x), abs(self.y), abs(self.z), abs(self.w))

    def length(self) -> float:
        """The Euclidean length."""
        return math.hypot(self.x, self.y, self.z, self.w)

    def length_squared(self) -> float:
        """The squared length: cheaper than ``length()`` for comparisons."""
        return self.x * self.x + self.y * self.y + self.z * self.z + self.w * self.w

    def normalized(self) -> Vector4:
        """The unit vector in the same direction; the zero vector stays zero."""
        length = math.hypot(self.x, self.y, self.z, self.w)
        if length == 0.0:
            return Vector4()
        return Vector4(self.x / length, self.y / length, self.z / length, self.w / length)

    def distance_to(self, to: Vector4) -> float:
        """The distance between the two points."""
        return math.hypot(to.x - self.x, to.y - self.y, to.z - self.z, to.w - self.w)

    def distance_squared_to(self, to: Vector4) -> float:
        """The squared distance between the two points."""
        return (to - self).length_squared()

    def direction_to(self, to: Vector4) -> Vector4:
        """The unit vector pointing from this point to ``to``."""
        return (to - self).normalized()

    def dot(self, with_: Vector4) -> float:
        """The dot product."""
        return self.x * with_.x + self.y * with_.y + self.z * with_.z + self.w * with_.w

    def lerp(self, to: Vector4, weight: float) -> Vector4:
        """Linear interpolation: ``self`` at weight 0, ``to`` at weight 1."""
        return self + (to - self) * weight

    def is_equal_approx(self, to: Vector4) -> bool:
        """Whether each component is equal to ``to``'s within Godot's tolerance."""
        return all(_is_equal_approx(a, b) for a, b in zip(self, to, strict=True))


Vector4.ZERO = Vector4(0.0, 0.0, 0.0, 0.0)
Vector4.ONE = Vector4(1.0, 1.0, 1.0, 1.0)


@final
class Vector4i(_Immutable):
    """A 4D vector of ints."""

    __slots__ = ("w", "x", "y", "z")
    __match_args__ = ("x", "y", "z", "w")

    x: int
    y: int
    z: int
    w: int

    ZERO: ClassVar[Vector4i]
    ONE: ClassVar[Vector4i]

    def __init__(self, x: int = 0, y: int = 0, z: int = 0, w: int = 0) -> None:
        _set(self, "x", x if type(x) is int else _to_int(x))
        _set(self, "y", y if type(y) is int else _to_int(y))
        _set(self, "z", z if type(z) is int else _to_int(z))
        _set(self, "w", w if type(w) is int else _to_int(w))

    @classmethod
    def from_vector4(cls, v: Vector4) -> Vector4i:
        """The integer vector of ``v``'s components truncated toward zero, as in Godot."""
        return cls(int(v.x), int(v.y), int(v.z), int(v.w))

    # Python protocols.

    def __repr__(self) -> str:
        return f"Vector4i({self.x!r}, {self.y!r}, {self.z!r}, {self.w!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Vector4i:
            return NotImplemented
        return self.x == other.x and self.y == other.y and self.z == other.z and self.w == other.w

    def __hash__(self) -> int:
        return hash(("Vector4i", self.x, self.y, self.z, self.w))

    def __iter__(self) -> Iterator[int]:
        return iter((self.x, self.y, self.z, self.w))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> int:
        return (self.x, self.y, self.z, self.w)[index]

    def __bool__(self) -> bool:
        return self.x != 0 or self.y != 0 or self.z != 0 or self.w != 0

    def __reduce__(self) -> tuple[type[Vector4i], tuple[int, int, int, int]]:
        return (Vector4i, (self.x, self.y, self.z, self.w))

    # Arithmetic.

    def __add__(self, other: Vector4i) -> Vector4i:
        if type(other) is not Vector4i:
            return NotImplemented
        return Vector4i(self.x + other.x, self.y + other.y, self.z + other.z, self.w + other.w)

    def __sub__(self, other: Vector4i) -> Vector4i:
        if type(other) is not Vector4i:
            return NotImplemented
        return Vector4i(self.x - other.x, self.y - other.y, self.z - other.z, self.w - other.w)

    def __mul__(self, other: Vector4i | int) -> Vector4i:
        if type(other) is Vector4i:
            return Vector4i(self.x * other.x, self.y * other.y, self.z * other.z, self.w * other.w)
        if isinstance(other, int):
            return Vector4i(self.x * other, self.y * other, self.z * other, self.w * other)
        return NotImplemented

    def __rmul__(self, other: int) -> Vector4i:
        if isinstance(other, int):
            return Vector4i(self.x * other, self.y * other, self.z * other, self.w * other)
        return NotImplemented

    def __floordiv__(self, other: Vector4i | int) -> Vector4i:
        if type(other) is Vector4i:
            return Vector4i(
                self.x // other.x, self.y // other.y, self.z // other.z, self.w // other.w
            )
        if isinstance(other, int):
            return Vector4i(self.x // other, self.y // other, self.z // other, self.w // other)
        return NotImplemented

    def __mod__(self, other: Vector4i | int) -> Vector4i:
        if type(other) is Vector4i:
            return Vector4i(self.x % other.x, self.y % other.y, self.z % other.z, self.w % other.w)
        if isinstance(other, int):
            return Vector4i(self.x % other, self.y % other, self.z % other, self.w % other)
        return NotImplemented

    def __neg__(self) -> Vector4i:
        return Vector4i(-self.x, -self.y, -self.z, -self.w)

    def __pos__(self) -> Vector4i:
        return self

    def __abs__(self) -> Vector4i:
        return Vector4i(abs(self.x), abs(self.y), abs(self.z), abs(self.w))

    # Godot methods.

    def abs(self) -> Vector4i:
        """The vector with the absolute value of each component."""
        return Vector4i(abs(self.x), abs(self.y), abs(self.z), abs(self.w))

    def length(self) -> float:
        """The Euclidean length."""
        return math.hypot(self.x, self.y, self.z, self.w)

    def length_squared(self) -> int:
        """The squared length, exact."""
        return self.x * self.x + self.y * self.y + self.z * self.z + self.w * self.w


Vector4i.ZERO = Vector4i(0, 0, 0, 0)
Vector4i.ONE = Vector4i(1, 1, 1, 1)


_V = TypeVar("_V", Vector2, Vector2i)


def _rect_parts(name: str, vector: type[_V], args: tuple[Any, ...]) -> tuple[_V, _V]:
    """``position`` and ``size`` from ``(x, y, width, height)`` or ``(position, size)``,
    the two constructors Godot has besides the empty one."""
    if len(args) == 4:
        x, y, width, height = args
        return vector(x, y), vector(width, height)
    if len(args) == 2 and type(args[0]) is vector and type(args[1]) is vector:
        return args[0], args[1]
    if not args:
        return vector(), vector()
    got = ", ".join(type(arg).__name__ for arg in args)
    raise TypeError(
        f"{name}() takes (x, y, width, height) or (position, size) as two "
        f"{vector.__name__}s, got ({got})"
    )


# Rectangles as (x, y, width, height) tuples: the logic Rect2 and Rect2i share, after
# Godot's core/math/rect2.h and rect2i.h. Godot leaves negative sizes unsupported in
# these (it prints an error); abs() makes a rectangle's size positive.

_N = TypeVar("_N", int, float)
_Box = tuple[_N, _N, _N, _N]


def _intersects(a: _Box[_N], b: _Box[_N], include_borders: bool) -> bool:
    """Whether the rectangles overlap; touching edges count only with ``include_borders``."""
    if include_borders:
        return not (
            a[0] > b[0] + b[2] or a[0] + a[2] < b[0] or a[1] > b[1] + b[3] or a[1] + a[3] < b[1]
        )
    return not (
        a[0] >= b[0] + b[2] or a[0] + a[2] <= b[0] or a[1] >= b[1] + b[3] or a[1] + a[3] <= b[1]
    )


def _encloses(a: _Box[_N], b: _Box[_N]) -> bool:
    """Whether ``b`` lies entirely inside ``a`` (edges included)."""
    return (
        b[0] >= a[0] and b[1] >= a[1] and b[0] + b[2] <= a[0] + a[2] and b[1] + b[3] <= a[1] + a[3]
    )


def _intersection(a: _Box[_N], b: _Box[_N]) -> _Box[_N]:
    """The overlap of the rectangles, or all zeros when they do not overlap."""
    if not _intersects(a, b, False):
        return (0, 0, 0, 0)
    x, y = max(a[0], b[0]), max(a[1], b[1])
    return (x, y, min(a[0] + a[2], b[0] + b[2]) - x, min(a[1] + a[3], b[1] + b[3]) - y)


def _merge(a: _Box[_N], b: _Box[_N]) -> _Box[_N]:
    """The smallest rectangle holding both."""
    x, y = min(a[0], b[0]), min(a[1], b[1])
    return (x, y, max(a[0] + a[2], b[0] + b[2]) - x, max(a[1] + a[3], b[1] + b[3]) - y)


def _expand(a: _Box[_N], px: _N, py: _N) -> _Box[_N]:
    """The smallest rectangle holding ``a`` and the point."""
    x, y = min(a[0], px), min(a[1], py)
    return (x, y, max(a[0] + a[2], px) - x, max(a[1] + a[3], py) - y)


def _abs(a: _Box[_N]) -> _Box[_N]:
    """The same area with a positive size: the position moves to the top-left corner."""
    return (a[0] + min(a[2], 0), a[1] + min(a[3], 0), abs(a[2]), abs(a[3]))


def _has_point(a: _Box[_N], px: _N, py: _N) -> bool:
    """Godot's rule: the left and top edges are inside, the right and bottom ones are not."""
    return a[0] <= px < a[0] + a[2] and a[1] <= py < a[1] + a[3]


@final
class Rect2(_Immutable):
    """An axis-aligned rectangle of floats: ``position`` (the corner with the smallest
    coordinates: top-left, y growing downward) and ``size``.

    ``Rect2(x, y, width, height)`` or ``Rect2(position, size)``, as in Godot.
    """

    __slots__ = ("position", "size")
    __match_args__ = ("position", "size")

    position: Vector2
    size: Vector2

    @overload
    def __init__(self) -> None: ...

    @overload
    def __init__(self, position: Vector2, size: Vector2, /) -> None: ...

    @overload
    def __init__(self, x: float, y: float, width: float, height: float, /) -> None: ...

    def __init__(self, *args: Any) -> None:
        position, size = _rect_parts("Rect2", Vector2, args)
        _set(self, "position", position)
        _set(self, "size", size)

    @classmethod
    def from_rect2i(cls, r: Rect2i) -> Rect2:
        """The float rectangle with the components of ``r``."""
        return cls(*r._box())

    @property
    def end(self) -> Vector2:
        """The corner opposite ``position``: ``position + size``."""
        return self.position + self.size

    def _box(self) -> tuple[float, float, float, float]:
        return (self.position.x, self.position.y, self.size.x, self.size.y)

    # Python protocols.

    def __repr__(self) -> str:
        return "Rect2({!r}, {!r}, {!r}, {!r})".format(*self._box())

    def __eq__(self, other: object) -> bool:
        if type(other) is not Rect2:
            return NotImplemented
        return self.position == other.position and self.size == other.size

    def __hash__(self) -> int:
        return hash(("Rect2", *self._box()))

    def __bool__(self) -> bool:
        return bool(self.position) or bool(self.size)

    def __reduce__(self) -> tuple[type[Rect2], tuple[float, float, float, float]]:
        return (Rect2, self._box())

    # Godot methods.

    def get_area(self) -> float:
        """``width * height``."""
        return self.size.x * self.size.y

    def get_center(self) -> Vector2:
        """The middle point."""
        return self.position + self.size * 0.5

    def has_area(self) -> bool:
        """Whether both sides are positive."""
        return self.size.x > 0.0 and self.size.y > 0.0

    def has_point(self, point: Vector2) -> bool:
        """Whether ``point`` is inside: the left and top edges are, the right and bottom not."""
        return _has_point(self._box(), point.x, point.y)

    def intersects(self, b: Rect2, include_borders: bool = False) -> bool:
        """Whether the rectangles overlap; with ``include_borders``, touching counts."""
        return _intersects(self._box(), b._box(), include_borders)

    def encloses(self, b: Rect2) -> bool:
        """Whether ``b`` lies entirely inside this rectangle (edges included)."""
        return _encloses(self._box(), b._box())

    def intersection(self, b: Rect2) -> Rect2:
        """The overlap, or ``Rect2()`` when the rectangles do not overlap."""
        return Rect2(*_intersection(self._box(), b._box()))

    def merge(self, b: Rect2) -> Rect2:
        """The smallest rectangle that holds both."""
        return Rect2(*_merge(self._box(), b._box()))

    def expand(self, to: Vector2) -> Rect2:
        """The smallest rectangle that holds this one and the point ``to``."""
        return Rect2(*_expand(self._box(), to.x, to.y))

    def grow(self, amount: float) -> Rect2:
        """The rectangle with each side moved outward by ``amount`` (inward if negative)."""
        x, y, width, height = self._box()
        return Rect2(x - amount, y - amount, width + 2 * amount, height + 2 * amount)

    def abs(self) -> Rect2:
        """The same area with a non-negative size."""
        return Rect2(*_abs(self._box()))

    def is_equal_approx(self, to: Rect2) -> bool:
        """Whether position and size are equal to ``to``'s within Godot's tolerance."""
        return self.position.is_equal_approx(to.position) and self.size.is_equal_approx(to.size)


@final
class Rect2i(_Immutable):
    """An axis-aligned rectangle of ints: tile regions, pixel areas.

    ``Rect2i(x, y, width, height)`` or ``Rect2i(position, size)``, as in Godot.
    """

    __slots__ = ("position", "size")
    __match_args__ = ("position", "size")

    position: Vector2i
    size: Vector2i

    @overload
    def __init__(self) -> None: ...

    @overload
    def __init__(self, position: Vector2i, size: Vector2i, /) -> None: ...

    @overload
    def __init__(self, x: int, y: int, width: int, height: int, /) -> None: ...

    def __init__(self, *args: Any) -> None:
        position, size = _rect_parts("Rect2i", Vector2i, args)
        _set(self, "position", position)
        _set(self, "size", size)

    @classmethod
    def from_rect2(cls, r: Rect2) -> Rect2i:
        """The integer rectangle of ``r``'s components truncated toward zero, as in Godot."""
        return cls(*(int(c) for c in r._box()))

    @property
    def end(self) -> Vector2i:
        """The corner opposite ``position``: ``position + size``."""
        return self.position + self.size

    def _box(self) -> tuple[int, int, int, int]:
        return (self.position.x, self.position.y, self.size.x, self.size.y)

    # Python protocols.

    def __repr__(self) -> str:
        return "Rect2i({!r}, {!r}, {!r}, {!r})".format(*self._box())

    def __eq__(self, other: object) -> bool:
        if type(other) is not Rect2i:
            return NotImplemented
        return self.position == other.position and self.size == other.size

    def __hash__(self) -> int:
        return hash(("Rect2i", *self._box()))

    def __bool__(self) -> bool:
        return bool(self.position) or bool(self.size)

    def __reduce__(self) -> tuple[type[Rect2i], tuple[int, int, int, int]]:
        return (Rect2i, self._box())

    # Godot methods.

    def get_area(self) -> int:
        """``width * height``, exact."""
        return self.size.x * self.size.y

    def get_center(self) -> Vector2i:
        """The middle point, ``position + size / 2`` with C's division (toward zero)."""
        return self.position + Vector2i(_halve(self.size.x), _halve(self.size.y))

    def has_area(self) -> bool:
        """Whether both sides are positive."""
        return self.size.x > 0 and self.size.y > 0

    def has_point(self, point: Vector2i) -> bool:
        """Whether ``point`` is inside: the left and top edges are, the right and bottom not."""
        return _has_point(self._box(), point.x, point.y)

    def intersects(self, b: Rect2i) -> bool:
        """Whether the rectangles overlap; touching edges do not count."""
        return _intersects(self._box(), b._box(), False)

    def encloses(self, b: Rect2i) -> bool:
        """Whether ``b`` lies entirely inside this rectangle (edges included)."""
        return _encloses(self._box(), b._box())

    def intersection(self, b: Rect2i) -> Rect2i:
        """The overlap, or ``Rect2i()`` when the rectangles do not overlap."""
        return Rect2i(*_intersection(self._box(), b._box()))

    def merge(self, b: Rect2i) -> Rect2i:
        """The smallest rectangle that holds both."""
        return Rect2i(*_merge(self._box(), b._box()))

    def expand(self, to: Vector2i) -> Rect2i:
        """The smallest rectangle that holds this one and the point ``to``."""
        return Rect2i(*_expand(self._box(), to.x, to.y))

    def grow(self, amount: int) -> Rect2i:
        """The rectangle with each side moved outward by ``amount`` (inward if negative)."""
        x, y, width, height = self._box()
        return Rect2i(x - amount, y - amount, width + 2 * amount, height + 2 * amount)

    def abs(self) -> Rect2i:
        """The same area with a non-negative size."""
        return Rect2i(*_abs(self._box()))


def _halve(value: int) -> int:
    """``value / 2`` rounded toward zero, as C divides ints."""
    return value // 2 if value >= 0 else -(-value // 2)


_UNIT_EPSILON = 0.001
"""Godot's ``UNIT_EPSILON``: how far from 1 a squared length may be to count as a unit."""


@final
class Quaternion(_Immutable):
    """A 3D rotation as a unit quaternion ``(x, y, z, w)``; ``Quaternion()`` is the identity.

    ``a * b`` rotates by ``b`` and then by ``a``, and ``q * v`` rotates the ``Vector3``
    ``v``, as in Godot. Euler angles use Godot's default order, YXZ (the z rotation
    first, then x, then y).
    """

    __slots__ = ("w", "x", "y", "z")
    __match_args__ = ("x", "y", "z", "w")

    x: float
    y: float
    z: float
    w: float

    IDENTITY: ClassVar[Quaternion]

    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0, w: float = 1.0) -> None:
        _set(self, "x", x if type(x) is float else _to_float(x))
        _set(self, "y", y if type(y) is float else _to_float(y))
        _set(self, "z", z if type(z) is float else _to_float(z))
        _set(self, "w", w if type(w) is float else _to_float(w))

    @classmethod
    def from_axis_angle(cls, axis: Vector3, angle: float) -> Quaternion:
        """The rotation by ``angle`` radians around the unit vector ``axis``.

        Raises:
            ValueError: ``axis`` is not normalized.
        """
        if not _is_unit(axis.length_squared()):
            raise ValueError(f"the axis {axis!r} must be normalized")
        s = math.sin(angle * 0.5)
        return cls(axis.x * s, axis.y * s, axis.z * s, math.cos(angle * 0.5))

    @classmethod
    def from_euler(cls, euler: Vector3) -> Quaternion:
        """The rotation by the Euler angles (radians) around z, then x, then y (YXZ)."""
        # The product Y(euler.y) * X(euler.x) * Z(euler.z) of the three axis rotations,
        # expanded (Godot's Quaternion::from_euler).
        cy, sy = math.cos(euler.y * 0.5), math.sin(euler.y * 0.5)
        cx, sx = math.cos(euler.x * 0.5), math.sin(euler.x * 0.5)
        cz, sz = math.cos(euler.z * 0.5), math.sin(euler.z * 0.5)
        return cls(
            sy * cx * sz + cy * sx * cz,
            sy * cx * cz - cy * sx * sz,
            cy * cx * sz - sy * sx * cz,
            sy * sx * sz + cy * cx * cz,
        )

    # Python protocols.

    def __repr__(self) -> str:
        return f"Quaternion({self.x!r}, {self.y!r}, {self.z!r}, {self.w!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not Quaternion:
            return NotImplemented
        return self.x == other.x and self.y == other.y and self.z == other.z and self.w == other.w

    def __hash__(self) -> int:
        return hash(("Quaternion", self.x, self.y, self.z, self.w))

    def __iter__(self) -> Iterator[float]:
        return iter((self.x, self.y, self.z, self.w))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> float:
        return (self.x, self.y, self.z, self.w)[index]

    def __bool__(self) -> bool:
        return True  # Like Color: Godot's identity Quaternion() is falsy there, a trap here.

    def __reduce__(self) -> tuple[type[Quaternion], tuple[float, float, float, float]]:
        return (Quaternion, (self.x, self.y, self.z, self.w))

    # Arithmetic.

    def __add__(self, other: Quaternion) -> Quaternion:
        if type(other) is not Quaternion:
            return NotImplemented
        return Quaternion(self.x + other.x, self.y + other.y, self.z + other.z, self.w + other.w)

    def __sub__(self, other: Quaternion) -> Quaternion:
        if type(other) is not Quaternion:
            return NotImplemented
        return Quaternion(self.x - other.x, self.y - other.y, self.z - other.z, self.w - other.w)

    @overload
    def __mul__(self, other: Quaternion | float) -> Quaternion: ...

    @overload
    def __mul__(self, other: Vector3) -> Vector3: ...

    def __mul__(self, other: Quaternion | Vector3 | float) -> Quaternion | Vector3:
        if type(other) is Quaternion:
            return self._compose(other)
        if type(other) is Vector3:
            return self._rotate(other)
        if isinstance(other, (int, float)):
            return Quaternion(self.x * other, self.y * other, self.z * other, self.w * other)
        return NotImplemented

    def __rmul__(self, other: float) -> Quaternion:
        if isinstance(other, (int, float)):
            return Quaternion(self.x * other, self.y * other, self.z * other, self.w * other)
        return NotImplemented

    def __truediv__(self, other: float) -> Quaternion:
        if isinstance(other, (int, float)):
            return Quaternion(self.x / other, self.y / other, self.z / other, self.w / other)
        return NotImplemented

    def __neg__(self) -> Quaternion:
        return Quaternion(-self.x, -self.y, -self.z, -self.w)

    def __pos__(self) -> Quaternion:
        return self

    def _compose(self, q: Quaternion) -> Quaternion:
        """The Hamilton product ``self * q``."""
        x, y, z, w = self.x, self.y, self.z, self.w
        return Quaternion(
            w * q.x + x * q.w + y * q.z - z * q.y,
            w * q.y + y * q.w + z * q.x - x * q.z,
            w * q.z + z * q.w + x * q.y - y * q.x,
            w * q.w - x * q.x - y * q.y - z * q.z,
        )

    def _rotate(self, v: Vector3) -> Vector3:
        """``v`` rotated: ``v + 2w(u x v) + 2u x (u x v)`` with ``u = (x, y, z)``, the
        expansion of ``q v q*`` that Godot's ``Quaternion::xform`` uses."""
        u = Vector3(self.x, self.y, self.z)
        uv = u.cross(v)
        return v + (uv * self.w + u.cross(uv)) * 2.0

    # Godot methods.

    def length(self) -> float:
        """The Euclidean length of the four components."""
        return math.hypot(self.x, self.y, self.z, self.w)

    def length_squared(self) -> float:
        """The squared length: cheaper than ``length()`` for comparisons."""
        return self.x * self.x + self.y * self.y + self.z * self.z + self.w * self.w

    def normalized(self) -> Quaternion:
        """The quaternion scaled to length 1 (a rotation).

        Raises:
            ZeroDivisionError: It is the zero quaternion.
        """
        return self / self.length()

    def is_normalized(self) -> bool:
        """Whether the length is 1 within Godot's ``UNIT_EPSILON`` (on the squared length)."""
        return _is_unit(self.length_squared())

    def inverse(self) -> Quaternion:
        """The opposite rotation: the conjugate, as Godot computes it.

        Raises:
            ValueError: The quaternion is not normalized.
        """
        self._check_unit("inverse")
        return Quaternion(-self.x, -self.y, -self.z, self.w)

    def dot(self, with_: Quaternion) -> float:
        """The dot product of the four components."""
        return self.x * with_.x + self.y * with_.y + self.z * with_.z + self.w * with_.w

    def get_angle(self) -> float:
        """The rotation angle in radians, in ``[0, 2pi]``."""
        return 2.0 * math.acos(max(-1.0, min(1.0, self.w)))

    def get_axis(self) -> Vector3:
        """The rotation axis (for a unit quaternion, a unit vector)."""
        if abs(self.w) > 1.0 - _CMP_EPSILON:
            return Vector3(self.x, self.y, self.z)
        r = 1.0 / math.sqrt(1.0 - self.w * self.w)
        return Vector3(self.x * r, self.y * r, self.z * r)

    def get_euler(self) -> Vector3:
        """The Euler angles (radians) in YXZ order: the inverse of :meth:`from_euler`.

        Raises:
            ValueError: The quaternion is not normalized.
        """
        self._check_unit("get_euler")
        return _euler_yxz(self)

    def slerp(self, to: Quaternion, weight: float) -> Quaternion:
        """Spherical interpolation, along the shorter arc: ``self`` at 0, ``to`` at 1.

        Raises:
            ValueError: Either quaternion is not normalized.
        """
        self._check_unit("slerp")
        to._check_unit("slerp")
        cosom = self.dot(to)
        if cosom < 0.0:  # the other of the two quaternions of that rotation is nearer
            cosom, to = -cosom, -to
        if 1.0 - cosom > _CMP_EPSILON:
            omega = math.acos(cosom)
            sinom = math.sin(omega)
            scale0 = math.sin((1.0 - weight) * omega) / sinom
            scale1 = math.sin(weight * omega) / sinom
        else:  # nearly the same rotation: the straight line is as good, and stable
            scale0, scale1 = 1.0 - weight, weight
        return self * scale0 + to * scale1

    def is_equal_approx(self, to: Quaternion) -> bool:
        """Whether each component is equal to ``to``'s within Godot's tolerance."""
        return all(_is_equal_approx(a, b) for a, b in zip(self, to, strict=True))

    def _check_unit(self, method: str) -> None:
        if not self.is_normalized():
            raise ValueError(f"{method}() needs a normalized quaternion, got {self!r}")


Quaternion.IDENTITY = Quaternion(0.0, 0.0, 0.0, 1.0)


def _is_unit(length_squared: float) -> bool:
    return abs(length_squared - 1.0) < _UNIT_EPSILON


def _euler_yxz(q: Quaternion) -> Vector3:
    """The YXZ Euler angles of a unit quaternion, read from its rotation matrix as
    Godot's ``Basis::get_euler`` reads them (``Quaternion::get_euler``)."""
    x, y, z, w = q.x, q.y, q.z, q.w
    # The matrix entries that the YXZ angles depend on (Basis::set_quaternion).
    m00 = 1.0 - 2.0 * (y * y + z * z)
    m01 = 2.0 * (x * y - w * z)
    m02 = 2.0 * (x * z + w * y)
    m10 = 2.0 * (x * y + w * z)
    m11 = 1.0 - 2.0 * (x * x + z * z)
    m12 = 2.0 * (y * z - w * x)
    m20 = 2.0 * (x * z - w * y)
    m22 = 1.0 - 2.0 * (x * x + y * y)
    if m12 >= 1.0 - _CMP_EPSILON:  # looking straight down: y and z are one rotation
        return Vector3(-math.pi / 2, -math.atan2(m01, m00), 0.0)
    if m12 <= -(1.0 - _CMP_EPSILON):  # straight up
        return Vector3(math.pi / 2, math.atan2(m01, m00), 0.0)
    if m10 == 0.0 and m01 == 0.0 and m02 == 0.0 and m20 == 0.0 and m00 == 1.0:
        return Vector3(math.atan2(-m12, m11), 0.0, 0.0)  # a pure x rotation, kept simple
    return Vector3(math.asin(-m12), math.atan2(m02, m22), math.atan2(m10, m11))
