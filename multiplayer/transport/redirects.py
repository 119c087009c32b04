"""Redirects: a server that sends a client on to another address at its handshake.

A server may answer a WebSocket request with an HTTP redirect (RFC 9110 15.4: a
3xx status and a ``Location``) instead of the 101. A browser's WebSocket and
Godot's ``WebSocketPeer`` fail on it, so a server redirects only a client that
said it follows (:data:`FOLLOW_HEADER` in its request); the others it serves
itself (a room server of a cluster forwards them, docs/scaling.md). This
library's clients say so, and follow up to :data:`MAX_REDIRECTS` hops within
their ``handshake_timeout``; never from ``wss://`` down to ``ws://``. As websockets'
``connect()`` does, a hop to another host does not carry the credentials of the
first request (:data:`CREDENTIALS`): a server that redirects cannot hand them to a
third party.

The redirect may carry headers for the next request (:data:`CARRIED_HEADERS`: a
room cluster's signed ticket, which says what was decided already). Plain
synchronous code: it reads a response, it makes no connection.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

__all__ = [
    "CARRIED_HEADERS",
    "CREDENTIALS",
    "FOLLOWS",
    "FOLLOW_HEADER",
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "Redirected",
    "redirect_of",
]

FOLLOW_HEADER = "Multiplayer-Follow-Redirects"
"""The request header of a client that follows redirects (its value: ``1``)."""
MAX_REDIRECTS = 3
"""Hops a client follows for one connection (then the redirect is its error)."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CARRIED_HEADERS = ("Multiplayer-Ticket",)
"""Headers of a redirect that the client sends with its next request."""
CREDENTIALS = ("Authorization", "Cookie", "Proxy-Authorization")
"""Headers of the client's own that a hop to another host leaves out."""


FOLLOWS = ((FOLLOW_HEADER, "1"),)
"""The header a client that follows redirects adds to its requests."""


class Redirected(ConnectionError):
    """The server sent the client on to ``url`` (with ``headers`` for its request);
    ``same_host``: to the host of the URL it was asked for (another port, say)."""

    def __init__(
        self, url: str, headers: tuple[tuple[str, str], ...] = (), same_host: bool = True
    ) -> None:
        super().__init__(f"the server redirected the connection to {url}")
        self.url = url
        self.headers = headers
        self.same_host = same_host


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
    asked = urllib.parse.urlsplit(_as_http(url))
    try:
        target = urllib.parse.urlsplit(urllib.parse.urljoin(asked.geturl(), location.strip()))
        host = target.hostname
    except ValueError:
        host = None
    schemes = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
    scheme = schemes.get(target.scheme.lower()) if host else None
    if scheme is None:
        return ConnectionError(f"the server redirected the connection to {location[:100]!r}")
    if asked.scheme.lower() == "https" and scheme == "ws":
        return ConnectionError(f"the server redirected a wss:// connection to {location!r}")
    carried = tuple(
        (name, found[name.lower()]) for name in CARRIED_HEADERS if name.lower() in found
    )
    same_host = host == asked.hostname
    return Redirected(target._replace(scheme=scheme).geturl(), carried, same_host)


def _as_http(url: str) -> str:
    """``url`` with an http(s) scheme (urljoin knows how to resolve those); no
    scheme is ``ws://``, as for ``connect_to_url``."""
    url = url if "://" in url else "ws://" + url
    scheme, _, rest = url.partition("://")
    return {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme) + "://" + rest
