"""Catalogs of MCP servers: counts, valid schemas, stable files, and a real re-harvest."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from jsonschema.validators import validator_for

from mcpft_lib.core.schema import Server
from mcpft_lib.mcp import catalogs

SERVERS = catalogs.load_catalogs()
_timeout = pytest.mark.timeout(90) if importlib.util.find_spec("pytest_timeout") else (lambda f: f)


def test_at_least_12_servers_and_80_tools() -> None:
    names = {s.name for s in SERVERS}
    assert len(names) >= 12, sorted(names)
    assert sum(len(s.tools) for s in SERVERS) >= 80
    coding_agent_servers = {"time", "git", "fetch", "filesystem", "github", "sqlite", "postgres", "memory",
                            "slack", "brave_search", "puppeteer", "playwright", "sequential_thinking"}  # fmt: skip
    assert coding_agent_servers <= names


def test_every_catalog_names_its_source_and_has_valid_schemas() -> None:
    harvested = {*catalogs.HARVESTABLE, *catalogs.NPM_HARVESTABLE}
    for s in SERVERS:
        assert isinstance(s, Server) and s.tools and s.description, s.name
        assert s.name in harvested or s.name in catalogs.CURATED, f"{s.name}: no provenance"
        assert s.package, s.name
        if s.name in harvested:
            assert s.version, s.name  # harvested catalogs record the exact server version
        assert "__" not in s.name  # the native dialect joins server and tool with "__"
        assert len({t.name for t in s.tools}) == len(s.tools), s.name
        for t in s.tools:
            validator_for(t.inputSchema).check_schema(t.inputSchema)
            assert t.inputSchema.get("type") == "object", (s.name, t.name)
            assert t.description, (s.name, t.name)


def test_npm_recipes_are_pinned() -> None:
    for name, spec in catalogs.NPM_HARVESTABLE.items():
        assert spec.runtime == "node" and spec.version() == spec.module, name
        assert spec.module[0].isdigit(), f"{name}: pin an exact npm version"
        assert catalogs.load_catalog(name).version == spec.module, (
            f"{name}: stored catalog is from another version"
        )


def test_catalog_files_are_stable_bytes(tmp_path: Path) -> None:
    for s in SERVERS:
        stored = catalogs.catalog_path(s.name).read_text(encoding="utf-8")
        assert stored == catalogs.dumps_catalog(s)
        assert catalogs.save_catalog(s, tmp_path).read_text(encoding="utf-8") == stored
    assert catalogs.load_catalogs(["time"], tmp_path)[0] == catalogs.load_catalog("time")
    with pytest.raises(FileNotFoundError, match="available"):
        catalogs.load_catalog("nope")


@pytest.mark.slow
@_timeout
def test_regenerate_harvested_python_servers(tmp_path: Path) -> None:
    """The real servers start over stdio (git on a scratch repo, fetch with no network) and match the files."""
    if shutil.which("git") is None:
        pytest.skip("git executable not on PATH")
    paths = catalogs.regenerate_harvested(tmp_path)
    assert sorted(p.stem for p in paths) == sorted(catalogs.HARVESTABLE)
    for p in paths:
        fresh = catalogs.load_catalog(p.stem, tmp_path)
        stored = catalogs.load_catalog(p.stem)
        assert fresh.package == stored.package and fresh.version
        if fresh.version == stored.version:  # same server release: same tools, byte for byte
            assert p.read_text(encoding="utf-8") == catalogs.catalog_path(p.stem).read_text(encoding="utf-8")
    fetch = catalogs.load_catalog("fetch", tmp_path)
    assert [t.name for t in fetch.tools] == ["fetch"] and "url" in fetch.tools[0].inputSchema["required"]


def test_unknown_harvest_recipe() -> None:
    with pytest.raises(KeyError, match="no harvest recipe"):
        catalogs.harvest("filesystem")
