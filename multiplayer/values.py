"""Godot's small value types: ``Vector2``, ``Vector2i``, ``Vector3``, ``Vector3i`` and ``Color``.

RPC arguments and replicated properties are mostly positions, directions and colours,
so each wire profile sends these five types in a compact form (the native one: msgpack
extensions, :mod:`multiplayer.protocol.native.codec`) and gives them back as the same
types, where a tuple or a list would lose the meaning.

They are immutable and hashable (usable as dict keys, as in Godot), and final. They
are plain classes with ``__slots__`` rather than named tuples, so that a ``Vector2``
is never equal to a ``tuple``: the codec keeps the two apart on the wire.

Differences from Godot, on purpose:

* The float types hold Python floats (64-bit); Godot's hold 32-bit ``real_t``. The
  codec sends 32-bit floats whenever that loses nothing.
* Dividing by zero raises :exc:`ZeroDivisionError`, as Python numbers do; Godot
  gives ``inf`` or an error message. ``//`` and ``%`` on the integer vectors round
  toward minus infinity, as Python ints do; Godot truncates toward zero.
* ``to_html()`` leaves out the ``#``, as Godot 4 does.
* Float vectors accept ints (and other real numbers) and store floats; integer
  vectors accept only integers. Neither accepts ``bool``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import ClassVar, NoReturn, final

__all__ = [
    "Color",
    "Vector2",
    "Vector2i",
    "Vector3",
    "Vector3i",
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


class _Immutable:
    """Refuses attribute assignment and deletion; the subclasses set slots in ``__init__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

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
