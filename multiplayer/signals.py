"""Godot-style signals: the one observer type used across the library.

A :class:`Signal` holds an ordered list of callbacks. ``emit`` calls them in
connection order, synchronously, as Godot does. A signal can also be awaited:
``args = await peer.peer_connected`` suspends until the next emission and resolves
with the emitted arguments as a tuple (Godot's ``await signal``).

A callback connected with ``deferred=True`` (Godot's ``CONNECT_DEFERRED``) is not
called by ``emit`` but queued with :func:`call_deferred`: it runs at the end of the
current frame of the :class:`~multiplayer.SceneTree`, as Godot's message queue does
(``core/object/message_queue.cpp``, ``CallQueue::flush``; the tree flushes it in
``SceneTree::process``).

There is a queue per thread, as in Godot 4 (``MessageQueue::get_singleton()``: the
thread's own ``CallQueue`` if it has one, else the main one): a thread that builds
a tree or flushes has its own, and a tree's frame runs the calls made on its thread
only, so a tree run by a plain loop on one thread and another run by asyncio on the
main thread never run each other's calls. A thread without a queue of its own (a
worker) queues on the main thread's, which is how a worker hands a result to a game
on the main thread, as in Godot; ``Node.call_deferred`` from any thread goes to the
thread that runs the node's tree. The queues are deques, drained call by call: a
call queued while a flush runs, from any thread, runs in that flush or the next one.

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
import threading
from collections import deque
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


_CallQueue = deque[tuple[Callable[..., object], tuple[Any, ...]]]  # (Godot: a CallQueue)

_main_queue: _CallQueue = deque()
_local = threading.local()  # .queue: the thread's own queue, once it has one

_FLUSH_ROUNDS = 64
"""Calls queued by deferred calls run in the same flush, as in Godot, but for so many
rounds at most: a call that defers itself again waits for the next flush instead of
hanging the frame."""


def _thread_queue(own: bool = False) -> _CallQueue:
    """The queue of the calls deferred on this thread: its own, or (``own`` False, a
    thread without one) the main thread's. ``own`` gives the thread one for good, as
    a tree built or run on it does."""
    queue: _CallQueue | None = getattr(_local, "queue", None)
    if queue is None:
        if threading.current_thread() is threading.main_thread():
            queue = _local.queue = _main_queue
        elif own:
            queue = _local.queue = deque()
        else:
            return _main_queue
    return queue


def call_deferred(callback: Callable[..., object], *args: Any) -> None:
    """Call ``callback(*args)`` at the end of the current frame (Godot's
    ``Callable.call_deferred``): after the nodes' ``_process``, once the code that
    is running now has finished, on this thread (a worker thread's call runs on the
    main thread). An exception it raises is logged, like a signal callback's."""
    _thread_queue().append((callback, args))


def flush_deferred() -> None:
    """Run the calls queued with :func:`call_deferred` on this thread, in order (the
    tree does it during each frame; a loop of your own without a tree may call it)."""
    queue = _thread_queue(own=True)
    for _ in range(_FLUSH_ROUNDS):
        # Only the calls queued before this round: the later ones wait for the next.
        # Popping them one by one (never copying, then clearing, the queue) loses
        # none that another thread appends meanwhile.
        for _ in range(len(queue)):
            callback, args = queue.popleft()
            try:
                callback(*args)
            except Exception:
                logger.exception("error in a deferred call of %r", callback)
        if not queue:
            return


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
                    _thread_queue().append((connection.callback, args))
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
