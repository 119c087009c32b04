"""How packets are framed in WebSocket messages: one module per protocol profile.

:mod:`.base` defines the :class:`Framing` interface; each profile's framing is a
module of its own (:mod:`.native`, :mod:`.godot`) and is registered here by name, which is
what ``WebSocketMultiplayerPeer(protocol=...)`` looks up. Adding a profile is a new
module and one entry in :data:`FRAMINGS`; the peer itself does not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .base import Framing, Greeting
from .godot import GodotFraming
from .native import NativeFraming

__all__ = ["FRAMINGS", "Framing", "Greeting", "framing_for"]

FRAMINGS: Mapping[str, Framing] = MappingProxyType(
    {framing.name: framing for framing in (NativeFraming(), GodotFraming())}
)
"""Every known framing, by profile name."""


def framing_for(protocol: str) -> Framing:
    """The framing of the profile named ``protocol``.

    Raises:
        ValueError: No profile has that name (the message lists the known ones).
    """
    try:
        return FRAMINGS[protocol]
    except (KeyError, TypeError):
        known = ", ".join(repr(name) for name in FRAMINGS)
        raise ValueError(f"unknown protocol {protocol!r}; known protocols: {known}") from None
