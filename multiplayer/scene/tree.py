"""``SceneTree``: the tree of nodes, the frame loop, and the multiplayer API of
each branch. The tree drives its APIs (``poll()`` every frame) but knows no network:
it asks :class:`~multiplayer.scene.api.MultiplayerAPI` for the default one.

A frame (``process(delta)``) runs in Godot's order (``SceneTree::physics_process``
and ``SceneTree::process``): first the physics ticks the frame owes (each:
``physics_frame``, ``_physics_process``, deferred calls, physics timers), then the
multiplayer polls, ``process_frame``, deferred calls, ``_process``, deferred calls,
timers, deferred calls, and last the nodes queued with ``queue_free``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sized
from typing import TYPE_CHECKING, Any

from ..signals import Signal, _thread_queue, flush_deferred
from . import os_signals
from .api import MultiplayerAPI
from .groups import GroupCallFlags, GroupRegistry
from .node import Node
from .processing import FixedStep, ProcessLists
from .timers import SceneTreeTimer, TimerList

if TYPE_CHECKING:
    from ..scene_multiplayer.scene_multiplayer import SceneMultiplayer
    from ..transport.peer import MultiplayerPeer

__all__ = ["SceneTree"]

logger = logging.getLogger("multiplayer.scene")

PEER_CLOSE_TIMEOUT = 2.0
"""How long ``run()``, ended by a signal, waits for its peers' closing handshakes."""


class SceneTree:
    """A tree of nodes, the frame loop, and the multiplayer APIs of its branches.

    Signals:
        node_added(node), node_removed(node).
        process_frame: every frame, after polling, before ``_process``.
        physics_frame: every physics tick, before ``_physics_process``.
    """

    def __init__(self) -> None:
        self.node_added: Signal[Node] = Signal("node_added")
        self.node_removed: Signal[Node] = Signal("node_removed")
        self.process_frame: Signal[()] = Signal("process_frame")
        self.physics_frame: Signal[()] = Signal("physics_frame")
        self.multiplayer_poll = True
        self.paused = False
        """Pause the nodes that ``process_mode`` makes pausable (and the timers that
        do not ``process_always``); multiplayer polling goes on."""
        self._physics = FixedStep()
        self._process_delta = 0.0
        self._groups = GroupRegistry()
        self._process_lists = ProcessLists()
        self._timers = TimerList()
        self._stop_signal: int | None = None  # the signal that ended run(), if one did
        self._node_count = 0
        self._arrival_error: BaseException | None = None  # from _arrived, raised by run()
        # Bumped whenever a node enters, leaves or is renamed: what caches of node
        # lookups check to know they still hold.
        self._version = 0
        self._free_queue: list[Node] = []
        # The deferred calls of the thread that runs this tree (see multiplayer.signals):
        # where Node.call_deferred queues, from any thread.
        self._deferred_queue = _thread_queue(own=True)
        self._running = False
        self.root = Node("root")
        # The tree knows no network: the multiplayer package registers its default.
        self._multiplayer: SceneMultiplayer = MultiplayerAPI.create_default_interface()  # type: ignore[assignment]
        self._multiplayer._bind(self, "/root")
        self._branches: list[tuple[str, SceneMultiplayer]] = []
        self.root._propagate_enter(self)
        self.root._propagate_ready()

    def get_root(self) -> Node:
        """The root node, ``/root`` (also ``tree.root``)."""
        return self.root

    def get_node_count(self) -> int:
        return self._node_count

    # The physics rate (Godot keeps these on ``Engine``).

    @property
    def physics_ticks_per_second(self) -> int:
        """How often ``_physics_process`` runs (default 60)."""
        return self._physics.ticks_per_second

    @physics_ticks_per_second.setter
    def physics_ticks_per_second(self, ticks: int) -> None:
        if ticks <= 0:
            raise ValueError("physics_ticks_per_second must be positive")
        self._physics.ticks_per_second = int(ticks)

    @property
    def max_physics_steps_per_frame(self) -> int:
        """At most so many physics ticks in one frame (default 8); the rest is dropped."""
        return self._physics.max_steps_per_frame

    @max_physics_steps_per_frame.setter
    def max_physics_steps_per_frame(self, steps: int) -> None:
        self._physics.max_steps_per_frame = max(1, int(steps))

    @property
    def physics_jitter_fix(self) -> float:
        """How early, in ticks, a tick may run to smooth frame jitter (default 0.5)."""
        return self._physics.jitter_fix

    @physics_jitter_fix.setter
    def physics_jitter_fix(self, fraction: float) -> None:
        self._physics.jitter_fix = min(max(float(fraction), 0.0), 1.0)

    # Groups.

    def get_nodes_in_group(self, group: str) -> list[Node]:
        """The nodes of ``group`` inside this tree, in tree order."""
        return self._groups.nodes(group, self._version)

    def get_first_node_in_group(self, group: str) -> Node | None:
        nodes = self._groups.nodes(group, self._version)
        return nodes[0] if nodes else None

    def get_node_count_in_group(self, group: str) -> int:
        return len(self._groups.nodes(group, self._version))

    def has_group(self, group: str) -> bool:
        """Whether a node of this tree is in ``group``."""
        return self._groups.has(group)

    def call_group(self, group: str, method: str, *args: Any) -> None:
        """Call ``method(*args)`` now on every node of ``group`` that has it, in tree
        order; an exception is logged and the others still run."""
        self._groups.call(GroupCallFlags.DEFAULT, group, method, args, self._version)

    def call_group_flags(self, flags: int, group: str, method: str, *args: Any) -> None:
        """``call_group`` with :class:`GroupCallFlags` (``REVERSE``, ``DEFERRED``, ``UNIQUE``)."""
        self._groups.call(flags, group, method, args, self._version)

    # Timers.

    def create_timer(
        self, time_sec: float, process_always: bool = True, process_in_physics: bool = False
    ) -> SceneTreeTimer:
        """A one-shot timer whose ``timeout`` fires after ``time_sec`` seconds of frames
        (``await tree.create_timer(1.0).timeout``). It counts during pause unless
        ``process_always`` is False; with ``process_in_physics``, at physics ticks."""
        timer = SceneTreeTimer(time_sec, process_always, process_in_physics)
        self._timers.add(timer)
        return timer

    def get_multiplayer(self, for_path: str = "") -> SceneMultiplayer:
        """The API for nodes under ``for_path``: the first branch registered whose root
        is a prefix of it (Godot: insertion order, not the longest match), else the
        tree's default."""
        if for_path and self._branches:
            for root_path, api in self._branches:
                if for_path == root_path or for_path.startswith(root_path + "/"):
                    return api
        return self._multiplayer

    def set_multiplayer(self, api: SceneMultiplayer | None, root_path: str = "") -> None:
        """Use ``api`` for the branch at ``root_path`` (or as the default, if empty).

        ``None`` removes a branch's API. Several APIs let a server and clients live in
        one process, each in its own branch (Godot's combo demo). The API replaced is
        let go of (Godot's ``object_configuration_remove`` on it): it no longer
        watches this tree, whose signals then hold nothing of it or of its peer.

        Raises:
            ValueError: ``root_path`` is not absolute.
        """
        if not root_path:
            if api is None:
                raise ValueError("the default multiplayer API cannot be None")
            replaced = [self._multiplayer]
            self._multiplayer = api
            api._bind(self, "/root")
        else:
            if not root_path.startswith("/"):
                raise ValueError(f"root_path must be absolute, not {root_path!r}")
            root_path = root_path.rstrip("/")
            replaced = [a for p, a in self._branches if p == root_path]
            self._branches = [(p, a) for p, a in self._branches if p != root_path]
            if api is not None:
                api._bind(self, root_path)
                self._branches.append((root_path, api))
            self._multiplayer._bind(self, self._multiplayer.root_path)
        for old in replaced:
            if all(old is not kept for kept in self._apis()):  # (unless it serves another path)
                old._bind(None, "")

    def _apis(self) -> list[SceneMultiplayer]:
        if not self._branches:
            return [self._multiplayer]
        return [self._multiplayer, *(api for _, api in self._branches)]

    def process(self, delta: float) -> None:
        """Run one frame of ``delta`` seconds: the physics ticks it owes, the polls of
        the multiplayer APIs, ``_process``, timers, deferred calls, and ``queue_free``
        (the order is in the module docstring)."""
        self._deferred_queue = _thread_queue(own=True)  # (the thread that runs frames)
        peers = self._hold_sending()
        try:
            for _ in range(self._physics.advance(delta)):
                self._physics_tick()
            self._process_delta = delta
            if self.multiplayer_poll:
                self._poll_apis()
            self.process_frame.emit()
            _flush_deferred(self._deferred_queue)
            self._process_nodes(delta, physics=False)
            _flush_deferred(self._deferred_queue)
            self._timers.advance(delta, physics=False, paused=self.paused)
            _flush_deferred(self._deferred_queue)
            self._flush_free_queue()
        finally:
            self._send_held(peers)

    def _physics_tick(self) -> None:
        step = self._physics.step
        self.physics_frame.emit()
        _flush_deferred(self._deferred_queue)
        self._process_nodes(step, physics=True)
        _flush_deferred(self._deferred_queue)
        self._timers.advance(step, physics=True, paused=self.paused)
        _flush_deferred(self._deferred_queue)
        self._flush_free_queue()

    def _process_nodes(self, delta: float, physics: bool) -> None:
        """The internal then the user's process hooks of the nodes that run now (a
        node removed, or stopped, by an earlier one this frame is skipped)."""
        for node in self._process_lists.nodes(physics, self.paused):
            if node._tree is not self:
                continue
            if physics:
                if node._physics_processing_internal:
                    node._internal_physics_process(delta)
                if node._physics_processing:
                    node._call_hook("_physics_process", node._physics_process(delta))
            else:
                if node._processing_internal:
                    node._internal_process(delta)
                if node._processing:
                    node._call_hook("_process", node._process(delta))

    def _poll_network(self) -> None:
        """Between frames (``run(event_driven=True)``): take in what arrived and run
        its RPCs now, without a whole frame (replication still runs at frames)."""
        peers = self._hold_sending()
        try:
            if self.multiplayer_poll:
                self._poll_apis(replicate=False)
            _flush_deferred(self._deferred_queue)
            self._flush_free_queue()
        finally:
            self._send_held(peers)

    def _poll_apis(self, replicate: bool = True) -> None:
        for api in self._apis():
            if replicate:
                api.poll()
            else:  # between frames: no replication (it runs at the frame rate)
                api._poll(replicate=False)

    def _hold_sending(self) -> list[MultiplayerPeer]:
        """What a frame puts goes out when it ends, coalesced per peer (rather than
        when the event loop next gets to it, a pass later)."""
        peers = [api.multiplayer_peer for api in self._apis()]
        held = [peer for peer in peers if peer is not None]
        for peer in held:
            peer._defer_flush()
        return held

    @staticmethod
    def _send_held(peers: list[MultiplayerPeer]) -> None:
        for peer in peers:
            peer._end_deferred_flush()

    def _flush_free_queue(self) -> None:
        while self._free_queue:
            queue, self._free_queue = self._free_queue, []
            for node in queue:
                if node._tree is self:
                    node.free()

    async def run(
        self, fps: float = 60.0, event_driven: bool = False, handle_signals: bool = True
    ) -> None:
        """Run frames until ``quit()`` is called, ``fps`` a second.

        With ``event_driven``, what arrives from the network is also taken in as soon
        as it comes, between frames: its RPCs run at once, so a round trip does not
        wait for the next frame. ``_process`` still runs ``fps`` times a second.

        On the main thread, SIGINT (Ctrl+C) and SIGTERM end it cleanly (unless
        ``handle_signals`` is False, or the program set handlers of its own): the
        frame ends, the multiplayer peers of the tree's APIs are closed (a server
        closes its links with 1001, "going away") and given a moment to finish the
        closing handshakes, the previous handlers come back, and ``run()`` returns
        as after ``quit()``, with no ``KeyboardInterrupt``: a program whose main
        coroutine ends there exits with status 0. See
        :mod:`multiplayer.scene.os_signals`.
        """
        if fps <= 0:
            raise ValueError("fps must be positive")
        self._stop_signal = None
        watching = handle_signals and os_signals.watch(self, asyncio.get_running_loop())
        try:
            await self._frames(fps, event_driven)
            if self._stop_signal is not None:
                await self._close_peers()
        finally:
            if watching:
                os_signals.unwatch(self)

    def _stop_by_signal(self, signum: int) -> None:
        """A stop signal came (run by the loop, soon after the handler)."""
        if self._running:
            self._stop_signal = signum
            logger.info("%s: ending run() and closing the peers", os_signals.name_of(signum))
            self.quit()

    async def _close_peers(self) -> None:
        """Close the peers of this tree's APIs and wait, ``PEER_CLOSE_TIMEOUT`` at
        most, until their connections have ended (so the close frames are out)."""
        waits = []
        for api in self._apis():
            peer = api.multiplayer_peer
            if peer is None:
                continue
            peer.close()
            wait_closed = getattr(peer, "wait_closed", None)
            if wait_closed is not None:
                waits.append(wait_closed())
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), PEER_CLOSE_TIMEOUT)
            except TimeoutError:
                logger.info("the peers did not finish closing within %s s", PEER_CLOSE_TIMEOUT)

    async def _frames(self, fps: float, event_driven: bool) -> None:
        period = 1.0 / fps
        self._running = True
        self._arrival_error = None
        loop = asyncio.get_running_loop()  # its clock: wait_for_activity's deadlines
        last = loop.time()
        next_frame = last
        hooked: list[MultiplayerPeer] = []
        try:
            while self._running:
                now = loop.time()
                if now + 1e-4 >= next_frame:  # (a timer may fire a hair early)
                    self.process(now - last)
                    last = now
                    next_frame = max(next_frame + period, now)
                    if event_driven and self.multiplayer_poll:
                        self._hook_arrivals(hooked)
                else:
                    self._poll_network()
                if not self._running:
                    break  # quit() was called in this frame or poll
                if event_driven and self.multiplayer_poll:
                    await self._wait_for_activity(next_frame)
                else:  # (without multiplayer_poll, what arrives waits for the user's poll)
                    await asyncio.sleep(max(0.0, next_frame - loop.time()))
                if self._arrival_error is not None:
                    raise self._arrival_error
        finally:
            for peer in hooked:
                peer._off_arrival(self._arrived)
            error, self._arrival_error = self._arrival_error, None
            ending = sys.exc_info()[1]
            if error is not None and ending is not None and ending is not error:
                # run() was cancelled (or failed otherwise) before it could raise it
                logger.error("error taking in packets as run() ended", exc_info=error)
        if error is not None:
            raise error  # (quit() came in the same poll as the error)

    def _hook_arrivals(self, hooked: list[MultiplayerPeer]) -> None:
        """Have the peers of this tree's APIs run ``_arrived`` as packets come (a peer
        set since the last frame too, and no longer a peer that was replaced), so RPCs
        run without waking this task."""
        peers = [api.multiplayer_peer for api in self._apis()]
        for gone in [peer for peer in hooked if peer not in peers]:
            gone._off_arrival(self._arrived)
            hooked.remove(gone)
        for peer in peers:
            if peer is not None and peer not in hooked:
                peer._on_arrival(self._arrived)
                hooked.append(peer)

    def _arrived(self) -> bool:
        """Packets came (called by a peer, from the event loop's I/O callback): take
        them in now; False if they were left for run()'s task (the peer wakes it).
        An error is raised by run(), as one in a frame would be."""
        if not self._running or not self.multiplayer_poll or self._arrival_error is not None:
            return False
        try:
            self._poll_network()
        except BaseException as exc:  # any: it must not reach the event loop's callback
            self._arrival_error = exc
            return False  # the peer wakes run(), which raises it
        return self._running  # (after a quit(), wake run() so that it ends now)

    async def _wait_for_activity(self, until: float) -> None:
        waits = [
            _wait(waiter, until)
            for api in self._apis()
            if (waiter := getattr(api.multiplayer_peer, "wait_for_activity", None)) is not None
        ]
        if not waits:
            await asyncio.sleep(max(0.0, until - asyncio.get_running_loop().time()))
            return
        if len(waits) == 1:  # the usual case: no tasks to create
            await waits[0]
            return
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()

    def quit(self) -> None:
        """Stop ``run()`` after the current frame."""
        self._running = False


def _flush_deferred(queue: Sized) -> None:
    """Run the deferred calls, if any (most frames defer nothing: then no more than
    this test, which a frame makes several times)."""
    if queue:
        flush_deferred()


def _wait(wait_for_activity: Any, until: float) -> Any:
    """``wait_for_activity`` until the loop time ``until``; a peer of another kind
    may only take a timeout."""
    try:
        return wait_for_activity(until=until)
    except TypeError:
        return wait_for_activity(max(0.0, until - asyncio.get_running_loop().time()))
