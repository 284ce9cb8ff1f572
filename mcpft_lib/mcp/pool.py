"""The server pool: catalogs harvested from many public MCP servers (PyPI and npm), for breadth of tool lists.

`pool/candidates.yaml` says how to harvest each candidate (an exact `pypi:` or `npm:` spec, the command and args
when not the package's own entry point, dummy env, a `family` that groups one service's or vendor's servers, a
`description` for a server that gives none). `harvest_pool` (`mcpft catalogs pool`) harvests them into
`pool/<name>.json` (the `harvest` file format of `harvest.py`) and records every candidate that failed, with the
reason, in `pool/failures.json`; a failure never deletes a catalog harvested before unless `prune` is asked.

The loader API reads only the committed files (no network): `pool_names()`, `load_pool()`, `harvest_info(name)`,
`families()`, `failures()`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mcpft_lib.core.fsutil import read_yaml, write_json
from mcpft_lib.core.schema import Server
from mcpft_lib.mcp.catalogs import CatalogError, catalog_names, validate_catalog
from mcpft_lib.mcp.harvest import (
    DEFAULT_TIMEOUT,
    HARVEST_KEY,
    HarvestError,
    harvest_server,
    parse_spec,
    portable,
    save_harvest,
    utc_now,
)

POOL_DIR = Path(__file__).with_name("pool")
CANDIDATES = "candidates.yaml"
FAILURES = "failures.json"


class Candidate(BaseModel):
    """One server of candidates.yaml."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    pypi: str | None = None  # PKG==VERSION
    npm: str | None = None  # PKG@VERSION
    pip_with: list[str] = Field(default_factory=list, alias="with")  # more PyPI requirements, e.g. "mcp<2"
    family: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str | None = None  # used when the server describes itself nowhere
    command: str | None = None  # default: the package's entry point
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT

    @model_validator(mode="after")
    def _one_exact_source(self) -> Candidate:
        if (self.pypi is None) == (self.npm is None):
            raise ValueError("give exactly one of pypi: PKG==VERSION or npm: PKG@VERSION")
        parse_spec(
            "pypi" if self.pypi else "npm", self.spec
        )  # exact versions only, checked before any install
        return self

    @property
    def spec(self) -> str:
        return self.pypi or self.npm or ""


def load_candidates(directory: Path | str | None = None) -> list[Candidate]:
    """candidates.yaml (a list of candidates), validated: an error names the file, the entry and the key."""
    path = Path(directory or POOL_DIR) / CANDIDATES
    raw = read_yaml(path)
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of candidates")
    out, seen, builtin = [], set(), set(catalog_names())
    for i, entry in enumerate(raw):
        label = f"{path}: entry {i + 1}" + (f" ({entry.get('name')!r})" if isinstance(entry, dict) else "")
        try:
            cand = Candidate.model_validate(entry)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(map(str, first["loc"])) or "<entry>"
            raise ValueError(f"{label}: {where}: {first['msg']}") from None
        if cand.name in seen:
            raise ValueError(f"{label}: name {cand.name!r} given twice")
        if cand.name in builtin:
            raise ValueError(f"{label}: name {cand.name!r} is a built-in catalog (mcpft_lib/mcp/catalogs/)")
        seen.add(cand.name)
        out.append(cand)
    return out


def harvest_candidate(cand: Candidate, out: Path | str) -> tuple[Path, list[dict[str, str]]]:
    """Harvest one candidate into `<out>/<name>.json`; returns the path and the rejected tools."""
    h = harvest_server(
        cand.name,
        cand.command,
        cand.args,
        env=cand.env,
        timeout=cand.timeout,
        pypi=cand.pypi,
        npm=cand.npm,
        pip_with=cand.pip_with,
        default_description=cand.description,
        extra_info={"family": cand.family},
    )
    return save_harvest(h, out), h.rejected


def failure_reason(exc: BaseException) -> str:
    """The first line of a harvest error, and the last line the server wrote on stderr (usually its own
    error), with the cache folder as $MCPFT_CACHE."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip() and "complete log of this run" not in ln]
    if not lines:
        return type(exc).__name__
    reason = lines[0]
    if len(lines) > 2 and not lines[-1].lstrip().startswith("command:"):
        reason += "\n" + lines[-1].strip()[:300]
    return portable(reason)


def harvest_pool(
    only: Iterable[str] | None = None,
    jobs: int = 3,
    prune: bool = False,
    directory: Path | str | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Harvest the candidates (all, or `only`) `jobs` at a time into the pool folder and write failures.json.

    A failed candidate keeps the catalog it had unless `prune`; `prune` also removes catalogs of names that
    are no longer candidates. Returns {"ok": [names], "failed": {name: reason}, "seconds": ...}."""
    directory = Path(directory or POOL_DIR)
    cands = load_candidates(directory)
    if only:
        wanted, known = list(only), {c.name for c in cands}
        if unknown := sorted(set(wanted) - known):
            raise ValueError(f"not in {directory / CANDIDATES}: {', '.join(unknown)}")
        cands = [c for c in cands if c.name in set(wanted)]
    if jobs < 1:
        raise ValueError(f"--jobs {jobs}: give 1 or more")
    start = time.monotonic()
    ok: list[str] = []
    failed: dict[str, dict[str, str]] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(harvest_candidate, c, directory): c for c in cands}
        for n, fut in enumerate(as_completed(futures), 1):
            cand = futures[fut]
            try:
                path, rejected = fut.result()
            except (HarvestError, ValueError, OSError) as e:
                reason = failure_reason(e)
                failed[cand.name] = {
                    "name": cand.name,
                    "spec": cand.spec,
                    "reason": reason,
                    "date": utc_now(),
                }
                say(f"[{n}/{len(cands)}] FAILED {cand.name} ({cand.spec}): {str(e).splitlines()[0]}")
                continue
            ok.append(cand.name)
            tools = len(json.loads(path.read_text(encoding="utf-8"))["tools"])
            note = f", {len(rejected)} rejected: " + "; ".join(
                f"{r['tool']}: {r['reason']}" for r in rejected
            ) if rejected else ""  # fmt: skip
            say(f"[{n}/{len(cands)}] ok {cand.name}: {tools} tools{note}")
    # failures.json: this run's failures, plus earlier ones of candidates this run did not try
    names = {c.name for c in load_candidates(directory)}
    tried = {c.name for c in cands}
    earlier = [f for f in failures(directory) if f["name"] in names and f["name"] not in tried]
    write_json(directory / FAILURES, sorted([*earlier, *failed.values()], key=lambda f: f["name"]))
    if prune:
        for name in pool_names(directory):
            if name in failed or name not in names:
                (directory / f"{name}.json").unlink()
                say(f"pruned {name}")
    _read.cache_clear()
    return {"ok": sorted(ok), "failed": failed, "seconds": time.monotonic() - start}


# ---------------------------------------------------------------------------------------------- loader API


def pool_names(directory: Path | str | None = None) -> list[str]:
    """Names of the harvested pool catalogs, sorted."""
    d = Path(directory or POOL_DIR)
    return sorted(p.stem for p in d.glob("*.json") if p.name != FAILURES)


@cache
def _read(path: Path, mtime_ns: int) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _raw(name: str, directory: Path | str | None) -> dict[str, Any]:
    path = Path(directory or POOL_DIR) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no pool catalog {name!r} at {path}")
    return _read(path, path.stat().st_mtime_ns)


def load_pool(
    names: Iterable[str] | None = None, directory: Path | str | None = None, *, full_check: bool = False
) -> list[Server]:
    """The pool's servers (all, or `names`), sorted by name. Each file is validated as a `Server` (unknown keys
    refused) with a `harvest` block, unique tool names and object inputSchemas; `full_check` also checks every
    inputSchema against its JSON Schema meta-schema (`catalogs.validate_catalog`: ~10 ms a tool, which the
    harvest did when it screened the tools, and tests/test_pool.py does for the committed pool)."""
    d = Path(directory or POOL_DIR)
    servers = []
    for name in pool_names(d) if names is None else sorted(names):
        path = d / f"{name}.json"
        try:
            data = dict(_raw(name, d))
        except ValueError as e:
            raise CatalogError(f"{path}: not valid JSON: {e}") from None
        if not isinstance(data.pop(HARVEST_KEY, None), dict):
            raise CatalogError(f"{path}: no {HARVEST_KEY!r} block (an object): not a harvested catalog")
        try:
            server = Server.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            raise CatalogError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
        if server.name != name:
            raise CatalogError(f"{path}: holds server {server.name!r}, expected {name!r} (the file's name)")
        seen: set[str] = set()
        for tool in server.tools:
            if tool.name in seen:
                raise CatalogError(f"{path}: tool {tool.name!r}: defined twice")
            seen.add(tool.name)
            if tool.inputSchema.get("type", "object") != "object":
                raise CatalogError(f"{path}: tool {tool.name!r}: inputSchema must describe an object")
        servers.append(validate_catalog(server, path) if full_check else server)
    return servers


def harvest_info(name: str, directory: Path | str | None = None) -> dict[str, Any]:
    """The harvest block of one pool catalog: family, package, version, date, source, spec, command, env keys,
    protocol version, serverInfo, rejected tools."""
    info = _raw(name, directory).get(HARVEST_KEY)
    if not isinstance(info, dict):
        raise CatalogError(f"pool catalog {name!r}: no {HARVEST_KEY!r} block")
    return dict(info)


def families(directory: Path | str | None = None) -> dict[str, list[str]]:
    """Family slug -> the pool servers of that service or vendor (sorted)."""
    out: dict[str, list[str]] = {}
    for name in pool_names(directory):
        out.setdefault(harvest_info(name, directory).get("family") or name, []).append(name)
    return dict(sorted(out.items()))


def failures(directory: Path | str | None = None) -> list[dict[str, str]]:
    """The candidates that could not be harvested: name, spec, reason, date."""
    path = Path(directory or POOL_DIR) / FAILURES
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))
