"""The generator's data files (mcp/world.yaml, data/scenario.yaml, data/intents/*.yaml): they load, hold only
text (and the few integers their tables need), are shipped in the wheel, and every phrasing list is used by its
module with exactly the slots the builder fills."""

from __future__ import annotations

import ast
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest

import mcpft_lib
from mcpft_lib.core.fsutil import read_yaml
from mcpft_lib.data import intents, scenario
from mcpft_lib.mcp import world

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(mcpft_lib.__file__).parent
DATA_FILES = sorted(p for p in PKG.rglob("*.yaml") if p.parent.name != "pool")  # the pool: tests/test_pool.py
INTENT_MODULES = {m.__name__.rsplit(".", 1)[1]: m for m in intents.MODULES}


def _leaves(value: Any, where: str) -> list[tuple[str, Any]]:
    """(path, leaf) for every scalar; an empty list or mapping is a leaf too (it should not be there)."""
    if isinstance(value, dict) and value:
        bad = [k for k in value if not isinstance(k, str)]
        assert not bad, f"{where}: the keys {bad} are not text; quote them"
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{where}.{k}")]
    if isinstance(value, list) and value:
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{where}[{i}]")]
    return [(where, value)]


def test_data_files_are_found() -> None:
    names = {p.relative_to(PKG).as_posix() for p in DATA_FILES}
    assert {"mcp/world.yaml", "data/scenario.yaml", "data/intents/no_tool.yaml"} <= names
    assert {
        f"data/intents/{m}.yaml" for m in INTENT_MODULES if hasattr(INTENT_MODULES[m], "PHRASES")
    } <= names


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.relative_to(PKG).as_posix())
def test_data_file_loads_and_holds_only_text(path: Path) -> None:
    data = read_yaml(path)
    assert isinstance(data, dict) and data, f"{path}: expected a mapping of tables"
    for where, leaf in _leaves(data, path.name):
        # YAML reads yes/no, null, 1.0, 2024-05-01 and 12:30 as non-text: quote them
        assert type(leaf) in (str, int), f"{where}: {leaf!r} ({type(leaf).__name__}) is not text; quote it"


def test_every_data_file_ships_in_the_wheel() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {p for pattern in patterns["mcpft_lib"] for p in PKG.glob(pattern)}
    missing = [p.relative_to(PKG).as_posix() for p in DATA_FILES if p not in shipped]
    assert not missing, f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"


def test_world_tables_have_their_shape() -> None:
    for name in ("CITIES", "TZ_ABBREVIATIONS", "GLOBS", "GH_REPOS", "SEARCH_QUERIES"):
        pairs = getattr(world, name)
        assert pairs and all(isinstance(p, tuple) and len(p) == 2 and all(p) for p in pairs), name
    for name in ("REPOS", "CODE_FILES", "BRANCHES", "BASE_BRANCHES", "COMMIT_MESSAGES", "PEOPLE", "FS_ROOTS",
                 "FS_FILES", "FS_DIRS", "ISSUE_TITLES", "ISSUE_BODIES", "LABELS", "GH_USERS", "COUNTRIES",
                 "ORDER_STATUSES", "PRODUCT_CATEGORIES", "PRODUCTS", "ENTITY_TYPES", "PROJECTS", "ORGS",
                 "OBSERVATIONS", "RELATIONS"):  # fmt: skip
        values = getattr(world, name)
        assert isinstance(values, list) and values and all(isinstance(v, str) and v for v in values), name
        assert len(set(values)) == len(values), f"{name} has a duplicate"
    for table, columns in world.SQL_TABLES.items():
        assert [pk for _, _, pk in columns].count(1) == 1, table
        assert all(isinstance(c, str) and t in ("INTEGER", "TEXT", "REAL") for c, t, _ in columns), table
    assert scenario.PREFACES and all(isinstance(p, str) for p in scenario.PREFACES)


def _slots(template: str) -> set[str]:
    return {
        f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f is not None
    }


def _phrase_uses(module_file: Path) -> list[tuple[str, str, set[str] | None, tuple[int, int]]]:
    """(intent, role, the slots the code fills or None when it fills none, (line, column) of the call) for each
    PHRASES[...][...]; the two lists of `fmt(r, PHRASES[a][b] if c else PHRASES[a][d], ...)` share the call."""
    tree = ast.parse(module_file.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    uses = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript)):
            continue
        if not (isinstance(node.value.value, ast.Name) and node.value.value.id == "PHRASES"):
            continue
        key, role = ast.literal_eval(node.value.slice), ast.literal_eval(node.slice)
        up = parents[node]
        while isinstance(up, ast.IfExp):  # fmt(r, PHRASES[a][b] if c else PHRASES[a][d], ...)
            up = parents[up]
        filled: set[str] | None = None
        at = (up.lineno, up.col_offset)
        if isinstance(up, ast.Call) and isinstance(up.func, ast.Name) and up.func.id == "fmt":
            filled = {k.arg for k in up.keywords if k.arg}
        elif isinstance(up, ast.Call) and isinstance(up.func, ast.Attribute) and up.func.attr == "choice":
            call = parents[up]  # r.choice(PHRASES[a][b]).format(...)
            if isinstance(call, ast.Attribute) and call.attr == "format":
                filled = {k.arg for k in parents[call].keywords if k.arg}
        uses.append((key, role, filled, at))
    return uses


@pytest.mark.parametrize("name", sorted(n for n, m in INTENT_MODULES.items() if hasattr(m, "PHRASES")))
def test_phrasings_are_used_with_the_slots_their_builder_fills(name: str) -> None:
    module = INTENT_MODULES[name]
    phrases = module.PHRASES
    source = Path(module.__file__)
    uses = _phrase_uses(source)
    functions = {
        n.name.lstrip("_") for n in ast.walk(ast.parse(source.read_text())) if isinstance(n, ast.FunctionDef)
    }
    for key in phrases:
        assert key in functions, f"{name}.yaml: phrases.{key} names no function of {name}.py"
    used = {(key, role) for key, role, _, _ in uses}
    listed = {(key, role) for key, roles in phrases.items() for role in roles}
    assert not used - listed, f"{name}.py uses phrasings {name}.yaml lacks: {sorted(used - listed)}"
    assert not listed - used, f"{name}.yaml has phrasings no builder uses: {sorted(listed - used)}"
    for key, role, filled, (line, _) in uses:
        templates = phrases[key][role]
        where = f"{name}.yaml phrases.{key}.{role} (used on {name}.py line {line})"
        assert isinstance(templates, list) and templates, f"{where}: expected a non-empty list"
        assert all(isinstance(t, str) and t.strip() for t in templates), (
            f"{where}: an entry is empty or not text"
        )
        for t in templates:
            slots = _slots(t)
            if filled is None:
                assert not slots, f"{where}: {t!r} has slots {sorted(slots)} but the builder fills none"
            else:
                assert slots <= filled, (
                    f"{where}: {t!r} uses {sorted(slots - filled)}, the builder fills {sorted(filled)}"
                )
    for call in {at for _, _, filled, at in uses if filled}:
        lists = [(key, role, filled) for key, role, filled, at in uses if at == call]
        templates = [t for key, role, _ in lists for t in phrases[key][role]]
        unused = set().union(*(filled for _, _, filled in lists)) - set().union(*map(_slots, templates))
        assert not unused, (
            f"{name}.py line {call[0]} fills {sorted(unused)}, which no phrasing of {lists} uses"
        )
