"""Redirects: a server that sends a client on to another address at its handshake.

A server may answer a WebSocket request with an HTTP redirect (RFC 9110 15.4: a
3xx status and a ``Location``) instead of the 101. A browser's WebSocket and
Godot's ``WebSocketPeer`` fail on it, so a server redirects only a client that
said it follows (:data:`FOLLOW_HEADER` in its request); the others it serves
itself (a room server of a cluster forwards them, docs/scaling.md). This
library's clients say so, and follow up to :data:`MAX_REDIRECTS` hops within
their ``handshake_timeout``, as websockets' own ``connect()`` does; never from
``wss://`` down to ``ws://``.

The redirect may carry headers for the next request (:data:`CARRIED_HEADERS`: a
room cluster's signed ticket, which says what was decided already). Plain
synchronous code: it reads a response, it makes no connection.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

__all__ = [
    "CARRIED_HEADERS",
    "FOLLOW_HEADER",
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "Redirected",
    "follow_headers",
    "redirect_of",
]

FOLLOW_HEADER = "Multiplayer-Follow-Redirects"
"""The request header of a client that follows redirects (its value: ``1``)."""
MAX_REDIRECTS = 3
"""Hops a client follows for one connection (then the redirect is its error)."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CARRIED_HEADERS = ("Multiplayer-Ticket",)
"""Headers of a redirect that the client sends with its next request."""


def follow_headers(backend: str) -> tuple[tuple[str, str], ...]:
    """The headers a client of ``backend`` adds to its requests: it says it follows
    redirects if it can (with picows, a refused handshake tells no status)."""
    return ((FOLLOW_HEADER, "1"),) if backend == "websockets" else ()


class Redirected(ConnectionError):
    """The server sent the client on to ``url`` (with ``headers`` for its request)."""

    def __init__(self, url: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"the server redirected the connection to {url}")
        self.url = url
        self.headers = headers


def redirect_of(
    url: str, status: int, headers: Iterable[tuple[str, str]]
) -> Redirected | ConnectionError | None:
    """What a handshake's response to a request for ``url`` asks: a
    :class:`Redirected` to follow, a ConnectionError if it is a redirect that must
    not be followed, or None if it is no redirect."""
    if status not in REDIRECT_STATUSES:
        return None
    found = {name.lower(): value for name, value in headers}
    location = found.get("location", "")
    if not location:
        return ConnectionError(f"the server answered {status} with no Location")
    target = urllib.parse.urljoin(_as_http(url), location.strip())
    scheme = urllib.parse.urlsplit(target).scheme
    target = {"http": "ws", "https": "wss"}.get(scheme, scheme) + target[len(scheme) :]
    if not target.startswith(("ws://", "wss://")):
        return ConnectionError(f"the server redirected the connection to {location!r}")
    if _as_http(url).startswith("https://") and target.startswith("ws://"):
        return ConnectionError(f"the server redirected a wss:// connection to {target}")
    carried = tuple(
        (name, found[name.lower()]) for name in CARRIED_HEADERS if name.lower() in found
    )
    return Redirected(target, carried)


def _as_http(url: str) -> str:
    """``url`` with an http(s) scheme (urljoin knows how to resolve those); no
    scheme is ``ws://``, as for ``connect_to_url``."""
    url = url if "://" in url else "ws://" + url
    for ws, http in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(ws):
            return http + url[len(ws) :]
    return url
