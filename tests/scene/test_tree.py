"""SceneTree: the root, frames, queue_free, run(), per-branch multiplayer APIs."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from multiplayer import (
    ConnectionStatus,
    Node,
    OfflineMultiplayerPeer,
    SceneMultiplayer,
    SceneTree,
)


class Recorder(Node):
    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(name)
        self.log = log

    def _enter_tree(self) -> None:
        self.log.append(f"enter {self.name}")

    def _ready(self) -> None:
        self.log.append(f"ready {self.name}")

    def _exit_tree(self) -> None:
        self.log.append(f"exit {self.name}")

    def _process(self, delta: float) -> None:
        self.log.append(f"process {self.name}")


def branch(log: list[str]) -> Recorder:
    parent = Recorder("A", log)
    parent.add_child(Recorder("B", log))
    parent.add_child(Recorder("C", log))
    return parent


def test_root_is_at_slash_root() -> None:
    """A new tree has a root named root at /root, inside the tree."""
    tree = SceneTree()
    assert tree.root.name == "root"
    assert tree.root.get_path() == "/root"
    assert tree.root.is_inside_tree()


def test_queue_free_at_end_of_frame() -> None:
    """queue_free from a _process removes the node after every _process of the frame."""

    class FreesItsParent(Recorder):
        def _process(self, delta: float) -> None:
            super()._process(delta)
            self.get_parent().queue_free()  # type: ignore[union-attr]

    tree, log = SceneTree(), []
    a = Recorder("A", log)
    a.add_child(FreesItsParent("B", log))
    a.add_child(Recorder("C", log))
    tree.root.add_child(a)
    log.clear()
    tree.process(0.016)
    assert log == ["process A", "process B", "process C", "exit C", "exit B", "exit A"]
    assert not a.is_inside_tree()
    assert a.is_queued_for_deletion()
    assert tree.root.get_child_count() == 0


def test_each_tree_has_its_own_default_api() -> None:
    """Every SceneTree gets its own SceneMultiplayer rooted at /root."""
    one, two = SceneTree(), SceneTree()
    assert one.get_multiplayer() is not two.get_multiplayer()
    assert one.get_multiplayer().root_path == "/root"
    node = Node("N")
    one.root.add_child(node)
    assert node.multiplayer is one.get_multiplayer()


def test_branch_apis() -> None:
    """set_multiplayer gives a branch its own API; nodes below it use that one."""
    tree = SceneTree()
    server_branch, client_branch = Node("Server"), Node("Client")
    tree.root.add_child(server_branch)
    tree.root.add_child(client_branch)
    api = SceneMultiplayer()
    tree.set_multiplayer(api, "/root/Client")
    deep = Node("Deep")
    client_branch.add_child(deep)
    assert deep.multiplayer is api
    assert api.root_path == "/root/Client"
    assert server_branch.multiplayer is tree.get_multiplayer()
    with pytest.raises(ValueError):
        tree.set_multiplayer(api, "relative")


def test_a_replaced_api_is_let_go_of() -> None:
    """Replacing a branch's API, or the default, unbinds the old one: it no longer
    watches the tree's node_removed, and nothing of the tree keeps it (nor its peer)
    alive. An API still serving another path stays bound."""
    tree = SceneTree()
    tree.root.add_child(Node("Branch"))
    watching = tree.node_removed.get_connection_count()
    replaced: list[weakref.ref[SceneMultiplayer]] = []
    for _ in range(5):
        api = SceneMultiplayer()
        api.multiplayer_peer = OfflineMultiplayerPeer()
        tree.set_multiplayer(api, "/root/Branch")
        replaced.append(weakref.ref(api))
    assert tree.node_removed.get_connection_count() == watching + 1
    del api
    gc.collect()
    assert [ref() for ref in replaced[:-1]] == [None] * 4
    last = replaced[-1]()
    assert last is not None and last._tree is tree
    tree.set_multiplayer(None, "/root/Branch")
    assert last._tree is None and last.root_path == ""
    assert tree.node_removed.get_connection_count() == watching

    default = tree.get_multiplayer()
    tree.set_multiplayer(default, "/root/Branch")  # (the default serves a branch too)
    tree.set_multiplayer(SceneMultiplayer(), "/root/Branch")
    assert default._tree is tree  # still the default
    tree.set_multiplayer(SceneMultiplayer())
    assert default._tree is None
    assert tree.node_removed.get_connection_count() == watching + 1  # the new default, the branch's


def test_process_polls_then_processes() -> None:
    """process() polls each API before any _process (Godot's frame order)."""
    tree, log = SceneTree(), []

    class Polled(SceneMultiplayer):
        def poll(self) -> None:
            log.append("poll")
            super().poll()

    tree.set_multiplayer(Polled())
    tree.root.add_child(Recorder("A", log))
    log.clear()
    tree.process(0.016)
    assert log == ["poll", "process A"]


def quit_after(tree: SceneTree, count: int) -> list[int]:
    """Frames counted as they run; the tree quits after ``count``."""
    frames: list[int] = []

    def counted() -> None:
        frames.append(1)
        if len(frames) == count:
            tree.quit()

    tree.process_frame.connect(counted)
    return frames


async def test_run_until_quit() -> None:
    """run() runs frames until quit()."""
    tree = SceneTree()
    frames = quit_after(tree, 3)
    await tree.run(fps=1000)
    assert len(frames) == 3


async def test_event_driven_run_with_a_peer_that_takes_only_a_timeout() -> None:
    """run(event_driven=True) works with a custom peer whose wait_for_activity takes
    a timeout only (the WebSocket peer's also takes until=)."""
    from multiplayer.testing import MemoryMultiplayerPeer, MemoryNetwork

    waits: list[float] = []

    class Waiting(MemoryMultiplayerPeer):
        async def wait_for_activity(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0.0)
            await asyncio.sleep(timeout or 0.0)
            return False

    tree = SceneTree()
    network = MemoryNetwork()
    peer = Waiting(network)
    network.server = peer
    peer._status = ConnectionStatus.CONNECTED
    peer._unique_id = 1
    tree.get_multiplayer().multiplayer_peer = peer
    frames = quit_after(tree, 3)
    await asyncio.wait_for(tree.run(fps=100, event_driven=True), 5)
    assert len(frames) == 3
    assert waits and all(0 <= w <= 0.011 for w in waits)


def test_default_api_knows_its_tree_without_processing() -> None:
    """A manual poll (multiplayer_poll off) still resolves nodes: the API knows its tree."""
    tree = SceneTree()
    api = SceneMultiplayer()
    tree.set_multiplayer(api)
    assert api._tree is tree
    assert tree.get_multiplayer()._tree is tree


def test_get_root_and_frame_signals_in_godot_order() -> None:
    """get_root() is the root; a frame runs physics_frame, then process_frame, then
    _process (SceneTree::physics_process before SceneTree::process)."""
    tree, log = SceneTree(), []
    assert tree.get_root() is tree.root
    tree.root.add_child(Recorder("A", log))
    log.clear()
    tree.physics_frame.connect(lambda: log.append("physics_frame"))
    tree.process_frame.connect(lambda: log.append("process_frame"))
    tree.process(1 / 60)
    assert log == ["physics_frame", "process_frame", "process A"]


def test_deferred_calls_run_within_the_frame() -> None:
    """A call deferred in _process runs after every _process of that frame."""
    tree, log = SceneTree(), []

    class Defers(Recorder):
        def _process(self, delta: float) -> None:
            super()._process(delta)
            self.call_deferred("note", "deferred")

        def note(self, text: str) -> None:
            self.log.append(text)

    tree.root.add_child(Defers("A", log))
    tree.root.add_child(Recorder("B", log))
    log.clear()
    tree.process(0.016)
    assert log == ["process A", "process B", "deferred"]


def test_physics_rate_settings() -> None:
    """The physics rate lives on the tree (Godot's Engine settings), checked."""
    tree = SceneTree()
    assert tree.physics_ticks_per_second == 60
    assert tree.max_physics_steps_per_frame == 8
    assert tree.physics_jitter_fix == 0.5
    tree.physics_ticks_per_second = 30
    tree.max_physics_steps_per_frame = 0
    tree.physics_jitter_fix = 2
    assert (tree.physics_ticks_per_second, tree.max_physics_steps_per_frame) == (30, 1)
    assert tree.physics_jitter_fix == 1.0
    with pytest.raises(ValueError):
        tree.physics_ticks_per_second = 0


def test_groups_through_the_tree() -> None:
    """The tree's group queries: nodes in tree order, first, count, has_group."""
    tree = SceneTree()
    a, b = Node("A"), Node("B")
    tree.root.add_child(a)
    tree.root.add_child(b)
    b.add_to_group("g")
    a.add_to_group("g")
    assert tree.get_nodes_in_group("g") == [a, b]
    assert tree.get_first_node_in_group("g") is a
    assert tree.get_node_count_in_group("g") == 2
    assert tree.has_group("g") and not tree.has_group("h")
    assert tree.get_first_node_in_group("h") is None
