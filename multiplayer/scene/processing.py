"""Processing: which nodes get ``_process`` and ``_physics_process`` calls, and when.

As in Godot (``scene/main/node.cpp``: ``Node::set_process``, ``Node::_can_process``):

- A node whose class defines ``_process`` (``_physics_process``) is processed from
  the moment it is ready; ``set_process(False)`` (``set_physics_process(False)``)
  stops it, ``set_process(True)`` starts it again, and ``is_processing()`` tells.
- ``process_mode`` decides what pausing the tree (``tree.paused = True``) does:
  ``PAUSABLE`` nodes stop, ``WHEN_PAUSED`` nodes run only then, ``ALWAYS`` nodes
  always run, ``DISABLED`` nodes never do. The default, ``INHERIT``, takes the
  parent's mode; the root's is ``PAUSABLE``.
- ``_physics_process(delta)`` runs at a fixed rate, ``tree.physics_ticks_per_second``
  (60, Godot's ``Engine.physics_ticks_per_second``), whatever the frame rate:
  :class:`FixedStep` counts the ticks each frame owes.

Pausing stops nodes and timers only: the tree still polls its multiplayer APIs,
so RPCs and replication go on (Godot's ``SceneTree::process`` polls regardless).

A frame does not walk the tree. As Godot keeps a process list and a physics process
list (``SceneTree::ProcessGroup::nodes`` and ``physics_nodes``, which
``Node::set_process`` and the enter and exit notifications update), the tree keeps
:class:`ProcessLists`: the nodes that process, in tree order, sorted again only when
they or their order changed, and filtered by mode again only when a mode, the pause
or the lists changed. An idle tree of any size costs a frame nothing; a tree where
nothing physics-processes costs a physics tick nothing.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

from ..exceptions import InvalidState
from .hierarchy import tree_order
from .parts import NodePart

if TYPE_CHECKING:
    from .node import Node

__all__ = ["FixedStep", "ProcessLists", "ProcessMode", "Processing"]


class ProcessMode(IntEnum):
    """Godot's ``Node.ProcessMode``: how a node behaves when the tree is paused."""

    INHERIT = 0
    PAUSABLE = 1
    WHEN_PAUSED = 2
    ALWAYS = 3
    DISABLED = 4


INHERIT = ProcessMode.INHERIT
PAUSABLE = ProcessMode.PAUSABLE
WHEN_PAUSED = ProcessMode.WHEN_PAUSED
ALWAYS = ProcessMode.ALWAYS
DISABLED = ProcessMode.DISABLED


def _runs(mode: ProcessMode, paused: bool) -> bool:
    """Whether a node of resolved ``mode`` runs (``Node::_can_process``)."""
    if mode is ALWAYS:
        return True
    if mode is DISABLED:
        return False
    return mode is (WHEN_PAUSED if paused else PAUSABLE)


class Processing(NodePart):
    """The processing part of :class:`~multiplayer.Node` (a mixin)."""

    PROCESS_MODE_INHERIT: ClassVar[ProcessMode] = INHERIT
    PROCESS_MODE_PAUSABLE: ClassVar[ProcessMode] = PAUSABLE
    PROCESS_MODE_WHEN_PAUSED: ClassVar[ProcessMode] = WHEN_PAUSED
    PROCESS_MODE_ALWAYS: ClassVar[ProcessMode] = ALWAYS
    PROCESS_MODE_DISABLED: ClassVar[ProcessMode] = DISABLED

    # Class-level defaults: an instance gets its own value once one changes.
    _process_mode: ProcessMode = INHERIT
    _processing = False
    _physics_processing = False
    _processing_internal = False
    _physics_processing_internal = False

    def _process(self, delta: float) -> Awaitable[None] | None:
        """Called every frame while processing, with the seconds since the last one."""
        return None

    def _physics_process(self, delta: float) -> Awaitable[None] | None:
        """Called at each physics tick while physics processing, with the tick's
        length (``1 / tree.physics_ticks_per_second``)."""
        return None

    def _internal_process(self, delta: float) -> None:
        """The library's own per-frame work (Godot's ``NOTIFICATION_INTERNAL_PROCESS``),
        kept apart from ``_process`` so that subclasses may override that freely."""

    def _internal_physics_process(self, delta: float) -> None:
        """The library's own per-tick work (``NOTIFICATION_INTERNAL_PHYSICS_PROCESS``)."""

    @property
    def process_mode(self) -> ProcessMode:
        """What pausing the tree does to this node (default ``INHERIT``)."""
        return self._process_mode

    @process_mode.setter
    def process_mode(self, mode: ProcessMode | int) -> None:
        self._process_mode = ProcessMode(mode)
        if self._tree is not None:
            self._tree._process_lists.modes_changed()

    def set_process(self, enable: bool) -> None:
        """Start or stop the ``_process`` calls (a node defining ``_process`` starts
        when it is ready, before its ``_ready`` runs)."""
        self._processing = bool(enable)
        self._update_process_lists()

    def is_processing(self) -> bool:
        return self._processing

    def set_physics_process(self, enable: bool) -> None:
        """Start or stop the ``_physics_process`` calls."""
        self._physics_processing = bool(enable)
        self._update_process_lists()

    def is_physics_processing(self) -> bool:
        return self._physics_processing

    def set_process_internal(self, enable: bool) -> None:
        self._processing_internal = bool(enable)
        self._update_process_lists()

    def is_processing_internal(self) -> bool:
        return self._processing_internal

    def set_physics_process_internal(self, enable: bool) -> None:
        self._physics_processing_internal = bool(enable)
        self._update_process_lists()

    def is_physics_processing_internal(self) -> bool:
        return self._physics_processing_internal

    def can_process(self) -> bool:
        """Whether this node runs now, given its mode and the tree's pause
        (False outside a tree, as in Godot)."""
        tree = self._tree
        if tree is None:
            return False
        return _runs(_resolved_mode(self._node(), {}), tree.paused)

    def get_process_delta_time(self) -> float:
        """The ``delta`` of the current (or last) frame; 0 outside a tree."""
        return self._tree._process_delta if self._tree is not None else 0.0

    def get_physics_process_delta_time(self) -> float:
        """The length of a physics tick; 0 outside a tree."""
        return self._tree._physics.step if self._tree is not None else 0.0

    def _start_processing(self) -> None:
        """At ready: process if the class defines the hooks (Godot's READY does so
        before ``_ready`` runs, so a ``set_process(False)`` there wins)."""
        cls = type(self)
        if cls._process is not Processing._process:
            self._processing = True
        if cls._physics_process is not Processing._physics_process:
            self._physics_processing = True
        self._update_process_lists()

    def _processes(self) -> bool:
        """Whether this node belongs on a process list of its tree (once inside one)."""
        return (
            self._processing
            or self._physics_processing
            or self._processing_internal
            or self._physics_processing_internal
        )

    def _update_process_lists(self) -> None:
        if self._tree is not None:
            self._tree._process_lists.update(self._node())


class ProcessLists:
    """The nodes of one tree that process, and those that physics-process (the tree
    owns one; its nodes keep it up to date as they enter, leave and move, and as
    their processing or mode changes).

    ``nodes(physics, paused)`` gives those that run now, in tree order. It is cached:
    the members are sorted when they or their order changed, and filtered by their
    resolved ``process_mode`` when that, the pause or the members changed. A list it
    returned is never changed afterwards, so a frame may iterate one while its nodes
    come and go.
    """

    def __init__(self) -> None:
        # Each pair: [0] the process list, [1] the physics process list.
        self._members: tuple[dict[Node, None], dict[Node, None]] = ({}, {})  # (ordered sets)
        self._sorted: list[list[Node] | None] = [None, None]  # the members in tree order
        self._running: list[tuple[int, bool, list[Node]] | None] = [None, None]
        self._state = 0  # bumped by every change that may change what runs

    def update(self, node: Node) -> None:
        """``node``, inside the tree, entered it or changed its processing."""
        self._set(0, node, node._processing or node._processing_internal)
        self._set(1, node, node._physics_processing or node._physics_processing_internal)

    def remove(self, node: Node) -> None:
        """``node`` leaves the tree."""
        self._set(0, node, False)
        self._set(1, node, False)

    def reordered(self) -> None:
        """Children were moved: the members' tree order may have changed."""
        if self._members[0] or self._members[1]:
            self._sorted = [None, None]
            self._state += 1

    def modes_changed(self) -> None:
        """A ``process_mode`` in the tree changed: which members run may have too."""
        self._state += 1

    def nodes(self, physics: bool, paused: bool) -> list[Node]:
        """The members of the (physics) process list that run now, in tree order."""
        kind = int(physics)
        members = self._members[kind]
        if not members:
            return []
        cached = self._running[kind]
        if cached is not None and cached[0] == self._state and cached[1] == paused:
            return cached[2]
        order = self._sorted[kind]
        if order is None:
            order = self._sorted[kind] = sorted(members, key=tree_order)
        modes: dict[Node, ProcessMode] = {}
        running = [node for node in order if _runs(_resolved_mode(node, modes), paused)]
        self._running[kind] = (self._state, paused, running)
        return running

    def _set(self, kind: int, node: Node, member: bool) -> None:
        members = self._members[kind]
        if member == (node in members):
            return
        if member:
            members[node] = None
        else:
            del members[node]
        self._sorted[kind] = None
        self._state += 1


def _resolved_mode(node: Node, modes: dict[Node, ProcessMode]) -> ProcessMode:
    """What ``INHERIT`` resolves to for ``node``: the nearest explicit mode up the
    tree, else the root's ``PAUSABLE``. ``modes`` keeps the nodes climbed through,
    so one filtering pass climbs each ancestor once."""
    climbed: list[Node] = []
    current: Node | None = node
    mode = PAUSABLE
    while current is not None:
        known = modes.get(current)
        if known is not None:
            mode = known
            break
        climbed.append(current)
        if current._process_mode is not INHERIT:
            mode = current._process_mode
            break
        current = current._parent
    for seen in climbed:
        modes[seen] = mode
    return mode


class FixedStep:
    """Counts the physics ticks a frame owes, with an accumulator (Godot's
    ``MainTimerSync::advance``).

    ``ticks_per_second`` sets the rate; at most ``max_steps_per_frame`` (Godot's
    ``Engine.max_physics_steps_per_frame``, 8) run in one frame, the time past that
    is dropped (the game slows down rather than spiralling). ``jitter_fix`` (Godot's
    ``Engine.physics_jitter_fix``, 0.5) lets a tick run up to that fraction of a
    tick early, so that frames whose lengths wobble around the tick still get one
    tick each; 0 gives the plain accumulator.
    """

    def __init__(self) -> None:
        self.ticks_per_second = 60
        self.max_steps_per_frame = 8
        self.jitter_fix = 0.5
        self._time = 0.0

    @property
    def step(self) -> float:
        """The length of a tick, in seconds."""
        return 1.0 / self.ticks_per_second

    def advance(self, delta: float) -> int:
        """Add ``delta`` seconds; the ticks to run now."""
        if self.ticks_per_second <= 0:
            raise InvalidState("physics_ticks_per_second must be positive")
        step = self.step
        self._time += delta
        owed = max(0, math.floor(self._time / step + self.jitter_fix + 1e-9))
        self._time -= owed * step
        return min(owed, self.max_steps_per_frame)
