"""Packet formats by profile name: the registry and its errors, and the contract of
the SYNC parts that every registered profile keeps."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from multiplayer import Vector2
from multiplayer.protocol import format as formats
from multiplayer.protocol.format import PacketFormat, format_names, get_format, register_format
from multiplayer.protocol.godot.format import GodotFormat
from multiplayer.protocol.messages import Sync
from multiplayer.protocol.native.codec import Codec, default_codec
from multiplayer.protocol.native.format import NativeFormat


def test_native_is_registered() -> None:
    """ "native" builds a NativeFormat around the codec it is given."""
    assert "native" in format_names()
    built: PacketFormat = get_format("native")(default_codec)
    assert isinstance(built, NativeFormat)
    assert built.name == "native" and built.codec is default_codec


def test_godot_is_registered() -> None:
    """ "godot" builds a GodotFormat around the codec it is given."""
    built: PacketFormat = get_format("godot")(default_codec)
    assert isinstance(built, GodotFormat)
    assert built.name == "godot" and built.codec is default_codec


def test_unknown_profile_lists_the_known_ones() -> None:
    """An unknown name raises ValueError naming every registered profile."""
    with pytest.raises(ValueError, match=r"unknown wire profile 'quake'.*'godot', 'native'"):
        get_format("quake")


def test_register_a_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registered profile is found by name; a name cannot be registered twice."""
    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))

    class Other(NativeFormat):
        name = "other"

    register_format("other", Other)
    assert format_names() == ["godot", "native", "other"]
    assert isinstance(get_format("other")(Codec()), Other)
    with pytest.raises(ValueError, match="registered already"):
        register_format("native", Other)


# The SYNC parts: what every registered profile guarantees (PacketFormat's docstring).

IDS = st.integers(0, 2**32 - 1)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    # (no NUL, no leading byte order mark: a Godot String cannot carry them)
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufeff"), max_size=8),
    st.builds(Vector2, st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32)),
)
ALWAYS = st.lists(st.tuples(IDS, st.lists(VALUES, max_size=4)), max_size=20)
# per entry: its path id, and each ON_CHANGE property's value and whether it changed
# (at least one did: replication sends no empty delta, and Godot refuses one)
CHANGES = st.lists(st.tuples(VALUES, st.booleans()), min_size=1, max_size=6)
DELTA = st.lists(st.tuples(IDS, CHANGES.filter(lambda p: any(c for _, c in p))), max_size=20)
FORMATS = pytest.mark.parametrize("name", format_names())


def built(
    fmt: PacketFormat, seq: int, always: list[Any], delta: list[Any]
) -> list[tuple[bytes, Sync, int]]:
    """The packets replication builds in parts, each with the Sync it stands for and
    the sum of its entries' lengths; states sized by the format as a receiver would.
    One packet, or where ``delta_packets`` one per kind that has entries."""
    kept: list[bytes] = []
    message = Sync(seq, [], [])
    for path_id, values in always:
        state = fmt.pack_state(values)
        assert fmt.state_size(values, delta=False) == len(state)
        kept.append(fmt.sync_entry(path_id, state))
        message.always.append([path_id, values])
    changes: list[bytes] = []
    for path_id, props in delta:
        indices = [i for i, (_, changed) in enumerate(props) if changed]
        state = fmt.pack_delta(indices, [fmt.pack_value(value) for value, _ in props])
        pairs = [item for i in indices for item in (i, props[i][0])]
        assert fmt.state_size(pairs, delta=True) == len(state)
        changes.append(fmt.sync_entry(path_id, state))
        message.delta.append([path_id, pairs])
    if not fmt.delta_packets:
        packet = fmt.sync_packet(seq, fmt.sync_body(kept, changes))
        return [(packet, message, sum(map(len, kept + changes)))]
    packets = []
    if kept:
        packet = fmt.sync_packet(seq, fmt.sync_body(kept, []))
        packets.append((packet, Sync(seq % 2**16, message.always, []), sum(map(len, kept))))
    if changes:
        packet = fmt.sync_packet(seq, fmt.sync_body([], changes))
        packets.append((packet, Sync(0, [], message.delta), sum(map(len, changes))))
    return packets


@FORMATS
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(seq=IDS, always=ALWAYS, delta=DELTA)
def test_sync_parts_make_the_sync_message_bytes(
    name: str, seq: int, always: list[Any], delta: list[Any]
) -> None:
    """A SYNC built in parts is byte for byte encode(Sync(...)) of the same content,
    decodes back to it with no help from the receiver, and adds at most sync_room
    bytes to its entries."""
    fmt = get_format(name)(Codec())
    for packet, message, entries in built(fmt, seq, always, delta):
        assert packet == fmt.encode(message)
        assert fmt.decode(packet, allow_objects=False) == message
        assert len(packet) <= entries + fmt.sync_room


@FORMATS
def test_entries_are_independent(name: str) -> None:
    """Entries made once join into bodies in any grouping and order (of one kind per
    body where deltas travel apart)."""
    fmt = get_format(name)(Codec())
    a = fmt.sync_entry(3, fmt.pack_state([1, "x"]))
    b = fmt.sync_entry(300, fmt.pack_state([2.5]))
    d = fmt.sync_entry(3, fmt.pack_delta([1], [fmt.pack_value(None), fmt.pack_value(7)]))
    groupings = [([a, b], [d]), ([b], [d, d]), ([], [d]), ([a], [])]
    if fmt.delta_packets:
        groupings = [([a, b], []), ([b, a], []), ([], [d, d]), ([], [d])]
    for always, delta in groupings:
        packet = fmt.sync_packet(5, fmt.sync_body(always, delta))
        message = fmt.decode(packet, allow_objects=False)
        assert isinstance(message, Sync)
        assert message.seq == (0 if fmt.delta_packets and not always else 5)
        assert (len(message.always), len(message.delta)) == (len(always), len(delta))


@FORMATS
def test_packed_values_tell_what_the_receiver_tells_apart(name: str) -> None:
    """Equal values pack alike; 1, True and 1.0 (apart on the wire) do not."""
    fmt = get_format(name)(Codec())
    assert fmt.pack_value([1, "a"]) == fmt.pack_value([1, "a"])
    assert len({fmt.pack_value(1), fmt.pack_value(True), fmt.pack_value(1.0)}) == 3


def test_every_profile_has_a_framing_and_a_format() -> None:
    """A wire profile is a framing (transport) and a format (protocol) of one name:
    the two registries name the same profiles, so no peer can say a profile that
    SceneMultiplayer cannot encode, nor the reverse."""
    from multiplayer.transport.framing import FRAMINGS

    assert sorted(FRAMINGS) == sorted(format_names())
