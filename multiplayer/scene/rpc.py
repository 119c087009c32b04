"""The ``@rpc`` decorator and RPC configurations (GDScript's ``@rpc`` annotation).

``@rpc`` marks a method of a :class:`~multiplayer.scene.node.Node` subclass as callable
from other peers. Its arguments are Godot's, with Godot's defaults::

    @rpc                                    # "authority", "call_remote", "reliable", 0
    @rpc("any_peer", "call_local", "reliable", 1)

The first three are keywords in any order; the fourth, if given, is the channel.
A decorated method can be called on other peers through the node
(``node.rpc("method", ...)``, ``node.rpc_id(peer, "method", ...)``) or through the
method itself, in a form type checkers understand::

    self.roll.rpc(6)            # everyone (and this peer too if "call_local")
    self.roll.rpc_id(1, 6)      # one peer

Calling ``self.roll(6)`` is still a plain local call.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ..transport.peer import TransferMode

if TYPE_CHECKING:
    from .node import Node

__all__ = [
    "BoundRPC",
    "RPCConfig",
    "RPCMethod",
    "RPCMode",
    "rpc",
]

P = ParamSpec("P")
R = TypeVar("R")


class RPCMode(enum.IntEnum):
    """``MultiplayerAPI.RPCMode``: who may call a method remotely."""

    DISABLED = 0
    ANY_PEER = 1
    AUTHORITY = 2


@dataclass(frozen=True, slots=True)
class RPCConfig:
    """How a method may be called remotely (Godot's rpc config dictionary)."""

    rpc_mode: RPCMode = RPCMode.AUTHORITY
    call_local: bool = False
    transfer_mode: TransferMode = TransferMode.RELIABLE
    channel: int = 0

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> RPCConfig:
        """Build one from Godot's dictionary form (``rpc_mode``, ``transfer_mode``, …).

        ``rpc_mode`` is required: Godot's ``_parse_rpc_config`` skips a config
        without it (and a Godot peer would then count other methods). Missing other
        keys take its defaults: RELIABLE, not call_local, channel 0.

        Raises:
            ValueError: No ``rpc_mode``, an unknown key or a bad value.
        """
        unknown = set(config) - {"rpc_mode", "transfer_mode", "call_local", "channel"}
        if unknown:
            raise ValueError(f"unknown rpc config keys: {sorted(unknown)}")
        if "rpc_mode" not in config:
            raise ValueError("an rpc config needs rpc_mode (Godot ignores one without it)")
        channel = int(config.get("channel", 0))
        _check_channel(channel)
        return cls(
            rpc_mode=RPCMode(config.get("rpc_mode", RPCMode.AUTHORITY)),
            call_local=bool(config.get("call_local", False)),
            transfer_mode=TransferMode(config.get("transfer_mode", TransferMode.RELIABLE)),
            channel=channel,
        )


_LOCALITY = {"call_local": True, "call_remote": False}
_PERMISSION = {"any_peer": RPCMode.ANY_PEER, "authority": RPCMode.AUTHORITY}
_TRANSFER = {
    "reliable": TransferMode.RELIABLE,
    "unreliable": TransferMode.UNRELIABLE,
    "unreliable_ordered": TransferMode.UNRELIABLE_ORDERED,
}
_INVALID_ARGUMENT = (
    'Invalid RPC argument. Must be one of: "call_local"/"call_remote" (local calls), '
    '"any_peer"/"authority" (permission), "reliable"/"unreliable"/"unreliable_ordered" '
    "(transfer mode)."
)


def _check_channel(channel: int) -> None:
    if not 0 <= channel <= 255:
        raise ValueError(f"RPC channel must be in 0..255, not {channel}")


def parse_rpc_arguments(arguments: tuple[object, ...]) -> RPCConfig:
    """Turn ``@rpc`` arguments into a config, with GDScript's rules and messages.

    Raises:
        ValueError: An unknown keyword, an axis given twice, or too many arguments.
    """
    config = RPCConfig()
    seen: set[str] = set()
    for i, argument in enumerate(arguments):
        if i == 3 or (isinstance(argument, int) and not isinstance(argument, bool)):
            if i != len(arguments) - 1 or not isinstance(argument, int):
                raise ValueError("the RPC channel must be the last argument, an int")
            _check_channel(argument)
            config = replace(config, channel=argument)
        elif argument in _LOCALITY:
            _once(seen, "locality", '"call_local"/"call_remote"')
            config = replace(config, call_local=_LOCALITY[argument])
        elif argument in _PERMISSION:
            _once(seen, "permission", '"any_peer"/"authority"')
            config = replace(config, rpc_mode=_PERMISSION[argument])
        elif argument in _TRANSFER:
            _once(seen, "transfer mode", '"reliable"/"unreliable"/"unreliable_ordered"')
            config = replace(config, transfer_mode=_TRANSFER[argument])
        else:
            raise ValueError(_INVALID_ARGUMENT)
    return config


def _once(seen: set[str], axis: str, choices: str) -> None:
    if axis in seen:
        raise ValueError(
            f"Invalid RPC config. The {axis} ({choices}) must be specified no more than once."
        )
    seen.add(axis)


class RPCMethod(Generic[P, R]):
    """A method marked with ``@rpc``; on an instance it becomes a :class:`BoundRPC`."""

    def __init__(self, function: Callable[Concatenate[Any, P], R], config: RPCConfig) -> None:
        if isinstance(function, RPCMethod):
            raise ValueError("RPC annotations can only be used once per function.")
        if not callable(function):
            raise TypeError('"@rpc" annotation can only be applied to functions.')
        self.function = function
        self.config = config
        self.name: str = function.__name__
        self.is_coroutine = inspect.iscoroutinefunction(function)
        self.__doc__ = function.__doc__
        self.__wrapped__ = function

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> RPCMethod[P, R]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> BoundRPC[P, R]: ...
    def __get__(self, instance: object | None, owner: type) -> RPCMethod[P, R] | BoundRPC[P, R]:
        if instance is None:
            return self
        return BoundRPC(self, instance)

    def __repr__(self) -> str:
        return f"<rpc {self.name} {self.config}>"


class BoundRPC(Generic[P, R]):
    """An ``@rpc`` method bound to its node: call it locally, or ``.rpc``/``.rpc_id`` it."""

    __slots__ = ("method", "node")

    def __init__(self, method: RPCMethod[P, R], node: Any) -> None:
        self.method = method
        self.node: Node = node

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.method.function(self.node, *args, **kwargs)

    def rpc(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call this method on every peer (and here too if it is ``call_local``)."""
        if kwargs:
            _no_keywords(kwargs)
        node = self.node
        node.multiplayer.rpc(0, node, self.method.name, args)

    def rpc_id(self, peer_id: int, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call this method on one peer (``peer_id`` < 0: every peer but ``-peer_id``)."""
        if kwargs:
            _no_keywords(kwargs)
        node = self.node
        node.multiplayer.rpc(peer_id, node, self.method.name, args)

    async def rpc_call(self, peer_id: int, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Call this method on one peer and return its result (see ``Node.rpc_call``).

        The result is the handler's return value; for an ``async def`` handler, what
        its coroutine returns.
        """
        _no_keywords(kwargs)
        return await self.node.rpc_call(peer_id, self.method.name, *args)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BoundRPC) and other.method is self.method and other.node is self.node
        )

    def __hash__(self) -> int:
        return hash((id(self.method), id(self.node)))

    def __repr__(self) -> str:
        return f"<bound rpc {self.method.name} of {self.node!r}>"


def _no_keywords(kwargs: Mapping[str, object]) -> None:
    if kwargs:
        raise TypeError("RPC arguments are positional (Godot sends an argument list)")


@overload
def rpc(function: Callable[Concatenate[Any, P], R], /) -> RPCMethod[P, R]: ...
@overload
def rpc(
    *arguments: str | int,
) -> Callable[[Callable[Concatenate[Any, P], R]], RPCMethod[P, R]]: ...
def rpc(*arguments: Any) -> Any:
    """Mark a node method as callable remotely; see the module docstring."""
    if len(arguments) == 1 and isinstance(arguments[0], RPCMethod):
        raise ValueError("RPC annotations can only be used once per function.")
    if len(arguments) == 1 and callable(arguments[0]):
        return RPCMethod(arguments[0], RPCConfig())
    config = parse_rpc_arguments(arguments)

    def decorate(function: Callable[Concatenate[Any, P], R]) -> RPCMethod[P, R]:
        return RPCMethod(function, config)

    return decorate


def collect_rpc_methods(cls: type) -> dict[str, RPCMethod[Any, Any]]:
    """Every ``@rpc`` method of ``cls`` and its bases, by name (subclasses override)."""
    methods: dict[str, RPCMethod[Any, Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, RPCMethod):
                methods[name] = value
            elif name in methods:
                del methods[name]  # overridden by a plain method: no longer an RPC
    return methods
