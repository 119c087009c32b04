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

**Cost.** One thread and one event loop per process, whatever the number of peers;
a call of a sync peer takes the lock (well under a microsecond when the network
thread is waiting), a frame's packets leave with one wake-up of the network thread
(a write to the loop's self-pipe), and a start or a close waits for one pass of the
loop. The thread holds the GIL like any other: the network work of the process is
not spread over cores, only moved off the caller's thread.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import selectors
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


class NetworkLock:
    """The lock of the peers' state: the network thread's between two ``select()``,
    a caller's during a call. Re-entrant for its owner; fair to whoever waits: a
    thread that wants it waits in a turnstile that the owner, to take it back, must
    pass too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turnstile = threading.Lock()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        if self._owner == me:  # (another thread's id or None otherwise: never me)
            self._depth += 1
            return
        with self._turnstile:
            self._lock.acquire()
        self._owner, self._depth = me, 1

    def release(self) -> None:
        self._depth -= 1
        if not self._depth:
            self._owner = None
            self._lock.release()

    def held(self) -> bool:
        """Whether the calling thread holds the lock."""
        return self._owner == threading.get_ident()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class _LetGoWhileWaiting(selectors.BaseSelector):
    """The loop's selector, which lets the lock go while it waits for the sockets.

    A caller may meanwhile register a socket for writing (a send the socket could
    not take at once): the kernel's epoll/kqueue allow it during a wait, and the
    selector's own map is one dict, changed in one step under the GIL; the loop
    reads it again after taking the lock back.
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
            InvalidState: The network thread has stopped (the interpreter is exiting).
        """
        if self.on_thread():
            return function(*args, **kwargs)

        async def call() -> T:
            return function(*args, **kwargs)

        return self.run(call())

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the network loop and wait for its result.

        Raises:
            InvalidState: The network thread has stopped, or the caller is the
                network thread (it would wait for itself).
            TimeoutError: ``timeout`` seconds passed first (the coroutine is cancelled).
        """
        if self.on_thread() or not self.alive:
            coroutine.close()
            what = "is the caller" if self.on_thread() else "has stopped (the interpreter exits)"
            raise InvalidState(f"cannot wait for the network thread, which {what}")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    # The thread.

    def _run(self) -> None:
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
