"""Tests for :mod:`multiplayer.transport.network_thread`: the lock shared with the
network thread, and the thread's life (a thread of the test's own, not the process's)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import Any

import pytest

from multiplayer import ConnectionStatus, InvalidState, SyncWebSocketMultiplayerPeer
from multiplayer.transport.network_thread import NetworkLock, NetworkThread, network_thread


@pytest.fixture
def network() -> Iterator[NetworkThread]:
    thread = NetworkThread()
    thread.start()
    yield thread
    thread.stop()


def test_the_lock_is_reentrant_for_its_owner_only() -> None:
    """Its owner may take it again; another thread waits until it is free."""
    lock = NetworkLock()
    taken = threading.Event()

    def other() -> None:
        with lock:
            taken.set()

    with lock:
        with lock:
            assert lock.held()
        thread = threading.Thread(target=other)
        thread.start()
        assert not taken.wait(0.05)  # (held: the other thread is still waiting)
    thread.join(5)
    assert taken.is_set()
    assert not lock.held()


def free_for_others(lock: NetworkLock) -> bool:
    """Whether another thread can take ``lock`` (within 5 s)."""
    taken = threading.Event()

    def take() -> None:
        with lock:
            taken.set()

    threading.Thread(target=take, daemon=True).start()  # (left hanging if it leaked)
    return taken.wait(5)


def interrupted(function: Callable[[], object], codes: set[CodeType], at: int) -> bool:
    """Run ``function()``, raising KeyboardInterrupt at the ``at``-th point of ``codes``
    where CPython runs a pending signal handler: as a function starts, and as a
    call of a C function returns (its work done). False if there were not that
    many points (then it ran to its end)."""
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_return") and frame.f_code in codes:
            count += 1
            if count > at:
                sys.setprofile(None)
                raise KeyboardInterrupt  # (the C call's result is dropped for it)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        function()
    except KeyboardInterrupt:
        return True
    finally:
        sys.setprofile(previous)
    return False


def test_an_interrupt_anywhere_leaves_the_lock_free() -> None:
    """A KeyboardInterrupt raised by a signal handler wherever one can run while the
    lock is taken, re-entered and given back never leaves it taken: the interrupted
    thread does not hold it, and another thread can take it."""

    def call(lock: NetworkLock) -> None:
        with lock:
            with lock:
                pass

    codes = {call.__code__} | {
        f.__code__ for f in vars(NetworkLock).values() if inspect.isfunction(f)
    }
    at = 0
    while True:
        lock = NetworkLock()
        if not interrupted(functools.partial(call, lock), codes, at):
            break
        assert not lock.held(), f"held after an interrupt at point {at}"
        assert free_for_others(lock), f"leaked by an interrupt at point {at}"
        at += 1
    assert at >= 8  # (the points were found)
    assert free_for_others(lock)


def test_a_thread_waiting_in_the_turnstile_counts_as_holding_the_lock() -> None:
    """A signal handler may run while its thread waits for the lock, holding the
    turnstile that the network thread must pass to take the lock back: it must not
    wait for the network thread either."""
    lock = NetworkLock()
    with lock._turnstile:
        assert lock.held()
    assert not lock.held()


def test_the_loop_lets_the_lock_go_while_it_waits(network: NetworkThread) -> None:
    """A caller gets the lock while the loop idles, and the loop runs callbacks under it."""
    with network.lock:  # (would hang if the loop kept it while waiting)
        assert network.lock.held()
    assert network.call(network.lock.held) is True


def test_call_runs_on_the_network_thread_and_raises_here(network: NetworkThread) -> None:
    """call() returns the function's result, from the network thread; its error is raised
    in the caller."""
    assert network.call(threading.get_ident) == network._thread.ident
    assert network.call(network.on_thread) is True

    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        network.call(fail)


def test_waiting_for_the_network_thread_under_its_lock_is_refused(
    network: NetworkThread,
) -> None:
    """run() and call() under the lock (a signal handler that interrupted a call of a
    sync peer) raise at once: the network thread would wait for this one. call_soon()
    queues the call, run once the lock is free; its error is logged."""
    ran: list[bool] = []

    def record() -> None:
        ran.append(network.on_thread())

    def fail() -> None:
        raise KeyError("boom")

    with network.lock:
        with pytest.raises(InvalidState, match="holds its lock"):
            network.call(record)
        network.call_soon(fail)
        network.call_soon(record)
        assert ran == []
    assert network.call(lambda: ran) == [True]


def test_a_close_by_the_holder_of_the_lock_is_queued(network: NetworkThread) -> None:
    """Called with the lock held (by a signal handler that interrupted poll(), say),
    close() returns at once and the peer closes as soon as the lock is free;
    block_until_closed() there raises instead of waiting for ever."""
    server = SyncWebSocketMultiplayerPeer()
    server._network, server._lock = network, network.lock
    network.run(server._start_server(0, "127.0.0.1", None, 0))
    seen: list[object] = []
    returned = threading.Event()

    def interrupted_call() -> None:  # (on a thread of its own, so that a hang fails)
        with network.lock:
            server.close()
            seen.append(server.get_connection_status())
            try:
                server.block_until_closed(5)
            except InvalidState as exc:
                seen.append(exc)
        returned.set()

    threading.Thread(target=interrupted_call, daemon=True).start()
    assert returned.wait(5), "close() waited for the network thread, which waits for it"
    assert seen[0] is ConnectionStatus.CONNECTED  # (queued, not done yet)
    assert isinstance(seen[1], InvalidState)
    assert "holds the peers' lock" in str(seen[1])
    assert server.block_until_closed(5)
    assert server.get_connection_status() is ConnectionStatus.DISCONNECTED


def test_run_times_out_and_cancels(network: NetworkThread) -> None:
    """A coroutine that takes too long is cancelled, and TimeoutError raised."""
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()  # never set: only the timeout ends it
        finally:
            cancelled.set()

    with pytest.raises(TimeoutError):
        network.run(forever(), timeout=0.05)
    assert cancelled.wait(5)


def test_stop_closes_the_peers_and_ends_the_thread(network: NetworkThread) -> None:
    """stop() (run at exit) closes the peers still open, then the loop and the thread;
    waiting on a stopped thread is a clear error."""
    closed: list[bool] = []

    class Peer:
        def _close_on_network(self) -> None:
            closed.append(network.on_thread())

        async def _wait_all_closed(self) -> None:
            await asyncio.sleep(0)

    peer = Peer()
    network.add(peer)
    network.stop()
    assert closed == [True]
    assert not network.alive
    assert network.loop.is_closed()

    async def nothing() -> None:
        pass

    with pytest.raises(InvalidState, match="stopped"):
        network.run(nothing())


def test_the_process_has_one_network_thread() -> None:
    """network_thread() starts it once and returns it every time."""
    assert network_thread() is network_thread()
    assert network_thread().alive


def test_a_peer_closes_without_its_network_once_it_stopped() -> None:
    """After the network thread has stopped (at exit), close() still works: the peer
    is DISCONNECTED and its sockets are shut down."""
    network = NetworkThread()
    network.start()
    server = SyncWebSocketMultiplayerPeer()
    server._network, server._lock = network, network.lock
    network.run(server._start_server(0, "127.0.0.1", None, 0))
    network.call(network.loop.stop)  # (stopped, not closed: stop() would close the peer)
    network._thread.join(5)
    assert not network.alive
    server.close()
    assert server.get_connection_status() == 0
