"""Compiles the hot path with mypyc when it can; installs plain Python when it cannot.

The compiled modules are the sans-I/O protocol (codecs, formats, messages), the
transport framings, and the RPC and replication paths (see ``COMPILED``). Everything
that touches asyncio, websockets or threads stays interpreted. The compiled build
behaves as the pure one: the test suite runs against both.

``MULTIPLAYER_MYPYC`` chooses:

- unset or ``auto``: compile when mypyc and a working C compiler are there, else pure
  Python. Editable installs (``pip install -e .``) stay pure: the ``.so`` files would
  sit next to the ``.py`` files and win the import, so edits would not show.
- ``1``: compile, and fail if that fails (CI, and editable installs that want it).
- ``0``: pure Python.

One line on stderr says which was built (``pip install -v`` shows it).
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED = [
    "multiplayer/protocol/commands.py",
    "multiplayer/protocol/format.py",
    "multiplayer/protocol/messages.py",
    "multiplayer/protocol/native/codec.py",
    "multiplayer/protocol/native/encode.py",
    "multiplayer/protocol/native/format.py",
    "multiplayer/protocol/godot/format.py",
    "multiplayer/protocol/godot/variant.py",
    "multiplayer/transport/framing/godot.py",
    "multiplayer/transport/framing/native.py",
    "multiplayer/scene_multiplayer/reader.py",
    "multiplayer/scene_multiplayer/relay.py",
    "multiplayer/scene_multiplayer/cache.py",
    "multiplayer/scene_multiplayer/calls.py",
    "multiplayer/scene_multiplayer/arguments.py",
    "multiplayer/scene_multiplayer/handlers.py",
    "multiplayer/scene_multiplayer/rpc_interface.py",
    "multiplayer/replication/sync_sender.py",
    "multiplayer/replication/sync_receiver.py",
    "multiplayer/replication/spawning.py",
    "multiplayer/replication/baselines.py",
]

# The runtime all the compiled modules share: one extension inside the package
# (mypyc's default is a top-level module named after a hash).
GROUP = "multiplayer._compiled"


def _say(what: str) -> None:
    print(f"pygodot-multiplayer: {what}", file=sys.stderr, flush=True)


def _mode() -> str:
    mode = os.environ.get("MULTIPLAYER_MYPYC", "auto").strip().lower() or "auto"
    if mode not in ("auto", "0", "1"):
        sys.exit(f"MULTIPLAYER_MYPYC must be auto, 0 or 1, not {mode!r}")
    if mode == "auto" and "editable_wheel" in sys.argv:
        return "0"
    return mode


class OptionalBuildExt(build_ext):
    """In ``auto`` mode a failed C build falls back to pure Python."""

    def run(self) -> None:
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as exc:
            if _mode() == "1":
                raise
            for ext in self.extensions:  # no half build: a shim without its runtime
                path = self.get_ext_fullpath(ext.name)
                if os.path.exists(path):
                    os.remove(path)
            self.extensions = []
            _say(f"pure Python (the C build failed: {exc})")
        else:
            _say(f"compiled with mypyc: {len(COMPILED)} modules")


# The commands that build: the others (egg_info, sdist, ...) skip mypyc's 10 s or so.
BUILDING = {"build", "build_ext", "bdist_wheel", "install", "develop", "editable_wheel"}


def _ext_modules() -> list[object]:
    if BUILDING.isdisjoint(sys.argv):
        return []
    mode = _mode()
    if mode == "0":
        _say("pure Python (MULTIPLAYER_MYPYC=0, or an editable install)")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        if mode == "1":
            raise
        _say("pure Python (mypyc is not installed)")
        return []
    try:
        # (Errors in the modules that stay interpreted do not stop the build: they may
        # import optional packages the build environment lacks.)
        options = ["--follow-imports=silent"]
        return list(mypycify(options + COMPILED, opt_level="3", group_name=GROUP))
    except (Exception, SystemExit) as exc:
        if mode == "1":
            raise
        _say(f"pure Python (mypyc failed: {exc})")
        return []


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
