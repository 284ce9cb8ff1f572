"""MCP tool catalogs: harvest real servers' `tools/list` over stdio, store and load them as JSON.

Catalogs live in `mcpft_lib/mcp/catalogs/<name>.json`, one serialised `Server` each. `time`, `git` and `fetch` are
harvested from the real PyPI servers (`regenerate_harvested()`, `mcpft catalogs refresh`); the npm reference servers
(Slack, Brave search, Puppeteer, sequential thinking, PostgreSQL) and Playwright and Context7 are harvested the
same way through `npx` with a pinned version (`mcpft catalogs refresh --npm`: needs Node and the npm registry or cache);
the rest are hand-curated copies of popular servers' catalogs (CURATED says where each comes from). Any other
stdio server is harvested with `mcpft catalogs harvest` (`harvest.py`); such a file's `harvest` block is stripped
when it is loaded.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.core.schema import Server
from mcpft_lib.mcp.harvest import HARVEST_KEY, alist_stdio, run_sync, schema_problem

CATALOG_DIR = Path(__file__).with_name("catalogs")


@dataclass(frozen=True)
class Harvestable:
    """How to start one real MCP server over stdio (`{repo}` in args becomes a scratch git repo)."""

    package: str  # PyPI distribution (runtime python) or npm package (runtime node)
    module: str  # python: run as `python -m module` (no activated venv needed); node: the npm version pinned
    args: tuple[str, ...] = ()
    description: str = ""
    needs_repo: bool = False
    env: dict[str, str] = field(default_factory=dict)
    runtime: str = "python"  # python | node (started with `npx --yes package@version`)

    def command(self, repo: str | None = None) -> tuple[str, list[str]]:
        """The command and arguments that start the server (this interpreter, or npx for npm servers)."""
        args = [a.replace("{repo}", repo or "") for a in self.args]
        if self.runtime == "node":
            npx = shutil.which("npx")
            if npx is None:
                raise RuntimeError(f"harvesting {self.package} needs Node.js (npx on PATH)")
            return npx, ["--yes", f"{self.package}@{self.module}", *args]
        return sys.executable, ["-m", self.module, *args]

    def version(self) -> str | None:
        return self.module if self.runtime == "node" else package_version(self.package)


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
    # every request goes to a closed local port (the proxy), so the server can never reach the network
    "fetch": Harvestable(
        package="mcp-server-fetch",
        module="mcp_server_fetch",
        args=("--proxy-url", "http://127.0.0.1:9"),
        description="Fetch a URL and return its content as Markdown (or raw HTML), in chunks.",
        env={"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""},
    ),
}

# npm reference servers (modelcontextprotocol/servers), pinned; tokens are dummies: tools/list needs no API
_NODE_ENV = {"PUPPETEER_SKIP_DOWNLOAD": "1", "npm_config_update_notifier": "false"}

NPM_HARVESTABLE: dict[str, Harvestable] = {
    "slack": Harvestable(
        package="@modelcontextprotocol/server-slack",
        module="2025.4.25",
        description="Read and post Slack messages: channels, threads, reactions, users.",
        env={**_NODE_ENV, "SLACK_BOT_TOKEN": "xoxb-not-a-token", "SLACK_TEAM_ID": "T00000000"},
        runtime="node",
    ),
    "brave_search": Harvestable(
        package="@modelcontextprotocol/server-brave-search",
        module="0.6.2",
        description="Web and local business search with the Brave Search API.",
        env={**_NODE_ENV, "BRAVE_API_KEY": "not-a-key"},
        runtime="node",
    ),
    "puppeteer": Harvestable(
        package="@modelcontextprotocol/server-puppeteer",
        module="2025.5.12",
        description="Browser automation with Puppeteer: navigate, screenshot, click, fill, run JavaScript.",
        env=_NODE_ENV,
        runtime="node",
    ),
    "sequential_thinking": Harvestable(
        package="@modelcontextprotocol/server-sequential-thinking",
        module="2026.8.31",
        description="Structured step-by-step thinking with revisions and branches.",
        env=_NODE_ENV,
        runtime="node",
    ),
    "postgres": Harvestable(
        package="@modelcontextprotocol/server-postgres",
        module="0.6.2",
        args=("postgresql://localhost:1/app",),  # nothing listens there: resources come back empty
        description="Read-only SQL queries and table schemas of a PostgreSQL database.",
        env=_NODE_ENV,
        runtime="node",
    ),
    "playwright": Harvestable(
        package="@playwright/mcp",
        module="0.0.83",
        args=("--headless", "--isolated"),
        description="Browser automation with Playwright: accessibility snapshots, clicks, typing, tabs.",
        env=_NODE_ENV,
        runtime="node",
    ),
    "context7": Harvestable(
        package="@upstash/context7-mcp",
        module="4.1.1",
        description="Up-to-date library documentation and code examples (Context7).",
        env=_NODE_ENV,
        runtime="node",
    ),
}  # not here: server-redis (exits without a live Redis), server-gitlab (its schemas lack "type": "object")

# Hand-written catalogs: tool names, descriptions and schemas copied from each server's source/README
# (these npm servers need live accounts or newer tool lists than their last npm release; mcp-server-sqlite
# needs mcp<2). `version` is None where unpinned.
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


async def aharvest(server_name: str, timeout: float = 60.0) -> Server:
    """Start a HARVESTABLE server over stdio, `initialize`, `tools/list` (all pages) and return its catalog
    (the one harvesting loop: `harvest.alist_stdio`)."""
    recipes = {**HARVESTABLE, **NPM_HARVESTABLE}
    if server_name not in recipes:
        raise KeyError(f"no harvest recipe for {server_name!r}; known: {sorted(recipes)}")
    spec = recipes[server_name]
    version = spec.version()
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
        listing = await alist_stdio(
            server_name, command, args, env=spec.env or None, cwd=tmp, timeout=timeout
        )
    return Server(
        name=server_name,
        description=spec.description,
        package=spec.package,
        version=version,
        tools=listing.tools,
        resources=listing.resources,
    )


def harvest(server_name: str, timeout: float = 60.0) -> Server:
    """Synchronous `aharvest` (safe to call from a notebook)."""
    return run_sync(lambda: aharvest(server_name, timeout))


def catalog_path(name: str, directory: Path | str | None = None) -> Path:
    return Path(directory or CATALOG_DIR) / f"{name}.json"


def dumps_catalog(server: Server) -> str:
    """Stable text for a catalog: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(server.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save_catalog(server: Server, directory: Path | str | None = None) -> Path:
    """Write `<directory>/<server.name>.json` atomically (tmp file + os.replace)."""

    return atomic_write(catalog_path(server.name, directory), dumps_catalog(server))


def catalog_names(directory: Path | str | None = None) -> list[str]:
    """Names of the stored catalogs, sorted."""
    return sorted(p.stem for p in Path(directory or CATALOG_DIR).glob("*.json"))


class CatalogError(ValueError):
    """A stored catalog that cannot be used; the message names the file (and the tool)."""


def validate_catalog(server: Server, source: str | Path = "<catalog>") -> Server:
    """Check a catalog's tools: unique names and valid JSON Schemas; CatalogError names file and tool."""
    problems, seen = [], set()
    for tool in server.tools:
        if tool.name in seen:
            problems.append(f"tool {tool.name!r}: defined twice")
        seen.add(tool.name)
        if why := schema_problem(tool.inputSchema):
            problems.append(f"tool {tool.name!r}: {why}")
    if problems:
        raise CatalogError(f"{source}: " + "; ".join(problems))
    return server


def load_catalog(name: str, directory: Path | str | None = None) -> Server:
    """Load one stored catalog by server name (validated: a bad file or schema is a CatalogError)."""
    from pydantic import ValidationError

    path = catalog_path(name, directory)
    if not path.is_file():
        raise FileNotFoundError(f"no catalog {name!r} at {path}; available: {catalog_names(directory)}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise CatalogError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except ValueError as e:
        raise CatalogError(f"{path}: not valid JSON: {e}") from None
    if isinstance(data, dict) and HARVEST_KEY in data:  # a harvested file: the block is not part of Server
        if not isinstance(data.pop(HARVEST_KEY), dict):
            raise CatalogError(f"{path}: {HARVEST_KEY}: must be an object")
    try:
        server = Server.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"])) or "<root>"
        loc = first["loc"]
        if len(loc) > 1 and loc[0] == "tools" and isinstance(loc[1], int):
            try:
                tool = data["tools"][loc[1]]["name"]
                where += f" (tool {tool!r})"
            except (KeyError, IndexError, TypeError, ValueError):
                pass
        more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise CatalogError(f"{path}: {where}: {first['msg']}{more}") from None
    if server.name != name:
        raise CatalogError(f"{path}: holds server {server.name!r}, expected {name!r} (the file's name)")
    return validate_catalog(server, path)


def load_catalogs(names: Iterable[str] | None = None, directory: Path | str | None = None) -> list[Server]:
    """Load the named catalogs (all stored ones, sorted by name, when `names` is None)."""
    return [load_catalog(n, directory) for n in (catalog_names(directory) if names is None else names)]


def regenerate_harvested(
    directory: Path | str | None = None, names: Iterable[str] | None = None, npm: bool = False
) -> list[Path]:
    """Re-harvest the real servers (default: HARVESTABLE, plus NPM_HARVESTABLE with `npm`) into the catalogs folder."""
    default = [*HARVESTABLE, *(NPM_HARVESTABLE if npm else ())]
    return [save_catalog(harvest(n), directory) for n in (names or default)]
