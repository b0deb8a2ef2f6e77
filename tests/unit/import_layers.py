"""The package's import graph, read from the source: units, arrows, layers.

A unit is a subpackage (``_sansio``, ``_net``, ``_loop``, ``_cli``) or a
top-level module. Run ``python tests/unit/import_layers.py`` to print the layers,
bottom up, with what each unit imports; ``tests/unit/test_layers.py`` holds
the rules (no circle; the sans-I/O core imports nothing above the exception
tree; nothing in the core reaches sockets, threads or clocks).
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "websocket"
SUBPACKAGES = ("_sansio", "_net", "_loop", "_cli")


def module_name(path: Path) -> str:
    """``websocket._sansio.frames`` for websocket/_sansio/frames.py (``__init__`` is the package)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    """The unit a module belongs to: its subpackage, or itself at the top level."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in SUBPACKAGES:
        return parts[1]
    return parts[1] if len(parts) >= 2 else "__init__"


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if node.level:
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("websocket"):
        return []
    if node.module is None or (node.level and not node.module):
        return [f"{target}.{alias.name}" for alias in node.names]
    return [target]


@cache
def module_imports() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (at any place in the file)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        current = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found.update(_resolve(current, path.name == "__init__.py", node))
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("websocket"))
        graph[current] = found
    return graph


def stdlib_imports(module: str) -> set[str]:
    """Top-level names of the modules outside the package that ``module`` imports."""
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - {"websocket", "__future__"}


def unit_graph() -> dict[str, set[str]]:
    """Arrows between units (a unit's arrows to itself left out)."""
    graph: dict[str, set[str]] = {}
    for module, targets in module_imports().items():
        unit = unit_of(module)
        graph.setdefault(unit, set()).update(unit_of(t) for t in targets if unit_of(t) != unit)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle found by a depth-first walk (empty when the graph has none)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def layers(graph: dict[str, set[str]]) -> list[list[str]]:
    """Units by level: a unit sits one above the highest unit it imports (needs no circle)."""
    level: dict[str, int] = {}

    def depth(node: str) -> int:
        if node not in level:
            level[node] = 0  # guards against a circle; cycles() reports those
            level[node] = 1 + max((depth(t) for t in graph.get(node, ())), default=-1)
        return level[node]

    for node in graph:
        depth(node)
    out: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for node, n in level.items():
        out[n].append(node)
    return [sorted(row) for row in out]


def main() -> int:
    graph = unit_graph()
    circles = cycles(graph)
    for n, row in enumerate(layers(graph)):
        print(f"level {n}:")
        for unit in row:
            print(f"  {unit:<16} -> {', '.join(sorted(graph[unit])) or '(nothing in the package)'}")
    print("circles:", circles or "none")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
