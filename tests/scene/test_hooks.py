"""async def lifecycle hooks: run as tasks, errors logged, a clear error without a loop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from multiplayer import InvalidState, Node, SceneTree


class AsyncNode(Node):
    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(name)
        self.log = log
        self.go = asyncio.Event()

    async def _enter_tree(self) -> None:
        self.log.append("enter")

    async def _ready(self) -> None:
        self.log.append("ready")
        await self.go.wait()
        self.log.append("ready resumed")

    async def _exit_tree(self) -> None:
        self.log.append("exit")

    async def _process(self, delta: float) -> None:
        self.log.append("process")

    async def _physics_process(self, delta: float) -> None:
        self.log.append("physics")


async def settle() -> None:
    """Let the tasks started so far run to their next await."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_async_hooks_run_as_tasks() -> None:
    """Every async hook runs, as a task started at the loop's next turn."""
    tree, log = SceneTree(), []
    node = AsyncNode("A", log)
    tree.root.add_child(node)
    assert log == []  # (not during add_child: at the next turn)
    await settle()
    assert log == ["enter", "ready"]
    node.go.set()
    await settle()
    assert log[-1] == "ready resumed"
    log.clear()
    tree.process(1 / 60)
    await settle()
    assert sorted(log) == ["physics", "process"]
    tree.root.remove_child(node)
    await settle()
    assert log[-1] == "exit"


async def test_an_async_hook_error_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The exception of an async hook is logged at ERROR with its traceback."""

    class Broken(Node):
        async def _ready(self) -> None:
            raise RuntimeError("no ready")

    tree = SceneTree()
    tree.root.add_child(Broken("B"))
    await settle()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "_ready" in errors[0].getMessage() and "/root/B" in errors[0].getMessage()
    assert errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], RuntimeError)
    caplog.clear()


async def test_free_cancels_running_hook_tasks() -> None:
    """free() cancels a hook still awaiting; its async _exit_tree still runs."""
    tree, log = SceneTree(), []
    node = AsyncNode("A", log)
    tree.root.add_child(node)
    await settle()
    tasks = set(node._hook_tasks or ())
    assert tasks  # (_ready is waiting)
    node.free()
    await settle()
    assert all(t.cancelled() for t in tasks)
    assert "ready resumed" not in log and log[-1] == "exit"


def test_without_a_loop_add_child_raises_before_anything_changes() -> None:
    """No running loop: adding a branch with an async hook raises InvalidState."""
    tree = SceneTree()
    parent = Node("Parent")
    parent.add_child(AsyncNode("A", []))  # (outside the tree: nothing runs yet)
    with pytest.raises(InvalidState, match=r"AsyncNode\._enter_tree is async def"):
        tree.root.add_child(parent)
    assert parent.get_parent() is None and tree.root.get_child_count() == 0


def test_without_a_loop_a_later_hook_is_logged_not_run(caplog: pytest.LogCaptureFixture) -> None:
    """An async _process met without a loop (the node was added from a coroutine) is
    logged as an error and not run: no 'never awaited' warning."""
    tree, log = SceneTree(), []

    async def add() -> AsyncNode:
        node = AsyncNode("A", log)
        node.go.set()
        tree.root.add_child(node)
        await settle()
        return node

    asyncio.run(add())
    log.clear()
    tree.process(1 / 60)
    assert log == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("_process is async but no asyncio loop is running" in e for e in errors)
    caplog.clear()


def test_sync_hooks_need_no_loop() -> None:
    """Plain hooks run without any loop (a plain game loop)."""
    tree, log = SceneTree(), []

    class Plain(Node):
        def _ready(self) -> None:
            log.append("ready")

    tree.root.add_child(Plain())
    assert log == ["ready"]
