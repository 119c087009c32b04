"""The @rpc decorator: Godot's arguments, defaults and error messages."""

from __future__ import annotations

from typing import Any

import pytest

from multiplayer import Node, RPCConfig, RPCMode, TransferMode, rpc
from multiplayer.scene.rpc import BoundRPC, RPCMethod, parse_rpc_arguments


def test_defaults_are_godots() -> None:
    """A bare @rpc is authority, call_remote, reliable, channel 0 (Godot 4's parser)."""

    class N(Node):
        @rpc
        def f(self) -> None: ...

    assert N._rpc_methods["f"].config == RPCConfig(
        RPCMode.AUTHORITY, call_local=False, transfer_mode=TransferMode.RELIABLE, channel=0
    )


@pytest.mark.parametrize(
    "arguments",
    [
        ("any_peer", "call_local", "reliable"),
        ("reliable", "any_peer", "call_local"),
        ("call_local", "reliable", "any_peer"),
    ],
)
def test_first_three_in_any_order(arguments: tuple[str, ...]) -> None:
    """Mode, locality and transfer mode may come in any order."""
    config = parse_rpc_arguments(arguments)
    assert config.rpc_mode is RPCMode.ANY_PEER
    assert config.call_local
    assert config.transfer_mode is TransferMode.RELIABLE


def test_channel_comes_last() -> None:
    """An int after the keywords is the channel; anywhere else it is an error."""
    assert parse_rpc_arguments(("any_peer", "unreliable_ordered", 3)).channel == 3
    assert parse_rpc_arguments((2,)).channel == 2
    with pytest.raises(ValueError, match="last"):
        parse_rpc_arguments((1, "any_peer"))
    with pytest.raises(ValueError, match=r"0\.\.255"):
        parse_rpc_arguments(("any_peer", 256))


@pytest.mark.parametrize(
    ("arguments", "axis"),
    [
        (("call_local", "call_remote"), "locality"),
        (("any_peer", "authority"), "permission"),
        (("reliable", "unreliable"), "transfer mode"),
    ],
)
def test_an_axis_twice_is_refused(arguments: tuple[str, ...], axis: str) -> None:
    """Giving one axis twice raises Godot's 'no more than once' message."""
    with pytest.raises(ValueError, match=f"The {axis} .* must be specified no more than once"):
        parse_rpc_arguments(arguments)


def test_unknown_keyword_is_refused() -> None:
    """A keyword that is not one of Godot's raises its 'Invalid RPC argument' message."""
    with pytest.raises(ValueError, match="Invalid RPC argument"):
        rpc("remote")  # Godot 3's keyword


def test_rpc_once_per_function() -> None:
    """Decorating twice raises, as in GDScript."""
    with pytest.raises(ValueError, match="only be used once"):

        class N(Node):
            @rpc
            @rpc("any_peer")
            def f(self) -> None: ...


def test_bound_method_spelling() -> None:
    """On an instance an @rpc method is a BoundRPC: a plain call runs it locally."""

    class N(Node):
        @rpc("any_peer")
        def add(self, a: int, b: int) -> int:
            return a + b

    node = N()
    bound = node.add
    assert isinstance(bound, BoundRPC)
    assert isinstance(N.add, RPCMethod)
    assert bound(2, 3) == 5
    assert node.add == node.add
    with pytest.raises(TypeError, match="positional"):
        bound.rpc(a=1)  # type: ignore[call-arg]


def test_subclasses_inherit_and_override() -> None:
    """RPC methods are inherited; a plain override stops being an RPC."""

    class Base(Node):
        @rpc
        def a(self) -> None: ...

        @rpc
        def b(self) -> None: ...

    class Child(Base):
        def b(self) -> None: ...  # type: ignore[override]

        @rpc("any_peer")
        def c(self) -> None: ...

    assert set(Child._rpc_methods) == {"a", "c"}
    assert Child().get_rpc_config("b") is None


def test_rpc_config_dictionary() -> None:
    """rpc_config takes Godot's dictionary form; None removes it; bad keys raise."""
    node = Node()
    node.rpc_config("get_path", {"rpc_mode": RPCMode.ANY_PEER, "call_local": True})
    config = node.get_rpc_config("get_path")
    assert config is not None
    assert config.rpc_mode is RPCMode.ANY_PEER
    assert config.call_local
    assert config.transfer_mode is TransferMode.RELIABLE  # Godot's dictionary default
    assert node.get_node_rpc_config() == {"get_path": config}
    node.rpc_config("get_path", None)
    assert node.get_rpc_config("get_path") is None
    with pytest.raises(ValueError, match="unknown rpc config keys"):
        node.rpc_config("get_path", {"mode": 1})
    with pytest.raises(ValueError, match="needs rpc_mode"):  # Godot would skip it
        node.rpc_config("get_path", {"call_local": True})
    with pytest.raises(ValueError, match="no method"):
        node.rpc_config("nope", {"rpc_mode": 1})


def test_async_methods_are_marked() -> None:
    """An async def RPC is recognised as a coroutine function."""

    class N(Node):
        @rpc
        async def f(self, x: Any) -> None: ...

    assert N._rpc_methods["f"].is_coroutine
