"""Intents of @modelcontextprotocol/server-filesystem."""

from __future__ import annotations

from datetime import timedelta
from random import Random

from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, load_text, random_date
from mcpft_lib.mcp.world import FS_DIRS, FS_FILES, FS_ROOTS, GLOBS

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
FILE_SNIPPETS: dict[str, str] = _TEXT["file_snippets"]  # extension -> content
NEW_FILES = list(_TEXT["new_files"].items())  # (path under a root, content)
FILE_STEMS = _TEXT["file_stems"]
NEW_DIRS = _TEXT["new_dirs"]
LOST_FILES = _TEXT["lost_files"]
MISNAMED_FILES = _TEXT["misnamed_files"]
EDITS = _TEXT["edits"]  # (path under a root, old text, new text)


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
        user = fmt(r, PHRASES["fs_read"]["ask"], p=path)
        c = call("filesystem", "read_text_file", path=path)
        answer = f"Here is `{path}`:\n```\n{content}```"
    else:
        k = r.choice((5, 10, 20, 50))
        word = "first" if mode == "head" else "last"
        user = fmt(r, PHRASES["fs_read"]["ask_lines"], p=path, w=word, k=k)
        c = call("filesystem", "read_text_file", path=path, **{mode: k})
        answer = f"The {word} lines of `{path}`:\n```\n{content}```"
    return Scenario(user, [Step(c, content)], answer)


@intent("single_call", "filesystem/write_file")
def _fs_write(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    name, content = r.choice(NEW_FILES)
    path = f"{root}/{name}"
    user = fmt(r, PHRASES["fs_write"]["ask"], p=path, c=content)
    return Scenario(user, [Step(call("filesystem", "write_file", path=path, content=content), f"Successfully wrote to {path}")],
                    f"Wrote `{path}`.")  # fmt: skip


@intent("single_call", "filesystem/list_directory")
def _fs_list(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path = r.choice((root, f"{root}/{r.choice(FS_DIRS)}"))
    entries = _listing(r)
    user = fmt(r, PHRASES["fs_list"]["ask"], p=path)
    return Scenario(user, [Step(call("filesystem", "list_directory", path=path), "\n".join(entries))],
                    f"`{path}` contains: " + ", ".join(e.split(" ", 1)[1] + ("/" if e.startswith("[DIR]") else "") for e in entries) + ".")  # fmt: skip


@intent("single_call", "filesystem/search_files")
def _fs_search(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    pattern, what = r.choice(GLOBS)
    exclude = r.choice((None, None, ["node_modules"], ["**/.venv/**"]))
    last = pattern.rsplit("/", 1)[-1]
    stems = r.sample(FILE_STEMS, 2)
    if pattern.startswith("**/"):
        hits = [
            f"{root}/{d}/{last.replace('*', st)}" for d, st in zip(r.sample(FS_DIRS, 2), stems, strict=True)
        ]
    else:
        hits = [f"{root}/{last.replace('*', st)}" for st in stems]
    if exclude is None:
        user = fmt(r, PHRASES["fs_search"]["ask"], root=root, w=what, pat=pattern)
    else:
        user = fmt(r, PHRASES["fs_search"]["ask_exclude"], root=root, w=what, pat=pattern, ex=exclude[0])
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
    user = fmt(r, PHRASES["fs_info"]["ask"], p=path)
    return Scenario(user, [Step(call("filesystem", "get_file_info", path=path), res)],
                    f"`{path}` is {size} bytes, permissions 644, last modified {(when + timedelta(days=3)).date()}.")  # fmt: skip


@intent("single_call", "filesystem/create_directory")
def _fs_mkdir(r: Random) -> Scenario:
    path = f"{r.choice(FS_ROOTS)}/{r.choice(NEW_DIRS)}"
    user = fmt(r, PHRASES["fs_mkdir"]["ask"], p=path)
    return Scenario(user, [Step(call("filesystem", "create_directory", path=path), f"Successfully created directory {path}")],
                    f"Created `{path}`.")  # fmt: skip


@intent("single_call", "filesystem/edit_file")
def _fs_edit(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    rel, old, new = r.choice(EDITS)
    path = f"{root}/{rel}"
    dry = r.random() < 0.3
    user = fmt(r, PHRASES["fs_edit"]["ask"], p=path, o=old, n=new)
    user += " Just show me the diff first, don't apply it." if dry else ""
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
    user = fmt(r, PHRASES["fs_move"]["ask"], s=src, d=dst)
    return Scenario(user, [Step(call("filesystem", "move_file", source=src, destination=dst), f"Successfully moved {src} to {dst}")],
                    f"Moved `{src}` → `{dst}`.")  # fmt: skip


@intent("single_call", "filesystem/directory_tree")
def _fs_tree(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    tree = [{"name": d, "type": "directory", "children": [{"name": f.rsplit("/", 1)[-1], "type": "file"}]}
            for d, f in zip(r.sample(FS_DIRS[:8], 2), r.sample(FS_FILES, 2), strict=True)]  # fmt: skip
    user = fmt(r, PHRASES["fs_tree"]["ask"], p=root)
    return Scenario(user, [Step(call("filesystem", "directory_tree", path=root), jdump(tree))],
                    f"`{root}` has the folders " + " and ".join(f"`{t['name']}/`" for t in tree) + ".")  # fmt: skip


@intent("single_call", "filesystem/read_multiple_files")
def _fs_read_many(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    paths = [f"{root}/{f}" for f in r.sample(FS_FILES, r.randrange(2, 4))]
    listed = ", ".join(paths)
    user = fmt(r, PHRASES["fs_read_many"]["ask"], l=listed)
    res = "\n---\n".join(f"{p}:\n{snippet(p)}" for p in paths)
    return Scenario(user, [Step(call("filesystem", "read_multiple_files", paths=paths), res)],
                    f"Here are the {len(paths)} files:\n\n{res}")  # fmt: skip


@intent("single_call", "filesystem/list_allowed_directories")
def _fs_allowed(r: Random) -> Scenario:
    dirs = r.sample(FS_ROOTS, 2)
    user = fmt(r, PHRASES["fs_allowed"]["ask"])
    return Scenario(user, [Step(call("filesystem", "list_allowed_directories"), "Allowed directories:\n" + "\n".join(dirs))],
                    "I can access " + " and ".join(f"`{d}`" for d in dirs) + ".")  # fmt: skip


@intent("multi_step", "filesystem/search_files", "filesystem/read_text_file")
def _fs_find_then_read(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    name = r.choice(LOST_FILES)
    path = f"{root}/{r.choice(FS_DIRS)}/{name}"
    content = snippet(path)
    user = fmt(r, PHRASES["fs_find_then_read"]["ask"], n=name, root=root)
    steps = [
        Step(call("filesystem", "search_files", path=root, pattern=f"**/{name}"), path),
        Step(call("filesystem", "read_text_file", path=path), content, text=f"Found it at {path}. Reading it now."),
    ]  # fmt: skip
    return Scenario(user, steps, f"`{name}` is at `{path}`:\n```\n{content}```", difficulty="medium")


@intent("error_handling", "filesystem/read_text_file", "filesystem/search_files")
def _fs_missing_file(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    stem, wrong_ext, right_ext = r.choice(MISNAMED_FILES)
    folder = r.choice(FS_DIRS)
    wrong, right = f"{root}/{folder}/{stem}.{wrong_ext}", f"{root}/{folder}/{stem}.{right_ext}"
    content = snippet(right)
    user = fmt(r, PHRASES["fs_missing_file"]["ask"], p=wrong)
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
