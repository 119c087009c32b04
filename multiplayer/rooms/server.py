"""``RoomServer``: many rooms on one port, in one process.

Every connection comes through the :class:`~.front.FrontDoor`. Its handshake's path
says what it wants (:mod:`.paths`); the server holds the 101 while it asks the
directory for a seat (:mod:`.directory`), creates the room if the seat is in a new
one, and asks the room's ``on_join``. Then it hands the connection, before its first
message, to the room's own server-side peer, which goes on as any server would: the
greeting, an id, resume. A refusal is a close code after the 101 (4100-4105).

The 101 names the room (``Multiplayer-Room``, ``Multiplayer-Room-Type``) and the
path to resume at (``Multiplayer-Resume-Path``): a player who came in by
``/create/dice`` resumes in its room, not in a new one.

The seat a join holds is confirmed when the room's peer admits the player (gives it
an id), or released if the handshake fails; a player's seat is free again when
its transport link ends for good (after its resume grace). A room with no player
and no join in progress is disposed after its type's ``dispose_delay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from ..exceptions import (
    DirectoryUnavailable,
    InvalidState,
    RoomError,
    RoomNotFound,
    ShuttingDown,
)
from ..scene import os_signals
from ..transport.close_codes import CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN_LATER
from ..transport.resume import ResumeGate
from ..transport.websocket_client import RESUME_PATH_HEADER
from ..transport.websocket_multiplayer_peer import WebSocketMultiplayerPeer
from ..transport.websocket_peer_link import is_routable
from .directory import LocalDirectory, RoomDirectory, RoomInfo, Seat
from .disposal import Disposal, room_lines
from .forwarding import Forwarding
from .frames import RoomFrames
from .front import Front, FrontDoor
from .listing import Listing
from .membership import Membership
from .paths import Action, RoomRequest, parse_path, room_path
from .room import JoinRequest, Room, Scene
from .room_types import RoomTypes
from .seating import AtCapacity, Elsewhere, Seating
from .tasks import Tasks
from .writes import Writes

__all__ = ["ROOM_HEADER", "ROOM_TYPE_HEADER", "RoomServer"]

logger = logging.getLogger("multiplayer.rooms")

ROOM_HEADER = "Multiplayer-Room"
"""The 101's header that names the room a connection was given (its code)."""
ROOM_TYPE_HEADER = "Multiplayer-Room-Type"
"""The 101's header with that room's type."""

_BY_CODE = (Action.JOIN, Action.RESUME)

_CLOSE_INTERNAL_ERROR = 1011


class RoomServer:
    """Hosts many rooms on one port.

    Define the room types, ``await listen(port)``, then ``await run()``: it runs every
    room's frames until ``shutdown()`` has finished (SIGINT and SIGTERM start one).

    Args:
        directory: Where rooms and seats are kept (a :class:`LocalDirectory` by
            default; one shared by several processes spreads rooms over them).
        peer_factory: Makes each room's transport peer, with the settings every
            room uses (the protocol profile, buffer sizes, ``reconnect_grace``...);
            the handshakes use the settings of one it makes.
        fps: Frames a second, of every room.
        event_driven: Run a room's RPCs as soon as its packets arrive (as
            ``SceneTree.run(event_driven=True)``), not only at frames.
        auth_callback: If set, every room's SceneMultiplayer authenticates its
            players with it, called as ``auth_callback(room, peer_id, data)`` (ids
            repeat across rooms), within ``auth_timeout``; it completes with
            ``room.multiplayer.complete_auth(peer_id)``. A room may set its own
            (Godot's two-argument one) in ``on_create``.
        shutdown_timeout: Seconds ``shutdown()`` lets rooms end by themselves.
        max_watchers: Listing watchers at once (past it, 1013).
        max_rooms: Rooms at once in this process: a join that would create one
            more is refused with 1013 "server full" (and logged), so that clients
            cannot make rooms without end.
        cluster_secret: The secret the processes of a cluster share (16 bytes or
            more): a player who reached this process for a room of another is
            forwarded to it with a ticket signed with it (see .forwarding). None:
            such a player is refused with RoomNotFound.

    Raises:
        ValueError: ``fps`` is not positive, or the directory's ``hold_time`` is
            shorter than a join may take (``2 * handshake_timeout + 1`` seconds).
    """

    def __init__(
        self,
        *,
        directory: RoomDirectory | None = None,
        peer_factory: Callable[[], WebSocketMultiplayerPeer] = WebSocketMultiplayerPeer,
        fps: float = 60.0,
        event_driven: bool = True,
        auth_callback: Callable[[Room, int, bytes], object] | None = None,
        auth_timeout: float = 3.0,
        shutdown_timeout: float = 10.0,
        max_watchers: int = 1024,
        max_rooms: int = 1_000,
        cluster_secret: str | bytes | None = None,
    ) -> None:
        self.directory = directory if directory is not None else LocalDirectory()
        self.peer_factory = peer_factory
        self.auth_callback = auth_callback
        self.auth_timeout = auth_timeout
        self.shutdown_timeout = shutdown_timeout
        self._frames = RoomFrames(fps, event_driven, self._failed)
        template = peer_factory()  # (never started: its settings)
        self._door = FrontDoor(template, self._routed)
        self._closing_time = template.handshake_timeout + 0.5  # (a closing handshake, a cut)
        _check_hold_time(self.directory, template.handshake_timeout)
        self._listing = Listing(self.directory, max_watchers)
        self._types = RoomTypes()
        self._tasks = Tasks()
        self._spawn = self._tasks.spawn
        self._joins: set[asyncio.Task[Any]] = set()  # requests being served
        self._guesses = ResumeGate()  # (an address that tries codes is refused a while)
        self._writes = Writes(self._spawn)
        self._disposal = Disposal(self._frames, self.directory, self._writes, self._spawn)
        self._seating = Seating(
            self.directory, self._types, self._frames.rooms, self._writes, self._create, max_rooms
        )
        self._membership = Membership(
            self.directory, self._frames.rooms, self._types, self._writes, self._disposal.unremoved
        )
        self._forwarding = Forwarding(self.directory, cluster_secret)
        self._closing = False
        self._stopped = asyncio.Event()

    # Setting up.

    def define(
        self,
        name: str,
        room_class: type[Room] = Room,
        *,
        scene: Scene | None = None,
        max_clients: int | None = None,
        dispose_delay: float | None = None,
        filter_by: tuple[str, ...] | None = None,
    ) -> None:
        """Register a room type under ``name`` (what clients create and join by).

        ``scene`` builds the node added to each new room's tree (before
        ``on_create``); the other arguments override the class's attributes.

        Raises:
            ValueError: ``name`` is taken or no room type name (letters, digits,
                ``_ . -``), or a number is negative.
            TypeError: ``room_class`` is not a :class:`Room` subclass.
        """
        self._types.define(
            name,
            room_class,
            scene=scene,
            max_clients=max_clients,
            dispose_delay=dispose_delay,
            filter_by=filter_by,
        )

    async def listen(
        self,
        port: int = 0,
        bind_address: str = "*",
        tls: ssl.SSLContext | None = None,
        *,
        reuse_port: bool = False,
        advertise_host: str | None = None,
        public_host: str | None = None,
        own_port: int = 0,
    ) -> None:
        """Listen on ``port`` (0 picks a free one: :attr:`local_port`); ``tls``: a
        ``wss://`` server. A cluster's processes may share the port (``reuse_port``:
        each then listens on a port of its own too), and reach each other at
        ``advertise_host`` (``bind_address``, or the machine's name if that is "*"),
        at its own port (``own_port``; 0 picks a free one). With ``public_host``
        (the name or address players reach this process by, at its own port), a
        player who follows redirects (this library's clients) is sent here
        directly by the others, rather than forwarded.

        Raises:
            InvalidState: It listens already, or was shut down.
            OSError: The address cannot be bound.
            ValueError: ``tls`` is not a server context, ``reuse_port`` is not
                supported here, or ``own_port`` is given without it.
        """
        if self._door.listening or self._closing:
            raise InvalidState("this room server listens already (or was shut down)")
        _, own = self._door.listen_shared(port, bind_address, tls, reuse_port, own_port)
        self._seating.owner = self._membership.listening(
            bind_address, own, advertise_host, public_host
        )

    @property
    def max_rooms(self) -> int:
        """Rooms at once in this process (see the class's arguments)."""
        return self._seating.max_rooms

    @max_rooms.setter
    def max_rooms(self, count: int) -> None:
        self._seating.max_rooms = count

    @property
    def local_port(self) -> int:
        """The port it listens on."""
        return self._door.local_port

    @property
    def rooms(self) -> Mapping[str, Room]:
        """The rooms alive in this process, by code (a snapshot)."""
        return dict(self._frames.rooms)

    # Joining.

    def _routed(self, front: Front, path: str, headers: dict[str, str]) -> None:
        """A valid WebSocket request: what does it ask for?"""
        try:
            wanted = parse_path(path)
        except RoomError as exc:
            front.refuse(exc)
            return
        join = self._spawn(self._serve(front, wanted, headers))
        self._joins.add(join)
        join.add_done_callback(self._joins.discard)

    async def _serve(self, front: Front, wanted: RoomRequest, headers: dict[str, str]) -> None:
        try:
            if self._closing:
                raise ShuttingDown("the server is shutting down")
            if wanted.action is Action.LIST:
                await self._listing.serve(front, wanted.target)
                return
            if wanted.action in _BY_CODE and not self._guesses.allows(front.host, _now()):
                guessing = RoomError("too many unknown room codes from this address")
                front.refuse(guessing, CLOSE_TRY_AGAIN_LATER)
                return
            if wanted.action is Action.RESUME:
                await self._resume(front, wanted.target)
                return
            deciding = self._decide(front, wanted, headers)
            try:
                decided = await _unless_gone(front, deciding, self._tasks.running)
            except Elsewhere as elsewhere:  # (the owner takes the player, and the seat)
                release = functools.partial(self._seating.release, elsewhere.seat)
                path = room_path(wanted.action, wanted.target, wanted.options)
                await self._forwarding.forward(front, elsewhere, release, path)
                return
            if decided is not None:
                self._hand_over(front, *decided)
        except (AtCapacity, DirectoryUnavailable) as exc:
            front.refuse(exc, CLOSE_TRY_AGAIN_LATER, logging.WARNING)
        except RoomError as exc:
            if isinstance(exc, RoomNotFound) and wanted.action in _BY_CODE:
                self._guesses.refused(front.host, _now())  # (codes must not be tried)
            front.refuse(exc)
        except asyncio.CancelledError:  # (the shutdown ended while it was decided;
            if front.conn.routed is not None:  # a listing's watcher gets 1001 after)
                front.refuse(ShuttingDown("the server is shutting down"))
            raise
        except Exception:
            logger.exception("connection from %s: the join failed", front.address)
            front.close(_CLOSE_INTERNAL_ERROR, "internal error")

    async def _decide(
        self, front: Front, wanted: RoomRequest, headers: dict[str, str]
    ) -> tuple[Room, Seat]:
        """Hold a seat for the request (or take the one held for a player forwarded
        here) and ask its room's ``on_join``: the room and the seat, counted in
        ``room._joining``; or raise, with nothing held (Elsewhere: the seat goes
        with the player)."""
        forwarded = self._forwarding.pass_of(headers)
        host = front.host
        if forwarded is None:
            seat, room = await self._seating.take(wanted)
        else:
            seat, host = Seat(forwarded.code, forwarded.seat), forwarded.host or host
            room = await self._seating.take_held(seat)
        try:
            join = JoinRequest(room.code, wanted.options, host, headers, seat.created)
            await _maybe_await(room.on_join(join))
            if self._closing:
                raise ShuttingDown("the server is shutting down")
            if room.disposed:
                raise RoomNotFound(f"room {room.code} has ended")
        except BaseException:  # (a refused join leaves nothing behind)
            self._seating.release(seat)
            room._joining -= 1
            if seat.created and not room._joining and not room.peer._links:
                self._disposal.dispose_soon(room)  # (no dispose_delay: no one was ever in)
            else:
                self._check_empty(room)
            raise
        return room, seat

    async def _resume(self, front: Front, code: str) -> None:
        """A resume: in a room here, or forwarded to the process of the room."""
        home = self._frames.rooms.get(code)
        if home is not None and not home.disposed:
            self._hand_over(front, home, None)
        elif not await self._forwarding.resume_elsewhere(front, code, self._seating.owner):
            raise RoomNotFound(f"no room {code} here to resume in")

    async def _create(self, info: RoomInfo, options: Mapping[str, str]) -> Room:
        kind = self._types.get(info.room_type)
        room = kind.room_class()
        peer = self.peer_factory()
        room._side = peer._host(kind.max_clients)
        room._attach(self, info.code, kind.name, options, peer, info.private, info.metadata)
        api = room.multiplayer
        authenticate = self.auth_callback
        if authenticate is not None:  # (ids repeat across rooms: it is told which)
            api.auth_callback = lambda peer_id, data: authenticate(room, peer_id, data)
            api.auth_timeout = self.auth_timeout
        try:
            if kind.scene is not None:
                room.tree.root.add_child(kind.scene(room))
            await _maybe_await(room.on_create(room.options))
        except BaseException:
            peer.close()
            raise
        api.peer_connected.connect(lambda peer_id: self._run_hook(room, room.on_joined, peer_id))
        api.peer_disconnected.connect(lambda peer_id: self._run_hook(room, room.on_leave, peer_id))
        peer.peer_disconnected.connect(lambda peer_id: self._left(room))
        self._frames.add(room)
        room_lines.log(logging.INFO, "room %s (%s) created", info.code, kind.name)
        return room

    def _hand_over(self, front: Front, room: Room, seat: Seat | None = None) -> None:
        """Give the connection to ``room``'s peer and send its 101 (no await between
        the check and the send: the connection is still waiting for it)."""
        if not is_routable(front.conn):
            if seat is not None:  # (it left, timed out or broke the protocol meanwhile)
                room._joining -= 1
                self._seating.release(seat)
                self._check_empty(room)
            return
        self._door.let_go(front)
        if seat is not None:
            room._side.adopt(front.ws, lambda peer_id: self._settled(room, seat, peer_id))
        else:
            room._side.adopt(front.ws, _ignore, resume_only=True)
        headers = (
            (ROOM_HEADER, room.code),
            (ROOM_TYPE_HEADER, room.room_type),
            (RESUME_PATH_HEADER, f"/resume/{room.code}"),
        )
        if not front.open(headers):  # (cannot be, with no await since the check)
            front.conn.cut()  # (the room's peer settles it as it closes)

    def _settled(self, room: Room, seat: Seat, peer_id: int | None) -> None:
        """The room's peer is done with a join's handshake: the seat is taken, or
        free again."""
        room._joining -= 1
        if peer_id is not None:
            self._writes.write(room.code, self.directory.confirm(seat))
        else:
            self._writes.write(room.code, self.directory.release(seat))
            self._check_empty(room)

    def _left(self, room: Room) -> None:
        """A player's link ended for good (the room's transport says so)."""
        self._writes.write(room.code, self.directory.leave(room.code))
        self._check_empty(room)

    # Running.

    async def run(self, handle_signals: bool = True) -> None:
        """Run every room's frames until :meth:`shutdown` has finished.

        On the main thread, SIGINT and SIGTERM start a graceful shutdown (unless
        ``handle_signals`` is False, or the program handles them itself).
        """
        watching = handle_signals and os_signals.watch(self, asyncio.get_running_loop())
        if not self._closing:
            self._membership.start(self._spawn)
        try:
            await self._frames.run()
        finally:
            if watching:
                os_signals.unwatch(self)
            self._membership.stop()

    def _stop_by_signal(self, signum: int) -> None:
        logger.info("%s: shutting the room server down", os_signals.name_of(signum))
        self._spawn(self.shutdown())

    def _run_hook(self, room: Room, hook: Callable[..., Any], *args: Any) -> None:
        """Call one of ``room``'s hooks (a coroutine one runs as a task); an error,
        raised at once or later, disposes the room."""
        self._tasks.call(hook, *args, failed=lambda: self._failed(room, hook.__name__))

    def _failed(self, room: Room, where: str) -> None:
        logger.exception(
            "room %s (%s): error in %s; disposing the room", room.code, room.room_type, where
        )
        self._disposal.dispose_soon(room)

    def _check_empty(self, room: Room) -> None:
        self._disposal.check_empty(room, self._types.get(room.room_type).dispose_delay)

    # Shutting down.

    async def drain(self, timeout: float | None = None) -> None:
        """Make no new room, let the rooms here end (as their players leave) for
        ``timeout`` seconds (``shutdown_timeout`` by default), then :meth:`shutdown`
        (those left: 1001). Meanwhile joins by code go on; a create or a
        ``join_or_create`` gets 1013 (another process of a cluster takes its next
        try), and the others' ``join_or_create`` looks elsewhere. Called again
        meanwhile, it shuts down now."""
        if not self._closing and not self._seating.draining:
            self._seating.draining = True
            logger.info("draining: no new room here; %d to end", len(self._frames.rooms))
            await self._membership.drain()
            wait = self.shutdown_timeout if timeout is None else timeout
            await _rooms_end(self._frames, wait, lambda: self._closing)
        await self.shutdown(timeout=0)

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop taking players, tell every room (``on_shutdown``), let them end for
        ``timeout`` seconds (``shutdown_timeout`` by default), dispose those left
        (their players are closed with 1001), and close every connection; then
        :meth:`run` returns. Joins in progress are refused with ``ShuttingDown``
        (4104). It takes ``timeout`` seconds at most, plus what closing takes (a
        closing handshake: ``handshake_timeout``, and a little more)."""
        if self._closing:
            await self._stopped.wait()
            return
        self._closing = True
        self._listing.closing = True
        self._door.stop()
        for room in list(self._frames.rooms.values()):
            self._run_hook(room, room.on_shutdown)
        await _rooms_end(self._frames, self.shutdown_timeout if timeout is None else timeout)
        for room in list(self._frames.rooms.values()):
            self._disposal.dispose_soon(room)
        for join in list(self._joins):  # (an on_join still deciding: refused)
            join.cancel()
        closed_by = asyncio.get_running_loop().time() + self._closing_time
        ending = [self._disposal.wait(), *self._joins]
        await _within(asyncio.gather(*ending, return_exceptions=True), closed_by)
        self._forwarding.close_all()
        closing = self._door.close_all(CLOSE_GOING_AWAY, "the server is shutting down")
        await _within(closing, closed_by)
        self._membership.stop()  # (a beat after the leave would come back)
        await self._tasks.finish(closed_by)
        await _within(self._membership.leave(), closed_by + 1.0)
        self._frames.stop()
        self._stopped.set()

    def _update_directory(self, room: Room, changes: dict[str, Any]) -> None:
        self._writes.write(room.code, self.directory.update(room.code, **changes))


def _check_hold_time(directory: RoomDirectory, handshake_timeout: float) -> None:
    """A seat must stay held for as long as a join may take: the request's
    handshake, then the greeting's, each up to ``handshake_timeout``."""
    hold_time = getattr(directory, "hold_time", None)
    needed = 2 * handshake_timeout + 1
    if hold_time is not None and hold_time < needed:
        raise ValueError(
            f"the directory holds seats for {hold_time} s, and a join may take up to"
            f" {needed} s with handshake_timeout {handshake_timeout} s: give it a"
            f" hold_time of {needed} s or more"
        )


async def _unless_gone(
    front: Front, deciding: Coroutine[Any, Any, tuple[Room, Seat]], tasks: set[asyncio.Task[Any]]
) -> tuple[Room, Seat] | None:
    """Run ``deciding`` (as one of ``tasks``) unless the client goes first (it left, or
    its handshake timed out): then cancel it (a hook that hangs holds no seat) and
    None."""
    task = asyncio.ensure_future(deciding)  # (its error is this caller's to raise)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    waits: set[asyncio.Future[Any]] = {task, front.closed}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task.done():
        result: tuple[Room, Seat] = task.result()
        return result
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, RoomError):
        await task
    return None


async def _rooms_end(
    frames: RoomFrames, timeout: float, stop: Callable[[], bool] = lambda: False
) -> None:
    """Wait until every room of ``frames`` has ended, ``timeout`` seconds at most, or
    until ``stop()``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while frames.rooms and loop.time() < deadline and not stop():
        await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _within(work: Awaitable[Any], deadline: float) -> None:
    """Wait for ``work`` until the loop's time ``deadline`` (then let it go)."""
    timeout = max(0.0, deadline - asyncio.get_running_loop().time())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(work, timeout)


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if result is not None and inspect.isawaitable(result):
        await result


def _ignore(peer_id: int | None) -> None:
    """(A resume holds no seat: nothing to settle.)"""
