"""Processing: set_process, process_mode and pause, the fixed physics tick."""

from __future__ import annotations

import pytest

from multiplayer import Node, ProcessMode, SceneMultiplayer, SceneTree
from multiplayer.scene.processing import FixedStep


class Counter(Node):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.frames: list[float] = []
        self.ticks: list[float] = []

    def _process(self, delta: float) -> None:
        self.frames.append(delta)

    def _physics_process(self, delta: float) -> None:
        self.ticks.append(delta)


def test_a_node_defining_process_processes_once_ready() -> None:
    """Defining _process turns processing on at ready; a plain Node is not processing."""
    tree = SceneTree()
    counter, plain = Counter("C"), Node("N")
    assert not counter.is_processing()
    tree.root.add_child(counter)
    tree.root.add_child(plain)
    assert counter.is_processing() and counter.is_physics_processing()
    assert not plain.is_processing() and not plain.is_physics_processing()
    tree.process(0.5)
    assert counter.frames == [0.5]


def test_set_process_false_stops_process_calls() -> None:
    """set_process(False) stops _process; set_physics_process(False) stops ticks."""
    tree = SceneTree()
    counter = Counter("C")
    tree.root.add_child(counter)
    counter.set_process(False)
    counter.set_physics_process(False)
    tree.process(1 / 60)
    assert counter.frames == [] and counter.ticks == []
    counter.set_process(True)
    tree.process(1 / 60)
    assert counter.frames == [1 / 60]


def test_set_process_false_in_ready_wins() -> None:
    """Processing starts before _ready runs, so _ready may turn it off (Godot)."""

    class Lazy(Counter):
        def _ready(self) -> None:
            self.set_process(False)

    tree = SceneTree()
    lazy = Lazy("L")
    tree.root.add_child(lazy)
    tree.process(0.1)
    assert lazy.frames == []
    assert not lazy.is_processing()


@pytest.mark.parametrize(
    ("mode", "runs_unpaused", "runs_paused"),
    [
        (ProcessMode.INHERIT, True, False),  # under the root: PAUSABLE
        (ProcessMode.PAUSABLE, True, False),
        (ProcessMode.WHEN_PAUSED, False, True),
        (ProcessMode.ALWAYS, True, True),
        (ProcessMode.DISABLED, False, False),
    ],
)
def test_process_mode_and_pause(mode: ProcessMode, runs_unpaused: bool, runs_paused: bool) -> None:
    """Each process mode runs, or not, with the tree paused and unpaused."""
    tree = SceneTree()
    counter = Counter("C")
    counter.process_mode = mode
    tree.root.add_child(counter)
    tree.process(0.1)
    assert bool(counter.frames) is runs_unpaused
    assert counter.can_process() is runs_unpaused
    counter.frames.clear()
    tree.paused = True
    tree.process(0.1)
    assert bool(counter.frames) is runs_paused
    assert counter.can_process() is runs_paused


def test_inherit_takes_the_nearest_explicit_mode() -> None:
    """An INHERIT child of an ALWAYS parent runs while paused; of a DISABLED one, never."""
    tree = SceneTree()
    always, disabled = Node("Always"), Node("Disabled")
    always.process_mode = Node.PROCESS_MODE_ALWAYS
    disabled.process_mode = ProcessMode.DISABLED
    a, d = Counter("A"), Counter("D")
    always.add_child(a)
    disabled.add_child(d)
    tree.root.add_child(always)
    tree.root.add_child(disabled)
    tree.paused = True
    tree.process(0.1)
    assert a.frames == [0.1] and d.frames == []
    assert a.can_process() and not d.can_process()
    assert not Counter("Out").can_process()  # outside a tree


def test_multiplayer_is_polled_while_paused() -> None:
    """Pausing stops nodes, not the network: the APIs are still polled."""
    polls: list[int] = []

    class Polled(SceneMultiplayer):
        def poll(self) -> None:
            polls.append(1)
            super().poll()

    tree = SceneTree()
    tree.set_multiplayer(Polled())
    tree.paused = True
    tree.process(0.1)
    assert polls == [1]


def test_physics_runs_at_a_fixed_tick() -> None:
    """60 ticks a second whatever the frame rate: 1/30 s frames get two ticks each."""
    tree = SceneTree()
    counter = Counter("C")
    tree.root.add_child(counter)
    for _ in range(30):
        tree.process(1 / 30)
    assert len(counter.ticks) == 60
    assert set(counter.ticks) == {1 / 60}
    assert counter.get_physics_process_delta_time() == 1 / 60
    assert counter.get_process_delta_time() == 1 / 30
    assert Node().get_process_delta_time() == 0.0 == Node().get_physics_process_delta_time()


def test_physics_ticks_run_before_process() -> None:
    """A frame's ticks come before its _process (Godot's main iteration)."""
    tree, log = SceneTree(), []

    class Both(Node):
        def _process(self, delta: float) -> None:
            log.append("process")

        def _physics_process(self, delta: float) -> None:
            log.append("physics")

    tree.root.add_child(Both())
    tree.process(1 / 30)
    assert log == ["physics", "physics", "process"]


def test_fixed_step_accumulates_and_caps() -> None:
    """Without jitter fix, short frames add up to a tick; a long one is capped."""
    step = FixedStep()
    step.jitter_fix = 0.0
    assert [step.advance(0.01) for _ in range(5)] == [0, 1, 0, 1, 1]
    assert step.advance(1.0) == 8  # the rest of the second is dropped
    assert step.advance(0.0) == 0


def test_fixed_step_jitter_fix_absorbs_wobbling_frames() -> None:
    """With the default jitter fix, frames wobbling around a tick get one tick each."""
    step = FixedStep()
    wobbling = [1 / 60 + (0.002 if i % 2 else -0.002) for i in range(60)]
    assert [step.advance(d) for d in wobbling] == [1] * 60
    plain = FixedStep()
    plain.jitter_fix = 0.0
    assert 0 in [plain.advance(d) for d in wobbling]  # (the plain accumulator skips)


def test_process_mode_accepts_ints_and_rejects_others() -> None:
    """process_mode takes Godot's ints; an unknown one raises ValueError."""
    node = Node()
    node.process_mode = 3
    assert node.process_mode is ProcessMode.ALWAYS
    with pytest.raises(ValueError):
        node.process_mode = 9
