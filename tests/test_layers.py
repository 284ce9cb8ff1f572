"""The shape of mcpft_lib: the layers contract in pyproject.toml holds, no import cycles (function-level imports
included), no module a reader cannot hold in their head, project imports at the top of each module."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

PKG = Path(__file__).resolve().parent.parent / "mcpft_lib"
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = f.relative_to(PKG.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def test_layers_contract_is_kept():
    """import-linter reads [tool.importlinter] from pyproject.toml: each layer imports only the layers below."""
    assert lint_imports(config_filename=str(PKG.parent / "pyproject.toml"), no_cache=True) == 0


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_including_function_level_imports():
    g = grimp.build_graph("mcpft_lib", cache_dir=None)  # grimp reads every import statement, nested ones too
    graph = {m: g.find_modules_directly_imported_by(m) for m in g.modules}
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_800_lines():
    long = {m: n for m, f in _modules().items() if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_project_imports_are_at_module_top():
    """A project module imported inside a function hides a cycle; heavy third-party imports may wait there."""
    nested = []
    for mod, f in _modules().items():
        tree = ast.parse(f.read_text())
        top = {id(n) for n in tree.body}
        for n in ast.walk(tree):
            if id(n) in top:
                continue
            if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("mcpft_lib")):
                nested.append(f"{mod}:{n.lineno}")
            if isinstance(n, ast.Import) and any(a.name.startswith("mcpft_lib") for a in n.names):
                nested.append(f"{mod}:{n.lineno}")
    assert nested == []


def test_importing_the_package_and_the_cli_stays_light():
    """Project modules defer torch and transformers: importing any of them does not load torch."""
    import subprocess
    import sys

    code = (
        "import sys, importlib, pkgutil, mcpft_lib\n"
        "skip = ('mcpft_lib.train.__main__',)\n"
        "for m in pkgutil.walk_packages(mcpft_lib.__path__, 'mcpft_lib.'):\n"
        "    if m.name not in skip: importlib.import_module(m.name)\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PKG.parent, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_design_doc_diagram_matches_the_code():
    """docs/design.md's layer diagram and module table are generated; regenerate with python -m tests.design_doc."""
    from tests import design_doc

    assert design_doc.current() == design_doc.render(), "docs/design.md is stale: python -m tests.design_doc"
