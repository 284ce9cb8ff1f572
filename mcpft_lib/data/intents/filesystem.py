"""Intents of @modelcontextprotocol/server-filesystem."""

from __future__ import annotations

from datetime import timedelta
from random import Random

from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, random_date
from mcpft_lib.mcp.world import FS_DIRS, FS_FILES, FS_ROOTS, GLOBS

FILE_SNIPPETS = {
    ".py": 'import logging\n\nlog = logging.getLogger(__name__)\n\n\ndef load_user(user_id: int) -> dict:\n    """Load one user."""\n    log.debug("loading %s", user_id)\n    return {"id": user_id}\n',
    ".md": "# Project notes\n\n- Ship the CSV export by Friday\n- Ask Grace about the auth migration\n- Update the onboarding docs\n",
    ".ts": "export function formatPrice(cents: number): string {\n  return `$${(cents / 100).toFixed(2)}`;\n}\n",
    ".json": '{\n  "name": "web-portal",\n  "version": "1.4.2",\n  "scripts": {"test": "vitest run"}\n}\n',
    ".yaml": "server:\n  port: 8080\n  timeout: 30\ndatabase:\n  url: postgres://localhost/app\n",
    ".yml": "name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
    ".toml": '[project]\nname = "app"\nversion = "0.3.0"\nrequires-python = ">=3.11"\n',
    ".csv": "date,region,revenue\n2024-05-01,EU,1200\n2024-05-01,US,1850\n",
    ".log": "2024-05-02 10:01:22 INFO started\n2024-05-02 10:01:25 ERROR db timeout after 30s\n",
    ".txt": "ideas:\n- offline mode\n- keyboard shortcuts\n",
    ".rs": 'fn main() {\n    println!("hello");\n}\n',
    ".go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("server starting")\n}\n',
    ".sh": "#!/usr/bin/env bash\nset -euo pipefail\nrsync -a build/ deploy@host:/srv/app\n",
    ".tsx": "export const Header = () => <header>Acme</header>;\n",
    "": 'FROM python:3.12-slim\nCOPY . /app\nRUN pip install /app\nCMD ["app"]\n',
}


def snippet(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    ext = "." + name.rsplit(".", 1)[-1] if "." in name.lstrip(".") else ""
    return FILE_SNIPPETS.get(ext, FILE_SNIPPETS[".txt"])


def _fs_path(r: Random) -> tuple[str, str]:
    root = r.choice(FS_ROOTS)
    return root, f"{root}/{r.choice(FS_FILES)}"


def _listing(r: Random, k: int = 6) -> list[str]:
    dirs = [f"[DIR] {d}" for d in r.sample(FS_DIRS[:8], 2)]
    files = [f"[FILE] {f.rsplit('/', 1)[-1]}" for f in r.sample(FS_FILES, k)]
    return sorted(set(dirs + files))


@intent("single_call", "filesystem/read_text_file")
def _fs_read(r: Random) -> Scenario:
    _, path = _fs_path(r)
    content = snippet(path)
    mode = r.choice((None, None, None, "head", "tail"))
    if mode is None:
        user = fmt(r, (
            "Show me the contents of {p}.", "Read {p} for me.", "What's in {p}?", "Open {p} and print it.",
            "Can you display the file {p}?", "cat {p}",
        ), p=path)  # fmt: skip
        c = call("filesystem", "read_text_file", path=path)
        answer = f"Here is `{path}`:\n```\n{content}```"
    else:
        k = r.choice((5, 10, 20, 50))
        word = "first" if mode == "head" else "last"
        user = fmt(r, (
            "Show me the {w} {k} lines of {p}.", "Read only the {w} {k} lines of {p}.",
            "What are the {w} {k} lines in {p}?", "Print the {w} {k} lines of {p}, please.",
            "{w} {k} lines of {p}?",
        ), p=path, w=word, k=k)  # fmt: skip
        c = call("filesystem", "read_text_file", path=path, **{mode: k})
        answer = f"The {word} lines of `{path}`:\n```\n{content}```"
    return Scenario(user, [Step(c, content)], answer)


@intent("single_call", "filesystem/write_file")
def _fs_write(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    name, content = r.choice((
        ("notes/todo.md", "# TODO\n\n- review PR #42\n- update changelog\n"),
        (".gitignore", "__pycache__/\n.venv/\n*.log\n"),
        ("hello.py", 'print("hello, world")\n'),
        ("config/app.env", "PORT=8080\nLOG_LEVEL=info\n"),
        ("README.md", "# Demo\n\nRun `make dev` to start.\n"),
        ("data/regions.csv", "code,name\nEU,Europe\nUS,United States\n"),
    ))  # fmt: skip
    path = f"{root}/{name}"
    user = fmt(r, (
        "Create {p} with this content:\n{c}", "Write the following to {p}:\n{c}",
        "Save this as {p}:\n{c}", "Please overwrite {p} with:\n{c}", "New file {p}, contents:\n{c}",
    ), p=path, c=content)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "write_file", path=path, content=content), f"Successfully wrote to {path}")],
                    f"Wrote `{path}`.")  # fmt: skip


@intent("single_call", "filesystem/list_directory")
def _fs_list(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path = r.choice((root, f"{root}/{r.choice(FS_DIRS)}"))
    entries = _listing(r)
    user = fmt(r, (
        "What's in {p}?", "List the directory {p}.", "Show me the files in {p}.", "ls {p}",
        "Which files and folders are under {p}?", "Give me a listing of {p}.",
    ), p=path)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "list_directory", path=path), "\n".join(entries))],
                    f"`{path}` contains: " + ", ".join(e.split(" ", 1)[1] + ("/" if e.startswith("[DIR]") else "") for e in entries) + ".")  # fmt: skip


@intent("single_call", "filesystem/search_files")
def _fs_search(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    pattern, what = r.choice(GLOBS)
    exclude = r.choice((None, None, ["node_modules"], ["**/.venv/**"]))
    last = pattern.rsplit("/", 1)[-1]
    stems = r.sample(("utils", "api", "main", "models", "report", "client", "auth"), 2)
    if pattern.startswith("**/"):
        hits = [
            f"{root}/{d}/{last.replace('*', st)}" for d, st in zip(r.sample(FS_DIRS, 2), stems, strict=True)
        ]
    else:
        hits = [f"{root}/{last.replace('*', st)}" for st in stems]
    if exclude is None:
        user = fmt(r, (
            "Find all {w} under {root}.", "Search {root} for {w}.", "Where are the {w} in {root}?",
            "Look for files matching {pat} in {root}.", "Which {w} exist below {root}?",
        ), root=root, w=what, pat=pattern)  # fmt: skip
    else:
        user = fmt(r, (
            "Find all {w} under {root}, but skip {ex}.", "Search {root} for {pat}, excluding {ex}.",
            "Where are the {w} in {root}? Ignore {ex}.",
        ), root=root, w=what, pat=pattern, ex=exclude[0])  # fmt: skip
    c = call("filesystem", "search_files", path=root, pattern=pattern, excludePatterns=exclude)
    return Scenario(
        user,
        [Step(c, "\n".join(hits))],
        f"Found {len(hits)} match(es):\n" + "\n".join(f"- {h}" for h in hits),
    )


@intent("single_call", "filesystem/get_file_info")
def _fs_info(r: Random) -> Scenario:
    _, path = _fs_path(r)
    size, when = r.randrange(80, 90000), random_date(r)
    res = (f"size: {size}\ncreated: {when.strftime('%a %b %d %Y %H:%M:%S GMT+0000')}\n"
           f"modified: {(when + timedelta(days=3)).strftime('%a %b %d %Y %H:%M:%S GMT+0000')}\n"
           f"accessed: {(when + timedelta(days=5)).strftime('%a %b %d %Y %H:%M:%S GMT+0000')}\n"
           "isDirectory: false\nisFile: true\npermissions: 644")  # fmt: skip
    user = fmt(r, (
        "How big is {p}?", "When was {p} last modified?", "Get the metadata of {p}.",
        "Show file info for {p}.", "What are the permissions on {p}?", "stat {p}",
    ), p=path)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "get_file_info", path=path), res)],
                    f"`{path}` is {size} bytes, permissions 644, last modified {(when + timedelta(days=3)).date()}.")  # fmt: skip


@intent("single_call", "filesystem/create_directory")
def _fs_mkdir(r: Random) -> Scenario:
    path = f"{r.choice(FS_ROOTS)}/{r.choice(('build/reports', 'data/raw', 'notes/2024', 'src/plugins', 'tmp/exports', 'docs/images'))}"
    user = fmt(r, (
        "Create the directory {p}.", "Make a folder at {p}.", "mkdir -p {p}", "I need a new directory {p}.",
        "Please make sure {p} exists.",
    ), p=path)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "create_directory", path=path), f"Successfully created directory {path}")],
                    f"Created `{path}`.")  # fmt: skip


@intent("single_call", "filesystem/edit_file")
def _fs_edit(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path, old, new = r.choice((
        (f"{root}/config/settings.yaml", "timeout: 30", "timeout: 60"),
        (f"{root}/src/app.py", "DEBUG = True", "DEBUG = False"),
        (f"{root}/pyproject.toml", 'version = "0.3.0"', 'version = "0.4.0"'),
        (f"{root}/README.md", "Run `make dev` to start.", "Run `make serve` to start."),
        (f"{root}/src/utils/helpers.py", "retries = 3", "retries = 5"),
    ))  # fmt: skip
    dry = r.random() < 0.3
    user = fmt(r, (
        "In {p}, replace `{o}` with `{n}`.", "Change `{o}` to `{n}` in {p}.", "Edit {p}: `{o}` should become `{n}`.",
        "Update {p} so that `{o}` reads `{n}`.", "Please swap `{o}` for `{n}` in {p}.",
    ), p=path, o=old, n=new) + (" Just show me the diff first, don't apply it." if dry else "")  # fmt: skip
    diff = f"```diff\n--- {path}\n+++ {path}\n@@ -1 +1 @@\n-{old}\n+{new}\n```"
    c = call(
        "filesystem",
        "edit_file",
        path=path,
        edits=[{"oldText": old, "newText": new}],
        dryRun=True if dry else None,
    )
    return Scenario(
        user, [Step(c, diff)], ("Preview (not applied):" if dry else "Applied the edit:") + f"\n{diff}"
    )


@intent("single_call", "filesystem/move_file")
def _fs_move(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    src = f"{root}/{r.choice(FS_FILES)}"
    name = src.rsplit("/", 1)[-1]
    dst = r.choice((f"{root}/archive/{name}", f"{root}/old_{name}", f"{root}/backup/{name}.bak"))
    user = fmt(r, (
        "Move {s} to {d}.", "Rename {s} to {d}.", "mv {s} {d}", "Please relocate {s} to {d}.",
        "Can you move the file {s} over to {d}?",
    ), s=src, d=dst)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "move_file", source=src, destination=dst), f"Successfully moved {src} to {dst}")],
                    f"Moved `{src}` → `{dst}`.")  # fmt: skip


@intent("single_call", "filesystem/directory_tree")
def _fs_tree(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    tree = [{"name": d, "type": "directory", "children": [{"name": f.rsplit("/", 1)[-1], "type": "file"}]}
            for d, f in zip(r.sample(FS_DIRS[:8], 2), r.sample(FS_FILES, 2), strict=True)]  # fmt: skip
    user = fmt(r, (
        "Show me the directory tree of {p}.", "Give me a recursive overview of {p}.", "tree {p}",
        "What's the folder structure under {p}?",
    ), p=root)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "directory_tree", path=root), jdump(tree))],
                    f"`{root}` has the folders " + " and ".join(f"`{t['name']}/`" for t in tree) + ".")  # fmt: skip


@intent("single_call", "filesystem/read_multiple_files")
def _fs_read_many(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    paths = [f"{root}/{f}" for f in r.sample(FS_FILES, r.randrange(2, 4))]
    listed = ", ".join(paths)
    user = fmt(r, (
        "Read these files: {l}.", "Show me {l} together.", "Open {l} so I can compare them.",
        "I need the contents of {l}.",
    ), l=listed)  # fmt: skip
    res = "\n---\n".join(f"{p}:\n{snippet(p)}" for p in paths)
    return Scenario(user, [Step(call("filesystem", "read_multiple_files", paths=paths), res)],
                    f"Here are the {len(paths)} files:\n\n{res}")  # fmt: skip


@intent("single_call", "filesystem/list_allowed_directories")
def _fs_allowed(r: Random) -> Scenario:
    dirs = r.sample(FS_ROOTS, 2)
    user = fmt(r, (
        "Which directories can you access?", "What folders are you allowed to read and write?",
        "List the allowed directories of the filesystem server.", "Where am I allowed to let you work on disk?",
    ))  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "list_allowed_directories"), "Allowed directories:\n" + "\n".join(dirs))],
                    "I can access " + " and ".join(f"`{d}`" for d in dirs) + ".")  # fmt: skip


@intent("multi_step", "filesystem/search_files", "filesystem/read_text_file")
def _fs_find_then_read(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    name = r.choice(("Dockerfile", "settings.yaml", "conftest.py", "CHANGELOG.md", "models.py", "ci.yml"))
    path = f"{root}/{r.choice(FS_DIRS)}/{name}"
    content = snippet(path)
    user = fmt(r, (
        "Find the {n} somewhere under {root} and show it to me.", "There's a {n} in {root}; locate it and read it.",
        "Where is {n} in {root}? Print its contents.", "Search {root} for {n} and open it.",
        "I lost track of {n} inside {root}. Find it and show me what's in it.",
    ), n=name, root=root)  # fmt: skip
    steps = [
        Step(call("filesystem", "search_files", path=root, pattern=f"**/{name}"), path),
        Step(call("filesystem", "read_text_file", path=path), content, text=f"Found it at {path}. Reading it now."),
    ]  # fmt: skip
    return Scenario(user, steps, f"`{name}` is at `{path}`:\n```\n{content}```", difficulty="medium")


@intent("error_handling", "filesystem/read_text_file", "filesystem/search_files")
def _fs_missing_file(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    stem, wrong_ext, right_ext = r.choice((
        ("config", "yml", "yaml"), ("settings", "json", "yaml"), ("notes", "txt", "md"), ("main", "js", "ts"),
        ("app", "ts", "py"), ("README", "txt", "md"),
    ))  # fmt: skip
    folder = r.choice(FS_DIRS)
    wrong, right = f"{root}/{folder}/{stem}.{wrong_ext}", f"{root}/{folder}/{stem}.{right_ext}"
    content = snippet(right)
    user = fmt(r, (
        "Open {p}.", "Show me {p}.", "What's in {p}?", "Read {p} please.", "Print the file {p}.",
    ), p=wrong)  # fmt: skip
    steps = [
        Step(call("filesystem", "read_text_file", path=wrong), f"Error: ENOENT: no such file or directory, open '{wrong}'",
             is_error=True),
        Step(call("filesystem", "search_files", path=f"{root}/{folder}", pattern=f"{stem}.*"), right,
             text=f"{wrong} doesn't exist. Let me look for a file with a similar name."),
        Step(call("filesystem", "read_text_file", path=right), content, text=f"There is {right} instead."),
    ]  # fmt: skip
    return Scenario(
        user, steps, f"`{wrong}` doesn't exist, but `{right}` does:\n```\n{content}```", difficulty="hard"
    )
