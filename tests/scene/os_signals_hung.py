"""For test_os_signals.py: a tree whose first frame never ends. It prints "hung" from
inside that frame; its log (INFO, on stderr) says when a signal was taken."""

from __future__ import annotations

import asyncio
import logging
import threading

from multiplayer import Node, SceneTree


class Hangs(Node):
    def _process(self, delta: float) -> None:
        print("hung", flush=True)
        threading.Event().wait()  # for ever (a signal's handler runs meanwhile)


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    tree = SceneTree()
    tree.root.add_child(Hangs())
    await tree.run()


if __name__ == "__main__":
    asyncio.run(main())
