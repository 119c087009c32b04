"""The harness itself: real Godot 4.6 instances in headless Chromium (tools/webgodot).

Each Godot instance boots in about a second; the projects are text-only, under projects/.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.godot.conftest import PROJECTS
from tools.webgodot import (
    TUNNEL_PEER_RES,
    Browser,
    Godot,
    GodotTimeout,
    Image,
    TunnelBridge,
    build_pck,
    class_cache,
    read_pck,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def hello_info(line: str) -> dict[str, object]:
    """The JSON that projects/hello prints after "HELLO "."""
    info: dict[str, object] = json.loads(line.removeprefix("HELLO "))
    return info


# --------------------------------------------------------------------------- (a) one instance


async def test_godot_prints_its_user_args_and_quits_cleanly(browser: Browser) -> None:
    # before the harness gave headless pages a 0x0 canvas, lists like this one crashed Godot
    args = ["--answer=42", "two words", "ünïcode", "x" * 17]
    async with browser.godot(PROJECTS / "hello", user_args=args) as godot:
        line = await godot.wait_for("HELLO ")
        code = await godot.wait_exit()
    assert hello_info(line) == {"user_args": args, "engine": "4.6-stable (official)"}
    assert code == 7
    assert godot.lines[0].startswith("Godot Engine v4.6.stable.official")
    assert godot.lines[-1] == "[webgodot] Godot exited with code 7"
    assert godot.errors() == []


async def test_a_class_name_of_another_script_is_found(browser: Browser) -> None:
    """A project written by hand has no class cache; the harness writes one from its
    class_name lines, as the editor would, so scripts find each other's classes."""
    async with browser.godot(PROJECTS / "class_names") as godot:
        assert await godot.wait_for("TEST: ") == "TEST: coin 5 true"
        await godot.wait_exit()
    assert godot.errors() == []


def test_the_class_cache_lists_class_names_as_the_editor_does() -> None:
    cache = class_cache(
        {
            "coin.gd": b"class_name Coin extends Node2D\n",
            "player.gd": b"extends CharacterBody2D\nclass_name Player\n",
            "plain.gd": b"extends Node\n",
            "notes.txt": b"class_name Nope\n",
        }
    ).decode()
    assert cache.startswith("list=[{") and cache.count('"class"') == 2
    assert '"class": &"Coin"' in cache and '"base": &"Node2D"' in cache
    assert '"class": &"Player"' in cache and '"base": &"CharacterBody2D"' in cache
    assert '"path": "res://player.gd"' in cache
    assert class_cache({"plain.gd": b"extends Node\n"}) == b"list=[]\n"


async def test_godot_errors_are_collected(browser: Browser) -> None:
    async with browser.godot(PROJECTS / "hello", user_args=["--error"]) as godot:
        await godot.wait_exit()
    errors = godot.errors()
    # a release build reports push_error() as a plain ERROR, with the C++ place on the next line
    assert errors == ["ERROR: hello was asked for an error"]
    assert godot.lines[godot.lines.index(errors[0]) + 1].startswith("   at: push_error")


async def test_waiting_after_exit_fails_at_once_with_the_last_lines(browser: Browser) -> None:
    async with browser.godot(PROJECTS / "hello") as godot:
        await godot.wait_exit()
        began = time.monotonic()
        with pytest.raises(GodotTimeout) as raised:
            await godot.wait_for("never printed", timeout=20)
    assert time.monotonic() - began < 2  # it did not sit out the timeout
    message = str(raised.value)
    assert "'never printed': Godot exited with code 7" in message
    assert "HELLO " in message


# --------------------------------------------------------------------------- (b) the tunnel


async def _greeting(client: ClientConnection) -> int:
    """The id that a Godot-style server sends first: exactly one 4-byte int32 LE message."""
    greeting = await asyncio.wait_for(client.recv(), 10)
    assert isinstance(greeting, bytes) and len(greeting) == 4, greeting
    peer: int = struct.unpack("<i", greeting)[0]
    assert 2 <= peer <= 2**31 - 1
    return peer


async def _raw_round_trip(godot: Godot, client: ClientConnection, peer: int, data: bytes) -> None:
    """Send a RAW packet (03 + data); Godot's peer_packet sees it and send_bytes answers."""
    await client.send(b"\x03" + data)
    await godot.wait_for(f"peer_packet {peer} {data.hex()}")
    assert await asyncio.wait_for(client.recv(), 10) == b"\x03echo:" + data


async def test_tunnel_makes_godot_a_server_for_real_clients(browser: Browser) -> None:
    async with (
        TunnelBridge() as bridge,
        browser.godot(PROJECTS / "tunnel_server", user_args=[bridge.user_arg]) as godot,
    ):
        await godot.wait_for("SERVER open=0 unique_id=1 is_server=true")
        await bridge.wait_tunnel()
        async with connect(bridge.client_url, compression=None) as first:
            peer = await _greeting(first)
            await godot.wait_for(f"peer_connected {peer}")
            await _raw_round_trip(godot, first, peer, b"hello\x00\xff")

            async with connect(bridge.client_url, compression=None) as kicked:
                other = await _greeting(kicked)
                assert other != peer
                await godot.wait_for(f"peer_connected {other}")
                await kicked.send(b"\x03kick")  # the project calls disconnect_peer(id)
                await asyncio.wait_for(kicked.wait_closed(), 10)
                assert kicked.close_code == 1000

        await godot.wait_for(f"peer_disconnected {peer}")
        assert bridge.peer_ids == set()
        with pytest.raises(GodotTimeout, match=r"not within 0\.2 s"):
            await godot.wait_for("never printed", timeout=0.2)
    assert godot.errors() == []
    assert bridge.errors == []


def test_every_pck_has_the_tunnel_peer() -> None:
    files = read_pck(build_pck({"main.gd": b"extends Node\n", "res://a/b.txt": b"\x00" * 17}))
    assert files == {"main.gd": b"extends Node\n", "a/b.txt": b"\x00" * 17}
    assert TUNNEL_PEER_RES == "webgodot/tunnel_peer.gd"
    with pytest.raises(ValueError, match="not a file path"):
        build_pck({"../escape.gd": b""})


# --------------------------------------------------------------------------- (c) two at once


async def test_two_godot_instances_run_at_once(browser: Browser) -> None:
    hello = PROJECTS / "hello"
    async with (
        browser.godot(hello, user_args=["--who=one"]) as one,
        browser.godot(hello, user_args=["--who=two"]) as two,
    ):
        lines = await asyncio.gather(one.wait_for("HELLO "), two.wait_for("HELLO "))
        codes = await asyncio.gather(one.wait_exit(), two.wait_exit())
    assert [hello_info(line)["user_args"] for line in lines] == [["--who=one"], ["--who=two"]]
    assert list(codes) == [7, 7]


async def test_two_live_godot_servers_answer_their_own_clients(browser: Browser) -> None:
    project = PROJECTS / "tunnel_server"
    async with (
        TunnelBridge() as bridge_a,
        TunnelBridge() as bridge_b,
        browser.godot(project, user_args=[bridge_a.user_arg]) as godot_a,
        browser.godot(project, user_args=[bridge_b.user_arg]) as godot_b,
    ):
        await asyncio.gather(bridge_a.wait_tunnel(), bridge_b.wait_tunnel())
        async with (
            connect(bridge_a.client_url, compression=None) as client_a,
            connect(bridge_b.client_url, compression=None) as client_b,
        ):
            peer_a, peer_b = await asyncio.gather(_greeting(client_a), _greeting(client_b))
            await _raw_round_trip(godot_a, client_a, peer_a, b"for a")
            await _raw_round_trip(godot_b, client_b, peer_b, b"for b")
    assert not any("peer_packet" in line and b"for b".hex() in line for line in godot_a.lines)
    assert not any("peer_packet" in line and b"for a".hex() in line for line in godot_b.lines)


# --------------------------------------------------------------------------- (d) a picture


async def test_gl_screenshot_shows_what_godot_drew(browser: Browser) -> None:
    async with browser.godot(PROJECTS / "rect", gl=True, size=(640, 360)) as godot:
        drawn = await godot.wait_for("DRAWN ")
        png = await godot.screenshot()
    assert "renderer=gl_compatibility" in drawn and "window=(640, 360)" in drawn
    image = Image.from_png(png)
    assert (image.width, image.height) == (640, 360)
    # the rectangle covers x 100..399, y 100..299; the clear colour is everywhere else
    expected = {
        (101, 101): RED,
        (250, 200): RED,
        (398, 298): RED,
        (98, 150): BLUE,
        (250, 98): BLUE,
        (401, 200): BLUE,
        (250, 301): BLUE,
        (5, 5): BLUE,
        (635, 355): BLUE,
    }
    for (x, y), colour in expected.items():
        assert image.near(x, y, colour), (x, y, image.rgb(x, y))
    assert godot.errors() == []
