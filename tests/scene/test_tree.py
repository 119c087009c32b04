"""SceneTree: the root, frames, queue_free, run(), per-branch multiplayer APIs."""

from __future__ import annotations

import asyncio

import pytest

from multiplayer import ConnectionStatus, Node, SceneMultiplayer, SceneTree


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
    """queue_free removes the node after the frame's _process calls."""
    tree, log = SceneTree(), []
    a = branch(log)
    tree.root.add_child(a)
    log.clear()
    a.queue_free()
    assert a.is_inside_tree()
    tree.process(0.016)
    assert log[:3] == ["process A", "process B", "process C"]
    assert log[3:] == ["exit C", "exit B", "exit A"]
    assert not a.is_inside_tree()
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
