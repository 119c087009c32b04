"""The cost of checking RPC arguments against type hints.

Measures the whole receive path of a call (in memory, no sockets) and the type
check alone, and prints what share of a received call's cost the check is. (Timing
the receive loop with validation on and off gives the same answer, drowned in the
machine's noise.)
"""

from __future__ import annotations

import statistics
import time
import timeit

from multiplayer import Node, SceneTree, Vector2, rpc
from multiplayer.scene_multiplayer.arguments import function_of, signature_of
from multiplayer.testing import MemoryNetwork

CALLS = 20_000


class Target(Node):
    def __init__(self) -> None:
        super().__init__("Target")
        self.count = 0

    @rpc("any_peer")
    def typed(self, n: int, where: Vector2, tags: list[str]) -> None:
        self.count += 1


def rate(validate: bool) -> float:
    network = MemoryNetwork()
    trees = [SceneTree(), SceneTree()]
    trees[0].get_multiplayer().multiplayer_peer = network.create_server()
    trees[1].get_multiplayer().multiplayer_peer = network.create_client()
    targets = [Target(), Target()]
    for tree, target in zip(trees, targets, strict=True):
        api = tree.get_multiplayer()
        api.validate_arguments = validate
        api.ping_interval = 0
        api.rate_limits.packets_per_second = 0  # a benchmark floods on purpose
        api.rate_limits.bytes_per_second = 0
        api.rate_limits.cpu_per_second = 0
        tree.root.add_child(target)
    for _ in range(2):
        for tree in trees:
            tree.process(0)
    sender = targets[1]
    args = (Vector2(1.5, 2.5), ["a", "b"])
    for i in range(CALLS):
        sender.typed.rpc_id(1, i, *args)
    start = time.perf_counter()
    trees[0].process(0)  # receive, check and run every call
    elapsed = time.perf_counter() - start
    assert targets[0].count == CALLS
    return CALLS / elapsed


def main() -> None:
    # The whole receive path, with validation off (the median of interleaved rounds)...
    receive = statistics.median(1 / rate(False) for _ in range(9))
    # ...and the check alone, timed in isolation (the minimum is the least noisy).
    target = Target()
    signature = signature_of(function_of(target, "typed"))
    args = [7, Vector2(1.5, 2.5), ["a", "b"]]
    assert signature.type_error(args) is None
    check = min(timeit.repeat(lambda: signature.type_error(args), number=20_000, repeat=7))
    check /= 20_000
    print(f"receive and run one call:   {receive * 1e6:7.2f} us")
    print(f"check its three arguments:  {check * 1e6:7.2f} us")
    print(f"validation adds {100 * check / receive:.1f}% to the cost of a received call")


if __name__ == "__main__":
    main()
