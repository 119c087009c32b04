"""``FaultProxy``: the faults of real networks, on command, between a client and a server.

A TCP proxy on 127.0.0.1: clients connect to it, and it opens one connection to the
real server for each and forwards the bytes both ways, as they come. On command it
breaks the links the ways real networks do:

* ``cut()``: both sides see the connection reset (an RST, no close frame), as when a
  phone changes networks or a NAT forgets the flow;
* ``blackhole()``: nothing is forwarded any more, and nothing is closed, as when Wi-Fi
  drops or a laptop sleeps; the bytes wait (in the proxy and in the kernels' buffers)
  and flow again on ``restore()``, unless a side gave up meanwhile (its heartbeat);
* ``delay = seconds``: every chunk is forwarded that much later, in order;
* ``cut_mid_frame()``: the next chunk of bytes is forwarded only in part, then the
  link is cut: a WebSocket frame arrives truncated.

It speaks no protocol: it sees bytes, so it serves any TCP client and server of this
library (ws://; wss:// too, since it does not look inside). Use it as an async context
manager, and connect the client to ``proxy.url``::

    async with FaultProxy(server.get_local_port()) as proxy:
        await client.create_client(proxy.url)
        ...
        proxy.cut()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType

__all__ = ["FaultProxy"]

_CHUNK = 65536


class _Link:
    """One client's connection and the proxy's connection to the server for it."""

    def __init__(self, proxy: FaultProxy) -> None:
        self._proxy = proxy
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False

    def cut(self) -> None:
        """Reset both connections (RST: SO_LINGER 0, then close)."""
        if self.closed:
            return
        self.closed = True
        for writer in self.writers:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        for task in self.tasks:
            task.cancel()

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward one direction until either side ends, applying the proxy's faults."""
        proxy = self._proxy
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                await proxy._open.wait()  # a blackhole: hold the bytes, close nothing
                if proxy.delay:
                    await asyncio.sleep(proxy.delay)
                if proxy._cut_next:
                    proxy._cut_next = False
                    writer.write(data[: max(1, len(data) // 2)])
                    await writer.drain()
                    self.cut()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not self.closed:  # one side ended: end the other, as TCP would
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write_eof()


class FaultProxy:
    """A TCP proxy from 127.0.0.1 to a server on ``target_port`` that breaks links on
    command.

    Args:
        target_port: The server's port.
        target_host: The server's address (127.0.0.1 by default).

    Attributes:
        delay: Seconds every chunk of bytes waits before it is forwarded (0: none).
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._open = asyncio.Event()
        self._open.set()
        self._cut_next = False
        self.delay = 0.0

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on 127.0.0.1, on a free port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        """The port clients connect to."""
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>``: the URL a WebSocket client connects to."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def links(self) -> int:
        """How many client connections are open through the proxy now."""
        return sum(not link.closed for link in self._links)

    # The faults.

    def cut(self) -> None:
        """Reset every open link, both sides (no close frame: an RST)."""
        for link in self._links:
            link.cut()

    def blackhole(self) -> None:
        """Stop forwarding, without closing anything, until ``restore()``."""
        self._open.clear()

    def restore(self) -> None:
        """Forward again what a blackhole held, and what comes after it."""
        self._open.set()

    def cut_mid_frame(self) -> None:
        """Forward only part of the next chunk of bytes (either way), then cut."""
        self._cut_next = True

    async def close(self) -> None:
        """Stop listening and cut every link."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        tasks = [task for link in self._links for task in link.tasks]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(self)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()  # no server: the client sees the connection fail
            return
        link.writers = [writer, up_writer]
        self._links = [known for known in self._links if not known.closed] + [link]
        link.tasks = [
            asyncio.create_task(link.pump(reader, up_writer)),
            asyncio.create_task(link.pump(up_reader, writer)),
        ]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        link.closed = True
        for end in link.writers:
            end.close()
