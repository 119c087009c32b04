"""The room types a server knows: each name, its :class:`~.room.Room` class, and
the settings it overrides (``RoomServer.define``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import RoomError
from .paths import check_type_name
from .room import Room, Scene

__all__ = ["RoomType", "RoomTypes"]


@dataclass(frozen=True)
class RoomType:
    """A room type, as defined."""

    name: str
    room_class: type[Room]
    scene: Scene | None
    max_clients: int
    dispose_delay: float
    filter_by: tuple[str, ...]


class RoomTypes:
    """The room types of one server, by name."""

    def __init__(self) -> None:
        self._types: dict[str, RoomType] = {}

    def define(
        self,
        name: str,
        room_class: type[Room] = Room,
        *,
        scene: Scene | None = None,
        max_clients: int | None = None,
        dispose_delay: float | None = None,
        filter_by: tuple[str, ...] | None = None,
    ) -> RoomType:
        """Register a room type (see ``RoomServer.define``).

        Raises:
            ValueError: ``name`` is taken or no room type name, or a number is
                negative.
            TypeError: ``room_class`` is not a :class:`Room` subclass.
        """
        try:
            check_type_name(name)
        except RoomError as exc:
            raise ValueError(str(exc)) from None
        if name in self._types:
            raise ValueError(f"the room type {name!r} is defined already")
        if not (isinstance(room_class, type) and issubclass(room_class, Room)):
            raise TypeError(f"room_class must be a Room subclass, not {room_class!r}")
        kind = RoomType(
            name,
            room_class,
            scene,
            room_class.max_clients if max_clients is None else max_clients,
            room_class.dispose_delay if dispose_delay is None else dispose_delay,
            tuple(room_class.filter_by if filter_by is None else filter_by),
        )
        if kind.max_clients < 0 or kind.dispose_delay < 0:
            raise ValueError("max_clients and dispose_delay must be 0 or more")
        self._types[name] = kind
        return kind

    def get(self, name: str) -> RoomType:
        """The type ``name``.

        Raises:
            RoomError: No type has that name (the client is told so, 4105).
        """
        kind = self._types.get(name)
        if kind is None:
            raise RoomError(f"no room type {name!r} on this server")
        return kind
