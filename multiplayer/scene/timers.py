"""Timers: ``tree.create_timer(seconds)`` for a one-off wait, and the ``Timer`` node.

Both count frame time, not wall-clock time: they advance with the ``delta`` of
``tree.process(delta)`` (which ``await tree.run()`` calls), so they work in a plain
game loop as in ``run()``, and a test drives them with explicit deltas. Their
``timeout`` signal is awaitable in a coroutine (``await
tree.create_timer(1.0).timeout``) and connectable anywhere.

Semantics follow Godot: ``scene/main/scene_tree.cpp`` (``SceneTree::process_timers``,
``create_timer``) and ``scene/main/timer.cpp``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

from ..exceptions import InvalidState
from ..signals import Signal
from .node import Node

__all__ = ["SceneTreeTimer", "Timer", "TimerList", "TimerProcessCallback"]


class SceneTreeTimer:
    """A one-shot timer of a tree (Godot's SceneTreeTimer); make it with
    ``tree.create_timer``.

    Signals:
        timeout: once, when ``time_left`` reaches 0.
    """

    def __init__(self, time_sec: float, process_always: bool, process_in_physics: bool) -> None:
        self.time_left = float(time_sec)
        """Seconds until ``timeout``; may be set to shorten or extend the wait."""
        self.process_always = process_always
        self.process_in_physics = process_in_physics
        self.timeout: Signal[()] = Signal("timeout")

    def __repr__(self) -> str:
        return f"<SceneTreeTimer {self.time_left:.3f} s left>"


class TimerList:
    """The pending :class:`SceneTreeTimer` of one tree."""

    def __init__(self) -> None:
        self._timers: list[SceneTreeTimer] = []

    def add(self, timer: SceneTreeTimer) -> None:
        self._timers.append(timer)

    def advance(self, delta: float, physics: bool, paused: bool) -> None:
        """Count ``delta`` down on the timers of this kind (idle or physics) that run
        now; fire and drop those that reach 0. A timer made by a ``timeout`` callback
        starts counting at the next frame (Godot stops at the list's last element)."""
        for timer in list(self._timers):
            if (paused and not timer.process_always) or timer.process_in_physics != physics:
                continue
            timer.time_left -= delta
            if timer.time_left <= 0:
                self._timers.remove(timer)
                timer.timeout.emit()


class TimerProcessCallback(IntEnum):
    """Godot's ``Timer.TimerProcessCallback``: which frames a Timer counts."""

    PHYSICS = 0
    IDLE = 1


class Timer(Node):
    """A node that emits ``timeout`` every ``wait_time`` seconds (once if
    ``one_shot``), started by ``start()`` or, with ``autostart``, when it is ready.

    It is a node like any other: it stops while the tree is paused unless its
    ``process_mode`` says otherwise, and ``paused = True`` stops it alone.

    Signals:
        timeout: each time the time runs out.
    """

    TIMER_PROCESS_PHYSICS: ClassVar[TimerProcessCallback] = TimerProcessCallback.PHYSICS
    TIMER_PROCESS_IDLE: ClassVar[TimerProcessCallback] = TimerProcessCallback.IDLE

    def __init__(
        self,
        name: str | None = None,
        *,
        wait_time: float = 1.0,
        one_shot: bool = False,
        autostart: bool = False,
    ) -> None:
        super().__init__(name)
        self._wait_time = 1.0
        self.wait_time = wait_time
        self.one_shot = one_shot
        self.autostart = autostart
        """Start when ready (then it turns False, as in Godot)."""
        self._time_left = -1.0
        self._running = False  # Godot's ``processing``: started and not stopped
        self._paused = False
        self._callback = TimerProcessCallback.IDLE
        self.timeout: Signal[()] = Signal("timeout")

    @property
    def wait_time(self) -> float:
        """The period, in seconds (default 1)."""
        return self._wait_time

    @wait_time.setter
    def wait_time(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("wait_time must be greater than zero")
        self._wait_time = float(seconds)

    @property
    def time_left(self) -> float:
        """Seconds until the next ``timeout``; 0 when stopped."""
        return max(self._time_left, 0.0)

    @property
    def paused(self) -> bool:
        """A paused timer keeps its ``time_left`` and does not count."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        self._paused = bool(paused)
        self._count(self._running)

    @property
    def process_callback(self) -> TimerProcessCallback:
        """Count idle frames (default) or physics ticks."""
        return self._callback

    @process_callback.setter
    def process_callback(self, callback: TimerProcessCallback | int) -> None:
        self._callback = TimerProcessCallback(callback)
        self._count(self._running)

    def start(self, time_sec: float = -1.0) -> None:
        """Start (or restart) counting ``wait_time``, or ``time_sec`` if positive
        (which becomes the ``wait_time``).

        Raises:
            InvalidState: The timer is not inside a tree (Godot refuses it too).
        """
        if self._tree is None:
            raise InvalidState("a Timer must be in the tree to start: add it, or set autostart")
        if time_sec > 0:
            self.wait_time = time_sec
        self._time_left = self._wait_time
        self._count(True)

    def stop(self) -> None:
        """Stop counting; ``autostart`` turns False."""
        self._time_left = -1.0
        self._count(False)
        self.autostart = False

    def is_stopped(self) -> bool:
        return self._time_left <= 0

    def _notify_ready(self) -> None:
        super()._notify_ready()
        if self.autostart:
            self.start()
            self.autostart = False

    def _count(self, running: bool) -> None:
        self._running = running
        counting = running and not self._paused
        physics = self._callback is TimerProcessCallback.PHYSICS
        self.set_process_internal(counting and not physics)
        self.set_physics_process_internal(counting and physics)

    def _internal_process(self, delta: float) -> None:
        self._tick(delta)

    def _internal_physics_process(self, delta: float) -> None:
        self._tick(delta)

    def _tick(self, delta: float) -> None:
        self._time_left -= delta
        # Godot's Timer waits for < 0 (its SceneTreeTimer, <= 0): <= here, so that
        # explicit deltas adding up to wait_time fire, as a test would expect.
        if self._time_left <= 0:
            if self.one_shot:
                self.stop()
            else:
                self._time_left += self._wait_time
            self.timeout.emit()
