"""SIGINT and SIGTERM end tree.run() cleanly: no traceback, peers closed with 1001,
the previous handlers back, exit status 0."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from multiplayer import SceneTree, WebSocketMultiplayerPeer
from multiplayer.scene import os_signals

SERVER = Path(__file__).with_name("os_signals_server.py")
HUNG = Path(__file__).with_name("os_signals_hung.py")
LOGGED, AGAIN = "multiplayer.scene: ", " (Ctrl+C again interrupts it)"
STOP = [signal.SIGINT, signal.SIGTERM]


def raise_at_first_frame(tree: SceneTree, signum: int) -> None:
    tree.process_frame.connect(lambda: signal.raise_signal(signum), one_shot=True)


@pytest.mark.parametrize("signum", STOP, ids=["SIGINT", "SIGTERM"])
async def test_a_signal_ends_run_and_restores_the_handlers(signum: int) -> None:
    """In process: the signal makes run() return (no KeyboardInterrupt); the handlers
    that were there before are back."""
    before = {s: signal.getsignal(s) for s in STOP}
    tree = SceneTree()
    raise_at_first_frame(tree, signum)
    await asyncio.wait_for(tree.run(fps=100), 5)
    assert tree._stop_signal == signum
    assert {s: signal.getsignal(s) for s in STOP} == before


async def test_every_running_tree_stops() -> None:
    """Two trees run at once: one signal stops both; the handlers return after the last."""
    before = signal.getsignal(signal.SIGTERM)
    one, two = SceneTree(), SceneTree()
    raise_at_first_frame(two, signal.SIGTERM)  # (two starts after one)
    await asyncio.wait_for(asyncio.gather(one.run(fps=100), two.run(fps=100)), 5)
    assert one._stop_signal == two._stop_signal == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before


async def test_a_handler_of_the_program_is_left_alone() -> None:
    """A handler the program installed is not replaced: it gets the signal."""
    got: list[int] = []
    tree = SceneTree()

    def own(signum: int, frame: object) -> None:
        got.append(signum)
        tree.quit()

    previous = signal.signal(signal.SIGTERM, own)
    try:
        raise_at_first_frame(tree, signal.SIGTERM)
        await asyncio.wait_for(tree.run(fps=100), 5)
        assert got == [signal.SIGTERM] and tree._stop_signal is None
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_handle_signals_false_installs_nothing() -> None:
    """run(handle_signals=False) leaves the handlers as they are."""
    tree = SceneTree()
    seen: list[object] = []
    tree.process_frame.connect(lambda: (seen.append(signal.getsignal(signal.SIGTERM)), tree.quit()))
    await tree.run(handle_signals=False)
    assert seen == [signal.SIG_DFL]
    assert os_signals.name_of(signal.SIGINT) == "SIGINT" and os_signals.name_of(999) == "signal 999"


@pytest.mark.parametrize("signum", STOP, ids=["SIGINT", "SIGTERM"])
async def test_a_server_process_ends_cleanly_and_its_clients_see_1001(signum: int) -> None:
    """A real server process, sent the signal with a client connected: exit status 0,
    nothing on stderr, and the client's link closed with 1001 (going away)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    client = WebSocketMultiplayerPeer()
    tree = SceneTree()
    running = None
    try:
        assert proc.stdout is not None
        port = int(await asyncio.wait_for(proc.stdout.readline(), 10))
        api = tree.get_multiplayer()
        await client.create_client(f"ws://127.0.0.1:{port}")
        api.multiplayer_peer = client
        running = asyncio.ensure_future(tree.run(fps=100, handle_signals=False))
        await asyncio.wait_for(api.connected_to_server, 10)
        link = client.get_peer(1)
        proc.send_signal(signum)
        await asyncio.wait_for(api.server_disconnected, 10)
        link.poll()
        assert link.get_close_code() == 1001
        out, err = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.returncode == 0, err.decode()
        assert err.decode() == ""
        assert out.decode().splitlines()[-1] == "run() returned"
    finally:
        tree.quit()
        if running is not None:
            await running
        client.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_second_sigint_interrupts_a_frame_that_never_ends() -> None:
    """A real process whose frame hangs: the first SIGINT asks for a stop that cannot
    come; the second raises KeyboardInterrupt inside the frame, and the process ends
    as Python ends on Ctrl+C (by SIGINT, with the traceback). A SIGTERM meanwhile is
    only another request."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HUNG),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 10) == b"hung\n"
        proc.send_signal(signal.SIGINT)
        taken = (await asyncio.wait_for(proc.stderr.readline(), 10)).decode()
        assert taken == f"{LOGGED}SIGINT: run() stops after the current frame{AGAIN}\n"
        proc.send_signal(signal.SIGTERM)
        taken = (await asyncio.wait_for(proc.stderr.readline(), 10)).decode()
        assert taken == f"{LOGGED}SIGTERM: run() stops after the current frame\n"
        proc.send_signal(signal.SIGINT)
        err = (await asyncio.wait_for(proc.stderr.read(), 10)).decode()
        assert await proc.wait() == -signal.SIGINT, err
        assert err.rstrip().endswith("KeyboardInterrupt"), err
        assert "in _process" in err  # (raised in the stuck frame)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
