"""Node: names, paths, lifecycle order, signals, authority, readiness."""

from __future__ import annotations

import pytest

from multiplayer import InvalidState, Node, SceneTree


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


def test_is_node_ready_once_ready_and_after_re_entering() -> None:
    """is_node_ready() turns true when _ready has run, and stays so out of the tree."""
    tree = SceneTree()
    node = Node("N")
    assert not node.is_node_ready()
    tree.root.add_child(node)
    assert node.is_node_ready()
    tree.root.remove_child(node)
    assert node.is_node_ready()


def test_free_removes_the_branch_for_good() -> None:
    """free(): the branch leaves now, bottom-up; it is invalid and cannot come back."""
    from multiplayer import is_instance_valid

    tree, log = SceneTree(), []
    a = branch(log)
    tree.root.add_child(a)
    log.clear()
    a.free()
    assert log == ["exit C", "exit B", "exit A"]
    assert not a.is_inside_tree() and tree.root.get_child_count() == 0
    assert not is_instance_valid(a) and not is_instance_valid(a.get_child(0))
    assert is_instance_valid(tree.root) and not is_instance_valid(None)
    a.free()  # (twice: nothing more)
    with pytest.raises(InvalidState, match="freed"):
        tree.root.add_child(a)


def test_queue_free_outside_a_tree_frees_at_once() -> None:
    """queue_free of a node outside any tree frees it now (there is no frame to wait for)."""
    parent, child = Node("P"), Node("C")
    parent.add_child(child)
    child.queue_free()
    assert parent.get_child_count() == 0 and child.is_queued_for_deletion()


def test_call_deferred_and_set_deferred_skip_freed_nodes() -> None:
    """call_deferred / set_deferred run at the frame's end, unless the node was freed."""
    tree, log = SceneTree(), []
    kept, freed = Recorder("K", log), Recorder("F", log)
    tree.root.add_child(kept)
    tree.root.add_child(freed)
    log.clear()
    kept.call_deferred("_ready")
    kept.set_deferred("name", "Kept")
    freed.call_deferred("_ready")
    freed.free()
    assert kept.name == "K"
    tree.process(0.0)
    assert "ready K" in log and "ready F" not in log
    assert kept.name == "Kept"


def test_child_order_changed_on_add_and_remove() -> None:
    """child_order_changed is emitted when a child is added or removed."""
    parent, changes = Node("P"), []
    parent.child_order_changed.connect(lambda: changes.append(parent.get_child_count()))
    child = Node("C")
    parent.add_child(child)
    parent.remove_child(child)
    assert changes == [1, 0]
