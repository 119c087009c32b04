"""``async def`` lifecycle hooks: ``_enter_tree``, ``_ready``, ``_exit_tree``,
``_process`` and ``_physics_process`` may be coroutines.

Such a hook runs as an asyncio task of the running loop, started when Godot would
call it; its exception is logged with its traceback on ``multiplayer.scene`` (Godot
prints a script error and carries on likewise). Unlike GDScript, where a function
runs up to its first ``await`` at once, the task starts at the loop's next turn:
code before the first ``await`` runs after the call that triggered the hook
(``add_child``, the frame) has returned. An ``async def _exit_tree`` thus runs
when the node is out of the tree already; keep that one synchronous if it needs
the tree.

A task outlives nothing: ``free()`` (and ``queue_free()``) cancel the node's
running hook tasks, as freeing a Godot node drops its pending coroutines. An
``async def _process`` starts a task every frame, as a GDScript ``_process`` that
awaits starts a new call every frame.

Without a running asyncio loop (a plain game loop calling ``tree.process``) there
is nothing to run a task: ``add_child`` of a branch with an async hook then raises
:class:`~multiplayer.InvalidState` before anything changes, and a hook met later
without a loop is logged as an error and not run.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidState

if TYPE_CHECKING:
    from .node import Node

__all__ = ["HOOKS", "async_hooks_of", "cancel_tasks", "check_loop_for", "start"]

logger = logging.getLogger("multiplayer.scene")

HOOKS = ("_enter_tree", "_ready", "_exit_tree", "_process", "_physics_process")


def async_hooks_of(cls: type) -> frozenset[str]:
    """The lifecycle hooks that ``cls`` defines with ``async def``."""
    return frozenset(
        name for name in HOOKS if inspect.iscoroutinefunction(getattr(cls, name, None))
    )


def check_loop_for(branch: Node) -> None:
    """Raise if ``branch`` has an async hook and no asyncio loop runs to run it.

    Raises:
        InvalidState: Naming the first such node and hook.
    """
    if asyncio._get_running_loop() is not None:
        return
    for node in branch._walk():
        if node._async_hooks:
            hook = sorted(node._async_hooks)[0]
            raise InvalidState(
                f"{type(node).__name__}.{hook} is async def, but no asyncio event loop "
                "is running to run it: run the tree with `await tree.run()` (or add the "
                "node from a coroutine), or make the hook a plain def"
            )


def start(node: Node, hook: str, result: Awaitable[None]) -> None:
    """Run what an async ``hook`` of ``node`` returned as a task whose error is logged."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        if inspect.iscoroutine(result):
            result.close()  # (no "never awaited" warning: it is reported here)
        logger.error("%s.%s is async but no asyncio loop is running: not run", node, hook)
        return
    coroutine = result if inspect.iscoroutine(result) else _awaited(result)
    task = loop.create_task(coroutine, name=f"{node!r}.{hook}")
    tasks = node._hook_tasks
    if tasks is None:
        tasks = node._hook_tasks = set()
    tasks.add(task)
    task.add_done_callback(lambda t: _done(node, hook, t))


async def _awaited(result: Awaitable[None]) -> None:
    await result


def _done(node: Node, hook: str, task: asyncio.Task[Any]) -> None:
    tasks = node._hook_tasks
    if tasks is not None:
        tasks.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("error in %s of %r", hook, node, exc_info=exc)


def cancel_tasks(node: Node) -> None:
    """Cancel the hook tasks of ``node`` that are still running."""
    tasks = node._hook_tasks
    if tasks:
        for task in list(tasks):
            task.cancel()
