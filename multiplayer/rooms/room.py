"""``Room``: one match inside a room server, a Godot-style session of its own.

Each room has its own :class:`~multiplayer.scene.tree.SceneTree`, whose default
:class:`~multiplayer.scene_multiplayer.scene_multiplayer.SceneMultiplayer` speaks
through the room's own server-side
:class:`~multiplayer.transport.websocket_multiplayer_peer.WebSocketMultiplayerPeer`:
inside a room the server is peer 1 and its players are 2, 3, …, RPCs, spawners
and synchronizers work as in a one-session server, and groups, timers and pauses
are the room's. A packet of one room cannot reach another: nothing but the
listening socket is shared (the room server hands each connection to one room's
peer before its first message is read).

A room type is a subclass with hooks (``on_create``, ``on_join``, ``on_joined``,
``on_leave``, ``on_shutdown``, ``on_dispose``); each may be a coroutine function.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..exceptions import InvalidState
from ..scene.node import Node
from ..scene.tree import SceneTree
from ..scene_multiplayer.scene_multiplayer import SceneMultiplayer
from ..transport.websocket_multiplayer_peer import WebSocketMultiplayerPeer

if TYPE_CHECKING:
    from ..transport.websocket_server import WebSocketServerSide
    from .server import RoomServer

__all__ = ["JoinRequest", "Room"]

logger = logging.getLogger("multiplayer.rooms")


@dataclasses.dataclass(frozen=True)
class JoinRequest:
    """A player asking to join a room: what ``Room.on_join`` decides on."""

    code: str
    """The room's code."""
    options: Mapping[str, str]
    """The options of the request's URL (``?name=Ann&team=red``)."""
    address: str
    """The player's IP address."""
    headers: Mapping[str, str]
    """The handshake's request headers (names in lower case)."""
    created: bool
    """The room was created for this player (``create``, or ``join_or_create`` that
    found none)."""


class Room:
    """A match: subclass it, set the class attributes, override the hooks, and
    register it with ``RoomServer.define``.

    The room's players are the peers of ``multiplayer`` (``get_peers()``); its scene
    is under ``tree.root``. Game code runs in the room's frames, which the room
    server drives; the hooks run on its event loop.

    Attributes:
        max_clients: Seats (0: no limit). The seat ledger never over-fills them,
            whatever the races between joins.
        dispose_delay: Seconds the room stays after its last player left (0: it
            is disposed at once). Players away for a resume still count.
        filter_by: The create options that ``join_or_create`` matches rooms by
            (``("mode",)``: a player asking for ``mode=duel`` lands in a duel room).
            They are put in the room's metadata, and stay there: setting
            ``metadata`` keeps them (join_or_create matches by them).
    """

    max_clients: int = 0
    dispose_delay: float = 0.0
    filter_by: tuple[str, ...] = ()

    _server: RoomServer | None = None
    _side: WebSocketServerSide  # its peer's server half, which rooms' connections go to

    # The hooks.

    def on_create(self, options: Mapping[str, str]) -> Awaitable[None] | None:
        """The room was created, with the options of the request that created it.
        Build the scene here. Raising ``JoinRefused`` refuses the creator."""
        return None

    def on_join(self, request: JoinRequest) -> Awaitable[None] | None:
        """A player asks to join (its seat is held meanwhile); raise
        ``JoinRefused(reason)`` to refuse them: the client gets that reason."""
        return None

    def on_joined(self, peer_id: int) -> Awaitable[None] | None:
        """A player is in: ``multiplayer.peer_connected`` (after authentication, if
        the room has an ``auth_callback``)."""
        return None

    def on_leave(self, peer_id: int) -> Awaitable[None] | None:
        """A player who had joined left (for good: after its resume grace)."""
        return None

    def on_shutdown(self) -> Awaitable[None] | None:
        """The server is shutting down: end the match. By default the room is
        disposed at once; a room may instead let its game end (and ``dispose()``
        itself then), within the server's shutdown timeout."""
        self.dispose()
        return None

    def on_dispose(self) -> Awaitable[None] | None:
        """The room is being disposed (its players are then closed with 1001)."""
        return None

    # What a room is.

    @property
    def code(self) -> str:
        """The room's code (what players join it by)."""
        return self._code

    @property
    def room_type(self) -> str:
        """The name its type was defined under."""
        return self._room_type

    @property
    def options(self) -> Mapping[str, str]:
        """The options of the request that created it."""
        return self._options

    @property
    def tree(self) -> SceneTree:
        """The room's own scene tree."""
        return self._tree

    @property
    def multiplayer(self) -> SceneMultiplayer:
        """The room's multiplayer API (the default one of its tree)."""
        return self._tree.get_multiplayer()

    @property
    def peer(self) -> WebSocketMultiplayerPeer:
        """The room's server-side transport peer (id 1)."""
        return self._peer

    @property
    def clients(self) -> list[int]:
        """The ids of its players: every peer its transport admitted, those away for a
        resume and those still authenticating too (``on_joined`` comes after
        authentication: ``multiplayer.get_peers()`` has only those)."""
        return sorted(self._peer._links)

    @property
    def disposed(self) -> bool:
        """The room has ended."""
        return self._disposed

    # What a room may change.

    @property
    def locked(self) -> bool:
        """A locked room takes no one new (in the listing, it shows as locked)."""
        return self._locked

    def lock(self) -> None:
        """Take no one new (joins then fail with ``RoomLocked``)."""
        self._set(locked=True)

    def unlock(self) -> None:
        """Take players again."""
        self._set(locked=False)

    @property
    def private(self) -> bool:
        """A private room is not listed: it is joined by its code only."""
        return self._private

    @private.setter
    def private(self, private: bool) -> None:
        self._set(private=bool(private))

    @property
    def metadata(self) -> Mapping[str, Any]:
        """What the listing shows of the room, besides its seats (a map, a mode)."""
        return self._metadata

    @metadata.setter
    def metadata(self, metadata: Mapping[str, Any]) -> None:
        self._set(metadata=MappingProxyType({**metadata, **self._filters}))

    def dispose(self) -> None:
        """End the room now: its players are closed with 1001 (going away)."""
        server = self._server
        if server is not None and not self._disposed:
            server._disposal.dispose_soon(self)

    # Used by the room server.

    def _attach(
        self,
        server: RoomServer,
        code: str,
        room_type: str,
        options: Mapping[str, str],
        peer: WebSocketMultiplayerPeer,
        private: bool,
        metadata: Mapping[str, Any],
    ) -> None:
        self._server = server
        self._code = code
        self._room_type = room_type
        self._options = MappingProxyType(dict(options))
        self._peer = peer
        self._tree = SceneTree()
        self._tree.get_multiplayer().multiplayer_peer = peer
        self._locked = False
        self._private = private
        self._metadata: Mapping[str, Any] = MappingProxyType(dict(metadata))
        self._filters = dict(metadata)  # (what it was created with: filter_by's)
        self._disposed = False
        self._joining = 0  # seats held for joins in progress
        self._dispose_timer: asyncio.TimerHandle | None = None
        self._last_frame = 0.0  # the loop's time of its last frame

    def _set(self, **changes: Any) -> None:
        server = self._server
        if server is None:
            raise InvalidState("this room is not in a room server (RoomServer.define it)")
        if self._disposed:
            return
        for name, value in changes.items():
            setattr(self, "_" + name, value)
        server._update_directory(self, changes)

    def __getattr__(self, name: str) -> Any:
        # (only for what is missing: what a room server gives a room it creates)
        if name in _GIVEN:
            raise InvalidState(f"{type(self).__name__} is not created by a room server yet")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        code = self.__dict__.get("_code")
        return f"<{type(self).__name__} {code or '(not created)'}>"


_GIVEN = frozenset(
    {"_code", "_room_type", "_options", "_peer", "_tree", "_locked", "_private", "_metadata"}
    | {"_disposed", "_joining", "_dispose_timer", "_last_frame", "_side", "_filters"}
)
"""What :meth:`Room._attach` sets: read before it, ``InvalidState``."""

Scene = Callable[[Room], Node]
"""A scene factory: what ``RoomServer.define(name, scene=...)`` adds to a new room's
tree (it is given the room, for its options)."""
