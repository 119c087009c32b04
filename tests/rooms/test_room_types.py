"""Tests for :mod:`multiplayer.rooms.room_types`: the room types of one server, their
settings (the class's, or overridden), and what ``define`` refuses."""

from __future__ import annotations

import pytest

from multiplayer.exceptions import RoomError
from multiplayer.rooms import Room, parse_path, room_path
from multiplayer.rooms.room_types import RoomType, RoomTypes
from multiplayer.scene.node import Node


class Duel(Room):
    max_clients = 2
    dispose_delay = 5.0
    filter_by = ("mode", "map")


def arena(room: Room) -> Node:
    return Node("Arena")


def test_a_type_takes_its_classs_settings() -> None:
    types = RoomTypes()
    kind = types.define("duel", Duel)
    assert kind == RoomType("duel", Duel, None, 2, 5.0, ("mode", "map"))
    assert types.get("duel") is kind


def test_the_plain_room_class_is_the_default() -> None:
    kind = RoomTypes().define("lobby")
    assert kind == RoomType("lobby", Room, None, 0, 0.0, ())


def test_define_overrides_the_classs_settings_for_that_type_only() -> None:
    """The class is shared: another type of it, and the class itself, keep theirs."""
    types = RoomTypes()
    big = types.define(
        "big", Duel, scene=arena, max_clients=8, dispose_delay=0, filter_by=("mode",)
    )
    assert big == RoomType("big", Duel, arena, 8, 0.0, ("mode",))
    assert types.define("plain", Duel) == RoomType("plain", Duel, None, 2, 5.0, ("mode", "map"))
    assert (Duel.max_clients, Duel.dispose_delay, Duel.filter_by) == (2, 5.0, ("mode", "map"))


def test_zero_overrides_are_kept_not_taken_for_unset() -> None:
    """0 seats (no limit), no delay and no filters are settings, not "use the class's"."""
    kind = RoomTypes().define("open", Duel, max_clients=0, dispose_delay=0.0, filter_by=())
    assert (kind.max_clients, kind.dispose_delay, kind.filter_by) == (0, 0.0, ())


def test_filter_by_is_kept_as_a_tuple() -> None:
    class Listed(Room):
        filter_by = ["mode"]  # type: ignore[assignment]  # noqa: RUF012  # (as one may write it)

    assert RoomTypes().define("listed", Listed).filter_by == ("mode",)


def test_an_unknown_type_is_a_room_error() -> None:
    """What a client asking for a type the server lacks is refused with (4105)."""
    types = RoomTypes()
    types.define("duel", Duel)
    with pytest.raises(RoomError, match="no room type 'chess' on this server") as refused:
        types.get("chess")
    assert refused.type is RoomError


def test_a_name_is_defined_once() -> None:
    types = RoomTypes()
    types.define("duel", Duel)
    with pytest.raises(ValueError, match="'duel' is defined already"):
        types.define("duel", Room)
    assert types.get("duel").room_class is Duel


@pytest.mark.parametrize(
    "name",
    ["", "a b", "a/b", "x" * 65, "dé", "dice?mode=duel", "dice#lobby", "%41", "dice&x"],
)
def test_a_name_no_request_can_ask_for_is_refused(name: str) -> None:
    """A type must be reachable: a name a client's path could never carry is a
    mistake to report at define time, not a type no one can create."""
    types = RoomTypes()
    with pytest.raises(ValueError):
        types.define(name)
    with pytest.raises(RoomError):
        types.get(name)


@pytest.mark.parametrize("name", ["dice", "Dice_2.v-1", "x" * 64])
def test_a_defined_name_is_what_a_request_for_it_reads_as(name: str) -> None:
    RoomTypes().define(name)
    assert parse_path(room_path("create", name)).target == name


@pytest.mark.parametrize("room_class", [object, Node, Duel(), "Duel"])
def test_the_class_must_be_a_room_subclass(room_class: object) -> None:
    types = RoomTypes()
    with pytest.raises(TypeError, match="room_class must be a Room subclass"):
        types.define("duel", room_class)  # type: ignore[arg-type]
    with pytest.raises(RoomError):
        types.get("duel")  # (nothing was defined)


@pytest.mark.parametrize(
    "overrides", [{"max_clients": -1}, {"dispose_delay": -0.5}], ids=["seats", "delay"]
)
def test_negative_numbers_are_refused_and_define_nothing(overrides: dict[str, float]) -> None:
    types = RoomTypes()
    with pytest.raises(ValueError, match="must be 0 or more"):
        types.define("duel", Duel, **overrides)  # type: ignore[arg-type]
    assert types.define("duel", Duel).max_clients == 2  # (the name is still free)


def test_a_negative_class_setting_is_refused_too() -> None:
    class Broken(Room):
        max_clients = -2

    with pytest.raises(ValueError, match="must be 0 or more"):
        RoomTypes().define("broken", Broken)
