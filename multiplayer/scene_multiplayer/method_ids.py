"""Godot's RPC method ids: a method's index among its node's RPC names, sorted.

Godot sends no method names (``SceneRPCInterface::_parse_rpc_config``): both sides
sort the node's RPC method names and a call carries the index. Names configured on
the node itself (``Node.rpc_config``) come first, sorted, with bit 15 set on their
ids; then the script's (``@rpc``), sorted, from 0. The names are sorted by Unicode
code point, as Python sorts ``str``. A SIMPLIFY_PATH carries the md5 of all the
names in id order (``get_rpc_md5``), so a receiver whose node lists other methods
can tell: the ids would then name other methods.

Used by the profiles whose format says ``sorted_method_ids`` (Godot's); the native
profile defines method names by id instead (SIMPLIFY_NAME).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from ..scene.node import Node

__all__ = ["NODE_LEVEL", "MethodIds", "method_ids"]

NODE_LEVEL = 1 << 15
"""Set on the ids of methods configured with ``Node.rpc_config``."""

_by_class: dict[type, MethodIds] = {}
# Nodes with node-level configs: the configs their ids were built from, and the ids.
_by_node: WeakKeyDictionary[Node, tuple[dict[str, Any], MethodIds]] = WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class MethodIds:
    """One node's RPC methods by id and ids by name, and their checksum."""

    names: dict[int, str]
    ids: dict[str, int]
    checksum: str

    @classmethod
    def build(cls, node_level: list[str], script_level: list[str]) -> MethodIds:
        names: dict[int, str] = {}
        for index, name in enumerate(sorted(node_level)):
            names[index | NODE_LEVEL] = name
        for index, name in enumerate(sorted(script_level)):
            names[index] = name
        # A name configured both ways takes its script id, as in Godot (its ids map
        # is filled node level first, then script level over it).
        ids = {name: method_id for method_id, name in names.items()}
        checksum = hashlib.md5("".join(names.values()).encode()).hexdigest()
        return cls(names, ids, checksum)


def method_ids(node: Node) -> MethodIds:
    """``node``'s method ids (those of its class, unless it has node-level configs)."""
    node_level = node._node_rpc_config
    if node_level:
        cached = _by_node.get(node)
        if cached is not None and cached[0] == node_level:
            return cached[1]
        ids = MethodIds.build(list(node_level), list(node._rpc_methods))
        _by_node[node] = (dict(node_level), ids)
        return ids
    cls = type(node)
    found = _by_class.get(cls)
    if found is None:
        found = _by_class[cls] = MethodIds.build([], list(cls._rpc_methods))
    return found
