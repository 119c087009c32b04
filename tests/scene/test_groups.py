"""Groups: membership on the node, the tree's lists in tree order, call_group."""

from __future__ import annotations

import logging

import pytest

from multiplayer import GroupCallFlags, Node, SceneTree


class Greeter(Node):
    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(name)
        self.log = log

    def greet(self, word: str) -> None:
        self.log.append(f"{word} {self.name}")


def test_membership_is_kept_outside_the_tree() -> None:
    """A node joins groups in or out of a tree; the tree lists it while it is inside."""
    tree = SceneTree()
    node = Node("N")
    node.add_to_group("enemies")
    node.add_to_group("enemies")  # (no-op)
    node.add_to_group("flying", persistent=True)
    assert node.is_in_group("enemies") and node.get_groups() == ["enemies", "flying"]
    assert tree.get_nodes_in_group("enemies") == []
    tree.root.add_child(node)
    assert tree.get_nodes_in_group("enemies") == [node]
    tree.root.remove_child(node)
    assert tree.get_nodes_in_group("enemies") == [] and not tree.has_group("enemies")
    assert node.is_in_group("enemies")
    node.remove_from_group("enemies")
    node.remove_from_group("never")  # (no-op)
    assert node.get_groups() == ["flying"]
    with pytest.raises(ValueError):
        node.add_to_group("")


def test_nodes_in_group_follow_tree_order() -> None:
    """get_nodes_in_group is in tree order, however the nodes joined, and follows moves."""
    tree = SceneTree()
    a, b, c = Node("A"), Node("B"), Node("C")
    tree.root.add_child(a)
    a.add_child(b)
    tree.root.add_child(c)
    for node in (c, b, a):
        node.add_to_group("g")
    assert tree.get_nodes_in_group("g") == [a, b, c]
    tree.root.move_child(c, 0)
    assert tree.get_nodes_in_group("g") == [c, a, b]
    a.remove_from_group("g")
    assert tree.get_nodes_in_group("g") == [c, b]


def test_call_group_calls_now_in_order_and_skips_nodes_without_the_method() -> None:
    """call_group calls each node now; a node lacking the method is skipped (Godot)."""
    tree, log = SceneTree(), []
    for name in ("A", "B"):
        node = Greeter(name, log)
        node.add_to_group("g")
        tree.root.add_child(node)
    plain = Node("Plain")
    plain.add_to_group("g")
    tree.root.add_child(plain)
    tree.call_group("g", "greet", "hi")
    assert log == ["hi A", "hi B"]
    log.clear()
    tree.call_group_flags(GroupCallFlags.REVERSE, "g", "greet", "bye")
    assert log == ["bye B", "bye A"]
    tree.call_group("nobody", "greet", "x")


def test_call_group_deferred_and_unique() -> None:
    """DEFERRED waits for the frame's end; with UNIQUE, repeats before it are one call."""
    tree, log = SceneTree(), []
    node = Greeter("A", log)
    node.add_to_group("g")
    tree.root.add_child(node)
    unique = GroupCallFlags.DEFERRED | GroupCallFlags.UNIQUE
    tree.call_group_flags(unique, "g", "greet", "one")
    tree.call_group_flags(unique, "g", "greet", "two")
    tree.call_group_flags(GroupCallFlags.DEFERRED, "g", "greet", "three")
    assert log == []
    tree.process(0.0)
    assert log == ["one A", "three A"]
    tree.call_group_flags(unique, "g", "greet", "again")
    tree.process(0.0)
    assert log[-1] == "again A"


def test_an_error_in_one_node_does_not_stop_the_group(caplog: pytest.LogCaptureFixture) -> None:
    """A node's exception is logged with its traceback; the other nodes are called."""
    tree, log = SceneTree(), []

    class Broken(Greeter):
        def greet(self, word: str) -> None:
            raise RuntimeError("broken")

    for node in (Broken("A", log), Greeter("B", log)):
        node.add_to_group("g")
        tree.root.add_child(node)
    tree.call_group("g", "greet", "hi")
    assert log == ["hi B"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    caplog.clear()


def test_freed_nodes_leave_their_groups() -> None:
    """A freed node is no longer listed, and a deferred group call skips it."""
    tree, log = SceneTree(), []
    a, b = Greeter("A", log), Greeter("B", log)
    for node in (a, b):
        node.add_to_group("g")
        tree.root.add_child(node)
    tree.call_group_flags(GroupCallFlags.DEFERRED, "g", "greet", "hi")
    a.free()
    assert tree.get_nodes_in_group("g") == [b]
    tree.process(0.0)
    assert log == ["hi B"]
