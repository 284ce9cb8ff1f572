"""Live execution: replay parsed tool calls against real MCP servers started locally over stdio.

Only allowlisted servers of `LIVE_SERVERS` run, each as a fixed argv (`python -m module ...`, never a shell) in
a temporary sandbox: `git` on a scratch repository, `filesystem`, `sqlite` and `memory` on the project's
sandboxed servers (`mcpft_lib.mcp.servers.sandbox_*`), `time` as is; the user's own servers
(`eval.live.commands`, kind `command`: `live_commands`) each call on a fresh process in a fresh folder. Before
each call the sandbox is seeded from the example's reference trajectory (the files it reads, the directories it
lists, the branches it checks out, the tables it lists, the memo and graph it reads), the way BFCL's multi-turn
tasks set an initial state; the reference's repository path maps to the scratch repository and a commit it shows
to HEAD. Each call gets a timeout; a server that hangs or crashes scores that call and is restarted for the next
one. Status of a call: ok / is_error / protocol_error / timeout / crashed / start_failed / not_allowlisted.

The sandbox is deterministic, so that two calls on the same seed can be compared the way BFCL's multi-turn
checker compares a model's execution with the ground truth's: the sqlite database holds a fixed set of rows
(`sql_rows`), seeded files and directories carry a fixed timestamp, git commits a fixed author date. After an
`ok` call the runner records `result_key` (a digest of the result, normalised: the sandbox's path masked,
JSON canonical, SQL rows as an unordered list of their values so column aliases do not count, the clock of
`volatile` tools masked) and `state_key` (a digest of the sandbox state the call left: files, database and
memo, graph, repository).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from contextlib import AsyncExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from random import Random
from typing import Any

from mcpft_lib.core import progressbar
from mcpft_lib.core.schema import RESOURCE_TOOL, Example, ToolCall
from mcpft_lib.mcp import live_commands
from mcpft_lib.mcp.catalogs import run_sync
from mcpft_lib.mcp.world import (
    COUNTRIES,
    ORDER_STATUSES,
    PEOPLE,
    PRODUCT_CATEGORIES,
    PRODUCTS,
    SQL_TABLES,
    email_of,
)

STATUSES = ("ok", "is_error", "protocol_error", "timeout", "crashed", "start_failed", "not_allowlisted")

RESULT_CHARS = 2000  # result text kept per call


@dataclass(frozen=True)
class ServerSpec:
    """How to start one live server: `python -m module *args`; `{root}` / `{repo}` become sandbox paths."""

    module: str
    args: tuple[str, ...] = ()
    kind: str = "plain"  # plain | filesystem | git | sqlite | memory: how the sandbox is seeded before a call
    volatile: tuple[str, ...] = ()  # tools that read the clock: the time of day is masked for result_key
    # kind "command": the user's own argv (`eval.live.commands`, `live_commands`) instead of `python -m module`
    command: tuple[str, ...] = ()


LIVE_SERVERS: dict[str, ServerSpec] = {
    "time": ServerSpec("mcp_server_time", ("--local-timezone", "UTC"), volatile=("get_current_time",)),
    "git": ServerSpec("mcp_server_git", ("--repository", "{repo}"), kind="git"),
    "filesystem": ServerSpec("mcpft_lib.mcp.servers.sandbox_fs", ("--root", "{root}"), kind="filesystem"),
    "sqlite": ServerSpec("mcpft_lib.mcp.servers.sandbox_sqlite", ("--db", "{db}"), kind="sqlite"),
    "memory": ServerSpec("mcpft_lib.mcp.servers.sandbox_memory", ("--file", "{graph}"), kind="memory"),
}

# git tools that leave the repository as they found it (no reseed needed after them)
_GIT_READ_ONLY = {
    "git_status",
    "git_diff_unstaged",
    "git_diff_staged",
    "git_diff",
    "git_log",
    "git_show",
    "git_branch",
}


@dataclass
class Job:
    """One call to replay; `example` supplies the seed state and the path mapping."""

    call: ToolCall
    example: Example | None = None
    key: str = ""


@dataclass
class Outcome:
    status: str
    text: str = ""
    seconds: float = 0.0
    result_key: str = ""  # digest of the normalised result (ok calls of LiveRunner; "" where not taken)
    state_key: str = ""  # digest of the sandbox state after the call (likewise)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "text": self.text, "seconds": round(self.seconds, 3)}


# ----------------------------------------------------------------------------------------------------------
# Seeds: the state the reference trajectory assumes


def _results(ex: Example) -> list[tuple[ToolCall, Any]]:
    """Every reference call of the example with the tool message that answers it (or None)."""
    out = []
    msgs = ex.messages
    for i, m in enumerate(msgs):
        if m.role != "assistant":
            continue
        answers = []
        for r in msgs[i + 1 :]:
            if r.role != "tool":
                break
            answers.append(r)
        for k, c in enumerate(m.calls):
            res = next((r for r in answers if r.call == c), answers[k] if k < len(answers) else None)
            out.append((c, res))
    return out


def fs_seed(ex: Example | None, server: str = "filesystem") -> tuple[dict[str, str], set[str]]:
    """Files (path -> content) and directories the example's reference filesystem calls expect to exist."""
    files: dict[str, str] = {}
    dirs: set[str] = set()
    if ex is None:
        return files, dirs
    for c, res in _results(ex):
        if c.server != server or (res is not None and res.is_error):
            continue  # a reference call that failed says the path is not there
        a, text = c.arguments, (res.content if res is not None else None)
        placeholder = f"seeded by mcpft for {c.tool}\n"
        if c.tool == "read_text_file" and isinstance(a.get("path"), str):
            full = text is not None and "head" not in a and "tail" not in a
            files.setdefault(a["path"], text if full else placeholder)
        elif c.tool in ("get_file_info",) and isinstance(a.get("path"), str):
            files.setdefault(a["path"], placeholder)
        elif c.tool == "move_file" and isinstance(a.get("source"), str):
            files.setdefault(a["source"], placeholder)
            dirs.add(str(PurePosixPath(str(a.get("destination", "/x"))).parent))
        elif c.tool == "edit_file" and isinstance(a.get("path"), str):
            olds = [str(e.get("oldText", "")) for e in a.get("edits", []) if isinstance(e, dict)]
            if not all(o in files.get(a["path"], "") for o in olds):  # keep a read's content that has them
                files[a["path"]] = "\n".join(olds) + "\n"
        elif c.tool == "read_multiple_files" and isinstance(a.get("paths"), list):
            for p in a["paths"]:
                if isinstance(p, str):
                    files.setdefault(p, placeholder)
        elif c.tool in ("list_directory", "list_directory_with_sizes", "directory_tree", "search_files"):
            if isinstance(a.get("path"), str):
                dirs.add(a["path"])
                if c.tool.startswith("list_directory") and text:
                    for line in text.splitlines():
                        kind, _, name = line.partition(" ")
                        name = name.split()[0] if name.split() else ""
                        if name and "/" not in name and name not in (".", ".."):
                            target = f"{a['path'].rstrip('/')}/{name}"
                            if kind == "[DIR]":
                                dirs.add(target)
                            elif kind == "[FILE]":
                                files.setdefault(target, placeholder)
        elif c.tool in ("write_file", "create_directory") and isinstance(a.get("path"), str):
            dirs.add(str(PurePosixPath(a["path"]).parent))
    return files, dirs


def git_seed(ex: Example | None, server: str = "git") -> dict[str, Any]:
    """Repository paths the example names (mapped to the scratch repo), files to create, branches to make."""
    seed: dict[str, Any] = {
        "repo_paths": set(),
        "files": set(),
        "branches": set(),
        "staged": False,
        "revisions": set(),
    }
    if ex is None:
        return seed
    for c, res in _results(ex):
        if c.server != server:
            continue
        a = c.arguments
        if isinstance(a.get("repo_path"), str):
            seed["repo_paths"].add(a["repo_path"].rstrip("/") or "/")
        if res is not None and res.is_error:
            continue
        if c.tool == "git_add" and isinstance(a.get("files"), list):
            seed["files"].update(f for f in a["files"] if isinstance(f, str) and f not in (".", "*"))
        if c.tool in ("git_commit", "git_diff_staged"):
            seed["staged"] = True
        rev = a.get("revision")
        if c.tool == "git_show" and isinstance(rev, str) and _SHA.fullmatch(rev):
            seed["revisions"].add(rev.lower())  # a commit the user means: the scratch repo's HEAD stands in
        for k in ("branch_name", "target", "base_branch"):
            v = a.get(k)
            if (
                isinstance(v, str)
                and _branch_like(v)
                and not (c.tool == "git_create_branch" and k == "branch_name")
            ):
                seed["branches"].add(v)
    return seed


_SHA = re.compile(r"[0-9a-fA-F]{7,40}")

_TABLE_NAME = re.compile(r"""(?:'name':\s*'|\(')([A-Za-z_][A-Za-z0-9_]*)'""")


def sql_rows(seed: int = 0) -> dict[str, list[tuple]]:
    """A fixed business database for the generator's tables (data.SQL_TABLES), drawn from its vocabularies
    (people, countries, products, statuses), so that a query's filter decides what it returns: one with the
    wrong country, status or threshold returns other rows than the reference's."""

    r = Random(seed)

    def day(start: int = 2022, years: int = 4) -> str:
        return f"{r.randrange(start, start + years)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}"

    users = [
        (i, name, email_of(name), r.choice(COUNTRIES), day())
        for i, name in enumerate(r.sample(PEOPLE, len(PEOPLE)) * 2, start=1)
    ]
    products = [
        (i, name, r.choice(PRODUCT_CATEGORIES), round(r.uniform(5, 900), 2), r.randrange(0, 60))
        for i, name in enumerate(PRODUCTS, start=1)
    ]
    orders = [
        (i, r.randrange(1, len(users) + 1), round(r.uniform(10, 2500), 2), r.choice(ORDER_STATUSES), day())
        for i in range(1, 121)
    ]
    items = [
        (i, r.randrange(1, len(orders) + 1), r.randrange(1, len(products) + 1), r.randrange(1, 5))
        for i in range(1, 201)
    ]
    kinds = ("login", "logout", "purchase", "page_view", "signup")
    events = [
        (i, r.randrange(1, len(users) + 1), r.choice(kinds), day() + f"T{r.randrange(24):02d}:00:00")
        for i in range(1, 151)
    ]
    return {"users": users, "products": products, "orders": orders, "order_items": items, "events": events}


def sqlite_seed(ex: Example | None, server: str = "sqlite") -> dict[str, Any]:
    """The database the example assumes: the generator's tables (data.SQL_TABLES), the tables its reference
    `list_tables` results name, and the memo its reference read of memo://insights shows."""

    tables = {name: [(c, t, pk) for c, t, pk in cols] for name, cols in SQL_TABLES.items()}
    memo = None
    for c, res in _results(ex) if ex is not None else []:
        if c.server != server or res is None or res.is_error:
            continue
        if c.tool == "list_tables":
            for name in _TABLE_NAME.findall(res.content):
                tables.setdefault(name, [("id", "INTEGER", 1)])
        elif c.tool == RESOURCE_TOOL and c.arguments.get("uri") == "memo://insights" and memo is None:
            memo = res.content
    return {"tables": tables, "memo": memo}


def memory_seed(ex: Example | None, server: str = "memory") -> dict[str, list]:
    """The knowledge graph the example assumes: every entity and relation its reference reads show, and the
    entities its reference observation edits need."""
    ents: dict[str, dict] = {}
    rels: list[dict] = []

    def entity(name: str, kind: str = "unknown") -> dict:
        return ents.setdefault(name, {"name": name, "entityType": kind, "observations": []})

    for c, res in _results(ex) if ex is not None else []:
        if c.server != server or (res is not None and res.is_error):
            continue
        a = c.arguments
        if c.tool in ("read_graph", "search_nodes", "open_nodes") and res is not None:
            try:
                g = json.loads(res.content)
            except ValueError:
                continue
            for e in g.get("entities", []) if isinstance(g, dict) else []:
                if isinstance(e, dict) and isinstance(e.get("name"), str):
                    have = entity(e["name"], str(e.get("entityType", "unknown")))
                    have["observations"] += [
                        o for o in e.get("observations", []) if o not in have["observations"]
                    ]
            for r in g.get("relations", []) if isinstance(g, dict) else []:
                if isinstance(r, dict) and r not in rels:
                    rels.append(r)
        elif c.tool == "add_observations":
            for o in a.get("observations", []):
                if isinstance(o, dict) and isinstance(o.get("entityName"), str):
                    entity(o["entityName"])
        elif c.tool == "delete_observations":
            for d in a.get("deletions", []):
                if isinstance(d, dict) and isinstance(d.get("entityName"), str):
                    e = entity(d["entityName"])
                    e["observations"] += [x for x in d.get("observations", []) if x not in e["observations"]]
    return {"entities": list(ents.values()), "relations": rels}


def _branch_like(v: str) -> bool:
    return bool(v) and not v.startswith(("-", "/")) and ".." not in v and " " not in v and "HEAD" not in v


SEED_MTIME = 1767268800  # 2026-01-01T12:00:00Z: every seeded file and directory carries it

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "mcpft",
    "GIT_AUTHOR_EMAIL": "mcpft@example.invalid",
    "GIT_COMMITTER_NAME": "mcpft",
    "GIT_COMMITTER_EMAIL": "mcpft@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,  # the user's ~/.gitconfig (signing, autocrlf) must not change results
    # fixed dates, in the raw form both git and GitPython read: the same tree gets the same commit hash
    "GIT_AUTHOR_DATE": f"{SEED_MTIME} +0000",
    "GIT_COMMITTER_DATE": f"{SEED_MTIME} +0000",
}


def _git_env() -> dict[str, str]:
    """The environment of every git command on the scratch repository: PATH, HOME, LANG and `_GIT_ENV`."""
    return {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}, **_GIT_ENV}


class Sandbox:
    """Temporary directories for one evaluation: `root` (filesystem server) and `repo` (git server)."""

    def __init__(self, parent: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="mcpft-live-", dir=parent))
        self.root = self.dir / "fs"
        self.repo = self.dir / "repo"
        self.db = self.dir / "sqlite" / "data.db"
        self.graph = self.dir / "memory" / "graph.json"
        self.root.mkdir()
        self.db.parent.mkdir()
        self.graph.parent.mkdir()
        self._git_state: tuple | None = None  # the scratch repository is made before the first git call

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def path_args(self) -> dict[str, str]:
        return {"root": str(self.root), "repo": str(self.repo), "db": str(self.db), "graph": str(self.graph)}

    def seed_memory(self, ex: Example | None, server: str = "memory") -> None:
        """The example's knowledge graph, swapped in between two calls."""
        tmp = self.graph.with_name("next.json")
        tmp.write_text(json.dumps(memory_seed(ex, server)), encoding="utf-8")
        os.replace(tmp, self.graph)

    def seed_sqlite(self, ex: Example | None, server: str = "sqlite") -> None:
        """A fresh database (the fixed rows of `sql_rows`; tables only the example names stay empty) and memo
        for the example, swapped in between two calls."""
        seed = sqlite_seed(ex, server)
        rows = sql_rows()
        tmp = self.db.with_name("next.db")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            for name, cols in seed["tables"].items():
                spec = ", ".join(f'"{c}" {t}' + (" PRIMARY KEY" if pk else "") for c, t, pk in cols)
                conn.execute(f'CREATE TABLE "{name}" ({spec})')
                if rows.get(name):
                    marks = ", ".join("?" * len(cols))
                    conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows[name])
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, self.db)
        memo = self.db.with_name(self.db.name + ".memo")
        if seed["memo"] is not None:
            memo.write_text(seed["memo"], encoding="utf-8")
        else:
            memo.unlink(missing_ok=True)

    def _inside(self, path: str) -> Path:
        parts = [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", "", ".")]
        if ".." in parts:
            raise ValueError(f"seed path {path!r} climbs out of the sandbox")
        return self.root.joinpath(*parts)

    def seed_fs(self, ex: Example | None, server: str = "filesystem") -> None:
        """Reset the filesystem root to the example's seed (the server keeps running)."""
        for child in self.root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        files, dirs = fs_seed(ex, server)
        for d in dirs:
            try:
                self._inside(d).mkdir(parents=True, exist_ok=True)
            except (ValueError, OSError):
                continue  # an unusable path in the seed: the call will simply fail
        for path, content in files.items():
            try:
                p = self._inside(path)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(content, encoding="utf-8")
            except (ValueError, OSError):
                continue
        for p in sorted(self.root.rglob("*"), reverse=True):  # children before their directory
            if not p.is_symlink():
                os.utime(p, (SEED_MTIME, SEED_MTIME))
        os.utime(self.root, (SEED_MTIME, SEED_MTIME))

    def _git(self, *args: str) -> None:
        subprocess.run(["git", "-C", str(self.repo), *args], check=True, capture_output=True, env=_git_env())

    def make_repo(self, seed: dict[str, Any]) -> None:
        """(Re)create the scratch repository: one commit, the seed's branches, files and staged change."""
        if shutil.which("git") is None:
            raise RuntimeError("live execution of the git server needs the git executable on PATH")
        shutil.rmtree(self.repo, ignore_errors=True)
        self.repo.mkdir()
        self._git("init", "-q", "-b", "main")
        (self.repo / "README.md").write_text("# scratch repository for mcpft live evaluation\n")
        (self.repo / "app.py").write_text("print('hello')\n")
        self._git("add", "README.md", "app.py")
        self._git("commit", "-q", "-m", "Initial commit")
        for b in sorted(seed["branches"]):
            if b != "main":
                try:
                    self._git("branch", b)
                except subprocess.CalledProcessError:
                    continue  # not a valid branch name
        (self.repo / "app.py").write_text("print('hello, world')\n")  # an unstaged change
        for f in sorted(seed["files"]):
            p = (self.repo / f).resolve()
            if self.repo.resolve() in p.parents:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(f"new file {f}\n")
        if seed["staged"]:
            (self.repo / "CHANGELOG.md").write_text("- staged change\n")
            self._git("add", "CHANGELOG.md")

    def seed_git(self, ex: Example | None, last_tool: str | None, server: str = "git") -> dict[str, Any]:
        """Recreate the repository when the seed changes or the previous call may have changed it."""
        seed = git_seed(ex, server)
        state = (tuple(sorted(seed["files"])), tuple(sorted(seed["branches"])), seed["staged"])
        if state != self._git_state or (last_tool is not None and last_tool not in _GIT_READ_ONLY):
            self.make_repo(seed)
            self._git_state = state
        return seed

    def snapshot(self, kind: str) -> str:
        """A digest of the state a server of `kind` works on: what a call changed, or left alone."""
        h = hashlib.sha256()
        if kind == "filesystem":
            for p in sorted(self.root.rglob("*")):
                rel = p.relative_to(self.root).as_posix()
                if p.is_symlink():
                    h.update(f"l {rel} -> {os.readlink(p)}\n".encode())
                elif p.is_dir():
                    h.update(f"d {rel}\n".encode())
                else:
                    h.update(f"f {rel} {hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
        elif kind == "sqlite":  # each table's columns (types case-folded, as SQLite reads them) and rows
            conn = sqlite3.connect(self.db.as_uri() + "?mode=ro", uri=True)
            try:
                objects = conn.execute("SELECT type, name FROM sqlite_master ORDER BY type, name").fetchall()
                for kind_, name in objects:
                    h.update(f"{kind_} {name}\n".encode())
                    if kind_ != "table":
                        continue
                    cols = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
                    h.update(repr([(c[1], c[2].lower(), c[3], c[4], c[5]) for c in cols]).encode())
                    rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
                    h.update(repr(sorted(map(repr, rows))).encode())
            finally:
                conn.close()
            memo = self.db.with_name(self.db.name + ".memo")
            h.update(memo.read_bytes() if memo.is_file() else b"(no memo)")
        elif kind == "memory":  # entities, their observations and relations as sets
            try:
                g = json.loads(self.graph.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                g = None
            if isinstance(g, dict):
                ents = sorted(
                    json.dumps(
                        {**e, "observations": sorted(map(str, e.get("observations", [])))}, sort_keys=True
                    )
                    for e in g.get("entities", [])
                    if isinstance(e, dict)
                )
                rels = sorted(json.dumps(r, sort_keys=True) for r in g.get("relations", []))
                h.update(json.dumps([ents, rels]).encode())
            else:
                h.update(b"(no graph)")
        elif kind == "git":
            env = _git_env()
            for args in (
                ("for-each-ref", "--format=%(refname) %(objectname)"),
                ("rev-parse", "--abbrev-ref", "HEAD"),
                ("rev-parse", "HEAD"),  # a detached HEAD: which commit
                ("status", "--porcelain=v1", "--untracked-files=all"),
                ("diff", "HEAD"),
                ("diff", "--cached"),
            ):
                r = subprocess.run(
                    ["git", "-C", str(self.repo), *args], capture_output=True, env=env, timeout=30
                )
                h.update(r.stdout + b"\0" + str(r.returncode).encode() + b"\n")
        return h.hexdigest()[:16]

    def map_git_args(self, args: dict[str, Any], seed: dict[str, Any]) -> dict[str, Any]:
        """The reference's repository path (what the user named) means the scratch repository."""
        out = dict(args)
        rp = args.get("repo_path")
        if isinstance(rp, str) and (rp.rstrip("/") or "/") in seed["repo_paths"]:
            out["repo_path"] = str(self.repo)
        rev = args.get("revision")
        if isinstance(rev, str) and rev.lower() in seed["revisions"]:
            out["revision"] = "HEAD"
        return out


# ----------------------------------------------------------------------------------------------------------
# The runner


def _text(result: Any, limit: int | None = RESULT_CHARS) -> str:
    d = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    parts = []
    for block in d.get("content", d.get("contents", [])):
        if "text" in block:
            parts.append(str(block["text"]))
        else:
            parts.append(json.dumps(block)[:200])
    if not parts and d.get("structuredContent") is not None:
        parts.append(json.dumps(d["structuredContent"]))
    return "\n".join(parts)[:limit]


_CLOCK = re.compile(r"(?<=T)\d{2}:\d{2}:\d{2}(?:\.\d+)?")


def normalise_result(text: str, sandbox_dirs: Iterable[str] = (), volatile: bool = False) -> str:
    """The part of a result two equivalent calls share: sandbox paths masked, the time of day masked where the
    tool reads the clock, JSON in canonical form, a list of SQL rows as the sorted list of their values (column
    aliases and row order do not count), other text with its whitespace collapsed."""
    for d in sorted(sandbox_dirs, key=len, reverse=True):
        text = text.replace(d, "<sandbox>")
    if volatile:
        text = _CLOCK.sub("<clock>", text)
    stripped = text.strip()
    try:
        return json.dumps(json.loads(stripped), sort_keys=True)
    except (ValueError, RecursionError):
        pass
    if stripped.startswith("[") and len(stripped) < 1_000_000:
        try:
            rows = ast.literal_eval(stripped)  # literals only: no names, calls or attribute access
        except Exception:  # not a literal, or one that cannot be built (e.g. an unhashable key)
            rows = None
        if isinstance(rows, list) and all(isinstance(x, dict) for x in rows):
            return repr(sorted(repr(tuple(x.values())) for x in rows))
    return " ".join(text.split())


def result_key(text: str, sandbox_dirs: Iterable[str] = (), volatile: bool = False) -> str:
    return hashlib.sha256(normalise_result(text, sandbox_dirs, volatile).encode()).hexdigest()[:16]


def result_outcome(tool: str, result: Any) -> Outcome:
    """The outcome of a call that answered: a resource read is ok, a tool call ok unless it set isError."""
    if tool == RESOURCE_TOOL:
        return Outcome("ok", _text(result))
    return Outcome("is_error" if result.is_error else "ok", _text(result))


def failure_outcome(e: BaseException, timeout_s: float) -> Outcome:
    """The outcome of a call that raised: the request timed out, the server went away, or it answered with a
    protocol error. `timeout` and `crashed` leave the session unusable (the caller restarts the server)."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    if isinstance(e, MCPError):
        if e.code == REQUEST_TIMEOUT:
            return Outcome("timeout", f"no answer in {timeout_s:g} s")
        if e.code == CONNECTION_CLOSED:
            return Outcome("crashed", "the server closed the connection")
        return Outcome("protocol_error", f"{e.code}: {e.message}"[:RESULT_CHARS])
    if isinstance(e, TimeoutError):
        return Outcome("timeout", f"no answer in {timeout_s:g} s")
    # a broken transport: the process died or its pipes closed
    return Outcome("crashed", repr(e)[:RESULT_CHARS])


class LiveRunner:
    """Run jobs against allowlisted live servers; one server process at a time, restarted after a failure."""

    def __init__(
        self,
        allow: Iterable[str],
        timeout_s: float = 10.0,
        start_timeout_s: float = 30.0,
        specs: dict[str, ServerSpec] | None = None,
        server_of: dict[str, str] | None = None,
    ):
        self.specs = dict(LIVE_SERVERS if specs is None else specs)
        unknown = sorted(set(allow) - set(self.specs))
        if unknown:
            raise ValueError(f"no live recipe for servers {unknown}; known: {sorted(self.specs)}")
        self.allow = list(dict.fromkeys(allow))
        self.timeout_s = float(timeout_s)
        self.start_timeout_s = float(start_timeout_s)
        self.server_of = server_of or {}  # catalog name -> live spec name (defaults to the same name)
        self.starts: dict[str, int] = {}

    def run(self, jobs: list[Job], desc: str | None = None) -> list[Outcome]:
        """Synchronous entry point (also safe inside a running event loop, e.g. Jupyter). With `desc` a progress
        bar of that name counts the calls done (`core.progressbar`)."""

        with progressbar.bar(total=len(jobs), desc=desc, unit="call") if desc else nullcontext() as bar:
            return run_sync(lambda: self.arun(jobs, bar))

    async def arun(self, jobs: list[Job], bar=None) -> list[Outcome]:
        out: list[Outcome | None] = [None] * len(jobs)
        by_server: dict[str, list[int]] = {}
        for i, job in enumerate(jobs):
            name = self.server_of.get(job.call.server, job.call.server)
            if name not in self.allow:
                out[i] = Outcome("not_allowlisted", f"server {job.call.server!r} is not allowlisted")
            else:
                by_server.setdefault(name, []).append(i)
        if bar is not None and (skipped := sum(o is not None for o in out)):
            bar.update(skipped)
        sandbox = Sandbox()
        try:
            for name, idx in by_server.items():
                outcomes = await self._serve(name, [jobs[i] for i in idx], sandbox, bar)
                for i, o in zip(idx, outcomes, strict=True):
                    out[i] = o
        finally:
            sandbox.close()
        return [o for o in out if o is not None]

    async def _start(self, name: str, sandbox: Sandbox, stack: AsyncExitStack, errlog):
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        spec = self.specs[name]
        if spec.kind == "command":  # the user's own server, in its own folder
            folder = live_commands.folder_of(sandbox.dir, name)
            cmd, args, cwd = spec.command[0], live_commands.expand(spec.command[1:], folder), folder
        else:
            cmd, cwd = sys.executable, sandbox.dir
            args = ["-m", spec.module, *(a.format(**sandbox.path_args()) for a in spec.args)]
        params = StdioServerParameters(
            command=cmd,
            args=args,
            cwd=str(cwd),
            env=dict(_GIT_ENV) if spec.kind == "git" else None,  # its commits get the fixed dates too
        )
        read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        session = await stack.enter_async_context(
            ClientSession(read, write, read_timeout_seconds=self.start_timeout_s)
        )
        await session.initialize()
        self.starts[name] = self.starts.get(name, 0) + 1
        return session

    async def _serve(self, name: str, jobs: list[Job], sandbox: Sandbox, bar=None) -> list[Outcome]:
        """Each job on server `name`, in order; `bar` (or None) advances as each one ends."""
        import anyio

        spec = self.specs[name]
        outcomes: list[Outcome] = []
        stack: AsyncExitStack | None = None
        session = None
        last_tool: str | None = None
        failed_starts = 0
        errlog = open(sandbox.dir / f"{name}.stderr.log", "w+", encoding="utf-8")  # noqa: SIM115

        async def close() -> None:
            nonlocal stack, session
            if stack is not None:
                # no cancel scope of our own around it: the transport's scopes must exit in order, and its
                # shutdown is already bounded (stdin close, grace period, kill)
                try:
                    await stack.aclose()
                except Exception:  # the server is already gone; its transport may complain
                    pass
            stack, session = None, None

        try:
            for job in _counted(jobs, bar):
                t0 = time.perf_counter()
                call = job.call
                args = dict(call.arguments)
                try:
                    if spec.kind == "filesystem":
                        sandbox.seed_fs(job.example, call.server)
                    elif spec.kind == "sqlite":
                        sandbox.seed_sqlite(job.example, call.server)
                    elif spec.kind == "memory":
                        sandbox.seed_memory(job.example, call.server)
                    elif spec.kind == "git":
                        seed = sandbox.seed_git(job.example, last_tool, call.server)
                        args = sandbox.map_git_args(args, seed)
                    elif spec.kind == "command":  # a fresh process in an empty folder: its own initial state
                        await close()
                        live_commands.fresh_folder(sandbox.dir, name)
                except (OSError, subprocess.CalledProcessError, RuntimeError, sqlite3.Error) as e:
                    outcomes.append(Outcome("start_failed", f"sandbox setup failed: {e}"))
                    continue
                last_tool = call.tool
                if session is None:
                    if failed_starts >= 2:
                        outcomes.append(Outcome("start_failed", f"{name} failed to start twice; not retried"))
                        continue
                    stack = AsyncExitStack()
                    try:
                        session = await self._start(name, sandbox, stack, errlog)
                        failed_starts = 0
                    except Exception as e:
                        await close()
                        failed_starts += 1
                        errlog.seek(0)
                        outcomes.append(Outcome("start_failed", f"{e!r}\n{errlog.read()[-800:]}"))
                        continue
                try:
                    with anyio.fail_after(self.timeout_s + 5):  # backstop over the request timeout
                        if call.tool == RESOURCE_TOOL:
                            res = await session.read_resource(str(args.get("uri", "")))
                        else:
                            res = await session.call_tool(
                                call.tool, args, read_timeout_seconds=self.timeout_s
                            )
                    o = result_outcome(call.tool, res)
                except Exception as e:
                    o = failure_outcome(e, self.timeout_s)
                if o.ok:  # keys left empty where they cannot be taken: exec_match is then not scored
                    dirs = {str(sandbox.dir), str(sandbox.dir.resolve())}
                    try:
                        o.result_key = result_key(_text(res, None), dirs, call.tool in spec.volatile)
                        o.state_key = (
                            live_commands.folder_state(live_commands.folder_of(sandbox.dir, name))
                            if spec.kind == "command"
                            else sandbox.snapshot(spec.kind)
                        )
                    except Exception as e:  # a harness fault must not end the evaluation
                        o.result_key = o.state_key = ""
                        o.text = f"{o.text}\n[mcpft: result or state not comparable: {e!r}]"[:RESULT_CHARS]
                o.seconds = time.perf_counter() - t0
                if o.status in ("timeout", "crashed"):
                    await close()  # restarted for the next job
                outcomes.append(o)
        finally:
            await close()
            errlog.close()
        return outcomes


def _counted(items: list, bar):
    """`items`, advancing `bar` (or None) by one as the loop body of each ends (by `continue` too)."""
    for x in items:
        yield x
        if bar is not None:
            bar.update(1)


def execute(
    calls: list[ToolCall],
    examples: list[Example | None] | None = None,
    allow: Iterable[str] = ("time",),
    **kw,
) -> list[Outcome]:
    """Convenience: run `calls` (with their examples' seeds) on the allowlisted live servers."""
    examples = examples or [None] * len(calls)
    return LiveRunner(allow, **kw).run([Job(c, e) for c, e in zip(calls, examples, strict=True)])
