"""The hierarchy: find_child(ren) with patterns, move_child, get_index, reparent."""

from __future__ import annotations

import pytest

from multiplayer import InvalidState, Node, SceneTree


class Player(Node):
    pass


def build() -> tuple[SceneTree, Node]:
    """root/World/{Players/{P1, P2}, Level/{Spawn, Player3}}"""
    tree, world = SceneTree(), Node("World")
    tree.root.add_child(world)
    players, level = Node("Players"), Node("Level")
    world.add_child(players)
    world.add_child(level)
    players.add_child(Player("P1"))
    players.add_child(Player("P2"))
    level.add_child(Node("Spawn"))
    level.add_child(Player("Player3"))
    return tree, world


def test_find_child_matches_wildcards_depth_first() -> None:
    """find_child: * and ? wildcards, case-sensitive, depth first; None if nothing."""
    _, world = build()
    assert world.find_child("P?").name == "P1"  # type: ignore[union-attr]
    assert world.find_child("*3").name == "Player3"  # type: ignore[union-attr]
    assert world.find_child("spawn") is None
    assert world.find_child("P1", recursive=False) is None
    assert world.find_child("Level", recursive=False) is world.get_node("Level")
    assert world.find_child("a.b") is None  # (a dot is no wildcard)


def test_find_children_by_pattern_and_type() -> None:
    """find_children filters by name and class, in tree order."""
    _, world = build()
    assert [n.name for n in world.find_children("P*")] == ["Players", "P1", "P2", "Player3"]
    players = world.find_children("*", Player)
    assert [p.name for p in players] == ["P1", "P2", "Player3"]
    assert [n.name for n in world.find_children(recursive=False)] == ["Players", "Level"]


def test_move_child_and_get_index() -> None:
    """move_child reorders siblings (negative: from the end) and emits child_order_changed."""
    tree = SceneTree()
    a, b, c = Node("A"), Node("B"), Node("C")
    for node in (a, b, c):
        tree.root.add_child(node)
    changes: list[int] = []
    tree.root.child_order_changed.connect(lambda: changes.append(1))
    tree.root.move_child(c, 0)
    assert [n.name for n in tree.root.get_children()] == ["C", "A", "B"]
    tree.root.move_child(c, -1)
    assert [n.name for n in tree.root.get_children()] == ["A", "B", "C"]
    tree.root.move_child(a, 3)  # (the count itself means last, as in Godot)
    assert (a.get_index(), b.get_index(), c.get_index()) == (2, 0, 1)
    tree.root.move_child(a, 2)  # (already there: no signal)
    assert len(changes) == 3
    with pytest.raises(IndexError):
        tree.root.move_child(a, 4)
    with pytest.raises(InvalidState):
        a.move_child(b, 0)
    with pytest.raises(InvalidState):
        tree.root.get_index()


def test_reparent_moves_the_branch_without_a_second_ready() -> None:
    """reparent: exit and enter again, _ready once; paths follow."""
    log: list[str] = []

    class Logged(Node):
        def _enter_tree(self) -> None:
            log.append("enter")

        def _exit_tree(self) -> None:
            log.append("exit")

        def _ready(self) -> None:
            log.append("ready")

    tree = SceneTree()
    one, two, node = Node("One"), Node("Two"), Logged("N")
    tree.root.add_child(one)
    tree.root.add_child(two)
    one.add_child(node)
    node.reparent(two)
    assert node.get_path() == "/root/Two/N"
    assert log == ["enter", "ready", "exit", "enter"]
    node.reparent(two)  # (already there)
    assert log[-1] == "enter"
    with pytest.raises(InvalidState):
        two.reparent(node)
    with pytest.raises(InvalidState):
        Node().reparent(two)
