"""Node and SceneTree: names, paths, lifecycle order, frames, per-branch APIs."""

from __future__ import annotations

import asyncio

import pytest

from multiplayer import ConnectionStatus, InvalidState, Node, SceneMultiplayer, SceneTree


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


def test_enter_top_down_ready_bottom_up_exit_bottom_up() -> None:
    """Adding a branch: enter parent-first, ready children-first; removing: exit children-first."""
    tree, log = SceneTree(), []
    a = branch(log)
    tree.root.add_child(a)
    assert log == ["enter A", "enter B", "enter C", "ready B", "ready C", "ready A"]
    log.clear()
    tree.root.remove_child(a)
    assert log == ["exit C", "exit B", "exit A"]
    assert not a.is_inside_tree()
    log.clear()
    tree.root.add_child(a)
    assert log == ["enter A", "enter B", "enter C"]  # _ready runs once per node


def test_paths_and_get_node() -> None:
    """get_path is absolute; get_node takes relative, '..' and absolute paths."""
    tree = SceneTree()
    lobby = Node("Lobby")
    players = Node("Players")
    two = Node("2")
    tree.root.add_child(lobby)
    lobby.add_child(players)
    players.add_child(two)
    assert two.get_path() == "/root/Lobby/Players/2"
    assert lobby.get_node("Players/2") is two
    assert two.get_node("..") is players
    assert two.get_node("../..") is lobby
    assert two.get_node("/root/Lobby") is lobby
    assert two.get_node(".") is two
    assert lobby.get_node_or_null("Players/3") is None
    with pytest.raises(LookupError, match="Players/3"):
        lobby.get_node("Players/3")


def test_rename_updates_paths_and_keeps_order() -> None:
    """Renaming a node changes its and its children's paths and keeps sibling order."""
    tree = SceneTree()
    a, b, c = Node("A"), Node("B"), Node("C")
    for n in (a, b, c):
        tree.root.add_child(n)
    child = Node("Child")
    b.add_child(child)
    assert child.get_path() == "/root/B/Child"
    b.name = "Bee"
    assert child.get_path() == "/root/Bee/Child"
    assert [n.name for n in tree.root.get_children()] == ["A", "Bee", "C"]
    with pytest.raises(ValueError, match="already has a child"):
        b.name = "A"


def test_name_clashes() -> None:
    """A clashing child is renamed: Name2, Name3 when readable, else @Name@N."""
    parent = Node("P")
    for _ in range(3):
        parent.add_child(Node("Wasp"), force_readable_name=True)
    assert [n.name for n in parent.get_children()] == ["Wasp", "Wasp2", "Wasp3"]
    other = Node("Wasp")
    parent.add_child(other)
    assert other.name.startswith("@Wasp@")


@pytest.mark.parametrize("bad", ["", "a/b", "a.b", "x:y", "@n", "50%", 'q"'])
def test_invalid_names_are_refused(bad: str) -> None:
    """Names with / . : @ % or quotes, or empty, raise ValueError."""
    with pytest.raises(ValueError):
        Node(bad)


def test_add_child_misuse_raises() -> None:
    """A node with a parent, or an ancestor, cannot be added."""
    a, b = Node("A"), Node("B")
    a.add_child(b)
    with pytest.raises(InvalidState):
        Node("C").add_child(b)
    with pytest.raises(InvalidState):
        b.add_child(a)
    with pytest.raises(InvalidState):
        a.remove_child(Node("D"))


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


def test_signals_of_children() -> None:
    """child_entered_tree and child_exiting_tree fire on the parent."""
    tree = SceneTree()
    entered: list[str] = []
    exiting: list[str] = []
    tree.root.child_entered_tree.connect(lambda n: entered.append(n.name))
    tree.root.child_exiting_tree.connect(lambda n: exiting.append(n.name))
    node = Node("N")
    tree.root.add_child(node)
    tree.root.remove_child(node)
    assert entered == ["N"]
    assert exiting == ["N"]


def test_authority_defaults_and_recursion() -> None:
    """Authority is 1 by default; set_multiplayer_authority recurses unless told not to."""
    tree = SceneTree()
    a = Node("A")
    b = Node("B")
    a.add_child(b)
    tree.root.add_child(a)
    assert b.get_multiplayer_authority() == 1
    assert b.is_multiplayer_authority()  # offline: this peer is 1
    a.set_multiplayer_authority(5)
    assert b.get_multiplayer_authority() == 5
    assert not b.is_multiplayer_authority()
    a.set_multiplayer_authority(7, recursive=False)
    assert (a.get_multiplayer_authority(), b.get_multiplayer_authority()) == (7, 5)


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


def test_child_added_during_enter_enters_once() -> None:
    """A child added in _enter_tree gets _enter_tree once; node counts stay right."""
    tree, log = SceneTree(), []

    class Parent(Recorder):
        def _enter_tree(self) -> None:
            super()._enter_tree()
            if not self.get_children():
                self.add_child(Recorder("Kid", self.log))

    before = tree.get_node_count()
    parent = Parent("P", log)
    tree.root.add_child(parent)
    assert log.count("enter Kid") == 1
    tree.root.remove_child(parent)
    assert log.count("exit Kid") == 1
    assert tree.get_node_count() == before


def test_default_api_knows_its_tree_without_processing() -> None:
    """A manual poll (multiplayer_poll off) still resolves nodes: the API knows its tree."""
    tree = SceneTree()
    api = SceneMultiplayer()
    tree.set_multiplayer(api)
    assert api._tree is tree
    assert tree.get_multiplayer()._tree is tree
