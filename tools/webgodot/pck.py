"""Pack files into a Godot 4.6 PCK (pack format version 3), and read one back.

Layout (little-endian), as Godot 4.6's PackedSourcePCK reads it:

    header, 104 bytes:
        b"GDPC", u32 format version (3), u32 engine major, minor, patch,
        u32 pack flags (PACK_REL_FILEBASE: file offsets count from file_base),
        u64 file_base (start of the file data), u64 dir_offset (start of the directory),
        16 x u32 reserved
    zero padding to ALIGN, then each file's bytes, each padded to ALIGN
    directory, at dir_offset:
        u32 file count, then per file: u32 path length (padded to a multiple of 4),
        the path without "res://" (NUL-padded), u64 offset from file_base, u64 size,
        16 bytes md5 of the data, u32 flags (0: a plain, unencrypted file)

Godot loads text resources (project.godot, .tscn, .gd) from a pack as they are, so a project
written by hand needs no editor import step.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from pathlib import Path

MAGIC = b"GDPC"
FORMAT_VERSION = 3
PACK_REL_FILEBASE = 1 << 1
ALIGN = 16
ENGINE_VERSION = (4, 6, 0)
_HEADER = struct.Struct("<4s5I2Q64x")
_ENTRY = struct.Struct("<QQ16sI")


def _pad(size: int, align: int = ALIGN) -> int:
    return -size % align


def pck_path(name: str) -> str:
    """A pack path: forward slashes, no ``res://`` and no leading slash."""
    path = name.removeprefix("res://").replace("\\", "/").lstrip("/")
    if not path or any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"not a file path inside a project: {name!r}")
    return path


def project_files(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, keyed by its path relative to it (``a/b.gd``)."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def build_pck(files: Mapping[str, bytes], version: tuple[int, int, int] = ENGINE_VERSION) -> bytes:
    """A PCK holding ``files`` (keys like ``main.gd`` or ``res://main.gd``)."""
    entries = sorted((pck_path(name), data) for name, data in files.items())
    if len({name for name, _ in entries}) != len(entries):
        raise ValueError("two files map to the same pack path")
    file_base = _HEADER.size + _pad(_HEADER.size)
    blobs = bytearray()
    directory = bytearray(struct.pack("<I", len(entries)))
    for name, data in entries:
        encoded = name.encode()
        encoded += b"\0" * _pad(len(encoded), 4)
        directory += struct.pack("<I", len(encoded)) + encoded
        directory += _ENTRY.pack(len(blobs), len(data), hashlib.md5(data).digest(), 0)
        blobs += data + b"\0" * _pad(len(data))
    header = _HEADER.pack(
        MAGIC, FORMAT_VERSION, *version, PACK_REL_FILEBASE, file_base, file_base + len(blobs)
    )
    return header + b"\0" * _pad(len(header)) + bytes(blobs) + bytes(directory)


def read_pck(pck: bytes) -> dict[str, bytes]:
    """The files in a PCK that build_pck() wrote, checking each one's md5."""
    magic, version, *_engine, flags, file_base, dir_offset = _HEADER.unpack_from(pck)
    if magic != MAGIC or version != FORMAT_VERSION or not flags & PACK_REL_FILEBASE:
        raise ValueError(f"not a version-3 PCK with relative offsets: {pck[:24].hex()}")
    (count,) = struct.unpack_from("<I", pck, dir_offset)
    position = dir_offset + 4
    files: dict[str, bytes] = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<I", pck, position)
        name = pck[position + 4 : position + 4 + length].rstrip(b"\0").decode()
        position += 4 + length
        offset, size, md5, _flags = _ENTRY.unpack_from(pck, position)
        position += _ENTRY.size
        data = pck[file_base + offset : file_base + offset + size]
        if hashlib.md5(data).digest() != md5:
            raise ValueError(f"{name}: md5 mismatch")
        files[name] = data
    return files


CLASS_CACHE = ".godot/global_script_class_cache.cfg"
"""Where the editor lists the project's ``class_name`` scripts; without it Godot prints
"Could not load global script cache." and no script can name another's class."""

_CLASS_NAME = re.compile(r"^\s*class_name\s+([A-Za-z_]\w*)", re.M)
_EXTENDS = re.compile(r"^\s*(?:class_name\s+\w+\s+)?extends\s+([A-Za-z_]\w*)", re.M)


def class_cache(files: Mapping[str, bytes]) -> bytes:
    """The ``global_script_class_cache.cfg`` the editor would write for ``files`` (pck
    paths): one entry per GDScript with a ``class_name``, as Godot 4.6 lists them."""
    entries = []
    for name, data in sorted(files.items()):
        if not name.endswith(".gd"):
            continue
        text = data.decode("utf-8", "replace")
        found = _CLASS_NAME.search(text)
        if found is None:
            continue
        base = _EXTENDS.search(text)
        entries.append(
            "{\n"
            f'"base": &"{base.group(1) if base else "RefCounted"}",\n'
            f'"class": &"{found.group(1)}",\n'
            '"icon": "",\n'
            '"is_abstract": false,\n'
            '"is_tool": false,\n'
            '"language": &"GDScript",\n'
            f'"path": "res://{name}"\n'
            "}"
        )
    return ("list=[" + ", ".join(entries) + "]\n").encode()
