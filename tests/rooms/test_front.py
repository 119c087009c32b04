"""Tests for :mod:`multiplayer.rooms.front`: the front door of a room server, over real
sockets on 127.0.0.1. Each test routes the requests itself; what a client sees is
checked with a plain websockets client or a raw socket, as a browser or Godot (no
part of this library) would see it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.asyncio.client import ClientConnection, connect as ws_connect
from websockets.exceptions import ConnectionClosed

from multiplayer import (
    InvalidState,
    JoinRefused,
    RoomError,
    RoomFull,
    RoomLocked,
    RoomNotFound,
    ShuttingDown,
    WebSocketMultiplayerPeer,
)
from multiplayer.rooms.front import Front, FrontDoor, close_code_of
from multiplayer.transport.websocket_peer_link import State


class Door:
    """A FrontDoor on 127.0.0.1 and the requests it was given (front, path, headers)."""

    def __init__(
        self, route: Callable[[Front, str, dict[str, str]], None] | None, handshake_timeout: float
    ) -> None:
        self.requests: list[tuple[Front, str, dict[str, str]]] = []
        self.answer = route
        settings = WebSocketMultiplayerPeer()
        settings.handshake_timeout = handshake_timeout
        self.door = FrontDoor(settings, self._route)

    def _route(self, front: Front, path: str, headers: dict[str, str]) -> None:
        self.requests.append((front, path, headers))
        if self.answer is not None:
            self.answer(front, path, headers)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.door.local_port}"


@contextlib.asynccontextmanager
async def door(
    route: Callable[[Front, str, dict[str, str]], None] | None = None,
    handshake_timeout: float = 5.0,
) -> AsyncIterator[Door]:
    """A listening front door whose requests go to ``route`` (or are held); at the end
    it stops, and what is still open is closed and waited for."""
    made = Door(route, handshake_timeout)
    made.door.listen(0, "127.0.0.1", None)
    try:
        yield made
    finally:
        made.door.stop()
        await asyncio.wait_for(made.door.close_all(1001, "the test ends"), 5)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


def upgrade(port: int, path: str = "/join/K3M9QZ") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def client_frame(payload: bytes) -> bytes:
    """A masked binary frame, as a client sends it (payloads under 126 bytes)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((0x82, 0x80 | len(payload))) + mask + masked


async def connecting_to(url: str) -> ClientConnection:
    """A websockets client's connection (a coroutine, to run as a task)."""
    return await ws_connect(url)


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    """What the server sent until it ended the connection (a reset ends it too)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := await asyncio.wait_for(reader.read(4096), 5):
            received += chunk
    return received


# Refusals: a 101, then a close with the code and the reason.


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RoomNotFound("no room K3M9QZ"), 4100),
        (RoomFull("room K3M9QZ is full (4 seats)"), 4101),
        (RoomLocked("room K3M9QZ is locked"), 4102),
        (JoinRefused("tell us your name"), 4103),
        (ShuttingDown("the server is shutting down"), 4104),
        (RoomError("unknown room request 'leave'"), 4105),
    ],
)
async def test_a_refusal_is_a_101_then_a_close_with_its_code_and_reason(
    error: RoomError, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A browser or Godot never shows the status of a failed handshake, only the
    close code and reason of a WebSocket that opened: so that is what a refusal is."""
    async with door(lambda front, path, headers: front.refuse(error)) as served:
        ws = await ws_connect(served.url + "/join/K3M9QZ")
        assert ws.response is not None and ws.response.status_code == 101
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert (ws.close_code, ws.close_reason) == (code, str(error))
        await until(lambda: not served.door.fronts)
    (line,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert line.levelname == "INFO" and line.name == "multiplayer.rooms"
    assert line.getMessage().startswith("connection from 127.0.0.1:")
    assert line.getMessage().endswith(f": refused ({code}): {error}")


def test_close_code_of_each_room_error() -> None:
    assert [
        close_code_of(error)
        for error in (
            RoomNotFound("x"),
            RoomFull("x"),
            RoomLocked("x"),
            JoinRefused("x"),
            ShuttingDown("x"),
            RoomError("x"),
        )
    ] == [4100, 4101, 4102, 4103, 4104, 4105]


def test_a_subclass_is_refused_with_the_code_of_its_kind() -> None:
    """A room's own refusal (``class Banned(JoinRefused)``) is still a refusal by the
    room: the client must read JoinRefused with its reason, not a bad request."""

    class Banned(JoinRefused):
        pass

    class FullOfBots(RoomFull):
        pass

    assert close_code_of(Banned("you were banned")) == 4103
    assert close_code_of(FullOfBots("no seat left")) == 4101


async def test_open_sends_the_101_with_its_headers() -> None:
    """The route is given the path with its query and the headers (lower case); the
    101 it sends names what it adds."""

    opened: list[bool] = []

    def route(front: Front, path: str, headers: dict[str, str]) -> None:
        opened.append(front.open((("Multiplayer-Room", "K3M9QZ"),)))

    async with door(route) as served:
        ws = await ws_connect(
            served.url + "/join/k3m9qz?name=Ann", additional_headers={"X-Token": "abc"}
        )
        assert ws.response is not None
        assert ws.response.headers["Multiplayer-Room"] == "K3M9QZ"
        ((front, path, headers),) = served.requests
        assert opened == [True]
        assert path == "/join/k3m9qz?name=Ann"
        assert headers["x-token"] == "abc" and headers["upgrade"] == "websocket"
        assert front.host == "127.0.0.1"
        assert front.address.startswith("127.0.0.1:")
        assert front in served.door.fronts  # (open, and still the door's)
        assert front.open() is False  # (the 101 is out: not twice)
        await ws.close()
        await until(lambda: not served.door.fronts)
        assert front.closed.done()


async def test_a_shared_port_comes_with_a_port_of_its_own() -> None:
    """listen_shared: a port shared with other processes (SO_REUSEPORT) and one of
    this process's own (the one asked for, or any free one), both served; an own
    port without a shared one is a mistake."""
    async with door(lambda front, path, headers: front.open()) as served:
        with pytest.raises(ValueError, match="reuse_port"):
            served.door.listen_shared(0, "127.0.0.1", None, False, 1234)
        if not hasattr(socket, "SO_REUSEPORT"):
            return  # (listen() refuses reuse_port there: tests/rooms/test_server.py)
        shared, own = served.door.listen_shared(0, "127.0.0.1", None, True, 0)
        assert shared != own and served.door.local_port not in (shared, own)
        for port in (shared, own):
            ws = await ws_connect(f"ws://127.0.0.1:{port}/join/K3M9QZ")
            await ws.close()
        assert len(served.requests) == 2


async def test_close_all_closes_every_front_and_waits() -> None:
    """The open ones (listing watchers) and one whose 101 is still held alike."""

    def route(front: Front, path: str, headers: dict[str, str]) -> None:
        if path == "/list":
            front.open()

    async with door(route) as served:
        clients = [await ws_connect(served.url + "/list") for _ in range(2)]
        held = asyncio.create_task(connecting_to(served.url + "/join/K3M9QZ"))
        await until(lambda: len(served.requests) == 3)
        assert len(served.door.fronts) == 3
        await asyncio.wait_for(served.door.close_all(1001, "the server is shutting down"), 5)
        assert not served.door.fronts
        for ws in [*clients, await asyncio.wait_for(held, 5)]:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            assert (ws.close_code, ws.close_reason) == (1001, "the server is shutting down")


async def test_a_held_request_is_closed_with_a_101_first() -> None:
    """A front whose 101 its route still holds is closed like a refusal: the client
    reads the code, not a failed handshake."""
    async with door() as served:
        connecting = asyncio.create_task(connecting_to(served.url + "/join/K3M9QZ"))
        await until(lambda: len(served.requests) == 1)
        ((front, _, _),) = served.requests
        assert front.conn.state is State.STATE_CONNECTING
        front.close(4104, "the server is shutting down")
        ws = await asyncio.wait_for(connecting, 5)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert (ws.close_code, ws.close_reason) == (4104, "the server is shutting down")
        await until(lambda: not served.door.fronts)


async def test_let_go_forgets_a_front_handed_to_a_room() -> None:
    async with door() as served:
        connecting = asyncio.create_task(connecting_to(served.url))
        await until(lambda: len(served.requests) == 1)
        ((front, _, _),) = served.requests
        served.door.let_go(front)
        assert not served.door.fronts
        front.close(1000, "")
        ws = await asyncio.wait_for(connecting, 5)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)


# Connections that break the rules.


async def test_a_frame_before_the_101_cuts_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RFC 6455 §4.1: a client sends no frame before the server's 101. One that does
    (while the room decides) is cut at once, never answered, and forgotten."""
    async with door() as served:
        port = served.door.local_port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(upgrade(port))
        await until(lambda: len(served.requests) == 1)  # (the route holds its 101)
        ((front, _, _),) = served.requests
        writer.write(client_frame(b"too early"))
        started = time.monotonic()
        received = await read_to_end(reader)
        assert time.monotonic() - started < 2  # (not the handshake_timeout: 5 s)
        assert b"101" not in received
        assert "sent a frame before the handshake's response" in caplog.text
        await until(lambda: not served.door.fronts)
        assert front.closed.done()
        assert front.open() is False  # (the route's answer, late: nothing to open)
        writer.close()


async def test_a_frame_in_the_same_packet_as_the_request_cuts_too() -> None:
    async with door() as served:
        port = served.door.local_port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(upgrade(port) + client_frame(b"too early"))
        started = time.monotonic()
        received = await read_to_end(reader)
        assert time.monotonic() - started < 2
        assert b"101" not in received
        await until(lambda: not served.door.fronts)
        writer.close()


async def test_a_silent_connection_is_cut_by_handshake_timeout() -> None:
    """A TCP connection that never sends its request (0.3 s here)."""
    async with door(handshake_timeout=0.3) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.door.local_port)
        await until(lambda: len(served.door.fronts) == 1)
        started = time.monotonic()
        assert await read_to_end(reader) == b""
        assert 0.2 < time.monotonic() - started < 3
        await until(lambda: not served.door.fronts)
        assert served.requests == []
        writer.close()


async def test_a_101_held_past_handshake_timeout_is_cut() -> None:
    """A route that never answers does not keep the connection: within the
    handshake's time (0.3 s here) it is cut, and a late answer finds nothing to open."""
    async with door(handshake_timeout=0.3) as served:
        port = served.door.local_port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        writer.write(upgrade(port))
        await until(lambda: len(served.requests) == 1)
        ((front, _, _),) = served.requests
        received = await read_to_end(reader)
        assert 0.2 < time.monotonic() - started < 3
        assert b"101" not in received
        await until(lambda: front.closed.done())
        assert not served.door.fronts
        assert front.open() is False
        writer.close()


async def test_a_request_that_is_no_websocket_upgrade_never_reaches_the_route() -> None:
    async with door() as served:
        port = served.door.local_port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        received = await read_to_end(reader)
        assert received.startswith(b"HTTP/1.1 426")
        writer.close()  # (the server half-closed after its answer; now the client)
        await until(lambda: not served.door.fronts, timeout=2)
        assert served.requests == []


# Listening.


async def test_local_port_needs_a_listening_door() -> None:
    made = FrontDoor(WebSocketMultiplayerPeer(), lambda front, path, headers: None)
    assert not made.listening
    with pytest.raises(InvalidState):
        _ = made.local_port


async def test_stop_takes_no_more_connections() -> None:
    async with door() as served:
        port = served.door.local_port
        served.door.stop()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
