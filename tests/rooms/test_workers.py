"""Tests for :mod:`multiplayer.rooms.workers`: three real worker processes on one
port and a real redis-server. Players racing through the shared port fill rooms
across the workers; a worker killed with kill -9 mid-game: its players are told the
room is gone (4106), the other rooms go on, the directory is clean within its bound,
and another worker takes its place; SIGTERM drains them all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from multiplayer import ConnectionStatus, RoomFull, RoomGone, WebSocketMultiplayerPeer, rooms
from multiplayer.rooms.redis_directory import DEFAULT_DEAD_AFTER, DEFAULT_HEARTBEAT, RedisDirectory
from tests.redis_server import RedisServer
from tests.rooms.roomkit import RESUMABLE, until

ROOT = Path(__file__).resolve().parents[2]
SECRET = "the secret of the test cluster"
# (Three worker processes start on a busy machine: more time for handshakes.)
SETTINGS = {**RESUMABLE, "handshake_timeout": 3.0, "reconnect_grace": 10.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports."""
    for base in range(23000, 60000, 97):
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base, base + count):
                    probe = stack.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


@contextlib.contextmanager
def workers(
    redis: RedisServer, namespace: str, *options: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``python -m multiplayer.rooms.workers`` with 3 workers on a free port (and
    ``options``); at the end, SIGTERM, and nothing of it left running."""
    port = free_port()
    command = [
        sys.executable, "-m", "multiplayer.rooms.workers", "tests.rooms.cluster_app:setup",
        "--workers", "3", "--port", str(port), "--bind", "127.0.0.1",
        "--redis", redis.url, "--namespace", namespace, "--drain-timeout", "5", *options,
    ]  # fmt: skip
    env = {**os.environ, "MULTIPLAYER_CLUSTER_SECRET": SECRET}
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(ProcessLookupError):  # (nothing may outlive the test)
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def cluster(
    redis_server: RedisServer, redis_namespace: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    with workers(redis_server, redis_namespace) as made:
        yield made


@pytest.fixture
async def directory(
    redis_server: RedisServer, redis_namespace: str
) -> AsyncIterator[RedisDirectory]:
    made = RedisDirectory(redis_server.url, namespace=redis_namespace)
    yield made
    await made.aclose()


async def processes(directory: RedisDirectory) -> list[str]:
    owners: list[str] = await directory.redis.zrange(f"{directory.namespace}:processes", 0, -1)
    return owners


async def test_workers_share_a_port_and_a_killed_one_is_told_and_cleaned_up(
    cluster: tuple[subprocess.Popen[bytes], int], directory: RedisDirectory
) -> None:
    supervisor, port = cluster
    url = f"ws://127.0.0.1:{port}"

    async def three() -> bool:
        return len(await processes(directory)) == 3

    await until(three, timeout=20)
    # Twelve players race through the shared port: three rooms of four.
    peers = [WebSocketMultiplayerPeer() for _ in range(12)]
    for peer in peers:
        for name, value in SETTINGS.items():
            setattr(peer, name, value)
    joined = await asyncio.gather(*(rooms.join_or_create(p, url, "hall") for p in peers))
    codes = [room.code for room in joined]
    assert sorted(codes.count(code) for code in set(codes)) == [4, 4, 4]
    owners = {code: (await directory.get(code)).owner for code in set(codes)}
    # kill -9 the worker of one room, mid-game.
    doomed = codes[0]
    pid = int(owners[doomed].rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    lost = [p for p, room in zip(peers, joined, strict=True) if room.code == doomed]
    kept = [p for p, room in zip(peers, joined, strict=True) if owners[room.code] != owners[doomed]]

    def told() -> bool:
        for peer in peers:
            peer.poll()
        return all(p.get_connection_status() is ConnectionStatus.DISCONNECTED for p in lost)

    await until(told, timeout=20)
    for peer in lost:  # (told at once through a relay, or when its resume is refused)
        error = peer.connection_error
        assert type(error) is RoomGone or "4106" in str(error), error
    # The directory is clean within its bound; the other rooms go on.
    bound = DEFAULT_DEAD_AFTER + 2 * DEFAULT_HEARTBEAT

    async def clean() -> bool:
        listed = {room.code for room in await directory.listing()}
        return doomed not in listed and owners[doomed] not in await processes(directory)

    await until(clean, timeout=bound + 5)
    assert time.monotonic() - killed_at < bound + 2
    for peer in kept:
        assert peer.get_connection_status() is ConnectionStatus.CONNECTED
    # Another worker takes its place.
    await until(three, timeout=20)
    for peer in peers:
        peer.close()
    supervisor.send_signal(signal.SIGTERM)
    assert await asyncio.get_running_loop().run_in_executor(None, supervisor.wait, 20) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # (a zombie: it ended)
    return True


async def test_workers_whose_supervisor_is_killed_do_not_go_on_alone(
    cluster: tuple[subprocess.Popen[bytes], int], directory: RedisDirectory
) -> None:
    supervisor, _port = cluster

    async def three() -> bool:
        return len(await processes(directory)) == 3

    await until(three, timeout=20)
    pids = [int(owner.rsplit(":", 1)[1]) for owner in await processes(directory)]
    supervisor.kill()
    supervisor.wait()
    await until(lambda: not any(alive(pid) for pid in pids), timeout=10)
    assert await processes(directory) == []  # (each left the directory as it drained)


def players(count: int) -> list[WebSocketMultiplayerPeer]:
    made = [WebSocketMultiplayerPeer() for _ in range(count)]
    for peer in made:
        for name, value in SETTINGS.items():
            setattr(peer, name, value)
    return made


async def test_redis_restarting_mid_run_leaves_no_room_owned_twice(
    own_redis: RedisServer, redis_namespace: str
) -> None:
    """Three workers that redirect players to their rooms (--public-host, at the
    ports --own-ports gives them); twelve players race through the shared port into
    three rooms. Redis restarts empty
    mid-game: the workers reconnect and put their rooms back, each room owned by
    the worker that hosts it and by no other, with its four players counted (a
    join by code is refused: full); the players stay connected; new players get
    a new room."""
    own = free_ports(3)
    options = ("--public-host", "127.0.0.1", "--own-ports", str(own))
    with workers(own_redis, redis_namespace, *options) as (_, port):
        directory = RedisDirectory(own_redis.url, namespace=redis_namespace)
        try:
            url = f"ws://127.0.0.1:{port}"

            async def three() -> bool:
                return len(await processes(directory)) == 3

            await until(three, timeout=20)
            peers = players(12)
            joined = await asyncio.gather(*(rooms.join_or_create(p, url, "hall") for p in peers))
            codes = {room.code for room in joined}
            assert sorted([room.code for room in joined].count(code) for code in codes) == [4] * 3
            owners = {code: (await directory.get(code)).owner for code in codes}
            # (a player that reached another worker than its room's went to the
            # owner's own port: nine such races all landing on the owner: 3^-9)
            for peer in peers:
                peer.poll()
            ports = {p.get_peer(1).get_connected_port() for p in peers}
            assert ports - {port} and ports <= {port, own, own + 1, own + 2}
            await asyncio.get_running_loop().run_in_executor(None, own_redis.restart)
            assert await processes(directory) == []  # (it is empty)

            async def back() -> bool:
                if not await three():
                    return False
                owned: list[str] = []
                for owner in await processes(directory):
                    key = f"{directory.namespace}:owned:{owner}"
                    owned += [str(code) for code in await directory.redis.smembers(key)]
                return sorted(owned) == sorted(codes)  # (each code once: no two owners)

            await until(back, timeout=20)
            for code in codes:
                info = await directory.get(code)
                assert (info.owner, info.taken) == (owners[code], 4)
            for peer in peers:
                peer.poll()
                assert peer.get_connection_status() is ConnectionStatus.CONNECTED
            one_more, *four = more = players(5)
            with pytest.raises(RoomFull):
                await rooms.join(one_more, url, next(iter(codes)))
            late = await asyncio.gather(*(rooms.join_or_create(p, url, "hall") for p in four))
            assert len({room.code for room in late}) == 1 and late[0].code not in codes
            for peer in peers + more:
                peer.close()
        finally:
            await directory.aclose()


@pytest.mark.parametrize(
    ("argv", "secret", "says"),
    [
        ([], "short", "needs 16 bytes or more"),
        (["--advertise-host", "bogus.invalid"], SECRET, "'bogus.invalid', which does not"),
    ],
)
def test_a_command_that_cannot_start_says_why_once(
    argv: list[str],
    secret: str,
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What would make every worker fail (a short secret, a module that cannot be
    loaded, an address the others cannot reach) is said once, by the command,
    before any worker starts."""
    from multiplayer.rooms import workers as module

    monkeypatch.setenv("MULTIPLAYER_CLUSTER_SECRET", secret)
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as ended:
        module.main(["tests.rooms.cluster_app:setup", "--bind", "127.0.0.1", *argv])
    assert ended.value.code == 2 and says in capsys.readouterr().err
    monkeypatch.setenv("MULTIPLAYER_CLUSTER_SECRET", SECRET)
    with pytest.raises(SystemExit):
        module.main(["tests.rooms.no_such_module:setup", "--bind", "127.0.0.1"])
    assert "cannot load tests.rooms.no_such_module:setup" in capsys.readouterr().err


def test_workers_that_keep_failing_stop_the_command(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    """A setup that fails in every worker: the command does not start them again
    for ever; after a few that ended at once, it stops, with status 1."""
    command = [
        sys.executable, "-m", "multiplayer.rooms.workers", "tests.rooms.cluster_app:broken",
        "--workers", "2", "--port", str(free_port()), "--bind", "127.0.0.1",
        "--redis", redis_server.url, "--namespace", redis_namespace,
    ]  # fmt: skip
    env = {**os.environ, "MULTIPLAYER_CLUSTER_SECRET": SECRET}
    ended = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert ended.returncode == 1
    assert "ended within 5 s of their start" in ended.stderr
    assert "this setup is broken" in ended.stderr
