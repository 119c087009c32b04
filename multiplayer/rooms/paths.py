"""The request paths of a room server: what a WebSocket asks for in its URL.

One port serves every room, so the handshake's path says what the connection is
for (Colyseus puts it in an HTTP call before the WebSocket; a path keeps it to one
request, which a Godot client or a browser can make with nothing but a URL):

* ``/create/<type>?<options>``: a new room of that type, and its first seat;
* ``/join/<code>?<options>``: a seat in the room of that code;
* ``/join_or_create/<type>?<options>``: a seat in a public room of that type that
  matches the options its type filters by, or else a new one;
* ``/resume/<code>``: where a client comes back to resume its session in a room
  (it is given this path in the 101, see :data:`RESUME_PATH_HEADER`);
* ``/list`` or ``/list/<type>``: the public rooms, sent as JSON now and whenever
  they change.

The options are the query string's (``?mode=duel&name=Ann``): strings, each name
once. Plain synchronous code: it knows nothing of sockets.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import urllib.parse
from collections.abc import Mapping
from types import MappingProxyType

from ..exceptions import RoomError, RoomNotFound
from .codes import normalize_code

__all__ = ["MAX_OPTIONS", "Action", "RoomRequest", "check_type_name", "parse_path", "room_path"]

MAX_OPTIONS = 32
"""Options a request may carry (the handshake's own limits bound their size)."""

_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


class Action(enum.Enum):
    """What a connection asks of the room server."""

    CREATE = "create"
    JOIN = "join"
    JOIN_OR_CREATE = "join_or_create"
    RESUME = "resume"
    LIST = "list"


@dataclasses.dataclass(frozen=True)
class RoomRequest:
    """A parsed request path."""

    action: Action
    target: str
    """The room type (create, join_or_create, list: "" for every type) or the
    room's code, normalized (join, resume)."""
    options: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))


def parse_path(path: str) -> RoomRequest:
    """Read a handshake's request path (with its query string).

    Raises:
        RoomNotFound: The code cannot be one.
        RoomError: It is no room request: an unknown action, a malformed type,
            an option given twice, or too many options.
    """
    # (the request target as it came: an origin-form path, never a URL to split)
    path_part, _, query = path.partition("?")
    path_part = path_part.partition("#")[0]
    if path_part and not path_part.startswith("/"):
        raise RoomError(f"the request target {path[:40]!r} is not a path")
    parts = [urllib.parse.unquote(part) for part in path_part.split("/") if part]
    if not parts:
        raise RoomError("no room request in the path (expected /create/TYPE, /join/CODE, ...)")
    try:
        action = Action(parts[0])
    except ValueError:
        raise RoomError(f"unknown room request {parts[0]!r}") from None
    if action is Action.LIST and len(parts) == 1:
        parts.append("")
    if len(parts) != 2:
        raise RoomError(f"the path {path_part!r} is not /{action.value}/<one name>")
    target = parts[1]
    if action in (Action.JOIN, Action.RESUME):
        try:
            target = normalize_code(target)
        except ValueError as exc:  # (a typo: to the player, no such room)
            raise RoomNotFound(str(exc)) from None
    elif target or action is not Action.LIST:
        check_type_name(target)
    return RoomRequest(action, target, MappingProxyType(_options(query)))


def check_type_name(name: str) -> None:
    """Raise unless ``name`` can name a room type in a path.

    Raises:
        RoomError: It is not 1 to 64 letters, digits, ``_``, ``.`` or ``-``,
            starting with a letter or digit.
    """
    if not _TYPE.match(name):
        raise RoomError(f"{name!r} is not a room type name (letters, digits, _ . -)")


def room_path(action: Action | str, target: str, options: Mapping[str, str] | None = None) -> str:
    """The path of a request (what a client puts after the server's address)."""
    action = Action(action)
    path = f"/{action.value}/{urllib.parse.quote(target, safe='')}"
    if action is Action.LIST and not target:
        path = "/list"  # (every type)
    if options:
        path += "?" + urllib.parse.urlencode({str(k): str(v) for k, v in options.items()})
    return path


def _options(query: str) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if len(pairs) > MAX_OPTIONS:
        raise RoomError(f"too many options ({len(pairs)}; at most {MAX_OPTIONS})")
    options: dict[str, str] = {}
    for name, value in pairs:
        if name in options:
            raise RoomError(f"the option {name!r} is given twice")
        options[name] = value
    return options
