"""Forwarding: a player who reached a process that does not own its room is passed
on to the one that does.

A cluster's processes share a port (or a load balancer spreads the players over
them), so a player's connection lands on any of them. When the room of its seat is
another process's, the process it reached hands the held upgrade request to the
owner, with a **ticket**, and from then on relays bytes both ways: the player's
101, its session and its resumes are the owner's. Any client works this way, a
Godot game or a browser too, since nothing changes on the wire.

**The ticket** (``Multiplayer-Ticket``) says which seat the forwarding process
already holds in the directory (so the owner does not hold a second one), and the
player's address (the owner's ``on_join`` and its limits see the player, not the
process). It is signed with the cluster's shared secret (HMAC-SHA256) and expires
after ``TICKET_TTL``: only a process of the cluster can make one, and a ticket read
off the network cannot be replayed later.

**When the owner dies** mid-game, the player is told (close code 4106,
:class:`~multiplayer.exceptions.RoomGone`), if the relay is between two of the
owner's frames; else the connection is cut, and the player's resume finds the room
gone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..exceptions import RoomError, RoomGone, RoomNotFound
from ..transport.close_codes import CLOSE_ROOM_GONE
from ..transport.redirects import FOLLOW_HEADER
from ..transport.websocket_peer_link import PeerLink, hand_off_routed, redirect_routed
from .directory import RoomDirectory, Seat
from .front import Front
from .paths import Action, room_path
from .seating import Elsewhere

__all__ = [
    "TICKET_HEADER",
    "TICKET_TTL",
    "Forwarding",
    "Pass",
    "Relay",
    "Tickets",
    "close_frame",
    "follows",
]

TICKET_HEADER = "Multiplayer-Ticket"
"""The header of a forwarded request that carries its ticket."""
TICKET_TTL = 10.0
"""Seconds a ticket is good for (it is used at once, by the owner's front door)."""


@dataclass(frozen=True)
class Pass:
    """What a valid ticket says."""

    code: str
    seat: str
    """The ticket of the seat held for the player (see :class:`~.directory.Seat`)."""
    host: str
    """The player's address."""


class Tickets:
    """Makes and checks the tickets of one cluster (its shared ``secret``)."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("a cluster secret needs at least 16 bytes")
        self._secret = secret
        self._now = clock

    def make(self, code: str, seat: str, host: str) -> str:
        body = json.dumps(
            {"code": code, "seat": seat, "host": host, "until": self._now() + TICKET_TTL},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def check(self, ticket: str) -> Pass:
        """The pass of a valid ticket.

        Raises:
            RoomError: It is malformed, not signed with this cluster's secret, or
                expired.
        """
        try:
            body_part, signature_part = ticket.split(".")
            body, signature = _unb64(body_part), _unb64(signature_part)
        except ValueError:
            raise RoomError("a malformed forwarding ticket") from None
        if not hmac.compare_digest(signature, self._sign(body)):
            raise RoomError("a forwarding ticket with a bad signature")
        fields = json.loads(body)
        if fields["until"] < self._now():
            raise RoomError("an expired forwarding ticket")
        return Pass(str(fields["code"]), str(fields["seat"]), str(fields["host"]))

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError("not base64") from None


def follows(conn: PeerLink) -> bool:
    """Whether the client of ``conn`` (its request held) follows redirects."""
    routed = conn.routed
    return routed is not None and routed[0].headers.get_all(FOLLOW_HEADER) == ["1"]


def close_frame(code: int, reason: str) -> bytes:
    """A server's close frame (unmasked), as RFC 6455 5.5.1 lays it out."""
    payload = code.to_bytes(2, "big") + reason.encode()[:123]
    return bytes([0x88, len(payload)]) + payload


class _Frames:
    """Where the owner's bytes to the player are in its frames (RFC 6455 5.2), after
    its HTTP response: so that a close frame of ours goes between two of them,
    never inside one."""

    def __init__(self, http: bool = True) -> None:
        self.http = http  # the response, up to its empty line, is still coming
        self.left = 0  # bytes of the current frame still to come
        self.header = b""  # the start of a header cut by a read (or of the response)

    @property
    def between(self) -> bool:
        return not self.http and not self.left and not self.header

    def feed(self, data: bytes) -> None:
        if self.http:
            response = self.header + data
            end = response.find(b"\r\n\r\n")
            if end < 0:
                self.header = response[-3:]  # (an empty line cut by the read)
                return
            self.http, self.header = False, b""
            data = response[end + 4 :]
        view = memoryview(data)
        while view:
            if self.left:
                step = min(self.left, len(view))
                self.left -= step
                view = view[step:]
                continue
            header = self.header + bytes(view[:14])
            size = _frame_size(header)
            if size is None:  # (the header is cut: the rest comes with the next read)
                self.header = header
                return
            used = size[0] - len(self.header)
            self.header = b""
            self.left = size[1]
            view = view[used:]


def _frame_size(header: bytes) -> tuple[int, int] | None:
    """(header length, payload length) of the frame starting ``header``; None if it
    is cut short."""
    if len(header) < 2:
        return None
    length, masked = header[1] & 0x7F, header[1] & 0x80
    extra = {126: 2, 127: 8}.get(length, 0)
    size = 2 + extra + (4 if masked else 0)
    if len(header) < size:
        return None
    if extra:
        length = int.from_bytes(header[2 : 2 + extra], "big")
    return size, length


class _Side(asyncio.Protocol):
    """One end of a relay: what it reads is written to the other end."""

    def __init__(self, relay: Relay, upstream: bool) -> None:
        self.relay = relay
        self.upstream = upstream
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.relay.carry(self, data)

    def eof_received(self) -> bool | None:
        return None  # (close: WebSocket does not half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.lost(self)

    def pause_writing(self) -> None:
        self.relay.hold(self, True)

    def resume_writing(self) -> None:
        self.relay.hold(self, False)


class Relay:
    """Carries one player's connection to the owner of its room and back: connect
    to the owner first (so that a player whose owner cannot be reached can still be
    refused), then hand the player's connection over to it."""

    def __init__(self) -> None:
        self.player = _Side(self, upstream=False)
        self.owner = _Side(self, upstream=True)
        self.frames = _Frames()  # of the owner's bytes to the player
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def connect(self, host: str, port: int) -> None:
        """Connect to the owner.

        Raises:
            OSError: The owner cannot be reached.
        """
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self.owner, host, port)

    def attach(self, player: asyncio.Transport, request: bytes) -> None:
        """Take the player's connection over, and send the owner its request."""
        player.set_protocol(self.player)
        self.player.transport = player
        owner = self.owner.transport
        if owner is None or owner.is_closing():  # (it went already)
            self.lost(self.owner)
            return
        owner.write(request)
        player.resume_reading()

    def carry(self, side: _Side, data: bytes) -> None:
        other = self.player if side.upstream else self.owner
        if side.upstream:
            self.frames.feed(data)
        if other.transport is not None and not other.transport.is_closing():
            other.transport.write(data)

    def hold(self, side: _Side, full: bool) -> None:
        """``side``'s buffer is full (or no longer): stop (or go on) reading the
        other end, so that a slow reader slows the writer down (TCP's own way)."""
        other = self.owner if side is self.player else self.player
        if other.transport is None or other.transport.is_closing():
            return
        if full:
            other.transport.pause_reading()
        else:
            other.transport.resume_reading()

    def lost(self, side: _Side) -> None:
        """One end closed: close the other. If the owner went first, between two of
        its frames, tell the player that the room is gone (4106)."""
        other = self.player if side.upstream else self.owner
        transport = other.transport
        if transport is not None and not transport.is_closing():
            if side.upstream and self.frames.between:
                transport.write(close_frame(CLOSE_ROOM_GONE, "the room's server stopped"))
                transport.close()
            elif side.upstream:
                transport.abort()  # (inside a frame: only a cut is honest)
            else:
                transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def abort(self) -> None:
        for side in (self.player, self.owner):
            if side.transport is not None:
                side.transport.abort()


class Forwarding:
    """A room server's forwarding: players sent on to the owners of their rooms, and
    the tickets of players sent here.

    Args:
        directory: Where a room's owner is reached (its addresses).
        secret: The cluster's shared secret; None: nothing is forwarded (a player
            whose room lives elsewhere is refused with RoomNotFound, saying so).
        clock: The time of the tickets.
    """

    def __init__(
        self,
        directory: RoomDirectory,
        secret: str | bytes | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        if isinstance(secret, str):
            secret = secret.encode()
        self.tickets = Tickets(secret, clock) if secret is not None else None
        self._now = clock
        self.relays: set[Relay] = set()
        self._used: OrderedDict[str, float] = OrderedDict()  # seats of tickets taken

    def pass_of(self, headers: Mapping[str, str]) -> Pass | None:
        """The pass of a forwarded (or redirected) request; None: it was neither.
        A ticket is good once: a player cannot take a second seat with its own.

        Raises:
            RoomError: Its ticket is not good, or used (or this server takes none).
        """
        ticket = headers.get(TICKET_HEADER.lower())
        if ticket is None:
            return None
        if self.tickets is None:
            raise RoomError("a forwarded request, and this server has no cluster_secret")
        found = self.tickets.check(ticket)
        used, now = self._used, self._now()
        while used and next(iter(used.values())) < now:  # (in expiry order)
            used.popitem(last=False)
        if found.seat in used:
            raise RoomError("a ticket that was used already")
        used[found.seat] = now + TICKET_TTL
        return found

    async def forward(
        self, front: Front, elsewhere: Elsewhere, release: Callable[[], None], path: str
    ) -> bool:
        """Send the player of ``front``, which asked for ``path`` (as :mod:`.paths`
        writes it), on to the owner of its room (``elsewhere``): redirected if it
        can follow and the owner has a public address, else forwarded. False if the
        connection ended meanwhile. ``release`` gives the seat back when the player
        does not get there (whatever went wrong).

        Raises:
            RoomNotFound: Nothing is forwarded here (no secret).
            RoomGone: The owner is not alive, or cannot be reached.
            DirectoryUnavailable: Where the owner is cannot be read.
        """
        try:
            if self.tickets is None:
                raise RoomNotFound(str(elsewhere))
            addresses = await self.directory.addresses(elsewhere.owner)
            public = addresses.get("public") if addresses is not None else None
            if public and follows(front.conn):
                scheme = "wss" if front.conn.secure else "ws"
                sent = self._redirect(front, elsewhere.seat, f"{scheme}://{public}{path}")
            else:
                sent = await self._relay(front, elsewhere.seat, addresses)
        except BaseException:
            release()
            raise
        if not sent:
            release()
        return sent

    async def _relay(self, front: Front, seat: Seat, addresses: dict[str, str] | None) -> bool:
        """Forward the player: connect to the owner, hand it the held request with a
        ticket, relay both ways; False if the connection ended meanwhile."""
        assert self.tickets is not None
        relay = Relay()
        try:
            if addresses is None:
                raise OSError("not in the directory")
            await relay.connect(addresses["host"], int(addresses["port"]))
        except (OSError, KeyError, ValueError) as exc:
            relay.abort()
            raise RoomGone(f"room {seat.code}: its server cannot be reached ({exc})") from None
        handed = hand_off_routed(front.conn)
        if handed is None:
            relay.abort()
            return False
        request, transport, after = handed
        request.headers[TICKET_HEADER] = self.tickets.make(seat.code, seat.ticket, front.host)
        self.relays.add(relay)
        relay.done.add_done_callback(lambda _: self.relays.discard(relay))
        relay.attach(transport, request.serialize() + after)
        return True

    def _redirect(self, front: Front, seat: Seat, location: str) -> bool:
        """Send the player straight to the owner, at ``location``: with a ticket for
        the seat held here (a resume holds none); False if the connection ended
        meanwhile."""
        assert self.tickets is not None
        headers: tuple[tuple[str, str], ...] = ()
        if seat.ticket:  # (the owner sees the player itself: no address in it)
            headers = ((TICKET_HEADER, self.tickets.make(seat.code, seat.ticket, "")),)
        return redirect_routed(front.conn, location, headers)

    async def resume_elsewhere(self, front: Front, code: str, here: str) -> bool:
        """Forward a resume into a room of another process than ``here``; False if
        the room is no other process's (or nothing is forwarded here).

        Raises:
            RoomNotFound, RoomGone: The directory knows no such room, or it is gone.
        """
        if not self.directory.shared or self.tickets is None:
            return False
        info = await self.directory.get(code)
        if info.owner == here:
            return False
        path = room_path(Action.RESUME, code)
        await self.forward(front, Elsewhere(Seat(code, ""), info.owner), lambda: None, path)
        return True

    def close_all(self) -> None:
        """Cut every relay (the server shuts down)."""
        for relay in list(self.relays):
            relay.abort()
