"""``NetworkThread``: the event loop that runs the sockets of every sync peer, on a
thread of its own.

A :class:`~.sync_websocket_multiplayer_peer.SyncWebSocketMultiplayerPeer` is driven
from plain code (a ``while`` loop, a pygame clock) that runs no event loop. Its
connections are the asyncio peer's own (the same
:class:`~.websocket_peer_link.PeerLink` callbacks, the same limits), so they need a
running loop: this module runs one, on one daemon thread for the whole process,
started by the first sync peer that starts and stopped at interpreter exit, after
the peers still open are closed (so the other sides see a clean close, not a reset).
websockets' own ``websockets.sync`` does the same with a thread per connection; one
loop for all of them costs less when a process holds a server and many links.

**The lock.** The asyncio code of the peers assumes one thread. It keeps that
assumption by mutual exclusion, as ``websockets.sync`` guards its Sans-I/O protocol
with one mutex shared by its reading thread and the sender:

* the network thread holds :attr:`NetworkThread.lock` whenever it runs a callback
  or a task, and lets it go only while it waits in ``select()`` (the loop's
  selector, :class:`_LetGoWhileWaiting`, does it);
* a caller's thread holds it for the length of each call of a sync peer. Under it
  the call touches the peer's own state (the packet queue, what was put for each
  link) and asks the loop for work with ``call_soon_threadsafe``, which wakes its
  ``select()``; it never calls another method of the loop nor a transport. Calls
  that must (starting, closing) run on the network thread, and the caller waits;
* no user code runs under the lock: a sync peer emits its signals after letting
  go, so a handler may call any method of the peer, and the network goes on while
  it runs.

The lock is fair to callers: the network thread takes it back after every
``select()``, and with a plain lock a caller woken by its release could lose it to
the network thread again and again while data keeps coming.

**Signal handlers.** Python runs an OS signal handler in the main thread, between
two bytecodes, wherever that thread is: possibly in the middle of a call of a sync
peer, holding the lock (or waiting for it). Two rules follow:

* the lock survives an exception raised there (a ``KeyboardInterrupt``): it is a C
  ``RLock``, whose taking and giving back are single C calls, and what
  :meth:`NetworkLock.acquire` does around them in Python undoes itself if it is
  interrupted;
* a handler must not wait for the network thread, which waits for the lock its own
  thread holds: :meth:`NetworkThread.call` and :meth:`NetworkThread.run` raise
  ``InvalidState`` there rather than hang, and a sync peer queues its closing calls
  with :meth:`NetworkThread.call_soon` instead (they run as soon as the
  interrupted call lets go of the lock).

**Cost.** One thread and one event loop per process, whatever the number of peers;
a call of a sync peer takes the lock (well under a microsecond when the network
thread is waiting), a frame's packets leave with one wake-up of the network thread
(a write to the loop's self-pipe), and a start or a close waits for one pass of the
loop. The thread holds the GIL like any other: the network work of the process is
not spread over cores, only moved off the caller's thread.
"""

from __future__ import annotations

import _thread
import asyncio
import atexit
import concurrent.futures
import logging
import selectors
import signal
import threading
import weakref
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from ..exceptions import InvalidState

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = ["NetworkLock", "NetworkThread", "network_thread"]

logger = logging.getLogger("multiplayer.transport")

P = ParamSpec("P")
T = TypeVar("T")

EXIT_TIMEOUT = 2.0
"""Seconds the interpreter's exit waits for the peers' closing handshakes."""


class NetworkLock(_thread.RLock):  # type: ignore[misc]  # (final in typeshed only)
    """The lock of the peers' state: the network thread's between two ``select()``,
    a caller's during a call. Re-entrant for its owner; fair to whoever waits: a
    thread that wants it waits in a turnstile that the owner, to take it back, must
    pass too.

    It is the C ``RLock`` itself (so ``with lock:`` gives it back in one C call, and
    its owner and depth change with it, atomically) plus the turnstile: an exception
    that a signal handler raises anywhere in :meth:`acquire` leaves it as it was,
    never taken and forgotten.
    """

    if TYPE_CHECKING:  # (the C RLock's own, missing from typeshed)

        def _is_owned(self) -> bool: ...

        def _recursion_count(self) -> int: ...

    def __init__(self) -> None:
        super().__init__()
        # An RLock too: a signal handler run while its thread waits in the turnstile
        # may take the lock (and give it back) without waiting for itself.
        self._turnstile = _thread.RLock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        depth = self._recursion_count()  # 0 unless this thread holds it
        try:
            if depth:
                return super().acquire()  # re-entry: no turnstile
            with self._turnstile:
                return super().acquire(blocking, timeout)
        except BaseException:
            # Raised by a signal handler, possibly just after the lock was taken and
            # before the caller's ``with`` could own the release: give back what
            # this call took, or no one ever would.
            if self._recursion_count() > depth:
                super().release()
            raise

    __enter__ = acquire

    def held(self) -> bool:
        """Whether the calling thread holds the lock, or waits for it in the
        turnstile (a signal handler run during that wait): either way, the network
        thread cannot take it until this thread's call goes on."""
        return self._is_owned() or self._turnstile._is_owned()  # type: ignore[attr-defined]


class _LetGoWhileWaiting(selectors.BaseSelector):
    """The loop's selector, which lets the lock go while it waits for the sockets.

    Only the network thread uses it: callers never touch the loop but through
    ``call_soon_threadsafe``, which writes to the loop's self-pipe (a socket the
    selector watches already), so no socket is registered or unregistered while
    it waits.
    """

    def __init__(self, lock: NetworkLock) -> None:
        self._lock = lock
        self._selector = selectors.DefaultSelector()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self._lock.release()
        try:
            return self._selector.select(timeout)
        finally:
            self._lock.acquire()

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._selector.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._selector.unregister(fileobj)

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._selector.modify(fileobj, events, data)

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self._selector.get_map()

    def close(self) -> None:
        self._selector.close()


class _Peer(Protocol):
    """What the network thread does with the sync peers at exit."""

    def _close_on_network(self) -> None: ...

    async def _wait_all_closed(self) -> None: ...


class NetworkThread:
    """One event loop on a daemon thread, serving every sync peer of the process.

    Made and started by :func:`network_thread`; stopped by :meth:`stop` at exit.
    """

    def __init__(self) -> None:
        self.lock = NetworkLock()
        self.loop = asyncio.SelectorEventLoop(_LetGoWhileWaiting(self.lock))
        self._peers: weakref.WeakSet[_Peer] = weakref.WeakSet()
        self._thread = threading.Thread(target=self._run, name="multiplayer-network", daemon=True)

    def start(self) -> None:
        self._thread.start()
        atexit.register(self.stop)

    @property
    def alive(self) -> bool:
        """Whether the loop still runs (it stops at interpreter exit)."""
        return self._thread.is_alive() and not self.loop.is_closed()

    def on_thread(self) -> bool:
        """Whether the caller is the network thread."""
        return threading.get_ident() == self._thread.ident

    def add(self, peer: _Peer) -> None:
        """Close ``peer`` at exit if it is still open (it is held weakly)."""
        self._peers.add(peer)

    # Running things on the network thread.

    def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function`` on the network thread, under the lock; wait for its result
        (its exception is raised here). On the network thread itself, run it now.

        Raises:
            InvalidState: The network thread has stopped (the interpreter is exiting),
                or the caller holds the lock (see :meth:`run`).
        """
        if self.on_thread():
            return function(*args, **kwargs)

        async def call() -> T:
            return function(*args, **kwargs)

        return self.run(call())

    def call_soon(self, function: Callable[..., object], *args: object) -> None:
        """Have the network thread run ``function(*args)`` under the lock, and return
        at once: for a call that cannot wait, made by a signal handler that
        interrupted a call of a sync peer (the network thread cannot take the lock
        before that call goes on). An exception it raises is logged.

        Raises:
            InvalidState: The network thread has stopped (the interpreter is exiting).
        """
        if not self.alive:
            raise InvalidState(f"cannot queue {_name(function)}(): {_STOPPED}")
        self.loop.call_soon_threadsafe(_logging_errors, function, *args)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the network loop and wait for its result.

        Raises:
            InvalidState: The network thread has stopped, or would wait for the
                caller: it is the caller, or the caller holds the lock (a signal
                handler that interrupted a call of a sync peer; set a flag there,
                and wait in the program's loop).
            TimeoutError: ``timeout`` seconds passed first (the coroutine is cancelled).
        """
        why = self._cannot_wait()
        if why is not None:
            coroutine.close()
            raise InvalidState(f"cannot wait for the network thread: {why}")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _cannot_wait(self) -> str | None:
        """Why the caller cannot wait for the network thread, if it cannot."""
        if self.on_thread():
            return "it is the caller"
        if not self.alive:
            return _STOPPED
        if self.lock.held():
            return (
                "this thread holds its lock (a signal handler that interrupted a call "
                "of a sync peer?): the network thread would wait for it in turn"
            )
        return None

    # The thread.

    def _run(self) -> None:
        if hasattr(signal, "pthread_sigmask"):
            # Process signals go to another thread, then: Python runs their handlers
            # in the main thread only, and one caught here would wait, unhandled,
            # until the main thread's blocking call (a lock, a sleep) ended.
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - _FAULTS)
        asyncio.set_event_loop(self.loop)
        self.lock.acquire()  # held but while select() waits
        try:
            self.loop.run_forever()
            self._finish()
        finally:
            self.loop.close()
            self.lock.release()

    def _finish(self) -> None:
        """End the tasks still running (connection attempts, held reads)."""
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())

    def stop(self, timeout: float = EXIT_TIMEOUT) -> None:
        """Close the sync peers still open, wait for their closing handshakes (at most
        ``timeout`` seconds), then stop the loop and the thread. Run at exit."""
        if not self.alive:
            return
        try:
            self.run(self._close_peers(), timeout)
        except (TimeoutError, InvalidState):
            logger.info("network thread: closing handshakes not done within %s s", timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    async def _close_peers(self) -> None:
        peers = list(self._peers)
        for peer in peers:
            peer._close_on_network()
        await asyncio.gather(*(peer._wait_all_closed() for peer in peers))


_STOPPED = "it has stopped (the interpreter is exiting)"
_FAULTS = {  # raised by the CPU in the faulting thread: never blocked
    getattr(signal, name)
    for name in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS")
    if hasattr(signal, name)
}


def _logging_errors(function: Callable[..., object], *args: object) -> None:
    try:
        function(*args)
    except Exception:
        logger.exception("%s(), queued for the network thread, failed", _name(function))


def _name(function: Callable[..., object]) -> str:
    return getattr(function, "__qualname__", repr(function))


_network: NetworkThread | None = None
_network_made = threading.Lock()


def network_thread() -> NetworkThread:
    """The process's network thread, started on the first call.

    Raises:
        InvalidState: It has stopped: the interpreter is exiting.
    """
    global _network
    with _network_made:
        if _network is None:
            _network = NetworkThread()
            _network.start()
    if not _network.alive:
        raise InvalidState("the network thread has stopped: the interpreter is exiting")
    return _network
