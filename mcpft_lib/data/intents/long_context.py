"""Long-context intents: a tool returns a long result; the model must find the right part and follow up."""

from __future__ import annotations

from datetime import timedelta
from random import Random
from typing import Any

from mcpft_lib.data.intents.git import unified_diff
from mcpft_lib.data.intents.github import pick_repo
from mcpft_lib.data.intents.sqlite import rows_text
from mcpft_lib.data.scenario import (
    Scenario,
    Step,
    call,
    fmt,
    gh_issue,
    intent,
    jdump,
    load_text,
    random_date,
    random_sha,
)
from mcpft_lib.mcp.world import (
    CODE_FILES,
    COMMIT_MESSAGES,
    COUNTRIES,
    FS_ROOTS,
    ISSUE_BODIES,
    ISSUE_TITLES,
    LABELS,
    OBSERVATIONS,
    ORDER_STATUSES,
    PEOPLE,
    REPOS,
    email_of,
)

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
NEEDLES = list(_TEXT["needles"].items())  # (commit message, how the user names the change)
LOG_LEVELS: tuple[str, ...] = tuple(_TEXT["log_levels"])
# (url, topic, what the user asks about, what the page says about it)
DOC_PAGES = [(d["url"], d["topic"], d["needle"], d["gist"]) for d in _TEXT["doc_pages"]]
SITES: list[str] = _TEXT["sites"]
SLACK_CHANNELS = list(_TEXT["slack_channels"].items())  # (id, name)
SLACK_USERS = list(_TEXT["slack_users"].items())  # (id, handle)
SLACK_TEXTS: list[str] = _TEXT["slack_texts"]
LOG_ERRORS = _TEXT["log_errors"]
LOG_MESSAGES = _TEXT["log_messages"]
CSV_NAMES = _TEXT["csv_names"]
REGIONS = _TEXT["regions"]
DOC_SENTENCES = _TEXT["doc_sentences"]
NAV_LABELS = _TEXT["nav_labels"]
LINK_LABELS = _TEXT["link_labels"]


def _long_log(r: Random, n: int, needle: str) -> tuple[str, str, int]:
    """A commit history of `n` entries with one whose message contains `needle`; (text, its sha, its index)."""
    day, entries, pos, target = random_date(r), [], r.randrange(2, n), ""
    msgs = [m for m in COMMIT_MESSAGES if needle.lower() not in m.lower()]
    for i in range(n):
        sha = random_sha(r)
        msg = needle if i == pos else r.choice(msgs)
        if i == pos:
            target = sha
        day -= timedelta(hours=r.randrange(1, 30))
        entries.append(
            f"Commit: {sha}\nAuthor: {r.choice(PEOPLE)}\nDate: {day.isoformat(sep=' ')}\nMessage: {msg}\n"
        )
    return "Commit history:\n" + "\n".join(entries), target, pos


@intent("large_context", "git/git_log", "git/git_show")
def _lc_git_find_commit(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    needle, topic = r.choice(NEEDLES)
    n = r.randrange(6, 11)
    text, sha, pos = _long_log(r, n, needle)
    user = fmt(r, PHRASES["lc_git_find_commit"]["ask"], n=n, repo=repo, t=topic)
    steps = [
        Step(call("git", "git_log", repo_path=repo, max_count=n), text),
        Step(call("git", "git_show", repo_path=repo, revision=sha), f"commit {sha}\n\n    {needle}\n\n" + unified_diff(r, path),
             text=f"Entry {pos + 1} of {n}, {sha[:7]}, is \"{needle}\". Opening it."),
    ]  # fmt: skip
    return Scenario(user, steps, f'`{sha[:7]}` ("{needle}") changes `{path}`.', difficulty="hard")


@intent("large_context", "git/git_log")
def _lc_git_count_author(r: Random) -> Scenario:
    repo, n = r.choice(REPOS), r.randrange(6, 11)
    day, entries, who_count = random_date(r), [], {}
    authors = r.sample(PEOPLE, 3)
    for _ in range(n):
        who = r.choice(authors)
        who_count[who] = who_count.get(who, 0) + 1
        day -= timedelta(hours=r.randrange(1, 30))
        entries.append(
            f"Commit: {random_sha(r)}\nAuthor: {who}\nDate: {day.isoformat(sep=' ')}\nMessage: {r.choice(COMMIT_MESSAGES)}\n"
        )
    target = r.choice(authors)
    user = fmt(r, PHRASES["lc_git_count_author"]["ask"], n=n, repo=repo, a=target)
    k = who_count.get(target, 0)
    return Scenario(user, [Step(call("git", "git_log", repo_path=repo, max_count=n), "Commit history:\n" + "\n".join(entries))],
                    f"{k} of the last {n} commits are by {target}.", difficulty="hard")  # fmt: skip


def _long_users(r: Random, n: int, country: str) -> list[dict[str, Any]]:
    people = r.sample(PEOPLE, min(n, len(PEOPLE)))
    return [
        {"id": 100 + 7 * i, "name": p, "email": email_of(p), "country": country} for i, p in enumerate(people)
    ]


@intent("large_context", "sqlite/read_query")
def _lc_sql_pick_row(r: Random) -> Scenario:
    country = r.choice(COUNTRIES)
    rows = _long_users(r, r.randrange(6, 11), country)
    target = r.choice(rows)
    n_orders = r.randrange(1, 40)
    user = fmt(r, PHRASES["lc_sql_pick_row"]["ask"], c=country, p=target["name"])
    steps = [
        Step(call("sqlite", "read_query", query=f"SELECT id, name, email, country FROM users WHERE country = '{country}'"), rows_text(rows)),
        Step(call("sqlite", "read_query", query=f"SELECT COUNT(*) AS n FROM orders WHERE user_id = {target['id']}"),
             rows_text([{"n": n_orders}]), text=f"{target['name']} has id {target['id']}. Counting their orders."),
    ]  # fmt: skip
    return Scenario(user, steps, f"{len(rows)} users are from {country}; {target['name']} (id {target['id']}) placed {n_orders} orders.",
                    difficulty="hard")  # fmt: skip


@intent("large_context", "sqlite/read_query")
def _lc_sql_outlier(r: Random) -> Scenario:
    k = r.randrange(8, 14)
    rows = [{"id": 5000 + i, "user_id": r.randrange(1, 900), "total": round(r.uniform(10, 300), 2),
             "status": r.choice(ORDER_STATUSES)} for i in range(k)]  # fmt: skip
    big = r.randrange(k)
    rows[big]["total"] = round(r.uniform(4000, 9000), 2)
    day = random_date(r).date().isoformat()
    user = fmt(r, PHRASES["lc_sql_outlier"]["ask"], d=day)
    sql = f"SELECT id, user_id, total, status FROM orders WHERE created_at LIKE '{day}%'"
    o = rows[big]
    return Scenario(user, [Step(call("sqlite", "read_query", query=sql), rows_text(rows))],
                    f"Of {k} orders, #{o['id']} stands out: ${o['total']:,.2f} from user {o['user_id']}, far above the rest.",
                    difficulty="medium")  # fmt: skip


@intent("large_context", "memory/read_graph", "memory/add_observations")
def _lc_mem_find_entity(r: Random) -> Scenario:
    people = r.sample(PEOPLE, r.randrange(5, 9))
    ents = [
        {"name": p, "entityType": "person", "observations": r.sample(OBSERVATIONS[:6], 1)} for p in people
    ]
    target = r.choice(ents)
    target["observations"] = ["Is the release manager for 2.4"]
    for e in ents:
        if e is not target and e["observations"] == target["observations"]:
            e["observations"] = ["Works from Lisbon"]
    fact = r.choice(PHRASES["lc_mem_find_entity"]["fact"])
    graph = {
        "entities": ents,
        "relations": [{"from": people[0], "to": "billing-service", "relationType": "maintains"}],
    }
    user = fmt(r, PHRASES["lc_mem_find_entity"]["ask"], f=fact[0].lower() + fact[1:])
    steps = [
        Step(call("memory", "read_graph"), jdump(graph)),
        Step(call("memory", "add_observations", observations=[{"entityName": target["name"], "contents": [fact]}]),
             jdump([{"entityName": target["name"], "addedObservations": [fact]}]),
             text=f"{target['name']} is the release manager for 2.4."),
    ]  # fmt: skip
    return Scenario(
        user, steps, f"Noted for {target['name']}: {fact[0].lower() + fact[1:]}.", difficulty="hard"
    )


@intent("large_context", "filesystem/read_text_file")
def _lc_fs_log(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path = f"{root}/logs/app.log"
    n = r.randrange(14, 25)
    t = random_date(r)
    lines, err_at = [], r.randrange(5, n)
    err = r.choice(LOG_ERRORS)
    for i in range(n):
        t += timedelta(seconds=r.randrange(1, 90))
        msg = err if i == err_at else r.choice(LOG_MESSAGES)
        lines.append(f"{t:%Y-%m-%d %H:%M:%S} {'ERROR' if i == err_at else r.choice(LOG_LEVELS)} {msg}")
        if i == err_at:
            when = f"{t:%H:%M:%S}"
    tail = r.choice((None, n))
    user = fmt(r, PHRASES["lc_fs_log"]["ask"], p=path)
    return Scenario(user, [Step(call("filesystem", "read_text_file", path=path, tail=tail), "\n".join(lines) + "\n")],
                    f"One error, at {when}: {err}.", difficulty="medium")  # fmt: skip


@intent("large_context", "filesystem/read_text_file")
def _lc_fs_head(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path = f"{root}/data/{r.choice(CSV_NAMES)}.csv"
    k = r.choice((5, 10, 20))
    header = "date,region,revenue,orders"
    rows = [
        f"2024-05-{i + 1:02d},{r.choice(REGIONS)},{r.randrange(500, 9000)},{r.randrange(3, 90)}"
        for i in range(k - 1)
    ]
    user = fmt(r, PHRASES["lc_fs_head"]["ask"], p=path, k=k)
    content = "\n".join([header, *rows]) + "\n"
    return Scenario(user, [Step(call("filesystem", "read_text_file", path=path, head=k), content)],
                    f"Columns: {header.replace(',', ', ')}; the first rows start on {rows[0].split(',')[0]}.")  # fmt: skip


def _fetch_page(r: Random, url: str, topic: str, n: int) -> str:
    paras = [f"## {topic} — section {i + 1}\n\n" + " ".join(r.sample(DOC_SENTENCES, 4)) for i in range(n)]
    return "\n\n".join(paras)


@intent("large_context", "fetch/fetch")
def _lc_fetch_more(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    chunk = r.choice((2000, 3000, 5000))
    page1 = _fetch_page(r, url, topic, 3)[: chunk // 8]
    user = fmt(r, PHRASES["lc_fetch_more"]["ask"], u=url, n=needle)
    first = (
        call("fetch", "fetch", url=url, max_length=chunk)
        if chunk != 5000
        else call("fetch", "fetch", url=url)
    )
    steps = [
        Step(first, f"Contents of {url}:\n{page1}\n\n<error>Content truncated. Call the fetch tool with a start_index of {chunk} to get more content.</error>"),
        Step(call("fetch", "fetch", url=url, start_index=chunk, max_length=chunk) if chunk != 5000 else call("fetch", "fetch", url=url, start_index=chunk),
             f"Contents of {url}:\n## {needle}\n\n{gist}\n", text=f"No mention of {needle} in the first {chunk} characters; reading on."),
    ]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="hard")


@intent("large_context", "github/list_issues", "github/get_issue")
def _lc_gh_find_issue(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    titles = r.sample(ISSUE_TITLES, r.randrange(5, 9))
    issues = [gh_issue(owner, repo, r.randrange(10, 3000), t, labels=r.sample(LABELS, 1)) for t in titles]
    for it in issues:
        it["body"] = ""
    target = r.choice(issues)
    key = target["title"].split()[0:3]
    user = fmt(r, PHRASES["lc_gh_find_issue"]["ask"], f=full, k=" ".join(key))
    steps = [
        Step(call("github", "list_issues", owner=owner, repo=repo, state="open"), jdump(issues)),
        Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=target["number"]),
             jdump(gh_issue(owner, repo, target["number"], target["title"], body=r.choice(ISSUE_BODIES))),
             text=f"It's #{target['number']}."),
    ]  # fmt: skip
    return Scenario(user, steps, f'#{target["number"]} "{target["title"]}" is open.', difficulty="hard")


def pw_snapshot(r: Random, url: str, target_label: str) -> tuple[str, str]:
    labels = r.sample(NAV_LABELS, 8)
    if target_label not in labels:
        labels[r.randrange(len(labels))] = target_label
    lines = [
        f"- Page URL: {url}",
        "- Page Title: Acme",
        "```yaml",
        "- banner [ref=e2]:",
        "  - navigation [ref=e3]:",
    ]
    ref = ""
    for i, lab in enumerate(labels):
        kind = "link" if i % 3 else "button"
        lines.append(f'    - {kind} "{lab}" [ref=e{10 + 3 * i}]')
        if lab == target_label:
            ref = f"e{10 + 3 * i}"
    lines += [
        "- main [ref=e60]:",
        '  - heading "Build faster" [level=1] [ref=e61]',
        '  - textbox "Email" [ref=e62]',
        "```",
    ]
    return "\n".join(lines), ref


@intent("large_context", "playwright/browser_navigate", "playwright/browser_click")
def _lc_pw_click(r: Random) -> Scenario:
    url, label = r.choice(SITES), r.choice(LINK_LABELS)
    snap, ref = pw_snapshot(r, url, label)
    user = fmt(r, PHRASES["lc_pw_click"]["ask"], u=url, l=label)
    steps = [
        Step(call("playwright", "browser_navigate", url=url), snap),
        Step(call("playwright", "browser_click", target=ref, element=f"{label} link"),
             f"- Page URL: {url}/{label.lower().replace(' ', '-')}\n- Page Title: {label} | Acme", text=f"\"{label}\" is {ref}."),
    ]  # fmt: skip
    return Scenario(user, steps, f'Opened {url} and clicked "{label}".', difficulty="hard")


def slack_ts(r: Random) -> str:
    return f"{r.randrange(1_700_000_000, 1_760_000_000)}.{r.randrange(10**6):06d}"


@intent("large_context", "slack/slack_get_channel_history", "slack/slack_reply_to_thread")
def _lc_slack_reply(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    msgs = [{"type": "message", "user": r.choice(SLACK_USERS)[0], "text": t, "ts": slack_ts(r)}
            for t in r.sample(SLACK_TEXTS, r.randrange(5, 8))]  # fmt: skip
    target = r.choice(msgs)
    reply = r.choice(PHRASES["lc_slack_reply"]["reply"])
    user = fmt(r, PHRASES["lc_slack_reply"]["ask"], c=cname, t=target["text"], a=reply)
    steps = [
        Step(call("slack", "slack_get_channel_history", channel_id=cid), jdump({"ok": True, "messages": msgs})),
        Step(call("slack", "slack_reply_to_thread", channel_id=cid, thread_ts=target["ts"], text=reply),
             jdump({"ok": True, "channel": cid, "ts": slack_ts(r)}), text=f"The message has ts {target['ts']}."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Replied in the thread in #{cname}.", difficulty="hard")
