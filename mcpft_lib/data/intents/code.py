"""Code understanding intents: read code through a tool, then explain, review or locate a bug; context7 docs."""

from __future__ import annotations

from random import Random

from mcpft_lib.data.intents.github import pick_repo
from mcpft_lib.data.intents.sqlite import pragma_table_info
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, load_text, preface, random_sha
from mcpft_lib.mcp.world import BASE_BRANCHES, BRANCHES, FS_ROOTS, PEOPLE, REPOS, SQL_TABLES

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
BUGGY_CODE: list[tuple[str, str, int, str, str, str]] = [  # (file, source, bug line, what is wrong, old, new)
    (b["file"], b["source"], b["line"], b["bug"], b["old"], b["new"]) for b in _TEXT["buggy_code"]
]
JOIN_BUGS = [(b["query"], b["table"], b["bug"]) for b in _TEXT["join_bugs"]]  # (query, table, what is wrong)
FOREIGN_KEYS: dict[str, str] = _TEXT["foreign_keys"]  # table -> how it links to the others
# (library name, Context7 id, what the user asks, what the docs say)
LIBRARIES = [(x["name"], x["id"], x["topic"], x["gist"]) for x in _TEXT["libraries"]]


def _numbered(src: str) -> str:
    return "\n".join(f"{i:>4}  {line}" for i, line in enumerate(src.splitlines(), 1))


def _bug_diff(path: str, before: str, after: str) -> str:
    """`git diff` text for one file changed from `before` to `after`."""
    import difflib

    body = "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}")
    )
    return f"diff --git a/{path} b/{path}\n{body}"


@intent("code_understanding", "git/git_show")
def _cu_git_show_bug(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    sha, msg = random_sha(r), r.choice(PHRASES["cu_git_show_bug"]["commit_message"])
    short = sha[:7]
    user = fmt(r, PHRASES["cu_git_show_bug"]["ask"], s=short, repo=repo)
    shown = f"commit {sha}\nAuthor: {r.choice(PEOPLE)}\n\n    {msg}\n\n" + _bug_diff(
        path, src.replace(old, new), src
    )
    answer = f'Commit `{short}` ("{msg}") changes `{path}`. The bug is on line {line}: {why}.'
    return Scenario(user, [Step(call("git", "git_show", repo_path=repo, revision=short), shown, text=preface(r))],
                    answer, difficulty="medium")  # fmt: skip


@intent("code_understanding", "git/git_diff_unstaged")
def _cu_review_diff(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    user = fmt(r, PHRASES["cu_review_diff"]["ask"], repo=repo)
    diff = "Unstaged changes:\n" + _bug_diff(path, src.replace(old, new), src)
    answer = fmt(r, PHRASES["cu_review_diff"]["answer"], p=path, l=line, w=why)
    return Scenario(
        user, [Step(call("git", "git_diff_unstaged", repo_path=repo), diff)], answer, difficulty="medium"
    )


@intent("code_understanding", "git/git_diff")
def _cu_branch_summary(r: Random) -> Scenario:
    repo, branch, base = r.choice(REPOS), r.choice(BRANCHES), r.choice(BASE_BRANCHES)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    user = fmt(r, PHRASES["cu_branch_summary"]["ask"], b=branch, base=base, repo=repo)
    diff = _bug_diff(path, src, src.replace(old, new))  # the branch fixes the bug
    answer = (f"Against `{base}`, the branch changes only `{path}`: it fixes line {line}, where {why}. "
              "The change looks correct.")  # fmt: skip
    return Scenario(
        user, [Step(call("git", "git_diff", repo_path=repo, target=base), diff)], answer, difficulty="medium"
    )


@intent("code_understanding", "sqlite/describe_table")
def _cu_sql_join(r: Random) -> Scenario:
    sql, table, why = r.choice(JOIN_BUGS)
    user = fmt(r, PHRASES["cu_sql_join"]["ask"], q=sql)
    return Scenario(user, [Step(call("sqlite", "describe_table", table_name=table), pragma_table_info(table),
                                text=f"Let me check the columns of `{table}`.")],
                    f"The join is wrong: {why}.", difficulty="medium")  # fmt: skip


@intent("code_understanding", "sqlite/describe_table")
def _cu_sql_explain_schema(r: Random) -> Scenario:
    table = r.choice(list(FOREIGN_KEYS))
    links = FOREIGN_KEYS[table]
    user = fmt(r, PHRASES["cu_sql_explain_schema"]["ask"], t=table)
    cols = ", ".join(f"`{c}`" for c, _, _ in SQL_TABLES[table])
    return Scenario(user, [Step(call("sqlite", "describe_table", table_name=table), pragma_table_info(table))],
                    f"`{table}` has {cols}; `id` is the primary key and {links}.")  # fmt: skip


@intent("code_understanding", "filesystem/read_text_file")
def _cu_fs_find_bug(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    full = f"{root}/{path}"
    user = fmt(r, PHRASES["cu_fs_find_bug"]["ask"], p=full)
    return Scenario(user, [Step(call("filesystem", "read_text_file", path=full), src)],
                    f"Line {line} of `{path}`: {why}.", difficulty="medium")  # fmt: skip


@intent("code_understanding", "filesystem/read_text_file", "filesystem/edit_file")
def _cu_fs_fix_bug(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    full = f"{root}/{path}"
    user = fmt(r, PHRASES["cu_fs_fix_bug"]["ask"], p=full)
    steps = [
        Step(call("filesystem", "read_text_file", path=full), src),
        Step(call("filesystem", "edit_file", path=full, edits=[{"oldText": old, "newText": new}]),
             f"```diff\n{_bug_diff(path, src, src.replace(old, new))}```",
             text=f"Line {line}: {why}. Fixing it."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Fixed line {line} of `{path}`.", difficulty="hard")


@intent("code_understanding", "github/get_file_contents")
def _cu_gh_explain(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    user = fmt(r, PHRASES["cu_gh_explain"]["ask"], p=path, f=full)
    res = jdump(
        {"name": path.rsplit("/", 1)[-1], "path": path, "type": "file", "encoding": "utf-8", "content": src}
    )
    return Scenario(user, [Step(call("github", "get_file_contents", owner=owner, repo=repo, path=path), res)],
                    f"In `{path}`, line {line}: {why}.", difficulty="medium")  # fmt: skip


def _c7_libs(name: str, lib_id: str) -> str:
    return (f"Available Libraries:\n\n- Title: {name}\n- Context7-compatible library ID: {lib_id}\n"
            f"- Description: Official documentation for {name}\n- Code Snippets: 2400\n- Source Reputation: High\n- Benchmark Score: 91")  # fmt: skip


@intent("code_understanding", "context7/resolve-library-id", "context7/query-docs")
def _c7_docs(r: Random) -> Scenario:
    name, lib_id, topic, gist = r.choice(LIBRARIES)
    user = fmt(r, PHRASES["c7_docs"]["ask"], n=name, t=topic)
    steps = [
        Step(call("context7", "resolve-library-id", libraryName=name, query=topic), _c7_libs(name, lib_id)),
        Step(call("context7", "query-docs", libraryId=lib_id, query=topic), f"### {topic}\n\n{gist}\n",
             text=f"{name} is `{lib_id}`."),
    ]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="medium")


@intent("single_call", "context7/query-docs")
def _c7_direct(r: Random) -> Scenario:
    name, lib_id, topic, gist = r.choice(LIBRARIES)
    user = fmt(r, PHRASES["c7_direct"]["ask"], id=lib_id, t=topic)
    return Scenario(
        user,
        [Step(call("context7", "query-docs", libraryId=lib_id, query=topic), f"### {topic}\n\n{gist}\n")],
        gist,
    )


@intent("error_handling", "context7/query-docs", "context7/resolve-library-id")
def _c7_bad_id(r: Random) -> Scenario:
    name, lib_id, topic, gist = r.choice(LIBRARIES)
    guess = "/" + name.lower().replace(" ", "").replace(".", "")
    user = fmt(r, PHRASES["c7_bad_id"]["ask"], n=name, t=topic)
    steps = [
        Step(call("context7", "query-docs", libraryId=guess, query=topic),
             "The library you are trying to access does not exist. Please try with a different library ID.", is_error=True,
             mistake=True),
        Step(call("context7", "resolve-library-id", libraryName=name, query=topic), _c7_libs(name, lib_id),
             text="That ID was a guess. Let me resolve the real one."),
        Step(call("context7", "query-docs", libraryId=lib_id, query=topic), f"### {topic}\n\n{gist}\n"),
    ]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="hard")
