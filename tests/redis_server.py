"""A real ``redis-server`` for the tests of the Redis room directory and the cluster.

It listens on 127.0.0.1 on a free port, keeps nothing on disk, and can be stopped
and started again on the same port (a Redis restart, as a worker sees it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["ENABLE", "REQUIRE_ENV", "RedisServer", "unavailable_reason"]

REQUIRE_ENV = "MULTIPLAYER_REQUIRE_REDIS"
ENABLE = "apt-get install redis-server (or put a redis-server on PATH)"


def unavailable_reason() -> str | None:
    """Why no redis-server can run here (None: one can)."""
    if shutil.which("redis-server") is None:
        return f"no redis-server on PATH. Fix: {ENABLE}"
    try:
        import redis  # noqa: F401
    except ImportError:
        return "the redis package is missing. Fix: pip install 'pygodot-multiplayer[redis]'"
    return None


class RedisServer:
    """One ``redis-server`` process on a free port of 127.0.0.1."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (on the port it had, if it ran before; else on a free one)."""
        for _ in range(5):  # (a free port may be taken between the probe and the bind)
            port = self.port or _free_port()
            self.process = subprocess.Popen(
                [
                    "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                    "--loglevel", "warning", "--logfile", str(self.workdir / "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if self._wait_ready(port):
                self.port = port
                return
            self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop it now (what it held is lost: it keeps nothing on disk)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _wait_ready(self, port: int) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False  # (it exited: the port was taken, say)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.02)
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
