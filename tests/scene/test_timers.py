"""Timers: tree.create_timer and the Timer node, counted in frame time."""

from __future__ import annotations

import asyncio

import pytest

from multiplayer import InvalidState, ProcessMode, SceneTree, Timer, TimerProcessCallback


def test_create_timer_fires_once_after_its_time() -> None:
    """A SceneTreeTimer fires once, at the frame where its time runs out."""
    tree, fired = SceneTree(), []
    timer = tree.create_timer(1.0)
    timer.timeout.connect(lambda: fired.append(1))
    tree.process(0.5)
    assert fired == [] and timer.time_left == 0.5
    tree.process(0.5)
    assert fired == [1]
    tree.process(5.0)
    assert fired == [1]
    assert "left" in repr(timer)


def test_create_timer_and_pause() -> None:
    """It counts during pause by default; with process_always=False it waits."""
    tree, fired = SceneTree(), []
    always = tree.create_timer(0.1)
    pausable = tree.create_timer(0.1, process_always=False)
    always.timeout.connect(lambda: fired.append("always"))
    pausable.timeout.connect(lambda: fired.append("pausable"))
    tree.paused = True
    tree.process(0.2)
    assert fired == ["always"]
    tree.paused = False
    tree.process(0.2)
    assert fired == ["always", "pausable"]


def test_create_timer_in_physics_counts_ticks() -> None:
    """process_in_physics counts physics ticks (1/60 s each)."""
    tree, fired = SceneTree(), []
    timer = tree.create_timer(0.04, process_in_physics=True)  # (3 ticks)
    timer.timeout.connect(lambda: fired.append(1))
    tree.process(2 / 60)
    assert fired == []
    tree.process(1 / 60)
    assert fired == [1]


async def test_await_a_timer_in_run() -> None:
    """`await tree.create_timer(t).timeout` resumes once run() has played t seconds."""
    tree = SceneTree()
    ended: list[float] = []

    async def wait() -> None:
        await tree.create_timer(0.05).timeout
        ended.append(tree._process_delta)
        tree.quit()

    task = asyncio.ensure_future(wait())
    await asyncio.wait_for(tree.run(fps=200), 5)
    await task
    assert ended


def test_timer_node_repeats_and_one_shot_stops() -> None:
    """A Timer repeats every wait_time; one_shot fires once and stops."""
    tree = SceneTree()
    repeat, once = Timer("R", wait_time=0.5), Timer("O", wait_time=0.5, one_shot=True)
    counts = {"R": 0, "O": 0}
    repeat.timeout.connect(lambda: counts.__setitem__("R", counts["R"] + 1))
    once.timeout.connect(lambda: counts.__setitem__("O", counts["O"] + 1))
    tree.root.add_child(repeat)
    tree.root.add_child(once)
    assert repeat.is_stopped()
    repeat.start()
    once.start()
    for _ in range(4):
        tree.process(0.25)
    assert counts == {"R": 2, "O": 1}
    assert once.is_stopped() and once.time_left == 0.0
    assert not repeat.is_stopped()


def test_timer_autostart_stop_and_start_with_a_time() -> None:
    """autostart starts it when ready (then turns off); stop() stops; start(t) sets wait_time."""
    tree, fired = SceneTree(), []
    timer = Timer(wait_time=0.2, autostart=True)
    timer.timeout.connect(lambda: fired.append(1))
    tree.root.add_child(timer)
    assert not timer.autostart and not timer.is_stopped()
    tree.process(0.2)
    assert fired == [1]
    timer.stop()
    tree.process(1.0)
    assert fired == [1]
    timer.start(0.4)
    assert timer.wait_time == 0.4 and timer.time_left == 0.4
    tree.process(0.3)
    assert timer.time_left == pytest.approx(0.1)


def test_timer_paused_and_tree_pause() -> None:
    """paused stops one timer; the tree's pause stops pausable timers only."""
    tree, fired = SceneTree(), []
    timer = Timer(wait_time=0.1)
    timer.timeout.connect(lambda: fired.append(1))
    tree.root.add_child(timer)
    timer.start()
    timer.paused = True
    tree.process(0.2)
    assert fired == [] and timer.paused
    timer.paused = False
    tree.paused = True
    tree.process(0.2)
    assert fired == []
    timer.process_mode = ProcessMode.ALWAYS
    tree.process(0.2)
    assert fired == [1]


def test_timer_in_physics() -> None:
    """process_callback PHYSICS counts ticks."""
    tree, fired = SceneTree(), []
    timer = Timer(wait_time=2 / 60)
    timer.process_callback = Timer.TIMER_PROCESS_PHYSICS
    assert timer.process_callback is TimerProcessCallback.PHYSICS
    timer.timeout.connect(lambda: fired.append(1))
    tree.root.add_child(timer)
    timer.start()
    tree.process(1 / 60)
    assert fired == []
    tree.process(1 / 60)
    assert fired == [1]


def test_timer_refuses_bad_use() -> None:
    """A zero wait_time, and start() outside a tree, raise."""
    with pytest.raises(ValueError):
        Timer(wait_time=0)
    with pytest.raises(InvalidState):
        Timer().start()
