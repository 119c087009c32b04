"""Tests for :mod:`multiplayer.rooms.forwarding`: tickets, the frame tracker, and
room servers sharing a real redis-server that pass a player on to the owner of its
room (a join by code, a join_or_create), and tell it 4106 when the owner goes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect as ws_connect

from multiplayer import RoomError, RoomGone, SceneTree, rooms
from multiplayer.rooms import JoinRequest, Room
from multiplayer.rooms.directory import LocalDirectory
from multiplayer.rooms.forwarding import (
    TICKET_HEADER,
    Forwarding,
    Pass,
    Tickets,
    _Frames,
    close_frame,
)
from multiplayer.rooms.redis_directory import RedisDirectory
from multiplayer.rooms.server import ROOM_HEADER
from multiplayer.transport.redirects import FOLLOW_HEADER
from multiplayer.transport.websocket_peer_link import binary_frame
from tests.redis_server import RedisServer
from tests.rooms.roomkit import RESUMABLE, Lobby, lobby, resumable_peer, until

SECRET = b"a cluster secret of some length"


# Tickets.


def test_a_ticket_says_what_it_was_made_with() -> None:
    tickets = Tickets(SECRET)
    checked = tickets.check(tickets.make("K3M9QZ", "ab12", "10.0.0.7"))
    assert (checked.code, checked.seat, checked.host) == ("K3M9QZ", "ab12", "10.0.0.7")


def test_a_forged_tampered_or_expired_ticket_is_refused() -> None:
    now = [1000.0]
    tickets = Tickets(SECRET, clock=lambda: now[0])
    ticket = tickets.make("K3M9QZ", "ab12", "10.0.0.7")
    with pytest.raises(RoomError, match="bad signature"):
        Tickets(b"another cluster's secret").check(ticket)
    _, signature = ticket.split(".")
    forged = Tickets(b"another cluster's secret").make("K3M9QZ", "ab12", "6.6.6.6")
    with pytest.raises(RoomError, match="bad signature"):
        tickets.check(forged.split(".")[0] + "." + signature)
    with pytest.raises(RoomError, match="malformed"):
        tickets.check("not a ticket")
    now[0] += 11.0
    with pytest.raises(RoomError, match="expired"):
        tickets.check(ticket)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Tickets(b"short")


# The frames of the owner's bytes.


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7, 100])
def test_the_relay_knows_when_it_is_between_two_frames(cut: int) -> None:
    """The owner's 101, then frames of every length class, read in pieces of
    ``cut`` bytes: it is between two frames exactly where one ends."""
    response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    frames = [binary_frame(os.urandom(n)) for n in (0, 5, 125, 126, 300, 70000)]
    stream = response + b"".join(frames)
    total = len(response)
    ends = {total}  # (after the response, before any frame: between too)
    for frame in frames:
        total += len(frame)
        ends.add(total)
    tracker = _Frames()
    fed = 0
    while fed < len(stream):
        piece = stream[fed : fed + cut]
        tracker.feed(piece)
        fed += len(piece)
        assert tracker.between == (fed in ends), fed
    tracker.feed(close_frame(4106, "gone"))
    assert tracker.between


# Room servers sharing Redis.


class Hall(Room):
    max_clients = 4
    seen: list[str]
    names: list[str]

    def on_create(self, options: object) -> None:
        self.seen, self.names = [], []

    def on_join(self, request: JoinRequest) -> None:
        self.seen.append(request.address)
        self.names.append(request.options.get("name", ""))


@contextlib.asynccontextmanager
async def process(
    redis: RedisServer, namespace: str, public_host: str | None = None
) -> AsyncIterator[Lobby]:
    """A room server of the cluster (``public_host``: players who follow redirects
    are sent to it there)."""
    directory = RedisDirectory(redis.url, namespace=namespace, heartbeat_interval=0.05)
    try:
        async with lobby(
            public_host,
            directory=directory,
            cluster_secret=SECRET,
            peer_factory=resumable_peer,
        ) as made:
            made.server.define("hall", Hall)
            yield made
    finally:
        await directory.aclose()


async def test_a_join_at_another_process_is_forwarded_to_the_owner(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """Bob joins Ann's room by code at the process that does not host it: he is a
    player of the owner's room (the forwarding process hosts nothing), his packets
    reach it, the owner's on_join saw his address, and his seat is counted once."""
    async with (
        process(redis_server, redis_namespace) as a,
        process(redis_server, redis_namespace) as b,
    ):
        ann = await rooms.create(a.peer(), a.url, "hall")
        peer = b.peer()
        bob = await rooms.join(peer, b.url, ann.code)
        assert bob.code == ann.code and not b.server.rooms
        room = a.server.rooms[ann.code]
        assert isinstance(room, Hall)
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.multiplayer_peer = peer
        got: list[tuple[int, bytes]] = []
        room.multiplayer.peer_packet.connect(lambda sender, data: got.append((sender, data)))
        await until(lambda: 1 in api.get_peers(), tree)
        api.send_bytes(b"through b", 1)
        await until(lambda: got == [(bob.peer_id, b"through b")], tree)
        assert room.seen == ["127.0.0.1", "127.0.0.1"]
        await until_counted(a, ann.code, taken=2)


async def until_counted(owner: Lobby, code: str, taken: int) -> None:
    """Until the directory counts ``taken`` seats taken in room ``code``, none held
    (the owner writes a seat as it admits the player: a moment after the join)."""

    async def counted() -> bool:
        info = await owner.server.directory.get(code)
        return (info.taken, info.held) == (taken, 0)

    await until(counted)


async def test_join_or_create_at_two_processes_lands_in_one_room(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    async with (
        process(redis_server, redis_namespace) as a,
        process(redis_server, redis_namespace) as b,
    ):
        first = await rooms.join_or_create(a.peer(), a.url, "hall")
        second = await rooms.join_or_create(b.peer(), b.url, "hall")
        assert second.code == first.code
        assert len(a.server.rooms[first.code].clients) == 2


async def test_a_forwarded_player_is_told_when_the_owner_goes(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """The owner's connection to the forwarding process is cut (its process died,
    say): the player is closed with 4106, the room is gone."""
    async with (
        process(redis_server, redis_namespace) as a,
        process(redis_server, redis_namespace) as b,
    ):
        ann = await rooms.create(a.peer(), a.url, "hall")
        peer = b.peer(reconnect_grace=0.0)
        await rooms.join(peer, b.url, ann.code)
        await until(lambda: len(a.server.rooms[ann.code].clients) == 2)
        (relay,) = b.server._forwarding.relays
        assert relay.owner.transport is not None
        peer.poll()
        link = peer.get_peer(1)
        relay.owner.transport.abort()  # (as a kill -9 of the owner would)

        def closed() -> bool:
            link.poll()
            return link.get_close_code() != -1

        await until(closed)
        assert (link.get_close_code(), link.get_close_reason()) == (
            4106,
            "the room's server stopped",
        )
        await until(lambda: peer.poll() or peer.connection_error is not None)
        assert type(peer.connection_error) is RoomGone  # (the client's typed error)


@pytest.mark.parametrize("public_host", [None, "127.0.0.1"], ids=["forwarded", "redirected"])
async def test_a_player_resumes_through_the_process_it_came_by(
    redis_server: RedisServer, redis_namespace: str, public_host: str | None
) -> None:
    """Bob joined at the process that does not host his room, and was forwarded
    (or, the owner having a public address, redirected) to the owner. His
    connection drops: he resumes at the path he was given, on the process he came
    by, which forwards (or redirects) the resume to the owner: the same id in the
    same room, and packets flow again. (There, a resume of a room whose process
    died gets 4106.)"""
    async with (
        process(redis_server, redis_namespace, public_host) as a,
        process(redis_server, redis_namespace) as b,
    ):
        ann = await rooms.create(a.peer(), a.url, "hall")
        peer = b.peer(**RESUMABLE)
        bob = await rooms.join(peer, b.url, ann.code)
        room = a.server.rooms[ann.code]
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.multiplayer_peer = peer
        resumed: list[int] = []
        peer.peer_resumed.connect(resumed.append)
        got: list[tuple[int, bytes]] = []
        room.multiplayer.peer_packet.connect(lambda sender, data: got.append((sender, data)))
        await until(lambda: 1 in api.get_peers(), tree)
        relays = set(b.server._forwarding.relays)
        link = peer.get_peer(1)._link
        assert link is not None and link.transport is not None
        link.transport.abort()  # (the player's connection drops)
        await until(lambda: resumed == [1], tree)
        assert peer.get_unique_id() == bob.peer_id and room.clients == [2, bob.peer_id]
        if public_host is None:  # (a new relay: the old one ended with the cut)
            (again,) = b.server._forwarding.relays
            assert len(relays) == 1 and again not in relays
        else:  # (b sent it to a's own port again, at the resume path)
            owner_url = f"ws://127.0.0.1:{a.server.local_port}/resume/{ann.code}"
            assert peer.get_peer(1).get_requested_url() == owner_url
            assert not relays and not b.server._forwarding.relays
        api.send_bytes(b"after the cut", 1)
        await until(lambda: (bob.peer_id, b"after the cut") in got, tree)


# Redirects: a client that follows them goes to the owner itself.


async def test_a_client_that_follows_is_redirected_to_the_owner(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """The owner has a public address: Bob (this library's client, which follows
    redirects) joins by code at the other process and is sent to the owner: he is
    connected to the owner's port itself (no relay at b), his packets arrive, the
    owner's on_join saw his own address, and his seat is counted once. A
    join_or_create at b lands in the same room the same way."""
    async with (
        process(redis_server, redis_namespace, public_host="127.0.0.1") as a,
        process(redis_server, redis_namespace) as b,
    ):
        ann = await rooms.create(a.peer(), a.url, "hall")
        peer = b.peer()
        bob = await rooms.join(peer, b.url, ann.code)
        assert bob.code == ann.code and not b.server.rooms and not b.server._forwarding.relays
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.multiplayer_peer = peer
        await until(lambda: 1 in api.get_peers(), tree)
        assert peer.get_peer(1).get_connected_port() == a.server.local_port
        room = a.server.rooms[ann.code]
        assert isinstance(room, Hall)
        got: list[tuple[int, bytes]] = []
        room.multiplayer.peer_packet.connect(lambda sender, data: got.append((sender, data)))
        api.send_bytes(b"straight to a", 1)
        await until(lambda: got == [(bob.peer_id, b"straight to a")], tree)
        assert room.seen == ["127.0.0.1", "127.0.0.1"]
        await until_counted(a, ann.code, taken=2)
        cid = await rooms.join_or_create(b.peer(), b.url, "hall")
        assert cid.code == ann.code and not b.server._forwarding.relays
        await until(lambda: len(room.clients) == 3)


async def test_a_redirect_keeps_the_options_whatever_they_hold(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """The redirect's Location is written from the request as parsed, encoded: an
    option with line breaks and control characters reaches the owner's on_join as
    it was given, and nothing of it reaches the redirect's headers."""
    async with (
        process(redis_server, redis_namespace, public_host="127.0.0.1") as a,
        process(redis_server, redis_namespace) as b,
    ):
        ann = await rooms.create(a.peer(), a.url, "hall")
        name = "Bob\r\nX-Injected: 1\x01"
        await rooms.join(b.peer(), b.url, ann.code, {"name": name})
        room = a.server.rooms[ann.code]
        assert isinstance(room, Hall) and room.names[-1] == name
        assert not b.server._forwarding.relays


async def test_a_client_that_does_not_follow_is_still_forwarded(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """A Godot game or a browser cannot follow a redirect (it does not say it
    does): even to an owner with a public address, it is forwarded."""
    async with (
        process(redis_server, redis_namespace, public_host="127.0.0.1") as a,
        process(redis_server, redis_namespace) as b,
    ):
        ann = await rooms.create(a.peer(), a.url, "hall")
        async with ws_connect(f"{b.url}/join/{ann.code}") as godot_like:
            assert godot_like.response is not None
            assert godot_like.response.headers[ROOM_HEADER] == ann.code
            assert len(b.server._forwarding.relays) == 1
        # (one that says it twice is no client of ours: forwarded, not an error)
        twice = [(FOLLOW_HEADER, "1"), (FOLLOW_HEADER, "1")]
        async with ws_connect(f"{b.url}/join/{ann.code}", additional_headers=twice) as odd:
            assert odd.response is not None and odd.response.headers[ROOM_HEADER] == ann.code


def test_a_ticket_is_good_once() -> None:
    """A player given a ticket by a redirect cannot take a second seat with it; the
    tickets taken are forgotten once expired (the memory stays bounded)."""
    now = [1000.0]
    forwarding = Forwarding(LocalDirectory(), SECRET, clock=lambda: now[0])
    assert forwarding.tickets is not None
    ticket = forwarding.tickets.make("K3M9QZ", "seat-1", "")
    headers = {TICKET_HEADER.lower(): ticket}
    assert forwarding.pass_of(headers) == Pass("K3M9QZ", "seat-1", "")
    with pytest.raises(RoomError, match="used already"):
        forwarding.pass_of(headers)
    now[0] += 5.0
    forwarding.pass_of({TICKET_HEADER.lower(): forwarding.tickets.make("K3M9QZ", "seat-2", "")})
    now[0] += 6.0  # (the first has expired, the second not)
    forwarding.pass_of({TICKET_HEADER.lower(): forwarding.tickets.make("K3M9QZ", "seat-3", "")})
    assert list(forwarding._used) == ["seat-2", "seat-3"]
