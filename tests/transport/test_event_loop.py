"""multiplayer.run(): asyncio.run on uvloop when installed; the transport on uvloop."""

from __future__ import annotations

import asyncio
import ssl

import pytest
import trustme

from multiplayer import ConnectionStatus, WebSocketMultiplayerPeer, run
from multiplayer.transport.event_loop import loop_name
from tests.transport.peers import poll_until


async def which_loop() -> str:
    return loop_name(asyncio.get_running_loop())


def test_run_takes_uvloop_when_installed_unless_told_otherwise() -> None:
    assert run(which_loop()) == "uvloop"
    assert run(which_loop(), loop="uvloop") == "uvloop"
    assert run(which_loop(), loop="asyncio") == "asyncio"
    with pytest.raises(ValueError, match="loop must be"):
        run(which_loop(), loop="trio")  # type: ignore[arg-type]


async def exchange(backend: str, ca: trustme.CA | None = None) -> tuple[bytes, int]:
    """A server and a client of ``backend`` (over TLS with a certificate of ``ca``):
    the client's id, and a packet each way."""
    server = WebSocketMultiplayerPeer(backend=backend)
    client = WebSocketMultiplayerPeer(backend=backend)
    server_tls = client_tls = None
    if ca is not None:
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(server_tls)
        client_tls = ssl.create_default_context()
        ca.configure_trust(client_tls)
    await server.create_server(0, "127.0.0.1", tls=server_tls)
    scheme = "wss" if ca is not None else "ws"
    try:
        await client.create_client(
            f"{scheme}://127.0.0.1:{server.get_local_port()}", tls=client_tls
        )
        peers = [server, client]
        await poll_until(
            peers, lambda: client.get_connection_status() is ConnectionStatus.CONNECTED
        )
        client.put_packet(b"\x90ping")
        await poll_until(peers, lambda: server.get_available_packet_count() > 0)
        got = server.get_packet()
        server.set_target_peer(client.get_unique_id())
        server.put_packet(b"pong")
        await poll_until(peers, lambda: client.get_available_packet_count() > 0)
        assert client.get_packet() == b"pong"
        return got, client.get_unique_id()
    finally:
        client.close()
        server.close()
        await client.wait_closed()
        await server.wait_closed()


@pytest.mark.parametrize("secure", [False, True], ids=["ws", "wss"])
@pytest.mark.parametrize("backend", ["websockets", "picows"])
def test_the_transport_runs_on_uvloop(backend: str, secure: bool) -> None:
    """Both backends connect, give ids and carry packets on uvloop, with and without
    TLS (uvloop's transports are not asyncio.Transport subclasses: the TCP and TLS
    layers must not ask it)."""
    ca = trustme.CA() if secure else None
    assert run(exchange(backend, ca), loop="uvloop") == (b"\x90ping", 2)
