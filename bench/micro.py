"""In-process microbenchmarks of the hot path (no sockets): print ns per operation.

    python bench/micro.py [--n 100000] [--repeat 5]

Which build runs is printed first (compiled modules end in .so).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parent.parent))  # (after PYTHONPATH)

from multiplayer import Node, SceneTree, Vector2, rpc
from multiplayer.protocol.godot.format import GodotFormat
from multiplayer.protocol.messages import RemoteCall
from multiplayer.protocol.native.codec import Codec
from multiplayer.protocol.native.format import NativeFormat
from multiplayer.testing import MemoryNetwork
from multiplayer.transport.framing.native import NativeFraming

ARGS: list[Any] = [7, 2.5, "hello", Vector2(1.0, 2.0)]


def best(fn: Callable[[], None], n: int, repeat: int) -> float:
    """The best of ``repeat`` runs of ``n`` calls, in ns per call."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        times.append((time.perf_counter_ns() - start) / n)
    return min(times)


class Target(Node):
    def __init__(self) -> None:
        super().__init__("Target")
        self.got = 0

    @rpc("any_peer")
    def hit(self, a: int, b: float, c: str, d: Vector2) -> None:
        self.got += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    n, repeat = options.n, options.repeat

    import multiplayer.protocol.native.codec as codec_module

    print("build:", "compiled" if not codec_module.__file__.endswith(".py") else "pure", flush=True)
    codec = Codec()
    native = NativeFormat(codec)
    godot = GodotFormat(codec)
    framing = NativeFraming()

    packed = native.pack_args(ARGS, allow_objects=False)
    packet = native.encode_call(3, 1, packed, len(ARGS))
    message = RemoteCall(3, 1, ARGS)
    gpacket = godot.encode(message)
    assert native.decode(packet, allow_objects=False) == message
    messages = framing.encode([packet] * 8, 1 << 20)

    results: dict[str, float] = {}

    def native_encode() -> None:
        native.encode_call(3, 1, native.pack_args(ARGS, allow_objects=False), 4)

    def native_decode() -> None:
        native.decode(packet, allow_objects=False)

    def native_message_encode() -> None:
        native.encode(message)

    def godot_encode() -> None:
        godot.encode(message)

    def godot_decode() -> None:
        godot.decode(gpacket, allow_objects=False)

    def framing_batch() -> None:
        framing.decode(framing.encode([packet] * 8, 1 << 20)[0])

    for name, fn in [
        ("native encode call (pack_args + encode_call)", native_encode),
        ("native encode RemoteCall message", native_message_encode),
        ("native decode call", native_decode),
        ("godot encode RemoteCall", godot_encode),
        ("godot decode RemoteCall", godot_decode),
        ("native framing: batch of 8, encode + decode", framing_batch),
    ]:
        results[name] = best(fn, n, repeat)
    assert messages

    # The whole RPC path in process: client rpc_id -> memory peer -> server poll ->
    # reader -> cache -> rpc_interface -> the method.
    network = MemoryNetwork()
    trees = []
    for peer in (network.create_server(), network.create_client()):
        tree = SceneTree()
        api = tree.get_multiplayer()
        api.ping_interval = 0
        api.rate_limits.packets_per_second = 1e12  # a benchmark floods on purpose
        api.rate_limits.bytes_per_second = 1e12
        api.rate_limits.cpu_per_second = 1e12
        api.multiplayer_peer = peer
        tree.root.add_child(Target())
        trees.append(tree)
    for _ in range(4):
        for tree in trees:
            tree.process(0.0)
    client_node = trees[1].root.get_node("Target")
    server_node = trees[0].root.get_node("Target")
    batch = 100

    def rpc_batch() -> None:
        for _ in range(batch):
            client_node.hit.rpc_id(1, 7, 2.5, "hello", ARGS[3])
        trees[1].process(0.0)
        trees[0].process(0.0)

    rpc_batch()
    got = server_node.got
    results["in-process RPC, 100 per frame (per call)"] = (
        best(rpc_batch, max(n // batch // 10, 10), repeat) / batch
    )
    assert server_node.got > got

    for name, ns in results.items():
        print(f"{name:50s} {ns:10.0f} ns")


if __name__ == "__main__":
    main()
