"""What an RPC method accepts: how many arguments, and of which types.

The count comes from the function's code (Godot checks it on the call too). The
types come from the method's annotations, when it has them: arguments that do not
match are refused before the method runs, with one log line naming the peer, node,
method and argument. A method without annotations accepts anything, as in Godot.
The sender runs the same checks before it sends or runs anything (``check_call``),
so a mistake raises where it is made instead of being refused on every other peer.
``bool`` is not an ``int`` here (Godot keeps them apart, and so does the wire).

Checkers are built once per function and cached, so a call pays a few isinstance
calls per argument (see the benchmarks).

Supported annotations: ``int`` (not ``bool``), ``float`` (an ``int`` is accepted),
``bool``, ``str``, ``bytes``, ``None``, ``list[T]``, ``tuple[T, ...]`` and
``tuple[A, B]``, ``dict[K, V]``, unions (``X | None``), ``Literal[...]``, enum
classes (the value must be one of the members' values), ``Any``, ``Annotated[T, ...]``
and any class (an ``isinstance`` check: the value types, registered types).
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..scene.node import Node

__all__ = ["Signature", "check_call", "function_of", "handler_of", "signature_of"]

Check = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class Signature:
    """How a function may be called with positional arguments."""

    fewest: int
    most: int | float  # math.inf with *args (not float: compiled, 7 would become 7.0)
    names: tuple[str, ...]  # the positional parameters, then the *args name
    checks: tuple[tuple[Check, str] | None, ...]  # per parameter: (check, type text)
    rest: tuple[Check, str] | None  # for *args
    accepts: Callable[[Sequence[Any]], bool] | None = None  # all checks at once; None: any

    def count_error(self, argc: int) -> str | None:
        """Why ``argc`` arguments do not fit, or None."""
        if self.fewest <= argc <= self.most:
            return None
        expected = str(self.fewest) if self.fewest == self.most else f"{self.fewest} to {self.most}"
        return f"{argc} arguments, expected {expected}"

    def type_error(self, args: Sequence[Any]) -> str | None:
        """Why an argument does not match its annotation, or None."""
        accepts = self.accepts
        if accepts is None or accepts(args):
            return None
        for i, value in enumerate(args):
            entry = self.checks[i] if i < len(self.checks) else self.rest
            if entry is not None and not entry[0](value):
                name = self.names[min(i, len(self.names) - 1)]
                return f"argument {name!r} must be {entry[1]}, not {type(value).__name__}"
        return None


def function_of(node: Node, method: str) -> Callable[..., Any]:
    """The plain function behind ``method`` of ``node``, bound to it."""
    decorated = node._rpc_methods.get(method)
    if decorated is not None:
        bound: Callable[..., Any] = decorated.function.__get__(node)
        return bound
    function: Callable[..., Any] = getattr(node, method)
    return function


def signature_of(function: Callable[..., Any]) -> Signature:
    """The (cached) signature of a function or bound method."""
    raw = getattr(function, "__func__", function)
    bound = 1 if inspect.ismethod(function) else 0
    try:
        return _signature(raw, bound)
    except TypeError:  # unhashable callable object
        return _build(raw, bound)


def handler_of(node: Node, method: str) -> tuple[Callable[..., Any], Signature]:
    """``function_of`` and its ``signature_of`` at once (the per-call path)."""
    decorated = node._rpc_methods.get(method)
    if decorated is not None:
        function = decorated.function
        return function.__get__(node), _signature(function, 1)
    bound: Callable[..., Any] = getattr(node, method)
    return bound, signature_of(bound)


def check_call(node: Node, method: str, args: Sequence[Any], *, types: bool) -> None:
    """Raise at the call site what the receiver would refuse: a wrong count, and
    with ``types`` (``validate_arguments``, on both sides) an argument that does not
    match its annotation. The sender's method is the receiver's (Godot requires the
    same RPCs on both sides), so the check is the same one, and a ``call_local``
    call cannot run here while every other peer refuses it.

    Raises:
        TypeError: The call does not fit the method.
    """
    signature = handler_of(node, method)[1]
    error = signature.count_error(len(args))
    if error is None and types:
        error = signature.type_error(args)
    if error is not None:
        raise TypeError(f"RPC {method!r}: {error}")


@functools.cache
def _signature(raw: Callable[..., Any], bound: int) -> Signature:
    return _build(raw, bound)


def _build(raw: Callable[..., Any], bound: int) -> Signature:
    code = getattr(raw, "__code__", None)
    if code is None:  # a builtin or a callable object: the call itself decides
        return Signature(0, math.inf, (), (), None)
    positional = code.co_varnames[: code.co_argcount][bound:]
    defaults = len(getattr(raw, "__defaults__", None) or ())
    varargs = bool(code.co_flags & inspect.CO_VARARGS)
    star = code.co_varnames[code.co_argcount + code.co_kwonlyargcount] if varargs else None
    hints = _hints(raw)
    checks = tuple(_entry(hints.get(name)) for name in positional)
    rest = _entry(hints.get(star)) if star is not None else None
    names = positional + ((star,) if star is not None else ())
    fewest = max(0, len(positional) - defaults)
    accepts = _combine(checks, rest)
    most = math.inf if varargs else len(positional)
    return Signature(fewest, most, names, checks, rest, accepts)


def _combine(
    checks: tuple[tuple[Check, str] | None, ...], rest: tuple[Check, str] | None
) -> Callable[[Sequence[Any]], bool] | None:
    """One function running every check, for the common case where all pass."""
    active = [(i, entry[0]) for i, entry in enumerate(checks) if entry is not None]
    count = len(checks)
    if rest is not None:
        rest_check = rest[0]
        first = _combine(checks, None)
        return lambda args: (
            (first is None or first(args)) and all(rest_check(v) for v in args[count:])
        )
    combined: Callable[[Sequence[Any]], bool] | None = None
    for i, check in reversed(active):  # a chain of closures: cheaper than all(...)
        combined = _link(i, check, combined)
    return combined


def _link(
    i: int, check: Check, rest: Callable[[Sequence[Any]], bool] | None
) -> Callable[[Sequence[Any]], bool]:
    if rest is None:
        return lambda args: len(args) <= i or check(args[i])
    return lambda args: (len(args) <= i or check(args[i])) and rest(args)


def _hints(raw: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(raw, include_extras=True)
    except Exception:  # an annotation that cannot be evaluated: no type checks
        return {}


def _entry(annotation: Any) -> tuple[Check, str] | None:
    if annotation is None:
        return None
    check = checker(annotation)
    return None if check is None else (check, _describe(annotation))


def checker(annotation: Any) -> Check | None:
    """A function telling whether a value matches ``annotation`` (None: anything)."""
    if annotation is Any or annotation is object:
        return None
    if annotation is None or annotation is type(None):
        return lambda v: v is None
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return checker(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return _union(typing.get_args(annotation))
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)
        return lambda v: any(v == a and type(v) is type(a) for a in allowed)
    if origin is not None:
        return _generic(origin, typing.get_args(annotation))
    if annotation is int:
        return lambda v: type(v) is int
    if annotation is float:
        return lambda v: type(v) is float or type(v) is int
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = {member.value for member in annotation}
        return lambda v: isinstance(v, annotation) or _hashable_in(v, values)
    if isinstance(annotation, type):
        return lambda v: isinstance(v, annotation)
    return None  # a TypeVar, a string we could not resolve…: no check


def _hashable_in(value: Any, values: set[Any]) -> bool:
    try:
        return value in values and type(value) is not bool
    except TypeError:
        return False


def _union(options: tuple[Any, ...]) -> Check | None:
    checks = [checker(option) for option in options]
    if any(check is None for check in checks):
        return None
    return lambda v: any(check(v) for check in checks if check is not None)


def _generic(origin: Any, args: tuple[Any, ...]) -> Check | None:
    if origin in (list, Sequence) or origin is typing.Sequence:
        item = checker(args[0]) if args else None
        if item is None:
            return lambda v: isinstance(v, list)
        if args[0] in (str, bytes, bool, int):  # exact types: compare them in C
            allowed = {args[0]}
            return lambda v: isinstance(v, list) and set(map(type, v)) <= allowed
        return lambda v: isinstance(v, list) and all(map(item, v))
    if origin is tuple:
        return _tuple(args)
    if origin is dict:
        key = checker(args[0]) if args else None
        value = checker(args[1]) if len(args) > 1 else None
        return lambda v: (
            isinstance(v, dict)
            and all((key is None or key(k)) and (value is None or value(x)) for k, x in v.items())
        )
    if isinstance(origin, type):
        return lambda v: isinstance(v, origin)
    return None


def _tuple(args: tuple[Any, ...]) -> Check:
    if len(args) == 2 and args[1] is Ellipsis:
        item = checker(args[0])
        if item is None:
            return lambda v: isinstance(v, tuple)
        return lambda v: isinstance(v, tuple) and all(item(x) for x in v)
    if not args:
        return lambda v: isinstance(v, tuple)
    items = [checker(a) for a in args]
    return lambda v: (
        isinstance(v, tuple)
        and len(v) == len(items)
        and all(check is None or check(x) for check, x in zip(items, v, strict=True))
    )


def _describe(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
