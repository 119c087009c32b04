"""WebSocketPeer over real sockets on 127.0.0.1: both sides, and against websockets."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trustme
from websockets.asyncio.client import ClientConnection, connect as ws_connect
from websockets.asyncio.server import Server, ServerConnection, serve as ws_serve
from websockets.frames import CloseCode
from websockets.http11 import Request

from multiplayer.exceptions import InvalidState, OutboundBufferFull
from multiplayer.transport.tcp_server import TCPServer
from multiplayer.transport.tls import StreamPeerTLS, TLSOptions
from multiplayer.transport.websocket_peer import State, WebSocketPeer, WriteMode

OPEN = WebSocketPeer.STATE_OPEN
CLOSING = WebSocketPeer.STATE_CLOSING
CLOSED = WebSocketPeer.STATE_CLOSED


class Net:
    """A TCP server on 127.0.0.1 that accepts every connection into a WebSocketPeer,
    and every peer a test makes; all closed at the end."""

    def __init__(self) -> None:
        self.tcp = TCPServer()
        self.peers: list[WebSocketPeer] = []
        self.accepted: list[WebSocketPeer] = []
        self.server_settings: dict[str, object] = {}
        self.tls: TLSOptions | None = None

    def listen(self, **settings: object) -> str:
        self.server_settings = settings
        self.tcp.listen(0, "127.0.0.1")
        return f"ws://127.0.0.1:{self.tcp.get_local_port()}"

    def client(self, url: str, tls: TLSOptions | None = None, **settings: object) -> WebSocketPeer:
        peer = self.peer(**settings)
        peer.connect_to_url(url, tls)
        return peer

    def peer(self, **settings: object) -> WebSocketPeer:
        peer = WebSocketPeer()
        for name, value in settings.items():
            setattr(peer, name, value)
        self.peers.append(peer)
        return peer

    def poll(self) -> None:
        """One frame: take new connections, poll every peer."""
        while self.tcp.is_listening() and self.tcp.is_connection_available():
            stream = self.tcp.take_connection()
            peer = self.peer(**self.server_settings)
            if self.tls is not None:
                tls = StreamPeerTLS()
                tls.accept_stream(stream, self.tls)
                peer.accept_stream(tls)
            else:
                peer.accept_stream(stream)
            self.accepted.append(peer)
        for peer in self.peers:
            peer.poll()

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll every few milliseconds until ``condition()``; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if condition():
                return
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.002)

    async def pair(self, **client_settings: object) -> tuple[WebSocketPeer, WebSocketPeer]:
        """A client and the server peer that accepted it, both OPEN."""
        url = self.listen() if not self.tcp.is_listening() else self.url()
        client = self.client(url, None, **client_settings)
        await self.until(lambda: client.get_ready_state() == OPEN and bool(self.accepted))
        server = self.accepted[-1]
        await self.until(lambda: server.get_ready_state() == OPEN)
        return client, server

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.tcp.get_local_port()}"

    async def close(self) -> None:
        for peer in self.peers:
            if peer.get_ready_state() != CLOSED:
                peer.close()
        await self.until(lambda: all(p.get_ready_state() == CLOSED for p in self.peers))
        await settle(self.peers)
        self.tcp.stop()


async def settle(peers: list[WebSocketPeer]) -> None:
    """Wait until every connection is closed at the socket level too (close(-1)
    shows CLOSED at once; the socket closes a loop pass later)."""
    deadline = time.monotonic() + 5
    while any(p._link is not None and p._link.state is not CLOSED for p in peers):
        assert time.monotonic() < deadline, "sockets still open"
        await asyncio.sleep(0.002)
    await asyncio.sleep(0)


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    made = Net()
    yield made
    await made.close()


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait, without polling any peer, until ``condition()``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


def drain(peer: WebSocketPeer) -> list[tuple[bytes, bool]]:
    """Every packet available, as (data, was_string_packet)."""
    out = []
    while peer.get_available_packet_count():
        data = peer.get_packet()
        out.append((data, peer.was_string_packet()))
    return out


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


@pytest.fixture
async def echo_server() -> AsyncIterator[str]:
    """A plain websockets echo server; its URL."""
    async with ws_serve(echo, "127.0.0.1", 0) as server:
        yield url_of(server)


async def ws_client(net: Net, url: str) -> ClientConnection:
    """A websockets client of ``net``'s server (which needs polling to accept it)."""
    task = asyncio.ensure_future(ws_connect(url))
    await net.until(task.done)
    return task.result()


def url_of(server: Server) -> str:
    port = next(iter(server.sockets)).getsockname()[1]
    return f"ws://127.0.0.1:{port}"


# Exchanging messages.


async def test_text_and_binary_keep_their_type_both_ways(net: Net) -> None:
    """Text arrives as text and binary as binary, from the client and back."""
    client, server = await net.pair()
    client.send_text("héllo")
    client.put_packet(b"\x00\xff")
    client.send(b"bin", WebSocketPeer.WRITE_MODE_BINARY)
    client.send("txt", WriteMode.WRITE_MODE_TEXT)
    await net.until(lambda: server.get_available_packet_count() == 4)
    got = drain(server)
    assert got == [
        ("héllo".encode(), True),
        (b"\x00\xff", False),
        (b"bin", False),
        (b"txt", True),
    ]
    for data, text in got:
        server.send(data, WriteMode.WRITE_MODE_TEXT if text else WriteMode.WRITE_MODE_BINARY)
    await net.until(lambda: client.get_available_packet_count() == 4)
    assert drain(client) == got


async def test_was_string_packet_follows_the_last_packet_taken(net: Net) -> None:
    """was_string_packet() is about the packet get_packet() returned last."""
    client, server = await net.pair()
    assert not server.was_string_packet()
    client.send_text("a")
    client.put_packet(b"b")
    await net.until(lambda: server.get_available_packet_count() == 2)
    assert server.was_string_packet() is False  # nothing taken yet
    server.get_packet()
    assert server.was_string_packet() is True
    server.get_packet()
    assert server.was_string_packet() is False


async def test_a_fragmented_message_arrives_whole(net: Net) -> None:
    """A message sent in fragments (by websockets) is one packet."""
    url = net.listen()
    async with await ws_client(net, url) as ws:
        await ws.send(["ab", "cd", "é"])
        await ws.send([b"\x01", b"\x02"])
        await net.until(
            lambda: bool(net.accepted) and net.accepted[0].get_available_packet_count() == 2
        )
        assert drain(net.accepted[0]) == [("abcdé".encode(), True), (b"\x01\x02", False)]


async def test_settings_have_godots_defaults() -> None:
    """The settings start at Godot's defaults."""
    peer = WebSocketPeer()
    assert peer.inbound_buffer_size == 65535
    assert peer.outbound_buffer_size == 65535
    assert peer.max_queued_packets == 4096
    assert peer.heartbeat_interval == 0.0
    assert peer.supported_protocols == [] and peer.handshake_headers == []
    assert peer.get_ready_state() == CLOSED and peer.get_close_code() == -1
    assert WebSocketPeer.STATE_OPEN is State.STATE_OPEN
    assert WebSocketPeer.WRITE_MODE_TEXT is WebSocketPeer.WriteMode.WRITE_MODE_TEXT
    assert [int(s) for s in State] == [0, 1, 2, 3] and [int(m) for m in WriteMode] == [0, 1]


# The ready state, as poll() shows it.


async def test_the_state_changes_only_at_poll(net: Net) -> None:
    """Opening, packets and the close are shown by poll(), never in between."""
    url = net.listen()
    client = WebSocketPeer()  # polled by hand below, not by net
    client.connect_to_url(url)
    assert client.get_ready_state() == WebSocketPeer.STATE_CONNECTING
    await net.until(lambda: bool(net.accepted) and net.accepted[0].get_ready_state() == OPEN)
    server = net.accepted[0]
    await wait_for(lambda: client._link is not None and client._link.state is OPEN)
    assert client.get_ready_state() == WebSocketPeer.STATE_CONNECTING  # not polled yet
    client.poll()
    assert client.get_ready_state() == OPEN

    server.send_text("ping")
    await wait_for(lambda: client._link is not None and len(client._link.received) == 1)
    assert client.get_available_packet_count() == 0
    client.poll()
    assert client.get_available_packet_count() == 1
    assert client.get_packet() == b"ping"

    server.close(1001, "going away")
    assert server.get_ready_state() == CLOSING  # the user's own call shows at once
    await wait_for(lambda: client._link is not None and client._link.state is CLOSED)
    assert client.get_ready_state() == OPEN
    assert client.get_close_code() == -1
    client.poll()
    assert client.get_ready_state() == CLOSED
    assert (client.get_close_code(), client.get_close_reason()) == (1001, "going away")
    await settle([client])


async def test_packets_before_a_close_are_shown_while_open(net: Net) -> None:
    """A loop that reads packets only while OPEN (as Godot's examples do) gets the
    packets that came with the close, which shows at the next poll."""
    client, server = await net.pair()
    server.send_text("one")
    server.put_packet(b"two")
    server.close(1000, "done")
    await wait_for(lambda: client._link is not None and client._link.state is CLOSED)
    client.poll()
    assert client.get_ready_state() == OPEN
    assert drain(client) == [(b"one", True), (b"two", False)]
    client.poll()
    assert client.get_ready_state() == CLOSED
    assert client.get_close_code() == 1000


async def test_packets_stay_readable_after_the_close(net: Net) -> None:
    """Packets not taken before CLOSED can still be taken after it."""
    client, server = await net.pair()
    server.put_packet(b"late")
    server.close()
    await net.until(lambda: client.get_ready_state() == CLOSED)
    assert drain(client) == [(b"late", False)]


# Closing.


async def test_a_clean_close_shows_code_and_reason_on_both_sides(net: Net) -> None:
    """close(code, reason): CLOSING at once, then CLOSED on both sides with them."""
    client, server = await net.pair()
    client.close(4001, "see you")
    assert client.get_ready_state() == CLOSING
    await net.until(lambda: CLOSED == client.get_ready_state() == server.get_ready_state())
    assert (server.get_close_code(), server.get_close_reason()) == (4001, "see you")
    assert (client.get_close_code(), client.get_close_reason()) == (4001, "see you")
    assert client.connection_error is None and server.connection_error is None


async def test_a_drop_without_a_close_frame_is_minus_one(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    """close(-1) cuts the connection at once; the other side sees close code -1."""
    client, server = await net.pair()
    client.close(-1)
    assert client.get_ready_state() == CLOSED
    assert client.get_close_code() == -1
    await net.until(lambda: server.get_ready_state() == CLOSED)
    assert server.get_close_code() == -1
    assert server.get_close_reason() == ""
    assert "connection lost without a close frame" in caplog.text


async def test_close_while_connecting_is_immediate(net: Net) -> None:
    """close() before OPEN gives up the connection: CLOSED at once, code -1."""
    url = net.listen()
    client = net.client(url)
    client.close()
    assert client.get_ready_state() == CLOSED
    assert client.get_close_code() == -1
    await settle([client])


async def test_a_silent_peer_cannot_hold_the_close(caplog: pytest.LogCaptureFixture) -> None:
    """A peer that never answers the close frame is cut after handshake_timeout."""
    net = Net()
    done = asyncio.Event()

    async def stall(ws: ServerConnection) -> None:
        ws.transport.pause_reading()  # it never reads the close frame
        await done.wait()
        ws.transport.resume_reading()  # (to notice that the client is gone)

    async with ws_serve(stall, "127.0.0.1", 0) as server:
        client = net.client(url_of(server), handshake_timeout=0.5)
        await net.until(lambda: client.get_ready_state() == OPEN)
        client.close()
        await net.until(lambda: client.get_ready_state() == CLOSED)
        assert client.get_close_code() == -1
        assert "closing handshake not done within 0.5 s" in caplog.text
        await settle([client])
        done.set()


async def test_a_peer_can_connect_again_once_closed(net: Net) -> None:
    """A CLOSED peer can connect again; the old connection's state is gone."""
    client, _ = await net.pair()
    client.close(1000, "first")
    await net.until(lambda: client.get_ready_state() == CLOSED)
    client.connect_to_url(net.url())
    assert client.get_ready_state() == WebSocketPeer.STATE_CONNECTING
    assert client.get_close_code() == -1
    await net.until(lambda: client.get_ready_state() == OPEN)
    client.put_packet(b"again")
    await net.until(lambda: net.accepted[-1].get_available_packet_count() == 1)


# Against websockets.


async def test_the_client_against_a_websockets_echo_server(echo_server: str) -> None:
    """A plain websockets server echoes text as str and binary as bytes."""
    client = WebSocketPeer()
    net = Net()
    net.peers.append(client)
    client.connect_to_url(echo_server + "/echo?x=1")
    await net.until(lambda: client.get_ready_state() == OPEN)
    assert client.get_requested_url() == echo_server + "/echo?x=1"
    assert client.get_connected_host() == "127.0.0.1"
    assert client.get_connected_port() == int(echo_server.rsplit(":", 1)[1])
    client.send_text("text")
    client.put_packet(b"\x01\x02")
    await net.until(lambda: client.get_available_packet_count() == 2)
    assert drain(client) == [(b"text", True), (b"\x01\x02", False)]
    client.close(1000, "bye")
    await net.until(lambda: client.get_ready_state() == CLOSED)
    assert (client.get_close_code(), client.get_close_reason()) == (1000, "bye")
    await settle([client])


async def test_a_url_without_scheme_is_ws(echo_server: str) -> None:
    """No scheme means ws://, as in Godot."""
    net = Net()
    client = net.client(echo_server.removeprefix("ws://"))
    await net.until(lambda: client.get_ready_state() == OPEN)
    client.close()
    await net.until(lambda: client.get_ready_state() == CLOSED)
    await settle([client])


async def test_accept_stream_serves_a_websockets_client(net: Net) -> None:
    """A server peer from TCPServer + accept_stream talks to a websockets client."""
    url = net.listen()
    async with await ws_client(net, url + "/room/1") as ws:
        await net.until(lambda: bool(net.accepted) and net.accepted[0].get_ready_state() == OPEN)
        server = net.accepted[0]
        assert server.get_requested_url() == url + "/room/1"
        assert server.get_connected_host() == "127.0.0.1"
        assert server.get_connected_port() == ws.local_address[1]
        await ws.send("hi")
        await ws.send(b"\xff")
        await net.until(lambda: server.get_available_packet_count() == 2)
        for data, text in drain(server):
            server.send(data, WriteMode.WRITE_MODE_TEXT if text else WriteMode.WRITE_MODE_BINARY)
        assert await ws.recv() == "hi"
        assert await ws.recv() == b"\xff"
        server.close(4002, "over")
        await net.until(lambda: server.get_ready_state() == CLOSED)
        assert server.get_close_code() == 4002
    assert ws.close_code == 4002 and ws.close_reason == "over"


# Sub-protocols and headers.


async def test_the_server_picks_the_clients_first_supported_protocol(net: Net) -> None:
    """Godot's rule: the first of the client's protocols that the server supports."""
    net.listen(supported_protocols=["alpha", "beta"])
    client = net.client(net.url(), supported_protocols=["beta", "alpha"])
    await net.until(lambda: client.get_ready_state() == OPEN and bool(net.accepted))
    await net.until(lambda: net.accepted[0].get_ready_state() == OPEN)
    assert client.get_selected_protocol() == "beta"
    assert net.accepted[0].get_selected_protocol() == "beta"


@pytest.mark.parametrize(
    ("client_protocols", "server_protocols"),
    [(["gamma"], ["alpha"]), ([], ["alpha"]), (["alpha"], [])],
    ids=["none-matches", "client-requests-none", "server-supports-none"],
)
async def test_the_handshake_fails_without_a_common_protocol(
    net: Net,
    caplog: pytest.LogCaptureFixture,
    client_protocols: list[str],
    server_protocols: list[str],
) -> None:
    """No common sub-protocol: the server refuses (Godot's rules), both end CLOSED."""
    net.listen(supported_protocols=server_protocols)
    client = net.client(net.url(), supported_protocols=client_protocols)
    await net.until(lambda: client.get_ready_state() == CLOSED and bool(net.accepted))
    await net.until(lambda: net.accepted[0].get_ready_state() == CLOSED)
    assert client.get_close_code() == -1
    assert client.connection_error is not None
    assert "refused the handshake" in caplog.text
    assert "the server refused the handshake: server rejected WebSocket connection: HTTP 400" in (
        caplog.text
    )


async def test_the_client_requires_the_server_to_pick_a_protocol(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A client that requested protocols refuses a server that picked none."""
    net = Net()
    async with ws_serve(echo, "127.0.0.1", 0) as server:  # ignores sub-protocols
        client = net.client(url_of(server), supported_protocols=["alpha"])
        await net.until(lambda: client.get_ready_state() == CLOSED)
    assert client.get_close_code() == -1
    assert "the server selected none of supported_protocols" in caplog.text
    await settle([client])


async def test_handshake_headers_go_with_the_request_and_the_response(net: Net) -> None:
    """A client sends its handshake_headers; a server answers with its own."""
    seen: list[Request] = []

    def record(_: ServerConnection, request: Request) -> None:
        seen.append(request)

    async with ws_serve(echo, "127.0.0.1", 0, process_request=record) as server:
        client = net.client(url_of(server), handshake_headers=["X-Token: abc", "X-Other:1"])
        await net.until(lambda: client.get_ready_state() == OPEN)
        assert seen[0].headers["X-Token"] == "abc"
        assert seen[0].headers["X-Other"] == "1"
        client.close()
        await net.until(lambda: client.get_ready_state() == CLOSED)

    url = net.listen(handshake_headers=["X-Server: godot"])
    async with await ws_client(net, url) as ws:
        assert ws.response is not None
        assert ws.response.headers["X-Server"] == "godot"


@pytest.mark.parametrize(
    "line", ["no colon", "Bad Name: x", "X-A: b\r\nX-Injected: c", ": empty name"]
)
async def test_a_bad_header_line_raises(line: str) -> None:
    """handshake_headers lines must be 'Name: value', without line breaks."""
    peer = WebSocketPeer()
    peer.handshake_headers = [line]
    with pytest.raises(ValueError, match="Name: value"):
        peer.connect_to_url("ws://127.0.0.1:9")


async def test_a_bad_protocol_name_raises() -> None:
    peer = WebSocketPeer()
    peer.supported_protocols = ["two words"]
    with pytest.raises(ValueError, match="sub-protocol"):
        peer.connect_to_url("ws://127.0.0.1:9")


# TLS.


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA, tmp_path: Path) -> TLSOptions:
    """Server options for a certificate of 'localhost', from PEM files."""
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(tmp_path / "cert.pem", append=True)
    return TLSOptions.server(tmp_path / "key.pem", tmp_path / "cert.pem")


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(path)
    return path


def wss_url(net: Net) -> str:
    return f"wss://localhost:{net.tcp.get_local_port()}"


async def test_wss_with_the_ca_trusted(net: Net, server_tls: TLSOptions, ca_file: Path) -> None:
    """TLSOptions.client(trusted_chain=ca) verifies the server and connects."""
    net.listen()
    net.tls = server_tls
    client = net.client(wss_url(net), TLSOptions.client(trusted_chain=ca_file))
    await net.until(lambda: client.get_ready_state() == OPEN and bool(net.accepted))
    server = net.accepted[0]
    await net.until(lambda: server.get_ready_state() == OPEN)
    assert server.get_requested_url() == wss_url(net) + "/"
    client.send_text("secret")
    await net.until(lambda: server.get_available_packet_count() == 1)
    assert drain(server) == [(b"secret", True)]


async def test_wss_without_the_ca_fails_verification(
    net: Net, server_tls: TLSOptions, caplog: pytest.LogCaptureFixture
) -> None:
    """By default a wss:// client verifies the certificate: an unknown CA fails,
    with a clear log line and the error kept."""
    net.listen()
    net.tls = server_tls
    client = net.client(wss_url(net))
    await net.until(lambda: client.get_ready_state() == CLOSED)
    assert client.get_close_code() == -1
    assert isinstance(client.connection_error, ssl.SSLCertVerificationError)
    assert "certificate verify failed" in caplog.text
    await net.until(lambda: all(p.get_ready_state() == CLOSED for p in net.accepted))


async def test_wss_checks_the_host_name(
    net: Net, ca: trustme.CA, ca_file: Path, tmp_path: Path
) -> None:
    """A certificate for another name fails, unless common_name_override names it."""
    cert = ca.issue_cert("game.example")
    cert.private_key_and_cert_chain_pem.write_to_path(tmp_path / "both.pem")
    net.listen()
    net.tls = TLSOptions.server(tmp_path / "both.pem", tmp_path / "both.pem")
    wrong = net.client(wss_url(net), TLSOptions.client(trusted_chain=ca_file))
    right = net.client(
        wss_url(net), TLSOptions.client(trusted_chain=ca_file, common_name_override="game.example")
    )
    await net.until(lambda: wrong.get_ready_state() == CLOSED and right.get_ready_state() == OPEN)
    assert isinstance(wrong.connection_error, ssl.SSLCertVerificationError)
    assert "game.example" in str(wrong.connection_error) or "mismatch" in str(
        wrong.connection_error
    )


async def test_wss_client_unsafe_accepts_any_certificate(net: Net, server_tls: TLSOptions) -> None:
    """TLSOptions.client_unsafe() connects without verifying."""
    net.listen()
    net.tls = server_tls
    client = net.client(f"wss://127.0.0.1:{net.tcp.get_local_port()}", TLSOptions.client_unsafe())
    await net.until(lambda: client.get_ready_state() == OPEN)


async def test_tls_options_must_fit_the_url(server_tls: TLSOptions) -> None:
    """Server options, or options for ws://, raise at the call site."""
    peer = WebSocketPeer()
    with pytest.raises(ValueError, match="client TLS options"):
        peer.connect_to_url("wss://localhost:1", server_tls)
    with pytest.raises(ValueError, match="ws:// URL"):
        peer.connect_to_url("ws://localhost:1", TLSOptions.client())
    assert peer.get_ready_state() == CLOSED


# Limits.


async def test_a_message_over_inbound_buffer_size_closes_with_1009(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    """A message over the limit closes with 1009 on both sides, and one log line."""
    net.listen(inbound_buffer_size=1000)
    client = net.client(net.url())
    await net.until(lambda: client.get_ready_state() == OPEN and bool(net.accepted))
    server = net.accepted[0]
    client.put_packet(b"x" * 1001)
    await net.until(lambda: CLOSED == client.get_ready_state() == server.get_ready_state())
    assert server.get_close_code() == CloseCode.MESSAGE_TOO_BIG
    assert client.get_close_code() == CloseCode.MESSAGE_TOO_BIG
    assert server.get_available_packet_count() == 0
    lines = [r for r in caplog.records if "inbound_buffer_size" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].name == "multiplayer.transport"
    assert "127.0.0.1:" in lines[0].getMessage() and "closing with 1009" in lines[0].getMessage()


async def test_a_message_at_inbound_buffer_size_passes(net: Net) -> None:
    net.listen(inbound_buffer_size=1000)
    client = net.client(net.url())
    await net.until(lambda: client.get_ready_state() == OPEN and bool(net.accepted))
    client.put_packet(b"x" * 1000)
    await net.until(lambda: net.accepted[0].get_available_packet_count() == 1)


async def test_max_queued_packets_pauses_reading_and_loses_nothing(net: Net) -> None:
    """Past max_queued_packets untaken packets reading pauses; as they are taken
    it resumes; every packet arrives, in order, and the queue stays bounded."""
    net.listen(max_queued_packets=8)
    client = net.client(net.url())
    await net.until(lambda: client.get_ready_state() == OPEN and bool(net.accepted))
    server = net.accepted[0]
    sent = [f"{i}".encode() for i in range(300)]
    for data in sent:
        client.put_packet(data)
    link = server._link
    assert link is not None
    await wait_for(lambda: link.paused)
    await asyncio.sleep(0.05)  # (reading stays paused: nobody takes packets)
    assert len(link.received) <= 8
    got: list[bytes] = []
    deadline = time.monotonic() + 5
    while len(got) < len(sent):
        assert time.monotonic() < deadline
        server.poll()
        assert len(link.received) <= 8
        if server.get_available_packet_count():
            got.append(server.get_packet())  # one a frame: the queue refills as it drains
        await asyncio.sleep(0)
    assert got == sent
    assert server.get_ready_state() == OPEN


async def test_inbound_bytes_not_taken_pause_reading_too(net: Net) -> None:
    """Untaken packets are also bounded in bytes by inbound_buffer_size (Godot's
    input buffer): reading pauses, nothing is lost."""
    net.listen(inbound_buffer_size=4000)
    client = net.client(net.url())
    await net.until(lambda: client.get_ready_state() == OPEN and bool(net.accepted))
    server = net.accepted[0]
    for i in range(40):
        client.put_packet(bytes([i]) * 1000)
    link = server._link
    assert link is not None
    await wait_for(lambda: link.paused)
    assert link.received.size <= 2 * 4000
    got: list[bytes] = []

    def take() -> bool:
        got.extend(d for d, _ in drain(server))
        return len(got) == 40

    await net.until(take)
    assert got == [bytes([i]) * 1000 for i in range(40)]


async def test_sending_past_outbound_buffer_size_raises(net: Net) -> None:
    """A message that would leave more than outbound_buffer_size bytes unsent
    raises OutboundBufferFull; what was sent before still arrives."""
    net.listen(max_queued_packets=1)
    client = net.client(net.url(), outbound_buffer_size=1000)
    await net.until(lambda: client.get_ready_state() == OPEN and bool(net.accepted))
    with pytest.raises(OutboundBufferFull, match="outbound_buffer_size is 1000"):
        client.put_packet(b"x" * 1001)
    client.outbound_buffer_size = 1 << 20
    sent = 0
    with pytest.raises(OutboundBufferFull):  # the server does not read: the buffer fills up
        for _ in range(100_000):
            client.put_packet(b"y" * 60_000)
            sent += 1
            await asyncio.sleep(0)
    assert client.get_current_outbound_buffered_amount() > 0
    server = net.accepted[0]
    count = 0

    def take() -> bool:
        nonlocal count
        count += len(drain(server))
        return count == sent

    deadline = time.monotonic() + 20
    while not take():  # as fast as the packets come: one poll per loop pass
        assert time.monotonic() < deadline
        server.poll()
        await asyncio.sleep(0)
    assert client.get_current_outbound_buffered_amount() == 0


# Bad input from the network.


async def test_garbage_instead_of_a_handshake_is_logged(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    """Bytes that are not an HTTP request close the connection with a log line."""
    net.listen()
    reader, writer = await asyncio.open_connection("127.0.0.1", net.tcp.get_local_port())
    writer.write(b"\x16\x03\x01garbage\r\n\r\n")
    read = asyncio.ensure_future(reader.read())
    await net.until(read.done)
    assert read.result() == b""  # the server hung up
    writer.close()
    await writer.wait_closed()
    await net.until(lambda: net.accepted[0].get_ready_state() == CLOSED)
    assert net.accepted[0].get_close_code() == -1
    assert "invalid handshake: did not receive a valid HTTP request" in caplog.text


async def test_a_bad_frame_closes_with_1002(net: Net, caplog: pytest.LogCaptureFixture) -> None:
    """A frame with a reserved opcode closes the connection with 1002."""
    url = net.listen()
    async with await ws_client(net, url) as ws:
        await net.until(lambda: bool(net.accepted) and net.accepted[0].get_ready_state() == OPEN)
        ws.transport.write(b"\x83\x80\x00\x00\x00\x00")  # masked, opcode 3: reserved
        await net.until(lambda: net.accepted[0].get_ready_state() == CLOSED)
    assert net.accepted[0].get_close_code() == CloseCode.PROTOCOL_ERROR
    assert ws.close_code == CloseCode.PROTOCOL_ERROR
    assert "protocol error: " in caplog.text and "invalid opcode" in caplog.text  # (either backend)


async def test_invalid_utf8_in_a_text_message_closes_with_1007(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    """A text message that is not UTF-8 closes with 1007 and never reaches the user."""
    url = net.listen()
    async with await ws_client(net, url) as ws:
        await net.until(lambda: bool(net.accepted) and net.accepted[0].get_ready_state() == OPEN)
        ws.transport.write(b"\x81\x82\x00\x00\x00\x00\xff\xfe")  # masked text frame
        await net.until(lambda: net.accepted[0].get_ready_state() == CLOSED)
    assert net.accepted[0].get_close_code() == CloseCode.INVALID_DATA
    assert net.accepted[0].get_available_packet_count() == 0
    assert "invalid UTF-8 in a text message" in caplog.text


async def test_a_client_gone_before_accept_stream_shows_closed(net: Net) -> None:
    """A stream whose client left before accept_stream is no error: the peer goes
    CLOSED at a poll, like any other drop."""
    net.listen()
    _, writer = await asyncio.open_connection("127.0.0.1", net.tcp.get_local_port())
    await wait_for(net.tcp.is_connection_available)
    stream = net.tcp.take_connection()
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.01)  # (the client is gone; the stream has not read it yet)
    peer = net.peer()
    peer.accept_stream(stream)
    await net.until(lambda: peer.get_ready_state() == CLOSED)
    assert peer.get_close_code() == -1


async def test_a_silent_client_is_dropped_after_handshake_timeout(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    """A TCP client that never sends its handshake is dropped after handshake_timeout."""
    net.listen(handshake_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", net.tcp.get_local_port())
    await net.until(lambda: bool(net.accepted) and net.accepted[0].get_ready_state() == CLOSED)
    assert "opening handshake not done within 0.2 s" in caplog.text
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


async def test_a_refused_connection_closes_with_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listening: CLOSED, code -1, the OS error kept and logged."""
    net = Net()
    tcp = TCPServer()
    tcp.listen(0, "127.0.0.1")
    port = tcp.get_local_port()
    tcp.stop()
    client = net.client(f"ws://127.0.0.1:{port}")
    await net.until(lambda: client.get_ready_state() == CLOSED)
    assert client.get_close_code() == -1
    assert isinstance(client.connection_error, ConnectionRefusedError)
    assert "connection failed: ConnectionRefusedError" in caplog.text
    await settle([client])


# Heartbeat.


async def test_heartbeat_keeps_a_live_connection_open(net: Net) -> None:
    """Pings that get pongs keep the connection open."""
    client, server = await net.pair(heartbeat_interval=0.05)
    start = time.monotonic()
    await net.until(lambda: time.monotonic() - start > 0.3)
    assert client.get_ready_state() == OPEN
    assert server.get_ready_state() == OPEN


async def test_heartbeat_cuts_a_peer_that_does_not_answer(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    """A ping without a pong by the next one cuts the connection: close code -1."""
    net.listen(heartbeat_interval=0.05)
    async with await ws_client(net, net.url()) as ws:
        await net.until(lambda: bool(net.accepted) and net.accepted[0].get_ready_state() == OPEN)
        ws.transport.pause_reading()  # it reads no ping, so it answers none
        await net.until(lambda: net.accepted[0].get_ready_state() == CLOSED)
        ws.transport.resume_reading()
    assert net.accepted[0].get_close_code() == -1
    assert isinstance(net.accepted[0].connection_error, TimeoutError)
    assert "no pong within heartbeat_interval (0.05 s)" in caplog.text


# Misuse raises at the call site.


async def test_sending_before_open_raises(net: Net) -> None:
    peer = WebSocketPeer()
    with pytest.raises(InvalidState, match="STATE_CLOSED"):
        peer.put_packet(b"x")
    client = net.client(net.listen())
    with pytest.raises(InvalidState, match="STATE_CONNECTING"):
        client.send_text("too early")


@pytest.mark.parametrize(
    "url", ["http://example.com", "ws://", "wss://host:99999", "ws://host/#fragment", ""]
)
async def test_a_bad_url_raises(url: str) -> None:
    peer = WebSocketPeer()
    with pytest.raises(ValueError, match="invalid WebSocket URL"):
        peer.connect_to_url(url)
    assert peer.get_ready_state() == CLOSED


def test_connect_without_an_event_loop_raises() -> None:
    """Sync code with no running loop gets a message saying how to get one."""
    with pytest.raises(InvalidState, match=r"asyncio\.run"):
        WebSocketPeer().connect_to_url("ws://localhost:1")


async def test_connecting_twice_raises(net: Net) -> None:
    client = net.client(net.listen())
    with pytest.raises(InvalidState, match="needs a CLOSED peer"):
        client.connect_to_url(net.url())


async def test_argument_errors_raise(net: Net) -> None:
    client, _ = await net.pair()
    with pytest.raises(TypeError, match="send_text"):
        client.send("text", WriteMode.WRITE_MODE_BINARY)
    with pytest.raises(TypeError, match="takes a str"):
        client.send_text(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="write_mode"):
        client.send(b"x", 7)
    with pytest.raises(ValueError, match="UTF-8"):
        client.send(b"\xff", WriteMode.WRITE_MODE_TEXT)
    with pytest.raises(ValueError, match="close code 1006"):
        client.close(1006)
    with pytest.raises(ValueError, match="123 bytes"):
        client.close(1000, "x" * 124)
    with pytest.raises(InvalidState, match="no packet available"):
        client.get_packet()
    with pytest.raises(ValueError, match="positive"):
        client.max_queued_packets = 0
    with pytest.raises(ValueError, match="heartbeat_interval"):
        client.heartbeat_interval = -1
    assert client.get_ready_state() == OPEN


async def test_accept_stream_needs_a_fresh_stream(net: Net) -> None:
    """A stream can be taken over once; a used one raises."""
    url = net.listen()
    async with await ws_client(net, url):
        await net.until(lambda: bool(net.accepted))
        stream = net.accepted[0]._link
        assert stream is not None
        with pytest.raises(InvalidState, match="unused yet"):
            net.peer().accept_stream(stream.stream)
        with pytest.raises(TypeError):
            net.peer().accept_stream("stream")  # type: ignore[arg-type]


async def test_set_no_delay_and_addresses(net: Net) -> None:
    client, server = await net.pair()
    client.set_no_delay(False)
    server.set_no_delay(True)
    assert server.get_connected_port() > 0
    with pytest.raises(InvalidState, match="needs a connection"):
        WebSocketPeer().set_no_delay(True)


async def test_the_arrival_hook_runs_when_packets_come(net: Net) -> None:
    """The private hook for a multiplayer peer: called from the event loop as bytes
    change what poll() would show; it may poll and take packets there."""
    client, server = await net.pair()
    taken: list[bytes] = []

    def arrived() -> None:
        server.poll()
        taken.extend(d for d, _ in drain(server))

    server._set_arrival_hook(arrived)
    client.put_packet(b"fast")
    await wait_for(lambda: taken == [b"fast"])
    server._set_arrival_hook(None)


async def test_the_log_names_the_client_side_by_url(
    caplog: pytest.LogCaptureFixture, echo_server: str
) -> None:
    caplog.set_level(logging.INFO, logger="multiplayer.transport")
    net = Net()
    client = net.client(echo_server)
    await net.until(lambda: client.get_ready_state() == OPEN)
    client.close(1000, "bye")
    await net.until(lambda: client.get_ready_state() == CLOSED)
    assert f"WebSocket {echo_server}: closed (1000 bye)" in caplog.text
    await settle([client])


async def test_websockets_client_sees_our_close(net: Net) -> None:
    """Cross-check with websockets' own view of a close from our side."""
    url = net.listen()
    ws: ClientConnection
    async with await ws_client(net, url) as ws:
        await net.until(lambda: bool(net.accepted) and net.accepted[0].get_ready_state() == OPEN)
        net.accepted[0].close(4100, "kick")
        await ws.wait_closed()
    assert (ws.close_code, ws.close_reason) == (4100, "kick")
