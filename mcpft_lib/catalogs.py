"""MCP tool catalogs: harvest real servers' `tools/list` over stdio, store and load them as JSON.

Catalogs live in `mcpft_lib/catalogs/<name>.json`, one serialised `Server` each. `time` and `git` are
harvested from the real PyPI servers (`regenerate_harvested()`); the others are hand-curated copies of
popular servers' catalogs.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import Resource, Server, Tool

CATALOG_DIR = Path(__file__).with_name("catalogs")


@dataclass(frozen=True)
class Harvestable:
    """How to start one real MCP server over stdio (`{repo}` in args becomes a scratch git repo)."""

    package: str  # PyPI distribution, also the console script
    module: str  # run as `python -m module` so no activated venv is needed
    args: tuple[str, ...] = ()
    description: str = ""
    needs_repo: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def command(self, repo: str | None = None) -> tuple[str, list[str]]:
        """The command and arguments that start the server with this interpreter."""
        args = [a.replace("{repo}", repo or "") for a in self.args]
        return sys.executable, ["-m", self.module, *args]


HARVESTABLE: dict[str, Harvestable] = {
    "time": Harvestable(
        package="mcp-server-time",
        module="mcp_server_time",
        args=("--local-timezone", "UTC"),
        description="Current time and timezone conversions (IANA timezone names).",
    ),
    "git": Harvestable(
        package="mcp-server-git",
        module="mcp_server_git",
        args=("--repository", "{repo}"),
        description="Read and change local Git repositories: status, diffs, log, commits, branches.",
        needs_repo=True,
    ),
}

# Hand-written catalogs: tool names, descriptions and schemas copied from each server's source/README
# (the npm servers cannot be run here; mcp-server-sqlite needs mcp<2). `version` is None where unpinned.
CURATED: dict[str, str] = {
    "filesystem": "@modelcontextprotocol/server-filesystem (npm), tools as in src/filesystem README/index.ts",
    "github": "@modelcontextprotocol/server-github (npm, archived reference server), src/github/index.ts",
    "sqlite": "mcp-server-sqlite 2025.4.25 (PyPI, archived reference server; runs only with mcp<2)",
    "memory": "@modelcontextprotocol/server-memory (npm), src/memory/index.ts",
}


def package_version(package: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _tool_from_sdk(tool: Any) -> Tool:
    d = tool.model_dump(by_alias=True, exclude_none=True)  # wire names (inputSchema) in mcp 1.x and 2.x
    return Tool(name=d["name"], description=d.get("description", ""), inputSchema=d.get("inputSchema", {}))


def _resource_from_sdk(res: Any) -> Resource:
    d = res.model_dump(by_alias=True, exclude_none=True, mode="json")
    return Resource(
        uri=str(d["uri"]),
        name=d.get("name", ""),
        description=d.get("description", ""),
        mimeType=d.get("mimeType"),
    )


async def aharvest(server_name: str, timeout: float = 60.0) -> Server:
    """Start a HARVESTABLE server over stdio, `initialize`, `tools/list` (all pages) and return its catalog."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    if server_name not in HARVESTABLE:
        raise KeyError(f"no harvest recipe for {server_name!r}; known: {sorted(HARVESTABLE)}")
    spec = HARVESTABLE[server_name]
    version = package_version(spec.package)
    if version is None:
        raise RuntimeError(
            f"{spec.package} is not installed in this environment (pip install {spec.package})"
        )
    with tempfile.TemporaryDirectory(prefix=f"mcpft-harvest-{server_name}-") as tmp:
        repo = None
        if spec.needs_repo:
            repo = os.path.join(tmp, "repo")
            if shutil.which("git") is None:
                raise RuntimeError(f"harvesting {server_name!r} needs the git executable on PATH")
            subprocess.run(["git", "init", "-q", repo], check=True, capture_output=True)
        command, args = spec.command(repo)
        params = StdioServerParameters(command=command, args=args, env=spec.env or None, cwd=tmp)
        # a real file for the server's stderr: notebook kernels' sys.stderr has no file descriptor
        with open(os.path.join(tmp, "stderr.log"), "w+", encoding="utf-8") as errlog:
            try:
                with anyio.fail_after(timeout):
                    async with stdio_client(params, errlog=errlog) as (read, write):
                        async with ClientSession(read, write) as session:
                            init = await session.initialize()
                            tools: list[Tool] = []
                            cursor = None
                            while True:
                                page = await session.list_tools(params=_page(cursor))
                                tools += [_tool_from_sdk(t) for t in page.tools]
                                cursor = page.next_cursor
                                if not cursor:
                                    break
                            resources: list[Resource] = []
                            if init.capabilities.resources is not None:
                                try:
                                    resources = [
                                        _resource_from_sdk(r)
                                        for r in (await session.list_resources()).resources
                                    ]
                                except (
                                    Exception
                                ):  # a server may advertise resources and still refuse the list
                                    resources = []
            except Exception as exc:
                errlog.seek(0)
                tail = errlog.read()[-2000:]
                raise RuntimeError(
                    f"harvesting {server_name!r} ({command} {' '.join(args)}) failed: {exc!r}\n{tail}"
                ) from exc
    return Server(
        name=server_name,
        description=spec.description,
        package=spec.package,
        version=version,
        tools=tools,
        resources=resources,
    )


def _page(cursor: str | None) -> Any:
    if cursor is None:
        return None
    from mcp import types

    return types.PaginatedRequestParams(cursor=cursor)


def _run_sync(fn: Callable[[], Any]) -> Any:
    """Run an async entry point to completion, also from inside a running loop (Jupyter)."""
    import anyio

    try:
        import asyncio

        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(fn)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = anyio.run(fn)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="mcpft-harvest")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def harvest(server_name: str, timeout: float = 60.0) -> Server:
    """Synchronous `aharvest` (safe to call from a notebook)."""
    return _run_sync(lambda: aharvest(server_name, timeout))


def catalog_path(name: str, directory: Path | str | None = None) -> Path:
    return Path(directory or CATALOG_DIR) / f"{name}.json"


def dumps_catalog(server: Server) -> str:
    """Stable text for a catalog: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(server.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save_catalog(server: Server, directory: Path | str | None = None) -> Path:
    """Write `<directory>/<server.name>.json` atomically (tmp file + os.replace)."""
    from .fsutil import atomic_write

    return atomic_write(catalog_path(server.name, directory), dumps_catalog(server))


def catalog_names(directory: Path | str | None = None) -> list[str]:
    """Names of the stored catalogs, sorted."""
    return sorted(p.stem for p in Path(directory or CATALOG_DIR).glob("*.json"))


def load_catalog(name: str, directory: Path | str | None = None) -> Server:
    """Load one stored catalog by server name."""
    path = catalog_path(name, directory)
    if not path.is_file():
        raise FileNotFoundError(f"no catalog {name!r} at {path}; available: {catalog_names(directory)}")
    return Server.model_validate_json(path.read_text(encoding="utf-8"))


def load_catalogs(names: Iterable[str] | None = None, directory: Path | str | None = None) -> list[Server]:
    """Load the named catalogs (all stored ones, sorted by name, when `names` is None)."""
    return [load_catalog(n, directory) for n in (catalog_names(directory) if names is None else names)]


def regenerate_harvested(
    directory: Path | str | None = None, names: Iterable[str] | None = None
) -> list[Path]:
    """Re-harvest the real servers (default: all of HARVESTABLE) into the catalogs folder."""
    return [save_catalog(harvest(n), directory) for n in (names or list(HARVESTABLE))]
