"""``SyncWebSocketMultiplayerPeer``: the WebSocket peer for a plain game loop.

For programs that write no asyncio (a ``while`` loop, a pygame clock): as in Godot,
``create_server`` and ``create_client`` return at once, and the program calls
``poll()`` (or ``SceneTree.process(delta)``) every frame from its own thread. The
sockets live on the process's :class:`~.network_thread.NetworkThread`, which runs
the same connections as the asyncio peer's, with the same limits; see that module
for the lock that keeps them and the caller's thread apart.

What runs where:

* on the network thread: reading and writing the sockets, handshakes, keepalive,
  staging what arrives (with the limits: a peer that floods is held, then cut) and
  sending what a frame put;
* on the caller's thread, inside ``poll()``: the signals (``peer_connected``,
  ``peer_disconnected``), and above them, inside ``SceneTree.process()``, every RPC
  handler and replication. No user code ever runs on the network thread.

Queues between the threads are the peer's own, with their limits: the packets
received and not taken (``max_queued_packets``, past which reading from the sender
pauses, for as long as the caller does not poll), and what was put and not sent
(``outbound_buffer_size``). Nothing is dropped in between: a frame's packets leave,
in order, when it ends.

Its two blocking waits are named ``block_until_*``, not ``wait_*``: in this library
(as in trio) a ``wait_*`` method is a coroutine, and ``SceneTree.run()`` awaits the
``wait_for_activity`` and ``wait_closed`` of its peers. Under ``run()`` this peer is
polled once a frame and closed on SIGINT like any other; it has nothing to await.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Callable, Sequence

from ..exceptions import InvalidState
from .activity import ActivityWaiters
from .network_thread import NetworkThread, network_thread
from .peer import TransferMode
from .stats import PeerStats
from .websocket_link import Link
from .websocket_multiplayer_peer import WebSocketMultiplayerPeerBase
from .websocket_peer import WebSocketPeer

__all__ = ["SyncWebSocketMultiplayerPeer"]


class _Wakeup(ActivityWaiters):
    """Wakes a caller blocked in ``block_until_activity()`` (a thread, not a task)."""

    def __init__(self) -> None:
        super().__init__()
        self.flag = threading.Event()

    def wake(self) -> None:
        self.flag.set()


class SyncWebSocketMultiplayerPeer(WebSocketMultiplayerPeerBase):
    """A WebSocket multiplayer peer for plain code: no event loop in the caller.

    The same peer as :class:`~.websocket_multiplayer_peer.WebSocketMultiplayerPeer`
    (settings, limits, protocol profiles, ``get_peer``), but ``create_server`` and
    ``create_client`` are plain calls that return at once, as Godot's, and every
    method may be called from any thread, at any time: the network runs on a thread
    of its own (one per process, started with the first peer). Signals fire in the
    caller's thread, inside ``poll()``.

    From an OS signal handler (``signal.signal``), which may interrupt a call of a
    sync peer halfway, only ``close()``, ``disconnect_peer()`` and ``kick_peer()``
    may be called, and they may be queued rather than done on return; better, the
    handler sets a flag that the loop acts on.

    Args:
        protocol: The protocol profile to speak: ``"native"`` (the default) or
            ``"godot"`` (see docs/godot-interop.md).

    Raises:
        ValueError: ``protocol`` names no known profile (the message lists them).
    """

    _caller_may_stall = True  # the network reads on while the caller is away

    def __init__(self, protocol: str = "native", backend: str | None = None) -> None:
        super().__init__(protocol, backend)
        self._network: NetworkThread | None = None
        # Until it starts, nothing else touches the peer: no lock is needed.
        self._lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        self._activity = self._wakeup = _Wakeup()

    # Starting: on the network thread, waited for.

    def create_server(
        self,
        port: int,
        bind_address: str = "*",
        tls: ssl.SSLContext | None = None,
        max_clients: int = 0,
    ) -> None:
        """Listen on ``port`` (0 picks a free one: see ``get_local_port()``).

        The peer is CONNECTED with id 1 when this returns. ``bind_address="*"``
        listens on every interface; ``tls`` makes it a ``wss://`` server; past
        ``max_clients`` (0: no limit) a client is closed with 1013 "server full".

        Raises:
            InvalidState: The peer is already in use.
            OSError: The address cannot be bound (for example, the port is in use).
            ValueError: ``bind_address`` is not ``"*"``, an IP address or a host
                name that resolves, ``tls`` is not a server context, or
                ``max_clients`` is negative.
        """
        network = self._start_network()
        network.run(self._start_server(port, bind_address, tls, max_clients))

    def create_client(self, url: str, tls: ssl.SSLContext | None = None) -> None:
        """Start connecting to a ``ws://`` or ``wss://`` URL; returns at once.

        The peer is CONNECTING until the server has assigned its id; a ``poll()``
        then makes it CONNECTED and emits ``peer_connected(1)``. If the connection
        fails, or takes longer than ``handshake_timeout``, a ``poll()`` finds it
        DISCONNECTED and ``connection_error`` says why.

        Raises:
            InvalidState: The peer is already in use.
            ValueError: The URL is invalid or its scheme is not ``ws`` or ``wss``, or
                ``tls`` is not a client context.
        """
        self._start_network().call(self._start_client, url, tls)

    def _start_network(self) -> NetworkThread:
        network = self._network = network_thread()
        self._lock = network.lock
        network.add(self)
        return network

    # Receiving: under the lock; signals outside it.

    def poll(self) -> None:
        with self._lock:
            self._poll_count += 1
            generation = self._generation
            self._forced.clear()
            events = self._inbox.poll()
        for event, peer_id in events:
            with self._lock:
                if self._generation != generation:
                    return  # a handler closed this peer: the rest is moot
                signal = self._take_in(event, peer_id)
            if signal is not None:
                signal.emit(peer_id)

    def get_available_packet_count(self) -> int:
        with self._lock:
            return super().get_available_packet_count()

    def get_packet(self) -> bytes:
        with self._lock:
            return super().get_packet()

    def get_packet_peer(self) -> int:
        with self._lock:
            return super().get_packet_peer()

    def get_packet_channel(self) -> int:
        with self._lock:
            return super().get_packet_channel()

    def get_packet_mode(self) -> TransferMode:
        with self._lock:
            return super().get_packet_mode()

    def _take_packet(self) -> tuple[int, bytes, TransferMode, int]:
        with self._lock:
            return super()._take_packet()

    def block_until_activity(self, timeout: float | None = None) -> bool:
        """Block until ``poll()`` has something to report, at most ``timeout`` seconds;
        False if the time ran out. In a frame loop it replaces the sleep between
        frames, so that what arrives is handled at once.

        Raises:
            InvalidState: The caller runs an asyncio event loop, which this would
                block (asyncio code uses WebSocketMultiplayerPeer), or it is a signal
                handler that interrupted a call of a sync peer (the network thread
                could not stage anything before that call goes on).
        """
        self._refuse_to_block("block_until_activity()")
        with self._lock:
            if self._inbox.has_staged():
                return True
            self._wakeup.flag.clear()  # (set again by any staging, under the lock)
        return self._wakeup.flag.wait(timeout)

    # Sending: under the lock; the network thread flushes.

    def put_packet(self, data: bytes) -> None:
        with self._lock:
            super().put_packet(data)

    def _put_many(
        self, targets: Sequence[int], data: bytes, mode: TransferMode, channel: int
    ) -> None:
        with self._lock:
            super()._put_many(targets, data, mode, channel)

    def get_max_packet_size(self) -> int:
        with self._lock:
            return super().get_max_packet_size()

    def _defer_flush(self) -> None:
        with self._lock:
            super()._defer_flush()

    def _end_deferred_flush(self) -> None:
        with self._lock:
            self._flush_deferred -= 1
            if not self._flush_deferred and self._flush_pending:
                self._schedule_flush()

    def _schedule_flush(self) -> None:
        assert self._loop is not None, "a connected peer has a loop"
        self._loop.call_soon_threadsafe(self._flush)

    def _close_socket(self, link: Link, unsent: list[bytes], code: int, reason: str) -> None:
        network = self._network
        if network is None or network.on_thread():
            super()._close_socket(link, unsent, code, reason)
        else:  # (a slow reader dropped as a packet was put for it)
            closing = super()._close_socket
            network.loop.call_soon_threadsafe(closing, link, unsent, code, reason)

    # Links.

    def get_peer(self, peer_id: int) -> WebSocketPeer:
        with self._lock:
            return super().get_peer(peer_id)

    def get_peer_address(self, peer_id: int) -> str:
        with self._lock:
            return super().get_peer_address(peer_id)

    def get_peer_port(self, peer_id: int) -> int:
        with self._lock:
            return super().get_peer_port(peer_id)

    def get_local_port(self) -> int:
        with self._lock:
            return super().get_local_port()

    def get_peer_stats(self, peer_id: int) -> PeerStats:
        with self._lock:  # (the network thread counts as it reads)
            return super().get_peer_stats(peer_id)

    def get_stats(self) -> PeerStats:
        with self._lock:
            return super().get_stats()

    def _on_arrival(self, hook: Callable[[], bool] | None) -> None:
        return  # the hook would run user code on the network thread: never

    def _off_arrival(self, hook: Callable[[], bool]) -> None:
        return

    # Closing: on the network thread, waited for.

    def disconnect_peer(self, peer_id: int, force: bool = False) -> None:
        self._on_network(super().disconnect_peer, peer_id, force)

    def kick_peer(self, peer_id: int, reason: str) -> None:
        self._on_network(super().kick_peer, peer_id, reason)

    def close(self) -> None:
        """Drop every connection at once, with no signal; the peer is DISCONNECTED
        when this returns. The closing handshakes go on in the background (see
        ``block_until_closed()``). It works from any thread, even after the network
        thread has stopped at exit (then the sockets are only shut down).

        From an OS signal handler that interrupted a call of a sync peer (its thread
        then holds the lock the network thread needs), it is queued instead, and
        happens as soon as that call returns."""
        network = self._network
        if network is not None and not network.alive:
            self._abandon()
        else:
            self._on_network(self._close_on_network)

    def _close_on_network(self) -> None:
        super().close()

    def block_until_closed(self, timeout: float | None = None) -> bool:
        """Block until every connection of this peer has ended, after ``close()``
        (at most ``timeout`` seconds); False if the time ran out first.

        Raises:
            InvalidState: The caller runs an asyncio event loop, which this would
                block, or it is a signal handler that interrupted a call of a sync
                peer (the network thread could not close anything before that call
                goes on: set a flag there, and close in the loop).
        """
        self._refuse_to_block("block_until_closed()")
        network = self._network
        if network is None or not network.alive:
            return True
        try:
            network.run(self._wait_all_closed(), timeout)
        except TimeoutError:
            return False
        return True

    def _refuse_to_block(self, action: str) -> None:
        """Raise rather than block where blocking would hang or stall the program."""
        if asyncio._get_running_loop() is not None:
            raise InvalidState(
                f"SyncWebSocketMultiplayerPeer.{action} blocks its thread, here an "
                "event loop's: in asyncio code use WebSocketMultiplayerPeer"
            )
        network = self._network
        if network is not None and network.lock.held() and not network.on_thread():
            raise InvalidState(
                f"{action} would wait for the network thread, which waits for this "
                "thread: it holds the peers' lock (a signal handler that interrupted "
                "a call of a sync peer?); set a flag there, and wait in the loop"
            )

    def _on_network(self, function: Callable[..., object], *args: object) -> None:
        """``function(*args)`` on the network thread, waited for (a peer never started
        has no network: then here).

        Unless this thread holds the lock the network thread needs: Python runs an OS
        signal handler between two bytecodes of the main thread, possibly inside a
        call of a sync peer. Waiting there would wait for ever, and doing the work
        there would change the peer under the call it interrupted: the call is
        queued, and the network thread runs it once the interrupted call lets go."""
        network = self._network
        if network is None:
            function(*args)
        elif network.lock.held() and not network.on_thread():
            network.call_soon(function, *args)
        else:
            network.call(function, *args)
