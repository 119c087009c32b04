"""``RedisDirectory``: the room directory of several processes, kept in Redis.

The same :class:`~.directory.RoomDirectory` as one process's, shared: rooms, their
seats and metadata, and which process owns each. Every operation is one Lua script
(:mod:`.redis_scripts`), atomic in Redis as :class:`~.directory.LocalDirectory`'s
are in one process: a seat is never given twice, ``join_or_create`` asked of two
processes at the same instant lands both players in one room, and codes are unique
across the cluster. Holds expire by Redis's clock, which every process shares.

Beyond the interface, the processes themselves (:meth:`RedisDirectory.heartbeat`,
:meth:`RedisDirectory.sweep`): each one renews its entry every ``heartbeat_interval``;
one whose entry is older than ``dead_after`` is taken for dead by the next sweep
(any process runs it), and its rooms are forgotten and marked *gone* for
``gone_ttl``, so that a player who asks for one gets
:class:`~multiplayer.exceptions.RoomGone`. A process that finds its own entry gone
(Redis restarted empty, or it was cut off past ``dead_after``) puts its live rooms
back (:meth:`RedisDirectory.restore`), unless another process took a code meanwhile.

Needs the ``redis`` package (``pip install 'pygodot-multiplayer[redis]'``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..exceptions import DirectoryUnavailable, RoomFull, RoomGone, RoomLocked, RoomNotFound
from .codes import new_code
from .directory import DEFAULT_HOLD_TIME, RoomDirectory, RoomInfo, Seat, check_max_clients
from .redis_scripts import SCRIPTS

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_DEAD_AFTER", "DEFAULT_GONE_TTL", "DEFAULT_HEARTBEAT", "RedisDirectory"]

DEFAULT_HEARTBEAT = 1.0
"""Seconds between two heartbeats of a process."""
DEFAULT_DEAD_AFTER = 3.0
"""Seconds without a heartbeat after which a process is taken for dead."""
DEFAULT_GONE_TTL = 300.0
"""Seconds a dead process's rooms answer "gone" rather than "no such room"."""

_CODES_PER_TRY = 4
"""Fresh codes a create offers the script (the first one free is taken)."""


class RedisDirectory(RoomDirectory):
    """The room directory of every process that points at one Redis.

    Args:
        url: Redis's address (``redis://host:port/db``, ``rediss://`` for TLS,
            ``unix:///path``).
        namespace: The prefix of every key: clusters that share a Redis use
            different ones.
        hold_time: Seconds a held seat waits for its confirm or release.
        heartbeat_interval: Seconds between two heartbeats of this process.
        dead_after: Seconds without a heartbeat after which a process is dead.
        gone_ttl: Seconds a dead process's rooms answer "gone".
        max_connections: Connections to Redis at most: a call waits for one to be
            free (at most ``timeout``), so that a burst of changes (every room of a
            process ending at once) queues rather than fails.
        timeout: Seconds each step of a call to Redis may take (waiting for a free
            connection, connecting, reading the answer): past it, the call raises
            DirectoryUnavailable, so a Redis that stops answering does not hang the
            joins.
        client: A ``redis.asyncio.Redis`` to use instead of one made from ``url``
            (it must decode responses: ``decode_responses=True``).

    Raises:
        ImportError: The ``redis`` package is not installed.
        ValueError: ``dead_after`` is not longer than ``heartbeat_interval``.
    """

    shared = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "multiplayer",
        hold_time: float = DEFAULT_HOLD_TIME,
        heartbeat_interval: float = DEFAULT_HEARTBEAT,
        dead_after: float = DEFAULT_DEAD_AFTER,
        gone_ttl: float = DEFAULT_GONE_TTL,
        max_connections: int = 32,
        timeout: float = 5.0,
        client: Redis | None = None,
    ) -> None:
        try:
            import redis.asyncio
        except ImportError:
            raise ImportError(
                "RedisDirectory needs the redis package: pip install 'pygodot-multiplayer[redis]'"
            ) from None
        if dead_after <= heartbeat_interval:
            raise ValueError(
                f"dead_after ({dead_after} s) must be longer than heartbeat_interval "
                f"({heartbeat_interval} s)"
            )
        if client is None:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url,
                decode_responses=True,
                max_connections=max_connections,
                timeout=timeout,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
            client = redis.asyncio.Redis.from_pool(pool)  # (its aclose closes the pool)
        self.redis: Redis = client
        self.namespace = namespace
        self.hold_time = hold_time
        self.heartbeat_interval = heartbeat_interval
        self.dead_after = dead_after
        self.gone_ttl = gone_ttl
        self._scripts = {name: self.redis.register_script(src) for name, src in SCRIPTS.items()}
        self._version_key = f"{namespace}:version"
        self._changes = f"{namespace}:changes"
        self._change = asyncio.Event()
        self._watching: asyncio.Task[None] | None = None

    async def _run(self, name: str, *args: str | int) -> Any:
        """Run the script ``name`` with this namespace and ``args``.

        Raises:
            DirectoryUnavailable: Redis cannot be reached (or answered with an error).
        """
        try:
            return await self._scripts[name](keys=[], args=[self.namespace, *args])
        except Exception as exc:
            error = _unavailable(exc)
            if error is exc:
                raise
            raise error from exc

    @property
    def _hold_ms(self) -> int:
        return round(self.hold_time * 1000)

    # Creating and joining.

    async def create(
        self,
        room_type: str,
        owner: str,
        *,
        max_clients: int = 0,
        private: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> Seat:
        check_max_clients(max_clients)
        ticket = secrets.token_hex(8)
        meta = _json(metadata)
        while True:  # (4 fresh codes all taken: about one in 10**36)
            codes = [new_code() for _ in range(_CODES_PER_TRY)]
            answer = await self._run(
                "create", room_type, owner, max_clients, int(private), meta, ticket,
                self._hold_ms, *codes,
            )  # fmt: skip
            if answer[0] == "created":
                return Seat(answer[1], ticket, created=True)

    async def reserve(self, code: str) -> Seat:
        ticket = secrets.token_hex(8)
        answer = await self._run("reserve", code, ticket, self._hold_ms)
        if answer[0] == "held":
            return Seat(code, ticket)
        if answer[0] == "locked":
            raise RoomLocked(f"room {code} is locked")
        if answer[0] == "full":
            raise RoomFull(f"room {code} is full ({answer[1]} seats)")
        raise _missing(code, answer)

    async def join_or_create(
        self,
        room_type: str,
        owner: str,
        *,
        max_clients: int = 0,
        metadata: Mapping[str, Any] | None = None,
        criteria: Mapping[str, Any] | None = None,
    ) -> Seat:
        check_max_clients(max_clients)
        ticket = secrets.token_hex(8)
        meta, wanted = _json(metadata), _json(criteria)
        while True:
            codes = [new_code() for _ in range(_CODES_PER_TRY)]
            answer = await self._run(
                "join_or_create", room_type, owner, max_clients, meta, wanted, ticket,
                self._hold_ms, *codes,
            )  # fmt: skip
            if answer[0] == "held":
                return Seat(answer[1], ticket)
            if answer[0] == "created":
                return Seat(answer[1], ticket, created=True)

    async def confirm(self, seat: Seat) -> None:
        await self._run("confirm", seat.code, seat.ticket)

    async def release(self, seat: Seat) -> None:
        await self._run("release", seat.code, seat.ticket)

    async def leave(self, code: str) -> None:
        await self._run("leave", code)

    # Changing and forgetting.

    async def update(
        self,
        code: str,
        *,
        locked: bool | None = None,
        private: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RoomInfo:
        answer = await self._run(
            "update",
            code,
            "" if locked is None else int(locked),
            "" if private is None else int(private),
            "" if metadata is None else _json(metadata),
        )
        if answer[0] != "room":
            raise _missing(code, answer)
        return _room(answer[1])

    async def remove(self, code: str) -> None:
        await self._run("remove", code)

    # Reading.

    async def get(self, code: str) -> RoomInfo:
        answer = await self._run("get", code)
        if answer[0] != "room":
            raise _missing(code, answer)
        return _room(answer[1])

    async def listing(self, room_type: str | None = None) -> list[RoomInfo]:
        return [_room(row) for row in await self._run("listing", room_type or "")]

    async def changed(self, since: int) -> int:
        """Wait until the listing's version is past ``since`` (Redis publishes each
        change; a version read every second covers what a lost connection missed)."""
        self._watch()
        while True:
            self._change.clear()
            version = int(await self.redis.get(self._version_key) or 0)
            if version > since:
                return version
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._change.wait(), 1.0)

    def _watch(self) -> None:
        if self._watching is None or self._watching.done():
            self._watching = asyncio.get_running_loop().create_task(self._subscribe())

    async def _subscribe(self) -> None:
        """Set ``_change`` at every change published, for as long as the directory
        is open (and through Redis's restarts: it subscribes again)."""
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._changes)
                    while True:  # (a read with no message for 1 s is no timeout)
                        got = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                        if got is not None:
                            self._change.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not _is_redis_error(exc):
                    raise
                self._change.set()  # (changes may have been missed: read again)
                await asyncio.sleep(0.5)

    # The processes.

    async def heartbeat(self, owner: str, addresses: Mapping[str, str]) -> bool:
        """Renew ``owner``'s entry (with the addresses others reach it at); False if
        the directory did not know it (first start, or its entry was lost)."""
        ttl = round(self.dead_after * 1000)
        known = await self._run("heartbeat", owner, _json(addresses), ttl)
        return bool(known)

    async def addresses(self, owner: str) -> dict[str, str] | None:
        """Where the process ``owner`` is reached (None: it is not alive)."""
        try:
            raw = await self.redis.get(f"{self.namespace}:process:{owner}")
        except Exception as exc:
            error = _unavailable(exc)
            if error is exc:
                raise
            raise error from exc
        if raw is None:
            return None
        found: dict[str, str] = json.loads(raw)
        return found

    async def drain(self, owner: str, draining: bool = True) -> None:
        """``owner`` takes no new room (``join_or_create`` looks elsewhere)."""
        await self._run("drain", owner, int(draining))

    async def sweep(self) -> dict[str, list[str]]:
        """Take the processes silent for ``dead_after`` for dead: forget them, and
        mark their rooms gone. Returns the rooms of each, by process."""
        flat = await self._run("sweep", round(self.dead_after * 1000), round(self.gone_ttl * 1000))
        swept: dict[str, list[str]] = {}
        owner: str | None = None
        for item in flat:
            if owner is None:
                owner = item
                swept[owner] = []
            elif item == "":
                owner = None
            else:
                swept[owner].append(item)
        return swept

    async def restore(self, owner: str, room: RoomInfo) -> bool:
        """Put ``room`` of ``owner`` back (its entry was lost); False if another
        process has its code now."""
        answer = await self._run(
            "restore", owner, room.code, room.room_type, room.max_clients, room.taken,
            int(room.private), int(room.locked), _json(room.metadata),
        )  # fmt: skip
        return bool(answer == "restored")

    async def deregister(self, owner: str) -> None:
        """``owner`` stops: its rooms and its entry are forgotten."""
        await self._run("deregister", owner)

    async def forget(self, owner: str, code: str) -> None:
        """Remove room ``code`` if ``owner`` still owns it (its removal was lost)."""
        await self._run("forget", owner, code)

    async def aclose(self) -> None:
        """Stop watching for changes and close the connections to Redis."""
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watching
        await self.redis.aclose()


def _room(row: Sequence[Any]) -> RoomInfo:
    code, room_type, owner, max_clients, taken, held, private, locked, meta = row
    return RoomInfo(
        code,
        room_type,
        owner,
        max_clients=int(max_clients),
        taken=int(taken),
        held=int(held),
        private=bool(int(private)),
        locked=bool(int(locked)),
        metadata=MappingProxyType(json.loads(meta)),
    )


def _missing(code: str, answer: Sequence[Any]) -> Exception:
    if answer[0] == "gone":
        return RoomGone(f"room {code} has gone: its server ({answer[1]}) stopped")
    return RoomNotFound(f"no room {code}")


def _json(value: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(value or {}), separators=(",", ":"), sort_keys=True, default=str)


def _is_redis_error(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, (RedisError, OSError, TimeoutError))


def _unavailable(exc: Exception) -> Exception:
    """What a failed call to Redis raises: DirectoryUnavailable (short: it is a close
    reason too; the cause, chained, has the details), or ``exc`` itself if it is no
    error of Redis's (a bug here)."""
    from redis.exceptions import ConnectionError, TimeoutError as RedisTimeout

    if isinstance(exc, (ConnectionError, RedisTimeout, OSError, TimeoutError)):
        return DirectoryUnavailable("the room directory (Redis) is unreachable")
    if _is_redis_error(exc):
        return DirectoryUnavailable(f"the room directory (Redis) failed: {exc}")
    return exc
