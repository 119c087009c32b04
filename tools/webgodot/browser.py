"""Run Godot instances in headless Chromium and read what they print.

One ``Browser`` is one chromium-headless-shell plus one HTTP server on 127.0.0.1 (port 0) that
serves the engine, and for each Godot instance its own page and pck. Each instance is a tab
(``Browser.godot()``), so several run at once and a new one costs a tab, not a browser.

Chromium runs under ``_reaper.py``, a child subreaper that kills Chromium's whole process tree and
reaps it when ``Browser.close()`` closes its stdin pipe, or when this process dies (the kernel
closes the pipe then): no Chromium process or zombie outlives a test run.

Godot's output comes over the DevTools protocol (one WebSocket per instance, ``websockets``):
the page hands every line Godot prints to a ``Runtime.addBinding`` function, and so does its
``onExit`` callback; browser console errors and exceptions are collected too.

    async with run_godot(project_dir, user_args=["--x=1"]) as godot:   # a private browser
        line = await godot.wait_for("READY")

    with Browser() as browser:                                         # shared, many tabs
        async with browser.godot(a) as one, browser.godot(b) as two: ...
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tools.webgodot.engine import ENGINE_FILES, fetch_engine, find_chromium, unavailable_reason
from tools.webgodot.pck import CLASS_CACHE, build_pck, class_cache, pck_path, project_files
from tools.webgodot.tunnel import TUNNEL_PEER_GD, TUNNEL_PEER_RES

REAPER = Path(__file__).with_name("_reaper.py")
BINDING = "__webgodot"
TAIL = 40  # console lines quoted in a timeout error
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in containers
    "--remote-debugging-port=0",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-dev-shm-usage",
    "--mute-audio",
    # every tab is a live Godot: none may be throttled for being in the background
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # WebGL2 in software, for instances started with gl=True
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
)
# Godot's stderr lines that are not errors: warnings, and the indented "at:" lines that follow
# an error's first line
_NOT_ERRORS = ("WARNING:", "USER WARNING:")
# engine files may be cached by the tab (the wasm compiles once per browser); pages and pcks never
_ENGINE_CACHE = "public, max-age=86400, immutable"


class BrowserError(RuntimeError):
    """Chromium could not start, or the DevTools protocol failed."""


class GodotTimeout(TimeoutError):
    """A Godot instance did not print what was awaited (message ends with its last lines)."""


# --------------------------------------------------------------------------- HTTP server


@dataclass(frozen=True)
class _Resource:
    body: bytes | Path
    content_type: str
    cacheable: bool


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.resources: dict[str, _Resource] = {}

    def put(self, path: str, resource: _Resource) -> None:
        with self.lock:
            self.resources[path] = resource

    def drop(self, prefix: str) -> None:
        with self.lock:
            for path in [p for p in self.resources if p.startswith(prefix)]:
                del self.resources[path]

    def get(self, path: str) -> _Resource | None:
        with self.lock:
            return self.resources.get(path)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a tab closed mid-download
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        resource = self.server.get(self.path.split("?", 1)[0])
        if resource is None:
            self.send_error(404)
            return
        body = resource.body
        size = len(body) if isinstance(body, bytes) else body.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", resource.content_type)
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", _ENGINE_CACHE if resource.cacheable else "no-store")
        # cross-origin isolation, as Godot's own web exports are served
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.end_headers()
        if isinstance(body, bytes):
            self.wfile.write(body)
        else:
            with open(body, "rb") as source:
                shutil.copyfileobj(source, self.wfile)

    def log_message(self, format: str, *args: Any) -> None:
        pass


_TYPES = {".js": "text/javascript", ".wasm": "application/wasm"}


# --------------------------------------------------------------------------- DevTools protocol


class _Cdp:
    """One DevTools WebSocket: numbered calls with their answers, events to a callback."""

    def __init__(self, socket: ClientConnection, on_event: Callable[[dict[str, Any]], None]):
        self._socket = socket
        self._on_event = on_event
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())
        self.closed = asyncio.Event()

    async def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = answer
        try:
            await self._socket.send(json.dumps(message))
            return await answer
        finally:
            self._pending.pop(message["id"], None)

    async def _read(self) -> None:
        try:
            async for raw in self._socket:
                message = json.loads(raw)
                answer = self._pending.get(message.get("id", -1))
                if answer is None:
                    self._on_event(message)
                elif answer.done():
                    pass
                elif "error" in message:
                    answer.set_exception(BrowserError(f"DevTools: {message['error']}"))
                else:
                    answer.set_result(message.get("result", {}))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(BrowserError("the DevTools connection closed"))

    async def aclose(self) -> None:
        await self._socket.close()
        await self._reader


# --------------------------------------------------------------------------- one Godot


class Godot:
    """One Godot instance (a browser tab) and everything it printed so far.

    ``lines`` holds Godot's stdout and stderr lines exactly as printed, in order, plus lines
    from the page and the browser tagged ``[webgodot]``, ``[console.error]``, ``[exception]``...
    """

    def __init__(self, name: str, cdp: _Cdp, session: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.exit_code: int | None = None
        self._cdp = cdp
        self._session = session
        self._errors: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._ended: str | None = None  # why no more output can come

    def __repr__(self) -> str:
        return f"<Godot {self.name}: {len(self.lines)} lines, exit {self.exit_code}>"

    def errors(self) -> list[str]:
        """Godot's ERROR lines (any stderr line that is not a warning), console errors, page
        exceptions, failed loads and crashes, in order."""
        return list(self._errors)

    async def wait_for(
        self, match: str | Callable[[str], bool], timeout: float = 30.0, *, start: int = 0
    ) -> str:
        """The first line from ``lines[start:]`` that contains ``match`` (or satisfies it).

        Raises GodotTimeout, quoting the last lines, after ``timeout`` seconds, or at once when
        Godot exits, crashes or closes without having printed it.
        """
        test = match if callable(match) else lambda line: match in line
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            for line in self.lines[index:]:
                if test(line):
                    return line
            index = len(self.lines)
            remaining = deadline - loop.time()
            if self._ended or remaining <= 0:
                why = self._ended or f"not within {timeout:g} s"
                raise GodotTimeout(self._describe(f"waited for {match!r}: {why}"))
            waiter = loop.create_future()
            self._waiters.append(waiter)
            await asyncio.wait([waiter], timeout=remaining)

    async def wait_exit(self, timeout: float = 30.0) -> int:
        """Godot's exit code, once it has quit (get_tree().quit())."""
        await self.wait_for(lambda _line: self.exit_code is not None, timeout)
        assert self.exit_code is not None
        return self.exit_code

    async def screenshot(self) -> bytes:
        """A PNG of the tab (the canvas fills it; pixel (x, y) is canvas pixel (x, y))."""
        shot = await self._cdp.call("Page.captureScreenshot", self._session, format="png")
        return base64.b64decode(shot["data"])

    def _describe(self, what: str) -> str:
        tail = "\n".join(f"  {line}" for line in self.lines[-TAIL:]) or "  (nothing)"
        return f"Godot {self.name}: {what}\nits last {TAIL} console lines:\n{tail}"

    def _add(self, line: str, *, error: bool = False) -> None:
        self.lines.append(line)
        if error:
            self._errors.append(line)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _end(self, why: str) -> None:
        if self._ended is None:  # only the first reason: "tab closed" after an exit is noise
            self._ended = why
            self._add(f"[webgodot] {why}")

    def on_event(self, message: dict[str, Any]) -> None:
        """One DevTools event of this tab's session."""
        if message.get("sessionId") != self._session:
            detached = message.get("method") == "Target.detachedFromTarget"
            if detached and message.get("params", {}).get("sessionId") == self._session:
                self._end("the tab was closed")
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.bindingCalled" and params.get("name") == BINDING:
            self._on_page(json.loads(params["payload"]))
        elif method == "Runtime.consoleAPICalled":
            kind = params.get("type", "log")
            text = " ".join(_console_text(arg) for arg in params.get("args", []))
            self._add(f"[console.{kind}] {text}", error=kind in ("error", "assert"))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self._add(f"[exception] {text}", error=True)
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            level = entry.get("level", "info")
            text = f"[log.{level}] {entry.get('text', '')} {entry.get('url', '')}".rstrip()
            self._add(text, error=level == "error")
        elif method == "Inspector.targetCrashed":
            self._errors.append("[webgodot] the tab crashed")
            self._end("the tab crashed")

    def _on_page(self, event: dict[str, str]) -> None:
        kind, text = event.get("kind"), event.get("text", "")
        if kind == "out":
            for line in text.split("\n"):
                self._add(line)
        elif kind == "err":
            for line in text.split("\n"):
                self._add(line, error=_is_error(line))
        elif kind == "exit":
            self.exit_code = int(text)
            self._end(f"Godot exited with code {text}")
        elif kind == "fail":
            self._errors.append(f"[webgodot] Godot did not start: {text}")
            self._end(f"Godot did not start: {text}")
        else:
            self._add(f"[webgodot] {text}")


def _is_error(line: str) -> bool:
    return bool(line.strip()) and not line[0].isspace() and not line.startswith(_NOT_ERRORS)


def _console_text(arg: dict[str, Any]) -> str:
    return str(arg.get("value", arg.get("description", "")))


# --------------------------------------------------------------------------- the page


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>webgodot</title>
<link rel="icon" href="data:,">
<style>html, body { margin: 0; overflow: hidden; background: #000; }
canvas { display: block; position: fixed; left: 0; top: 0; }</style></head>
<body><canvas id="canvas" width="@W@" height="@H@" style="width: @W@px; height: @H@px"></canvas>
<script src="/engine/index.js"></script>
<script>
"use strict";
const config = @CONFIG@;
// Every line Godot prints, and its exit, go to the harness through a DevTools binding.
const report = (kind, text) => window.@BINDING@(JSON.stringify({ kind, text: String(text) }));
const joined = (parts) => parts.map(String).join(" ");
new Engine({
  executable: "/engine/index",
  mainPack: "main.pck",
  args: config.args,
  canvasResizePolicy: 0,  // the canvas keeps the size the harness chose
  focusCanvas: false,
  persistentPaths: [],  // user:// in memory: tabs of one origin must not share IndexedDB
  onPrint: (...parts) => report("out", joined(parts)),
  onPrintError: (...parts) => report("err", joined(parts)),
  onExit: (code) => report("exit", code),
}).startGame().then(
  () => report("page", "startGame resolved"),
  (error) => report("fail", (error && error.stack) || error));
</script></body></html>
"""


def _page(args: Sequence[str], canvas: tuple[int, int]) -> bytes:
    config = json.dumps({"args": list(args)}).replace("</", "<\\/")
    html = _PAGE.replace("@CONFIG@", config).replace("@BINDING@", BINDING)
    return html.replace("@W@", str(canvas[0])).replace("@H@", str(canvas[1])).encode()


def _pck_files(project: Path | None, files: Mapping[str, bytes] | None) -> dict[str, bytes]:
    merged = {TUNNEL_PEER_RES: TUNNEL_PEER_GD.read_bytes()}
    if project is not None:
        merged.update(project_files(project))
    merged.update({pck_path(name): data for name, data in (files or {}).items()})
    # The editor writes the class cache; a project written by hand has none, and
    # without it Godot prints "Could not load global script cache." at start, trips
    # over an invalid object at exit, and no script finds another's class_name.
    if CLASS_CACHE not in merged:
        merged[CLASS_CACHE] = class_cache(merged)
    return merged


# --------------------------------------------------------------------------- the browser


class Browser:
    """One Chromium and one HTTP server; ``godot()`` opens a Godot instance in a new tab.

    Start and stop it with ``with``/``async with`` or start()/close(); close() is idempotent and
    also runs at interpreter exit. The Chromium process tree dies with this process regardless.
    """

    def __init__(self, *, engine: Path | None = None, chromium: Path | None = None) -> None:
        self._engine = engine
        self._chromium = chromium
        self._tmp: Path | None = None
        self._reaper: subprocess.Popen[bytes] | None = None
        self._chromium_pid: int | None = None
        self._http: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._devtools: str | None = None
        self.boot_seconds = 0.0  # how long start() took

    # -- lifecycle

    def start(self) -> Browser:
        if self._reaper is not None:
            return self
        began = time.monotonic()
        atexit.register(self.close)
        try:
            engine = self._engine or fetch_engine()
            chromium = self._chromium or find_chromium()
            if chromium is None:
                raise BrowserError(unavailable_reason() or "no Chromium")
            self._tmp = Path(tempfile.mkdtemp(prefix="webgodot-"))
            self._start_http(engine)
            self._start_chromium(chromium, self._tmp)
        except BaseException:
            self.close()
            raise
        self.boot_seconds = time.monotonic() - began
        return self

    def _start_http(self, engine: Path) -> None:
        self._http = _HttpServer()
        for name in ENGINE_FILES:
            content_type = _TYPES[Path(name).suffix]
            self._http.put(f"/engine/{name}", _Resource(engine / name, content_type, True))
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name="webgodot-http", daemon=True
        )
        self._http_thread.start()

    def _start_chromium(self, chromium: Path, tmp: Path) -> None:
        profile = tmp / "profile"
        with open(tmp / "chromium.log", "wb") as log:
            self._reaper = subprocess.Popen(
                [
                    *(sys.executable, str(REAPER), str(chromium), *CHROMIUM_FLAGS),
                    *(f"--user-data-dir={profile}", "about:blank"),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # a Ctrl-C meant for pytest must not reach Chromium first
            )
        assert self._reaper.stdout is not None
        first = self._reaper.stdout.readline().strip()
        if not first.isdigit():
            raise BrowserError(f"the Chromium reaper did not start: {self._log_tail()}")
        self._chromium_pid = int(first)
        self._devtools = self._wait_devtools(profile / "DevToolsActivePort")

    def _wait_devtools(self, port_file: Path, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                port, path = port_file.read_text().split("\n")[:2]
                return f"ws://127.0.0.1:{int(port)}{path}"
            assert self._reaper is not None
            if self._reaper.poll() is not None:
                raise BrowserError(f"Chromium exited at start: {self._log_tail()}")
            time.sleep(0.02)
        raise BrowserError(f"Chromium opened no DevTools port in {timeout:g} s")

    def _log_tail(self) -> str:
        if self._tmp is None:
            return ""
        with contextlib.suppress(OSError):
            return (self._tmp / "chromium.log").read_text(errors="replace")[-2000:]
        return ""

    def close(self) -> None:
        """Stop Chromium (its whole process tree) and the HTTP server; remove the profile."""
        atexit.unregister(self.close)
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            self._stop_reaper(reaper)
        http, self._http = self._http, None
        if http is not None:
            http.shutdown()
            http.server_close()
        if self._http_thread is not None:
            self._http_thread.join()
            self._http_thread = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _stop_reaper(self, reaper: subprocess.Popen[bytes]) -> None:
        assert reaper.stdin is not None and reaper.stdout is not None
        with contextlib.suppress(OSError):
            reaper.stdin.close()  # EOF: the reaper kills and reaps Chromium's tree, then exits
        try:
            reaper.wait(timeout=15)
        except subprocess.TimeoutExpired:
            reaper.kill()
            reaper.wait()
            if self._chromium_pid is not None:  # the reaper failed: at least kill the group
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._chromium_pid, signal.SIGKILL)
        reaper.stdout.close()

    def __enter__(self) -> Browser:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Browser:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- Godot instances

    @property
    def base_url(self) -> str:
        """The HTTP server's address, e.g. ``http://127.0.0.1:41234``."""
        if self._http is None:
            raise BrowserError("the browser is not started")
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @contextlib.asynccontextmanager
    async def godot(
        self,
        project: Path | None = None,
        *,
        user_args: Sequence[str] = (),
        gl: bool = False,
        size: tuple[int, int] = (960, 540),
        files: Mapping[str, bytes] | None = None,
        engine_args: Sequence[str] = (),
    ) -> AsyncIterator[Godot]:
        """Start Godot on ``project`` (plus ``files``, and res://webgodot/tunnel_peer.gd) in
        a new tab; close the tab at exit.

        ``user_args`` appear in OS.get_cmdline_user_args(); ``engine_args`` go before ``--``
        (e.g. ``--verbose``). ``gl=True`` renders with WebGL2 on SwiftShader instead of
        ``--headless``; the project then wants rendering_method="gl_compatibility".
        """
        if self._devtools is None or self._http is None:
            raise BrowserError("the browser is not started")
        prefix = f"/godot/{secrets.token_hex(8)}/"
        args = [*(() if gl else ("--headless",)), *engine_args, "--", *user_args]
        pck = build_pck(_pck_files(project, files))
        # A headless Godot has no DisplayServerWeb, yet each frame asks the page whether the
        # canvas changed size and, if it did, calls a callback through that missing object:
        # garbage memory, so some argument lists crash it ("null function"). A 0x0 canvas
        # matches the size the page starts from, so it never reports a change.
        canvas = size if gl else (0, 0)
        self._http.put(prefix + "index.html", _Resource(_page(args, canvas), "text/html", False))
        self._http.put(prefix + "main.pck", _Resource(pck, "application/octet-stream", False))
        name = project.name if project is not None else "godot"
        try:
            async with connect(
                self._devtools, max_size=None, compression=None, ping_interval=None
            ) as socket:
                async with _tab(socket, name, self.base_url + prefix, size) as godot:
                    yield godot
        finally:
            self._http.drop(prefix)


@contextlib.asynccontextmanager
async def _tab(
    socket: ClientConnection, name: str, url: str, size: tuple[int, int]
) -> AsyncIterator[Godot]:
    """A tab attached over ``socket`` (flat sessions), showing ``url``; closed at exit."""
    events: list[Callable[[dict[str, Any]], None]] = []

    def dispatch(message: dict[str, Any]) -> None:
        for handle in events:
            handle(message)

    cdp = _Cdp(socket, dispatch)
    target = ""
    try:
        created = await cdp.call(
            "Target.createTarget", url="about:blank", width=size[0], height=size[1]
        )
        target = created["targetId"]
        attached = await cdp.call("Target.attachToTarget", targetId=target, flatten=True)
        godot = Godot(name, cdp, attached["sessionId"])
        events.append(godot.on_event)
        for domain in ("Runtime", "Log", "Inspector", "Page"):
            await cdp.call(f"{domain}.enable", godot._session)
        await cdp.call("Runtime.addBinding", godot._session, name=BINDING)
        await cdp.call("Page.navigate", godot._session, url=url + "index.html")
        yield godot
    finally:
        if target and not cdp.closed.is_set():
            with contextlib.suppress(BrowserError, ConnectionClosed, TimeoutError):
                await asyncio.wait_for(cdp.call("Target.closeTarget", targetId=target), 5)
        await cdp.aclose()


@contextlib.asynccontextmanager
async def run_godot(
    project: Path | None = None,
    *,
    user_args: Sequence[str] = (),
    gl: bool = False,
    size: tuple[int, int] = (960, 540),
    files: Mapping[str, bytes] | None = None,
    engine_args: Sequence[str] = (),
) -> AsyncIterator[Godot]:
    """One Godot instance in a browser of its own (see Browser.godot for the options)."""
    async with (
        Browser() as browser,
        browser.godot(
            project,
            user_args=user_args,
            gl=gl,
            size=size,
            files=files,
            engine_args=engine_args,
        ) as godot,
    ):
        yield godot
