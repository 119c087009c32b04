"""``SceneTree``: the tree of nodes, the frame loop, and the multiplayer API of
each branch. The tree drives its APIs (``poll()`` every frame) but knows no network:
it asks :class:`~multiplayer.scene.api.MultiplayerAPI` for the default one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any

from ..signals import Signal
from .api import MultiplayerAPI
from .node import Node

if TYPE_CHECKING:
    from ..scene_multiplayer.scene_multiplayer import SceneMultiplayer
    from ..transport.peer import MultiplayerPeer

__all__ = ["SceneTree"]

logger = logging.getLogger("multiplayer.scene")


class SceneTree:
    """A tree of nodes, the frame loop, and the multiplayer APIs of its branches.

    Signals:
        node_added(node), node_removed(node), process_frame: every frame, after polling.
    """

    def __init__(self) -> None:

        self.node_added: Signal[Node] = Signal("node_added")
        self.node_removed: Signal[Node] = Signal("node_removed")
        self.process_frame: Signal[()] = Signal("process_frame")
        self.multiplayer_poll = True
        self._node_count = 0
        self._arrival_error: BaseException | None = None  # from _arrived, raised by run()
        # Bumped whenever a node enters, leaves or is renamed: what caches of node
        # lookups check to know they still hold.
        self._version = 0
        self._free_queue: list[Node] = []
        self._running = False
        self.root = Node("root")
        # The tree knows no network: the multiplayer package registers its default.
        self._multiplayer: SceneMultiplayer = MultiplayerAPI.create_default_interface()  # type: ignore[assignment]
        self._multiplayer._bind(self, "/root")
        self._branches: list[tuple[str, SceneMultiplayer]] = []
        self.root._propagate_enter(self)
        self.root._propagate_ready()

    def get_node_count(self) -> int:
        return self._node_count

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
        one process, each in its own branch (Godot's combo demo).

        Raises:
            ValueError: ``root_path`` is not absolute.
        """
        if not root_path:
            if api is None:
                raise ValueError("the default multiplayer API cannot be None")
            self._multiplayer = api
            api._bind(self, "/root")
            return
        if not root_path.startswith("/"):
            raise ValueError(f"root_path must be absolute, not {root_path!r}")
        root_path = root_path.rstrip("/")
        self._branches = [(p, a) for p, a in self._branches if p != root_path]
        if api is not None:
            api._bind(self, root_path)
            self._branches.append((root_path, api))
        self._multiplayer._bind(self, self._multiplayer.root_path)

    def _apis(self) -> list[SceneMultiplayer]:
        if not self._branches:
            return [self._multiplayer]
        return [self._multiplayer, *(api for _, api in self._branches)]

    def process(self, delta: float) -> None:
        """Run one frame: poll every multiplayer API, ``_process`` every node, then free
        the nodes queued with ``queue_free``."""
        peers = self._hold_sending()
        try:
            if self.multiplayer_poll:
                self._poll_apis()
            for node in list(self.root._walk()):
                if node._tree is self:
                    node._process(delta)
            self.process_frame.emit()
            self._flush_free_queue()
        finally:
            self._send_held(peers)

    def _poll_network(self) -> None:
        """Between frames (``run(event_driven=True)``): take in what arrived and run
        its RPCs now, without a whole frame (replication still runs at frames)."""
        peers = self._hold_sending()
        try:
            if self.multiplayer_poll:
                self._poll_apis(replicate=False)
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
                parent = node._parent
                if parent is not None and node._tree is self:
                    parent.remove_child(node)

    async def run(self, fps: float = 60.0, event_driven: bool = False) -> None:
        """Run frames until ``quit()`` is called, ``fps`` a second.

        With ``event_driven``, what arrives from the network is also taken in as soon
        as it comes, between frames: its RPCs run at once, so a round trip does not
        wait for the next frame. ``_process`` still runs ``fps`` times a second.
        """
        if fps <= 0:
            raise ValueError("fps must be positive")
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


def _wait(wait_for_activity: Any, until: float) -> Any:
    """``wait_for_activity`` until the loop time ``until``; a peer of another kind
    may only take a timeout."""
    try:
        return wait_for_activity(until=until)
    except TypeError:
        return wait_for_activity(max(0.0, until - asyncio.get_running_loop().time()))
