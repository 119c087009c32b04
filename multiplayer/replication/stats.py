"""``PeerStats``: state traffic with one peer, as Godot's network profiler counts it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PeerStats"]


@dataclass(slots=True)
class PeerStats:
    """State traffic with one peer (what Godot's network profiler shows)."""

    bytes_sent: int = 0
    bytes_received: int = 0
    packets_sent: int = 0
    packets_received: int = 0
