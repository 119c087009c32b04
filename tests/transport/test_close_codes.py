"""Tests for :mod:`multiplayer.transport.close_codes`: every code a peer sends is in
the protocol's table, with the number it has on the wire."""

from __future__ import annotations

import re
from pathlib import Path

from multiplayer.transport import close_codes, websocket_multiplayer_peer

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_every_close_code_is_documented() -> None:
    table = set(re.findall(r"^\| (\d{4}) \|", DOC.read_text(), re.M))
    codes = {getattr(close_codes, n) for n in close_codes.__all__ if n.startswith("CLOSE_")}
    assert {str(code) for code in codes} <= table
    assert close_codes.CLOSE_RESUME_REFUSED == 4001  # (private use: RFC 6455 §7.4.2)


def test_the_peer_module_still_exports_them() -> None:
    """Programs import the codes from where the peer is (as before this module);
    a room server's (4100 and up) are the rooms package's to export."""
    for name in close_codes.__all__:
        if not name.startswith("CLOSE_") or getattr(close_codes, name) >= 4100:
            continue
        assert getattr(websocket_multiplayer_peer, name) == getattr(close_codes, name)
