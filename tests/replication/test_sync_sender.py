"""SyncSender: how state is put in SYNC packets, and how its failures are logged.

What reaches the peers is tested in test_synchronizer.py; here, the parts of the
sending: intervals, baselines grouped per peer, deltas, packets split at the size
limit, and the log of local failures.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from multiplayer import (
    MultiplayerSynchronizer,
    Node,
    SceneReplicationConfig,
    SceneTree,
)
from multiplayer.protocol.messages import Sync
from multiplayer.protocol.native.codec import default_codec, packb, unpackb
from multiplayer.protocol.native.format import NativeFormat
from multiplayer.replication.baselines import Outgoing
from multiplayer.replication.sync_sender import (
    _baselines,
    _changed_state,
    _Entry,
    _FailureLog,
    _split,
    advance,
)
from multiplayer.testing import MemoryNetwork

FORMAT = NativeFormat(default_codec)


def test_an_interval_counts_from_when_the_last_send_was_due() -> None:
    """A send a little late does not push the next one back; one far behind starts
    again from now rather than catching up."""
    assert advance(1.0, 0.05, 1.06) == pytest.approx(1.05)
    assert advance(1.0, 0.05, 1.2) == 1.2
    assert advance(float("-inf"), 0.05, 7.0) == 7.0


def outgoing(
    changed_at: list[int], got_all: int = -1, got: dict[int, int] | None = None
) -> Outgoing:
    values = list(range(len(changed_at)))
    return Outgoing(
        packed=[packb(v * 10) for v in values],
        values=values,
        changed_at=changed_at,
        checks=max(changed_at),
        last_change=max(changed_at),
        got_all=got_all,
        got=got or {},
    )


def test_peers_are_grouped_by_what_they_have() -> None:
    """Peers with the same baseline share one delta; when all of them have the same
    one again, it is kept as one number."""
    out = outgoing([1, 2], got_all=2, got={3: -1})
    assert _baselines(out, [2, 3, 4], everyone=True) == [([2, 4], 2), ([3], -1)]
    assert _baselines(out, [2, 4], everyone=False) == [([2, 4], 2)]
    out.got[3] = 2
    assert _baselines(out, [2, 3, 4], everyone=True) == [(None, 2)]
    assert out.got == {} and out.got_all == 2


def test_a_delta_holds_what_changed_since_a_baseline() -> None:
    """[index, value, ...] of the values changed after the peer's check; None if none."""
    out = outgoing([1, 3, 2])
    assert unpackb(_changed_state(out, 1, FORMAT) or b"") == [1, 10, 2, 20]
    assert unpackb(_changed_state(out, -1, FORMAT) or b"") == [0, 0, 1, 10, 2, 20]
    assert _changed_state(out, 3, FORMAT) is None


def entry(path_id: int, values: list[Any]) -> _Entry:
    """An entry as the sender makes it: [path_id, values]."""
    state = FORMAT.pack_state(values)
    return _Entry(FORMAT.sync_entry(path_id, state), None, len(state), None)  # type: ignore[arg-type]


def test_entries_are_split_at_the_packet_size_and_match_the_message_format() -> None:
    """Packets stay within the limit, one entry too large goes alone, and each
    packet is byte for byte what Sync makes of the same entries."""
    always = [entry(1, ["x" * 40]), entry(2, ["y" * 40])]
    delta = [entry(3, [0, "z" * 200]), entry(4, [0, 1])]
    parts = _split((always, delta), 120, FORMAT)
    assert [(len(p.always), len(p.delta)) for p in parts] == [(2, 0), (0, 1), (0, 1)]
    for part in parts:
        packet = FORMAT.sync_packet(9, part.body)
        assert len(packet) <= 120 or len(part.always) + len(part.delta) == 1
        _, seq, always_part, delta_part = unpackb(packet)
        assert FORMAT.encode(Sync(seq, always_part, delta_part)) == packet
    assert _split(([], []), 120, FORMAT) == []


def test_failures_that_repeat_are_logged_at_powers_of_ten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first failure of a kind is logged, then the 10th, the 100th...; a kind
    forgotten starts again."""
    log = _FailureLog()
    for _ in range(100):
        log.log(("state", "A"), "A: broken")
    log.forget(("state", "A"))
    log.log(("state", "A"), "A: broken")
    assert [r.getMessage() for r in caplog.records] == [
        "replication: A: broken",
        "replication: A: broken (10 times)",
        "replication: A: broken (100 times)",
        "replication: A: broken",
    ]


class Cargo(Node):
    """A node whose replicated properties can be made to fail: a getter that raises,
    or a value too large for a packet."""

    def __init__(self) -> None:
        super().__init__("Cargo")
        self.load = "x"
        self.fail = False
        config = SceneReplicationConfig()
        config.add_property(".:load")
        config.add_property(".:checked")
        self.add_child(MultiplayerSynchronizer("Sync", replication_config=config))

    @property
    def checked(self) -> bool:
        if self.fail:
            raise RuntimeError("broken getter")
        return True

    @checked.setter
    def checked(self, value: bool) -> None:
        pass


def server_with_cargo(network: MemoryNetwork) -> tuple[SceneTree, Cargo]:
    """A server and a client with the same Cargo node; the server's tree and node."""
    trees = []
    for server in (True, False):
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.ping_interval = 0
        api.multiplayer_peer = network.create_server() if server else network.create_client()
        tree.root.add_child(Cargo())
        trees.append(tree)
    for _ in range(3):
        for tree in trees:
            tree.process(0)
    cargo = trees[0].root.get_node("Cargo")
    assert isinstance(cargo, Cargo)
    return trees[0], cargo


def test_local_failures_are_not_reported_as_refused_packets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A getter that raises and a state too large for a packet are this peer's own
    failures: logged as such, once for a run of frames, never as a packet refused
    from a peer."""
    network = MemoryNetwork()
    server, cargo = server_with_cargo(network)
    cargo.fail = True
    for _ in range(5):
        server.process(0)
    cargo.fail = False
    network.max_packet_size = 600
    cargo.load = "x" * 1000
    for _ in range(5):
        server.process(0)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 2 and not any("refused" in line for line in lines)
    assert lines[0] == (
        "replication: /root/Cargo/Sync: cannot read its state: RuntimeError('broken getter')"
    )
    assert lines[1].startswith("replication: state for peer 2 does not fit in a packet")
