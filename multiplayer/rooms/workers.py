"""``python -m multiplayer.rooms.workers``: a room server as N processes of one machine.

    python -m multiplayer.rooms.workers myapp.rooms:setup --workers 4 --port 9000 \\
        --redis redis://127.0.0.1:6379/0 --secret-file /etc/mygame/cluster-secret

``myapp.rooms:setup`` names a function (or coroutine function) that is given each
worker's :class:`~.server.RoomServer`, to ``define`` its room types. Each worker is a
process with:

* a :class:`~.redis_directory.RedisDirectory` on ``--redis`` (the cluster's
  directory: every worker of every machine points at the same one);
* a ``RoomServer(cluster_secret=...)`` listening on ``--port`` with
  ``reuse_port``, so that the system spreads the players over the workers, and on a
  port of its own (``--own-ports``, or any free one), where the others forward the
  players of its rooms (or, with ``--public-host``, redirect those that can follow
  a redirect).

SIGTERM or SIGINT (Ctrl-C) to the command drains every worker: each makes no new
room, lets its rooms end for ``--drain-timeout`` seconds, then exits; the command
exits once they have. A worker that dies otherwise is started again, and its rooms
are gone (their players are told: 4106); workers whose command is killed drain and
exit by themselves. On several machines, run the command on
each, all with the same ``--redis`` and secret (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from .redis_directory import RedisDirectory
from .server import RoomServer

__all__ = ["main", "serve_worker"]

logger = logging.getLogger("multiplayer.rooms")

_RESTART_DELAY = 1.0
"""Seconds before a worker that died is started again."""
_EARLY = 5.0
"""A worker that ends within this many seconds of its start did not start at all."""
_EARLY_ENDS = 3
"""Workers ending early, one after another, after which the command gives up (its
setup is broken, not a worker unlucky: restarting would go on for ever)."""


def load(target: str) -> Callable[[RoomServer], Any]:
    """The setup function that ``module:function`` names.

    Raises:
        ValueError: ``target`` is not ``module:function``, or names nothing callable.
    """
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise ValueError(f"{target!r} is not module:function")
    found = getattr(importlib.import_module(module_name), name, None)
    if not callable(found):
        raise ValueError(f"{target!r} names no function")
    return found  # type: ignore[no-any-return]


async def serve_worker(
    setup: Callable[[RoomServer], Any],
    *,
    port: int,
    bind_address: str,
    redis_url: str,
    secret: str,
    namespace: str,
    drain_timeout: float,
    advertise_host: str | None = None,
    public_host: str | None = None,
    own_port: int = 0,
    parent: int | None = None,
) -> None:
    """One worker: until SIGTERM or SIGINT, which drain it; or until its
    supervisor, ``parent``, is gone (killed): then it drains too, rather than go on
    alone."""
    directory = RedisDirectory(redis_url, namespace=namespace)
    server = RoomServer(directory=directory, cluster_secret=secret)
    try:
        configured = setup(server)
        if inspect.isawaitable(configured):
            await configured
        await server.listen(
            port,
            bind_address,
            reuse_port=True,
            advertise_host=advertise_host,
            public_host=public_host,
            own_port=own_port,
        )
        loop = asyncio.get_running_loop()
        draining: list[asyncio.Task[None]] = []

        def drain() -> None:
            if not draining:  # (a second signal: the drain goes on)
                draining.append(loop.create_task(server.drain(drain_timeout)))

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, drain)
        if parent is not None:
            watching = loop.create_task(_watch_parent(parent, drain))
        reached = server._membership.addresses
        print(
            f"worker {os.getpid()}: serving on port {port}; the others reach it at"
            f" {reached['host']}:{reached['port']}"
            + (
                f", players who follow redirects at {reached['public']}"
                if "public" in reached
                else ""
            ),
            flush=True,
        )
        try:
            await directory.redis.ping()
        except Exception as exc:  # (Redis may come later: the heartbeat retries)
            logger.error(
                "the room directory at %s is unreachable (%s): joins are refused (1013)"
                " until it answers",
                redis_url,
                exc,
            )
        await server.run(handle_signals=False)
        if parent is not None:
            watching.cancel()
    finally:
        await directory.aclose()


async def _watch_parent(parent: int, drain: Callable[[], None]) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    drain()


def _worker_command(args: argparse.Namespace, index: int) -> list[str]:
    """The command of worker ``index`` (0, 1, ...: its own port is the index's)."""
    command = [sys.executable, "-m", "multiplayer.rooms.workers", args.target, "--worker"]
    command += ["--parent", str(os.getpid())]
    if args.own_ports:
        command += ["--own-port", str(args.own_ports + index)]
    names = ("port", "bind", "redis", "namespace", "drain_timeout", "advertise_host", "public_host")
    for name in names:
        value = getattr(args, name)
        if value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    return command


def supervise(args: argparse.Namespace, secret: str) -> int:
    """Run ``args.workers`` workers; start again one that dies; on SIGTERM or SIGINT,
    pass it on (each drains) and wait for them all."""
    env = {**os.environ, "MULTIPLAYER_CLUSTER_SECRET": secret}
    stopping = False
    return_code = 0
    told: set[int] = set()  # the workers sent SIGTERM

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [subprocess.Popen(_worker_command(args, i), env=env) for i in range(args.workers)]
    started = [time.monotonic()] * args.workers
    early = 0  # workers that ended early, one after another
    while True:
        time.sleep(0.2)
        if stopping:  # (every worker is told once, even one started just now)
            for worker in workers:
                if worker.poll() is None and worker.pid not in told:
                    worker.send_signal(signal.SIGTERM)
                    told.add(worker.pid)
            if all(worker.poll() is not None for worker in workers):
                return return_code
            continue
        for index, worker in enumerate(workers):
            code = worker.poll()
            if code is None or stopping:
                continue
            early = early + 1 if time.monotonic() - started[index] < _EARLY else 0
            if early >= _EARLY_ENDS:
                print(
                    f"workers: {early} workers ended within {_EARLY:g} s of their start"
                    " (their errors are above); stopping",
                    file=sys.stderr,
                    flush=True,
                )
                stopping = True
                return_code = 1
                break
            print(
                f"workers: worker {worker.pid} ended ({code}); starting another",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(_RESTART_DELAY)
            workers[index] = subprocess.Popen(_worker_command(args, index), env=env)
            started[index] = time.monotonic()


def _check(args: argparse.Namespace, secret: str) -> str | None:
    """What would make every worker fail at its start (None: nothing): said once,
    by the command, rather than by each worker it starts again."""
    if len(secret.encode()) < 16:
        return "the cluster's secret needs 16 bytes or more (say: openssl rand -base64 32)"
    if importlib.util.find_spec("redis") is None:
        return "the workers need the redis package: pip install 'pygodot-multiplayer[redis]'"
    try:
        load(args.target)
    except (ImportError, ValueError) as exc:
        return f"cannot load {args.target} (from {os.getcwd()}): {exc}"
    host = args.advertise_host
    if host is None:
        host = socket.gethostname() if args.bind in ("*", "") else args.bind
    try:
        socket.getaddrinfo(host, None)
    except OSError:
        return (
            f"the workers are reached by each other at {host!r}, which does not resolve:"
            " give --advertise-host"
        )
    return None


def _secret(args: argparse.Namespace) -> str:
    if args.secret_file:
        with open(args.secret_file) as file:
            return file.read().strip()
    secret = os.environ.get("MULTIPLAYER_CLUSTER_SECRET", "")
    if not secret:
        sys.exit("workers: give the cluster's secret: --secret-file, or MULTIPLAYER_CLUSTER_SECRET")
    return secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m multiplayer.rooms.workers",
        description="A room server as N worker processes sharing one port, with Redis.",
    )
    parser.add_argument("target", help="module:function given each worker's RoomServer")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=9080)
    parser.add_argument("--bind", default="*", help="the address to listen on")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--namespace", default="multiplayer", help="of the Redis keys")
    parser.add_argument("--secret-file", help="the cluster's shared secret (16 bytes or more)")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="seconds a stopping worker lets its rooms end before it closes them (a"
        " player away, for a resume, keeps its room up to its reconnect_grace)",
    )
    parser.add_argument("--advertise-host", help="where the other machines reach this one")
    parser.add_argument(
        "--public-host",
        help="where players reach this machine: those who can follow a redirect (this"
        " library's clients) are sent to their room's worker there, at its own port,"
        " rather than forwarded",
    )
    parser.add_argument(
        "--own-ports",
        type=int,
        help="worker i listens on this port plus i as its own (by default, any free one):"
        " the ports a firewall lets players in to, to be redirected",
    )
    parser.add_argument("--own-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    if args.own_ports is not None and not 0 < args.own_ports <= 65536 - args.workers:
        parser.error(f"--own-ports: {args.workers} ports from {args.own_ports} are no ports")
    secret = _secret(args)
    sys.path.insert(0, os.getcwd())  # (the target's module, as python -m finds it)
    if not args.worker:
        problem = _check(args, secret)
        if problem is not None:
            parser.error(problem)
        return supervise(args, secret)
    logging.basicConfig(level=logging.INFO, format="%(process)d %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # (its 307s are no news)
    setup = load(args.target)
    asyncio.run(
        serve_worker(
            setup,
            port=args.port,
            bind_address=args.bind,
            redis_url=args.redis,
            secret=secret,
            namespace=args.namespace,
            drain_timeout=args.drain_timeout,
            advertise_host=args.advertise_host,
            public_host=args.public_host,
            own_port=args.own_port,
            parent=args.parent,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
