"""WebSocketMultiplayerPeer over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import socket
import ssl
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import trustme
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request

from multiplayer import (
    ConnectionStatus,
    InvalidState,
    PacketTooLarge,
    PeerNotFound,
    SyncWebSocketMultiplayerPeer,
    TransferMode,
    WebSocketMultiplayerPeer,
)
from multiplayer.transport.framing.native import Hello, parse_message
from multiplayer.transport.websocket_peer import WebSocketPeer
from tests.transport.peers import (
    Peers,
    connected,
    drain,
    join,
    poll_until,
    record,
    start_client,
    start_server,
    url_of,
)


async def raw_client(server: WebSocketMultiplayerPeer, **kwargs: Any) -> Any:
    """A websockets client that has done the HELLO exchange by hand; returns it and its id."""
    ws = await ws_connect(url_of(server), compression=None, **kwargs)
    await ws.send(Hello(0, 1 << 20).serialize())
    message = await ws.recv()
    assert isinstance(message, bytes)
    hello = Hello.parse(message)
    return ws, hello.peer_id


async def raw_tcp_handshake(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket client written by hand, so that it answers nothing, not even pings."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101")
    writer.write(Frame(Opcode.BINARY, Hello(0, 1 << 20).serialize()).serialize(mask=True))
    return reader, writer


def close_code(ws: Any) -> int | None:
    code: int | None = ws.close_code
    return code


# Starting.


async def test_server_starts_connected_with_id_1(peers: Peers) -> None:
    """create_server makes a CONNECTED server with id 1 on the port it reports."""
    server = await start_server(peers)
    assert server.get_connection_status() == ConnectionStatus.CONNECTED
    assert server.get_unique_id() == 1
    assert server.is_server()
    assert server.is_server_relay_supported()
    assert server.get_local_port() > 0


async def test_create_twice_raises(peers: Peers) -> None:
    """create_server or create_client on a peer in use raises InvalidState."""
    server = await start_server(peers)
    with pytest.raises(InvalidState):
        await server.create_server(0)
    with pytest.raises(InvalidState):
        await server.create_client("ws://127.0.0.1:1")


async def test_bad_url_scheme_raises() -> None:
    """create_client refuses a URL that is not ws:// or wss://."""
    with pytest.raises(ValueError, match="ws:// or wss://"):
        await WebSocketMultiplayerPeer().create_client("http://127.0.0.1:1")


# The protocol profile.


def test_protocol_is_native_by_default() -> None:
    """A peer made without arguments speaks the native profile."""
    assert WebSocketMultiplayerPeer().protocol == "native"


def test_protocol_can_be_named() -> None:
    """protocol="native" given explicitly is kept, and read back."""
    assert WebSocketMultiplayerPeer(protocol="native").protocol == "native"
    assert WebSocketMultiplayerPeer("native").protocol == "native"


def test_unknown_protocol_raises_listing_the_known_ones() -> None:
    """An unknown profile name raises ValueError naming it and every known profile."""
    with pytest.raises(ValueError, match=r"unknown protocol 'quake'.*'native'"):
        WebSocketMultiplayerPeer(protocol="quake")


def test_protocol_is_read_only() -> None:
    """The profile is chosen when the peer is made, never changed after."""
    peer = WebSocketMultiplayerPeer()
    with pytest.raises(AttributeError):
        peer.protocol = "native"  # type: ignore[misc]


async def test_native_peers_talk_through_their_framing(peers: Peers) -> None:
    """Two native peers connect, and a packet put on each side arrives on the other."""
    server = await start_server(peers)
    client = await join(peers, server)
    assert server.protocol == client.protocol == "native"
    client.put_packet(b"up")
    server.set_target_peer(2)
    server.put_packet(b"down")
    await poll_until(
        peers,
        lambda: server.get_available_packet_count() == client.get_available_packet_count() == 1,
    )
    assert drain(server) == [(2, b"up")]
    assert drain(client) == [(1, b"down")]


# Ids and signals.


async def test_signal_can_be_awaited(peers: Peers) -> None:
    """``await peer.peer_connected`` resolves with the new peer's id."""
    server = await start_server(peers)
    waiter = asyncio.ensure_future(_await(server))
    await join(peers, server)
    assert await asyncio.wait_for(waiter, 5) == (2,)


async def _await(peer: WebSocketMultiplayerPeer) -> tuple[int]:
    return await peer.peer_connected


# Routing.


async def test_server_routing(peers: Peers) -> None:
    """Server targets: > 0 one client, 0 every client, < 0 every client but one."""
    server = await start_server(peers)
    a, b, c = [await join(peers, server) for _ in range(3)]
    for target, payload in ((3, b"to-3"), (0, b"to-all"), (-3, b"not-3")):
        server.set_target_peer(target)
        server.put_packet(payload)
    await poll_until(peers, lambda: a.get_available_packet_count() == 2)
    await poll_until(peers, lambda: c.get_available_packet_count() == 2)
    await poll_until(peers, lambda: b.get_available_packet_count() == 2)
    assert a.get_packet_channel() == 0
    assert a.get_packet_mode() == TransferMode.RELIABLE
    assert drain(a) == [(1, b"to-all"), (1, b"not-3")]
    assert drain(b) == [(1, b"to-3"), (1, b"to-all")]
    assert drain(c) == [(1, b"to-all"), (1, b"not-3")]


async def test_client_packets_go_to_the_server(peers: Peers) -> None:
    """A client's packet reaches the server, whatever its target, stamped with its id."""
    server = await start_server(peers)
    a = await join(peers, server)
    b = await join(peers, server)
    a.set_target_peer(b.get_unique_id())
    a.put_packet(b"hello")
    b.set_target_peer(0)
    b.put_packet(b"world")
    await poll_until(peers, lambda: server.get_available_packet_count() == 2)
    assert sorted(drain(server)) == [(2, b"hello"), (3, b"world")]
    assert b.get_available_packet_count() == 0


async def test_unknown_target_raises(peers: Peers) -> None:
    """put_packet to a peer id that is not connected raises PeerNotFound."""
    server = await start_server(peers)
    server.set_target_peer(7)
    with pytest.raises(PeerNotFound, match="7"):
        server.put_packet(b"x")


async def test_put_packet_before_connected_raises(peers: Peers) -> None:
    """put_packet on a CONNECTING client raises InvalidState."""
    server = await start_server(peers)
    client = await start_client(peers, url_of(server))
    with pytest.raises(InvalidState, match="CONNECTING"):
        client.put_packet(b"x")
    # (let it finish: closing a server while it accepts leaks a socket in asyncio 3.11)
    await poll_until(peers, lambda: client.get_connection_status() == ConnectionStatus.CONNECTED)


async def test_packets_keep_order_and_are_coalesced(peers: Peers) -> None:
    """Packets put in one tick for one peer travel as one message and arrive in order."""
    server = await start_server(peers)
    ws, peer_id = await raw_client(server)
    await poll_until(peers, lambda: True)
    server.set_target_peer(peer_id)
    sent = [f"packet {i}".encode() for i in range(100)]
    for data in sent:
        server.put_packet(data)
    message = await asyncio.wait_for(ws.recv(), 5)
    assert parse_message(message) == sent
    await ws.close()


async def test_order_across_many_ticks(peers: Peers) -> None:
    """Thousands of packets over many ticks arrive complete and in order, both ways."""
    server = await start_server(peers)
    client = await join(peers, server)
    for i in range(2000):
        client.put_packet(i.to_bytes(4, "little"))
        server.set_target_peer(2)
        server.put_packet(i.to_bytes(4, "little"))
        if i % 97 == 0:
            await asyncio.sleep(0)
    got_server: list[bytes] = []
    got_client: list[bytes] = []

    def collect() -> bool:
        got_server.extend(d for _, d in drain(server))
        got_client.extend(d for _, d in drain(client))
        return len(got_server) == len(got_client) == 2000

    await poll_until(peers, collect)
    expected = [i.to_bytes(4, "little") for i in range(2000)]
    assert got_server == expected
    assert got_client == expected


async def test_order_holds_across_fragmented_and_early_messages(peers: Peers) -> None:
    """Packets sent in the same segment as the HELLO, and a fragmented message among
    whole ones, are staged in the order they were sent (the direct path for whole
    messages waits until the ones queued for recv() are taken)."""
    server = await start_server(peers)
    events = record(server)
    _, writer = await raw_tcp_handshake(server.get_local_port())

    def frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
        return Frame(opcode, data, fin=fin).serialize(mask=True)

    writer.write(
        frame(Opcode.BINARY, b"\x00one")
        + frame(Opcode.BINARY, b"\x00tw", fin=False)
        + frame(Opcode.CONT, b"o")
        + frame(Opcode.BINARY, b"\x00three")
    )
    await poll_until(peers, lambda: server.get_available_packet_count() == 3)
    writer.write(
        frame(Opcode.BINARY, b"\x00fo", fin=False)
        + frame(Opcode.CONT, b"ur")
        + frame(Opcode.BINARY, b"\x00five")
        + frame(Opcode.BINARY, b"\x00six")
    )
    await poll_until(peers, lambda: server.get_available_packet_count() == 6)
    assert [d for _, d in drain(server)] == [b"one", b"two", b"three", b"four", b"five", b"six"]
    assert events == [("connected", 2)]
    writer.close()


# Settings of the handshake.


async def test_supported_protocols_match(peers: Peers) -> None:
    """Peers that share a sub-protocol connect."""
    server = await start_server(peers, supported_protocols=["ludus"])
    client = await join(peers, server, supported_protocols=["other", "ludus"])
    assert client.get_unique_id() == 2


async def test_handshake_headers_both_ways(peers: Peers) -> None:
    """handshake_headers go out in the client's request and in the server's response."""
    seen: list[str | None] = []

    def capture(_: ServerConnection, request: Request) -> None:
        seen.append(request.headers.get("X-Token"))

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(Hello(2, 1 << 20).serialize())
        await ws.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0, process_request=capture) as fake:
        port = fake.sockets[0].getsockname()[1]
        client = await start_client(
            peers, f"ws://127.0.0.1:{port}", handshake_headers={"X-Token": "abc"}
        )
        await poll_until(
            peers, lambda: client.get_connection_status() == ConnectionStatus.CONNECTED
        )
        client.close()
    assert seen == ["abc"]

    server = await start_server(peers, handshake_headers={"X-Server": "godot"})
    ws = await ws_connect(url_of(server))
    assert ws.response is not None
    assert ws.response.headers["X-Server"] == "godot"
    await ws.close()


async def test_response_headers_are_the_servers_101s_on_a_client(peers: Peers) -> None:
    """A client reads the headers of the server's handshake response (names in lower
    case) once it has its link; before that, after close(), and on a server, none."""
    server = await start_server(peers, handshake_headers={"Multiplayer-Room": "K3M9QZ"})
    assert server.response_headers == {}
    client = await start_client(peers, url_of(server))
    assert client.response_headers == {}  # (connecting)
    await poll_until(peers, connected(client))
    headers = client.response_headers
    assert headers["multiplayer-room"] == "K3M9QZ"
    assert headers["upgrade"] == "websocket"
    assert all(name == name.lower() for name in headers)
    assert server.response_headers == {}
    client.close()
    assert client.response_headers == {}


async def test_peer_address_and_port(peers: Peers) -> None:
    """get_peer_address and get_peer_port name the remote end of a link."""
    server = await start_server(peers)
    client = await join(peers, server)
    assert server.get_peer_address(2) == "127.0.0.1"
    assert client.get_peer_port(1) == server.get_local_port()
    with pytest.raises(PeerNotFound):
        server.get_peer_address(9)


# Leaving.


async def test_client_close_is_seen_by_the_server(peers: Peers) -> None:
    """A client's close() gives peer_disconnected(id) on the server, and no local signal."""
    server = await start_server(peers)
    client = await join(peers, server)
    server_events, client_events = record(server), record(client)
    client.close()
    assert client.get_connection_status() == ConnectionStatus.DISCONNECTED
    await poll_until(peers, lambda: server_events == [("disconnected", 2)])
    assert client_events == []


async def test_server_close_is_seen_by_every_client(peers: Peers) -> None:
    """The server's close() gives peer_disconnected(1) on every client, which end DISCONNECTED."""
    server = await start_server(peers)
    clients = [await join(peers, server) for _ in range(2)]
    events = [record(c) for c in clients]
    server.close()
    await poll_until(peers, lambda: all(e == [("disconnected", 1)] for e in events))
    assert all(c.get_connection_status() == ConnectionStatus.DISCONNECTED for c in clients)
    assert all(c.get_unique_id() == 0 for c in clients)


async def test_disconnect_peer(peers: Peers) -> None:
    """disconnect_peer(id) closes that link: both sides get peer_disconnected at poll."""
    server = await start_server(peers)
    a = await join(peers, server)
    b = await join(peers, server)
    server_events, a_events = record(server), record(a)
    server.disconnect_peer(2)
    await poll_until(peers, lambda: a_events == [("disconnected", 1)])
    await poll_until(peers, lambda: server_events == [("disconnected", 2)])
    server.set_target_peer(0)
    server.put_packet(b"only b")
    await poll_until(peers, lambda: b.get_available_packet_count() == 1)


async def test_disconnect_peer_force_is_silent_locally(peers: Peers) -> None:
    """disconnect_peer(id, force=True) forgets the peer at once, without a local signal."""
    server = await start_server(peers)
    client = await join(peers, server)
    client.put_packet(b"unread")
    await poll_until(peers, lambda: server.get_available_packet_count() == 1)
    server_events, client_events = record(server), record(client)
    server.disconnect_peer(2, force=True)
    assert server.get_available_packet_count() == 0
    with pytest.raises(PeerNotFound):
        server.disconnect_peer(2)
    await poll_until(peers, lambda: client_events == [("disconnected", 1)])
    server.poll()
    assert server_events == []


async def test_last_packets_stay_readable_after_the_leave(peers: Peers) -> None:
    """put_packet then close(): the packet arrives, and stays readable after the leave."""
    server = await start_server(peers)
    client = await join(peers, server)
    events = record(server)
    client.put_packet(b"goodbye")
    client.close()  # at once: the packet is still waiting for the event loop
    await poll_until(peers, lambda: events == [("disconnected", 2)])
    assert drain(server) == [(2, b"goodbye")]


async def test_client_keeps_what_the_server_sent_before_closing(peers: Peers) -> None:
    """A client told of the server's leave can still read what the server sent before."""
    server = await start_server(peers)
    client = await join(peers, server)
    events = record(client)
    server.set_target_peer(2)
    server.put_packet(b"last words")
    server.close()
    await poll_until(peers, lambda: events == [("disconnected", 1)])
    assert client.get_connection_status() == ConnectionStatus.DISCONNECTED
    assert drain(client) == [(1, b"last words")]


async def test_a_leave_not_yet_reported_is_not_an_error(peers: Peers) -> None:
    """Until poll() reports a leave, the peer is still a valid target (packets go nowhere)."""
    server = await start_server(peers)
    client = await join(peers, server)
    events = record(server)
    client.close()
    await client.wait_closed()
    await asyncio.sleep(0.05)  # the server's reader has seen the close; poll() has not
    server.set_target_peer(2)
    server.put_packet(b"too late")  # no PeerNotFound: the user was not told yet
    server.disconnect_peer(2)
    await poll_until(peers, lambda: events == [("disconnected", 2)])
    with pytest.raises(PeerNotFound):
        server.put_packet(b"now it is unknown")


async def test_no_packet_before_peer_connected(peers: Peers) -> None:
    """A broadcast reaches only peers whose peer_connected was reported."""
    server = await start_server(peers)
    first = await join(peers, server)
    late = await start_client(peers, url_of(server))
    await poll_until([late], lambda: late.get_connection_status() == ConnectionStatus.CONNECTED)
    server.set_target_peer(0)
    server.put_packet(b"only the first")  # the server has not polled the newcomer yet
    await poll_until(peers, lambda: first.get_available_packet_count() == 1)
    await asyncio.sleep(0.05)
    late.poll()
    assert late.get_available_packet_count() == 0


async def test_callbacks_can_close_during_poll(peers: Peers) -> None:
    """A peer_connected callback that closes the server stops the rest of that poll."""
    server = await start_server(peers)
    events = record(server)
    for _ in range(2):
        await start_client(peers, url_of(server))
    await asyncio.sleep(0.2)
    server.peer_connected.connect(lambda _: server.close(), one_shot=True)
    server.poll()
    assert events == [("connected", 2)]


async def test_peer_can_be_reused_after_close(peers: Peers) -> None:
    """close() then create_server() again starts a fresh session with fresh ids."""
    server = await start_server(peers)
    await join(peers, server)
    server.close()
    await server.wait_closed()
    await server.create_server(0, "127.0.0.1")
    client = await join(peers, server)
    assert client.get_unique_id() == 2


async def test_client_disconnect_peer_1(peers: Peers) -> None:
    """A client's disconnect_peer(1) closes its link: both sides report the leave."""
    server = await start_server(peers)
    client = await join(peers, server)
    server_events, client_events = record(server), record(client)
    client.put_packet(b"bye")
    client.disconnect_peer(1)
    await poll_until(peers, lambda: server_events == [("disconnected", 2)])
    await poll_until(peers, lambda: client_events == [("disconnected", 1)])
    assert drain(server) == [(2, b"bye")]


# Limits and bad input.


async def test_get_peer_is_the_websocket_of_each_peer(peers: Peers) -> None:
    """get_peer(id) is the WebSocketPeer of that connection, as in Godot: on the
    server one per client, on a client id 1 for the server; OPEN, with its address."""
    server = await start_server(peers)
    client = await join(peers, server)
    await poll_until(peers, lambda: bool(server._known))
    to_client, to_server = server.get_peer(2), client.get_peer(1)
    assert isinstance(to_client, WebSocketPeer) and isinstance(to_server, WebSocketPeer)
    assert to_client is not to_server
    for ws in (to_client, to_server):
        assert ws.get_ready_state() == WebSocketPeer.STATE_OPEN
    assert to_server.get_connected_port() == server.get_local_port()
    assert to_client.get_connected_port() == server.get_peer_port(2)
    with pytest.raises(PeerNotFound):
        server.get_peer(9)


async def test_get_peer_shows_the_close_of_a_kicked_client(peers: Peers) -> None:
    """The client's WebSocketPeer to the server shows the kick's close code and reason."""
    server = await start_server(peers)
    client = await join(peers, server)
    await poll_until(peers, lambda: bool(server._known))
    ws = client.get_peer(1)
    server.kick_peer(2, "bye")
    await poll_until(peers, lambda: ws.poll() or ws.get_ready_state() == ws.STATE_CLOSED)
    assert (ws.get_close_code(), ws.get_close_reason()) == (1008, "bye")
    with pytest.raises(PeerNotFound):
        client.get_peer(1)  # forgotten with the link


async def test_oversized_put_packet_raises(peers: Peers) -> None:
    """put_packet of more than the receiver's inbound_buffer_size allows raises, naming it."""
    server = await start_server(peers, inbound_buffer_size=1024)
    client = await join(peers, server)
    assert client.get_max_packet_size() == 1023
    with pytest.raises(PacketTooLarge, match="1023"):
        client.put_packet(bytes(1024))
    client.put_packet(bytes(1023))
    await poll_until(peers, lambda: server.get_available_packet_count() == 1)


async def test_oversized_message_closes_with_1009(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A message over inbound_buffer_size closes that connection with 1009, logged; others go on."""
    server = await start_server(peers, inbound_buffer_size=1024)
    good = await join(peers, server)
    events = record(server)
    ws, peer_id = await raw_client(server)
    await poll_until(peers, lambda: events == [("connected", peer_id)])
    await ws.send(b"\x00" + bytes(2000))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert close_code(ws) == 1009
    await poll_until(peers, lambda: ("disconnected", peer_id) in events)
    lines = [r.getMessage() for r in caplog.records if f"peer {peer_id}:" in r.getMessage()]
    assert lines[0] == (
        f"peer {peer_id}: sent a message over inbound_buffer_size (1024 bytes); closed with 1009"
    )
    good.put_packet(b"fine")
    await poll_until(peers, lambda: server.get_available_packet_count() == 1)


@pytest.mark.parametrize(
    ("message", "code"),
    [("text", 1003), (b"\x09nonsense", 1002), (b"\x01\x05\x00ab", 1002), (b"", 1002)],
    ids=["text", "unknown-kind", "truncated-batch", "empty"],
)
async def test_bad_message_closes_that_peer_only(
    peers: Peers, caplog: pytest.LogCaptureFixture, message: bytes | str, code: int
) -> None:
    """A text or malformed message closes that connection with a clear code; poll never raises."""
    server = await start_server(peers)
    good = await join(peers, server)
    events = record(server)
    ws, peer_id = await raw_client(server)
    await ws.send(message)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert close_code(ws) == code
    await poll_until(peers, lambda: ("disconnected", peer_id) in events)
    assert f"peer {peer_id}:" in caplog.text
    good.put_packet(b"fine")
    await poll_until(peers, lambda: server.get_available_packet_count() == 1)


async def test_slow_reader_is_disconnected(peers: Peers, caplog: pytest.LogCaptureFixture) -> None:
    """A client that stops reading is dropped past outbound_buffer_size; others keep receiving."""
    server = await start_server(peers, outbound_buffer_size=256 * 1024)
    good = await join(peers, server)
    events = record(server)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.get_local_port()))
    ws, slow_id = await raw_client(server, sock=sock, max_queue=1)
    await poll_until(peers, lambda: ("connected", slow_id) in events)
    chunk = bytes(32 * 1024)
    for _ in range(2000):  # at most 64 MB: far past any socket buffer
        if ("disconnected", slow_id) in events:
            break
        server.set_target_peer(0)
        server.put_packet(chunk)
        await asyncio.sleep(0.001)
        server.poll()
        drain(good)
        good.poll()
    assert ("disconnected", slow_id) in events
    assert f"peer {slow_id}: more than outbound_buffer_size (262144 bytes)" in caplog.text
    server.put_packet(b"after")
    await poll_until(peers, lambda: any(d == b"after" for _, d in drain(good)))
    ws.transport.abort()


async def test_keepalive_timeout_reports_a_dead_client(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that answers no ping is reported disconnected within the keepalive
    timeout (with resuming off: else it is only dropped, see test_websocket_server)."""
    server = await start_server(
        peers,
        heartbeat_interval=0.1,
        heartbeat_timeout=0.2,
        handshake_timeout=0.3,
        reconnect_grace=0,
    )
    events = record(server)
    _, writer = await raw_tcp_handshake(server.get_local_port())
    await poll_until(peers, lambda: events == [("connected", 2)])
    start = time.monotonic()
    await poll_until(peers, lambda: ("disconnected", 2) in events)
    assert time.monotonic() - start < 2
    assert "peer 2: no answer to keepalive pings" in caplog.text
    writer.transport.abort()


async def test_connection_lost_without_close_frame(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A socket that dies without a close frame is reported disconnected (with
    resuming off: else it is only dropped, see test_websocket_server)."""
    server = await start_server(peers, reconnect_grace=0)
    events = record(server)
    _, writer = await raw_tcp_handshake(server.get_local_port())
    await poll_until(peers, lambda: events == [("connected", 2)])
    writer.transport.abort()
    await poll_until(peers, lambda: ("disconnected", 2) in events)
    assert "peer 2: connection lost without a close frame" in caplog.text


async def test_max_queued_packets_pushes_back_then_disconnects(
    peers: Peers, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past max_queued_packets untaken packets, reading pauses; a peer still over it
    after the grace period is dropped (1008), logged."""
    from multiplayer.transport import websocket_flow

    monkeypatch.setattr(websocket_flow, "FLOOD_GRACE", 0.2)
    server = await start_server(peers, max_queued_packets=10)
    events = record(server)
    ws, peer_id = await raw_client(server)
    await poll_until(peers, lambda: events == [("connected", peer_id)])
    await ws.send(b"\x01" + b"\x00\x00" * 11)  # one BATCH of 11 empty packets
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert close_code(ws) == 1008
    assert f"peer {peer_id}: more than max_queued_packets (10)" in caplog.text
    await poll_until(peers, lambda: ("disconnected", peer_id) in events)


async def test_a_burst_is_slowed_down_not_dropped(peers: Peers) -> None:
    """A client sending far more than max_queued_packets at once loses nothing while
    the server keeps taking packets."""
    server = await start_server(peers, max_queued_packets=50)
    client = await join(peers, server)
    for i in range(3000):
        client.put_packet(i.to_bytes(2, "little"))
    got: list[bytes] = []

    def collect() -> bool:
        got.extend(d for _, d in drain(server))
        return len(got) == 3000

    await poll_until(peers, collect, timeout=20)
    assert got == [i.to_bytes(2, "little") for i in range(3000)]


async def test_oversized_batch_is_a_protocol_error(peers: Peers) -> None:
    """A BATCH of more than MAX_BATCH_PACKETS packets is refused with 1002."""
    from multiplayer.transport.framing.native import MAX_BATCH_PACKETS

    server = await start_server(peers)
    ws, _ = await raw_client(server)
    await ws.send(b"\x01" + b"\x00\x00" * (MAX_BATCH_PACKETS + 1))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert close_code(ws) == 1002


async def test_max_queued_packets_counts_untaken_packets(peers: Peers) -> None:
    """Packets taken in time never count against max_queued_packets."""
    server = await start_server(peers, max_queued_packets=10)
    client = await join(peers, server)
    got: list[bytes] = []
    for i in range(50):
        client.put_packet(bytes([i]))
        await poll_until(peers, lambda: server.get_available_packet_count() > 0)
        got.extend(d for _, d in drain(server))
    assert got == [bytes([i]) for i in range(50)]


async def test_big_packet_to_a_healthy_client(peers: Peers) -> None:
    """A packet near outbound_buffer_size reaches a client that reads; a larger one raises."""
    server = await start_server(peers, outbound_buffer_size=65536)
    client = await join(peers, server)
    assert server.get_max_packet_size() == 65536
    server.set_target_peer(2)
    with pytest.raises(PacketTooLarge):
        server.put_packet(bytes(65537))
    for _ in range(5):
        server.put_packet(bytes(60000))  # one tick: 300 kB for a reader that keeps up
    await poll_until(peers, lambda: client.get_available_packet_count() == 5)


async def test_wait_for_activity(peers: Peers) -> None:
    """wait_for_activity wakes when something arrives and times out when nothing does."""
    server = await start_server(peers)
    assert await server.wait_for_activity(0.05) is False
    await start_client(peers, url_of(server))
    assert await server.wait_for_activity(5) is True


async def test_wait_for_activity_deadlines_share_one_timer(peers: Peers) -> None:
    """Waits with different deadlines each end at their own (one timer serves them,
    re-armed as it fires), and a wait with no limit ends only on activity."""
    server = await start_server(peers)
    loop = asyncio.get_running_loop()
    start = loop.time()
    late = asyncio.ensure_future(server.wait_for_activity(until=start + 0.3))
    early = asyncio.ensure_future(server.wait_for_activity(0.05))
    endless = asyncio.ensure_future(server.wait_for_activity())
    assert await early is False
    assert not late.done()
    assert await late is False
    assert loop.time() >= start + 0.3
    assert not endless.done()
    await start_client(peers, url_of(server))
    assert await asyncio.wait_for(endless, 5) is True
    with pytest.raises(ValueError, match="not both"):
        await server.wait_for_activity(1, until=start)


async def test_a_held_link_still_closes_cleanly(peers: Peers) -> None:
    """A peer whose reading is paused (over max_queued_packets) and is then kicked
    completes the closing handshake at once: its close frame is read."""
    server = await start_server(peers, max_queued_packets=10, handshake_timeout=5.0)
    ws, peer_id = await raw_client(server)
    await poll_until(peers, lambda: True)  # the server reports the peer
    for _ in range(200):
        await ws.send(b"\x00\x90")
    link = server._links[peer_id]
    deadline = time.monotonic() + 5
    while not link.reading_held:  # staged, never taken: reading pauses
        assert time.monotonic() < deadline, "the link was never held"
        await asyncio.sleep(0.01)
    server.kick_peer(peer_id, "bye")
    await asyncio.wait_for(ws.wait_closed(), 2.5)  # not handshake_timeout (5 s), then abort
    assert close_code(ws) == 1008


async def test_event_driven_without_multiplayer_poll_does_not_spin(peers: Peers) -> None:
    """With multiplayer_poll off, run(event_driven=True) sleeps to the next frame:
    a packet nobody polls must not make it loop without yielding."""
    from multiplayer import SceneTree

    server = await start_server(peers)
    tree = SceneTree()
    tree.get_multiplayer().multiplayer_peer = server
    tree.multiplayer_poll = False
    polls: list[int] = []
    original = tree._poll_network

    def counting() -> None:
        polls.append(1)
        original()

    tree._poll_network = counting  # type: ignore[method-assign]
    run = asyncio.ensure_future(tree.run(fps=4, event_driven=True))
    try:
        await start_client(peers, url_of(server))  # activity that nobody takes
        await asyncio.sleep(0.3)
        assert len(polls) < 10
    finally:
        tree.quit()
        await asyncio.wait_for(run, 2)


async def connected_trees(
    peers: Peers, node: Callable[[str], Any]
) -> tuple[WebSocketMultiplayerPeer, WebSocketMultiplayerPeer, Any, Any]:
    """A server and a client, each with a SceneTree holding ``node(name)`` under its
    class name, the client admitted; returns (server, client, server_tree, client_tree)."""
    from multiplayer import SceneTree

    server = await start_server(peers)
    server_tree, client_tree = SceneTree(), SceneTree()
    for tree in (server_tree, client_tree):
        tree.get_multiplayer().ping_interval = 0
        tree.root.add_child(node(getattr(node, "__name__", "Node")))
    server_tree.get_multiplayer().multiplayer_peer = server
    client = await start_client(peers, url_of(server))
    client_tree.get_multiplayer().multiplayer_peer = client
    api = client_tree.get_multiplayer()
    await poll_until(peers, lambda: (client_tree.process(0), api.get_peers() == [1])[1])
    return server, client, server_tree, client_tree


async def test_event_driven_errors_raise_from_run(peers: Peers) -> None:
    """In event-driven runs, packets are taken in as they arrive, outside run()'s
    task; an error there (here a node freed by an RPC whose _exit_tree raises) still
    ends run() with that error, and run() unhooks the peer as it ends."""
    from multiplayer import Node, rpc

    class Fragile(Node):
        @rpc("any_peer")
        def leave(self) -> None:
            self.queue_free()

        def _exit_tree(self) -> None:
            raise ValueError("broken _exit_tree")

    server, _, server_tree, client_tree = await connected_trees(peers, Fragile)
    running = asyncio.ensure_future(server_tree.run(fps=1, event_driven=True))
    await asyncio.sleep(0.05)  # the first frame has run: arrivals are hooked
    assert server._arrival is not None
    client_tree.root.get_node("Fragile").leave.rpc_id(1)
    client_tree.process(0)
    with pytest.raises(ValueError, match="broken _exit_tree"):
        await asyncio.wait_for(running, 0.9)  # well before the next frame (1 s)
    assert server._arrival is None


class Shutdown(BaseException):
    """Not an Exception: what a handler might raise that no `except Exception` stops."""


async def test_event_driven_base_exceptions_and_quit_between_frames(peers: Peers) -> None:
    """A BaseException from an RPC taken in between frames ends run() with it and
    leaves the connection that carried the RPC open; quit() from such an RPC ends
    run() at once, not at the next frame."""
    from multiplayer import Node, rpc

    class Control(Node):
        @rpc("any_peer")
        def shutdown(self) -> None:
            raise Shutdown

        @rpc("any_peer")
        def stop(self) -> None:
            self.get_tree().quit()

    server, client, server_tree, client_tree = await connected_trees(peers, Control)
    control = client_tree.root.get_node("Control")
    for call, ends in ((control.shutdown, pytest.raises(Shutdown)), (control.stop, None)):
        running = asyncio.ensure_future(server_tree.run(fps=1, event_driven=True))
        await asyncio.sleep(0.05)  # the first frame has run: arrivals are hooked
        call.rpc_id(1)
        client_tree.process(0)
        if ends is not None:
            with ends:
                await asyncio.wait_for(running, 0.9)  # before the next frame (1 s)
        else:
            await asyncio.wait_for(running, 0.9)
        assert client.get_connection_status() == ConnectionStatus.CONNECTED
        assert server.get_connection_status() == ConnectionStatus.CONNECTED


async def test_a_tree_ending_its_run_leaves_another_trees_hook(peers: Peers) -> None:
    """A peer handed from one running tree to another keeps the second one's arrival
    hook when the first run() ends."""
    from multiplayer import SceneTree

    server = await start_server(peers)
    first, second = SceneTree(), SceneTree()
    first.get_multiplayer().multiplayer_peer = server
    running = [asyncio.ensure_future(tree.run(fps=50, event_driven=True)) for tree in (first,)]
    await asyncio.sleep(0.05)
    assert server._arrival == first._arrived
    first.get_multiplayer().multiplayer_peer = None  # (this closes it: reopen below)
    await server.wait_closed()
    await server.create_server(0, "127.0.0.1")
    second.get_multiplayer().multiplayer_peer = server
    running.append(asyncio.ensure_future(second.run(fps=50, event_driven=True)))
    await asyncio.sleep(0.05)
    assert server._arrival == second._arrived
    first.quit()
    await asyncio.wait_for(running[0], 1)
    assert server._arrival == second._arrived
    second.quit()
    await asyncio.wait_for(running[1], 1)
    assert server._arrival is None


def test_wait_for_activity_in_a_later_event_loop() -> None:
    """A wait cancelled in one event loop leaves no timer that a wait in the next
    loop would rely on: the later wait still times out."""
    peer = WebSocketMultiplayerPeer()

    async def cancelled() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(peer.wait_for_activity(0.2), 0.01)

    async def later() -> bool:  # its deadline is after the first one's
        return await asyncio.wait_for(peer.wait_for_activity(0.3), 2)

    asyncio.run(cancelled())
    assert asyncio.run(later()) is False


# TLS.


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_tls_with_a_trusted_certificate(peers: Peers, ca: trustme.CA) -> None:
    """A wss:// server with a generated certificate accepts a client that trusts its CA."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server = WebSocketMultiplayerPeer()
    peers.append(server)
    await server.create_server(0, "127.0.0.1", tls=server_context)
    client = await start_client(
        peers, f"wss://localhost:{server.get_local_port()}", tls=client_context
    )
    await poll_until(peers, lambda: client.get_connection_status() == ConnectionStatus.CONNECTED)
    client.put_packet(b"secret")
    await poll_until(peers, lambda: server.get_available_packet_count() == 1)
    assert drain(server) == [(2, b"secret")]


async def test_tls_with_an_untrusted_certificate_fails(
    peers: Peers, ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that does not trust the server's certificate fails with a clear error."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    server = WebSocketMultiplayerPeer()
    peers.append(server)
    await server.create_server(0, "127.0.0.1", tls=server_context)
    client = await start_client(peers, f"wss://localhost:{server.get_local_port()}")
    await poll_until(peers, lambda: client.get_connection_status() == ConnectionStatus.DISCONNECTED)
    assert isinstance(client.connection_error, ssl.SSLCertVerificationError)
    assert "certificate verify failed" in caplog.text.lower()
    caplog.clear()  # the server logs the failed TLS handshake


async def test_event_driven_frames_answer_without_waiting_for_a_frame(peers: Peers) -> None:
    """With event-driven frames at 1 fps, a round trip does not wait for the next
    frame: a ping is answered well before the one-second frame period."""
    from multiplayer import SceneTree

    server = await start_server(peers)
    server_tree, client_tree = SceneTree(), SceneTree()
    server_tree.get_multiplayer().multiplayer_peer = server
    client = await start_client(peers, url_of(server))
    client_tree.get_multiplayer().multiplayer_peer = client
    for tree in (server_tree, client_tree):
        tree.get_multiplayer().ping_interval = 0
    api = client_tree.get_multiplayer()
    for _ in range(500):
        server_tree.process(0)
        client_tree.process(0)
        if api.get_peers() == [1]:
            break
        await asyncio.sleep(0.005)
    runs = [
        asyncio.ensure_future(tree.run(fps=1, event_driven=True))
        for tree in (server_tree, client_tree)
    ]
    try:
        await asyncio.sleep(0.05)
        # at 1 fps a frame-bound round trip takes at least a second
        assert await asyncio.wait_for(api.ping(1), 0.9) < 0.9
    finally:
        for tree in (server_tree, client_tree):
            tree.quit()
        await asyncio.wait(runs, timeout=2)


async def test_tls_contexts_must_fit_the_side(peers: Peers) -> None:
    """A server needs a server context and a client a client one (Godot: the TLS
    options of the wrong side are ERR_INVALID_PARAMETER); the peer stays unused."""
    server, client = WebSocketMultiplayerPeer(), WebSocketMultiplayerPeer()
    peers += [server, client]
    with pytest.raises(ValueError, match="server TLS context"):
        await server.create_server(0, "127.0.0.1", tls=ssl.create_default_context())
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with pytest.raises(ValueError, match="client TLS context"):
        await client.create_client("wss://127.0.0.1:1", tls=server_context)
    for peer in (server, client):
        assert peer.get_connection_status() == ConnectionStatus.DISCONNECTED


async def test_bind_address_must_be_an_ip_or_every_interface(peers: Peers) -> None:
    """bind_address is "*" or an IP address, as Godot's TCPServer.listen takes."""
    server = WebSocketMultiplayerPeer()
    peers.append(server)
    with pytest.raises(ValueError, match="bind_address"):
        await server.create_server(0, "not an address")


# The godot profile: Godot 4's own transport bytes (reference.md §1.1-1.2).


async def start_godot_server(peers: Peers) -> WebSocketMultiplayerPeer:
    server = WebSocketMultiplayerPeer(protocol="godot")
    peers.append(server)
    await server.create_server(0, "127.0.0.1")
    return server


async def test_godot_server_speaks_first_with_the_bare_id(peers: Peers) -> None:
    """A plain WebSocket client that says nothing gets 4 bytes, the int32 id in
    [2, 2^31 - 1]; its binary messages are packets as they are, and so are the
    server's."""
    server = await start_godot_server(peers)
    events = record(server)
    async with ws_connect(url_of(server), compression=None) as ws:
        first = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(first, bytes) and len(first) == 4
        peer_id = int.from_bytes(first, "little", signed=True)
        assert 2 <= peer_id <= 2**31 - 1
        await poll_until(peers, lambda: ("connected", peer_id) in events)
        await ws.send(b"\x03hello")
        got: list[tuple[int, bytes]] = []
        await poll_until(peers, lambda: bool(got.extend(drain(server)) or got))
        assert got == [(peer_id, b"\x03hello")]
        server.set_target_peer(peer_id)
        server.put_packet(b"\x03one")
        server.put_packet(b"\x03two")
        assert await asyncio.wait_for(ws.recv(), 5) == b"\x03one"
        assert await asyncio.wait_for(ws.recv(), 5) == b"\x03two"


async def test_godot_ids_are_random_and_distinct(peers: Peers) -> None:
    """Ids are not handed out in order (Godot's generate_unique_id), never repeat
    among the connected, and stay in range."""
    server = await start_godot_server(peers)
    clients: Peers = []
    events = record(server)
    for _ in range(6):
        client = WebSocketMultiplayerPeer(protocol="godot")
        peers.append(client)
        await client.create_client(url_of(server))
        clients.append(client)
    await poll_until(peers, lambda: all(connected(c)() for c in clients))
    ids = [c.get_unique_id() for c in clients]
    assert len(set(ids)) == 6
    assert all(2 <= i <= 2**31 - 1 for i in ids)
    assert max(ids) > 7  # not 2, 3, 4, ... (all six below 8 by chance: 1 in 10^50)
    await poll_until(peers, lambda: len(events) == 6)
    assert sorted(i for _, i in events) == sorted(ids)


async def test_godot_client_joins_a_plain_server_that_sends_the_id(peers: Peers) -> None:
    """Against any server that speaks Godot's bytes: CONNECTING until the 4-byte id,
    then CONNECTED with it; every later message is one packet from peer 1."""
    release = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await release.wait()
        await ws.send((123456).to_bytes(4, "little"))
        await ws.send(b"\x03from server")
        assert await ws.recv() == b"\x03from client"
        await ws.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0, compression=None) as plain:
        port = plain.sockets[0].getsockname()[1]
        client = WebSocketMultiplayerPeer(protocol="godot")
        peers.append(client)
        await client.create_client(f"ws://127.0.0.1:{port}")
        await asyncio.sleep(0.05)
        client.poll()
        assert client.get_connection_status() == ConnectionStatus.CONNECTING
        release.set()
        await poll_until(peers, connected(client))
        assert client.get_unique_id() == 123456
        got: list[tuple[int, bytes]] = []
        await poll_until(peers, lambda: bool(got.extend(drain(client)) or got))
        assert got == [(1, b"\x03from server")]
        client.set_target_peer(1)
        client.put_packet(b"\x03from client")
        client.close()
        await asyncio.wait_for(client.wait_closed(), 5)


@pytest.mark.parametrize("first", [b"\x02\x00\x00", b"\x01\x00\x00\x00", b"\xfe\xff\xff\xff"])
async def test_godot_client_refuses_a_bad_id(peers: Peers, first: bytes) -> None:
    """Not 4 bytes, or an id below 2: the connection fails (Godot: "Invalid ID
    received from server") and the client ends DISCONNECTED, never CONNECTED."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send(first)
        await ws.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0, compression=None) as plain:
        port = plain.sockets[0].getsockname()[1]
        client = WebSocketMultiplayerPeer(protocol="godot")
        peers.append(client)
        connected_ids: list[int] = []
        client.peer_connected.connect(connected_ids.append)
        await client.create_client(f"ws://127.0.0.1:{port}")
        await poll_until(
            peers,
            lambda: client.get_connection_status() == ConnectionStatus.DISCONNECTED,
        )
        assert connected_ids == []


async def test_godot_profile_packets_are_kept_to_godots_message_size(peers: Peers) -> None:
    """A Godot peer takes messages of at most 65535 bytes (its default
    inbound_buffer_size), and its greeting does not say so: a larger packet raises
    PacketTooLarge where it is put, in both directions, not a closed connection."""
    server = await start_godot_server(peers)
    client = WebSocketMultiplayerPeer(protocol="godot")
    peers.append(client)
    await client.create_client(url_of(server))
    await poll_until(peers, connected(client))
    assert client.get_max_packet_size() == 65535
    client.set_target_peer(1)
    with pytest.raises(PacketTooLarge):
        client.put_packet(b"\x03" + bytes(65535))
    client.put_packet(b"\x03" + bytes(65534))
    got: list[tuple[int, bytes]] = []
    await poll_until(peers, lambda: bool(got.extend(drain(server)) or got))
    assert len(got[0][1]) == 65535
    server.set_target_peer(client.get_unique_id())
    with pytest.raises(PacketTooLarge):
        server.put_packet(b"\x03" + bytes(65535))


async def test_mixed_profiles_fail_with_a_hint(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A native client of a godot server, and a godot client of a native server, fail
    with a message that names the cause: the two sides speak different profiles."""
    godot_server = await start_godot_server(peers)
    native_client = await start_client(peers, url_of(godot_server))
    await poll_until(
        peers, lambda: native_client.get_connection_status() == ConnectionStatus.DISCONNECTED
    )
    assert "protocol='godot'" in str(native_client.connection_error)

    native_server = await start_server(peers, handshake_timeout=0.3)
    godot_client = WebSocketMultiplayerPeer(protocol="godot")
    godot_client.handshake_timeout = 0.3
    peers.append(godot_client)
    await godot_client.create_client(url_of(native_server))
    await poll_until(
        peers, lambda: godot_client.get_connection_status() == ConnectionStatus.DISCONNECTED
    )
    assert "both sides need the same protocol" in str(godot_client.connection_error)
    await poll_until(peers, lambda: "protocol='godot'" in caplog.text)


# Off the peer's event loop: the misuse of issue 14 is a clear error, close() works.


def sync_server() -> SyncWebSocketMultiplayerPeer:
    server = SyncWebSocketMultiplayerPeer()  # (its network needs no loop of the test's)
    server.create_server(0, "127.0.0.1")
    return server


def wait_for_leave(server: SyncWebSocketMultiplayerPeer) -> None:
    """Poll ``server`` until a peer leaves (without sleeping more than needed)."""
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    deadline = time.monotonic() + 5
    while not left:
        assert time.monotonic() < deadline, "the client did not leave in time"
        server.block_until_activity(0.05)
        server.poll()


def test_a_peer_whose_loop_has_closed_raises_a_clear_error_on_poll() -> None:
    """asyncio.run(peer.create_client(url)) then a plain loop: poll() does not stay
    CONNECTING for ever, it raises InvalidState naming the plain-loop peer."""
    server = sync_server()
    try:
        client = WebSocketMultiplayerPeer()
        asyncio.run(client.create_client(f"ws://127.0.0.1:{server.get_local_port()}"))
        with pytest.raises(InvalidState, match=r"has closed.*SyncWebSocketMultiplayerPeer"):
            client.poll()
        client.close()
        assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
        client.poll()  # (closed: nothing to check any more)
    finally:
        server.close()
        assert server.block_until_closed(5)


def test_sending_and_closing_after_asyncio_run_returned() -> None:
    """A client connected inside asyncio.run(): afterwards put_packet (an rpc) raises
    InvalidState, and close() works: the peer is DISCONNECTED and the server sees the
    client leave at once, not at its keepalive timeout."""
    server = sync_server()
    client = WebSocketMultiplayerPeer()
    try:
        asyncio.run(join_sync_server(client, server))
        with pytest.raises(InvalidState, match="put_packet"):
            client.put_packet(b"x")
        client.close()
        assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
        wait_for_leave(server)
        with warnings.catch_warnings():  # asyncio's word on the loop closed under them
            warnings.simplefilter("ignore", ResourceWarning)
            del client
            gc.collect()
    finally:
        server.close()
        assert server.block_until_closed(5)


async def join_sync_server(
    client: WebSocketMultiplayerPeer, server: SyncWebSocketMultiplayerPeer
) -> None:
    await client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    await poll_until([client], lambda: client.get_connection_status() == 2)


def test_close_between_two_runs_of_the_loop() -> None:
    """Outside a loop that is not running, close() works; the closing handshake goes
    on when the loop runs again."""
    server = sync_server()
    loop = asyncio.new_event_loop()
    client = WebSocketMultiplayerPeer()
    try:
        loop.run_until_complete(join_sync_server(client, server))
        with pytest.raises(InvalidState, match="is not running"):
            client.poll()
        client.close()
        assert client.get_connection_status() is ConnectionStatus.DISCONNECTED
        loop.run_until_complete(asyncio.wait_for(client.wait_closed(), 5))
        wait_for_leave(server)
    finally:
        loop.close()
        server.close()
        assert server.block_until_closed(5)


def test_close_from_another_thread_than_the_loops_is_refused() -> None:
    """While the loop runs in another thread, close() from here raises and says how."""
    server = sync_server()
    client = WebSocketMultiplayerPeer()
    errors: list[BaseException] = []

    async def join_then_misuse() -> None:
        await client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
        await poll_until([client], lambda: client.get_connection_status() == 2)
        try:
            await asyncio.to_thread(client.close)
        except InvalidState as exc:
            errors.append(exc)
        client.close()
        await client.wait_closed()

    try:
        asyncio.run(join_then_misuse())
        assert "call_soon_threadsafe" in str(errors[0])
    finally:
        server.close()
        assert server.block_until_closed(5)
