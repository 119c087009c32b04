"""The docs' code blocks are the example files, word for word."""

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
def test_code_block_is_an_example_file(page: str, code: str) -> None:
    """A Python block in the docs starts with its file's path and equals that file."""
    first = code.splitlines()[0]
    match = re.match(r"# (examples/\S+\.py)", first)
    assert match, f"{page}: a python block must start with '# examples/<file>.py': {first!r}"
    assert (ROOT / match.group(1)).read_text() == code, f"{page}: block differs from {match[1]}"
