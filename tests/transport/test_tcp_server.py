"""TCPServer and StreamPeerTCP over real sockets."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest

from multiplayer.exceptions import InvalidState
from multiplayer.transport.tcp_server import StreamPeerTCP, TCPServer
from multiplayer.transport.websocket_peer import WebSocketPeer


@pytest.fixture
async def server() -> AsyncIterator[TCPServer]:
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    yield tcp
    tcp.stop()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


async def take(server: TCPServer) -> StreamPeerTCP:
    await until(server.is_connection_available)
    return server.take_connection()


async def closed(stream: StreamPeerTCP) -> None:
    """Close ``stream`` and wait until its socket is gone."""
    stream.disconnect_from_host()
    await until(lambda: stream._socket.lost)


async def test_listen_take_and_disconnect(server: TCPServer) -> None:
    """A connection waits until taken; the stream knows both ends; closing it
    closes the client's side."""
    port = server.get_local_port()
    assert server.is_listening() and port > 0
    assert not server.is_connection_available()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    stream = await take(server)
    assert stream.get_status() == StreamPeerTCP.STATUS_CONNECTED
    assert stream.get_connected_host() == "127.0.0.1"
    assert stream.get_connected_port() == writer.get_extra_info("sockname")[1]
    assert stream.get_local_port() == port
    assert not server.is_connection_available()
    await closed(stream)
    assert stream.get_status() == StreamPeerTCP.STATUS_NONE
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


async def test_connections_wait_in_the_backlog_in_order(server: TCPServer) -> None:
    """Several waiting connections are taken one by one, in the order they came."""
    clients = []
    for _ in range(3):
        clients.append(await asyncio.open_connection("127.0.0.1", server.get_local_port()))
        await asyncio.sleep(0.01)
    streams = [await take(server) for _ in clients]
    ports = [writer.get_extra_info("sockname")[1] for _, writer in clients]
    assert [s.get_connected_port() for s in streams] == ports
    for stream in streams:
        await closed(stream)
    for _, writer in clients:
        writer.close()
        await writer.wait_closed()


async def test_bytes_sent_before_the_stream_is_taken_over_wait(server: TCPServer) -> None:
    """A client's handshake sent before accept_stream is not lost: the stream holds
    the socket unread until the WebSocket peer takes it over."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    writer.write(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await writer.drain()
    stream = await take(server)
    await until(lambda: stream._socket.transport is not None)
    await asyncio.sleep(0.02)  # (time for bytes to arrive, were anything reading)
    assert stream._socket.held == []  # nothing was read
    peer = WebSocketPeer()
    peer.accept_stream(stream)
    response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert response.startswith(b"HTTP/1.1 101")

    def opened() -> bool:
        peer.poll()
        return peer.get_ready_state() == WebSocketPeer.STATE_OPEN

    await until(opened)
    peer.close(-1)
    writer.close()
    await writer.wait_closed()
    await until(lambda: stream._socket.lost)


async def test_disconnecting_a_stream_at_once_closes_it(server: TCPServer) -> None:
    """disconnect_from_host() right after take_connection (before asyncio has the
    socket) still closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    stream = await take(server)
    stream.disconnect_from_host()
    assert stream.get_status() == StreamPeerTCP.STATUS_NONE
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await writer.wait_closed()
    await until(lambda: stream._socket.lost)


async def test_stop_closes_connections_not_taken(server: TCPServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    await until(server.is_connection_available)
    server.stop()
    assert not server.is_listening()
    assert not server.is_connection_available()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await writer.wait_closed()


async def test_set_no_delay(server: TCPServer) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    stream = await take(server)
    sock = stream._sock
    assert sock is not None
    stream.set_no_delay(True)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    stream.set_no_delay(False)
    assert not sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    await closed(stream)
    with pytest.raises(InvalidState, match="connected stream"):
        stream.set_no_delay(True)
    writer.close()
    await writer.wait_closed()


async def test_every_interface_takes_ipv4_and_ipv6() -> None:
    """bind_address '*' listens on one port for both families where the system has
    dual-stack sockets (as Godot), and for IPv4 where it has not."""
    hosts = ["127.0.0.1", "::1"] if socket.has_dualstack_ipv6() else ["127.0.0.1"]
    tcp = TCPServer()
    tcp.listen(0)
    port = tcp.get_local_port()
    try:
        clients = [await asyncio.open_connection(host, port) for host in hosts]
        streams = [await take(tcp) for _ in clients]
        assert sorted(s.get_connected_host() for s in streams) == hosts
        for stream in streams:
            await closed(stream)
        for _, writer in clients:
            writer.close()
            await writer.wait_closed()
    finally:
        tcp.stop()


async def test_a_host_name_binds_its_address() -> None:
    """bind_address may be a host name: it listens on the address it resolves to."""
    tcp = TCPServer()
    tcp.listen(0, "localhost")
    try:
        assert tcp.is_listening()
        _, writer = await asyncio.open_connection("localhost", tcp.get_local_port())
        writer.close()
        await writer.wait_closed()
    finally:
        tcp.stop()


async def test_misuse_raises() -> None:
    tcp = TCPServer()
    with pytest.raises(InvalidState, match="not listening"):
        tcp.take_connection()
    with pytest.raises(InvalidState, match="not listening"):
        tcp.get_local_port()
    with pytest.raises(ValueError, match="bind_address"):
        tcp.listen(0, "no-such-host.invalid")
    with pytest.raises(ValueError, match="port"):
        tcp.listen(70000)
    tcp.listen(0, "127.0.0.1")
    try:
        with pytest.raises(InvalidState, match="listening already"):
            tcp.listen(0, "127.0.0.1")
        with pytest.raises(InvalidState, match="no connection is waiting"):
            tcp.take_connection()
        other = TCPServer()
        with pytest.raises(OSError):
            other.listen(tcp.get_local_port(), "127.0.0.1")
    finally:
        tcp.stop()
    assert not tcp.is_listening()
    tcp.stop()  # idempotent


def test_listen_without_an_event_loop_raises() -> None:
    with pytest.raises(InvalidState, match="running asyncio event loop"):
        TCPServer().listen(0)


async def test_a_stream_dropped_unused_is_closed(server: TCPServer) -> None:
    """A taken stream that nothing uses and nobody keeps is closed (in Godot, freed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    streams = [await take(server)]
    await until(lambda: streams[0]._socket.transport is not None)
    streams.clear()  # the last reference
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await writer.wait_closed()


async def test_a_fresh_stream_is_not_connected() -> None:
    stream = StreamPeerTCP()
    assert stream.get_status() == StreamPeerTCP.STATUS_NONE
    assert stream.get_connected_host() == "" and stream.get_connected_port() == 0
    assert stream.get_local_port() == 0
    with pytest.raises(InvalidState):
        stream.set_no_delay(True)


async def test_watch_calls_back_when_a_connection_waits(server: TCPServer) -> None:
    """_watch(): the event loop calls back as soon as a connection waits; stop() ends it."""
    calls: list[StreamPeerTCP] = []

    def take() -> None:
        while server.is_connection_available():
            calls.append(server.take_connection())

    server._watch(take)
    client = socket.create_connection(("127.0.0.1", server.get_local_port()))
    deadline = time.monotonic() + 5
    while not calls:
        assert time.monotonic() < deadline, "no callback"
        await asyncio.sleep(0.005)
    server.stop()
    assert server._watcher is None
    calls[0].disconnect_from_host()
    client.close()


async def test_watch_needs_a_listening_server() -> None:
    """_watch() on a server that does not listen raises."""
    with pytest.raises(InvalidState):
        TCPServer()._watch(lambda: None)


async def test_streams_that_were_used_and_closed_are_freed() -> None:
    """A stream taken by a WebSocket and closed is freed with it: nothing keeps the
    connections a server ever had alive (before, the unused-stream finalizer held
    its socket, whose user held the stream: every connection stayed in memory)."""
    import gc

    from multiplayer import WebSocketMultiplayerPeer
    from multiplayer.transport.tcp_server import StreamPeerTCP

    server = WebSocketMultiplayerPeer()
    await server.create_server(0, "127.0.0.1")
    url = f"ws://127.0.0.1:{server.get_local_port()}"
    try:
        for _ in range(10):
            client = WebSocketMultiplayerPeer()
            await client.create_client(url)
            for _ in range(400):
                server.poll()
                client.poll()
                if client.get_connection_status() == 2:
                    break
                await asyncio.sleep(0.005)
            client.close()
            await client.wait_closed()
        for _ in range(20):
            server.poll()
            await asyncio.sleep(0.005)
        gc.collect()
        assert sum(isinstance(o, StreamPeerTCP) for o in gc.get_objects()) == 0
    finally:
        server.close()
        await server.wait_closed()


async def test_a_connection_reset_before_it_is_taken_is_still_taken() -> None:
    """A client that connects and resets before the server takes its connection: the
    stream is taken all the same (with the address accept() saw), and then reports
    the reset; taking it does not raise, and the connections after it are taken."""
    import struct

    server = TCPServer()
    server.listen(0, "127.0.0.1")
    try:
        port = server.get_local_port()
        doomed = socket.create_connection(("127.0.0.1", port))
        doomed_port = doomed.getsockname()[1]
        for _ in range(200):
            if server.is_connection_available():
                break
            await asyncio.sleep(0.005)
        doomed.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        doomed.close()  # an RST, before take_connection()
        await asyncio.sleep(0.05)
        fine = socket.create_connection(("127.0.0.1", port))
        stream = server.take_connection()
        assert (stream.get_connected_host(), stream.get_connected_port()) == (
            "127.0.0.1",
            doomed_port,
        )
        for _ in range(200):
            if server.is_connection_available():
                break
            await asyncio.sleep(0.005)
        assert server.take_connection().get_connected_host() == "127.0.0.1"
        fine.close()
    finally:
        server.stop()


async def test_servers_that_reuse_the_port_share_its_connections() -> None:
    """With reuse_port, several servers (processes, in a cluster) listen on one port
    and the system gives each connection to one of them; without it, the second
    cannot bind. (A system without SO_REUSEPORT refuses reuse_port at the call.)"""
    first, second = TCPServer(), TCPServer()
    if not hasattr(socket, "SO_REUSEPORT"):
        with pytest.raises(ValueError):
            first.listen(0, "127.0.0.1", reuse_port=True)
        return
    first.listen(0, "127.0.0.1", reuse_port=True)
    port = first.get_local_port()
    writers: list[asyncio.StreamWriter] = []
    try:
        with pytest.raises(OSError):
            TCPServer().listen(port, "127.0.0.1")
        second.listen(port, "127.0.0.1", reuse_port=True)
        taken = {id(first): 0, id(second): 0}
        for _ in range(40):  # (spread by a hash of the client's address and port)
            writers.append((await asyncio.open_connection("127.0.0.1", port))[1])

        def all_taken() -> bool:
            for server in (first, second):
                while server.is_connection_available():
                    server.take_connection().disconnect_from_host()
                    taken[id(server)] += 1
            return sum(taken.values()) == 40

        await until(all_taken)
        assert all(taken.values()), taken  # (both got some)
    finally:
        first.stop()
        second.stop()
        for writer in writers:
            writer.close()
