"""``WebSocketPeerBase``: what a WebSocket peer does the same as a server and a client.

Godot's WebSocketMultiplayerPeer is one class whose ``poll()`` runs
``_poll_server()`` or ``_poll_client()``; the two halves share the settings, the
packet queue and the per-peer connections. This module is that shared part, over the
settings of :mod:`.websocket_settings`: ``put_packet`` and the flush that coalesces
what was put, the reading of every link into the
:class:`~multiplayer.transport.inbox.Inbox`, the limits, and the closing of links
(the hooks of :class:`~.queued_peer.QueuedPeer`'s close state machine).
:mod:`.websocket_server` and :mod:`.websocket_client` add the halves that differ:
how a connection comes to be a link.

Each link is a :class:`~.websocket_peer.WebSocketPeer` (Godot builds its peer from
them too, modules/websocket/websocket_multiplayer_peer.cpp) whose event-loop half
hands each message to :meth:`WebSocketPeerBase._receive` as it is parsed: no task
reads or writes. ``put_packet`` never blocks: packets put for one peer in one pass
of the event loop are coalesced by the framing (:mod:`.framing`) into as few
messages as fit, and written to the socket in one go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any

from ..exceptions import PacketTooLarge, PeerNotFound, ProtocolError
from .activity import ActivityWaiters
from .close_codes import (
    CLOSE_GOING_AWAY,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_RESUME_REFUSED,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNSUPPORTED_DATA,
)
from .framing import Greeting
from .inbox import Packet
from .peer import TARGET_PEER_SERVER, TransferMode, as_packet
from .resume import Replay
from .stats import Counts
from .websocket_flow import FLOOD_GRACE, drop_slow_reader, hold_reading
from .websocket_link import CLOSED, OPEN, Link
from .websocket_peer import WebSocketPeer
from .websocket_peer_link import PeerLink, State, fit_close_reason
from .websocket_sessions import Sessions
from .websocket_settings import MIN_MESSAGE_SIZE, WebSocketSettings

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_NORMAL",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_RESUME_REFUSED",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
    "FLOOD_GRACE",
    "WebSocketPeerBase",
]

logger = logging.getLogger("multiplayer.websocket")

_WS_CLOSED = State.STATE_CLOSED
_RELIABLE = TransferMode.RELIABLE


class WebSocketPeerBase(WebSocketSettings):
    """The packets and links of a WebSocket peer, server or client.

    Args:
        protocol: The profile to speak (see :class:`.websocket_settings.WebSocketSettings`).

    Raises:
        ValueError: ``protocol`` names no known profile.
    """

    _caller_may_stall = False
    """Whether the network reads on while the caller does not poll (a sync peer's
    network thread does; an event loop that stalls reads nothing either): then
    ``poll()`` counts itself in ``_poll_count``, for ``_hold_reading``."""

    def __init__(self, protocol: str = "native", backend: str | None = None) -> None:
        super().__init__(protocol, backend)
        # Bound once: the flush and the reader call these for every message.
        self._encode = self._framing.encode
        self._decode = self._framing.decode
        self._packet_overhead = self._framing.packet_overhead
        self._links: dict[int, Link] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # the links', while in use
        self._tasks: set[asyncio.Task[object]] = set()
        self._flush_pending: list[Link] = []
        self._flush_deferred = 0  # > 0: a frame is running and flushes when it ends
        self._activity = ActivityWaiters()
        self._arrival: Callable[[], bool] | None = None  # see _on_arrival
        self._connection_error: BaseException | None = None
        self._connections: set[PeerLink] = set()  # not CLOSED yet: see wait_closed
        self._all_closed = asyncio.Event()
        self._all_closed.set()
        self._poll_count = 0  # poll()s, counted where _caller_may_stall
        self._sessions = Sessions(self)  # (of resumable links)
        self._gone = Counts()  # the counts of links gone (see get_stats)
        self._away = self._sessions.away  # links lost, whose session waits to resume

    # MultiplayerPeer API.

    def is_server_relay_supported(self) -> bool:
        return True

    def get_peer(self, peer_id: int) -> WebSocketPeer:
        """The WebSocketPeer of a connected peer (on a client, 1 is the server), as
        Godot's ``get_peer``: its state, close code, address. It is polled here; do
        not ``send()`` on it nor take its packets, which are this peer's.

        Raises:
            PeerNotFound: No such peer is connected.
        """
        ws = self._link(peer_id).ws
        ws.poll()
        return ws

    def get_peer_address(self, peer_id: int) -> str:
        """The remote IP address of a connected peer (on a client, 1 is the server).

        An IPv4 client of a dual-stack server is shown as IPv4 (``127.0.0.1``, not
        ``::ffff:127.0.0.1``), as Godot shows it.
        """
        return self._link(peer_id).ws.get_connected_host()

    def get_peer_port(self, peer_id: int) -> int:
        """The remote port of a connected peer."""
        return self._link(peer_id).ws.get_connected_port()

    def get_max_packet_size(self) -> int:
        sizes = [link.max_message_size for link in self._links.values()]
        limit = min(sizes, default=self._inbound_buffer_size) - self._packet_overhead
        return min(limit, self._outbound_buffer_size)

    def put_packet(self, data: bytes) -> None:
        self._check_connected("put_packet")
        links = [self._links[p] for p in self._live_targets(self._links)]
        if self._away and self._transfer_mode is not _RELIABLE:
            links = [link for link in links if link.state is OPEN]
        self._queue_for_flush(links, as_packet(data))

    def _put_many(
        self, targets: Sequence[int], data: bytes, mode: TransferMode, channel: int
    ) -> None:
        self._check_connected("put_packet")
        chosen: list[Link] = []
        if self._unique_id != TARGET_PEER_SERVER:  # a client sends everything to the server
            server = self._links.get(TARGET_PEER_SERVER)
            if server is not None:
                chosen.append(server)
        else:
            known, links = self._known, self._links
            for peer_id in targets:
                if peer_id not in known:
                    raise PeerNotFound(peer_id)
                link = links.get(peer_id)
                if link is not None:  # (else it left: its leave is staged)
                    chosen.append(link)
        if self._away and mode is not _RELIABLE:
            # An unreliable packet put for a peer that is away is dropped, not kept
            # for the resume (docs/resume.md): it would be stale by then.
            chosen = [link for link in chosen if link.state is OPEN]
        self._queue_for_flush(chosen, as_packet(data))

    # Sending: put, then one flush per pass of the event loop (or per frame).

    def _queue_for_flush(self, targets: list[Link], data: bytes) -> None:
        """Queue ``data`` for each link, to go with the next flush; all or none."""
        size = len(data)
        needed = size + self._packet_overhead
        limit = self._outbound_buffer_size
        for link in targets:
            if needed > link.max_message_size or size > limit:
                raise PacketTooLarge(size, min(self._packet_limit(link) for link in targets))
        pending = self._flush_pending
        for link in targets:
            if link.conn.backed_up and link.state is OPEN and link.unsent_bytes() + size > limit:
                drop_slow_reader(self, link)
                continue
            if not link.outgoing:
                if not pending and not self._flush_deferred:
                    self._schedule_flush()
                pending.append(link)
            link.outgoing.append(data)
            link.outgoing_bytes += size

    def _schedule_flush(self) -> None:
        """Have the event loop flush, once it is free (the caller is on the loop)."""
        assert self._loop is not None, "a connected peer has a loop"
        self._loop.call_soon(self._flush)

    def _packet_limit(self, link: Link) -> int:
        return min(link.max_message_size - self._packet_overhead, self._outbound_buffer_size)

    def _flush(self) -> None:
        """Encode what was put for each peer since the last flush; write it."""
        pending, self._flush_pending = self._flush_pending, []
        encode, limit = self._encode, self._outbound_buffer_size
        shared: bytes | None = None  # a broadcast: the same lone packet for many links
        shared_messages: list[bytes] = []
        for link in pending:
            if link.state is CLOSED:
                continue
            outgoing = link.outgoing
            if len(outgoing) == 1 and outgoing[0] is shared:
                messages = shared_messages  # encoded once, sent to each
            else:
                messages = encode(outgoing, link.max_message_size)
                if len(outgoing) == 1:
                    shared, shared_messages = outgoing[0], messages
            link.counts.sent(len(outgoing), messages)
            outgoing.clear()
            link.outgoing_bytes = 0
            replay = link.replay
            if replay is not None:
                if not replay.record(messages) and not self._sessions.overflow(link):
                    continue
                if replay.ack_wanted and link.state is OPEN:
                    messages = [*messages, self._framing.ack(replay.take_ack())]
            link.write(messages)  # (while AWAY, nothing: the replay buffer has them)
            if link.conn.backed_up and link.state is OPEN and link.conn.backlog() > limit:
                drop_slow_reader(self, link)

    def _defer_flush(self) -> None:
        # A frame is starting: what it puts is flushed when it ends, in one go.
        self._flush_deferred += 1

    def _end_deferred_flush(self) -> None:
        self._flush_deferred -= 1
        if not self._flush_deferred and self._flush_pending:
            self._flush()

    # Waking a frame loop.

    def _on_arrival(self, hook: Callable[[], bool] | None) -> None:
        self._arrival = hook

    def _off_arrival(self, hook: Callable[[], bool]) -> None:
        if self._arrival == hook:
            self._arrival = None

    def _after_data(self) -> None:
        """A read was handled: what it staged is taken in by the arrival hook, right
        here, or else wakes the waiters. (The hook saves a frame loop the wake-up of
        its task, the larger part of a server's turnaround.)"""
        if not self._inbox.has_staged():
            return
        hook = self._arrival
        if hook is None or not hook() or self._inbox.has_staged():
            self._activity.wake()

    # Links: what the server and client halves call once a greeting is done.

    def _track(self, conn: PeerLink) -> None:
        """Count ``conn`` as open until it is CLOSED (for :meth:`wait_closed`)."""
        self._connections.add(conn)
        self._all_closed.clear()

    def _untrack(self, conn: PeerLink) -> None:
        self._connections.discard(conn)
        if not self._connections:
            self._all_closed.set()

    def _open_link(
        self,
        ws: WebSocketPeer,
        peer_id: int,
        max_message_size: int | None,
        own_id: int = 0,
        token: bytes = b"",
        grace: float = 0.0,
    ) -> Link:
        """Make ``ws`` the link to ``peer_id``: from now on its messages are
        staged for ``poll()``.

        ``max_message_size`` is what the other side's greeting announced; None (its
        framing does not say) assumes the framing's ``peer_message_size``, or else our
        own ``inbound_buffer_size``. A client passes the ``own_id`` it was given,
        reported with its join at ``poll()``. With a resume ``token``, the session
        can be resumed for ``grace`` seconds: its data messages are counted and kept
        until acknowledged.
        """
        size = self._message_size(max_message_size)
        replay = Replay(token, self._resume_buffer_size, grace) if token else None
        link = Link(ws, peer_id, size, replay)
        if own_id:
            self._assigned_id = own_id
        self._links[peer_id] = link
        self._inbox.stage_connected(peer_id)
        conn = link.conn
        conn.sink = partial(self._sessions.receive if replay else self._receive, link)
        conn.on_arrival = partial(self._after_first_read, link)
        self._activity.wake()
        return link

    def _message_size(self, announced: int | None) -> int:
        return announced or self._framing.peer_message_size or self._inbound_buffer_size

    # Resuming (see .websocket_sessions).

    def _link_lost(self, link: Link) -> bool:
        """The connection of ``link`` was lost (:meth:`Link.lost`): whether its session
        waits to be resumed (the server and client sides say; by default, no)."""
        return False

    def _after_first_read(self, link: Link) -> None:
        """The read that completed a greeting: the join is left to the frame loop's
        task, which takes in every join of this pass of the event loop together, so
        that the server announces them to the other peers in one message each
        (taken in one by one, 1,000 joins cost half a million messages, not 180,000)."""
        conn = link.conn
        conn.on_arrival = partial(self._after_read, link)
        if conn.state is _WS_CLOSED:
            self._after_read(link)
        else:
            self._activity.wake()

    def _connection_failed(self, exc: BaseException) -> None:
        """A client's connection attempt failed: ``connection_error`` says why and
        the next ``poll()`` finds the peer DISCONNECTED."""
        self._connection_error = exc
        self._inbox.stage_disconnected(TARGET_PEER_SERVER)
        self._activity.wake()

    @staticmethod
    def _check_greeting(greeting: Greeting) -> Greeting:
        """``greeting``, if the message limit it announces leaves room for packets.

        Raises:
            ProtocolError: It does not.
        """
        size = greeting.max_message_size
        if size is not None and size < MIN_MESSAGE_SIZE:
            raise ProtocolError(f"max_message_size {size} is below the minimum {MIN_MESSAGE_SIZE}")
        return greeting

    def _after_read(self, link: Link) -> None:
        """A read from ``link`` was handled (or its state changed): take in what it
        staged, and report the end of the connection if it ended."""
        conn = link.conn
        if conn.state is _WS_CLOSED:
            self._untrack(conn)
            conn.sink = conn.on_arrival = None
            if link.state is OPEN and link.conn is conn:
                if link.replay is None or not link.lost() or not self._link_lost(link):
                    link.log_close(self._inbound_buffer_size)
                    if self._unique_id != TARGET_PEER_SERVER:
                        # A room server's reason (its room gone: 4106) is the client's.
                        self._connection_error = link.room_error() or self._connection_error
                    self._forget_link(link, notify=True)
        self._after_data()

    def _receive(self, link: Link, message: bytes, text: bool) -> None:
        """Stage the packets of a message from ``link`` (``_after_data`` wakes the
        waiters, once per read)."""
        if link.state is CLOSED:
            return  # dropped locally; the rest is ignored until the close completes
        if text:
            reason = "sent a text message; only binary is allowed"
            self._fail_link(link, CLOSE_UNSUPPORTED_DATA, reason)
            return
        try:
            packets = self._decode(message)
        except ProtocolError as exc:
            self._fail_link(link, CLOSE_PROTOCOL_ERROR, str(exc))
            return
        link.counts.received(len(message), len(packets))
        peer_id = link.peer_id
        stage = self._inbox.stage_packet
        for data in packets:
            stage(Packet(peer_id, data))
        if link.holder is None and self._inbox.pending(peer_id) > self._max_queued_packets:
            link.conn.hold_reading()
            link.holder = self._spawn(hold_reading(self, link))

    # Closing links.

    def _end_link(self, peer_id: int, *, notify: bool, kick_reason: str | None = None) -> None:
        link = self._links.get(peer_id)
        if link is None:
            return  # it left already; its leave is staged
        if kick_reason is not None:
            self._close_link(link, CLOSE_POLICY_VIOLATION, kick_reason, notify=notify)
            return
        reason = "disconnected by the server" if self.is_server() else "disconnected"
        self._close_link(link, CLOSE_NORMAL, reason, notify=notify, graceful=True)

    def _close_every_link(self, code: int) -> None:
        """Close every link, each after sending what was put for it, with no event."""
        for link in list(self._links.values()):
            self._close_link(link, code, "closing", notify=False, graceful=True)

    def _fail_link(self, link: Link, code: int, reason: str) -> None:
        logger.warning("peer %d: %s; closing with %d", link.peer_id, reason, code)
        self._close_link(link, code, reason, notify=True)

    def _close_link(
        self, link: Link, code: int, reason: str, *, notify: bool, graceful: bool = False
    ) -> None:
        """Forget ``link`` now and close its socket in the background.

        A graceful close first sends what was put for the peer, so that
        ``put_packet(goodbye); close()`` delivers the goodbye.
        """
        unsent = link.take_unsent(self._encode) if graceful else []
        self._forget_link(link, notify=notify)
        self._close_socket(link, unsent, code, fit_close_reason(reason))

    def _close_socket(self, link: Link, unsent: list[bytes], code: int, reason: str) -> None:
        """Send ``unsent`` and close the socket of a link forgotten already: on the
        event loop's thread, where a peer shared with another thread defers it."""
        link.send_and_close(unsent, code, reason)

    def _forget_link(self, link: Link, *, notify: bool) -> None:
        if link.state is CLOSED:
            return
        link.end()
        self._sessions.forget(link)
        if self._links.get(link.peer_id) is link:
            del self._links[link.peer_id]
            self._gone.add(link.counts)
        if notify:
            self._inbox.stage_disconnected(link.peer_id)
            self._activity.wake()

    # Bookkeeping.

    def _reset(self, keep_packets: bool = False) -> None:
        super()._reset(keep_packets)
        for link in self._links.values():  # (kept for get_stats until the next start)
            self._gone.add(link.counts)
        self._links.clear()
        self._flush_pending.clear()
        self._sessions.clear()
        self._loop = None

    def _link(self, peer_id: int) -> Link:
        self._check_known(peer_id)
        link = self._links.get(peer_id)
        if link is None:
            raise PeerNotFound(peer_id)  # it has left; poll() will report it
        return link

    def _spawn(self, coroutine: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("internal task failed: %r", task, exc_info=task.exception())

    async def _wait_all_closed(self) -> None:
        """Wait until every connection and task of this peer has ended (after ``close()``)."""
        while self._tasks or not self._all_closed.is_set():
            if self._tasks:
                # asyncio.wait, not gather: cancelling this wait must not cancel the tasks
                await asyncio.wait(set(self._tasks))
            else:
                await self._all_closed.wait()
