"""Intents across servers: one server's result feeds another's call."""

from __future__ import annotations

from random import Random

from mcpft_lib.data.intents.git import git_log_text
from mcpft_lib.data.intents.github import pick_repo
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, gh_issue, intent, jdump, load_text
from mcpft_lib.mcp.world import FS_ROOTS, ISSUE_TITLES, REPOS

PHRASES = load_text(__file__)["phrases"]


@intent("multi_step", "filesystem/read_text_file", "github/create_issue")
def _todo_to_issue(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    owner, repo, full = pick_repo(r)
    todos = r.sample(ISSUE_TITLES, 3)
    path = f"{root}/TODO.md"
    content = "# TODO\n\n" + "\n".join(f"- [ ] {t}" for t in todos) + "\n"
    number = r.randrange(1, 2000)
    user = fmt(r, PHRASES["todo_to_issue"]["ask"], p=path, full=full)
    steps = [
        Step(call("filesystem", "read_text_file", path=path), content),
        Step(call("github", "create_issue", owner=owner, repo=repo, title=todos[0]),
             jdump(gh_issue(owner, repo, number, todos[0])), text=f"The first item is \"{todos[0]}\". Creating the issue."),
    ]  # fmt: skip
    return Scenario(user, steps, f'Opened #{number} "{todos[0]}" in {full}.', difficulty="hard")


@intent("multi_step", "git/git_log", "github/create_issue")
def _commit_to_issue(r: Random) -> Scenario:
    repo_path = r.choice(REPOS)
    owner, repo, full = pick_repo(r)
    text, commits = git_log_text(r, 1)
    sha, msg = commits[0]
    title = f'Regression after "{msg}"'
    number = r.randrange(1, 2000)
    user = fmt(r, PHRASES["commit_to_issue"]["ask"], rp=repo_path, full=full)
    steps = [
        Step(call("git", "git_log", repo_path=repo_path, max_count=1), text),
        Step(call("github", "create_issue", owner=owner, repo=repo, title=title),
             jdump(gh_issue(owner, repo, number, title)), text=f"The latest commit is {sha[:7]} \"{msg}\"."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Opened #{number} in {full}: {title}.", difficulty="hard")
