"""Processing: set_process, process_mode and pause, the fixed physics tick."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

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


class Spy(Node):
    """A node that counts every attribute read on it (its own reads included)."""

    reads = 0

    def __getattribute__(self, name: str) -> Any:
        Spy.reads += 1
        return super().__getattribute__(name)


class OnlyProcess(Node):
    def __init__(self) -> None:
        super().__init__("OnlyProcess")
        self.frames = 0

    def _process(self, delta: float) -> None:
        self.frames += 1


def test_frames_do_not_walk_the_tree() -> None:
    """Idle nodes cost a frame nothing: 1,000 of them (in branches and directly under
    the root) are not read at all, by a frame nor by its physics tick, whether nothing
    processes or one node does (which alone runs), even after the tree changed."""
    tree = SceneTree()
    for b in range(10):
        branch = Spy(f"B{b}")
        tree.root.add_child(branch)
        for i in range(90):
            branch.add_child(Spy(f"S{i}"))
    tree.root.add_child(Spy("Last"))
    tree.paused = True  # (a change of pause, too, is seen without a walk)
    tree.paused = False
    Spy.reads = 0
    for _ in range(5):
        tree.process(1 / 60)
    assert Spy.reads == 0
    processing = OnlyProcess()
    tree.root.add_child(processing)  # (and the lists change)
    tree.root.move_child(processing, 3)
    Spy.reads = 0
    for _ in range(5):
        tree.process(1 / 60)
    assert Spy.reads == 0
    assert processing.frames == 5


class Logged(Node):
    """Logs each of its hooks: ``p:name``, ``ip:name`` (internal physics), ``name``,
    ``i:name`` (internal)."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(name)
        self.log = log

    def _process(self, delta: float) -> None:
        self.log.append(self.name)

    def _physics_process(self, delta: float) -> None:
        self.log.append("p:" + self.name)

    def _internal_process(self, delta: float) -> None:
        self.log.append("i:" + self.name)

    def _internal_physics_process(self, delta: float) -> None:
        self.log.append("ip:" + self.name)


def walked(tree: SceneTree, physics: bool) -> list[str]:
    """What a frame runs, by the definition: a walk of the whole tree in tree order,
    each node's mode resolved from its parent's on the way down (the frame's code
    before the process lists, kept as the reference)."""
    log: list[str] = []
    stack = [(tree.root, ProcessMode.PAUSABLE)]
    while stack:
        node, inherited = stack.pop()
        mode = inherited if node.process_mode is ProcessMode.INHERIT else node.process_mode
        runs = mode is ProcessMode.ALWAYS or mode is (
            ProcessMode.WHEN_PAUSED if tree.paused else ProcessMode.PAUSABLE
        )
        assert node.can_process() is runs
        if runs and physics:
            log += ["ip:" + node.name] if node.is_physics_processing_internal() else []
            log += ["p:" + node.name] if node.is_physics_processing() else []
        elif runs:
            log += ["i:" + node.name] if node.is_processing_internal() else []
            log += [node.name] if node.is_processing() else []
        stack.extend((child, mode) for child in reversed(node.get_children()))
    return log


SWITCHES = [
    Node.set_process,
    Node.set_physics_process,
    Node.set_process_internal,
    Node.set_physics_process_internal,
]
OPERATIONS = ["add", "remove", "add back", "move", "reparent", "rename", "switch", "mode", "pause"]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_frames_run_what_a_walk_of_the_tree_would(data: st.DataObject) -> None:
    """Whatever changes between frames (nodes entering, leaving, coming back, moving,
    renamed; processing switched; modes; pause), each frame and tick runs the nodes a
    walk of the whole tree would pick, in tree order, and can_process() agrees."""
    tree = SceneTree()
    log: list[str] = []
    names = iter(f"N{i}" for i in range(1000))
    inside: list[Node] = [tree.root]
    outside: list[Node] = []

    def pick(nodes: list[Node]) -> Node:
        return nodes[data.draw(st.integers(0, len(nodes) - 1))]

    for _ in range(data.draw(st.integers(1, 40))):
        operation = data.draw(st.sampled_from(OPERATIONS))
        others = inside[1:]
        if operation == "add":
            pick(inside).add_child(Logged(next(names), log))
        elif operation == "remove" and others:
            node = pick(others)
            node.get_parent().remove_child(node)  # type: ignore[union-attr]
            outside.append(node)
        elif operation == "add back" and outside:
            node = outside.pop(data.draw(st.integers(0, len(outside) - 1)))
            pick(inside).add_child(node)
        elif operation == "move" and others:
            node = pick(others)
            parent = node.get_parent()
            assert parent is not None
            parent.move_child(node, data.draw(st.integers(0, parent.get_child_count() - 1)))
        elif operation == "reparent" and others:
            node = pick(others)
            targets = [n for n in inside if n is not node and not node.is_ancestor_of(n)]
            node.reparent(pick(targets))
        elif operation == "rename" and others:
            pick(others).name = next(names)
        elif operation == "switch" and others + outside:
            switch = data.draw(st.sampled_from(SWITCHES))
            switch(pick(others + outside), data.draw(st.booleans()))  # (Logged nodes)
        elif operation == "mode":
            pick(inside + outside).process_mode = data.draw(st.sampled_from(ProcessMode))
        elif operation == "pause":
            tree.paused = not tree.paused
        inside = [tree.root, *tree.root.find_children()]
        if data.draw(st.booleans()):
            expected = walked(tree, physics=True) + walked(tree, physics=False)
            log.clear()
            tree.process(1 / 60)  # (one physics tick, then the frame)
            assert log == expected
