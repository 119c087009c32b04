"""Godot-style signals: the one observer type used across the library.

A :class:`Signal` holds an ordered list of callbacks. ``emit`` calls them in
connection order, synchronously, as Godot does. A signal can also be awaited:
``args = await peer.peer_connected`` suspends until the next emission and resolves
with the emitted arguments as a tuple (Godot's ``await signal``).

A callback connected with ``deferred=True`` (Godot's ``CONNECT_DEFERRED``) is not
called by ``emit`` but queued with :func:`call_deferred`: it runs at the end of the
current frame of the :class:`~multiplayer.SceneTree`, as Godot's message queue does
(``core/object/message_queue.cpp``, ``CallQueue::flush``; the tree flushes it in
``SceneTree::process``). The queue is the process's, like Godot's: any tree's frame
runs it, and without a tree running nothing flushes it.

An exception raised by a callback is logged with its traceback and does not stop
the other callbacks, nor the ``poll()`` that emitted the signal: one faulty handler
must not take a server down (Godot prints the error and carries on likewise).

Declare your own signals as class attributes, like GDScript's ``signal``; every
instance gets its own::

    class Lobby(Node):
        player_joined: Signal[int, str] = Signal()

        def add(self, peer_id: int, name: str) -> None:
            self.player_joined.emit(peer_id, name)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVarTuple, overload

__all__ = ["Signal", "call_deferred", "flush_deferred"]

logger = logging.getLogger("multiplayer")

Ts = TypeVarTuple("Ts")


@dataclass(slots=True)
class _Connection:
    callback: Callable[..., object]
    one_shot: bool
    deferred: bool


_deferred: list[tuple[Callable[..., object], tuple[Any, ...]]] = []

_FLUSH_ROUNDS = 64
"""Calls queued by deferred calls run in the same flush, as in Godot, but for so many
rounds at most: a call that defers itself again waits for the next flush instead of
hanging the frame."""


def call_deferred(callback: Callable[..., object], *args: Any) -> None:
    """Call ``callback(*args)`` at the end of the current frame (Godot's
    ``Callable.call_deferred``): after the nodes' ``_process``, once the code that
    is running now has finished. An exception it raises is logged, like a signal
    callback's."""
    _deferred.append((callback, args))


def flush_deferred() -> None:
    """Run the calls queued with :func:`call_deferred`, in order (the tree does it
    during each frame; a loop of your own without a tree may call it)."""
    for _ in range(_FLUSH_ROUNDS):
        if not _deferred:
            return
        calls = _deferred[:]
        del _deferred[:]
        for callback, args in calls:
            try:
                callback(*args)
            except Exception:
                logger.exception("error in a deferred call of %r", callback)


class Signal(Generic[*Ts]):
    """A named event with typed arguments.

    Args:
        name: Shown in error messages and logs.
    """

    __slots__ = ("_attribute", "_connections", "_waiters", "name")

    def __init__(self, name: str = "signal") -> None:
        self.name = name
        self._attribute: str | None = None  # set when declared in a class body
        self._connections: list[_Connection] = []
        self._waiters: list[asyncio.Future[tuple[*Ts]]] = []

    def __repr__(self) -> str:
        return f"<Signal {self.name} ({len(self._connections)} connections)>"

    # Declared in a class body, a Signal is a template: each instance gets its own.

    def __set_name__(self, owner: type, name: str) -> None:
        self._attribute = name
        if self.name == "signal":
            self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Signal[*Ts]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> Signal[*Ts]: ...
    def __get__(self, instance: object | None, owner: type) -> Signal[*Ts]:
        if instance is None or self._attribute is None:
            return self
        own: Signal[*Ts] = Signal(self.name)
        instance.__dict__[self._attribute] = own  # later lookups find it directly
        return own

    def connect(
        self, callback: Callable[[*Ts], object], *, one_shot: bool = False, deferred: bool = False
    ) -> None:
        """Call ``callback`` on every emission (only the next one if ``one_shot``;
        at the end of the frame rather than during ``emit`` if ``deferred``: Godot's
        ``CONNECT_ONE_SHOT`` and ``CONNECT_DEFERRED`` flags).

        Raises:
            ValueError: The callback is already connected (Godot refuses it too).
        """
        if self.is_connected(callback):
            raise ValueError(f"{callback!r} is already connected to signal {self.name!r}")
        self._connections.append(_Connection(callback, one_shot, deferred))

    def disconnect(self, callback: Callable[[*Ts], object]) -> None:
        """Stop calling ``callback``.

        Raises:
            ValueError: The callback is not connected.
        """
        for i, connection in enumerate(self._connections):
            if connection.callback == callback:
                del self._connections[i]
                return
        raise ValueError(f"{callback!r} is not connected to signal {self.name!r}")

    def is_connected(self, callback: Callable[[*Ts], object]) -> bool:
        """Whether ``callback`` is connected (bound methods compare by object and function)."""
        return any(c.callback == callback for c in self._connections)

    def get_connection_count(self) -> int:
        """How many callbacks are connected."""
        return len(self._connections)

    def emit(self, *args: *Ts) -> None:
        """Call every connected callback with ``args``, then wake the awaiting tasks."""
        if self._connections:
            for connection in tuple(self._connections):
                if connection.one_shot:
                    try:
                        self._connections.remove(connection)
                    except ValueError:  # disconnected by an earlier callback
                        continue
                if connection.deferred:
                    _deferred.append((connection.callback, args))
                    continue
                try:
                    connection.callback(*args)
                except Exception:
                    logger.exception(
                        "error in a callback of signal %r: %r", self.name, connection.callback
                    )
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for future in waiters:
                if not future.done():
                    future.set_result(args)

    def __await__(self) -> Generator[Any, None, tuple[*Ts]]:
        future: asyncio.Future[tuple[*Ts]] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        return future.__await__()
