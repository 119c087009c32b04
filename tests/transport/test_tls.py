"""TLSOptions and StreamPeerTLS (the wss:// exchanges are in test_websocket_peer.py)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trustme

from multiplayer import WebSocketMultiplayerPeer
from multiplayer.exceptions import InvalidState
from multiplayer.transport import tls
from multiplayer.transport.log_budget import LineBudget
from multiplayer.transport.tcp_server import StreamPeerTCP, TCPServer
from multiplayer.transport.tls import StreamPeerTLS, TLSOptions


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def files(ca: trustme.CA, tmp_path: Path) -> dict[str, Path]:
    cert = ca.issue_cert("localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "key", "cert")}
    ca.cert_pem.write_to_path(paths["ca"])
    cert.private_key_pem.write_to_path(paths["key"])
    cert.cert_chain_pems[0].write_to_path(paths["cert"])
    return paths


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


def test_client_options_verify_by_default() -> None:
    """TLSOptions.client(): the system's CAs, certificate and host name checked."""
    options = TLSOptions.client()
    assert not options.is_server() and not options.is_unsafe_client()
    assert options.context.verify_mode == ssl.CERT_REQUIRED
    assert options.context.check_hostname
    assert options.get_common_name_override() == ""


def test_client_options_with_a_trusted_chain(files: dict[str, Path]) -> None:
    options = TLSOptions.client(trusted_chain=files["ca"], common_name_override="game.example")
    assert options.context.verify_mode == ssl.CERT_REQUIRED
    assert options.get_common_name_override() == "game.example"
    assert len(options.context.get_ca_certs()) == 1


def test_unsafe_client_options_verify_nothing(files: dict[str, Path]) -> None:
    options = TLSOptions.client_unsafe(files["ca"])
    assert options.is_unsafe_client() and not options.is_server()
    assert options.context.verify_mode == ssl.CERT_NONE
    assert not options.context.check_hostname


def test_server_options(files: dict[str, Path]) -> None:
    options = TLSOptions.server(files["key"], files["cert"])
    assert options.is_server()
    assert options.context.protocol == ssl.PROTOCOL_TLS_SERVER


def test_bad_files_raise_where_the_options_are_made(files: dict[str, Path]) -> None:
    with pytest.raises(FileNotFoundError):
        TLSOptions.client(trusted_chain=files["ca"].with_name("missing.pem"))
    with pytest.raises(ssl.SSLError):
        TLSOptions.server(files["ca"], files["cert"])  # a certificate is not a key


def test_options_from_a_context() -> None:
    """from_context takes any SSLContext; its protocol says which side it is for."""
    server = TLSOptions.from_context(ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))
    assert server.is_server()
    client = TLSOptions.from_context(ssl.create_default_context(), "name")
    assert not client.is_server() and client.get_common_name_override() == "name"
    with pytest.warns(DeprecationWarning):
        generic = ssl.SSLContext(ssl.PROTOCOL_TLS)
    with pytest.raises(ValueError, match="PROTOCOL_TLS_CLIENT"):
        TLSOptions.from_context(generic)


async def test_stream_peer_tls_handshakes_a_client(files: dict[str, Path]) -> None:
    """accept_stream: HANDSHAKING, then CONNECTED once a client finished; the TCP
    stream is under it."""
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    client_context = ssl.create_default_context(cafile=str(files["ca"]))
    connecting = asyncio.ensure_future(
        asyncio.open_connection(
            "127.0.0.1", tcp.get_local_port(), ssl=client_context, server_hostname="localhost"
        )
    )
    await until(tcp.is_connection_available)
    stream = tcp.take_connection()
    tls = StreamPeerTLS()
    tls.accept_stream(stream, TLSOptions.server(files["key"], files["cert"]))
    assert tls.get_status() == StreamPeerTLS.STATUS_HANDSHAKING
    assert tls.get_stream() is stream
    reader, writer = await asyncio.wait_for(connecting, 5)
    await until(lambda: tls.get_status() == StreamPeerTLS.STATUS_CONNECTED)
    tls.disconnect_from_stream()
    assert tls.get_status() == StreamPeerTLS.STATUS_DISCONNECTED
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await writer.wait_closed()
    tcp.stop()


async def test_stream_peer_tls_reports_a_failed_handshake(files: dict[str, Path]) -> None:
    """A client that does not trust the server: the status becomes ERROR."""
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    connecting = asyncio.ensure_future(
        asyncio.open_connection(
            "127.0.0.1",
            tcp.get_local_port(),
            ssl=ssl.create_default_context(),
            server_hostname="localhost",
        )
    )
    await until(tcp.is_connection_available)
    tls = StreamPeerTLS()
    tls.accept_stream(tcp.take_connection(), TLSOptions.server(files["key"], files["cert"]))
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.wait_for(connecting, 5)
    await until(lambda: tls.get_status() == StreamPeerTLS.STATUS_ERROR)
    tcp.stop()


async def test_stream_peer_tls_misuse_raises(files: dict[str, Path]) -> None:
    tls = StreamPeerTLS()
    with pytest.raises(InvalidState, match="accept_stream"):
        tls.get_stream()
    with pytest.raises(ValueError, match=r"TLSOptions\.server"):
        tls.accept_stream(StreamPeerTCP(), TLSOptions.client())
    with pytest.raises(InvalidState, match="from a TCPServer"):
        tls.accept_stream(StreamPeerTCP(), TLSOptions.server(files["key"], files["cert"]))


def test_stream_peer_tls_needs_an_event_loop(files: dict[str, Path]) -> None:
    with pytest.raises(InvalidState, match="running asyncio event loop"):
        StreamPeerTLS().accept_stream(
            StreamPeerTCP(), TLSOptions.server(files["key"], files["cert"])
        )


# A server's failed handshakes, logged and rate-limited.


@pytest.fixture
async def tls_server(files: dict[str, Path]) -> AsyncIterator[WebSocketMultiplayerPeer]:
    """A WebSocket multiplayer server on a TLS port of 127.0.0.1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["cert"], files["key"])
    server = WebSocketMultiplayerPeer()
    await server.create_server(0, "127.0.0.1", context)
    yield server
    server.close()
    await server.wait_closed()


async def send_junk(server: WebSocketMultiplayerPeer, junk: bytes) -> int:
    """Connect to the TLS port, send ``junk``, wait for the server to hang up; the
    client's port."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.get_local_port())
    writer.write(junk)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await writer.wait_closed()
    return int(writer.get_extra_info("sockname")[1])


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("multiplayer")]


async def test_a_failed_handshake_is_one_line_naming_the_address_and_why(
    tls_server: WebSocketMultiplayerPeer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plain HTTP or junk on the TLS port: one warning each, naming the client's
    address and what TLS found wrong (nothing else logs it again)."""
    monkeypatch.setattr(tls, "handshake_failures", LineBudget(tls.logger, "failed TLS handshakes"))
    http = await send_junk(tls_server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    junk = await send_junk(tls_server, bytes(64))
    await until(lambda: len(failure_lines(caplog)) >= 2)
    # (once the server has let both connections go, nothing more can be logged)
    await until(lambda: not tls_server._connections)
    lines = failure_lines(caplog)
    assert len(lines) == 2
    assert lines[0].startswith(f"TLS handshake with 127.0.0.1:{http} failed: SSLError: ")
    assert "http request" in lines[0]  # (OpenSSL's words)
    assert lines[1].startswith(f"TLS handshake with 127.0.0.1:{junk} failed: SSLError: ")
    assert all(r.levelname == "WARNING" for r in caplog.records if r.name.startswith("multi"))


async def test_failed_handshakes_are_rate_limited_with_a_summary(
    tls_server: WebSocketMultiplayerPeer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the budget of lines an interval, failures are counted, and the count is
    logged in one line when the interval ends."""
    budget = LineBudget(tls.logger, "failed TLS handshakes", lines=3, interval=0.5)
    monkeypatch.setattr(tls, "handshake_failures", budget)
    for _ in range(7):
        await send_junk(tls_server, bytes(64))
    await until(lambda: any("more failed" in line for line in failure_lines(caplog)), 3)
    lines = failure_lines(caplog)
    assert len(lines) == 3 + 1
    assert all(line.startswith("TLS handshake with 127.0.0.1:") for line in lines[:3])
    assert lines[3] == "4 more failed TLS handshakes in 0.5 s, not logged (more than 3)"
    await send_junk(tls_server, bytes(64))  # a new interval: logged again
    await until(lambda: len(failure_lines(caplog)) == 5)
