"""The shape of the code: no import cycles between `app` modules, private names stay private.

The import graph is read from the source with `ast`, not by importing: every `import` and
`from … import` counts, also those inside functions (lazy imports, kept for a fast `kv --help`)
and under `if TYPE_CHECKING:`. A lazy import hides a cycle from Python, not from the design.
An edge goes to the module named, not to its parent packages: `from app.cli.common import x`
in app/cli/corpus.py makes corpus depend on app.cli.common, not on app/cli/__init__.py (which
Python runs first, and which imports corpus: the usual package layout, not a cycle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRIVATE_IMPORT_ALLOWLIST: set[tuple[str, str, str]] = set()
"""(importing file, app module, private name) that may stay for now. Empty: keep it so."""


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / "app").rglob("*.py"))}


def imported(path: Path, modules: dict[str, Path], root: Path = ROOT) -> Iterator[str]:
    """The `app` modules that the file at `path` imports (anywhere in it)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:  # `from app.cli import common`: the submodule
                    yield sub
                elif source in modules:
                    yield source


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = app_modules(root)
    return {
        name: {m for m in imported(path, modules, root) if m != name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan), i.e. the cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def describe(graph: dict[str, set[str]], component: set[str]) -> str:
    """One cycle through `component`, as "a -> b -> a", plus its members."""
    start = min(component)
    path, seen = [start], {start}
    while True:
        nxt = sorted(graph[path[-1]] & component)
        back = [m for m in nxt if m == start]
        if back and len(path) > 1:
            path.append(start)
            break
        step = next((m for m in nxt if m not in seen), None)
        if step is None:  # closes on an earlier member
            path.append(next(m for m in nxt if m in seen))
            break
        path.append(step)
        seen.add(step)
    return " -> ".join(path) + f"   (members: {', '.join(sorted(component))})"


def test_the_graph_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "app"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from app.b import x\n",
        "b.py": "from . import c\n",
        "c.py": "import app.a\n",
        "sub/__init__.py": "from .d import y\n",
        "sub/d.py": "from app.sub import e\n",
        "sub/e.py": "",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path)
    assert graph["app.a"] == {"app.b"} and graph["app.b"] == {"app.c"}
    assert graph["app.c"] == {"app.a"} and graph["app.sub"] == {"app.sub.d"}
    assert graph["app.sub.d"] == {"app.sub.e"}
    assert cycles(graph) == [{"app.a", "app.b", "app.c"}]


def test_the_cli_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "app.cli.common" in graph, "app/cli/common.py is where the commands' helpers live"
    found = [c for c in cycles(graph) if any(m.startswith("app.cli") for m in c)]
    assert not found, "import cycles through the CLI:\n" + "\n".join(
        describe(graph, c) for c in found
    )


def test_cli_common_imports_no_other_cli_module() -> None:
    graph = import_graph()
    assert not {m for m in graph["app.cli.common"] if m.startswith("app.cli")}


def test_only_the_cli_package_imports_the_command_modules() -> None:
    graph = import_graph()
    commands = {m for m in graph if m.startswith("app.cli.") and m != "app.cli.common"}
    users = {m: graph[m] & commands for m in graph if m != "app.cli" and graph[m] & commands}
    assert not users, f"only app/cli/__init__.py may import command modules: {users}"


def test_app_has_no_import_cycle() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles between app modules:\n" + "\n".join(
        describe(graph, c) for c in found
    )


def test_no_private_name_is_imported_from_another_module() -> None:
    """`from app.x import _name` outside app/x.py reaches into x's internals: make the name
    public (no leading underscore) if other modules need it."""
    found = set()
    for root in ("app", "evals", "scripts", "tests"):
        for path in sorted((ROOT / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                    continue
                if node.module != "app" and not node.module.startswith("app."):
                    continue
                for alias in node.names:
                    n = alias.name
                    if n.startswith("_") and not (n.startswith("__") and n.endswith("__")):
                        found.add((str(path.relative_to(ROOT)), node.module, n))
    found -= PRIVATE_IMPORT_ALLOWLIST
    assert not found, "private names imported from other modules:\n" + "\n".join(
        f"{f}: from {m} import {n}" for f, m, n in sorted(found)
    )
