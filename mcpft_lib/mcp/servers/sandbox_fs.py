"""A sandboxed filesystem MCP server: the filesystem catalog's tools, confined to one directory.

`python -m mcpft_lib.mcp.servers.sandbox_fs --root DIR` serves over stdio. Every path the client sends is read
as a path inside DIR (an absolute path `/a/b` means `DIR/a/b`), so a model's paths from the prompt map into
the sandbox. A path that climbs out with `..`, or that reaches outside through a symlink, is refused with
an error result (`isError`), never followed. Tool names and arguments follow mcpft_lib/mcp/catalogs/filesystem.json
(the npm `@modelcontextprotocol/server-filesystem` catalog).
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import BaseModel, Field

MAX_READ = 1_000_000  # bytes returned per file


class Edit(BaseModel):
    oldText: str = Field(description="Text to search for - must match exactly")
    newText: str = Field(description="Text to replace with")


class Sandbox:
    """Maps client paths into `root` and refuses any that would leave it."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve(strict=True)

    def resolve(self, path: str) -> Path:
        from mcp.server.mcpserver.exceptions import ToolError

        if not isinstance(path, str) or not path.strip() or "\x00" in path:
            raise ToolError(f"Invalid path {path!r}")
        parts: list[str] = []
        for part in PurePosixPath(path.replace("\\", "/")).parts:
            if part in ("/", "", "."):
                continue
            if part == "..":
                if not parts:
                    raise ToolError(f"Access denied - path outside the sandbox: {path}")
                parts.pop()
            else:
                parts.append(part)
        real = self.root.joinpath(*parts).resolve()  # follows symlinks: the target must stay inside too
        if real != self.root and self.root not in real.parents:
            raise ToolError(f"Access denied - path outside the sandbox: {path}")
        return real

    def show(self, real: Path) -> str:
        """The client's view of a sandbox path (absolute, rooted at the sandbox)."""
        rel = real.relative_to(self.root).as_posix()
        return "/" if rel == "." else "/" + rel


def build_server(root: str | os.PathLike[str]):
    """The MCPServer with the filesystem tools over a sandbox at `root`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    box = Sandbox(root)
    server = MCPServer(
        "filesystem", instructions="Sandboxed filesystem: all paths live inside one directory."
    )

    def existing(path: str, kind: str | None = None) -> Path:
        p = box.resolve(path)
        if not p.exists():
            raise ToolError(f"ENOENT: no such file or directory, '{path}'")
        if kind == "file" and not p.is_file():
            raise ToolError(f"EISDIR: not a file, '{path}'")
        if kind == "dir" and not p.is_dir():
            raise ToolError(f"ENOTDIR: not a directory, '{path}'")
        return p

    def read(p: Path) -> str:
        with open(p, encoding="utf-8", errors="replace") as f:
            return f.read(MAX_READ)

    @server.tool(
        description="Read the complete contents of a file as text (head/tail: first or last N lines)."
    )
    def read_text_file(path: str, head: int | None = None, tail: int | None = None) -> str:
        if head is not None and tail is not None:
            raise ToolError("Cannot specify both head and tail parameters simultaneously")
        text = read(existing(path, "file"))
        lines = text.splitlines(keepends=True)
        if head is not None:
            return "".join(lines[: max(0, int(head))])
        if tail is not None:
            return "".join(lines[-int(tail) :]) if int(tail) > 0 else ""
        return text

    @server.tool(description="Read several files at once; a failed read is reported per file.")
    def read_multiple_files(paths: Annotated[list[str], Field(min_length=1)]) -> str:
        out = []
        for path in paths:
            try:
                out.append(f"{path}:\n{read(existing(path, 'file'))}")
            except ToolError as e:
                out.append(f"{path}: Error - {e}")
        return "\n---\n".join(out)

    @server.tool(description="Create a new file or overwrite an existing one.")
    def write_file(path: str, content: str) -> str:
        p = box.resolve(path)
        if not p.parent.is_dir():
            raise ToolError(f"ENOENT: parent directory does not exist, '{path}'")
        p.write_text(content, encoding="utf-8")
        return f"Successfully wrote to {path}"

    @server.tool(description="Replace exact text in a file; returns a git-style diff.")
    def edit_file(path: str, edits: list[Edit], dryRun: bool = False) -> str:
        p = existing(path, "file")
        old = read(p)
        new = old
        for e in edits:
            if e.oldText not in new:
                raise ToolError(f"Could not find exact match for edit:\n{e.oldText}")
            new = new.replace(e.oldText, e.newText, 1)
        diff = "".join(
            difflib.unified_diff(old.splitlines(True), new.splitlines(True), fromfile=path, tofile=path)
        )
        if not dryRun:
            p.write_text(new, encoding="utf-8")
        return diff or "No changes"

    @server.tool(description="Create a directory (and missing parents); succeeds if it exists.")
    def create_directory(path: str) -> str:
        box.resolve(path).mkdir(parents=True, exist_ok=True)
        return f"Successfully created directory {path}"

    def entries(path: str) -> list[Path]:
        return sorted(existing(path, "dir").iterdir(), key=lambda q: q.name)

    @server.tool(description="List the files and directories in a directory ([FILE] / [DIR] prefixes).")
    def list_directory(path: str) -> str:
        return "\n".join(f"{'[DIR]' if q.is_dir() else '[FILE]'} {q.name}" for q in entries(path))

    @server.tool(description="List a directory with file sizes, sorted by name or size.")
    def list_directory_with_sizes(path: str, sortBy: str = "name") -> str:
        if sortBy not in ("name", "size"):
            raise ToolError(f"sortBy must be 'name' or 'size', not {sortBy!r}")
        items = entries(path)
        if sortBy == "size":
            items.sort(key=lambda q: -q.stat().st_size if q.is_file() else 0)
        return "\n".join(
            f"[DIR] {q.name}" if q.is_dir() else f"[FILE] {q.name:<30} {q.stat().st_size} B" for q in items
        )

    def excluded(rel: str, patterns: list[str]) -> bool:
        return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(Path(rel).name, pat) for pat in patterns)

    @server.tool(description="A recursive JSON tree of files and directories.")
    def directory_tree(path: str, excludePatterns: list[str] | None = None) -> str:
        start = existing(path, "dir")

        def walk(d: Path) -> list[dict]:
            out = []
            for q in sorted(d.iterdir(), key=lambda x: x.name):
                if excluded(q.relative_to(start).as_posix(), excludePatterns or []):
                    continue
                node: dict = {"name": q.name, "type": "directory" if q.is_dir() else "file"}
                if q.is_dir() and not q.is_symlink():
                    node["children"] = walk(q)
                out.append(node)
            return out

        return json.dumps(walk(start), indent=2)

    @server.tool(description="Move or rename a file or directory; fails if the destination exists.")
    def move_file(source: str, destination: str) -> str:
        src, dst = existing(source), box.resolve(destination)
        if dst.exists():
            raise ToolError(f"Destination already exists: {destination}")
        if not dst.parent.is_dir():
            raise ToolError(f"ENOENT: parent directory does not exist, '{destination}'")
        src.rename(dst)
        return f"Successfully moved {source} to {destination}"

    @server.tool(description="Recursively find files and directories whose names match a glob pattern.")
    def search_files(path: str, pattern: str, excludePatterns: list[str] | None = None) -> str:
        start = existing(path, "dir")
        hits = []
        for q in sorted(start.rglob("*")):
            rel = q.relative_to(start).as_posix()
            if excluded(rel, excludePatterns or []):
                continue
            if fnmatch.fnmatch(q.name, pattern) or fnmatch.fnmatch(rel, pattern):
                hits.append(box.show(q))
        return "\n".join(hits) if hits else "No matches found"

    @server.tool(description="Size, times, type and permissions of a file or directory.")
    def get_file_info(path: str) -> str:
        st = existing(path).stat()

        def ts(t: float) -> str:
            return datetime.fromtimestamp(t, UTC).isoformat()

        p = box.resolve(path)
        return "\n".join(
            [
                f"size: {st.st_size}",
                f"modified: {ts(st.st_mtime)}",
                f"accessed: {ts(st.st_atime)}",
                f"isDirectory: {p.is_dir()}",
                f"isFile: {p.is_file()}",
                f"permissions: {oct(st.st_mode)[-3:]}",
            ]
        )

    @server.tool(description="The directories this server may access.")
    def list_allowed_directories() -> str:
        return "Allowed directories:\n/"

    return server


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the sandbox directory (must exist)")
    args = ap.parse_args(argv)
    build_server(args.root).run("stdio")


if __name__ == "__main__":
    main()
