"""Intents of @modelcontextprotocol/server-github."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import Any

from mcpft_lib.data.intents.filesystem import snippet
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, gh_issue, intent, jdump, load_text, random_sha
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

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
CODE_SEARCH_TERMS = _TEXT["code_search_terms"]
WRONG_DOC_PATHS = _TEXT["wrong_doc_paths"]
RIGHT_DOC_NAMES = _TEXT["right_doc_names"]


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
        user = fmt(r, PHRASES["gh_create_issue"]["ask"], full=full, t=title)
    elif variant == 1:
        user = fmt(r, PHRASES["gh_create_issue"]["ask_body"], full=full, t=title, b=body)
    else:
        lab = " and ".join(labels)
        user = fmt(r, PHRASES["gh_create_issue"]["ask_labels"], full=full, t=title, l=lab)
    c = call("github", "create_issue", owner=owner, repo=repo, title=title, body=body, labels=labels)
    res = gh_issue(owner, repo, number, title, labels=labels or (), body=body or "")
    return Scenario(user, [Step(c, jdump(res))], f"Created issue #{number}: {res['html_url']}")


@intent("single_call", "github/get_issue")
def _gh_get_issue(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    state, labels = r.choice(("open", "open", "closed")), r.sample(LABELS, 1)
    user = fmt(r, PHRASES["gh_get_issue"]["ask"], full=full, n=number)
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
    user = fmt(r, PHRASES["gh_list_issues"]["ask"], full=full, w=what)
    items = _issue_list(r, owner, repo, state or "open", labels, r.randrange(1, 4))
    c = call("github", "list_issues", owner=owner, repo=repo, state=state, labels=labels)
    return Scenario(user, [Step(c, jdump(items))],
                    f"{len(items)} {what}issue(s):\n" + "\n".join(f"- #{i['number']} {i['title']}" for i in items))  # fmt: skip


@intent("single_call", "github/search_repositories")
def _gh_search(r: Random) -> Scenario:
    query, what = r.choice(SEARCH_QUERIES)
    per = r.choice((None, None, 5, 10))
    if per is None:
        user = fmt(r, PHRASES["gh_search"]["ask"], q=query, w=what)
    else:
        user = fmt(r, PHRASES["gh_search"]["ask_count"], q=query, k=per)
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
    user = fmt(r, PHRASES["gh_create_pr"]["ask"], full=full, h=head, b=base, t=title)
    user += " Make it a draft." if draft else ""
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
    user = fmt(r, PHRASES["gh_file"]["ask"], full=full, p=path,
               on=f" on the {branch} branch" if branch else "")  # fmt: skip
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
    fixed_in = r.randrange(1, 2000)  # a comment may cite the pull request that fixed it
    body = r.choice(PHRASES["gh_comment"]["comment"]).format(pr=fixed_in)
    user = fmt(r, PHRASES["gh_comment"]["ask"], full=full, n=number, b=body)
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
    user = fmt(r, PHRASES["gh_close_issue"]["ask"], full=full, n=number)
    res = gh_issue(owner, repo, number, title, state="closed")
    return Scenario(user, [Step(call("github", "update_issue", owner=owner, repo=repo, issue_number=number, state="closed"), jdump(res))],
                    f"Closed #{number} (\"{title}\").")  # fmt: skip


@intent("single_call", "github/list_pull_requests")
def _gh_list_prs(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    state = r.choice((None, "open", "closed"))
    user = fmt(r, PHRASES["gh_list_prs"]["ask"], full=full, w=f"{state} " if state else "")
    prs = [{"number": n, "title": t, "state": state or "open", "head": {"ref": b}}
           for n, t, b in zip(sorted(r.sample(range(1, 3000), 2), reverse=True), r.sample(COMMIT_MESSAGES, 2), r.sample(BRANCHES, 2), strict=True)]  # fmt: skip
    return Scenario(user, [Step(call("github", "list_pull_requests", owner=owner, repo=repo, state=state), jdump(prs))],
                    "\n".join(f"- #{p['number']} {p['title']} ({p['head']['ref']})" for p in prs))  # fmt: skip


@intent("single_call", "github/create_branch")
def _gh_branch(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    branch, src = r.choice(BRANCHES), r.choice((None, "develop", "main"))
    user = fmt(r, PHRASES["gh_branch"]["ask"], full=full, b=branch, f=f" from {src}" if src else "")
    res = {"ref": f"refs/heads/{branch}", "object": {"sha": random_sha(r), "type": "commit"}}
    return Scenario(user, [Step(call("github", "create_branch", owner=owner, repo=repo, branch=branch, from_branch=src), jdump(res))],
                    f"Created `{branch}` in {full}.")  # fmt: skip


@intent("single_call", "github/list_commits")
def _gh_commits(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    sha = r.choice((None, "develop", "main"))
    user = fmt(r, PHRASES["gh_commits"]["ask"], full=full, on=f" on {sha}" if sha else "")
    commits = [{"sha": random_sha(r), "commit": {"message": m, "author": {"name": a}}}
               for m, a in zip(r.sample(COMMIT_MESSAGES, 3), r.sample(PEOPLE, 3), strict=True)]  # fmt: skip
    return Scenario(user, [Step(call("github", "list_commits", owner=owner, repo=repo, sha=sha), jdump(commits))],
                    "\n".join(f"- `{c['sha'][:7]}` {c['commit']['message']} ({c['commit']['author']['name']})" for c in commits))  # fmt: skip


@intent("single_call", "github/search_code")
def _gh_search_code(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    term = r.choice(CODE_SEARCH_TERMS)
    q = f"{term} repo:{full}"
    user = fmt(r, PHRASES["gh_search_code"]["ask"], full=full, t=term)
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
    user = fmt(r, PHRASES["gh_latest_bug"]["ask"], full=full, l=label)
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
    user = fmt(r, PHRASES["gh_search_then_readme"]["ask"], q=query, w=what)
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
    wrong = r.choice(WRONG_DOC_PATHS)
    folder = wrong.split("/", 1)[0]
    right = f"docs/{r.choice(RIGHT_DOC_NAMES)}"
    user = fmt(r, PHRASES["gh_missing_path"]["ask"], full=full, p=wrong)
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
