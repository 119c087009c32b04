"""``Node``: names, paths, the tree's lifecycle, authority and RPC calls.

Lifecycle, as in Godot: when a branch enters the tree, ``_enter_tree`` runs top-down
(parent before children), then ``_ready`` bottom-up (children first, once per node).
When it leaves, ``_exit_tree`` runs bottom-up. ``queue_free`` removes a node at the
end of the current frame. Nodes reach the network through ``node.multiplayer`` (the
API of their branch, looked up at call time), never directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import InvalidState
from ..signals import Signal
from .rpc import RPCConfig, RPCMethod, collect_rpc_methods

if TYPE_CHECKING:
    from ..scene_multiplayer.scene_multiplayer import SceneMultiplayer
    from .tree import SceneTree

__all__ = ["Node", "validate_node_name"]

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


class Node:
    """A node of the scene tree.

    Subclass it and mark methods with ``@rpc`` to call them across the network.

    Signals:
        tree_entered, tree_exiting, tree_exited, ready: lifecycle.
        child_entered_tree(node), child_exiting_tree(node): a direct child came or goes.
    """

    _rpc_methods: ClassVar[dict[str, RPCMethod[Any, Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._rpc_methods = collect_rpc_methods(cls)

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

    def __repr__(self) -> str:
        where = self.get_path() if self._tree is not None else "not in tree"
        return f"<{type(self).__name__} {self._name!r} ({where})>"

    # Lifecycle hooks, for subclasses.

    def _enter_tree(self) -> None:
        """Called when the node enters the tree, before its children."""

    def _ready(self) -> None:
        """Called once, after the node and all its children entered the tree."""

    def _exit_tree(self) -> None:
        """Called when the node leaves the tree, after its children."""

    def _process(self, delta: float) -> None:
        """Called every frame, with the seconds since the last one."""

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
            InvalidState: ``node`` already has a parent, or is an ancestor of this node.
        """
        if node._parent is not None:
            raise InvalidState(f"{node!r} already has a parent; remove_child it first")
        if node is self or self._has_ancestor(node):
            raise InvalidState("a node cannot be added under itself")
        if node._name in self._children:
            node._name = self._free_name(node._name, force_readable_name)
        self._children[node._name] = node
        node._parent = self
        node._invalidate_paths()
        if self._tree is not None:
            node._propagate_enter(self._tree)
            node._propagate_ready()

    def remove_child(self, node: Node) -> None:
        """Detach ``node`` (and its branch) from this node, leaving the tree if inside.

        Raises:
            InvalidState: ``node`` is not a child of this node.
        """
        if node._parent is not self:
            raise InvalidState(f"{node!r} is not a child of {self!r}")
        if self._tree is not None:
            node._propagate_exit()
        del self._children[node._name]
        node._parent = None
        node._invalidate_paths()
        node._propagate_exited()

    def queue_free(self) -> None:
        """Remove this node at the end of the current frame (at once if not in a tree)."""
        if self._tree is None:
            if self._parent is not None:
                self._parent.remove_child(self)
            return
        if not self._queued_free:
            self._queued_free = True
            self._tree._free_queue.append(self)

    def is_queued_for_deletion(self) -> bool:
        return self._queued_free

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
        self._enter_tree()
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
            self._ready()
            self.ready.emit()

    def _propagate_exit(self) -> None:
        for child in reversed(list(self._children.values())):
            if child._parent is self and child._tree is not None:  # not removed meanwhile
                child._propagate_exit()
        self._exit_tree()
        self.tree_exiting.emit()
        if self._parent is not None:
            self._parent.child_exiting_tree.emit(self)
        tree = self._tree
        if tree is not None:
            tree.node_removed.emit(self)
            tree._node_count -= 1
            tree._version += 1

    def _propagate_exited(self) -> None:
        self._tree = None
        self._path = None
        for child in self._children.values():
            child._propagate_exited()
        self.tree_exited.emit()

    def _walk(self) -> Iterator[Node]:
        """This node and its descendants, depth first, in tree order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node._children.values()))

    # Multiplayer.

    @property
    def multiplayer(self) -> SceneMultiplayer:
        """The multiplayer API of this node's branch (``SceneTree.get_multiplayer``)."""
        tree = self._tree
        if tree is not None and not tree._branches:
            return tree._multiplayer  # (the usual case, asked on every RPC)
        return self.get_tree().get_multiplayer(self.get_path())

    def set_multiplayer_authority(self, peer_id: int, recursive: bool = True) -> None:
        """Which peer has authority over this node (local state: never sent)."""
        nodes = self._walk() if recursive else iter((self,))
        for node in nodes:
            node._multiplayer_authority = int(peer_id)

    def get_multiplayer_authority(self) -> int:
        """The peer with authority over this node (default 1, the server)."""
        return self._multiplayer_authority

    def is_multiplayer_authority(self) -> bool:
        """Whether this peer is the node's authority.

        Raises:
            InvalidState: The node is not inside a tree.
        """
        return self.multiplayer.get_unique_id() == self._multiplayer_authority

    def rpc(self, method: str, *args: Any) -> None:
        """Call ``method`` on every peer (here too if it is ``call_local``).

        Raises:
            InvalidState: Not in a tree, or not connected.
            ValueError: ``method`` is not an RPC of this node.
        """
        self.multiplayer.rpc(0, self, method, args)

    def rpc_id(self, peer_id: int, method: str, *args: Any) -> None:
        """Call ``method`` on one peer; ``peer_id`` < 0 means every peer but ``-peer_id``.

        Raises:
            InvalidState: Not in a tree, or not connected.
            ValueError: ``method`` is not an RPC of this node, or ``peer_id`` is this
                peer and the method is not ``call_local``.
            PeerNotFound: ``peer_id`` is not connected (Godot only prints an error).
        """
        self.multiplayer.rpc(peer_id, self, method, args)

    async def rpc_call(
        self, peer_id: int, method: str, *args: Any, timeout: float | None = None
    ) -> Any:
        """Call ``method`` on one peer and return its result (awaitable RPC).

        Raises:
            RemoteError: It raised there; RPCRefused: the peer refused the call;
            PeerDisconnected: the peer left first; TimeoutError: no answer within
            ``timeout`` (default: ``multiplayer.rpc_timeout``, 10 s).
        """
        return await self.multiplayer.rpc_call(peer_id, self, method, args, timeout)

    def rpc_config(self, method: str, config: RPCConfig | Mapping[str, Any] | None) -> None:
        """Make ``method`` an RPC of this node only (None: undo).

        ``config`` is an :class:`RPCConfig` or Godot's dictionary form.

        Raises:
            ValueError: No such method, or a bad config.
        """
        if config is None:
            self._node_rpc_config.pop(method, None)
            return
        if not callable(getattr(self, method, None)):
            raise ValueError(f"{type(self).__name__} has no method {method!r}")
        if not isinstance(config, RPCConfig):
            config = RPCConfig.from_dict(config)
        self._node_rpc_config[method] = config

    def get_node_rpc_config(self) -> dict[str, RPCConfig]:
        """The configs set with ``rpc_config`` on this node."""
        return dict(self._node_rpc_config)

    def get_rpc_config(self, method: str) -> RPCConfig | None:
        """The RPC config of ``method`` (node-level first, then ``@rpc``), or None."""
        config = self._node_rpc_config.get(method)
        if config is not None:
            return config
        decorated = self._rpc_methods.get(method)
        return decorated.config if decorated is not None else None
