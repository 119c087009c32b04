"""SyncWebSocketMultiplayerPeer over real sockets on 127.0.0.1, driven by plain code
(no event loop in the test's thread)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from multiplayer import (
    ConnectionStatus,
    InvalidState,
    Node,
    PeerNotFound,
    SceneMultiplayer,
    SceneTree,
    SyncWebSocketMultiplayerPeer,
    rpc,
)
from multiplayer.transport import websocket_flow

Peers = list[SyncWebSocketMultiplayerPeer]


@pytest.fixture
def peers() -> Iterator[Peers]:
    """Every peer a test makes, closed (and waited for) at the end."""
    made: Peers = []
    yield made
    for peer in made:
        peer.close()
    for peer in made:
        assert peer.block_until_closed(5)


def poll_until(peers: Peers, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll every peer until ``condition()`` holds, sleeping only until something
    arrives; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for peer in peers:
            peer.poll()
        if condition():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        peers[0].block_until_activity(0.01)


def start_server(peers: Peers, **settings: Any) -> SyncWebSocketMultiplayerPeer:
    server = SyncWebSocketMultiplayerPeer()
    for name, value in settings.items():
        setattr(server, name, value)
    peers.append(server)
    server.create_server(0, "127.0.0.1")
    return server


def connect(peers: Peers, server: SyncWebSocketMultiplayerPeer) -> SyncWebSocketMultiplayerPeer:
    client = SyncWebSocketMultiplayerPeer()
    peers.append(client)
    client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    poll_until([client, server], lambda: client.get_connection_status() == 2)
    return client


def drain(peer: SyncWebSocketMultiplayerPeer) -> list[tuple[int, bytes]]:
    out = []
    while peer.get_available_packet_count():
        sender = peer.get_packet_peer()
        out.append((sender, peer.get_packet()))
    return out


def test_create_server_returns_a_connected_server(peers: Peers) -> None:
    """create_server is a plain call, as Godot's: the server is CONNECTED, id 1, on return."""
    server = start_server(peers)
    assert server.get_connection_status() is ConnectionStatus.CONNECTED
    assert server.get_unique_id() == 1
    assert server.get_local_port() > 0


def test_create_server_raises_at_once_when_the_port_is_taken(peers: Peers) -> None:
    """A port in use is an OSError from create_server itself, and the peer stays unused."""
    server = start_server(peers)
    second = SyncWebSocketMultiplayerPeer()
    with pytest.raises(OSError):
        second.create_server(server.get_local_port(), "127.0.0.1")
    assert second.get_connection_status() is ConnectionStatus.DISCONNECTED


def test_misuse_raises_at_the_call_site(peers: Peers) -> None:
    """A started peer cannot start again, and a bad URL is a ValueError, in the caller."""
    server = start_server(peers)
    with pytest.raises(InvalidState, match="already in use"):
        server.create_server(0, "127.0.0.1")
    with pytest.raises(ValueError, match="scheme"):
        SyncWebSocketMultiplayerPeer().create_client("http://127.0.0.1:1")


def test_signals_fire_on_the_callers_thread_inside_poll(peers: Peers) -> None:
    """peer_connected fires in the thread that polls, never on the network thread."""
    server = start_server(peers)
    seen: list[tuple[str, int, int]] = []
    server.peer_connected.connect(lambda i: seen.append(("server", i, threading.get_ident())))
    client = SyncWebSocketMultiplayerPeer()
    peers.append(client)
    client.peer_connected.connect(lambda i: seen.append(("client", i, threading.get_ident())))
    client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    assert client.get_connection_status() is ConnectionStatus.CONNECTING
    poll_until([client, server], lambda: len(seen) == 2)
    me = threading.get_ident()
    assert sorted(seen) == [("client", 1, me), ("server", 2, me)]


def test_packets_arrive_all_and_in_order_under_flow_control(peers: Peers) -> None:
    """Thousands of packets, with a queue limit far below them: the sender is held back
    (TCP), nothing is lost or reordered between the threads."""
    server = start_server(peers, max_queued_packets=64)
    client = connect(peers, server)
    sent = [i.to_bytes(4, "big") for i in range(5000)]
    for data in sent:
        client.put_packet(data)
    got: list[bytes] = []

    def take() -> bool:
        got.extend(data for _, data in drain(server))
        return len(got) >= len(sent)

    poll_until([server, client], take, timeout=20)
    assert got == sent


def test_a_stalled_caller_holds_the_sender_back_without_kicking_it(
    peers: Peers, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the program does not poll (a loading screen, a breakpoint), a peer that
    sends past max_queued_packets is held back, not kicked as a flooder, however long
    past the grace period; polling again, the program gets every packet."""
    monkeypatch.setattr(websocket_flow, "FLOOD_GRACE", 0.0)  # (over at once)
    server = start_server(peers, max_queued_packets=10)
    client = connect(peers, server)
    client_id = client.get_unique_id()
    sent = [bytes([i]) for i in range(100)]
    for data in sent:
        client.put_packet(data)
    client.poll()
    # The server does not poll: a kick would reach the client within milliseconds.
    assert client.block_until_activity(0.5) is False
    with server._lock:
        assert server._links[client_id].holder is not None  # (held back, all along)
    got: list[bytes] = []

    def take() -> bool:
        got.extend(data for _, data in drain(server))
        return len(got) == len(sent)

    poll_until([server, client], take)
    assert got == sent
    assert client.get_connection_status() is ConnectionStatus.CONNECTED
    assert "max_queued_packets" not in caplog.text


def test_a_caller_that_polls_without_taking_still_has_a_flooder_kicked(
    peers: Peers, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program that polls but leaves a peer's packets untaken past the grace period
    has that peer disconnected (1008), as with the asyncio peer."""
    monkeypatch.setattr(websocket_flow, "FLOOD_GRACE", 0.0)
    server = start_server(peers, max_queued_packets=10)
    client = connect(peers, server)
    for i in range(100):
        client.put_packet(bytes([i]))
    poll_until([server, client], lambda: client.get_connection_status() == 0)
    assert "more than max_queued_packets (10)" in caplog.text
    assert "connection closed (1008" in caplog.text


def test_a_handler_may_send_and_close_inside_poll(peers: Peers) -> None:
    """Signals run outside the peer's lock: a handler sends, and another closes the
    peer, without a deadlock; the packet put before close() is delivered."""
    server = start_server(peers)
    server.peer_connected.connect(lambda i: (server.set_target_peer(i), server.put_packet(b"hi")))
    client = SyncWebSocketMultiplayerPeer()
    peers.append(client)
    client.peer_connected.connect(lambda _: (client.put_packet(b"bye"), client.close()))
    client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    got: list[tuple[int, bytes]] = []

    def gone() -> bool:
        got.extend(drain(server))
        return bool(left)

    poll_until([client, server], gone)
    assert got == [(2, b"bye")]
    assert client.get_connection_status() is ConnectionStatus.DISCONNECTED


def test_put_from_another_thread_while_polling(peers: Peers) -> None:
    """Any thread may put while the owner polls: every packet arrives, each thread's in order."""
    server = start_server(peers)
    client = connect(peers, server)

    def send(tag: int) -> None:
        for i in range(500):
            client.put_packet(bytes([tag]) + i.to_bytes(2, "big"))

    threads = [threading.Thread(target=send, args=(tag,)) for tag in (1, 2)]
    for thread in threads:
        thread.start()
    got: list[bytes] = []

    def take() -> bool:
        client.poll()
        got.extend(data for _, data in drain(server))
        return len(got) >= 1000

    poll_until([server], take)
    for thread in threads:
        thread.join()
    for tag in (1, 2):
        mine = [int.from_bytes(d[1:], "big") for d in got if d[0] == tag]
        assert mine == list(range(500))


def test_close_and_disconnect_from_the_callers_thread(peers: Peers) -> None:
    """disconnect_peer and close run at once; the other side sees the leave; an unknown
    peer raises PeerNotFound in the caller."""
    server = start_server(peers)
    first, second = connect(peers, server), connect(peers, server)
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    with pytest.raises(PeerNotFound):
        server.disconnect_peer(99)
    server.disconnect_peer(first.get_unique_id())
    second.close()
    assert second.get_connection_status() is ConnectionStatus.DISCONNECTED
    poll_until([server, first], lambda: len(left) == 2)
    assert sorted(left) == [2, 3]
    assert first.get_connection_status() is ConnectionStatus.DISCONNECTED
    assert second.block_until_closed(5)


def test_a_failed_connection_is_reported_at_poll(peers: Peers) -> None:
    """No server: poll() finds the peer DISCONNECTED, connection_error says why, and
    SceneMultiplayer emits connection_failed (as with the asyncio peer)."""
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SyncWebSocketMultiplayerPeer()
    peers.append(client)
    client.create_client(f"ws://127.0.0.1:{port}")
    api = SceneMultiplayer()
    failed: list[bool] = []
    api.connection_failed.connect(lambda: failed.append(True))
    api.multiplayer_peer = client
    deadline = time.monotonic() + 5
    while not failed:
        assert time.monotonic() < deadline
        client.block_until_activity(0.05)
        api.poll()
    assert isinstance(client.connection_error, OSError)


class Echo(Node):
    def __init__(self) -> None:
        super().__init__("Echo")
        self.answers: list[tuple[int, int]] = []

    @rpc("any_peer")
    def ask(self, value: int) -> None:
        self.answer.rpc_id(self.multiplayer.get_remote_sender_id(), value * 2)

    @rpc("authority")
    def answer(self, value: int) -> None:
        self.answers.append((value, threading.get_ident()))


def test_rpcs_through_scene_trees_in_a_plain_loop(peers: Peers) -> None:
    """SceneTree.process(delta) in a plain loop runs RPC handlers on the caller's thread."""
    server = start_server(peers)
    client = SyncWebSocketMultiplayerPeer()
    peers.append(client)
    client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    trees = [SceneTree(), SceneTree()]
    for tree, peer in zip(trees, (server, client), strict=True):
        tree.get_multiplayer().multiplayer_peer = peer
        tree.root.add_child(Echo())
    echo: Any = trees[1].root.get_node("Echo")
    connected: list[bool] = []
    trees[1].get_multiplayer().connected_to_server.connect(lambda: connected.append(True))
    deadline = time.monotonic() + 5
    while len(echo.answers) < 3:
        assert time.monotonic() < deadline
        for tree in trees:
            tree.process(0.01)
        if connected and not echo.answers and len(connected) == 1:
            connected.append(True)
            for value in (1, 2, 3):
                echo.ask.rpc_id(1, value)
        client.block_until_activity(0.01)
    me = threading.get_ident()
    assert echo.answers == [(2, me), (4, me), (6, me)]


def test_block_until_activity_wakes_on_arrival_and_times_out(peers: Peers) -> None:
    """It returns False when nothing comes, True as soon as something does."""
    server = start_server(peers)
    client = connect(peers, server)
    server.poll()
    assert server.block_until_activity(0.05) is False
    client.put_packet(b"x")
    assert server.block_until_activity(5) is True


def test_the_blocking_waits_refuse_to_block_an_event_loop(peers: Peers) -> None:
    """Called from asyncio code they raise, naming the asyncio peer, instead of
    blocking the loop."""
    server = start_server(peers)

    async def misuse(wait: Callable[[float], bool]) -> None:
        wait(0.1)

    for wait in (server.block_until_activity, server.block_until_closed):
        with pytest.raises(InvalidState, match="WebSocketMultiplayerPeer"):
            asyncio.run(misuse(wait))


def test_one_network_thread_serves_every_peer(peers: Peers) -> None:
    """However many peers, the process has one network thread, a daemon."""
    server = start_server(peers)
    for _ in range(3):
        connect(peers, server)
    threads = [t for t in threading.enumerate() if t.name == "multiplayer-network"]
    assert len(threads) == 1
    assert threads[0].daemon


@pytest.mark.parametrize("event_driven", [False, True], ids=["frames", "event_driven"])
def test_the_asyncio_frame_loop_works_with_it_too(peers: Peers, event_driven: bool) -> None:
    """The peer needs no loop of its own, but runs under `await tree.run()` as well,
    event-driven or not: it has no coroutine for the tree to await (its waits block,
    and are named so), and is polled once a frame."""
    server = start_server(peers)
    client = SyncWebSocketMultiplayerPeer()
    peers.append(client)
    client.create_client(f"ws://127.0.0.1:{server.get_local_port()}")
    tree = SceneTree()
    tree.get_multiplayer().multiplayer_peer = client
    server_tree = SceneTree()
    server_tree.get_multiplayer().multiplayer_peer = server
    frames: list[ConnectionStatus] = []

    def frame() -> None:
        server_tree.process(0.01)
        frames.append(client.get_connection_status())
        if frames.count(ConnectionStatus.CONNECTED) == 3:  # (waited between them)
            tree.quit()

    tree.process_frame.connect(frame)
    asyncio.run(asyncio.wait_for(tree.run(fps=200, event_driven=event_driven), 5))
    assert client.get_connection_status() is ConnectionStatus.CONNECTED


RUNNING_TREE = """
import asyncio
import sys
from multiplayer import SceneTree, SyncWebSocketMultiplayerPeer
peer = SyncWebSocketMultiplayerPeer()
peer.create_client(sys.argv[1])
tree = SceneTree()
tree.get_multiplayer().multiplayer_peer = peer
tree.get_multiplayer().connected_to_server.connect(lambda: print("connected", flush=True))
asyncio.run(tree.run(event_driven=sys.argv[2] == "event_driven"))
print("run() returned; status", peer.get_connection_status(), flush=True)
"""


@pytest.mark.parametrize("event_driven", ["frames", "event_driven"])
def test_sigint_ends_a_tree_run_with_it_cleanly(
    peers: Peers, caplog: pytest.LogCaptureFixture, event_driven: str
) -> None:
    """Ctrl-C during `asyncio.run(tree.run())` with this peer: run() returns, the peer
    is closed with a close frame (1000), and the program ends with status 0 and
    nothing on stderr."""
    server = start_server(peers)
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    url = f"ws://127.0.0.1:{server.get_local_port()}"
    code, out, err = interrupt(script(RUNNING_TREE, url, event_driven), "connected")
    assert (code, out, err) == (0, "run() returned; status 0\n", "")
    poll_until([server], lambda: len(left) == 1)
    assert "connection closed (1000" in caplog.text


SIGNAL_DURING_POLL = """
import signal
import sys
import threading
from multiplayer import SyncWebSocketMultiplayerPeer
peer = SyncWebSocketMultiplayerPeer()
peer.create_client(sys.argv[1])
while peer.get_connection_status() != 2:
    peer.block_until_activity(1)
    peer.poll()
interrupted = threading.Event()

def on_sigint(signum, frame):
    interrupted.set()
    peer.close()  # (what a plain loop writes; here it runs inside poll())

signal.signal(signal.SIGINT, on_sigint)
take_in = peer._inbox.poll

def held_poll():  # poll(), stopped where it holds the peers' lock until SIGINT comes
    assert peer._network.lock.held()
    print("polling", flush=True)
    interrupted.wait()
    return take_in()

peer._inbox.poll = held_poll
peer.poll()
print("closed" if peer.block_until_closed(10) else "open", peer.get_connection_status())
"""


def test_a_signal_handler_may_close_the_peer_during_poll(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGINT in the middle of poll(), whose thread holds the peers' lock, runs a
    handler that calls close(): it does not wait for the network thread (which waits
    for that lock), the close happens as poll() lets go, with a close frame."""
    server = start_server(peers)
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    url = f"ws://127.0.0.1:{server.get_local_port()}"
    code, out, err = interrupt(script(SIGNAL_DURING_POLL, url), "polling", timeout=20)
    assert (code, out, err) == (0, "closed 0\n", "")
    poll_until([server], lambda: len(left) == 1)
    assert "connection closed (1000" in caplog.text


def interrupt(
    program: subprocess.Popen[str], ready: str, timeout: float = 30
) -> tuple[int, str, str]:
    """Send SIGINT to ``program`` once it has printed the line ``ready``; its exit
    status, and the rest of its output and its stderr."""
    assert program.stdout is not None
    try:
        line = program.stdout.readline()
        if line != f"{ready}\n":
            program.kill()
            pytest.fail(f"not {ready!r} but {line!r}: {program.communicate()[1]}")
        program.send_signal(signal.SIGINT)
        out, err = program.communicate(timeout=timeout)
    finally:
        if program.poll() is None:
            program.kill()
            program.communicate()
    return program.returncode, out, err


def script(source: str, *args: str) -> subprocess.Popen[str]:
    """``source``, a program of its own, started with ``args``; its output piped."""
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(source), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


EXITING_CLIENT = """
import sys
from multiplayer import SyncWebSocketMultiplayerPeer
peer = SyncWebSocketMultiplayerPeer()
peer.create_client(sys.argv[1])
while peer.get_connection_status() != 2:
    peer.block_until_activity(1)
    peer.poll()
print("connected", flush=True)
# exits without close(): the network thread closes the peer at exit
"""


def test_interpreter_exit_closes_open_peers_cleanly(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    """A program that ends with a peer still open closes it on its way out: the other
    side gets a close frame (1000), not a connection reset."""
    server = start_server(peers)
    left: list[int] = []
    server.peer_disconnected.connect(left.append)
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            textwrap.dedent(EXITING_CLIENT),
            f"ws://127.0.0.1:{server.get_local_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "connected\n"
    assert result.stderr == ""
    poll_until([server], lambda: len(left) == 1)
    assert "connection closed (1000" in caplog.text
