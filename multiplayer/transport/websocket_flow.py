"""Flow control of a WebSocket peer's links: ``max_queued_packets`` coming in,
``outbound_buffer_size`` going out.

A peer whose packets arrive faster than the program takes them is read no more
until it catches up: TCP then slows the sender down, and an honest but eager
sender loses nothing. Only a peer that stays over the limit for
:data:`FLOOD_GRACE` seconds while the program keeps taking packets is a flooder,
and is disconnected (1008).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .close_codes import CLOSE_POLICY_VIOLATION
from .websocket_link import OPEN, Link

if TYPE_CHECKING:
    from .websocket_base import WebSocketPeerBase

__all__ = ["FLOOD_GRACE", "drop_slow_reader", "hold_reading"]

logger = logging.getLogger("multiplayer.websocket")

FLOOD_GRACE = 5.0
"""Seconds a peer may stay over ``max_queued_packets`` before it is disconnected."""


async def hold_reading(peer: WebSocketPeerBase, link: Link) -> None:
    """Keep reading from a peer paused while more than ``max_queued_packets`` of
    its packets are untaken: TCP then slows the sender down. A peer still over
    the limit after ``FLOOD_GRACE`` seconds is disconnected (1008): the program
    takes its packets, yet they keep coming faster.

    Unless the program has stopped taking any: a caller on another thread than
    the network's (a sync peer's) may stall, for a loading screen or at a
    breakpoint, and a peer that sent while it did has done nothing wrong. There
    the grace also waits for the caller to poll twice after it ran out (the
    first poll takes in what was held, the second comes after the frame that
    took it): reading stays paused, for as long as the caller is away."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FLOOD_GRACE
    polls_then: int | None = None  # the caller's polls as the grace ran out
    conn = link.conn
    try:
        while link.state is OPEN and link.conn is conn:
            if peer._inbox.pending(link.peer_id) <= peer.max_queued_packets:
                break
            if loop.time() > deadline:
                if polls_then is None:
                    polls_then = peer._poll_count
                if not peer._caller_may_stall or peer._poll_count - polls_then >= 2:
                    reason = (
                        f"more than max_queued_packets ({peer.max_queued_packets}) "
                        f"packets received and not taken for {FLOOD_GRACE} s"
                    )
                    peer._fail_link(link, CLOSE_POLICY_VIOLATION, reason)
                    return
            await asyncio.sleep(0.001)
    finally:
        link.holder = None
        # Read again, even from a link being closed: its close frame must be
        # read for the close to complete.
        conn.release_reading()


def drop_slow_reader(peer: WebSocketPeerBase, link: Link) -> None:
    """More than ``outbound_buffer_size`` bytes wait to be sent to ``link``'s peer:
    it is not reading; it is disconnected (1008), and the others keep receiving."""
    logger.warning(
        "peer %d: more than outbound_buffer_size (%d bytes) waiting to be sent; "
        "the peer is not reading: disconnecting it",
        link.peer_id,
        peer._outbound_buffer_size,
    )
    peer._close_link(link, CLOSE_POLICY_VIOLATION, "outbound buffer overflow", notify=True)
