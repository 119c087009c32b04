"""``Node``: names, the hierarchy, paths, and the tree's lifecycle.

Lifecycle, as in Godot: when a branch enters the tree, ``_enter_tree`` runs top-down
(parent before children), then ``_ready`` bottom-up (children first, once per node).
When it leaves, ``_exit_tree`` runs bottom-up. ``free()`` removes a node (and its
branch) for good at once, ``queue_free()`` at the end of the current frame. Any of
the hooks may be ``async def``: see :mod:`multiplayer.scene.hooks`.

The other parts of a node live in modules of their own, mixed in: processing and
pause (:mod:`~multiplayer.scene.processing`), groups
(:mod:`~multiplayer.scene.groups`), and the network
(:mod:`~multiplayer.scene.multiplayer_node`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import InvalidState
from ..signals import Signal, call_deferred
from . import hooks
from .groups import GroupMember
from .hierarchy import Hierarchy
from .multiplayer_node import MultiplayerNode
from .processing import Processing
from .rpc import RPCConfig

if TYPE_CHECKING:
    from .tree import SceneTree

__all__ = ["Node", "is_instance_valid", "validate_node_name"]


_INVALID_NAME_CHARACTERS = frozenset('./:@%"')
_auto_names = itertools.count(2)


def validate_node_name(name: str) -> str:
    """``name`` if it is a valid node name.

    Raises:
        ValueError: It is empty or contains one of ``. / : @ % "``.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a node name must be a non-empty str")
    bad = _INVALID_NAME_CHARACTERS.intersection(name)
    if bad:
        raise ValueError(f"invalid node name {name!r}: it contains {''.join(sorted(bad))!r}")
    return name


def is_instance_valid(node: Node | None) -> bool:
    """Whether ``node`` is a node that was not freed (Godot's ``is_instance_valid``)."""
    return node is not None and not node._freed


class Node(Hierarchy, Processing, GroupMember, MultiplayerNode):
    """A node of the scene tree.

    Subclass it and mark methods with ``@rpc`` to call them across the network.

    Signals:
        tree_entered, tree_exiting, tree_exited, ready: lifecycle.
        child_entered_tree(node), child_exiting_tree(node): a direct child came or goes.
        child_order_changed: a child was added, moved or removed.
    """

    _async_hooks: ClassVar[frozenset[str]] = frozenset()
    _hook_tasks: set[asyncio.Task[Any]] | None = None  # see hooks.start
    _freed = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._async_hooks = hooks.async_hooks_of(cls)

    def __init__(self, name: str | None = None) -> None:
        self._name = validate_node_name(name) if name is not None else type(self).__name__
        self._parent: Node | None = None
        self._children: dict[str, Node] = {}
        self._tree: SceneTree | None = None
        self._path: str | None = None
        self._ready_done = False
        self._queued_free = False
        self._multiplayer_authority = 1  # Godot: the server, by default
        self._node_rpc_config: dict[str, RPCConfig] = {}
        self.tree_entered: Signal[()] = Signal("tree_entered")
        self.tree_exiting: Signal[()] = Signal("tree_exiting")
        self.tree_exited: Signal[()] = Signal("tree_exited")
        self.ready: Signal[()] = Signal("ready")
        self.child_entered_tree: Signal[Node] = Signal("child_entered_tree")
        self.child_exiting_tree: Signal[Node] = Signal("child_exiting_tree")
        self.child_order_changed: Signal[()] = Signal("child_order_changed")

    def __repr__(self) -> str:
        where = self.get_path() if self._tree is not None else "not in tree"
        return f"<{type(self).__name__} {self._name!r} ({where})>"

    # Lifecycle hooks, for subclasses (``_process`` and ``_physics_process`` are
    # Processing's). Each may be ``async def``: it then runs as a task.

    def _enter_tree(self) -> Awaitable[None] | None:
        """Called when the node enters the tree, before its children."""
        return None

    def _ready(self) -> Awaitable[None] | None:
        """Called once, after the node and all its children entered the tree."""
        return None

    def _exit_tree(self) -> Awaitable[None] | None:
        """Called when the node leaves the tree, after its children."""
        return None

    # Names and hierarchy.

    @property
    def name(self) -> str:
        """The node's name, unique among its siblings."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        validate_node_name(name)
        parent = self._parent
        if parent is None:
            self._name = name
            return
        if name == self._name:
            return
        if name in parent._children:
            raise ValueError(f"{parent.get_path()} already has a child named {name!r}")
        # Keep the sibling order: rebuild the dict with the new key in place.
        parent._children = {
            (name if child is self else key): child for key, child in parent._children.items()
        }
        parent._child_indices = None
        self._name = name
        self._invalidate_paths()
        if self._tree is not None:
            self._tree._version += 1

    def get_parent(self) -> Node | None:
        return self._parent

    def get_children(self) -> list[Node]:
        return list(self._children.values())

    def get_child_count(self) -> int:
        return len(self._children)

    def get_child(self, index: int) -> Node:
        return list(self._children.values())[index]

    def add_child(self, node: Node, force_readable_name: bool = False) -> None:
        """Make ``node`` the last child of this one.

        On a name clash the child is renamed: ``Name2``, ``Name3``, … with
        ``force_readable_name``, otherwise ``@Name@N`` (Godot's two schemes).

        Raises:
            InvalidState: ``node`` already has a parent, is an ancestor of this node,
                or was freed; or it has an ``async def`` hook and no asyncio loop
                runs to run it (see :mod:`multiplayer.scene.hooks`).
        """
        if node._parent is not None:
            raise InvalidState(f"{node!r} already has a parent; remove_child it first")
        if node is self or self._has_ancestor(node):
            raise InvalidState("a node cannot be added under itself")
        if node._freed:
            raise InvalidState(f"{node!r} was freed")
        if self._tree is not None:
            hooks.check_loop_for(node)
        if node._name in self._children:
            node._name = self._free_name(node._name, force_readable_name)
        self._children[node._name] = node
        if self._child_indices is not None:
            self._child_indices[node._name] = len(self._children) - 1
        node._parent = self
        node._invalidate_paths()
        if self._tree is not None:
            node._propagate_enter(self._tree)
            node._propagate_ready()
        self.child_order_changed.emit()

    def remove_child(self, node: Node) -> None:
        """Detach ``node`` (and its branch) from this node, leaving the tree if inside.

        Raises:
            InvalidState: ``node`` is not a child of this node.
        """
        if node._parent is not self:
            raise InvalidState(f"{node!r} is not a child of {self!r}")
        if self._tree is not None:
            node._propagate_exit()
        indices = self._child_indices
        if indices is not None and indices.get(node._name) == len(self._children) - 1:
            del indices[node._name]  # (the last child: the others keep their indices)
        else:
            self._child_indices = None
        del self._children[node._name]
        node._parent = None
        node._invalidate_paths()
        node._propagate_exited()
        self.child_order_changed.emit()

    def free(self) -> None:
        """Remove this node and its branch for good, now (Godot's ``free``).

        The branch leaves the tree, its running ``async`` hooks are cancelled, its
        deferred calls are dropped, and it cannot be added again
        (``is_instance_valid`` is False).
        """
        if self._freed:
            return
        for node in self._walk():
            hooks.cancel_tasks(node)  # (before leaving: an async _exit_tree still runs)
        if self._parent is not None:
            self._parent.remove_child(self)
        for node in self._walk():
            node._freed = True
            node._queued_free = True

    def queue_free(self) -> None:
        """Free this node at the end of the current frame (at once if not in a tree)."""
        if self._tree is None:
            self.free()
            return
        if not self._queued_free:
            self._queued_free = True
            self._tree._free_queue.append(self)

    def is_queued_for_deletion(self) -> bool:
        return self._queued_free

    def call_deferred(self, method: str, *args: Any) -> None:
        """Call ``method(*args)`` on this node at the end of the frame, unless the node
        is freed by then (Godot's ``Object.call_deferred``). From any thread, the call
        runs on the thread that runs the node's tree (a worker's way to hand it work)."""
        self._defer(self._deferred_call, (method, args))

    def set_deferred(self, property: str, value: Any) -> None:
        """Set ``property`` to ``value`` at the end of the frame (Godot's
        ``set_deferred``), on the thread that runs the node's tree."""
        self._defer(self._deferred_set, (property, value))

    def _defer(self, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        if self._tree is None:
            call_deferred(callback, *args)
        else:
            self._tree._deferred_queue.append((callback, args))

    def _deferred_call(self, method: str, args: tuple[Any, ...]) -> None:
        if not self._freed:
            getattr(self, method)(*args)

    def _deferred_set(self, property: str, value: Any) -> None:
        if not self._freed:
            setattr(self, property, value)

    def _free_name(self, name: str, readable: bool) -> str:
        if readable:
            stem = name.rstrip("0123456789") or name
            digits = name[len(stem) :]
            start = int(digits) + 1 if digits and stem != name else 2
            for i in itertools.count(start):
                candidate = f"{stem}{i}"
                if candidate not in self._children:
                    return candidate
        while True:
            candidate = f"@{name}@{next(_auto_names)}"
            if candidate not in self._children:
                return candidate

    def _has_ancestor(self, node: Node) -> bool:
        parent = self._parent
        while parent is not None:
            if parent is node:
                return True
            parent = parent._parent
        return False

    # Paths.

    def get_path(self) -> str:
        """The absolute path, e.g. ``/root/Lobby/Players/2``.

        Raises:
            InvalidState: The node is not inside a tree.
        """
        if self._path is None:
            if self._tree is None:
                raise InvalidState(f"{self._name!r} is not inside a tree: it has no path")
            if self._parent is None:
                self._path = "/" + self._name
            else:
                self._path = self._parent.get_path() + "/" + self._name
        return self._path

    def get_node(self, path: str) -> Node:
        """The node at ``path``: relative (``"Players/2"``, ``".."``) or absolute.

        Raises:
            LookupError: No node there.
        """
        node = self.get_node_or_null(path)
        if node is None:
            raise LookupError(f"node not found: {path!r} (relative to {self._describe()})")
        return node

    def get_node_or_null(self, path: str) -> Node | None:
        """Like ``get_node``, but None when there is no such node."""
        node: Node | None = self
        if path.startswith("/"):
            if self._tree is None:
                return None
            node = self._tree.root
            parts = path[1:].split("/")
            if parts[0] != node._name:
                return None
            parts = parts[1:]
        else:
            parts = path.split("/")
        for part in parts:
            if node is None:
                return None
            if part in ("", "."):
                continue
            node = node._parent if part == ".." else node._children.get(part)
        return node

    def has_node(self, path: str) -> bool:
        return self.get_node_or_null(path) is not None

    def is_inside_tree(self) -> bool:
        return self._tree is not None

    def is_node_ready(self) -> bool:
        """Whether ``_ready`` has run (Godot: it runs once, the first time the node
        enters a tree; leaving and re-entering does not run it again)."""
        return self._ready_done

    def get_tree(self) -> SceneTree:
        """The tree this node is in.

        Raises:
            InvalidState: The node is not inside a tree.
        """
        if self._tree is None:
            raise InvalidState(f"{self._name!r} is not inside a tree")
        return self._tree

    def is_ancestor_of(self, node: Node) -> bool:
        return node._has_ancestor(self)

    def _describe(self) -> str:
        return self.get_path() if self._tree is not None else repr(self._name)

    def _invalidate_paths(self) -> None:
        stack = [self]
        while stack:
            node = stack.pop()
            node._path = None
            stack.extend(node._children.values())

    # Lifecycle propagation.

    def _propagate_enter(self, tree: SceneTree) -> None:
        self._tree = tree
        self._path = None
        tree._node_count += 1
        tree._version += 1
        if self._groups:
            tree._groups.entered(self)
        if self._processes():
            tree._process_lists.update(self)
        self._call_hook("_enter_tree", self._enter_tree())
        self.tree_entered.emit()
        if self._parent is not None:
            self._parent.child_entered_tree.emit(self)
        tree.node_added.emit(self)
        for child in list(self._children.values()):
            # a child added by an _enter_tree above has entered already (Godot checks
            # is_inside_tree() likewise)
            if child._parent is self and child._tree is None:
                child._propagate_enter(tree)

    def _propagate_ready(self) -> None:
        for child in list(self._children.values()):
            child._propagate_ready()
        if not self._ready_done and self._tree is not None:
            self._ready_done = True
            self._notify_ready()
            self._call_hook("_ready", self._ready())
            self.ready.emit()

    def _propagate_exit(self) -> None:
        for child in reversed(list(self._children.values())):
            if child._parent is self and child._tree is not None:  # not removed meanwhile
                child._propagate_exit()
        self._call_hook("_exit_tree", self._exit_tree())
        self.tree_exiting.emit()
        if self._parent is not None:
            self._parent.child_exiting_tree.emit(self)
        tree = self._tree
        if tree is not None:
            if self._groups:
                tree._groups.exited(self)
            tree.node_removed.emit(self)
            tree._node_count -= 1
            tree._version += 1

    def _propagate_exited(self) -> None:
        if self._tree is not None and self._processes():
            # (here rather than at exit: a hook of the leaving branch may still
            # set_process until the node is out)
            self._tree._process_lists.remove(self)
        self._tree = None
        self._path = None
        for child in self._children.values():
            child._propagate_exited()
        self.tree_exited.emit()

    def _notify_ready(self) -> None:
        """The library's own work at ready, before ``_ready`` (Godot's
        ``NOTIFICATION_READY``): processing starts if the class defines the hooks."""
        self._start_processing()

    def _call_hook(self, hook: str, result: Awaitable[None] | None) -> None:
        if result is not None:
            hooks.start(self, hook, result)

    def _walk(self) -> Iterator[Node]:
        """This node and its descendants, depth first, in tree order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node._children.values()))
