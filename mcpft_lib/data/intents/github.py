"""Intents of @modelcontextprotocol/server-github."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import Any

from mcpft_lib.data.intents.filesystem import snippet
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, gh_issue, intent, jdump, random_sha
from mcpft_lib.mcp.world import (
    BASE_BRANCHES,
    BRANCHES,
    CODE_FILES,
    COMMIT_MESSAGES,
    GH_REPOS,
    GH_USERS,
    ISSUE_BODIES,
    ISSUE_TITLES,
    LABELS,
    PEOPLE,
    SEARCH_QUERIES,
)


def pick_repo(r: Random) -> tuple[str, str, str]:
    owner, repo = r.choice(GH_REPOS)
    return owner, repo, f"{owner}/{repo}"


@intent("single_call", "github/create_issue")
def _gh_create_issue(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    title, number = r.choice(ISSUE_TITLES), r.randrange(1, 2000)
    variant = r.randrange(3)
    body = r.choice(ISSUE_BODIES) if variant == 1 else None
    labels = r.sample(LABELS, r.randrange(1, 3)) if variant == 2 else None
    if variant == 0:
        user = fmt(r, (
            'Open an issue in {full} titled "{t}".', 'Create a GitHub issue on {full}: "{t}"',
            'File a bug in {full} called "{t}".', 'Please add an issue to {full} with the title "{t}".',
            'New issue for {full}: "{t}"', 'Can you log "{t}" as an issue in {full}?',
        ), full=full, t=title)  # fmt: skip
    elif variant == 1:
        user = fmt(r, (
            'Open an issue in {full} titled "{t}" with this description:\n{b}',
            'Create an issue on {full}. Title: "{t}". Body:\n{b}',
            'File "{t}" in {full}, and put this in the body:\n{b}',
            'New issue for {full}, "{t}", details:\n{b}', 'Log an issue "{t}" in {full}; description:\n{b}',
        ), full=full, t=title, b=body)  # fmt: skip
    else:
        lab = " and ".join(labels)
        user = fmt(r, (
            'Open an issue in {full} titled "{t}" and label it {l}.', 'Create "{t}" in {full} with labels {l}.',
            'File an issue "{t}" on {full}, tagged {l}.', 'New {l} issue in {full}: "{t}"',
            'Add an issue to {full} called "{t}" (labels: {l}).',
        ), full=full, t=title, l=lab)  # fmt: skip
    c = call("github", "create_issue", owner=owner, repo=repo, title=title, body=body, labels=labels)
    res = gh_issue(owner, repo, number, title, labels=labels or (), body=body or "")
    return Scenario(user, [Step(c, jdump(res))], f"Created issue #{number}: {res['html_url']}")


@intent("single_call", "github/get_issue")
def _gh_get_issue(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    state, labels = r.choice(("open", "open", "closed")), r.sample(LABELS, 1)
    user = fmt(r, (
        "Show me issue #{n} in {full}.", "What's issue {n} of {full} about?", "Get the details of {full}#{n}.",
        "Is issue #{n} in {full} still open?", "Look up issue number {n} in the {full} repo.",
    ), full=full, n=number)  # fmt: skip
    res = gh_issue(owner, repo, number, title, state=state, labels=labels, body=r.choice(ISSUE_BODIES),
                    user=r.choice(GH_USERS), comments=r.randrange(0, 12))  # fmt: skip
    return Scenario(user, [Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=number), jdump(res))],
                    f"#{number} \"{title}\" is {state} (label: {labels[0]}), opened by {res['user']['login']} with {res['comments']} comment(s).")  # fmt: skip


def _issue_list(
    r: Random, owner: str, repo: str, state: str, labels: Sequence[str] | None, k: int
) -> list[dict[str, Any]]:
    nums = sorted(r.sample(range(1, 2000), k), reverse=True)
    titles = r.sample(ISSUE_TITLES, k)
    st = "open" if state == "all" else state
    return [
        gh_issue(owner, repo, n, t, state=st, labels=list(labels or r.sample(LABELS, 1)))
        for n, t in zip(nums, titles, strict=True)
    ]


@intent("single_call", "github/list_issues")
def _gh_list_issues(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    state = r.choice((None, "open", "closed", "all"))
    labels = [r.choice(LABELS)] if r.random() < 0.4 else None
    what = ("" if state is None else f"{state} ") + (f"{labels[0]} " if labels else "")
    user = fmt(r, (
        "List the {w}issues in {full}.", "Which {w}issues does {full} have?", "Show me {w}issues for {full}.",
        "What {w}issues are there in the {full} repository?", "Give me the {w}issue list of {full}.",
    ), full=full, w=what)  # fmt: skip
    items = _issue_list(r, owner, repo, state or "open", labels, r.randrange(1, 4))
    c = call("github", "list_issues", owner=owner, repo=repo, state=state, labels=labels)
    return Scenario(user, [Step(c, jdump(items))],
                    f"{len(items)} {what}issue(s):\n" + "\n".join(f"- #{i['number']} {i['title']}" for i in items))  # fmt: skip


@intent("single_call", "github/search_repositories")
def _gh_search(r: Random) -> Scenario:
    query, what = r.choice(SEARCH_QUERIES)
    per = r.choice((None, None, 5, 10))
    if per is None:
        user = fmt(r, (
            "Search GitHub for {w} (query: {q}).", "Find repositories matching `{q}`.",
            "Look on GitHub for {q}.", "GitHub repo search: {q}", "Which repos come up for the search `{q}`?",
        ), q=query, w=what)  # fmt: skip
    else:
        user = fmt(r, (
            "Search GitHub for `{q}` and give me the top {k} results.", "Find {k} repositories for `{q}`.",
            "Top {k} repos matching `{q}`?", "Run a GitHub search for `{q}`, {k} per page.",
        ), q=query, k=per)  # fmt: skip
    found = r.sample(GH_REPOS, 3)
    res = {"total_count": r.randrange(3, 5000), "items": [
        {"full_name": f"{o}/{n}", "description": f"{what.capitalize()} example", "stargazers_count": r.randrange(10, 50000),
         "html_url": f"https://github.com/{o}/{n}"} for o, n in found]}  # fmt: skip
    return Scenario(user, [Step(call("github", "search_repositories", query=query, perPage=per), jdump(res))],
                    "Top results: " + ", ".join(f"{i['full_name']} (★{i['stargazers_count']})" for i in res["items"]) + ".")  # fmt: skip


@intent("single_call", "github/create_pull_request")
def _gh_create_pr(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    head, base = r.choice(BRANCHES), r.choice(BASE_BRANCHES)
    title = r.choice(COMMIT_MESSAGES)
    draft = True if r.random() < 0.25 else None
    user = fmt(r, (
        'Open a pull request in {full} from {h} into {b} titled "{t}".', 'Create a PR on {full}: {h} -> {b}, title "{t}".',
        'Please open a PR for {full} merging {h} into {b}. Title: "{t}"', 'PR from {h} to {b} in {full}, called "{t}".',
        'Make a pull request "{t}" in {full} (head {h}, base {b}).',
    ), full=full, h=head, b=base, t=title) + (" Make it a draft." if draft else "")  # fmt: skip
    number = r.randrange(1, 3000)
    res = {"number": number, "title": title, "state": "open", "draft": bool(draft), "head": {"ref": head},
           "base": {"ref": base}, "html_url": f"https://github.com/{full}/pull/{number}"}  # fmt: skip
    c = call(
        "github",
        "create_pull_request",
        owner=owner,
        repo=repo,
        title=title,
        head=head,
        base=base,
        draft=draft,
    )
    return Scenario(
        user, [Step(c, jdump(res))], f"Opened {'draft ' if draft else ''}PR #{number}: {res['html_url']}"
    )


@intent("single_call", "github/get_file_contents")
def _gh_file(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    path = r.choice(CODE_FILES)
    branch = r.choice((None, None, "develop", "main"))
    user = fmt(r, (
        "Show me {p} from {full}{on}.", "What does {p} look like in {full}{on}?", "Fetch {p} from the {full} repo{on}.",
        "Get the contents of {p} in {full}{on}.", "Open {full}/{p}{on} on GitHub.",
    ), full=full, p=path, on=f" on the {branch} branch" if branch else "")  # fmt: skip
    content = snippet(path)
    res = {
        "type": "file",
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "size": len(content),
        "encoding": "utf-8",
        "content": content,
    }
    return Scenario(user, [Step(call("github", "get_file_contents", owner=owner, repo=repo, path=path, branch=branch), jdump(res))],
                    f"`{path}` in {full}:\n```\n{content}```")  # fmt: skip


@intent("single_call", "github/add_issue_comment")
def _gh_comment(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    number = r.randrange(1, 2000)
    body = r.choice(("I can reproduce this on the latest release.", f"Fixed in #{r.randrange(1, 2000)}, closing soon.",
                     "Could you share the full stack trace?", "Thanks! I'll take a look this week.",
                     "This is a duplicate of an older issue; see the linked discussion."))  # fmt: skip
    user = fmt(r, (
        'Comment on issue #{n} in {full}: "{b}"', 'Reply to {full}#{n} with "{b}"', 'Add a comment to issue {n} of {full} saying "{b}"',
        'Post "{b}" on issue #{n} in {full}.', 'Leave this comment on {full} issue {n}: "{b}"',
    ), full=full, n=number, b=body)  # fmt: skip
    cid = r.randrange(10**8, 10**9)
    res = {
        "id": cid,
        "body": body,
        "html_url": f"https://github.com/{full}/issues/{number}#issuecomment-{cid}",
    }
    return Scenario(user, [Step(call("github", "add_issue_comment", owner=owner, repo=repo, issue_number=number, body=body), jdump(res))],
                    f"Comment posted: {res['html_url']}")  # fmt: skip


@intent("single_call", "github/update_issue")
def _gh_close_issue(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    user = fmt(r, (
        "Close issue #{n} in {full}.", "Mark {full}#{n} as closed.", "Issue {n} in {full} is fixed; close it.",
        "Please close issue number {n} on {full}.", "Set the state of {full} issue #{n} to closed.",
    ), full=full, n=number)  # fmt: skip
    res = gh_issue(owner, repo, number, title, state="closed")
    return Scenario(user, [Step(call("github", "update_issue", owner=owner, repo=repo, issue_number=number, state="closed"), jdump(res))],
                    f"Closed #{number} (\"{title}\").")  # fmt: skip


@intent("single_call", "github/list_pull_requests")
def _gh_list_prs(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    state = r.choice((None, "open", "closed"))
    user = fmt(r, (
        "List the {w}pull requests in {full}.", "Which {w}PRs does {full} have?", "Show {w}pull requests for {full}.",
        "What {w}PRs are there on {full}?",
    ), full=full, w=f"{state} " if state else "")  # fmt: skip
    prs = [{"number": n, "title": t, "state": state or "open", "head": {"ref": b}}
           for n, t, b in zip(sorted(r.sample(range(1, 3000), 2), reverse=True), r.sample(COMMIT_MESSAGES, 2), r.sample(BRANCHES, 2), strict=True)]  # fmt: skip
    return Scenario(user, [Step(call("github", "list_pull_requests", owner=owner, repo=repo, state=state), jdump(prs))],
                    "\n".join(f"- #{p['number']} {p['title']} ({p['head']['ref']})" for p in prs))  # fmt: skip


@intent("single_call", "github/create_branch")
def _gh_branch(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    branch, src = r.choice(BRANCHES), r.choice((None, "develop", "main"))
    user = fmt(r, (
        "Create a branch {b} in {full}{f}.", "Make a new branch {b} on GitHub for {full}{f}.",
        "Add branch {b} to {full}{f}.", "On {full}, create {b}{f}.",
    ), full=full, b=branch, f=f" from {src}" if src else "")  # fmt: skip
    res = {"ref": f"refs/heads/{branch}", "object": {"sha": random_sha(r), "type": "commit"}}
    return Scenario(user, [Step(call("github", "create_branch", owner=owner, repo=repo, branch=branch, from_branch=src), jdump(res))],
                    f"Created `{branch}` in {full}.")  # fmt: skip


@intent("single_call", "github/list_commits")
def _gh_commits(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    sha = r.choice((None, "develop", "main"))
    user = fmt(r, (
        "Show the recent commits of {full}{on}.", "What was committed to {full}{on} lately?",
        "List commits in {full}{on}.", "Latest commit history for {full}{on}, please.",
    ), full=full, on=f" on {sha}" if sha else "")  # fmt: skip
    commits = [{"sha": random_sha(r), "commit": {"message": m, "author": {"name": a}}}
               for m, a in zip(r.sample(COMMIT_MESSAGES, 3), r.sample(PEOPLE, 3), strict=True)]  # fmt: skip
    return Scenario(user, [Step(call("github", "list_commits", owner=owner, repo=repo, sha=sha), jdump(commits))],
                    "\n".join(f"- `{c['sha'][:7]}` {c['commit']['message']} ({c['commit']['author']['name']})" for c in commits))  # fmt: skip


@intent("single_call", "github/search_code")
def _gh_search_code(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    term = r.choice(("TODO", "def load_user", "retry_policy", "import requests", "useEffect", "SECRET_KEY"))
    q = f"{term} repo:{full}"
    user = fmt(r, (
        "Search the code of {full} for `{t}`.", "Where does `{t}` appear in {full}?", "Find `{t}` in the {full} codebase.",
        "Code search: `{t}` in {full}.",
    ), full=full, t=term)  # fmt: skip
    files = r.sample(CODE_FILES, 2)
    res = {
        "total_count": 2,
        "items": [
            {"name": f.rsplit("/", 1)[-1], "path": f, "repository": {"full_name": full}} for f in files
        ],
    }
    return Scenario(user, [Step(call("github", "search_code", q=q), jdump(res))],
                    f"`{term}` appears in " + " and ".join(f"`{f}`" for f in files) + ".")  # fmt: skip


@intent("multi_step", "github/list_issues", "github/get_issue")
def _gh_latest_bug(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    label = r.choice(("bug", "performance", "documentation"))
    items = _issue_list(r, owner, repo, "open", [label], r.randrange(2, 4))
    top = items[0]
    user = fmt(r, (
        "What's the newest open {l} issue in {full}? Give me its details.",
        "Find the most recent open {l} issue in {full} and summarise it.",
        "Look at the latest {l} ticket in {full} and tell me what it says.",
        "In {full}, pick the newest open issue labelled {l} and show me the full issue.",
        "Any open {l} issues in {full}? Show me the most recent one in detail.",
    ), full=full, l=label)  # fmt: skip
    detail = dict(top, body=r.choice(ISSUE_BODIES), comments=r.randrange(0, 9))
    steps = [
        Step(call("github", "list_issues", owner=owner, repo=repo, state="open", labels=[label]), jdump(items)),
        Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=top["number"]), jdump(detail),
             text=f"The newest one is #{top['number']}. Fetching its details."),
    ]  # fmt: skip
    return Scenario(
        user,
        steps,
        f'#{top["number"]} "{top["title"]}" ({detail["comments"]} comments):\n{detail["body"]}',
        difficulty="hard",
    )


@intent("multi_step", "github/search_repositories", "github/get_file_contents")
def _gh_search_then_readme(r: Random) -> Scenario:
    query, what = r.choice(SEARCH_QUERIES)
    owner, repo = r.choice(GH_REPOS)
    user = fmt(r, (
        "Find the top GitHub repo for `{q}` and show me its README.",
        "Search GitHub for {w} and open the README of the first hit.",
        "What's the best match for `{q}` on GitHub? Read me its README.md.",
        "Look up `{q}` on GitHub, then fetch README.md from the top result.",
        "I want to know about {w}: search, take the first repository and show its README.",
    ), q=query, w=what)  # fmt: skip
    res = {
        "total_count": r.randrange(10, 900),
        "items": [{"full_name": f"{owner}/{repo}", "stargazers_count": r.randrange(100, 90000)}],
    }
    readme = f"# {repo}\n\n{what.capitalize()}.\n\n## Install\n\npip install {repo}\n"
    steps = [
        Step(call("github", "search_repositories", query=query), jdump(res)),
        Step(call("github", "get_file_contents", owner=owner, repo=repo, path="README.md"),
             jdump({"type": "file", "path": "README.md", "content": readme}), text=f"The top result is {owner}/{repo}."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Top result: {owner}/{repo}. Its README:\n\n{readme}", difficulty="medium")


@intent("error_handling", "github/get_file_contents")
def _gh_missing_path(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    wrong = r.choice(("docs/setup.md", "docs/INSTALL.md", "doc/usage.md", "documentation/api.md"))
    folder = wrong.split("/", 1)[0]
    right = f"docs/{r.choice(('SETUP.md', 'installation.md', 'getting-started.md', 'usage.md'))}"
    user = fmt(r, (
        "Show me {p} from {full}.", "Fetch {p} in {full}.", "What does {p} in {full} say?",
        "Open {p} from the {full} repository.", "Read {full}/{p} on GitHub.",
    ), full=full, p=wrong)  # fmt: skip
    listing = [
        {"type": "file", "name": right.split("/")[1], "path": right},
        {"type": "dir", "name": "images", "path": "docs/images"},
    ]
    content = "# Setup\n\n1. Clone the repo\n2. Run `make install`\n"
    steps = [
        Step(call("github", "get_file_contents", owner=owner, repo=repo, path=wrong), "Not Found: Resource not found", is_error=True),
        Step(call("github", "get_file_contents", owner=owner, repo=repo, path="docs"), jdump(listing),
             text=f"{wrong} doesn't exist. Let me list the docs folder to find the right file."
             if folder == "docs" else f"There is no {folder}/ folder; let me check docs/ instead."),
        Step(call("github", "get_file_contents", owner=owner, repo=repo, path=right), jdump({"type": "file", "path": right, "content": content}),
             text=f"The closest match is {right}."),
    ]  # fmt: skip
    return Scenario(
        user,
        steps,
        f"`{wrong}` doesn't exist in {full}; the setup guide is `{right}`:\n\n{content}",
        difficulty="hard",
    )
