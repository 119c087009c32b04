"""The path cache: short ids for node paths and method names (Godot's SceneCacheInterface).

Godot replaces a node path with a small id once the receiver has it
(``SceneCacheInterface::send_object_cache``, scene_cache_interface.cpp). Here the
same scheme also serves method names, so a call carries neither the path nor the
name after the first time (and, unlike Godot, does not depend on both sides listing
the same RPC methods in the same order).

Sending side (:class:`IdCache`): the API gives each string one id, from a counter
that only grows until ``clear()``, and remembers which peers were told. The
definition goes out reliably before the first packet that uses the id; the ordered
link delivers it first, so no packet waits for the confirmation. A node path's id
is retired when its node leaves the tree (the receivers are told to forget it), so
the tables hold the live nodes, not every node a long session ever had.

Receiving side (:class:`RemoteIds`, one per peer and kind, in the peer's session):
each peer's ids are kept apart, so no peer can change what another peer's ids mean,
and their number is capped. Paths are checked on arrival (no way out of the API's
branch); a missing node is answered, not refused (``CONFIRM_PATH`` with ``ok``
false), since a peer may rightly lack a node another has.

Godot's profile (the format's ``inline_paths`` and ``sorted_method_ids``) differs
in four ways, all Godot's (scene_cache_interface.cpp, scene_rpc_interface.cpp):
method ids are indices among the node's sorted RPC names (:mod:`.method_ids`), not
defined ids; a SIMPLIFY_PATH carries the md5 of those names and its CONFIRM_PATH
says whether they matched; a path id is used only once the receiver confirmed it,
and calls until then carry the path itself; a receiver lacking the node does not
answer, and no FORGET_PATH exists. A sender never reuses an id, so a stale one is
never used again; but a receiver's table only grows, so once it is full new paths
are not confirmed, and calls to them go on by path.

:class:`PathCache` is the part of SceneMultiplayer that runs both sides and looks
nodes up by wire path (a path relative to ``root_path``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..exceptions import DecodingError, InvalidState
from ..peer_sets import PeerSet, PeerSlots
from ..protocol.messages import (
    ConfirmPath,
    ForgetPath,
    Message,
    SimplifyName,
    SimplifyPath,
    check_method_name,
    check_wire_path,
)
from ..transport.peer import TransferMode
from .method_ids import method_ids
from .refusals import Race, Refusal

if TYPE_CHECKING:
    from ..scene.node import Node
    from ..scene.tree import SceneTree
    from .refusals import RefusalLog
    from .relay import ServerRelay
    from .session import PeerSession, SessionTable

__all__ = ["DEFAULT_MAX_REMOTE_IDS", "IdCache", "PathCache", "RemoteIds"]

DEFAULT_MAX_REMOTE_IDS = 65536
MAX_GONE = 1024
"""How many paths of nodes that left the tree are remembered, to tell a call that
raced their leaving from a call for a node that never was."""
RACE_WINDOW = 5.0
"""Seconds after a node left the tree during which a call for it is a race: more
than any honest packet takes to arrive, so that a peer cannot call freed nodes
uncounted for ever."""

_NOBODY: list[int] = []  # (returned, never changed)

_RELIABLE = TransferMode.RELIABLE


class IdCache:
    """Our ids for one kind of string, and which peers were told each.

    Args:
        kind: What the ids stand for ("path" or "name"), for messages.
        slots: The peers' bits for the sets of peers kept per id; shared with
            whoever else keeps such sets (releasing a peer leaves them all).
    """

    def __init__(self, kind: str, slots: PeerSlots | None = None) -> None:
        self.kind = kind
        self._ids: dict[str, int] = {}
        self._texts: dict[int, str] = {}  # the other way round
        self._last_id = 0
        # Per id, as PeerSets (a bit per peer: a server has an id per node and peer):
        self._slots = PeerSlots() if slots is None else slots
        self._told: dict[int, PeerSet] = {}  # the peers that were sent it
        self._answered: dict[int, PeerSet] = {}  # ...that answered it
        self._resolved: dict[int, PeerSet] = {}  # ...that answered it has a node there

    def local_id(self, text: str) -> int:
        """Our id for ``text``, assigned on first use (ids start at 1)."""
        found = self._ids.get(text)
        if found is None:
            self._last_id += 1
            found = self._ids[text] = self._last_id
            self._texts[found] = text
            self._told[found] = PeerSet(self._slots)
        return found

    def id_for(self, text: str, peers: list[int]) -> tuple[int, list[int]]:
        """Our id for ``text`` and the ``peers`` new to it, now marked told (the
        caller sends them the definition): ``local_id`` and ``tell`` in one call."""
        found = self._ids.get(text)
        if found is None:
            found = self.local_id(text)
        told = self._told[found]
        if told.issuperset(peers):
            return found, _NOBODY
        new = [peer for peer in peers if peer not in told]
        told.update(new)
        return found, new

    def has_local(self, text: str) -> bool:
        return text in self._ids

    def told(self, local_id: int) -> PeerSet:
        """The peers that were sent our ``local_id`` (do not change it)."""
        return self._told[local_id]

    def retire(self, text: str) -> tuple[int, PeerSet] | None:
        """Stop using our id for ``text``: (the id, the peers that were told it).

        A later ``local_id(text)`` gives a new id: ids are never reused.
        """
        local_id = self._ids.pop(text, None)
        if local_id is None:
            return None
        del self._texts[local_id]
        told = self._told.pop(local_id)
        self._answered.pop(local_id, None)
        self._resolved.pop(local_id, None)
        return local_id, told

    def confirm(self, peer: int, local_id: int, ok: bool) -> bool | None:
        """Record the receiver's answer; False if the id was never sent to it, or it
        answered already (an honest peer answers each definition once); None if the
        id was retired meanwhile (an honest race: the answer crossed the retirement)."""
        if 0 < local_id <= self._last_id and local_id not in self._told:
            return None
        if local_id not in self._told or peer not in self._told[local_id]:
            return False
        answered = self._answered.get(local_id)
        if answered is None:
            answered = self._answered[local_id] = PeerSet(self._slots)
            self._resolved[local_id] = PeerSet(self._slots)
        elif peer in answered:
            return False
        answered.add(peer)
        if ok:
            self._resolved[local_id].add(peer)
        return True

    def is_confirmed(self, local_id: int, peer: int) -> bool | None:
        """True or False once ``peer`` answered for ``local_id``; None before."""
        answered = self._answered.get(local_id)
        if answered is None or peer not in answered:
            return None
        return peer in self._resolved[local_id]

    def text_of(self, local_id: int) -> str | None:
        return self._texts.get(local_id)

    def forget_peer(self, peer: int) -> None:
        """``peer`` left: it was told nothing (nor is it in any set of the slots)."""
        self._slots.release(peer)

    def clear(self) -> None:
        self._ids.clear()
        self._texts.clear()
        self._last_id = 0
        self._told.clear()
        self._answered.clear()
        self._resolved.clear()
        self._slots.clear()


class RemoteIds(dict[int, str]):
    """The ids one peer defined for one kind of string (``get`` looks one up).

    Args:
        kind: What the ids stand for ("path" or "name"), for messages.
        limit: How many ids the peer may define.
    """

    __slots__ = ("kind", "limit")

    def __init__(self, kind: str, limit: int = DEFAULT_MAX_REMOTE_IDS) -> None:
        super().__init__()
        self.kind = kind
        self.limit = limit

    def define(self, remote_id: int, text: str) -> None:
        """The peer says its ``remote_id`` means ``text``.

        Raises:
            DecodingError: The id is not positive, was defined already, or the peer
                defined ``limit`` ids already.
        """
        if remote_id <= 0:
            raise DecodingError(f"{self.kind} id {remote_id} is not positive")
        if remote_id in self:
            raise DecodingError(f"duplicate {self.kind} id {remote_id}")
        if len(self) >= self.limit:
            raise DecodingError(f"more than {self.limit} {self.kind} ids")
        self[remote_id] = text

    def undefine(self, remote_id: int) -> bool:
        """The peer stopped using ``remote_id``; False if it never defined it."""
        return self.pop(remote_id, None) is not None


class PathCache:
    """Ids for paths and names both ways, and node lookups by wire path."""

    def __init__(
        self,
        sessions: SessionTable,
        relay: ServerRelay,
        refusals: RefusalLog,
        slots: PeerSlots | None = None,
    ) -> None:
        self._sessions = sessions
        self._relay = relay
        self._refusals = refusals
        self.paths = IdCache("path", slots)
        self.names = IdCache("name")
        self._tree: SceneTree | None = None
        self.root_path = ""
        # Wire paths of nodes that left the tree lately, oldest first, with when they
        # left: a call for one within RACE_WINDOW is a race (the sender's copy was
        # still there), not a violation.
        self._gone: dict[str, float] = {}
        # Node lookups both ways, valid while the tree is unchanged (its _version):
        self._nodes: dict[str, Node] = {}  # wire path -> node
        self._wire_paths: dict[Node, str] = {}  # node -> wire path
        self._version = -1
        self._looked_in: SceneTree | None = None

    @property
    def tree(self) -> SceneTree | None:
        """The tree whose nodes wire paths name."""
        return self._tree

    @tree.setter
    def tree(self, tree: SceneTree | None) -> None:
        if tree is self._tree:
            return
        if self._tree is not None:
            self._tree.node_removed.disconnect(self._on_node_removed)
        self._tree = tree
        self._gone.clear()
        if tree is not None:
            tree.node_removed.connect(self._on_node_removed)

    def _on_node_removed(self, node: Node) -> None:
        root = self.root_path
        absolute = node.get_path()
        if root and absolute.startswith(root + "/"):
            gone = self._gone
            path = absolute[len(root) + 1 :]
            gone.pop(path, None)  # (re-inserted: the order is that of leaving)
            gone[path] = time.monotonic()
            if len(gone) > MAX_GONE:
                del gone[next(iter(gone))]

    # Sending side.

    def announce(self, targets: list[int], node: Node, method: str = "") -> tuple[int, int]:
        """Our ids for ``node`` and ``method`` (0 without one), each defined first for
        the ``targets`` new to it.

        Several targets are written at once: only the server sends one packet to
        several peers, and they are its neighbours.
        """
        path = self.wire_path(node)
        paths = self.paths
        if not paths.has_local(path):
            node.tree_exiting.connect(lambda: self._retire(path), one_shot=True)
        path_id, new = paths.id_for(path, targets)
        packet_format = self._relay.format
        if new:
            checksum = method_ids(node).checksum if packet_format.inline_paths else ""
            self._define(new, SimplifyPath(path_id, path, checksum))
        if not method:
            return path_id, 0
        if packet_format.sorted_method_ids:
            return path_id, method_ids(node).ids[method]
        name_id, new = self.names.id_for(method, targets)
        if new:
            self._define(new, SimplifyName(name_id, method))
        return path_id, name_id

    def unconfirmed(self, path_id: int, targets: list[int]) -> list[int]:
        """The ``targets`` that have not answered our ``path_id`` yet: in a profile
        with ``inline_paths``, calls to them carry the path itself."""
        is_confirmed = self.paths.is_confirmed
        return [t for t in targets if is_confirmed(path_id, t) is None]

    def _define(self, peers: list[int], message: Message) -> None:
        packet = self._relay.format.encode(message)
        if len(peers) == 1:
            self._relay.route(peers[0], packet, _RELIABLE, 0)
        else:
            self._relay.write(peers, packet, _RELIABLE, 0)

    def _retire(self, path: str) -> None:
        """The node at ``path`` leaves the tree: its id goes, everywhere it was told."""
        retired = self.paths.retire(path)
        if retired is None:
            return
        path_id, told = retired
        if self._relay.format.inline_paths:
            return  # (Godot has no FORGET_PATH: its receivers keep stale ids)
        packet = self._relay.format.encode(ForgetPath(path_id))
        for peer_id in told:
            if peer_id in self._sessions.admitted:
                self._relay.route(peer_id, packet, _RELIABLE, 0)

    # Receiving side.

    def on_simplify_path(self, session: PeerSession, message: SimplifyPath) -> None:
        if self._relay.format.inline_paths:
            self._on_checked_path(session, message)
            return
        _define(session.paths, message.path_id, message.path, check_wire_path)
        # A missing node is reported with the first call that needs it (one line
        # naming path, method and sender); here the sender is only told.
        ok = self.resolve(message.path) is not None
        confirm = self._relay.format.encode(ConfirmPath(message.path_id, ok))
        self._relay.route(session.peer_id, confirm, _RELIABLE, 0)

    def _on_checked_path(self, session: PeerSession, message: SimplifyPath) -> None:
        """Godot's ``process_simplify_path``: no answer for a node we lack (its calls
        then fail one by one, each logged), else the answer says whether the RPC
        names' checksums matched."""
        _check_path(message.path)
        node = self.resolve(message.path)
        if node is None:
            # (One kind for every path: a peer cannot flood the log with new ones.)
            reason = f"peer announced {message.path!r}, which has no node here"
            self._refusals.note(session.peer_id, ("lacks",), reason)
            return
        table = session.paths
        if len(table) >= table.limit and message.path_id not in table:
            # Godot's receivers never forget a path id, and its senders give every new
            # node a new one, so an honest peer of a long session can fill the table.
            # Unconfirmed, its calls go on naming the node by path, as Godot's do.
            reason = f"more than {table.limit} path ids: calls by path from now on"
            self._refusals.note(session.peer_id, ("paths full",), reason)
            return
        _define(table, message.path_id, message.path, check_wire_path)
        ok = method_ids(node).checksum == message.checksum
        if not ok:
            self._refusals.note(session.peer_id, ("checksum", message.path), _mismatch(node))
        confirm = self._relay.format.encode(ConfirmPath(message.path_id, ok))
        self._relay.route(session.peer_id, confirm, _RELIABLE, 0)

    def on_simplify_name(self, session: PeerSession, message: SimplifyName) -> None:
        _define(session.names, message.name_id, message.name, check_method_name)

    def on_forget_path(self, session: PeerSession, message: ForgetPath) -> None:
        if not session.paths.undefine(message.path_id):
            raise Refusal(("forget",), f"forget of unknown path id {message.path_id}")

    def on_confirm_path(self, session: PeerSession, message: ConfirmPath) -> None:
        confirmed = self.paths.confirm(session.peer_id, message.path_id, message.ok)
        if confirmed is None:
            return  # the node left meanwhile
        if not confirmed:
            reason = f"confirmation of path id {message.path_id}: unknown, or confirmed already"
            raise Refusal(("confirm",), reason)
        if not message.ok and self._relay.format.inline_paths:
            path = self.paths.text_of(message.path_id)
            node = self.resolve(path) if path is not None else None
            reason = _mismatch(node) if node is not None else f"checksum mismatch on {path!r}"
            self._refusals.note(session.peer_id, ("checksum", path), reason)
        elif not message.ok:
            # An honest answer, not a violation: a peer may lack a node we call (it
            # was freed there, or never spawned), and must not be kicked for saying so.
            path = self.paths.text_of(message.path_id)
            reason = f"peer has no node at {path!r}: RPCs to it will fail"
            self._refusals.note(session.peer_id, ("lacks", path), reason)

    def call_target(
        self, session: PeerSession, path_id: int, name_id: int, path: str | None
    ) -> tuple[Node, str, str]:
        """The node, its wire path and the method a call from ``session``'s peer names.

        Raises:
            Refusal: An unknown id, a bad path, or no such node.
        """
        if path is not None:
            _check_path(path)  # (a Godot call before its path was confirmed)
        else:
            path = session.paths.get(path_id)
        if self._relay.format.sorted_method_ids:
            if path is None:
                raise Refusal(("unknown id", "path"), "RPC with an unknown path id")
            node = self._node_at(path, f"method id {name_id}")
            method = method_ids(node).names.get(name_id)
            if method is None:
                reason = f"RPC with method id {name_id} on {path!r}, which has no such method"
                raise Refusal(("call", path, name_id), reason)
            return node, path, method
        method = session.names.get(name_id)
        if path is None or method is None:
            which = "path" if path is None else "method name"
            raise Refusal(("unknown id", which), f"RPC with an unknown {which} id")
        return self._node_at(path, method), path, method

    def _node_at(self, path: str, method: object) -> Node:
        node = self.resolve(path)
        if node is None:
            left = self._gone.get(path)
            if left is not None and time.monotonic() - left < RACE_WINDOW:
                # freed here while the call was on its way
                raise Race(("gone", path), f"RPC {method!r} on {path!r}, which left the tree")
            raise Refusal(("call", path, method), f"RPC {method!r} on {path!r}: no such node")
        return node

    # Node lookups.

    def wire_path(self, node: Node) -> str:
        """``node``'s path relative to ``root_path``, as it travels.

        Raises:
            InvalidState: ``root_path`` is not set, or ``node`` is outside it.
        """
        tree = node._tree
        if tree is not None:
            if tree._version != self._version or tree is not self._looked_in:
                self._forget_lookups(tree)
            cached = self._wire_paths.get(node)
            if cached is not None:
                return cached
            if self.tree is None:
                self.tree = tree  # an API used before any tree bound it
        absolute = node.get_path()
        root = self.root_path
        if not root:
            raise InvalidState(
                "the multiplayer root_path is not set (use SceneTree.set_multiplayer)"
            )
        if absolute == root:
            path = "."
        elif absolute.startswith(root + "/"):
            path = absolute[len(root) + 1 :]
        else:
            raise InvalidState(f"{absolute} is outside this multiplayer's root {root}")
        self._wire_paths[node] = path
        return path

    def resolve(self, path: str) -> Node | None:
        """The node at wire path ``path``, or None."""
        tree = self.tree
        if tree is None or not self.root_path:
            return None
        if tree._version != self._version or tree is not self._looked_in:
            self._forget_lookups(tree)
        node = self._nodes.get(path)
        if node is None:
            node = self._find(tree, path)
            if node is not None:
                self._nodes[path] = node
        return node

    def refresh(self) -> None:
        """Drop lookups the tree's changes made stale, so no freed node stays alive
        in them (once a frame)."""
        tree = self.tree
        if (
            tree is not None
            and tree._version != self._version
            and (self._nodes or self._wire_paths)
        ):
            self._forget_lookups(tree)

    def set_root(self, root_path: str) -> None:
        self.root_path = root_path
        self._version = -1  # cached lookups were relative to the old root

    def _forget_lookups(self, tree: SceneTree) -> None:
        self._nodes.clear()
        self._wire_paths.clear()
        self._version = tree._version
        self._looked_in = tree

    def _find(self, tree: SceneTree, path: str) -> Node | None:
        # Wire paths are checked on arrival (check_wire_path): children names only,
        # so a peer cannot reach outside this API's branch.
        node = tree.root.get_node_or_null(self.root_path)
        if node is None or path == ".":
            return node
        for name in path.split("/"):
            node = node._children.get(name)
            if node is None:
                return None
        return node

    # Membership.

    def forget_peer(self, peer_id: int) -> None:
        """``peer_id`` left: it knows none of our ids (its own went with its session)."""
        self.paths.forget_peer(peer_id)
        self.names.forget_peer(peer_id)

    def clear(self) -> None:
        self.paths.clear()
        self.names.clear()


def _check_path(path: str) -> None:
    try:
        check_wire_path(path)
    except DecodingError as exc:
        raise Refusal(("path",), str(exc)) from None


def _mismatch(node: Node) -> str:
    names = ", ".join(method_ids(node).names.values())
    return (
        f"the RPC method names of {node._describe()} differ from the peer's (checksum "
        f"mismatch), so method ids may name other methods: give both sides the same RPCs "
        f"(here, in id order: {names or 'none'})"
    )


def _define(table: RemoteIds, remote_id: int, text: str, check: Callable[[str], None]) -> None:
    try:
        check(text)
        table.define(remote_id, text)
    except DecodingError as exc:
        raise Refusal(("define", table.kind), str(exc)) from None
