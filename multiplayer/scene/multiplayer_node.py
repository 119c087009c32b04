"""The multiplayer part of ``Node``: its API, its authority, and its RPC calls.

Nodes reach the network through ``node.multiplayer`` (the API of their branch,
looked up at call time), never directly: this layer knows the abstract
:class:`~multiplayer.scene.api.MultiplayerAPI` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .parts import NodePart
from .rpc import RPCConfig, RPCMethod, collect_rpc_methods

if TYPE_CHECKING:
    from ..scene_multiplayer.scene_multiplayer import SceneMultiplayer

__all__ = ["MultiplayerNode"]


class MultiplayerNode(NodePart):
    """The multiplayer part of :class:`~multiplayer.Node` (a mixin)."""

    _rpc_methods: ClassVar[dict[str, RPCMethod[Any, Any]]] = {}
    _multiplayer_authority: int
    _node_rpc_config: dict[str, RPCConfig]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._rpc_methods = collect_rpc_methods(cls)

    @property
    def multiplayer(self) -> SceneMultiplayer:
        """The multiplayer API of this node's branch (``SceneTree.get_multiplayer``)."""
        tree = self._tree
        if tree is not None and not tree._branches:
            return tree._multiplayer  # (the usual case, asked on every RPC)
        return self.get_tree().get_multiplayer(self.get_path())

    def set_multiplayer_authority(self, peer_id: int, recursive: bool = True) -> None:
        """Which peer has authority over this node (local state: never sent)."""
        nodes = self._walk() if recursive else iter((self._node(),))
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
        self.multiplayer.rpc(0, self._node(), method, args)

    def rpc_id(self, peer_id: int, method: str, *args: Any) -> None:
        """Call ``method`` on one peer; ``peer_id`` < 0 means every peer but ``-peer_id``.

        Raises:
            InvalidState: Not in a tree, or not connected.
            ValueError: ``method`` is not an RPC of this node, or ``peer_id`` is this
                peer and the method is not ``call_local``.
            PeerNotFound: ``peer_id`` is not connected (Godot only prints an error).
        """
        self.multiplayer.rpc(peer_id, self._node(), method, args)

    async def rpc_call(
        self, peer_id: int, method: str, *args: Any, timeout: float | None = None
    ) -> Any:
        """Call ``method`` on one peer and return its result (awaitable RPC).

        Raises:
            RemoteError: It raised there; RPCRefused: the peer refused the call;
            PeerDisconnected: the peer left first; TimeoutError: no answer within
            ``timeout`` (default: ``multiplayer.rpc_timeout``, 10 s).
        """
        return await self.multiplayer.rpc_call(peer_id, self._node(), method, args, timeout)

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
