"""Tests for :mod:`multiplayer.transport.network_thread`: the lock shared with the
network thread, and the thread's life (a thread of the test's own, not the process's)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from multiplayer import InvalidState, SyncWebSocketMultiplayerPeer
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


def test_run_times_out_and_cancels(network: NetworkThread) -> None:
    """A coroutine that takes too long is cancelled, and TimeoutError raised."""
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
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
