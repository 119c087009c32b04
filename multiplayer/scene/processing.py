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
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

from ..exceptions import InvalidState
from .parts import NodePart

if TYPE_CHECKING:
    from .node import Node

__all__ = ["FixedStep", "ProcessMode", "Processing", "frame_nodes"]


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

    def set_process(self, enable: bool) -> None:
        """Start or stop the ``_process`` calls (a node defining ``_process`` starts
        when it is ready, before its ``_ready`` runs)."""
        self._processing = bool(enable)

    def is_processing(self) -> bool:
        return self._processing

    def set_physics_process(self, enable: bool) -> None:
        """Start or stop the ``_physics_process`` calls."""
        self._physics_processing = bool(enable)

    def is_physics_processing(self) -> bool:
        return self._physics_processing

    def set_process_internal(self, enable: bool) -> None:
        self._processing_internal = bool(enable)

    def is_processing_internal(self) -> bool:
        return self._processing_internal

    def set_physics_process_internal(self, enable: bool) -> None:
        self._physics_processing_internal = bool(enable)

    def is_physics_processing_internal(self) -> bool:
        return self._physics_processing_internal

    def can_process(self) -> bool:
        """Whether this node runs now, given its mode and the tree's pause
        (False outside a tree, as in Godot)."""
        tree = self._tree
        if tree is None:
            return False
        node: Node | None = self._node()
        while node is not None and node._process_mode is INHERIT:
            node = node._parent
        return _runs(node._process_mode if node is not None else PAUSABLE, tree.paused)

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


def frame_nodes(root: Node, paused: bool, physics: bool) -> list[Node]:
    """The nodes under ``root`` (included) to process this frame or tick, in tree
    order: those processing (internally or not) whose resolved mode runs now.

    One walk resolves ``INHERIT`` from the parent as it goes down, so a frame costs
    one pass over the tree however deep it is.
    """
    found: list[Node] = []
    stack: list[tuple[Node, ProcessMode]] = [(root, PAUSABLE)]
    while stack:
        node, inherited = stack.pop()
        mode = inherited if node._process_mode is INHERIT else node._process_mode
        if physics:
            wanted = node._physics_processing or node._physics_processing_internal
        else:
            wanted = node._processing or node._processing_internal
        if wanted and _runs(mode, paused):
            found.append(node)
        if node._children:
            stack.extend((child, mode) for child in reversed(node._children.values()))
    return found


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
