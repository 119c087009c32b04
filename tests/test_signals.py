"""Tests for :class:`multiplayer.signals.Signal`."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

import multiplayer.signals as signals_module
from multiplayer import Node, SceneTree
from multiplayer.signals import Signal, call_deferred, flush_deferred


class Noting(Node):
    """A node whose ``note`` method a deferred call names."""

    def __init__(self, note: Callable[[str], None]) -> None:
        super().__init__("Noting")
        self.note = note


class Recorder:
    """An object whose bound method is used as a callback."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def on_event(self, number: int, text: str) -> None:
        self.calls.append((number, text))


def test_emit_calls_callbacks_in_connection_order_with_the_arguments() -> None:
    """emit() calls every connected callback, in connection order, with the emitted args."""
    signal: Signal[int, str] = Signal("test")
    calls: list[tuple[str, int, str]] = []
    signal.connect(lambda n, s: calls.append(("first", n, s)))
    signal.connect(lambda n, s: calls.append(("second", n, s)))
    signal.connect(lambda n, s: calls.append(("third", n, s)))

    signal.emit(7, "x")

    assert calls == [("first", 7, "x"), ("second", 7, "x"), ("third", 7, "x")]
    assert signal.get_connection_count() == 3


def test_emit_with_no_connection_does_nothing() -> None:
    """emit() on a signal with no callback and no awaiter is a no-op."""
    signal: Signal[int] = Signal("test")
    signal.emit(1)
    assert signal.get_connection_count() == 0


def test_one_shot_fires_once_then_is_disconnected() -> None:
    """A one_shot callback runs on the next emission only and is then disconnected."""
    signal: Signal[int] = Signal("test")
    once: list[int] = []
    always: list[int] = []
    signal.connect(once.append, one_shot=True)
    signal.connect(always.append)

    signal.emit(1)
    signal.emit(2)

    assert once == [1]
    assert always == [1, 2]
    assert not signal.is_connected(once.append)
    assert signal.get_connection_count() == 1


def test_connecting_the_same_callback_twice_raises_value_error() -> None:
    """Connecting an already connected callback raises ValueError and leaves one connection."""
    signal: Signal[int] = Signal("test")
    calls: list[int] = []
    signal.connect(calls.append)

    with pytest.raises(ValueError, match="already connected"):
        signal.connect(calls.append)

    signal.emit(1)
    assert calls == [1]
    assert signal.get_connection_count() == 1


def test_disconnecting_an_unconnected_callback_raises_value_error() -> None:
    """disconnect() of a callback that is not connected raises ValueError."""
    signal: Signal[int] = Signal("test")
    signal.connect(lambda _: None)

    with pytest.raises(ValueError, match="not connected"):
        signal.disconnect(print)
    assert signal.get_connection_count() == 1


def test_disconnect_stops_the_callback() -> None:
    """A disconnected callback is no longer called and a second disconnect raises."""
    signal: Signal[int] = Signal("test")
    calls: list[int] = []
    signal.connect(calls.append)
    signal.emit(1)

    signal.disconnect(calls.append)
    signal.emit(2)

    assert calls == [1]
    with pytest.raises(ValueError):
        signal.disconnect(calls.append)


def test_bound_methods_are_recognised_across_separate_accesses() -> None:
    """Two separate `obj.method` accesses count as the same callback."""
    signal: Signal[int, str] = Signal("test")
    recorder = Recorder()
    other = Recorder()

    signal.connect(recorder.on_event)

    assert signal.is_connected(recorder.on_event)
    assert not signal.is_connected(other.on_event)
    with pytest.raises(ValueError):
        signal.connect(recorder.on_event)
    signal.emit(3, "a")
    signal.disconnect(recorder.on_event)
    assert not signal.is_connected(recorder.on_event)
    signal.emit(4, "b")
    assert recorder.calls == [(3, "a")]
    assert other.calls == []


def test_callback_disconnecting_itself_during_emit_does_not_skip_the_others() -> None:
    """A callback may disconnect itself while the signal emits; the others still run."""
    signal: Signal[int] = Signal("test")
    calls: list[tuple[str, int]] = []

    def leaves(value: int) -> None:
        calls.append(("leaves", value))
        signal.disconnect(leaves)

    signal.connect(lambda v: calls.append(("before", v)))
    signal.connect(leaves)
    signal.connect(lambda v: calls.append(("after", v)))

    signal.emit(1)
    signal.emit(2)

    assert calls == [
        ("before", 1),
        ("leaves", 1),
        ("after", 1),
        ("before", 2),
        ("after", 2),
    ]
    assert not signal.is_connected(leaves)


def test_one_shot_disconnected_by_an_earlier_callback_does_not_run() -> None:
    """A one_shot callback disconnected by an earlier callback of the same emit is skipped."""
    signal: Signal[int] = Signal("test")
    calls: list[int] = []
    signal.connect(lambda _: signal.disconnect(calls.append))
    signal.connect(calls.append, one_shot=True)

    signal.emit(1)

    assert calls == []
    assert signal.get_connection_count() == 1


def test_callback_that_raises_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception from a callback is logged on "multiplayer"; later callbacks still run."""
    signal: Signal[int] = Signal("boom_signal")
    calls: list[int] = []

    def broken(value: int) -> None:
        raise RuntimeError(f"broken handler {value}")

    signal.connect(broken)
    signal.connect(calls.append)

    signal.emit(5)

    assert calls == [5]
    errors = [r for r in caplog.records if r.name == "multiplayer" and r.exc_info]
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)
    assert "boom_signal" in errors[0].getMessage()
    assert signal.is_connected(broken)
    caplog.clear()


async def test_await_resolves_with_the_emitted_arguments() -> None:
    """`await signal` resolves with the next emission's arguments as a tuple."""
    signal: Signal[int, str] = Signal("test")
    asyncio.get_running_loop().call_soon(signal.emit, 42, "hello")

    result = await signal

    assert result == (42, "hello")


async def test_await_ignores_emissions_made_before_it() -> None:
    """`await signal` waits for the next emission, not an earlier one."""
    signal: Signal[int] = Signal("test")
    signal.emit(1)
    asyncio.get_running_loop().call_soon(signal.emit, 2)

    assert await signal == (2,)


async def test_several_awaiters_all_resolve() -> None:
    """Every task awaiting the signal resolves with the same emission."""
    signal: Signal[int] = Signal("test")

    async def wait() -> tuple[int]:
        return await signal

    tasks = [asyncio.create_task(wait()) for _ in range(3)]
    # The tasks start (and register as waiters) before this callback runs.
    asyncio.get_running_loop().call_soon(signal.emit, 9)

    async with asyncio.timeout(5):  # fail fast if one awaiter is never woken
        results = await asyncio.gather(*tasks)

    assert results == [(9,), (9,), (9,)]


def test_signals_declared_in_a_class_are_per_instance() -> None:
    """A Signal in a class body (GDScript's `signal`) gives each instance its own."""
    from multiplayer import Node

    class Lobby(Node):
        player_joined: Signal[int] = Signal()

    a, b = Lobby(), Lobby()
    seen: list[int] = []
    a.player_joined.connect(seen.append)
    b.player_joined.emit(2)
    a.player_joined.emit(3)
    assert seen == [3]
    assert a.player_joined is a.player_joined
    assert a.player_joined.name == "player_joined"
    assert isinstance(Lobby.player_joined, Signal)


def test_a_deferred_connection_runs_at_the_flush() -> None:
    """deferred=True: emit queues the call; flush_deferred runs it with the arguments."""
    signal: Signal[int] = Signal("test")
    calls: list[int] = []
    signal.connect(calls.append, deferred=True)
    signal.emit(1)
    assert calls == []
    flush_deferred()
    assert calls == [1]


def test_call_deferred_runs_in_order_and_chains_within_a_flush() -> None:
    """Deferred calls run in order; one queued by a deferred call runs in the same flush,
    but a call that keeps deferring itself cannot hang it."""
    calls: list[str] = []
    call_deferred(calls.append, "a")
    call_deferred(lambda: call_deferred(calls.append, "chained"))
    call_deferred(calls.append, "b")
    flush_deferred()
    assert calls == ["a", "b", "chained"]

    rounds: list[int] = []

    def again() -> None:
        rounds.append(1)
        call_deferred(again)

    call_deferred(again)
    flush_deferred()
    assert 1 < len(rounds) < 1000
    flush_deferred()  # (it went on at the next flush)
    assert len(rounds) > 64
    signals_module._thread_queue().clear()


def test_an_error_in_a_deferred_call_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A deferred call's exception is logged with its traceback; the next calls run."""
    def broken() -> None:
        raise RuntimeError("deferred")

    calls: list[int] = []
    call_deferred(broken)
    call_deferred(calls.append, 2)
    flush_deferred()
    assert calls == [2]
    errors = [r for r in caplog.records if r.exc_info]
    assert len(errors) == 1 and "deferred call" in errors[0].getMessage()
    caplog.clear()


class Worker:
    """A thread that runs the functions handed to it, one at a time, while the test
    waits (Events only: the test decides every interleaving)."""

    def __init__(self) -> None:
        self._function: Callable[[], object] | None = None
        self._asked = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="worker")
        self._thread.start()

    def _serve(self) -> None:
        while True:
            self._asked.wait()
            self._asked.clear()
            if self._function is None:
                return
            self._function()
            self._done.set()

    def run(self, function: Callable[[], object]) -> None:
        """Run ``function`` on the worker thread, and return once it has."""
        self._function = function
        self._done.clear()
        self._asked.set()
        assert self._done.wait(10)

    def join(self) -> None:
        self._function = None
        self._asked.set()
        self._thread.join(10)


def test_no_deferred_call_is_lost_when_another_thread_queues_during_a_flush() -> None:
    """A thread without a queue of its own queues on the main thread's; while the main
    thread flushes, it queues a call at every bytecode instruction of the flush (an
    opcode tracer hands it the turn): each call runs, once, in order."""
    queued: list[int] = []
    ran: list[int] = []

    def queue_one() -> None:
        queued.append(len(queued))
        call_deferred(ran.append, queued[-1])

    worker = Worker()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code is not flush_deferred.__code__:
            return None
        frame.f_trace_opcodes = True

        def each_instruction(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode" and len(queued) < 300:  # (then let the flush end)
                worker.run(queue_one)
            return each_instruction

        return each_instruction

    try:
        call_deferred(ran.append, -1)
        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            flush_deferred()
        finally:
            sys.settrace(previous)
    finally:
        worker.join()
    flush_deferred()  # (what came after the flush's last round)
    assert len(queued) == 300
    assert ran == [-1, *queued]


def test_each_thread_runs_only_its_own_deferred_calls() -> None:
    """Two trees on two threads: a frame runs the calls deferred on its own thread, never
    the other's; a tree's node deferred from another thread runs on the tree's."""
    ran: list[tuple[str, str]] = []  # (call, thread that ran it)
    here = threading.current_thread().name

    def note(call: str) -> None:
        ran.append((call, threading.current_thread().name))

    main_tree = SceneTree()
    main_node = Noting(note)
    main_tree.root.add_child(main_node)
    other: dict[str, SceneTree] = {}

    def build() -> None:
        other["tree"] = SceneTree()
        call_deferred(note, "queued on the worker")
        main_node.call_deferred("note", "main's node, from the worker")

    worker = Worker()
    try:
        worker.run(build)
        call_deferred(note, "queued on main")
        main_tree.process(1 / 60)
        assert sorted(ran) == [("main's node, from the worker", here), ("queued on main", here)]
        ran.clear()
        worker.run(lambda: other["tree"].process(1 / 60))
        assert ran == [("queued on the worker", "worker")]
    finally:
        worker.join()


def test_a_worker_thread_hands_calls_to_the_main_thread() -> None:
    """A thread that runs no tree (and never flushed) queues on the main thread's queue,
    as in Godot: the main thread's next flush runs the call."""
    ran: list[str] = []
    worker = Worker()
    try:
        worker.run(lambda: call_deferred(lambda: ran.append(threading.current_thread().name)))
    finally:
        worker.join()
    assert ran == []
    flush_deferred()
    assert ran == [threading.main_thread().name]
