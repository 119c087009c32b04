"""The package's layers, checked from the source (docs/architecture.md draws them).

The module graph is built from every ``import`` in ``multiplayer/``, including those
inside functions; only imports under ``if TYPE_CHECKING:`` are left out, since they
never run. The graph must have no cycle, and every import must point down the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "multiplayer"

# Bottom to top. A module may import from its own layer and the layers below it.
LAYERS: list[tuple[str, ...]] = [
    (
        "multiplayer._mypyc",
        "multiplayer.exceptions",
        "multiplayer.peer_sets",
        "multiplayer.signals",
        "multiplayer.values",
    ),
    ("multiplayer.transport",),
    ("multiplayer.protocol",),
    ("multiplayer.scene",),
    ("multiplayer.replication",),
    ("multiplayer.scene_multiplayer",),
    ("multiplayer.rooms",),
    ("multiplayer.testing", "multiplayer"),
]

# Sans-I/O: these turn messages and values into bytes and back, and nothing else.
SANS_IO = ("multiplayer.protocol", "multiplayer.transport.framing")
IO_MODULES = ("asyncio", "websockets", "socket", "ssl", "selectors")

# Which packet formats exist is known to the registry (multiplayer.protocol.format)
# alone: replication and the API take the format of the peer's wire profile from it,
# so a second profile changes nothing above the protocol layer. The one exception is
# SceneMultiplayer, whose public ``codec`` is the native profile's value codec.
FORMAT_NEUTRAL = ("multiplayer.replication", "multiplayer.scene_multiplayer")
NATIVE = "multiplayer.protocol.native"
NATIVE_ALLOWED = frozenset({"multiplayer.scene_multiplayer.scene_multiplayer"})

MAX_CLASS_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (i for n in node.orelse for i in _runtime_imports_of(n))
            continue
        yield from _runtime_imports_of(node)


def _runtime_imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _runtime_imports(node)


def _all_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom))


def imports_of(
    name: str, path: Path, known: dict[str, Path], *, type_checking: bool = False
) -> set[str]:
    """The modules (of the package, or outside it) that ``name`` imports at run time,
    and with ``type_checking`` also under ``if TYPE_CHECKING:``."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in _all_imports(tree) if type_checking else _runtime_imports(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = name.split(".") if is_package else name.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            found.add(submodule if submodule in known else base)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {m for m in imports_of(name, path, known) if m in known}
        for name, path in known.items()
    }


def layer_of(name: str) -> int:
    best, index = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    assert index >= 0, f"{name} belongs to no layer: add it to LAYERS"
    return index


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    """No module imports, directly or through others, a module that imports it."""
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_imports_point_down() -> None:
    """Every import goes to the module's own layer or one below it."""
    upward = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(name)
    ]
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_sans_io_modules_do_no_io() -> None:
    """The wire formats are plain code over bytes: no asyncio, no websockets, no sockets."""
    known = modules()
    offending = [
        f"{name} imports {target}"
        for name, path in known.items()
        if name.startswith(SANS_IO)
        for target in sorted(imports_of(name, path, known))
        if target.split(".")[0] in IO_MODULES
    ]
    assert not offending, "\n".join(offending)


def test_only_the_registry_knows_the_native_format() -> None:
    """Replication and the API import nothing of the native profile, not even for
    type checking (but for SceneMultiplayer's value codec)."""
    known = modules()
    offending = [
        f"{name} imports {target}"
        for name, path in known.items()
        if name.startswith(FORMAT_NEUTRAL) and name not in NATIVE_ALLOWED
        for target in sorted(imports_of(name, path, known, type_checking=True))
        if target == NATIVE or target.startswith(NATIVE + ".")
    ]
    assert not offending, "\n".join(offending)
    assert all(name in known for name in NATIVE_ALLOWED)  # no stale exception


def test_find_cycle_finds_one() -> None:
    """The cycle finder itself sees a cycle (so the first test can fail)."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_checking_imports_do_not_count() -> None:
    """An import under ``if TYPE_CHECKING:`` is not a run-time edge; one in a function is."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .b import B\n"
        "def f():\n    from .c import C\n"
    )
    nodes = _runtime_imports(ast.parse(source))
    found = [node.module for node in nodes if isinstance(node, ast.ImportFrom)]
    assert found == ["typing", "c"]


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_module_has_a_layer(name: str) -> None:
    """Each module sits in a layer, so a new package must be placed on purpose."""
    layer_of(name)


def class_sizes() -> list[tuple[str, int]]:
    """Every class of the package with its length in lines (decorators included)."""
    sizes = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                sizes.append((f"{name}.{node.name}", node.end_lineno - start + 1))
    return sizes


def test_no_class_over_the_limit() -> None:
    """No class owns too much: each is at most MAX_CLASS_LINES lines long."""
    sizes = class_sizes()
    assert any(size > 100 for _, size in sizes)  # (the measure sees real classes)
    over = [f"{name}: {size} lines" for name, size in sizes if size > MAX_CLASS_LINES]
    assert not over, f"classes over {MAX_CLASS_LINES} lines:\n" + "\n".join(over)
