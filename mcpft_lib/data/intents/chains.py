"""Intents across servers: one server's result feeds another's call."""

from __future__ import annotations

from random import Random

from mcpft_lib.data.intents.git import git_log_text
from mcpft_lib.data.intents.github import pick_repo
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, gh_issue, intent, jdump
from mcpft_lib.mcp.world import FS_ROOTS, ISSUE_TITLES, REPOS


@intent("multi_step", "filesystem/read_text_file", "github/create_issue")
def _todo_to_issue(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    owner, repo, full = pick_repo(r)
    todos = r.sample(ISSUE_TITLES, 3)
    path = f"{root}/TODO.md"
    content = "# TODO\n\n" + "\n".join(f"- [ ] {t}" for t in todos) + "\n"
    number = r.randrange(1, 2000)
    user = fmt(r, (
        "Take the first item from {p} and open it as an issue in {full}.",
        "Read {p} and file its first TODO as a GitHub issue on {full}.",
        "Turn the top entry of {p} into an issue in {full}.",
        "Open an issue in {full} for the first open task listed in {p}.",
        "Check {p}; whatever is first on the list, create an issue for it in {full}.",
    ), p=path, full=full)  # fmt: skip
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
    user = fmt(r, (
        'The last commit in {rp} broke something. Open an issue in {full} titled: Regression after "<commit message>".',
        "Create an issue in {full} named 'Regression after \"<latest commit message>\"' using the newest commit in {rp}.",
        'Look up the latest commit message in {rp} and file an issue in {full} called Regression after "<message>".',
        'File an issue on {full} titled Regression after "<message of the latest commit in {rp}>".',
        'Get the newest commit of {rp}; then open an issue in {full} called Regression after "<its message>".',
    ), rp=repo_path, full=full)  # fmt: skip
    steps = [
        Step(call("git", "git_log", repo_path=repo_path, max_count=1), text),
        Step(call("github", "create_issue", owner=owner, repo=repo, title=title),
             jdump(gh_issue(owner, repo, number, title)), text=f"The latest commit is {sha[:7]} \"{msg}\"."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Opened #{number} in {full}: {title}.", difficulty="hard")
