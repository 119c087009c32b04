"""RPCs: sending calls and running the calls that arrive (Godot's SceneRPCInterface).

A call names its node and method by the ids of the path cache, so that after the
first call to a peer it costs a few bytes (Godot's ``_send_rpc``: 6 for a cached
call with one small int; here 5). It is checked on the
receiver against the receiver's own configuration and authority (Godot's
``_process_rpc``): the method must be an RPC there, the sender allowed by its mode,
the arguments as many as the method takes and, when annotated, of the annotated
types. A refused call runs nothing and is logged once per kind, naming the peer.

Awaited calls (``rpc_call``, not in Godot) travel as REQUEST and come back as a
RESPONSE carrying the result, the error's type and message (never its traceback),
or the reason for a refusal.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import EncodingError, InvalidState, PacketTooLarge, ProfileError, RemoteError
from ..protocol.messages import RemoteCall, Request, Response, Status
from ..scene.rpc import RPCConfig, RPCMode
from ..transport.peer import TransferMode
from .arguments import check_call, function_of, handler_of
from .refusals import Refusal

if TYPE_CHECKING:
    from ..protocol.format import PacketFormat
    from ..replication.replicator import SceneReplicator
    from ..scene.node import Node
    from .cache import PathCache
    from .handlers import HandlerRunner
    from .refusals import Referee
    from .relay import ServerRelay
    from .scene_multiplayer import SceneMultiplayer
    from .session import PeerSession, SessionTable

__all__ = ["RPCInterface"]

logger = logging.getLogger("multiplayer.scene")

_RELIABLE = TransferMode.RELIABLE


class RPCInterface:
    """Sends one API's RPCs and runs those it receives."""

    def __init__(
        self,
        api: SceneMultiplayer,
        sessions: SessionTable,
        relay: ServerRelay,
        cache: PathCache,
        handlers: HandlerRunner,
        replicator: SceneReplicator,
        referee: Referee,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._relay = relay
        self._cache = cache
        self._handlers = handlers
        self._replicator = replicator
        self._referee = referee
        self.bind(relay.format)

    def bind(self, packet_format: PacketFormat) -> None:
        """Encode calls with ``packet_format`` (its fast paths, looked up once here)."""
        self._format = packet_format
        self._pack_args = packet_format.pack_args
        self._encode_call = packet_format.encode_call
        self._encode_request = packet_format.encode_request
        self._inline_paths = packet_format.inline_paths

    # Sending.

    def rpc(self, peer_id: int, node: Node, method: str, args: Sequence[Any]) -> None:
        """See :meth:`SceneMultiplayer.rpc`."""
        config = _config_for(node, method)
        own_id = self._relay.check_send(peer_id, "call RPC", method)
        if peer_id == own_id and not config.call_local:
            raise ValueError(f"RPC {method!r} on yourself is not allowed by selected mode")
        check_call(node, method, args, types=self._api.validate_arguments)
        replicator = self._replicator
        if peer_id > 0 and peer_id != own_id and not replicator.active():
            self._send([peer_id], node, method, args, config)  # the usual case, direct
        else:
            targets = self._relay.targets(peer_id, own_id)
            if replicator.active():
                targets = self._visible(node, peer_id, targets)
            if targets:
                send = functools.partial(self._send, targets, node, method, args, config)
                if not replicator.hold_rpc(node, send):
                    send()
        # Godot's order: the local call runs after sending, synchronously.
        if config.call_local and (
            peer_id == 0 or peer_id == own_id or (peer_id < 0 and peer_id != -own_id)
        ):
            handlers = self._handlers
            what = _describe_call(node, method)
            handlers.run(own_id, handlers.local_tasks, what, function_of(node, method), args)

    def _visible(self, node: Node, peer_id: int, targets: list[int]) -> list[int]:
        """Broadcasts skip peers that cannot see ``node``; an explicit target that
        cannot see it raises (Godot: "a peer that cannot see this node")."""
        visible = [p for p in targets if self._replicator.rpc_visible(node, p)]
        if peer_id > 0 and not visible and targets:
            raise InvalidState(f"peer {peer_id} cannot see {node._describe()}")
        return visible

    def _send(
        self, targets: list[int], node: Node, method: str, args: Sequence[Any], config: RPCConfig
    ) -> None:
        packed = self._pack_args(args, allow_objects=self._api.allow_object_decoding)
        relay, mode, channel = self._relay, config.transfer_mode, config.channel
        if len(targets) > 1 and relay.is_server:
            # A broadcast from the server: the ids are ours, the same for every peer
            # (each told them first if new to it), so one packet goes to all at once.
            leaving = self._sessions.leaving
            direct = [t for t in targets if t not in leaving] if leaving else targets
            if direct:
                path_id, name_id = self._cache.announce(direct, node, method)
                call = self._encode_call(path_id, name_id, packed, len(args))
                late = self._cache.unconfirmed(path_id, direct) if self._inline_paths else None
                if late:
                    # (Godot's profile) those who have not confirmed the id get the
                    # path, and the others the id in 32 bits (Godot's _send_rpc).
                    inline = self._call_by_path(node, name_id, packed, len(args))
                    relay.write(late, inline, mode, channel)
                    direct = [t for t in direct if t not in late]
                    argc = len(args)
                    call = self._format.encode_call(path_id, name_id, packed, argc, wide=True)
                if direct:
                    relay.write(direct, call, mode, channel)
            return
        # Godot's SceneRPCInterface: one send per target, the ids defined first.
        call = b""
        for target in targets:
            path_id, name_id = self._cache.announce([target], node, method)
            if self._inline_paths and self._cache.unconfirmed(path_id, [target]):
                packet = self._call_by_path(node, name_id, packed, len(args))
            else:
                packet = call = call or self._encode_call(path_id, name_id, packed, len(args))
            relay.route(target, packet, mode, channel)

    def _call_by_path(self, node: Node, name_id: int, packed: bytes, argc: int) -> bytes:
        return self._format.encode_call(0, name_id, packed, argc, self._cache.wire_path(node))

    async def rpc_call(
        self, peer_id: int, node: Node, method: str, args: Sequence[Any], timeout: float | None
    ) -> Any:
        """See :meth:`SceneMultiplayer.rpc_call`."""
        if not self._format.awaitable_calls:
            hint = "Godot's protocol has no answers to calls; answer with an rpc back"
            raise ProfileError("rpc_call()", self._format.name, hint)
        config = _config_for(node, method)
        own_id = self._relay.check_send(peer_id, "rpc_call", method)
        if peer_id == own_id:
            if not config.call_local:
                raise ValueError(f"RPC {method!r} on yourself is not allowed by selected mode")
            check_call(node, method, args, types=self._api.validate_arguments)
            return await self._call_here(own_id, node, method, args)
        if peer_id <= 0:
            raise ValueError("rpc_call needs one peer id (> 0): a call has one answer")
        check_call(node, method, args, types=self._api.validate_arguments)
        session = self._sessions.admitted[peer_id]
        limit = self._api.rpc_timeout if timeout is None else timeout
        request_id, future = session.calls.open()
        try:
            path_id, name_id = self._cache.announce([peer_id], node, method)
            packed = self._pack_args(args, allow_objects=self._api.allow_object_decoding)
            request = self._encode_request(request_id, path_id, name_id, packed, len(args))
            self._relay.route(peer_id, request, _RELIABLE, 0)
            async with asyncio.timeout(limit) as bound:
                session.calls.watch(request_id, bound)
                return await future
        except TimeoutError:
            raise TimeoutError(
                f"no answer from peer {peer_id} to {method!r} within {limit} s"
            ) from None
        finally:
            session.calls.close(request_id)

    async def _call_here(self, own_id: int, node: Node, method: str, args: Sequence[Any]) -> Any:
        local: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def settle(status: Status, value: Any) -> None:
            if not local.done():
                if status is Status.OK:
                    local.set_result(value)
                else:
                    local.set_exception(RemoteError(own_id, *_error(value)))

        handlers = self._handlers
        function = function_of(node, method)
        handlers.run(own_id, handlers.local_tasks, f"RPC {method!r}", function, args, settle)
        return await local

    # Receiving.

    def on_call(self, session: PeerSession, call: RemoteCall) -> None:
        node, method, function = self._check(
            session, call.path_id, call.name_id, call.args, call.path
        )
        what = _describe_call(node, method)
        if not self._handlers.run(session.peer_id, session.tasks, what, function, call.args):
            raise Refusal(("busy",), f"{what()}: too many calls in progress")

    def on_request(self, session: PeerSession, request: Request) -> None:
        try:
            node, method, function = self._check(
                session, request.path_id, request.name_id, request.args
            )
        except Refusal as refusal:
            self._referee.judge(session.peer_id, refusal)
            self._respond(session, request.request_id, Status.REFUSED, refusal.reason)
            return

        def reply(status: Status, value: Any) -> None:
            self._respond(session, request.request_id, status, value)

        what = _describe_call(node, method)
        self._handlers.run(session.peer_id, session.tasks, what, function, request.args, reply)

    def on_response(self, session: PeerSession, response: Response) -> None:
        settled = session.calls.answer(response)
        if settled is None:
            logger.debug("late answer from peer %d (the call timed out)", session.peer_id)
        elif not settled:
            raise Refusal(("response",), "answer to a call that was never made")

    def _respond(self, session: PeerSession, request_id: int, status: Status, value: Any) -> None:
        if self._sessions.admitted.get(session.peer_id) is not session or session.leaving:
            return  # it left: nobody is waiting any more
        encode, to = self._relay.format.encode, session.peer_id
        try:
            self._relay.route(to, encode(Response(request_id, status, value)), _RELIABLE, 0)
        except (EncodingError, PacketTooLarge) as exc:
            logger.warning("the result for peer %d cannot be sent: %s", to, exc)
            error = ["EncodingError", f"the result cannot be sent: {exc}"]
            self._relay.route(to, encode(Response(request_id, Status.ERROR, error)), _RELIABLE, 0)

    def _check(
        self,
        session: PeerSession,
        path_id: int,
        name_id: int,
        args: Sequence[Any],
        inline_path: str | None = None,
    ) -> tuple[Node, str, Callable[..., Any]]:
        """The node, method and function a call from ``session``'s peer may run.

        Raises:
            Refusal: It may not run (an unknown id or node, not an RPC there, not
                allowed to this sender, wrong arguments).
        """
        node, path, method = self._cache.call_target(session, path_id, name_id, inline_path)
        config = node.get_rpc_config(method)
        if config is None:
            reason = f"RPC {method!r} on {path!r}: not an RPC method"
            raise Refusal(("call", path, method), reason)
        if not _allowed(session.peer_id, node, config):
            mode, authority = config.rpc_mode.name, node.get_multiplayer_authority()
            reason = (
                f"RPC {method!r} is not allowed on node {path!r}: mode is {mode}, "
                f"authority is {authority}"
            )
            raise Refusal(("call", path, method), reason)
        function, signature = handler_of(node, method)
        error = signature.count_error(len(args))
        if error is None and self._api.validate_arguments:
            error = signature.type_error(args)
        if error is not None:
            raise Refusal(("args", method), f"RPC {method!r} on {path!r}: {error}")
        return node, method, function


def _config_for(node: Node, method: str) -> RPCConfig:
    config = node.get_rpc_config(method)
    if config is None:
        raise ValueError(
            f"Unable to get the RPC configuration for the function {method!r} at path "
            f"{node._describe()}: it is missing or not marked with @rpc / rpc_config"
        )
    return config


def _allowed(sender: int, node: Node, config: RPCConfig) -> bool:
    """Godot's ``_can_call``: any peer, the node's authority, or nobody (disabled)."""
    if config.rpc_mode is RPCMode.ANY_PEER:
        return True
    if config.rpc_mode is RPCMode.AUTHORITY:
        return sender == node.get_multiplayer_authority()
    return False


def _error(value: Any) -> tuple[str, str]:
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]), str(value[1])
    return "RPCRefused", str(value)


def _describe_call(node: Node, method: str) -> Callable[[], str]:
    """What a call is, for a log line, made only if a line is written."""
    return lambda: f"RPC {method!r} on {node._describe()}"
