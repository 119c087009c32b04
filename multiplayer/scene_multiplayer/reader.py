"""Reading what arrived: each packet through its sender's budgets, then decoded and
handed to the part that reads its message (the loop of Godot's ``poll()`` over
``_process_packet``).

A packet from a peer that is being disconnected is not read. On the server, one over
its sender's rate is dropped, and so is one from a sender over its time budget, each
a violation (see :mod:`.limits`); the time every other packet takes, decoding and
dispatching but not the application's handlers, is charged to its sender, and once
a sender's packets had their share of this poll the reading stops: what is left
waits for the next poll. A full garbage collection that runs while a packet is read
is not charged to its sender either: it is the whole process's (one took 121 ms in
a soak run, and put an honest peer over its budget at once). A packet that is
refused is judged by the :class:`~.refusals.Referee`; a reply the transport refused
is noted, not counted; a bug of ours is logged with its traceback, and the reading
goes on.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import TYPE_CHECKING, Any

from ..exceptions import DecodingError, InvalidState, PacketTooLarge, PeerNotFound
from ..protocol.messages import RemoteCall
from .limits import OVER_BUDGET
from .refusals import Refusal

if TYPE_CHECKING:
    from ..transport.peer import MultiplayerPeer
    from .handlers import HandlerRunner
    from .refusals import Referee
    from .relay import ServerRelay
    from .scene_multiplayer import SceneMultiplayer
    from .session import SessionTable

__all__ = ["PacketReader", "full_collections"]

logger = logging.getLogger("multiplayer.scene")


class _FullCollections:
    """The seconds this process has spent in full (generation 2) garbage
    collections: heap-wide work that no one packet caused. (The young generations
    are collected in proportion to what was just allocated, a packet's own cost.)"""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self.seconds += time.perf_counter() - self._started
            self._started = 0.0


full_collections = _FullCollections()
gc.callbacks.append(full_collections)


class PacketReader:
    """Drains an API's multiplayer peer, packet by packet.

    Args:
        api: The API: its settings (``allow_object_decoding``), its parts for
            authentication and calls, and its ``_dispatch`` for the other messages.
        sessions: The peers it knows.
        relay: Its sender, which knows the packet format and this side's role.
        referee: Judges refused packets, and the peers over their time budget.
        handlers: Runs the application's handlers, and adds up their time.
    """

    def __init__(
        self,
        api: SceneMultiplayer,
        sessions: SessionTable,
        relay: ServerRelay,
        referee: Referee,
        handlers: HandlerRunner,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._relay = relay
        self._referee = referee
        self._handlers = handlers
        self._drains = 0  # (numbers the polls, for the senders' shares of one)

    def drain(self, peer: MultiplayerPeer) -> bool:
        """Read the packets that arrived; False if it stopped before the end (a
        sender had its share of this poll's time)."""
        # Read once per drain: what stays the same while the packets are read. (A
        # client does not limit the server: the server limits each sender.)
        api, relay, referee = self._api, self._relay, self._referee
        sessions, decode = self._sessions.all, relay.format.decode
        on_call, on_auth, dispatch = api._rpc.on_call, api._auth.on_packet, api._dispatch
        refuse, judge, note = referee.refuse, referee.judge, api._refusals.note
        limits_on = relay.is_server and self._sessions.limits.active()
        timed = relay.is_server and self._sessions.limits.cpu_per_second > 0
        clock, handlers, collections = time.perf_counter, self._handlers, full_collections
        start = handled = collected = 0.0
        self._drains = drain = self._drains + 1
        while peer.get_available_packet_count():
            sender, data, relay.mode, relay.channel = peer._take_packet()
            session = sessions.get(sender)
            if session is None:
                logger.debug("dropped a packet from %d, which is not connected", sender)
                continue
            if session.kicked:
                continue  # being disconnected for misbehaving: the rest is not read
            if limits_on and not session.budget.allow(len(data), time.monotonic()):
                refuse(sender, ("rate",), "over its rate limit: packet dropped")
                continue
            if timed:  # (the time of the application's handlers is not the peer's)
                start, handled = clock(), handlers.handler_time
                collected = collections.seconds
                if session.budget.throttled and not session.budget.recovered(start):
                    refuse(sender, ("time",), "over its time budget: packet dropped")
                    continue
            try:
                if session.auth is not None:
                    on_auth(session, data)
                else:
                    try:
                        message = decode(data, allow_objects=api.allow_object_decoding)
                    except DecodingError as exc:
                        reason = f"malformed packet: {exc}"
                        raise Refusal(("bad packet", str(exc)), reason) from None
                    if type(message) is RemoteCall:  # the hot path, one step shorter
                        on_call(session, message)
                    else:
                        dispatch(session, message, len(data))
            except Refusal as refusal:
                judge(sender, refusal)
            except (PacketTooLarge, PeerNotFound, InvalidState) as exc:
                # A reply the transport refused (a peer left meanwhile, a size limit):
                # logged, but no fault of the sender, so not counted against it.
                note(sender, ("reply failed",), f"could not answer its packet: {exc}")
            except Exception:  # a bug of ours: logged with its traceback, poll() goes on
                logger.exception("internal error on a packet from peer %d", sender)
            if peer is not relay.peer:
                return True  # a handler replaced the peer: stop reading the old one
            if timed:
                spent = clock() - start - (handlers.handler_time - handled)
                spent -= collections.seconds - collected
                verdict = session.budget.charge(spent, start, drain)
                if verdict:
                    if verdict == OVER_BUDGET:
                        referee.over_time_budget(sender)
                    return False  # the rest waits for the next poll
        return True
