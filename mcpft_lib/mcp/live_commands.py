"""Your own live servers (`eval.live.commands`): any stdio MCP server started by its command line, checked before
any work, and replayed by `live.LiveRunner` with each call on a fresh process in a fresh folder.

`eval.live.commands: {NAME: [COMMAND, ARGS...]}` names a server as its catalog names it (the calls' `server`) and
the argv that starts it, never through a shell. `check_command` runs when the params are validated: the name is
a slug that is not a built-in live server, the command exists (on PATH, or a path), a relative path (the command,
or an argument naming an existing file or folder) starts at the project root and becomes absolute, and a script
argument (`.py`, `.js`, ...) that names no file is an error. `probe` starts the server once, before evaluation
loads a model, so a server that does not start or does not speak MCP fails first, naming its key.

At replay the server gets an empty folder of its own (`{dir}` in an argument becomes its path; it is also the
working directory), emptied and the process restarted before every call: every call starts from the server's own
initial state, so the model's call and the reference call can be compared on equal terms. The state a call
leaves is the folder's content (`folder_state`: SQLite databases by their tables and rows, other files by their
bytes); a server that keeps its state in memory is compared on its results alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from mcpft_lib.mcp.harvest import HarvestError, alist_stdio, run_sync

DIR = "{dir}"  # in an argument: the server's own folder
SLUG = r"^[a-z0-9_]+$"  # a server name, as harvested catalogs name servers
SCRIPTS = (".py", ".js", ".mjs", ".cjs", ".ts", ".sh")  # an argument with this suffix must name a file
SQLITE_HEADER = b"SQLite format 3\x00"
PROBE_TIMEOUT = 30.0


def check_command(name: str, argv: Sequence[str], builtin: Iterable[str], root: Path) -> list[str]:
    """`argv` of server `name` with its relative paths made absolute (from `root`); a ValueError that says what
    is wrong (the caller names the key): a bad name, a built-in server's name, an empty command, a command not
    found or not executable, a script missing."""
    if not re.match(SLUG, name):
        raise ValueError(f"a server name is a lowercase slug, [a-z0-9_]+ (its catalog's name), got {name!r}")
    if name in set(builtin):
        raise ValueError(
            f"{name!r} is a built-in live server (eval.live.servers lists those); give your server another name"
        )
    if not argv or not all(isinstance(a, str) for a in argv) or not argv[0].strip():
        raise ValueError(f"give the command as a list, [COMMAND, ARGS...], got {list(argv)!r}")
    command, *args = argv
    if "/" in command:
        path = _absolute(command, root)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ValueError(f"command {command!r} is not an executable file (looked at {path})")
        command = str(path)
    elif shutil.which(command) is None:
        raise ValueError(f"command {command!r} not found on PATH")
    out = [command]
    for a in args:
        if DIR in a or a.startswith("-"):
            out.append(a)
            continue
        path = _absolute(a, root)
        if ("/" in a or a.endswith(SCRIPTS)) and path.exists():
            out.append(str(path))
        elif a.endswith(SCRIPTS):
            raise ValueError(f"argument {a!r} names no file (looked at {path})")
        else:
            out.append(a)
    return out


def _absolute(p: str, root: Path) -> Path:
    """`p` from `root`, made absolute without following symlinks (`.venv/bin/python` stays the venv's)."""
    path = Path(p).expanduser()
    return Path(os.path.abspath(path if path.is_absolute() else root / path))


def expand(args: Sequence[str], folder: Path) -> list[str]:
    """The arguments with `{dir}` replaced by the server's folder (nothing else is replaced)."""
    return [a.replace(DIR, str(folder)) for a in args]


def folder_of(sandbox_dir: Path, name: str) -> Path:
    """The folder of server `name` inside a live sandbox."""
    return Path(sandbox_dir) / "servers" / name


def fresh_folder(sandbox_dir: Path, name: str) -> Path:
    """Server `name`'s folder, emptied (made when missing)."""
    folder = folder_of(sandbox_dir, name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def folder_state(folder: Path) -> str:
    """A digest of what a server left in its folder: each file by its path and bytes, a SQLite database by its
    tables' schemas and rows (sorted: row order and page layout do not count), rollback journals ignored."""
    h = hashlib.sha256()
    for p in sorted(Path(folder).rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_dir() or p.name.endswith(("-journal", "-wal", "-shm")):
            continue
        head = p.read_bytes()[:16] if p.is_file() else b""
        if head == SQLITE_HEADER:
            h.update(f"db {rel}\n".encode() + _database_digest(p).encode())
        elif p.is_file():
            h.update(f"f {rel} {hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()[:16]


def _database_digest(path: Path) -> str:
    conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name"):
            h.update(f"{kind} {name} {sql}\n".encode())
            if kind == "table":
                rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
                h.update(repr(sorted(map(repr, rows))).encode())
        return h.hexdigest()
    finally:
        conn.close()


def probe(name: str, argv: Sequence[str], timeout: float = PROBE_TIMEOUT) -> list[str]:
    """Start server `name` once in a scratch folder and list its tools; a ValueError naming
    `eval.live.commands.<name>` when it does not start or does not answer MCP within `timeout` seconds."""
    with tempfile.TemporaryDirectory(prefix=f"mcpft-probe-{name}-") as tmp:
        args = expand(argv[1:], Path(tmp))
        try:
            listing = run_sync(lambda: alist_stdio(name, argv[0], args, cwd=tmp, timeout=timeout))
        except HarvestError as e:
            raise ValueError(f"eval.live.commands.{name}: the server did not start: {e}") from None
    return [t.name for t in listing.tools]
