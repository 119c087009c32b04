"""The docs' code blocks come from the example files, word for word, so they run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for code in BLOCK.findall(page.read_text()):
            found.append((page.name, code))
    return found


@pytest.mark.parametrize(("page", "code"), blocks())
def test_code_block_is_from_an_example_file(page: str, code: str) -> None:
    """A Python block starts with its file's path; the rest stands in that file as is."""
    first, _, rest = code.partition("\n")
    match = re.match(r"# (examples/\S+\.py)", first)
    assert match, f"{page}: a python block must start with '# examples/<file>.py': {first!r}"
    source = (ROOT / match.group(1)).read_text()
    if source.startswith(first + "\n"):
        assert source.startswith(code) or rest in source, f"{page}: not in {match[1]}"
    else:
        assert rest in source, f"{page}: block is not an excerpt of {match[1]}"


PATH = re.compile(r"`((?:multiplayer|examples|tests|bench|docs)/[\w./-]+)`")


@pytest.mark.parametrize(
    ("page", "path"),
    [(page.name, path) for page in PAGES for path in PATH.findall(page.read_text())],
)
def test_named_files_exist(page: str, path: str) -> None:
    """A file or folder the docs name in backquotes exists (none left behind by a move)."""
    assert (ROOT / path).exists(), f"{page} names {path}, which does not exist"


MODULE = re.compile(r"`((?:[\w-]+/)+[\w-]+\.py)`")


@pytest.mark.parametrize(
    ("page", "path"),
    [(page.name, path) for page in PAGES for path in MODULE.findall(page.read_text())],
)
def test_named_modules_exist(page: str, path: str) -> None:
    """A module named by its path (from the root, or within the package) exists."""
    found = (ROOT / path).exists() or (ROOT / "multiplayer" / path).exists()
    assert found, f"{page} names {path}, which does not exist"
