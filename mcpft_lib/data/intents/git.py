"""Intents of mcp-server-git."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from random import Random

from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, load_text, random_date, random_sha
from mcpft_lib.mcp.world import BASE_BRANCHES, BRANCHES, CODE_FILES, COMMIT_MESSAGES, PEOPLE, REPOS, email_of

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
DIFF_CHANGES = _TEXT["diff_changes"]


def _repo_name(repo: str) -> str:
    return repo.rstrip("/").rsplit("/", 1)[-1]


def _git_status(r: Random, branch: str, modified: Sequence[str], untracked: Sequence[str] = ()) -> str:
    lines = [f"On branch {branch}"]
    if modified:
        lines += [
            "Changes not staged for commit:",
            '  (use "git add <file>..." to update what will be committed)',
        ]
        lines += [f"\tmodified:   {f}" for f in modified]
    if untracked:
        lines += ["", "Untracked files:", '  (use "git add <file>..." to include in what will be committed)']
        lines += [f"\t{f}" for f in untracked]
    if not modified and not untracked:
        lines.append("nothing to commit, working tree clean")
    return "Repository status:\n" + "\n".join(lines)


def git_log_text(r: Random, n: int) -> tuple[str, list[tuple[str, str]]]:
    entries, commits = [], []
    day = random_date(r)
    for _ in range(n):
        sha, msg, who = random_sha(r), r.choice(COMMIT_MESSAGES), r.choice(PEOPLE)
        day -= timedelta(hours=r.randrange(1, 72))
        commits.append((sha, msg))
        entries.append(f"Commit: {sha}\nAuthor: {who}\nDate: {day.isoformat(sep=' ')}\nMessage: {msg}\n")
    return "Commit history:\n" + "\n".join(entries), commits


def unified_diff(r: Random, path: str) -> str:
    old, new = r.choice(DIFF_CHANGES)
    n = r.randrange(5, 200)
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -{n},3 +{n},3 @@\n"
            f" # settings\n-{old}\n+{new}\n")  # fmt: skip


@intent("single_call", "git/git_status")
def _git_status_intent(r: Random) -> Scenario:
    repo, branch = r.choice(REPOS), r.choice(BASE_BRANCHES + BRANCHES)
    modified = r.sample(CODE_FILES, r.randrange(0, 4))
    user = fmt(r, PHRASES["git_status_intent"]["ask"], repo=repo)
    if modified:
        answer = (
            f"You're on `{branch}` with {len(modified)} modified file(s): "
            + ", ".join(f"`{f}`" for f in modified)
            + "."
        )
    else:
        answer = f"The working tree of {_repo_name(repo)} is clean (branch `{branch}`)."
    return Scenario(
        user, [Step(call("git", "git_status", repo_path=repo), _git_status(r, branch, modified))], answer
    )


@intent("single_call", "git/git_log")
def _git_log_intent(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    n = r.choice((None, 1, 3, 5, 10, 20))
    if n is None:
        user = fmt(r, PHRASES["git_log_intent"]["ask"], repo=repo)
    else:
        user = fmt(r, PHRASES["git_log_intent"]["ask_n"], repo=repo, n=n)
    text, commits = git_log_text(r, n or 10)
    shown = commits[:3]
    answer = "Most recent commits:\n" + "\n".join(f"- `{s[:7]}` {m}" for s, m in shown)
    if len(commits) > 3:
        answer += f"\n…and {len(commits) - 3} more."
    return Scenario(user, [Step(call("git", "git_log", repo_path=repo, max_count=n), text)], answer)


@intent("single_call", "git/git_diff_unstaged")
def _git_diff_unstaged(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    ctx = r.choice((None, None, 0, 5, 10))
    if ctx is None:
        user = fmt(r, PHRASES["git_diff_unstaged"]["ask"], repo=repo)
    else:
        user = fmt(r, PHRASES["git_diff_unstaged"]["ask_context"], repo=repo, c=ctx)
    diff = unified_diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff_unstaged", repo_path=repo, context_lines=ctx), "Unstaged changes:\n" + diff)],
                    f"There are unstaged changes in `{path}`:\n```diff\n{diff}```")  # fmt: skip


@intent("single_call", "git/git_diff_staged")
def _git_diff_staged(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    user = fmt(r, PHRASES["git_diff_staged"]["ask"], repo=repo)
    diff = unified_diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff_staged", repo_path=repo), "Staged changes:\n" + diff)],
                    f"Staged for commit: a change to `{path}`.\n```diff\n{diff}```")  # fmt: skip


@intent("single_call", "git/git_diff")
def _git_diff_target(r: Random) -> Scenario:
    repo, path, target = r.choice(REPOS), r.choice(CODE_FILES), r.choice(BASE_BRANCHES + BRANCHES[:4])
    user = fmt(r, PHRASES["git_diff_target"]["ask"], repo=repo, t=target)
    diff = unified_diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff", repo_path=repo, target=target), f"Diff with {target}:\n{diff}")],
                    f"Compared with `{target}`, only `{path}` differs:\n```diff\n{diff}```")  # fmt: skip


@intent("single_call", "git/git_commit")
def _git_commit(r: Random) -> Scenario:
    repo, msg, sha = r.choice(REPOS), r.choice(COMMIT_MESSAGES), random_sha(r)
    user = fmt(r, PHRASES["git_commit"]["ask"], repo=repo, m=msg)
    return Scenario(user, [Step(call("git", "git_commit", repo_path=repo, message=msg), f"Changes committed successfully with hash {sha}")],
                    f"Committed as `{sha[:7]}`: \"{msg}\".")  # fmt: skip


@intent("single_call", "git/git_add")
def _git_add(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    files = r.sample(CODE_FILES, r.randrange(1, 4))
    listed = ", ".join(files[:-1]) + (" and " if len(files) > 1 else "") + files[-1]
    user = fmt(r, PHRASES["git_add"]["ask"], repo=repo, f=listed)
    return Scenario(user, [Step(call("git", "git_add", repo_path=repo, files=files), "Files staged successfully")],
                    f"Staged {listed}.")  # fmt: skip


@intent("single_call", "git/git_create_branch")
def _git_create_branch(r: Random) -> Scenario:
    repo, branch = r.choice(REPOS), r.choice(BRANCHES)
    base = r.choice((None, None, "main", "develop"))
    if base is None:
        user = fmt(r, PHRASES["git_create_branch"]["ask"], repo=repo, b=branch)
    else:
        user = fmt(r, PHRASES["git_create_branch"]["ask_base"], repo=repo, b=branch, base=base)
    res = f"Created branch '{branch}' from '{base or 'main'}'"
    return Scenario(user, [Step(call("git", "git_create_branch", repo_path=repo, branch_name=branch, base_branch=base), res)],
                    f"Created `{branch}` from `{base or 'main'}`.")  # fmt: skip


@intent("single_call", "git/git_checkout")
def _git_checkout(r: Random) -> Scenario:
    repo, branch = r.choice(REPOS), r.choice(BASE_BRANCHES + BRANCHES)
    user = fmt(r, PHRASES["git_checkout"]["ask"], repo=repo, b=branch)
    return Scenario(user, [Step(call("git", "git_checkout", repo_path=repo, branch_name=branch), f"Switched to branch '{branch}'")],
                    f"You're now on `{branch}`.")  # fmt: skip


@intent("single_call", "git/git_show")
def _git_show(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    sha = random_sha(r)
    rev = r.choice((sha[:7], sha[:10], "HEAD", "HEAD~1", "HEAD~2"))
    msg, who = r.choice(COMMIT_MESSAGES), r.choice(PEOPLE)
    user = fmt(r, PHRASES["git_show"]["ask"], repo=repo, rev=rev)
    day = random_date(r)
    res = (f"commit {sha}\nAuthor: {who} <{email_of(who)}>\nDate:   {day.strftime('%Y-%m-%d %H:%M:%S %z')}\n\n"
           f"    {msg}\n" + unified_diff(r, path))  # fmt: skip
    return Scenario(user, [Step(call("git", "git_show", repo_path=repo, revision=rev), res)],
                    f"`{sha[:7]}` by {who}: \"{msg}\". It changes `{path}`.")  # fmt: skip


def _branch_listing(r: Random, current: str, others: Sequence[str], remote: bool = False) -> str:
    names = sorted({current, *others})
    pre = "remotes/origin/" if remote else ""
    return "\n".join(("* " if b == current else "  ") + pre + b for b in names)


@intent("single_call", "git/git_branch")
def _git_branch(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    kind = r.choice(("local", "local", "remote", "all"))
    word = {"local": "local", "remote": "remote", "all": "all"}[kind]
    user = fmt(r, PHRASES["git_branch"]["ask"], repo=repo, w=word)
    others = r.sample(BRANCHES, 3)
    listing = _branch_listing(r, "main", others, remote=kind == "remote")
    return Scenario(user, [Step(call("git", "git_branch", repo_path=repo, branch_type=kind), listing)],
                    f"{word.capitalize()} branches: " + ", ".join(f"`{b}`" for b in sorted({"main", *others})) + ".")  # fmt: skip


@intent("single_call", "git/git_reset")
def _git_reset(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    user = fmt(r, PHRASES["git_reset"]["ask"], repo=repo)
    return Scenario(user, [Step(call("git", "git_reset", repo_path=repo), "All staged changes reset")],
                    "Done: nothing is staged any more; your working-tree changes are untouched.")  # fmt: skip


@intent("multi_step", "git/git_log", "git/git_show")
def _git_log_then_show(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    text, commits = git_log_text(r, 1)
    sha, msg = commits[0]
    user = fmt(r, PHRASES["git_log_then_show"]["ask"], repo=repo)
    steps = [
        Step(call("git", "git_log", repo_path=repo, max_count=1), text),
        Step(call("git", "git_show", repo_path=repo, revision=sha),
             f"commit {sha}\nAuthor: {r.choice(PEOPLE)}\n\n    {msg}\n" + unified_diff(r, path),
             text=f"The latest commit is {sha[:7]} (\"{msg}\"). Let me look at its changes."),
    ]  # fmt: skip
    return Scenario(
        user, steps, f'The latest commit `{sha[:7]}` ("{msg}") modifies `{path}`.', difficulty="medium"
    )


@intent("multi_step", "git/git_status", "git/git_add", "git/git_commit")
def _git_status_add_commit(r: Random) -> Scenario:
    repo, branch, msg = r.choice(REPOS), r.choice(BASE_BRANCHES + BRANCHES), r.choice(COMMIT_MESSAGES)
    modified = r.sample(CODE_FILES, r.randrange(1, 4))
    sha = random_sha(r)
    user = fmt(r, PHRASES["git_status_add_commit"]["ask"], repo=repo, m=msg)
    steps = [
        Step(call("git", "git_status", repo_path=repo), _git_status(r, branch, modified)),
        Step(call("git", "git_add", repo_path=repo, files=modified), "Files staged successfully",
             text="Modified: " + ", ".join(modified) + ". Staging them."),
        Step(call("git", "git_commit", repo_path=repo, message=msg), f"Changes committed successfully with hash {sha}"),
    ]  # fmt: skip
    return Scenario(
        user, steps, f"Committed {len(modified)} file(s) on `{branch}` as `{sha[:7]}`.", difficulty="hard"
    )


@intent("error_handling", "git/git_checkout", "git/git_branch")
def _git_checkout_missing(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    real = r.choice(BRANCHES)
    wrong = real.split("/", 1)[-1].rsplit("-", 1)[0]  # "feature/login-form" -> "login"
    user = fmt(r, PHRASES["git_checkout_missing"]["ask"], repo=repo, w=wrong)
    others = [b for b in r.sample(BRANCHES, 3) if b != real]
    steps = [
        Step(call("git", "git_checkout", repo_path=repo, branch_name=wrong),
             f"Error executing tool git_checkout: Cmd('git') failed due to: exit code(1)\n  cmdline: git checkout {wrong}\n"
             f"  stderr: 'error: pathspec '{wrong}' did not match any file(s) known to git'", is_error=True),
        Step(call("git", "git_branch", repo_path=repo, branch_type="local"), _branch_listing(r, "main", [real, *others]),
             text=f"There is no branch named exactly '{wrong}'. Let me list the local branches."),
        Step(call("git", "git_checkout", repo_path=repo, branch_name=real), f"Switched to branch '{real}'",
             text=f"The matching branch is '{real}'."),
    ]  # fmt: skip
    return Scenario(
        user,
        steps,
        f"There was no `{wrong}` branch; I switched to `{real}`, the one that matches.",
        difficulty="hard",
    )
