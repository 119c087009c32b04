"""``MultiplayerAPI``: what the scene tree and its nodes need of a multiplayer layer.

Godot keeps this abstract class in ``scene/main`` and its implementation,
SceneMultiplayer, in a module of its own that registers itself as the default
interface (``MultiplayerAPI.set_default_interface``). The same seam keeps this layer
free of networking: the tree asks for "the default API" and never imports the
package that provides it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import InvalidState
from ..signals import Signal

if TYPE_CHECKING:
    from ..transport.peer import MultiplayerPeer
    from .node import Node
    from .tree import SceneTree

__all__ = ["MultiplayerAPI"]


class MultiplayerAPI(ABC):
    """Godot's MultiplayerAPI. ``MultiplayerAPI()`` makes the default interface
    (:class:`~multiplayer.SceneMultiplayer`), as ``create_default_interface()`` does.

    Signals (Godot's, and those of resuming sessions):
        peer_connected(id), peer_disconnected(id): a peer joined or left.
        connected_to_server(), connection_failed(), server_disconnected(): clients only.
        peer_dropped(id), peer_resumed(id): the link of a peer was lost and its session
            waits to resume (the peer stays in ``get_peers()``); it is back, with
            nothing lost. ``peer_disconnected`` follows only if it does not come
            back (docs/resume.md).
        connection_lost(), reconnected(): the same on a client, for its link to the
            server; ``server_disconnected`` follows only if the client gives up.
    """

    _default: ClassVar[type[MultiplayerAPI] | None] = None

    def __init__(self) -> None:
        self.peer_connected: Signal[int] = Signal("peer_connected")
        self.peer_disconnected: Signal[int] = Signal("peer_disconnected")
        self.connected_to_server: Signal[()] = Signal("connected_to_server")
        self.connection_failed: Signal[()] = Signal("connection_failed")
        self.server_disconnected: Signal[()] = Signal("server_disconnected")
        self.peer_dropped: Signal[int] = Signal("peer_dropped")
        self.peer_resumed: Signal[int] = Signal("peer_resumed")
        self.connection_lost: Signal[()] = Signal("connection_lost")
        self.reconnected: Signal[()] = Signal("reconnected")

    def __new__(cls, *args: Any, **kwargs: Any) -> MultiplayerAPI:
        # Calling the abstract class builds the default implementation, as Godot's
        # create_default_interface() does; Python then runs its __init__ once.
        if cls is MultiplayerAPI:
            cls = MultiplayerAPI._default_class()
        return super().__new__(cls)

    @staticmethod
    def set_default_interface(cls: type[MultiplayerAPI]) -> None:
        """Make ``cls`` what :meth:`create_default_interface` (and every new
        :class:`~multiplayer.SceneTree`) uses."""
        if not (isinstance(cls, type) and issubclass(cls, MultiplayerAPI)):
            raise TypeError(f"{cls!r} is not a MultiplayerAPI subclass")
        MultiplayerAPI._default = cls

    @staticmethod
    def get_default_interface() -> type[MultiplayerAPI]:
        return MultiplayerAPI._default_class()

    @staticmethod
    def create_default_interface() -> MultiplayerAPI:
        """A new instance of the default interface."""
        return MultiplayerAPI._default_class()()

    @staticmethod
    def _default_class() -> type[MultiplayerAPI]:
        if MultiplayerAPI._default is None:
            raise InvalidState(
                "no default multiplayer API is registered (import multiplayer, which "
                "registers SceneMultiplayer)"
            )
        return MultiplayerAPI._default

    # -- what the tree drives ------------------------------------------------------

    root_path: str

    @abstractmethod
    def _bind(self, tree: SceneTree | None, root_path: str) -> None:
        """Serve the branch of ``tree`` at ``root_path`` (the tree calls this)."""

    @abstractmethod
    def poll(self) -> None:
        """Take in what arrived, run its RPCs, and replicate (once a frame)."""

    @abstractmethod
    def _poll(self, replicate: bool) -> None:
        """``poll()``, or between frames without replication."""

    @property
    @abstractmethod
    def multiplayer_peer(self) -> MultiplayerPeer | None: ...

    # -- what nodes call ------------------------------------------------------------

    @abstractmethod
    def get_unique_id(self) -> int: ...

    @abstractmethod
    def is_server(self) -> bool: ...

    @abstractmethod
    def get_remote_sender_id(self) -> int: ...

    @abstractmethod
    def get_peers(self) -> list[int]: ...

    @abstractmethod
    def rpc(self, peer: int, node: Node, method: str, args: Sequence[Any] = ()) -> None:
        """Call ``method`` of ``node`` on ``peer`` (0: every peer)."""

    @abstractmethod
    async def rpc_call(
        self,
        peer: int,
        node: Node,
        method: str,
        args: Sequence[Any] = (),
        timeout: float | None = None,
    ) -> Any:
        """Call ``method`` of ``node`` on ``peer`` and return what it returns."""
