"""Tests for :mod:`multiplayer.rooms.paths`: the request paths of a room server, read
by ``parse_path`` and written by ``room_path``."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import RoomError, RoomNotFound
from multiplayer.rooms import Action, RoomRequest, parse_path, room_path
from multiplayer.rooms.paths import MAX_OPTIONS


@pytest.mark.parametrize(
    ("path", "request_"),
    [
        ("/create/dice", RoomRequest(Action.CREATE, "dice")),
        ("/join/K3M9QZ", RoomRequest(Action.JOIN, "K3M9QZ")),
        ("/join_or_create/dice", RoomRequest(Action.JOIN_OR_CREATE, "dice")),
        ("/resume/K3M9QZ", RoomRequest(Action.RESUME, "K3M9QZ")),
        ("/list", RoomRequest(Action.LIST, "")),
        ("/list/", RoomRequest(Action.LIST, "")),
        ("/list/dice", RoomRequest(Action.LIST, "dice")),
        ("/create/Dice_2.v-1", RoomRequest(Action.CREATE, "Dice_2.v-1")),
    ],
)
def test_every_action_is_read(path: str, request_: RoomRequest) -> None:
    assert parse_path(path) == request_


def test_options_are_the_query_strings() -> None:
    """Each name once, blank values kept; the options cannot be changed afterwards."""
    request = parse_path("/join_or_create/dice?mode=duel&name=Ann&empty=")
    assert request.action is Action.JOIN_OR_CREATE
    assert dict(request.options) == {"mode": "duel", "name": "Ann", "empty": ""}
    with pytest.raises(TypeError):
        request.options["mode"] = "solo"  # type: ignore[index]
    assert dict(parse_path("/resume/K3M9QZ?x=1").options) == {"x": "1"}
    assert dict(parse_path("/list?x=1").options) == {"x": "1"}


@pytest.mark.parametrize(
    "options",
    [
        {"name": "Ann & Bob", "mode": "a=b?c/d#e%f+g"},
        {"é": "ü 😀", "": "blank name"},
        {"slash/name": "", "plus+": "  two spaces  "},
    ],
)
@pytest.mark.parametrize("action", [Action.CREATE, Action.JOIN_OR_CREATE, Action.JOIN])
def test_options_survive_percent_encoding(action: Action, options: dict[str, str]) -> None:
    """What room_path writes, parse_path reads back the same, whatever the characters."""
    target = "K3M9QZ" if action is Action.JOIN else "dice"
    path = room_path(action, target, options)
    assert path.isascii() and " " not in path and "#" not in path
    assert parse_path(path) == RoomRequest(action, target, options)


def test_room_path_writes_each_action() -> None:
    assert room_path(Action.CREATE, "dice") == "/create/dice"
    assert room_path("join", "K3M9QZ", {"name": "Ann"}) == "/join/K3M9QZ?name=Ann"
    assert room_path(Action.RESUME, "K3M9QZ") == "/resume/K3M9QZ"
    assert room_path(Action.LIST, "") == "/list"
    assert room_path(Action.LIST, "dice") == "/list/dice"
    assert parse_path(room_path("join_or_create", "dice")).action is Action.JOIN_OR_CREATE


def test_a_target_with_a_slash_stays_one_name() -> None:
    """A slash in a type name is encoded: it is one (bad) name, not two segments."""
    path = room_path(Action.CREATE, "a/b")
    assert path == "/create/a%2Fb"
    with pytest.raises(RoomError, match="'a/b' is not a room type name"):
        parse_path(path)


@pytest.mark.parametrize("action", [Action.CREATE, Action.JOIN, Action.JOIN_OR_CREATE])
def test_an_empty_target_never_asks_for_the_listing(action: Action) -> None:
    """``create(peer, url, "")`` must be refused as a bad request, not become a
    connection to the listing (whose JSON the client would take for a greeting)."""
    path = room_path(action, "")
    with pytest.raises(RoomError):
        parse_path(path)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("k3m9qz", "K3M9QZ"), ("k3m-9qz", "K3M9QZ"), ("K3M%209QZ", "K3M9QZ"), ("o1lIq9", "0111Q9")],
)
@pytest.mark.parametrize("action", ["join", "resume"])
def test_codes_are_read_leniently_and_normalized(action: str, typed: str, code: str) -> None:
    assert parse_path(f"/{action}/{typed}") == RoomRequest(Action(action), code)


@pytest.mark.parametrize("typed", ["ZZZZZ", "ZZZZZZZ", "ZZZZZU", "ZZ%2FZZZ", "ZZZZZ!"])
@pytest.mark.parametrize("action", ["join", "resume"])
def test_what_is_not_a_code_is_no_such_room(action: str, typed: str) -> None:
    """A mistyped code is, to the player, a room that does not exist."""
    with pytest.raises(RoomNotFound, match="is not a room code"):
        parse_path(f"/{action}/{typed}")


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("", "no room request in the path"),
        ("/", "no room request in the path"),
        ("/leave/K3M9QZ", "unknown room request 'leave'"),
        ("/CREATE/dice", "unknown room request 'CREATE'"),
        ("/create", "is not /create/<one name>"),
        ("/join", "is not /join/<one name>"),
        ("/create/dice/extra", "is not /create/<one name>"),
        ("/list/dice/extra", "is not /list/<one name>"),
        ("/create/no%20spaces", "is not a room type name"),
        ("/join_or_create/" + "x" * 65, "is not a room type name"),
        ("/list/d%C3%A9", "is not a room type name"),
        ("/create/dice?a=1&a=2", "the option 'a' is given twice"),
    ],
)
def test_what_is_no_room_request_is_a_room_error(path: str, says: str) -> None:
    """Refused with RoomError itself (4105 to the client), not with one of its
    subclasses (RoomNotFound would tell the player the room is gone)."""
    with pytest.raises(RoomError, match=says) as refused:
        parse_path(path)
    assert refused.type is RoomError


def test_options_are_limited_in_number() -> None:
    most = "&".join(f"o{i}=v" for i in range(MAX_OPTIONS))
    assert len(parse_path(f"/create/dice?{most}").options) == MAX_OPTIONS
    with pytest.raises(RoomError, match=f"too many options \\({MAX_OPTIONS + 1}; at most"):
        parse_path(f"/create/dice?{most}&one=more")


def test_a_type_name_of_64_characters_is_the_longest() -> None:
    name = "x" * 64
    assert parse_path(f"/create/{name}").target == name


def test_room_path_refuses_an_unknown_action() -> None:
    with pytest.raises(ValueError):
        room_path("leave", "K3M9QZ")
