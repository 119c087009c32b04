"""Tests for :mod:`multiplayer.scene_multiplayer.method_ids`: Godot's RPC method ids."""

from __future__ import annotations

import hashlib

from multiplayer import Node, rpc
from multiplayer.scene_multiplayer.method_ids import NODE_LEVEL, method_ids


class Main(Node):
    """The oracle's node: Godot 4.6 sent md5 0632f0b8... for these four names."""

    @rpc("any_peer")
    def server_hello(self) -> None: ...

    @rpc
    def client_echo(self) -> None: ...

    @rpc("any_peer")
    def peer_msg(self) -> None: ...

    @rpc
    def client_done(self) -> None: ...

    def not_an_rpc(self) -> None: ...


def test_ids_are_indices_in_name_order() -> None:
    ids = method_ids(Main())
    assert ids.names == {0: "client_done", 1: "client_echo", 2: "peer_msg", 3: "server_hello"}
    assert ids.ids["server_hello"] == 3


def test_checksum_is_the_one_godot_computes() -> None:
    """md5 of the names concatenated in id order, as the real engine sent it."""
    assert method_ids(Main()).checksum == "0632f0b807c8e2f2c320858b6654497e"


def test_node_level_configs_come_first_with_bit_15() -> None:
    node = Main()
    node.rpc_config("not_an_rpc", {"rpc_mode": 1})
    ids = method_ids(node)
    assert ids.ids["not_an_rpc"] == NODE_LEVEL | 0
    assert ids.ids["client_done"] == 0
    names = "not_an_rpc" + "client_doneclient_echopeer_msgserver_hello"
    assert ids.checksum == hashlib.md5(names.encode()).hexdigest()
    assert method_ids(Main()).checksum == "0632f0b807c8e2f2c320858b6654497e"  # others unchanged


def test_names_sort_by_code_point() -> None:
    """Godot sorts String by Unicode code point: capitals before lower case."""

    class Mixed(Node):
        @rpc
        def b(self) -> None: ...

        @rpc
        def Z(self) -> None: ...

        @rpc
        def a(self) -> None: ...

    assert list(method_ids(Mixed()).names.values()) == ["Z", "a", "b"]


def test_a_node_without_rpcs_has_the_md5_of_nothing() -> None:
    assert method_ids(Node()).checksum == hashlib.md5(b"").hexdigest()


def test_node_level_ids_follow_rpc_config_changes() -> None:
    """Ids are kept per node, and made again when its rpc_config changes."""
    node = Main()
    node.rpc_config("not_an_rpc", {"rpc_mode": 1})
    first = method_ids(node)
    assert method_ids(node) is first
    node.rpc_config("not_an_rpc", None)
    assert "not_an_rpc" not in method_ids(node).ids
    node.rpc_config("not_an_rpc", {"rpc_mode": 2})
    assert method_ids(node).ids["not_an_rpc"] == NODE_LEVEL
