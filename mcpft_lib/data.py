"""MCP tool-use dataset: a seeded deterministic generator, validation with quarantine, splits, versions.

`generate()` builds structured `Example`s from intent templates (several phrasings each, realistic argument
pools, simulated results in the real servers' output formats). Every reference call is checked against the
tool's `inputSchema`. Assistant turns listed in `meta["context_turns"]` hold a deliberately wrong call (bad
arguments that the tool rejects, in error_handling): trainers may mask them and evaluators should not score
them as references. Calls that fail only because of the environment (missing file) are normal references.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from .fsutil import atomic_write
from .schema import CATEGORIES, RESOURCE_TOOL, Example, Message, Server, ToolCall

SPLITS = ("train", "val", "test")
DEFAULT_CATEGORIES = CATEGORIES[:5]  # single_call, multi_step, error_handling, clarification, no_tool

# ==========================================================================================================
# Scenario model used by the intent builders


@dataclass
class Step:
    """One assistant call and the tool result it gets back."""

    call: ToolCall
    result: str
    is_error: bool = False
    text: str = ""  # assistant text before the call
    mistake: bool = False  # the call itself is wrong (listed in meta["context_turns"], not a reference)


@dataclass
class Scenario:
    user: str
    steps: list[Step]
    answer: str  # final assistant text after the last result
    difficulty: str = "easy"


@dataclass
class Clarification:
    user: str  # the ambiguous request
    question: str  # the assistant's clarifying question (no call)
    reply: str  # the user's answer
    then: Scenario  # what happens after the answer (its `user` is ignored)


@dataclass
class Intent:
    name: str
    category: str
    tools: tuple[str, ...]  # "server/tool" the scenario uses
    build: Callable[[Random], Any]
    topic: str | None = None  # no_tool: a server the question is about (connected, not needed)

    @property
    def servers(self) -> tuple[str, ...]:
        out: list[str] = []
        for t in self.tools:
            s = t.split("/", 1)[0]
            if s not in out:
                out.append(s)
        return tuple(out)


INTENTS: list[Intent] = []


def _intent(category: str, *tools: str, topic: str | None = None) -> Callable[[Callable[[Random], Any]], Any]:
    def deco(fn: Callable[[Random], Any]) -> Callable[[Random], Any]:
        INTENTS.append(Intent(fn.__name__.lstrip("_"), category, tools, fn, topic))
        return fn

    return deco


def call(server: str, tool: str, **arguments: Any) -> ToolCall:
    """Shorthand for a ToolCall (drops arguments that are None)."""
    return ToolCall(server=server, tool=tool, arguments={k: v for k, v in arguments.items() if v is not None})


def fmt(r: Random, templates: Sequence[str], **slots: Any) -> str:
    """Pick one phrasing and fill its slots."""
    return r.choice(templates).format(**slots)


# ==========================================================================================================
# Argument pools

CITIES = [
    ("Berlin", "Europe/Berlin"), ("Paris", "Europe/Paris"), ("London", "Europe/London"),
    ("Madrid", "Europe/Madrid"), ("Rome", "Europe/Rome"), ("Amsterdam", "Europe/Amsterdam"),
    ("Stockholm", "Europe/Stockholm"), ("Warsaw", "Europe/Warsaw"), ("Athens", "Europe/Athens"),
    ("Istanbul", "Europe/Istanbul"), ("Moscow", "Europe/Moscow"), ("Dubai", "Asia/Dubai"),
    ("Mumbai", "Asia/Kolkata"), ("Kathmandu", "Asia/Kathmandu"), ("Singapore", "Asia/Singapore"),
    ("Hong Kong", "Asia/Hong_Kong"), ("Shanghai", "Asia/Shanghai"), ("Tokyo", "Asia/Tokyo"),
    ("Seoul", "Asia/Seoul"), ("Sydney", "Australia/Sydney"), ("Auckland", "Pacific/Auckland"),
    ("New York", "America/New_York"), ("Chicago", "America/Chicago"), ("Denver", "America/Denver"),
    ("Los Angeles", "America/Los_Angeles"), ("Toronto", "America/Toronto"),
    ("Mexico City", "America/Mexico_City"), ("São Paulo", "America/Sao_Paulo"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"), ("Johannesburg", "Africa/Johannesburg"),
    ("Cairo", "Africa/Cairo"), ("Lagos", "Africa/Lagos"), ("Nairobi", "Africa/Nairobi"),
    ("Honolulu", "Pacific/Honolulu"), ("Reykjavik", "Atlantic/Reykjavik"),
]  # fmt: skip
TZ_ABBREVIATIONS = [
    ("PST", "America/Los_Angeles"), ("IST", "Asia/Kolkata"), ("JST", "Asia/Tokyo"), ("BST", "Europe/London"),
    ("AEST", "Australia/Sydney"), ("CEST", "Europe/Berlin"), ("EDT", "America/New_York"),
    ("KST", "Asia/Seoul"), ("SGT", "Asia/Singapore"), ("NZST", "Pacific/Auckland"),
]  # fmt: skip  # not IANA keys: mcp-server-time rejects them
REPOS = [
    "/home/dev/projects/webapp", "/home/dev/code/payments-service", "/srv/git/inventory-api",
    "/Users/sam/work/mobile-app", "/home/alex/src/data-pipeline", "/workspace/ml-experiments",
    "/opt/repos/auth-gateway", "/home/dev/projects/docs-site", "/Users/kim/projects/cli-tool",
    "/home/ci/builds/frontend", "/home/maria/code/recommender", "/workspace/mcp-bridge",
]  # fmt: skip
CODE_FILES = [
    "src/app.py", "src/utils/helpers.py", "README.md", "tests/test_api.py", "package.json",
    "src/components/Header.tsx", "Dockerfile", "config/settings.yaml", "docs/index.md", "Makefile",
    "src/main.rs", "cmd/server/main.go", "pyproject.toml", ".github/workflows/ci.yml", "src/db/models.py",
    "src/routes/orders.ts", "scripts/deploy.sh", "CHANGELOG.md", "src/lib/cache.go", "tests/conftest.py",
]  # fmt: skip
BRANCHES = [
    "feature/login-form", "feature/dark-mode", "fix/null-pointer", "release/2.4", "chore/bump-deps",
    "feature/search-api", "hotfix/payment-timeout", "refactor/db-layer", "feature/csv-export",
    "fix/flaky-tests", "docs/api-reference", "feature/oauth2",
]  # fmt: skip
BASE_BRANCHES = ["main", "develop", "master"]
COMMIT_MESSAGES = [
    "Fix null check in user loader", "Add pagination to orders endpoint", "Bump requests to 2.32.3",
    "Refactor database session handling", "Update README with setup steps", "Add unit tests for parser",
    "Remove deprecated config flags", "Improve error messages for invalid input", "Fix typo in docs",
    "Add dark mode toggle", "Handle timeouts in payment client", "Cache product lookups",
    "Migrate CI to Python 3.12", "Validate email addresses on signup", "Speed up CSV export",
]  # fmt: skip
PEOPLE = [
    "Ada Lovelace", "Grace Hopper", "Alan Turing", "Margaret Hamilton", "Ken Thompson", "Barbara Liskov",
    "Dennis Ritchie", "Katherine Johnson", "Guido van Rossum", "Frances Allen", "Edsger Dijkstra",
    "Radia Perlman", "Donald Knuth", "Hedy Lamarr", "Anita Borg", "John McCarthy", "Sophie Wilson",
    "Joan Clarke", "Lin Wei", "Priya Raman", "Mateo García", "Amara Okafor", "Yuki Tanaka", "Lars Eriksson",
]  # fmt: skip
FS_ROOTS = [
    "/workspace/app",
    "/home/dev/projects/site",
    "/Users/sam/Documents/notes",
    "/srv/data",
    "/projects/api",
]
FS_FILES = CODE_FILES + [
    "notes/meeting-2024-05-02.md", "data/sales.csv", "logs/app.log", "TODO.md", "docs/architecture.md",
    ".env.example", "src/config.json", "notes/ideas.txt",
]  # fmt: skip
FS_DIRS = [
    "src",
    "tests",
    "docs",
    "config",
    "notes",
    "data",
    "scripts",
    "logs",
    "src/components",
    "src/utils",
]
GLOBS = [
    ("*.py", "Python files"), ("**/*.ts", "TypeScript files"), ("**/*.md", "Markdown files"),
    ("**/test_*.py", "test files"), ("**/Dockerfile", "Dockerfiles"), ("**/*.yaml", "YAML files"),
    ("**/*.json", "JSON files"), ("**/*.csv", "CSV files"), ("**/*.log", "log files"),
]  # fmt: skip
GH_REPOS = [
    ("octocat", "hello-world"), ("acme-corp", "billing-service"), ("pallets", "flask"), ("psf", "requests"),
    ("acme-corp", "web-portal"), ("rust-lang", "rustlings"), ("my-org", "infra-tools"), ("janedoe", "dotfiles"),
    ("datalab", "etl-jobs"), ("openhealth", "patient-api"), ("tinyco", "mobile-app"), ("fastapi", "fastapi"),
]  # fmt: skip
ISSUE_TITLES = [
    "Login button unresponsive on Safari", "Crash when uploading files larger than 2 GB",
    "Add dark mode support", "Document the REST API rate limits", "Flaky test: test_concurrent_writes",
    "Memory leak in websocket handler", "Support Python 3.13", "Typo in installation guide",
    "CSV export drops unicode characters", "Timeouts when calling the payments API",
    "Pagination returns duplicate rows", "Add retry logic to the webhook sender",
]  # fmt: skip
ISSUE_BODIES = [
    "Steps to reproduce:\n1. Open the app\n2. Click the button\n\nExpected: it works. Actual: nothing happens.",
    "Seen in production since the last deploy. Logs attached in the incident channel.",
    "This would help users who work at night. See the design mock in Figma.",
    "Users keep asking about this in the forum; a short section in the docs would help.",
    "Fails roughly 1 in 20 CI runs on Linux runners.",
]  # fmt: skip
LABELS = ["bug", "enhancement", "documentation", "good first issue", "help wanted", "performance", "tests"]
GH_USERS = ["octocat", "janedoe", "devbot", "mchen", "rpatel", "lgarcia", "tkim", "asmith"]
SEARCH_QUERIES = [
    ("fastapi template language:python", "FastAPI project templates"),
    ("mcp server sqlite", "MCP servers for SQLite"), ("topic:cli stars:>1000 language:rust", "popular Rust CLI tools"),
    ("react state management", "React state-management libraries"),
    ("kubernetes operator language:go", "Kubernetes operators written in Go"),
    ("markdown parser language:typescript", "TypeScript Markdown parsers"),
    ("llm fine-tuning lora", "LoRA fine-tuning projects"),
]  # fmt: skip
COUNTRIES = ["Germany", "France", "Japan", "Brazil", "Canada", "India", "Kenya", "Spain", "Mexico", "Sweden"]
ORDER_STATUSES = ["pending", "shipped", "delivered", "cancelled", "refunded"]
PRODUCT_CATEGORIES = ["books", "electronics", "garden", "toys", "kitchen", "sports"]
PRODUCTS = [
    "USB-C cable", "Mechanical keyboard", "Noise-cancelling headphones", "Garden hose", "Chef's knife",
    "Yoga mat", "Board game", "E-reader", "Desk lamp", "Water bottle", "Running shoes", "Coffee grinder",
]  # fmt: skip
SQL_TABLES: dict[str, list[tuple[str, str, int]]] = {  # name -> (column, type, pk)
    "users": [("id", "INTEGER", 1), ("name", "TEXT", 0), ("email", "TEXT", 0), ("country", "TEXT", 0),
              ("created_at", "TEXT", 0)],
    "orders": [("id", "INTEGER", 1), ("user_id", "INTEGER", 0), ("total", "REAL", 0), ("status", "TEXT", 0),
               ("created_at", "TEXT", 0)],
    "products": [("id", "INTEGER", 1), ("name", "TEXT", 0), ("category", "TEXT", 0), ("price", "REAL", 0),
                 ("stock", "INTEGER", 0)],
    "order_items": [("id", "INTEGER", 1), ("order_id", "INTEGER", 0), ("product_id", "INTEGER", 0),
                    ("quantity", "INTEGER", 0)],
    "events": [("id", "INTEGER", 1), ("user_id", "INTEGER", 0), ("kind", "TEXT", 0), ("ts", "TEXT", 0)],
}  # fmt: skip
ENTITY_TYPES = ["person", "project", "organization", "service"]
PROJECTS = [
    "billing-service",
    "Project Apollo",
    "search-revamp",
    "mobile-app",
    "data-warehouse",
    "auth-gateway",
]
ORGS = ["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries"]
OBSERVATIONS = [
    "Prefers async communication", "Speaks German and English", "Owns the payments integration",
    "Joined the team in March 2023", "Works from Lisbon", "On call this week", "Leads the API guild",
    "Prefers Python over Go", "Is the release manager for 2.4", "Reviews all database migrations",
    "Uses PostgreSQL 16 in production", "Deploys every Tuesday", "Has a 99.9% uptime SLO",
]  # fmt: skip
RELATIONS = ["works_at", "maintains", "reports_to", "depends_on", "collaborates_with", "owns"]


def _sha(r: Random) -> str:
    return f"{r.getrandbits(160):040x}"


def _date(r: Random, start: int = 2024, years: int = 2) -> datetime:
    return datetime(start, 1, 1, tzinfo=UTC) + timedelta(seconds=r.randrange(years * 365 * 86400))


def _email(name: str) -> str:
    return name.lower().replace(" ", ".").replace("í", "i") + "@example.com"


def _gh_issue(owner: str, repo: str, number: int, title: str, state: str = "open", labels: Sequence[str] = (),
              body: str = "", user: str = "octocat", comments: int = 0) -> dict[str, Any]:  # fmt: skip
    return {
        "number": number,
        "title": title,
        "state": state,
        "html_url": f"https://github.com/{owner}/{repo}/issues/{number}",
        "user": {"login": user},
        "labels": [{"name": lb} for lb in labels],
        "comments": comments,
        "body": body,
    }


def _jdump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


PREFACES = ("", "", "", "Let me check.", "I'll look that up.", "Sure.", "On it.")


def _preface(r: Random) -> str:
    return r.choice(PREFACES)


# ==========================================================================================================
# time (mcp-server-time)


def _time_result(tz: str, moment: datetime) -> dict[str, Any]:
    local = moment.astimezone(ZoneInfo(tz))
    return {
        "timezone": tz,
        "datetime": local.isoformat(timespec="seconds"),
        "day_of_week": local.strftime("%A"),
        "is_dst": bool(local.dst()),
    }


def _hours_diff(a: datetime, b: datetime) -> str:
    off_a, off_b = a.utcoffset(), b.utcoffset()
    assert off_a is not None and off_b is not None
    h = (off_b - off_a).total_seconds() / 3600
    return f"{h:+.1f}h" if h.is_integer() else f"{h:+.2f}".rstrip("0").rstrip(".") + "h"


def _convert(src: str, hhmm: str, dst: str, day: datetime) -> dict[str, Any]:
    h, m = map(int, hhmm.split(":"))
    s = datetime(day.year, day.month, day.day, h, m, tzinfo=ZoneInfo(src))
    t = s.astimezone(ZoneInfo(dst))
    return {
        "source": _time_result(src, s),
        "target": _time_result(dst, t),
        "time_difference": _hours_diff(s, t),
    }


def _spoken_time(r: Random, hhmm: str) -> str:
    """'14:30' as the user might say it: '14:30', '2:30 pm' or '2:30pm'."""
    h, m = map(int, hhmm.split(":"))
    style = r.randrange(3)
    if style == 0:
        return hhmm
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    text = f"{h12}:{m:02d}" if m or r.random() < 0.5 else str(h12)
    return f"{text} {suffix}" if style == 1 else f"{text}{suffix}"


def _place(r: Random, city: str, tz: str) -> str:
    return tz if r.random() < 0.2 else city


@_intent("single_call", "time/get_current_time")
def _time_now(r: Random) -> Scenario:
    city, tz = r.choice(CITIES)
    res = _time_result(tz, _date(r))
    user = fmt(r, (
        "What time is it in {p}?", "What's the current time in {p} right now?",
        "Can you tell me the local time in {p}?", "I need to call a colleague in {p}. What time is it there now?",
        "Current time in {p}, please.", "Is it morning or evening in {p} at the moment?",
        "quick one: time in {p}?",
    ), p=_place(r, city, tz))  # fmt: skip
    hm = res["datetime"][11:16]
    answer = fmt(r, (
        "It's {hm} on {dow} in {city} ({tz}).", "The current time in {city} is {hm} ({dow}).",
        "Right now it is {hm} in {city}, {dow}{dst}.",
    ), hm=hm, dow=res["day_of_week"], city=city, tz=tz, dst=", daylight saving time" if res["is_dst"] else "")  # fmt: skip
    return Scenario(
        user, [Step(call("time", "get_current_time", timezone=tz), _jdump(res), text=_preface(r))], answer
    )


def _hhmm(r: Random) -> str:
    return f"{r.randrange(24):02d}:{r.choice((0, 0, 15, 30, 45)):02d}"


@_intent("single_call", "time/convert_time")
def _time_convert(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    hhmm = _hhmm(r)
    res = _convert(tz1, hhmm, tz2, _date(r))
    p1, p2, spoken = _place(r, c1, tz1), _place(r, c2, tz2), _spoken_time(r, hhmm)
    user = fmt(r, (
        "Convert {t} from {p1} time to {p2} time.", "If it's {t} in {p1}, what time is it in {p2}?",
        "What is {t} {p1} time in {p2}?", "We have a meeting at {t} {p1} time. When is that for the team in {p2}?",
        "Translate {t} in {p1} to {p2} time, please.", "{t} in {p1} is what time in {p2}?",
    ), t=spoken, p1=p1, p2=p2)  # fmt: skip
    tgt = res["target"]["datetime"]
    answer = fmt(r, (
        "{t} in {c1} is {hm} in {c2} ({diff}).", "That's {hm} in {c2} ({dow}); {c2} is {diff} relative to {c1}.",
        "When it's {t} in {c1}, it's {hm} in {c2}.",
    ), t=hhmm, c1=c1, c2=c2, hm=tgt[11:16], dow=res["target"]["day_of_week"], diff=res["time_difference"])  # fmt: skip
    step = Step(
        call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), _jdump(res)
    )
    return Scenario(user, [step], answer, difficulty="medium" if spoken != hhmm else "easy")


@_intent("multi_step", "time/get_current_time", "time/convert_time")
def _time_now_then_convert(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    day = _date(r)
    now = _time_result(tz1, day)
    hhmm = now["datetime"][11:16]
    conv = _convert(tz1, hhmm, tz2, day)
    user = fmt(r, (
        "What time is it in {c1} right now, and what's that in {c2}?",
        "Check the current time in {c1}, then convert it to {c2} time.",
        "My team is in {c1} and the client in {c2}. What's the time now in {c1}, and the matching time in {c2}?",
        "Give me the current {c1} time and the equivalent in {c2}.",
        "Is it late in {c1} now? Tell me the time there and what that is for {c2}.",
    ), c1=c1, c2=c2)  # fmt: skip
    steps = [
        Step(call("time", "get_current_time", timezone=tz1), _jdump(now)),
        Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), _jdump(conv),
             text=f"It's {hhmm} in {c1}. Now I'll convert that to {c2} time."),
    ]  # fmt: skip
    answer = (
        f"It's {hhmm} in {c1} ({now['day_of_week']}), which is {conv['target']['datetime'][11:16]} in {c2}."
    )
    return Scenario(user, steps, answer, difficulty="medium")


@_intent("error_handling", "time/get_current_time")
def _time_bad_zone(r: Random) -> Scenario:
    abbr, tz = r.choice(TZ_ABBREVIATIONS)
    res = _time_result(tz, _date(r))
    user = fmt(r, (
        "What time is it in {a} right now?", "Current time in {a}?", "Tell me the time in {a}.",
        "what's the time in {a} timezone", "Can you check the {a} time for me?",
    ), a=abbr)  # fmt: skip
    steps = [
        Step(call("time", "get_current_time", timezone=abbr),
             f"Invalid timezone: 'No time zone found with key {abbr}'", is_error=True, mistake=True),
        Step(call("time", "get_current_time", timezone=tz), _jdump(res),
             text=f"'{abbr}' is an abbreviation, not an IANA timezone name. {abbr} corresponds to {tz}, so I'll use that."),
    ]  # fmt: skip
    answer = f"It's {res['datetime'][11:16]} on {res['day_of_week']} in {abbr} ({tz})."
    return Scenario(user, steps, answer, difficulty="medium")


@_intent("error_handling", "time/convert_time")
def _time_bad_format(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    h = r.randrange(1, 12)
    pm = r.random() < 0.5
    spoken = f"{h}{'pm' if pm else 'am'}"
    hhmm = f"{h + 12 if pm else h:02d}:00"
    res = _convert(tz1, hhmm, tz2, _date(r))
    user = fmt(r, (
        "Convert {t} {c1} time to {c2}.", "What's {t} in {c1} in {c2} time?", "{t} {c1} -> {c2}?",
        "If I call at {t} from {c1}, what time is it in {c2}?", "Please convert {t} ({c1}) to {c2}.",
    ), t=spoken, c1=c1, c2=c2)  # fmt: skip
    steps = [
        Step(call("time", "convert_time", source_timezone=tz1, time=spoken, target_timezone=tz2),
             "Invalid time format. Expected HH:MM [24-hour format]", is_error=True, mistake=True),
        Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), _jdump(res),
             text=f"The tool needs 24-hour HH:MM, so {spoken} becomes {hhmm}."),
    ]  # fmt: skip
    answer = f"{spoken} in {c1} is {res['target']['datetime'][11:16]} in {c2} ({res['time_difference']})."
    return Scenario(user, steps, answer, difficulty="medium")


# ==========================================================================================================
# git (mcp-server-git)


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


def _git_log(r: Random, n: int) -> tuple[str, list[tuple[str, str]]]:
    entries, commits = [], []
    day = _date(r)
    for _ in range(n):
        sha, msg, who = _sha(r), r.choice(COMMIT_MESSAGES), r.choice(PEOPLE)
        day -= timedelta(hours=r.randrange(1, 72))
        commits.append((sha, msg))
        entries.append(f"Commit: {sha}\nAuthor: {who}\nDate: {day.isoformat(sep=' ')}\nMessage: {msg}\n")
    return "Commit history:\n" + "\n".join(entries), commits


def _diff(r: Random, path: str) -> str:
    old, new = r.choice((("timeout = 10", "timeout = 30"), ("retries = 3", "retries = 5"), ("DEBUG = True", "DEBUG = False"),
                         ("return None", "return []"), ("version = \"1.4.2\"", "version = \"1.5.0\"")))  # fmt: skip
    n = r.randrange(5, 200)
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -{n},3 +{n},3 @@\n"
            f" # settings\n-{old}\n+{new}\n")  # fmt: skip


@_intent("single_call", "git/git_status")
def _git_status_intent(r: Random) -> Scenario:
    repo, branch = r.choice(REPOS), r.choice(BASE_BRANCHES + BRANCHES)
    modified = r.sample(CODE_FILES, r.randrange(0, 4))
    user = fmt(r, (
        "What's the status of the repo at {repo}?", "Show me git status for {repo}.",
        "Do I have uncommitted changes in {repo}?", "Which files did I modify in {repo}?",
        "Check the working tree of {repo} please.", "git status in {repo}",
    ), repo=repo)  # fmt: skip
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


@_intent("single_call", "git/git_log")
def _git_log_intent(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    n = r.choice((None, 1, 3, 5, 10, 20))
    if n is None:
        user = fmt(r, (
            "Show me the recent commits in {repo}.", "What's been committed lately in {repo}?",
            "Give me the git log for {repo}.", "List the latest commits of the repository at {repo}.",
            "Who committed to {repo} recently?",
        ), repo=repo)  # fmt: skip
    else:
        user = fmt(r, (
            "Show me the last {n} commits in {repo}.", "List the {n} most recent commits of {repo}.",
            "git log -n {n} for {repo}, please.", "What are the latest {n} commits in the repo at {repo}?",
            "I need the last {n} commit messages from {repo}.",
        ), repo=repo, n=n)  # fmt: skip
    text, commits = _git_log(r, n or 10)
    shown = commits[:3]
    answer = "Most recent commits:\n" + "\n".join(f"- `{s[:7]}` {m}" for s, m in shown)
    if len(commits) > 3:
        answer += f"\n…and {len(commits) - 3} more."
    return Scenario(user, [Step(call("git", "git_log", repo_path=repo, max_count=n), text)], answer)


@_intent("single_call", "git/git_diff_unstaged")
def _git_diff_unstaged(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    ctx = r.choice((None, None, 0, 5, 10))
    if ctx is None:
        user = fmt(r, (
            "Show me my unstaged changes in {repo}.", "What did I change but not stage yet in {repo}?",
            "Diff of the working directory in {repo}, please.", "Let me see the unstaged diff for {repo}.",
            "What have I edited in {repo} since the last add?",
        ), repo=repo)  # fmt: skip
    else:
        user = fmt(r, (
            "Show the unstaged diff in {repo} with {c} lines of context.",
            "Unstaged changes in {repo}, {c} context lines please.",
            "git diff -U{c} in {repo}",
        ), repo=repo, c=ctx)  # fmt: skip
    diff = _diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff_unstaged", repo_path=repo, context_lines=ctx), "Unstaged changes:\n" + diff)],
                    f"There are unstaged changes in `{path}`:\n```diff\n{diff}```")  # fmt: skip


@_intent("single_call", "git/git_diff_staged")
def _git_diff_staged(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    user = fmt(r, (
        "What's staged for commit in {repo}?", "Show me the staged diff in {repo}.",
        "Before I commit: what's in the index for {repo}?", "git diff --cached for {repo}",
        "Review the staged changes in {repo} for me.",
    ), repo=repo)  # fmt: skip
    diff = _diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff_staged", repo_path=repo), "Staged changes:\n" + diff)],
                    f"Staged for commit: a change to `{path}`.\n```diff\n{diff}```")  # fmt: skip


@_intent("single_call", "git/git_diff")
def _git_diff_target(r: Random) -> Scenario:
    repo, path, target = r.choice(REPOS), r.choice(CODE_FILES), r.choice(BASE_BRANCHES + BRANCHES[:4])
    user = fmt(r, (
        "How does my work in {repo} differ from {t}?", "Diff {repo} against {t}.",
        "Show the changes between the current branch and {t} in {repo}.", "What changed relative to {t} in {repo}?",
        "Compare my checkout in {repo} with the {t} branch.",
    ), repo=repo, t=target)  # fmt: skip
    diff = _diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff", repo_path=repo, target=target), f"Diff with {target}:\n{diff}")],
                    f"Compared with `{target}`, only `{path}` differs:\n```diff\n{diff}```")  # fmt: skip


@_intent("single_call", "git/git_commit")
def _git_commit(r: Random) -> Scenario:
    repo, msg, sha = r.choice(REPOS), r.choice(COMMIT_MESSAGES), _sha(r)
    user = fmt(r, (
        'Commit the staged changes in {repo} with the message "{m}".', 'In {repo}, commit with message "{m}".',
        'Please record a commit in {repo}: "{m}"', "git commit -m '{m}' in {repo}",
        'Commit what\'s staged in {repo}; message: "{m}".', 'Make a commit in {repo} titled "{m}".',
    ), repo=repo, m=msg)  # fmt: skip
    return Scenario(user, [Step(call("git", "git_commit", repo_path=repo, message=msg), f"Changes committed successfully with hash {sha}")],
                    f"Committed as `{sha[:7]}`: \"{msg}\".")  # fmt: skip


@_intent("single_call", "git/git_add")
def _git_add(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    files = r.sample(CODE_FILES, r.randrange(1, 4))
    listed = ", ".join(files[:-1]) + (" and " if len(files) > 1 else "") + files[-1]
    user = fmt(r, (
        "Stage {f} in {repo}.", "git add {f} in the repo at {repo}", "Please add {f} to the index in {repo}.",
        "In {repo}, stage these files: {f}.", "Get {f} ready for commit in {repo}.", "Stage {f} ({repo}).",
    ), repo=repo, f=listed)  # fmt: skip
    return Scenario(user, [Step(call("git", "git_add", repo_path=repo, files=files), "Files staged successfully")],
                    f"Staged {listed}.")  # fmt: skip


@_intent("single_call", "git/git_create_branch")
def _git_create_branch(r: Random) -> Scenario:
    repo, branch = r.choice(REPOS), r.choice(BRANCHES)
    base = r.choice((None, None, "main", "develop"))
    if base is None:
        user = fmt(r, (
            "Create a branch called {b} in {repo}.", "Make a new branch {b} in {repo}.",
            "In {repo}, create branch {b}.", "I need a branch named {b} in {repo}.", "git branch {b} in {repo}",
        ), repo=repo, b=branch)  # fmt: skip
    else:
        user = fmt(r, (
            "Create a branch {b} from {base} in {repo}.", "Branch off {base} as {b} in {repo}.",
            "In {repo}, make a new branch {b} based on {base}.", "Start {b} from {base} in the repo at {repo}.",
            "New branch {b} off {base}, repo {repo}.",
        ), repo=repo, b=branch, base=base)  # fmt: skip
    res = f"Created branch '{branch}' from '{base or 'main'}'"
    return Scenario(user, [Step(call("git", "git_create_branch", repo_path=repo, branch_name=branch, base_branch=base), res)],
                    f"Created `{branch}` from `{base or 'main'}`.")  # fmt: skip


@_intent("single_call", "git/git_checkout")
def _git_checkout(r: Random) -> Scenario:
    repo, branch = r.choice(REPOS), r.choice(BASE_BRANCHES + BRANCHES)
    user = fmt(r, (
        "Switch to {b} in {repo}.", "Check out the {b} branch in {repo}.", "In {repo}, go to branch {b}.",
        "git checkout {b} ({repo})", "Move my working copy at {repo} onto {b}.",
    ), repo=repo, b=branch)  # fmt: skip
    return Scenario(user, [Step(call("git", "git_checkout", repo_path=repo, branch_name=branch), f"Switched to branch '{branch}'")],
                    f"You're now on `{branch}`.")  # fmt: skip


@_intent("single_call", "git/git_show")
def _git_show(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    sha = _sha(r)
    rev = r.choice((sha[:7], sha[:10], "HEAD", "HEAD~1", "HEAD~2"))
    msg, who = r.choice(COMMIT_MESSAGES), r.choice(PEOPLE)
    user = fmt(r, (
        "Show me commit {rev} in {repo}.", "What changed in {rev} in the repo at {repo}?",
        "git show {rev} for {repo}", "Display the contents of commit {rev} ({repo}).",
        "Let me see what {rev} did in {repo}.",
    ), repo=repo, rev=rev)  # fmt: skip
    day = _date(r)
    res = (f"commit {sha}\nAuthor: {who} <{_email(who)}>\nDate:   {day.strftime('%Y-%m-%d %H:%M:%S %z')}\n\n"
           f"    {msg}\n" + _diff(r, path))  # fmt: skip
    return Scenario(user, [Step(call("git", "git_show", repo_path=repo, revision=rev), res)],
                    f"`{sha[:7]}` by {who}: \"{msg}\". It changes `{path}`.")  # fmt: skip


def _branch_listing(r: Random, current: str, others: Sequence[str], remote: bool = False) -> str:
    names = sorted({current, *others})
    pre = "remotes/origin/" if remote else ""
    return "\n".join(("* " if b == current else "  ") + pre + b for b in names)


@_intent("single_call", "git/git_branch")
def _git_branch(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    kind = r.choice(("local", "local", "remote", "all"))
    word = {"local": "local", "remote": "remote", "all": "all"}[kind]
    user = fmt(r, (
        "List the {w} branches in {repo}.", "Which {w} branches exist in {repo}?", "Show {w} branches for {repo}.",
        "git branch ({w}) in {repo}", "What {w} branches does the repo at {repo} have?",
    ), repo=repo, w=word)  # fmt: skip
    others = r.sample(BRANCHES, 3)
    listing = _branch_listing(r, "main", others, remote=kind == "remote")
    return Scenario(user, [Step(call("git", "git_branch", repo_path=repo, branch_type=kind), listing)],
                    f"{word.capitalize()} branches: " + ", ".join(f"`{b}`" for b in sorted({"main", *others})) + ".")  # fmt: skip


@_intent("single_call", "git/git_reset")
def _git_reset(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    user = fmt(r, (
        "Unstage everything in {repo}.", "Reset the index in {repo}; I staged the wrong files.",
        "git reset in {repo} please", "Remove all staged changes from the index in {repo}.",
        "I want nothing staged in {repo}. Undo my git add.",
    ), repo=repo)  # fmt: skip
    return Scenario(user, [Step(call("git", "git_reset", repo_path=repo), "All staged changes reset")],
                    "Done: nothing is staged any more; your working-tree changes are untouched.")  # fmt: skip


@_intent("multi_step", "git/git_log", "git/git_show")
def _git_log_then_show(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    text, commits = _git_log(r, 1)
    sha, msg = commits[0]
    user = fmt(r, (
        "What did the latest commit in {repo} change?", "Show me the diff of the most recent commit in {repo}.",
        "Find the last commit in {repo} and show its changes.", "What was changed by the newest commit of {repo}?",
        "Look up the latest commit in {repo} and walk me through it.",
    ), repo=repo)  # fmt: skip
    steps = [
        Step(call("git", "git_log", repo_path=repo, max_count=1), text),
        Step(call("git", "git_show", repo_path=repo, revision=sha),
             f"commit {sha}\nAuthor: {r.choice(PEOPLE)}\n\n    {msg}\n" + _diff(r, path),
             text=f"The latest commit is {sha[:7]} (\"{msg}\"). Let me look at its changes."),
    ]  # fmt: skip
    return Scenario(
        user, steps, f'The latest commit `{sha[:7]}` ("{msg}") modifies `{path}`.', difficulty="medium"
    )


@_intent("multi_step", "git/git_status", "git/git_add", "git/git_commit")
def _git_status_add_commit(r: Random) -> Scenario:
    repo, branch, msg = r.choice(REPOS), r.choice(BASE_BRANCHES + BRANCHES), r.choice(COMMIT_MESSAGES)
    modified = r.sample(CODE_FILES, r.randrange(1, 4))
    sha = _sha(r)
    user = fmt(r, (
        'Commit all my modified files in {repo} with the message "{m}".',
        'Stage whatever I changed in {repo} and commit it as "{m}".',
        'Check what\'s modified in {repo}, add it and commit with "{m}".',
        'Please commit my current changes in {repo}. Message: "{m}"',
        'In {repo}: add the modified files and commit ("{m}").',
    ), repo=repo, m=msg)  # fmt: skip
    steps = [
        Step(call("git", "git_status", repo_path=repo), _git_status(r, branch, modified)),
        Step(call("git", "git_add", repo_path=repo, files=modified), "Files staged successfully",
             text="Modified: " + ", ".join(modified) + ". Staging them."),
        Step(call("git", "git_commit", repo_path=repo, message=msg), f"Changes committed successfully with hash {sha}"),
    ]  # fmt: skip
    return Scenario(
        user, steps, f"Committed {len(modified)} file(s) on `{branch}` as `{sha[:7]}`.", difficulty="hard"
    )


@_intent("error_handling", "git/git_checkout", "git/git_branch")
def _git_checkout_missing(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    real = r.choice(BRANCHES)
    wrong = real.split("/", 1)[-1].rsplit("-", 1)[0]  # "feature/login-form" -> "login"
    user = fmt(r, (
        "Switch to the {w} branch in {repo}.", "Check out {w} in {repo}.", "go to branch {w} ({repo})",
        "In {repo}, switch over to {w}.", "Please checkout {w} in the repo at {repo}.",
    ), repo=repo, w=wrong)  # fmt: skip
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


# ==========================================================================================================
# filesystem (@modelcontextprotocol/server-filesystem)

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


def _snippet(path: str) -> str:
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


@_intent("single_call", "filesystem/read_text_file")
def _fs_read(r: Random) -> Scenario:
    _, path = _fs_path(r)
    content = _snippet(path)
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


@_intent("single_call", "filesystem/write_file")
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


@_intent("single_call", "filesystem/list_directory")
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


@_intent("single_call", "filesystem/search_files")
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


@_intent("single_call", "filesystem/get_file_info")
def _fs_info(r: Random) -> Scenario:
    _, path = _fs_path(r)
    size, when = r.randrange(80, 90000), _date(r)
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


@_intent("single_call", "filesystem/create_directory")
def _fs_mkdir(r: Random) -> Scenario:
    path = f"{r.choice(FS_ROOTS)}/{r.choice(('build/reports', 'data/raw', 'notes/2024', 'src/plugins', 'tmp/exports', 'docs/images'))}"
    user = fmt(r, (
        "Create the directory {p}.", "Make a folder at {p}.", "mkdir -p {p}", "I need a new directory {p}.",
        "Please make sure {p} exists.",
    ), p=path)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "create_directory", path=path), f"Successfully created directory {path}")],
                    f"Created `{path}`.")  # fmt: skip


@_intent("single_call", "filesystem/edit_file")
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


@_intent("single_call", "filesystem/move_file")
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


@_intent("single_call", "filesystem/directory_tree")
def _fs_tree(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    tree = [{"name": d, "type": "directory", "children": [{"name": f.rsplit("/", 1)[-1], "type": "file"}]}
            for d, f in zip(r.sample(FS_DIRS[:8], 2), r.sample(FS_FILES, 2), strict=True)]  # fmt: skip
    user = fmt(r, (
        "Show me the directory tree of {p}.", "Give me a recursive overview of {p}.", "tree {p}",
        "What's the folder structure under {p}?",
    ), p=root)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "directory_tree", path=root), _jdump(tree))],
                    f"`{root}` has the folders " + " and ".join(f"`{t['name']}/`" for t in tree) + ".")  # fmt: skip


@_intent("single_call", "filesystem/read_multiple_files")
def _fs_read_many(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    paths = [f"{root}/{f}" for f in r.sample(FS_FILES, r.randrange(2, 4))]
    listed = ", ".join(paths)
    user = fmt(r, (
        "Read these files: {l}.", "Show me {l} together.", "Open {l} so I can compare them.",
        "I need the contents of {l}.",
    ), l=listed)  # fmt: skip
    res = "\n---\n".join(f"{p}:\n{_snippet(p)}" for p in paths)
    return Scenario(user, [Step(call("filesystem", "read_multiple_files", paths=paths), res)],
                    f"Here are the {len(paths)} files:\n\n{res}")  # fmt: skip


@_intent("single_call", "filesystem/list_allowed_directories")
def _fs_allowed(r: Random) -> Scenario:
    dirs = r.sample(FS_ROOTS, 2)
    user = fmt(r, (
        "Which directories can you access?", "What folders are you allowed to read and write?",
        "List the allowed directories of the filesystem server.", "Where am I allowed to let you work on disk?",
    ))  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "list_allowed_directories"), "Allowed directories:\n" + "\n".join(dirs))],
                    "I can access " + " and ".join(f"`{d}`" for d in dirs) + ".")  # fmt: skip


@_intent("multi_step", "filesystem/search_files", "filesystem/read_text_file")
def _fs_find_then_read(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    name = r.choice(("Dockerfile", "settings.yaml", "conftest.py", "CHANGELOG.md", "models.py", "ci.yml"))
    path = f"{root}/{r.choice(FS_DIRS)}/{name}"
    content = _snippet(path)
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


@_intent("error_handling", "filesystem/read_text_file", "filesystem/search_files")
def _fs_missing_file(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    stem, wrong_ext, right_ext = r.choice((
        ("config", "yml", "yaml"), ("settings", "json", "yaml"), ("notes", "txt", "md"), ("main", "js", "ts"),
        ("app", "ts", "py"), ("README", "txt", "md"),
    ))  # fmt: skip
    folder = r.choice(FS_DIRS)
    wrong, right = f"{root}/{folder}/{stem}.{wrong_ext}", f"{root}/{folder}/{stem}.{right_ext}"
    content = _snippet(right)
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


# ==========================================================================================================
# github (@modelcontextprotocol/server-github)


def _gh(r: Random) -> tuple[str, str, str]:
    owner, repo = r.choice(GH_REPOS)
    return owner, repo, f"{owner}/{repo}"


@_intent("single_call", "github/create_issue")
def _gh_create_issue(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
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
    res = _gh_issue(owner, repo, number, title, labels=labels or (), body=body or "")
    return Scenario(user, [Step(c, _jdump(res))], f"Created issue #{number}: {res['html_url']}")


@_intent("single_call", "github/get_issue")
def _gh_get_issue(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    state, labels = r.choice(("open", "open", "closed")), r.sample(LABELS, 1)
    user = fmt(r, (
        "Show me issue #{n} in {full}.", "What's issue {n} of {full} about?", "Get the details of {full}#{n}.",
        "Is issue #{n} in {full} still open?", "Look up issue number {n} in the {full} repo.",
    ), full=full, n=number)  # fmt: skip
    res = _gh_issue(owner, repo, number, title, state=state, labels=labels, body=r.choice(ISSUE_BODIES),
                    user=r.choice(GH_USERS), comments=r.randrange(0, 12))  # fmt: skip
    return Scenario(user, [Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=number), _jdump(res))],
                    f"#{number} \"{title}\" is {state} (label: {labels[0]}), opened by {res['user']['login']} with {res['comments']} comment(s).")  # fmt: skip


def _issue_list(
    r: Random, owner: str, repo: str, state: str, labels: Sequence[str] | None, k: int
) -> list[dict[str, Any]]:
    nums = sorted(r.sample(range(1, 2000), k), reverse=True)
    titles = r.sample(ISSUE_TITLES, k)
    st = "open" if state == "all" else state
    return [
        _gh_issue(owner, repo, n, t, state=st, labels=list(labels or r.sample(LABELS, 1)))
        for n, t in zip(nums, titles, strict=True)
    ]


@_intent("single_call", "github/list_issues")
def _gh_list_issues(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    state = r.choice((None, "open", "closed", "all"))
    labels = [r.choice(LABELS)] if r.random() < 0.4 else None
    what = ("" if state is None else f"{state} ") + (f"{labels[0]} " if labels else "")
    user = fmt(r, (
        "List the {w}issues in {full}.", "Which {w}issues does {full} have?", "Show me {w}issues for {full}.",
        "What {w}issues are there in the {full} repository?", "Give me the {w}issue list of {full}.",
    ), full=full, w=what)  # fmt: skip
    items = _issue_list(r, owner, repo, state or "open", labels, r.randrange(1, 4))
    c = call("github", "list_issues", owner=owner, repo=repo, state=state, labels=labels)
    return Scenario(user, [Step(c, _jdump(items))],
                    f"{len(items)} {what}issue(s):\n" + "\n".join(f"- #{i['number']} {i['title']}" for i in items))  # fmt: skip


@_intent("single_call", "github/search_repositories")
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
    return Scenario(user, [Step(call("github", "search_repositories", query=query, perPage=per), _jdump(res))],
                    "Top results: " + ", ".join(f"{i['full_name']} (★{i['stargazers_count']})" for i in res["items"]) + ".")  # fmt: skip


@_intent("single_call", "github/create_pull_request")
def _gh_create_pr(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
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
        user, [Step(c, _jdump(res))], f"Opened {'draft ' if draft else ''}PR #{number}: {res['html_url']}"
    )


@_intent("single_call", "github/get_file_contents")
def _gh_file(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    path = r.choice(CODE_FILES)
    branch = r.choice((None, None, "develop", "main"))
    user = fmt(r, (
        "Show me {p} from {full}{on}.", "What does {p} look like in {full}{on}?", "Fetch {p} from the {full} repo{on}.",
        "Get the contents of {p} in {full}{on}.", "Open {full}/{p}{on} on GitHub.",
    ), full=full, p=path, on=f" on the {branch} branch" if branch else "")  # fmt: skip
    content = _snippet(path)
    res = {
        "type": "file",
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "size": len(content),
        "encoding": "utf-8",
        "content": content,
    }
    return Scenario(user, [Step(call("github", "get_file_contents", owner=owner, repo=repo, path=path, branch=branch), _jdump(res))],
                    f"`{path}` in {full}:\n```\n{content}```")  # fmt: skip


@_intent("single_call", "github/add_issue_comment")
def _gh_comment(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
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
    return Scenario(user, [Step(call("github", "add_issue_comment", owner=owner, repo=repo, issue_number=number, body=body), _jdump(res))],
                    f"Comment posted: {res['html_url']}")  # fmt: skip


@_intent("single_call", "github/update_issue")
def _gh_close_issue(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    user = fmt(r, (
        "Close issue #{n} in {full}.", "Mark {full}#{n} as closed.", "Issue {n} in {full} is fixed; close it.",
        "Please close issue number {n} on {full}.", "Set the state of {full} issue #{n} to closed.",
    ), full=full, n=number)  # fmt: skip
    res = _gh_issue(owner, repo, number, title, state="closed")
    return Scenario(user, [Step(call("github", "update_issue", owner=owner, repo=repo, issue_number=number, state="closed"), _jdump(res))],
                    f"Closed #{number} (\"{title}\").")  # fmt: skip


@_intent("single_call", "github/list_pull_requests")
def _gh_list_prs(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    state = r.choice((None, "open", "closed"))
    user = fmt(r, (
        "List the {w}pull requests in {full}.", "Which {w}PRs does {full} have?", "Show {w}pull requests for {full}.",
        "What {w}PRs are there on {full}?",
    ), full=full, w=f"{state} " if state else "")  # fmt: skip
    prs = [{"number": n, "title": t, "state": state or "open", "head": {"ref": b}}
           for n, t, b in zip(sorted(r.sample(range(1, 3000), 2), reverse=True), r.sample(COMMIT_MESSAGES, 2), r.sample(BRANCHES, 2), strict=True)]  # fmt: skip
    return Scenario(user, [Step(call("github", "list_pull_requests", owner=owner, repo=repo, state=state), _jdump(prs))],
                    "\n".join(f"- #{p['number']} {p['title']} ({p['head']['ref']})" for p in prs))  # fmt: skip


@_intent("single_call", "github/create_branch")
def _gh_branch(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    branch, src = r.choice(BRANCHES), r.choice((None, "develop", "main"))
    user = fmt(r, (
        "Create a branch {b} in {full}{f}.", "Make a new branch {b} on GitHub for {full}{f}.",
        "Add branch {b} to {full}{f}.", "On {full}, create {b}{f}.",
    ), full=full, b=branch, f=f" from {src}" if src else "")  # fmt: skip
    res = {"ref": f"refs/heads/{branch}", "object": {"sha": _sha(r), "type": "commit"}}
    return Scenario(user, [Step(call("github", "create_branch", owner=owner, repo=repo, branch=branch, from_branch=src), _jdump(res))],
                    f"Created `{branch}` in {full}.")  # fmt: skip


@_intent("single_call", "github/list_commits")
def _gh_commits(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    sha = r.choice((None, "develop", "main"))
    user = fmt(r, (
        "Show the recent commits of {full}{on}.", "What was committed to {full}{on} lately?",
        "List commits in {full}{on}.", "Latest commit history for {full}{on}, please.",
    ), full=full, on=f" on {sha}" if sha else "")  # fmt: skip
    commits = [{"sha": _sha(r), "commit": {"message": m, "author": {"name": a}}}
               for m, a in zip(r.sample(COMMIT_MESSAGES, 3), r.sample(PEOPLE, 3), strict=True)]  # fmt: skip
    return Scenario(user, [Step(call("github", "list_commits", owner=owner, repo=repo, sha=sha), _jdump(commits))],
                    "\n".join(f"- `{c['sha'][:7]}` {c['commit']['message']} ({c['commit']['author']['name']})" for c in commits))  # fmt: skip


@_intent("single_call", "github/search_code")
def _gh_search_code(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
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
    return Scenario(user, [Step(call("github", "search_code", q=q), _jdump(res))],
                    f"`{term}` appears in " + " and ".join(f"`{f}`" for f in files) + ".")  # fmt: skip


@_intent("multi_step", "github/list_issues", "github/get_issue")
def _gh_latest_bug(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
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
        Step(call("github", "list_issues", owner=owner, repo=repo, state="open", labels=[label]), _jdump(items)),
        Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=top["number"]), _jdump(detail),
             text=f"The newest one is #{top['number']}. Fetching its details."),
    ]  # fmt: skip
    return Scenario(
        user,
        steps,
        f'#{top["number"]} "{top["title"]}" ({detail["comments"]} comments):\n{detail["body"]}',
        difficulty="hard",
    )


@_intent("multi_step", "github/search_repositories", "github/get_file_contents")
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
        Step(call("github", "search_repositories", query=query), _jdump(res)),
        Step(call("github", "get_file_contents", owner=owner, repo=repo, path="README.md"),
             _jdump({"type": "file", "path": "README.md", "content": readme}), text=f"The top result is {owner}/{repo}."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Top result: {owner}/{repo}. Its README:\n\n{readme}", difficulty="medium")


@_intent("error_handling", "github/get_file_contents")
def _gh_missing_path(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
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
        Step(call("github", "get_file_contents", owner=owner, repo=repo, path="docs"), _jdump(listing),
             text=f"{wrong} doesn't exist. Let me list the docs folder to find the right file."
             if folder == "docs" else f"There is no {folder}/ folder; let me check docs/ instead."),
        Step(call("github", "get_file_contents", owner=owner, repo=repo, path=right), _jdump({"type": "file", "path": right, "content": content}),
             text=f"The closest match is {right}."),
    ]  # fmt: skip
    return Scenario(
        user,
        steps,
        f"`{wrong}` doesn't exist in {full}; the setup guide is `{right}`:\n\n{content}",
        difficulty="hard",
    )


# ==========================================================================================================
# sqlite (mcp-server-sqlite)


def _rows(rows: Sequence[dict[str, Any]]) -> str:
    return str(list(rows))  # the server returns str(list_of_dicts)


def _sql_read(r: Random) -> tuple[str, str, str, str]:
    """(user request, SQL, result, answer) for one of several query kinds."""
    kind = r.randrange(7)
    if kind == 0:
        country, n = r.choice(COUNTRIES), r.randrange(3, 5000)
        sql = f"SELECT COUNT(*) AS n FROM users WHERE country = '{country}'"
        user = fmt(r, ("How many users do we have from {c}?", "Count the users located in {c}.",
                       "What's the number of {c} users in the database?"), c=country)  # fmt: skip
        return user, sql, _rows([{"n": n}]), f"There are {n} users from {country}."
    if kind == 1:
        k = r.choice((3, 5, 10))
        sql = f"SELECT name, price FROM products ORDER BY price DESC LIMIT {k}"
        rows = [{"name": p, "price": round(r.uniform(20, 900), 2)} for p in r.sample(PRODUCTS, k)]
        rows.sort(key=lambda x: -x["price"])
        user = fmt(r, ("Show me the {k} most expensive products.", "What are our top {k} products by price?",
                       "List the {k} priciest products in the products table."), k=k)  # fmt: skip
        return (
            user,
            sql,
            _rows(rows),
            "\n".join(f"{i + 1}. {x['name']}: ${x['price']}" for i, x in enumerate(rows)),
        )
    if kind == 2:
        status, total = r.choice(ORDER_STATUSES), round(r.uniform(1000, 250000), 2)
        sql = f"SELECT SUM(total) AS revenue FROM orders WHERE status = '{status}'"
        user = fmt(r, ("What's the total value of {s} orders?", "Sum up the order totals for orders that are {s}.",
                       "How much revenue sits in {s} orders?"), s=status)  # fmt: skip
        return user, sql, _rows([{"revenue": total}]), f"{status.capitalize()} orders total ${total:,.2f}."
    if kind == 3:
        day = _date(r).date().isoformat()
        people = r.sample(PEOPLE, r.randrange(1, 4))
        sql = f"SELECT id, name, email FROM users WHERE created_at >= '{day}' ORDER BY created_at"
        rows = [{"id": r.randrange(1, 9999), "name": p, "email": _email(p)} for p in people]
        user = fmt(r, ("List users who signed up since {d}.", "Which users registered on or after {d}?",
                       "Show me the users created from {d} onwards."), d=day)  # fmt: skip
        return user, sql, _rows(rows), f"{len(rows)} user(s) since {day}: " + ", ".join(people) + "."
    if kind == 4:
        sql = "SELECT status, COUNT(*) AS n FROM orders GROUP BY status"
        rows = [{"status": s, "n": r.randrange(1, 900)} for s in sorted(r.sample(ORDER_STATUSES, 3))]
        user = r.choice(("Break down our orders by status.", "How many orders are there per status?",
                         "Give me order counts grouped by status."))  # fmt: skip
        return (
            user,
            sql,
            _rows(rows),
            "Orders by status: " + ", ".join(f"{x['status']} {x['n']}" for x in rows) + ".",
        )
    if kind == 5:
        k = r.choice((5, 10, 20))
        sql = f"SELECT name, stock FROM products WHERE stock < {k} ORDER BY stock"
        rows = sorted(
            ({"name": p, "stock": r.randrange(0, k)} for p in r.sample(PRODUCTS, 2)), key=lambda x: x["stock"]
        )
        user = fmt(r, ("Which products have fewer than {k} items in stock?", "Find products with stock below {k}.",
                       "What's running low? Show products with under {k} units."), k=k)  # fmt: skip
        return (
            user,
            sql,
            _rows(rows),
            "Low stock: " + ", ".join(f"{x['name']} ({x['stock']})" for x in rows) + ".",
        )
    cat = r.choice(PRODUCT_CATEGORIES)
    sql = f"SELECT AVG(price) AS avg_price FROM products WHERE category = '{cat}'"
    avg = round(r.uniform(5, 400), 2)
    user = r.choice(
        (f"Run this query: {sql}", f"Execute `{sql};` on the database.", f"What does `{sql}` return?")
    )
    return user, sql, _rows([{"avg_price": avg}]), f"The average {cat} price is ${avg}."


@_intent("single_call", "sqlite/read_query")
def _sql_read_query(r: Random) -> Scenario:
    user, sql, res, answer = _sql_read(r)
    return Scenario(user, [Step(call("sqlite", "read_query", query=sql), res)], answer)


@_intent("single_call", "sqlite/write_query")
def _sql_write_query(r: Random) -> Scenario:
    kind = r.randrange(3)
    if kind == 0:
        name = r.choice(PEOPLE)
        country = r.choice(COUNTRIES)
        sql = f"INSERT INTO users (name, email, country) VALUES ('{name}', '{_email(name)}', '{country}')"
        user = fmt(r, ("Add a user {n} ({e}) from {c}.", "Insert {n} with email {e} and country {c} into users.",
                       "Create a user record for {n}, {e}, based in {c}."), n=name, e=_email(name), c=country)  # fmt: skip
        affected, answer = 1, f"Added {name}."
    elif kind == 1:
        oid, status = r.randrange(1, 9999), r.choice(ORDER_STATUSES)
        sql = f"UPDATE orders SET status = '{status}' WHERE id = {oid}"
        user = fmt(r, ("Mark order {o} as {s}.", "Set the status of order #{o} to {s}.",
                       "Order {o} is {s} now; update it."), o=oid, s=status)  # fmt: skip
        affected, answer = 1, f"Order {oid} is now {status}."
    else:
        day = _date(r, 2023, 1).date().isoformat()
        sql = f"DELETE FROM events WHERE ts < '{day}'"
        user = fmt(r, ("Delete all events older than {d}.", "Purge events from before {d}.",
                       "Remove the events with a timestamp before {d}."), d=day)  # fmt: skip
        affected = r.randrange(0, 40000)
        answer = f"Deleted {affected} event(s) older than {day}."
    return Scenario(
        user, [Step(call("sqlite", "write_query", query=sql), _rows([{"affected_rows": affected}]))], answer
    )


@_intent("single_call", "sqlite/list_tables")
def _sql_list_tables(r: Random) -> Scenario:
    user = r.choice(("What tables are in the database?", "List all tables.", "Show me the tables in the SQLite database.",
                     "Which tables do we have?", "What's in this database? Just the table names."))  # fmt: skip
    names = list(SQL_TABLES)
    return Scenario(user, [Step(call("sqlite", "list_tables"), _rows([{"name": n} for n in names]))],
                    "Tables: " + ", ".join(f"`{n}`" for n in names) + ".")  # fmt: skip


def _pragma(table: str) -> str:
    return _rows([{"cid": i, "name": c, "type": t, "notnull": 0, "dflt_value": None, "pk": pk}
                  for i, (c, t, pk) in enumerate(SQL_TABLES[table])])  # fmt: skip


@_intent("single_call", "sqlite/describe_table")
def _sql_describe(r: Random) -> Scenario:
    table = r.choice(list(SQL_TABLES))
    user = fmt(r, (
        "Describe the {t} table.", "What columns does {t} have?", "Show me the schema of the {t} table.",
        "What's the structure of table {t}?", "Which fields are in {t}?",
    ), t=table)  # fmt: skip
    cols = ", ".join(f"`{c}` {t}" for c, t, _ in SQL_TABLES[table])
    return Scenario(
        user,
        [Step(call("sqlite", "describe_table", table_name=table), _pragma(table))],
        f"`{table}` has: {cols}.",
    )


@_intent("single_call", "sqlite/create_table")
def _sql_create(r: Random) -> Scenario:
    name, cols = r.choice((
        ("reviews", "id INTEGER PRIMARY KEY, product_id INTEGER, rating INTEGER, body TEXT"),
        ("coupons", "code TEXT PRIMARY KEY, percent_off REAL, expires_at TEXT"),
        ("audit_log", "id INTEGER PRIMARY KEY, actor TEXT, action TEXT, ts TEXT"),
        ("suppliers", "id INTEGER PRIMARY KEY, name TEXT, country TEXT"),
    ))  # fmt: skip
    sql = f"CREATE TABLE {name} ({cols})"
    user = fmt(r, (
        "Create a table {n} with columns {c}.", "Add a new table {n} ({c}).", "I need a {n} table: {c}.",
        "Make table {n} with these columns: {c}.", "Set up a {n} table with {c}.",
    ), n=name, c=cols)  # fmt: skip
    return Scenario(user, [Step(call("sqlite", "create_table", query=sql), f"Table created successfully: {name}")],
                    f"Created table `{name}`.")  # fmt: skip


@_intent("single_call", "sqlite/append_insight")
def _sql_insight(r: Random) -> Scenario:
    insight = r.choice((
        "Revenue from delivered orders grew 12% month over month.", "Most cancelled orders come from first-time buyers.",
        "Electronics have the highest average order value.", "Stock-outs cluster on Mondays after weekend sales.",
        "Users from Japan convert twice as often as the average.",
    ))  # fmt: skip
    user = fmt(r, (
        'Add this to the insights memo: "{i}"', 'Record the insight "{i}"', 'Note down as a business insight: {i}',
        'Save "{i}" in the memo.', 'Append an insight: {i}',
    ), i=insight)  # fmt: skip
    return Scenario(user, [Step(call("sqlite", "append_insight", insight=insight), "Insight added to memo")],
                    "Added to the insights memo.")  # fmt: skip


@_intent("resource_access", "sqlite/" + RESOURCE_TOOL)
def _sql_memo(r: Random) -> Scenario:
    user = r.choice(("Show me the business insights memo.", "What insights have we recorded so far?",
                     "Read the insights memo.", "Open memo://insights.", "What's in the insights document?"))  # fmt: skip
    items = r.sample(("Electronics have the highest average order value.", "Most cancelled orders come from first-time buyers.",
                      "Stock-outs cluster on Mondays."), 2)  # fmt: skip
    memo = "📊 Business Intelligence Memo 📊\n\nKey Insights Discovered:\n\n" + "\n".join(
        f"- {i}" for i in items
    )
    return Scenario(user, [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), memo)],
                    "The memo lists:\n" + "\n".join(f"- {i}" for i in items))  # fmt: skip


@_intent("resource_access", "sqlite/" + RESOURCE_TOOL, "sqlite/append_insight")
def _sql_memo_then_add(r: Random) -> Scenario:
    known, new = r.sample(("Electronics have the highest average order value.", "Most cancelled orders come from first-time buyers.",
                           "Stock-outs cluster on Mondays.", "Refunds doubled after the March price change.",
                           "Garden products sell best in April."), 2)  # fmt: skip
    user = fmt(r, (
        'Check the insights memo, and if it does not mention this yet, add it: "{i}"',
        'Is "{i}" already in the memo? If not, record it.', 'Make sure the insights memo contains: "{i}"',
        'Look at memo://insights and append "{i}" unless it\'s there.', 'Add "{i}" to the memo if it\'s missing.',
    ), i=new)  # fmt: skip
    memo = "📊 Business Intelligence Memo 📊\n\nKey Insights Discovered:\n\n- " + known
    steps = [
        Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), memo),
        Step(call("sqlite", "append_insight", insight=new), "Insight added to memo", text="It isn't there yet. Adding it."),
    ]  # fmt: skip
    return Scenario(user, steps, "The memo didn't have it; it's recorded now.", difficulty="medium")


@_intent("multi_step", "sqlite/list_tables", "sqlite/describe_table")
def _sql_find_table(r: Random) -> Scenario:
    table, hint = r.choice((("order_items", "line items of orders"), ("events", "user activity events"),
                            ("products", "the product catalogue"), ("orders", "customer orders")))  # fmt: skip
    user = fmt(r, (
        "I think there's a table for {h}. What columns does it have?", "Find the table that stores {h} and describe it.",
        "Which table holds {h}, and what's its schema?", "Show me the structure of whatever table has {h}.",
        "We store {h} somewhere in this database. Find the table and list its columns.",
    ), h=hint)  # fmt: skip
    steps = [
        Step(call("sqlite", "list_tables"), _rows([{"name": n} for n in SQL_TABLES])),
        Step(call("sqlite", "describe_table", table_name=table), _pragma(table), text=f"`{table}` looks right; describing it."),
    ]  # fmt: skip
    cols = ", ".join(f"`{c}` {t}" for c, t, _ in SQL_TABLES[table])
    return Scenario(user, steps, f"{hint.capitalize()} live in `{table}`: {cols}.", difficulty="medium")


@_intent("error_handling", "sqlite/read_query", "sqlite/list_tables")
def _sql_wrong_table(r: Random) -> Scenario:
    wrong, right, what = r.choice((("user", "users", "users"), ("order", "orders", "orders"), ("product", "products", "products"),
                                   ("event", "events", "events")))  # fmt: skip
    n = r.randrange(5, 9000)
    user = fmt(r, (
        "Run SELECT COUNT(*) FROM {w}", "Execute `SELECT COUNT(*) FROM {w};` please.", "Count rows with: SELECT COUNT(*) FROM {w}",
        "What does SELECT COUNT(*) FROM {w} give?", "query: SELECT COUNT(*) FROM {w}",
    ), w=wrong)  # fmt: skip
    steps = [
        Step(call("sqlite", "read_query", query=f"SELECT COUNT(*) FROM {wrong}"), f"Database error: no such table: {wrong}", is_error=True),
        Step(call("sqlite", "list_tables"), _rows([{"name": t} for t in SQL_TABLES]), text=f"There's no table `{wrong}`. Let me check the table names."),
        Step(call("sqlite", "read_query", query=f"SELECT COUNT(*) FROM {right}"), _rows([{"COUNT(*)": n}]),
             text=f"The table is called `{right}`."),
    ]  # fmt: skip
    return Scenario(user, steps, f"There is no `{wrong}` table; `{right}` has {n} rows.", difficulty="hard")


# ==========================================================================================================
# memory (@modelcontextprotocol/server-memory)


def _entity(r: Random, name: str | None = None) -> dict[str, Any]:
    kind = r.choice(ENTITY_TYPES) if name is None else ("person" if name in PEOPLE else "project")
    if name is None:
        name = {"person": r.choice(PEOPLE), "project": r.choice(PROJECTS), "organization": r.choice(ORGS),
                "service": r.choice(PROJECTS[:2] + ["payments-api", "search-index"])}[kind]  # fmt: skip
    return {"name": name, "entityType": kind, "observations": r.sample(OBSERVATIONS, r.randrange(1, 3))}


@_intent("single_call", "memory/create_entities")
def _mem_create(r: Random) -> Scenario:
    e = _entity(r)
    obs = "; ".join(e["observations"])
    user = fmt(r, (
        "Remember that {n} is a {t}: {o}.", "Add {n} ({t}) to the knowledge graph with these notes: {o}.",
        "Create an entity {n} of type {t}. Observations: {o}.", "Store a new {t} called {n}. Facts: {o}.",
        "Please note {n}, a {t}: {o}.",
    ), n=e["name"], t=e["entityType"], o=obs)  # fmt: skip
    return Scenario(user, [Step(call("memory", "create_entities", entities=[e]), _jdump([e]))],
                    f"Saved {e['name']} to memory.")  # fmt: skip


@_intent("single_call", "memory/create_relations")
def _mem_relate(r: Random) -> Scenario:
    person, rel = r.choice(PEOPLE), r.choice(RELATIONS)
    other = (
        r.choice(ORGS)
        if rel == "works_at"
        else r.choice(PEOPLE)
        if rel in ("reports_to", "collaborates_with")
        else r.choice(PROJECTS)
    )
    if other == person:
        other = "Grace Hopper" if person != "Grace Hopper" else "Alan Turing"
    words = rel.replace("_", " ")
    user = fmt(r, (
        "Record that {a} {w} {b}.", "Add a relation: {a} {w} {b}.", "In the knowledge graph, link {a} to {b} with '{rel}'.",
        "Remember: {a} {w} {b}.", "Create the relation {a} -[{rel}]-> {b}.",
    ), a=person, b=other, w=words, rel=rel)  # fmt: skip
    relation = {"from": person, "to": other, "relationType": rel}
    return Scenario(user, [Step(call("memory", "create_relations", relations=[relation]), _jdump([relation]))],
                    f"Linked {person} → {other} ({rel}).")  # fmt: skip


@_intent("single_call", "memory/add_observations")
def _mem_observe(r: Random) -> Scenario:
    name = r.choice(PEOPLE + PROJECTS)
    facts = r.sample(OBSERVATIONS, r.randrange(1, 3))
    listed = "; ".join(facts)
    user = fmt(r, (
        "Add to {n}'s notes: {f}.", "New facts about {n}: {f}.", "Update the memory for {n} with: {f}.",
        "Also remember about {n}: {f}.", "Append these observations to {n}: {f}.",
    ), n=name, f=listed)  # fmt: skip
    res = [{"entityName": name, "addedObservations": facts}]
    return Scenario(user, [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": facts}]), _jdump(res))],
                    f"Added {len(facts)} observation(s) to {name}.")  # fmt: skip


def _graph(r: Random, names: Sequence[str]) -> dict[str, Any]:
    ents = [_entity(r, n) for n in names]
    rels = [{"from": names[0], "to": names[1], "relationType": r.choice(RELATIONS)}] if len(names) > 1 else []
    return {"entities": ents, "relations": rels}


@_intent("single_call", "memory/search_nodes")
def _mem_search(r: Random) -> Scenario:
    query = r.choice(("payments", "Lisbon", "release manager", "PostgreSQL", "on call", "API guild", "Acme"))
    user = fmt(r, (
        "What do we know about anything related to {q}?", "Search memory for {q}.", "Who or what is connected to {q}?",
        "Look up {q} in the knowledge graph.", "Find nodes mentioning {q}.",
    ), q=query)  # fmt: skip
    g = _graph(r, r.sample(PEOPLE, 1) + r.sample(PROJECTS, 1))
    return Scenario(user, [Step(call("memory", "search_nodes", query=query), _jdump(g))],
                    "Matches: " + "; ".join(f"{e['name']} ({e['entityType']}): {', '.join(e['observations'])}" for e in g["entities"]))  # fmt: skip


@_intent("single_call", "memory/open_nodes")
def _mem_open(r: Random) -> Scenario:
    names = r.sample(PEOPLE, r.randrange(1, 3))
    listed = " and ".join(names)
    user = fmt(r, (
        "Pull up what we have on {l}.", "Open the memory entries for {l}.", "Show me the nodes {l}.",
        "What did I tell you about {l}?", "Retrieve {l} from the knowledge graph.",
    ), l=listed)  # fmt: skip
    g = _graph(r, names)
    return Scenario(user, [Step(call("memory", "open_nodes", names=names), _jdump(g))],
                    "\n".join(f"- {e['name']}: {', '.join(e['observations'])}" for e in g["entities"]))  # fmt: skip


@_intent("single_call", "memory/read_graph")
def _mem_read(r: Random) -> Scenario:
    user = r.choice(("Show me everything in memory.", "Dump the whole knowledge graph.", "What's stored in the knowledge graph?",
                     "Read the entire graph.", "List all entities and relations you remember."))  # fmt: skip
    g = _graph(r, r.sample(PEOPLE, 1) + r.sample(PROJECTS, 1))
    return Scenario(user, [Step(call("memory", "read_graph"), _jdump(g))],
                    f"The graph has {len(g['entities'])} entities ({', '.join(e['name'] for e in g['entities'])}) and {len(g['relations'])} relation(s).")  # fmt: skip


@_intent("single_call", "memory/delete_entities")
def _mem_delete(r: Random) -> Scenario:
    names = r.sample(PROJECTS + ORGS, r.randrange(1, 3))
    listed = " and ".join(names)
    user = fmt(r, ("Forget {l}.", "Delete {l} from memory.", "Remove the entities {l} from the knowledge graph.",
                   "Please drop {l} from the graph."), l=listed)  # fmt: skip
    return Scenario(user, [Step(call("memory", "delete_entities", entityNames=names), "Entities deleted successfully")],
                    f"Removed {listed} and their relations.")  # fmt: skip


@_intent("multi_step", "memory/search_nodes", "memory/add_observations")
def _mem_search_then_add(r: Random) -> Scenario:
    person, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    first = person.split()[0]
    user = fmt(r, (
        "Find {f} in memory and add that they: {o}.", "Look up {f} and note: {o}.",
        "Search for {f} in the knowledge graph, then record this about them: {o}.",
        "{f} — {o}. Find the right entity and save that.", "Update whoever {f} is in memory with: {o}.",
    ), f=first, o=fact.lower())  # fmt: skip
    g = _graph(r, [person])
    steps = [
        Step(call("memory", "search_nodes", query=first), _jdump(g)),
        Step(call("memory", "add_observations", observations=[{"entityName": person, "contents": [fact]}]),
             _jdump([{"entityName": person, "addedObservations": [fact]}]), text=f"Found {person}. Adding the observation."),
    ]  # fmt: skip
    return Scenario(user, steps, f'Added "{fact}" to {person}.', difficulty="medium")


@_intent("error_handling", "memory/add_observations", "memory/create_entities")
def _mem_missing_entity(r: Random) -> Scenario:
    name, fact = r.choice(PROJECTS + ORGS), r.choice(OBSERVATIONS)
    kind = "organization" if name in ORGS else "project"
    user = fmt(r, (
        "Add to {n}: {o}.", "Note about {n}: {o}.", "Remember for {n} that: {o}.", "Update {n} with: {o}.",
        "Record this observation on {n}: {o}.",
    ), n=name, o=fact)  # fmt: skip
    ent = {"name": name, "entityType": kind, "observations": [fact]}
    steps = [
        Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
             f"Entity with name {name} not found", is_error=True),
        Step(call("memory", "create_entities", entities=[ent]), _jdump([ent]),
             text=f"{name} isn't in the knowledge graph yet, so I'll create it with this observation."),
    ]  # fmt: skip
    return Scenario(
        user,
        steps,
        f"{name} didn't exist yet; I created it as a {kind} with that observation.",
        difficulty="medium",
    )


# ==========================================================================================================
# Cross-server chains


@_intent("multi_step", "filesystem/read_text_file", "github/create_issue")
def _todo_to_issue(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    owner, repo, full = _gh(r)
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
             _jdump(_gh_issue(owner, repo, number, todos[0])), text=f"The first item is \"{todos[0]}\". Creating the issue."),
    ]  # fmt: skip
    return Scenario(user, steps, f'Opened #{number} "{todos[0]}" in {full}.', difficulty="hard")


@_intent("multi_step", "git/git_log", "github/create_issue")
def _commit_to_issue(r: Random) -> Scenario:
    repo_path = r.choice(REPOS)
    owner, repo, full = _gh(r)
    text, commits = _git_log(r, 1)
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
             _jdump(_gh_issue(owner, repo, number, title)), text=f"The latest commit is {sha[:7]} \"{msg}\"."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Opened #{number} in {full}: {title}.", difficulty="hard")


# ==========================================================================================================
# Clarification: an ambiguous request, a question (no call), then (sometimes) the answer and the call


@_intent("clarification", "time/convert_time")
def _clar_source_zone(r: Random) -> Clarification:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    hhmm = _hhmm(r)
    spoken = _spoken_time(r, hhmm)
    res = _convert(tz1, hhmm, tz2, _date(r))
    user = fmt(r, ("Convert {t} to {c2} time.", "What's {t} in {c2}?", "{t} -> {c2} time please",
                   "When it's {t}, what time is it in {c2}?", "Can you convert {t} into {c2} time?"), t=spoken, c2=c2)  # fmt: skip
    question = fmt(r, ("Which city or IANA timezone is {t} in?", "Sure. Where are you converting from, i.e. {t} in which timezone?",
                       "Which city or timezone is the {t} from?"), t=spoken)  # fmt: skip
    reply = fmt(r, ("It's {c1} time.", "{c1}.", "I'm in {c1}.", "From {c1}."), c1=c1)
    then = Scenario("", [Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), _jdump(res))],
                    f"{spoken} in {c1} is {res['target']['datetime'][11:16]} in {c2}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@_intent("clarification", "time/get_current_time")
def _clar_where(r: Random) -> Clarification:
    city, tz = r.choice(CITIES)
    res = _time_result(tz, _date(r))
    user = r.choice(("What time is it over there?", "What's the time there right now?", "Is it already evening there?",
                     "Check the local time at their office.", "What time is it for the client?"))  # fmt: skip
    question = r.choice(("Which city or timezone do you mean?", "Where exactly? Give me a city or an IANA timezone.",
                         "Which location should I check?"))  # fmt: skip
    reply = fmt(r, ("{c}.", "In {c}.", "They're in {c}.", "The office in {c}."), c=city)
    then = Scenario("", [Step(call("time", "get_current_time", timezone=tz), _jdump(res))],
                    f"It's {res['datetime'][11:16]} ({res['day_of_week']}) in {city}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@_intent("clarification", "git/git_commit")
def _clar_commit_repo(r: Random) -> Clarification:
    repo, msg, sha = r.choice(REPOS), r.choice(COMMIT_MESSAGES), _sha(r)
    user = fmt(r, ('Commit my staged changes with the message "{m}".', 'Please commit: "{m}"', "git commit -m '{m}'",
                   'Record a commit "{m}".', 'Commit everything that is staged as "{m}".'), m=msg)  # fmt: skip
    question = r.choice(("Which repository should I commit in? Please give me its path.",
                         "In which repository? I need the path to the repo.", "Sure, which repo path is this for?"))  # fmt: skip
    reply = fmt(r, ("{p}", "The one at {p}.", "It's in {p}.", "Use {p}."), p=repo)
    then = Scenario("", [Step(call("git", "git_commit", repo_path=repo, message=msg), f"Changes committed successfully with hash {sha}")],
                    f"Committed as `{sha[:7]}`.")  # fmt: skip
    return Clarification(user, question, reply, then)


@_intent("clarification", "git/git_checkout")
def _clar_branch(r: Random) -> Clarification:
    repo, branch = r.choice(REPOS), r.choice(BRANCHES)
    user = fmt(r, ("Switch branches in {p}.", "Check out the other branch in {p}.", "Change the branch of {p}.",
                   "Put {p} on another branch.", "Move {p} to a different branch."), p=repo)  # fmt: skip
    question = r.choice(("Which branch should I switch to?", "Which branch do you want checked out?",
                         "Sure, what's the name of the branch?"))  # fmt: skip
    reply = fmt(r, ("{b}", "{b}, please.", "The {b} branch.", "Switch to {b}."), b=branch)
    then = Scenario("", [Step(call("git", "git_checkout", repo_path=repo, branch_name=branch), f"Switched to branch '{branch}'")],
                    f"You're on `{branch}` now.")  # fmt: skip
    return Clarification(user, question, reply, then)


@_intent("clarification", "github/create_issue")
def _clar_issue_repo(r: Random) -> Clarification:
    owner, repo, full = _gh(r)
    title, number = r.choice(ISSUE_TITLES), r.randrange(1, 2000)
    user = fmt(r, ('Open an issue titled "{t}".', 'File a bug: "{t}"', 'Create a GitHub issue called "{t}".',
                   'Please log "{t}" as an issue.', 'New issue: "{t}"'), t=title)  # fmt: skip
    question = r.choice(("Which repository should the issue go in (owner/name)?", "Sure. In which GitHub repository?",
                         "Which repo is this for? Please give me the owner and repository name."))  # fmt: skip
    reply = fmt(r, ("{f}", "In {f}.", "Put it in {f}.", "The {f} repo."), f=full)
    then = Scenario("", [Step(call("github", "create_issue", owner=owner, repo=repo, title=title), _jdump(_gh_issue(owner, repo, number, title)))],
                    f"Created #{number} in {full}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@_intent("clarification", "github/get_issue")
def _clar_issue_number(r: Random) -> Clarification:
    owner, repo, full = _gh(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    user = fmt(r, ("Show me that issue in {f}.", "What's the status of the bug we talked about in {f}?",
                   "Pull up the issue in {f}.", "Open the issue on {f} for me.", "How's that {f} issue going?"), f=full)  # fmt: skip
    question = r.choice(("Which issue number?", "Which issue do you mean? Please give me its number.",
                         "Sure, what's the issue number?"))  # fmt: skip
    reply = fmt(r, ("#{n}", "Issue {n}.", "It's #{n}.", "{n}"), n=number)
    res = _gh_issue(owner, repo, number, title)
    then = Scenario("", [Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=number), _jdump(res))],
                    f"#{number} \"{title}\" is open.")  # fmt: skip
    return Clarification(user, question, reply, then)


@_intent("clarification", "filesystem/read_text_file")
def _clar_which_file(r: Random) -> Clarification:
    root = r.choice(FS_ROOTS)
    path = f"{root}/{r.choice(('config/settings.yaml', 'src/config.json', '.env.example', 'pyproject.toml'))}"
    user = r.choice(("Open the config file.", "Show me the settings.", "What's in the config?",
                     "Read the configuration for me.", "Can you print the config file?"))  # fmt: skip
    question = r.choice(("Which file do you mean? Please give me the full path.", "Which config file? I need its path.",
                         "There may be several config files. Which path should I read?"))  # fmt: skip
    reply = fmt(r, ("{p}", "The one at {p}.", "{p}, please."), p=path)
    content = _snippet(path)
    then = Scenario(
        "", [Step(call("filesystem", "read_text_file", path=path), content)], f"`{path}`:\n```\n{content}```"
    )
    return Clarification(user, question, reply, then)


@_intent("clarification", "sqlite/write_query")
def _clar_delete(r: Random) -> Clarification:
    day = _date(r, 2023, 1).date().isoformat()
    user = r.choice(("Delete the old records.", "Clean up old data in the database.", "Purge the stale rows.",
                     "Get rid of the outdated entries.", "Remove old stuff from the DB."))  # fmt: skip
    question = r.choice(("Which table, and what counts as old? Please give me a cutoff date.",
                         "Before I delete anything: which table, and older than what date?",
                         "That's destructive, so let's be precise. Which table and which cutoff date?"))  # fmt: skip
    reply = fmt(
        r, ("Events before {d}.", "The events table, everything older than {d}.", "events, cutoff {d}"), d=day
    )
    n = r.randrange(0, 40000)
    then = Scenario("", [Step(call("sqlite", "write_query", query=f"DELETE FROM events WHERE ts < '{day}'"),
                              _rows([{"affected_rows": n}]))], f"Deleted {n} event(s) older than {day}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@_intent("clarification", "memory/add_observations")
def _clar_who(r: Random) -> Clarification:
    name, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    user = fmt(r, ("Remember that they: {o}.", "Note this down: {o}.", "Add to their profile: {o}.",
                   "Save this about her: {o}.", "Keep in mind: {o}."), o=fact.lower())  # fmt: skip
    question = r.choice(
        ("Who should I attach this to?", "Which person or entity is this about?", "Sure, who is this about?")
    )
    reply = fmt(r, ("{n}.", "It's about {n}.", "{n}, of course."), n=name)
    then = Scenario("", [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
                              _jdump([{"entityName": name, "addedObservations": [fact]}]))], f"Noted for {name}.")  # fmt: skip
    return Clarification(user, question, reply, then)


# ==========================================================================================================
# Code understanding: read code through a tool, then explain it, review it or locate a bug

BUGGY_CODE = [
    # (file, function source, 1-based bug line, what is wrong, old text, fixed text)
    ("src/pagination.py",
     'def page(items, number, size=20):\n    """Items of 1-based page `number`."""\n    start = number * size\n    return items[start:start + size]\n',
     3, "pages are 1-based, so page 1 starts at index `number * size` = 20 and skips the first page; it should be `(number - 1) * size`",
     "start = number * size", "start = (number - 1) * size"),
    ("src/utils/retry.py",
     "def retry(fn, attempts=3):\n    for i in range(attempts):\n        try:\n            return fn()\n        except Exception:\n            pass\n    return fn()\n",
     7, "after the loop it calls `fn()` a fourth time, outside the try, so `attempts=3` really means 4 calls; re-raise the last error instead",
     "pass\n    return fn()\n", "pass\n    raise RuntimeError(f'gave up after {attempts} attempts')\n"),
    ("src/cart.py",
     "def total(cart):\n    s = 0\n    for item in cart:\n        s = item.price * item.qty\n    return s\n",
     4, "`s = ...` overwrites the running total on every item instead of adding to it; it should be `s += item.price * item.qty`",
     "s = item.price * item.qty", "s += item.price * item.qty"),
    ("src/auth/tokens.py",
     "import time\n\n\ndef is_expired(token):\n    return token['exp'] > time.time()\n",
     5, "the comparison is inverted: a token is expired when `exp` is in the past, i.e. `token['exp'] < time.time()`",
     "token['exp'] > time.time()", "token['exp'] < time.time()"),
    ("src/db/session.py",
     "def get_user(conn, user_id):\n    cur = conn.execute(f\"SELECT * FROM users WHERE id = {user_id}\")\n    return cur.fetchone()\n",
     2, "the query is built with an f-string, which allows SQL injection; pass the id as a parameter: `conn.execute('SELECT * FROM users WHERE id = ?', (user_id,))`",
     'f"SELECT * FROM users WHERE id = {user_id}"', "\"SELECT * FROM users WHERE id = ?\", (user_id,)"),
    ("src/lib/cache.py",
     "def memo(fn, cache={}):\n    def wrapper(x):\n        if x not in cache:\n            cache[x] = fn(x)\n        return cache[x]\n    return wrapper\n",
     1, "the mutable default `cache={}` is shared by every decorated function, so two functions with the same argument return each other's results",
     "def memo(fn, cache={}):", "def memo(fn, cache=None):"),
    ("src/stats.py",
     "def mean(xs):\n    return sum(xs) / len(xs) if xs else 0\n\n\ndef median(xs):\n    xs = sorted(xs)\n    return xs[len(xs) // 2]\n",
     7, "for an even number of values the median is the mean of the two middle values, but this returns only the upper one",
     "    return xs[len(xs) // 2]", "    m = len(xs) // 2\n    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2"),
    ("src/routes/orders.ts",
     "export async function listOrders(req, res) {\n  const limit = req.query.limit || 50;\n  const rows = await db.orders.find().limit(limit);\n  res.json(rows);\n}\n",
     2, "`req.query.limit` is a string, so `limit` becomes e.g. \"10\" and is never capped; parse it with `Number(...)` and clamp it",
     "const limit = req.query.limit || 50;", "const limit = Math.min(Number(req.query.limit) || 50, 200);"),
]  # fmt: skip


def _numbered(src: str) -> str:
    return "\n".join(f"{i:>4}  {line}" for i, line in enumerate(src.splitlines(), 1))


def _bug_diff(path: str, before: str, after: str) -> str:
    """`git diff` text for one file changed from `before` to `after`."""
    import difflib

    body = "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}")
    )
    return f"diff --git a/{path} b/{path}\n{body}"


@_intent("code_understanding", "git/git_show")
def _cu_git_show_bug(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    sha, msg = (
        _sha(r),
        r.choice(
            ("Refactor helpers", "Small cleanup", "Simplify logic", "Tidy up", "Address review comments")
        ),
    )
    short = sha[:7]
    user = fmt(r, (
        "Tests started failing after commit {s} in {repo}. What did it break?",
        "Can you review commit {s} in {repo}? I think it introduced a bug.",
        "What does {s} change in {repo}, and is it correct?",
        "Explain commit {s} of {repo} to me and check it for mistakes.",
        "Something regressed with {s} ({repo}). Find the problem.",
    ), s=short, repo=repo)  # fmt: skip
    shown = f"commit {sha}\nAuthor: {r.choice(PEOPLE)}\n\n    {msg}\n\n" + _bug_diff(
        path, src.replace(old, new), src
    )
    answer = f'Commit `{short}` ("{msg}") changes `{path}`. The bug is on line {line}: {why}.'
    return Scenario(user, [Step(call("git", "git_show", repo_path=repo, revision=short), shown, text=_preface(r))],
                    answer, difficulty="medium")  # fmt: skip


@_intent("code_understanding", "git/git_diff_unstaged")
def _cu_review_diff(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    user = fmt(r, (
        "Review my uncommitted changes in {repo} before I commit them.",
        "Is there anything wrong with what I changed in {repo}?",
        "Quick code review of my working-tree diff in {repo}, please.",
        "Look over my unstaged edits in {repo} and tell me if they're safe.",
        "Before I push: do my current changes in {repo} look right?",
    ), repo=repo)  # fmt: skip
    diff = "Unstaged changes:\n" + _bug_diff(path, src.replace(old, new), src)
    answer = fmt(r, (
        "One problem in `{p}`, line {l}: {w}.", "I'd hold the commit: in `{p}` (line {l}) {w}.",
        "The change to `{p}` has a bug at line {l}: {w}.",
    ), p=path, l=line, w=why)  # fmt: skip
    return Scenario(
        user, [Step(call("git", "git_diff_unstaged", repo_path=repo), diff)], answer, difficulty="medium"
    )


@_intent("code_understanding", "git/git_diff")
def _cu_branch_summary(r: Random) -> Scenario:
    repo, branch, base = r.choice(REPOS), r.choice(BRANCHES), r.choice(BASE_BRANCHES)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    user = fmt(r, (
        "I'm on {b} in {repo}. Summarise how it differs from {base} and flag any bug.",
        "Compare my branch with {base} in {repo} and explain the changes.",
        "What will merging into {base} change in {repo}? Any problems?",
    ), b=branch, base=base, repo=repo)  # fmt: skip
    diff = _bug_diff(path, src, src.replace(old, new))  # the branch fixes the bug
    answer = (f"Against `{base}`, the branch changes only `{path}`: it fixes line {line}, where {why}. "
              "The change looks correct.")  # fmt: skip
    return Scenario(
        user, [Step(call("git", "git_diff", repo_path=repo, target=base), diff)], answer, difficulty="medium"
    )


JOIN_BUGS = [
    ("SELECT u.name, o.total FROM orders o JOIN users u ON o.id = u.id", "orders",
     "it joins `orders.id` to `users.id`; orders point at users through `orders.user_id`, so use `ON o.user_id = u.id`"),
    ("SELECT p.name, SUM(oi.quantity) FROM order_items oi JOIN products p ON oi.order_id = p.id GROUP BY p.name",
     "order_items", "it matches `order_items.order_id` against product ids; the product link is `order_items.product_id`"),
    ("SELECT u.country, COUNT(*) FROM events e JOIN users u ON e.id = u.id GROUP BY u.country", "events",
     "events belong to users via `events.user_id`, not `events.id`; join `ON e.user_id = u.id`"),
]  # fmt: skip


@_intent("code_understanding", "sqlite/describe_table")
def _cu_sql_join(r: Random) -> Scenario:
    sql, table, why = r.choice(JOIN_BUGS)
    user = fmt(r, (
        "Why does this query give nonsense results? {q}", "My report query looks wrong: `{q}`. What's the problem?",
        "Can you check this SQL against the schema? {q}", "Debug this for me: {q}",
    ), q=sql)  # fmt: skip
    return Scenario(user, [Step(call("sqlite", "describe_table", table_name=table), _pragma(table),
                                text=f"Let me check the columns of `{table}`.")],
                    f"The join is wrong: {why}.", difficulty="medium")  # fmt: skip


@_intent("code_understanding", "sqlite/describe_table")
def _cu_sql_explain_schema(r: Random) -> Scenario:
    table = r.choice(("orders", "order_items", "events"))
    links = {"orders": "`user_id` points at `users.id`", "order_items": "`order_id` points at `orders.id` and `product_id` at `products.id`",
             "events": "`user_id` points at `users.id`"}[table]  # fmt: skip
    user = fmt(r, ("How does the {t} table relate to the other tables?", "Explain what {t} stores and how it links to the rest.",
                   "Walk me through the {t} table: columns and foreign keys."), t=table)  # fmt: skip
    cols = ", ".join(f"`{c}`" for c, _, _ in SQL_TABLES[table])
    return Scenario(user, [Step(call("sqlite", "describe_table", table_name=table), _pragma(table))],
                    f"`{table}` has {cols}; `id` is the primary key and {links}.")  # fmt: skip


@_intent("code_understanding", "filesystem/read_text_file")
def _cu_fs_find_bug(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    full = f"{root}/{path}"
    user = fmt(r, ("There's a bug in {p}. Can you find it?", "Read {p} and tell me what's wrong with it.",
                   "Why doesn't {p} behave as documented?", "Explain {p} and point out any bug.",
                   "Which line of {p} is broken?"), p=full)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "read_text_file", path=full), src)],
                    f"Line {line} of `{path}`: {why}.", difficulty="medium")  # fmt: skip


@_intent("code_understanding", "filesystem/read_text_file", "filesystem/edit_file")
def _cu_fs_fix_bug(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    full = f"{root}/{path}"
    user = fmt(
        r,
        (
            "Find and fix the bug in {p}.",
            "{p} is broken. Please fix it.",
            "Read {p}, spot the bug and patch it.",
        ),
        p=full,
    )
    steps = [
        Step(call("filesystem", "read_text_file", path=full), src),
        Step(call("filesystem", "edit_file", path=full, edits=[{"oldText": old, "newText": new}]),
             f"```diff\n{_bug_diff(path, src, src.replace(old, new))}```",
             text=f"Line {line}: {why}. Fixing it."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Fixed line {line} of `{path}`.", difficulty="hard")


@_intent("code_understanding", "github/get_file_contents")
def _cu_gh_explain(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    user = fmt(r, ("Explain what {p} in {f} does and whether it has bugs.", "Review {p} on {f}.",
                   "Is {p} in the {f} repo correct?"), p=path, f=full)  # fmt: skip
    res = _jdump(
        {"name": path.rsplit("/", 1)[-1], "path": path, "type": "file", "encoding": "utf-8", "content": src}
    )
    return Scenario(user, [Step(call("github", "get_file_contents", owner=owner, repo=repo, path=path), res)],
                    f"In `{path}`, line {line}: {why}.", difficulty="medium")  # fmt: skip


LIBRARIES = [
    ("Next.js", "/vercel/next.js", "how to set up middleware for authentication",
     "Create `middleware.ts` at the project root exporting `middleware(request)`; return `NextResponse.redirect(...)` for unauthenticated requests and limit it with `export const config = { matcher: [...] }`."),
    ("FastAPI", "/fastapi/fastapi", "how to declare a dependency that reads a bearer token",
     "Use `OAuth2PasswordBearer(tokenUrl=\"token\")` and declare `token: str = Depends(oauth2_scheme)` in the path operation."),
    ("pandas", "/pandas-dev/pandas", "how to group by two columns and sum",
     "`df.groupby([\"a\", \"b\"])[\"value\"].sum()`; add `.reset_index()` to get a flat DataFrame."),
    ("React", "/facebook/react", "how to fetch data in useEffect without race conditions",
     "Set an `ignore` flag inside the effect, check it before `setState`, and set it to true in the cleanup function."),
    ("Prisma", "/prisma/prisma", "how to run a transaction",
     "Use `prisma.$transaction([...])` for a batch, or `prisma.$transaction(async (tx) => { ... })` for an interactive transaction."),
    ("Tailwind CSS", "/tailwindlabs/tailwindcss", "how to enable dark mode with a class",
     "Use the `dark:` variant and switch it with a class on `<html>` via a custom variant such as `@custom-variant dark (&:where(.dark, .dark *));`."),
]  # fmt: skip


def _c7_libs(name: str, lib_id: str) -> str:
    return (f"Available Libraries:\n\n- Title: {name}\n- Context7-compatible library ID: {lib_id}\n"
            f"- Description: Official documentation for {name}\n- Code Snippets: 2400\n- Source Reputation: High\n- Benchmark Score: 91")  # fmt: skip


@_intent("code_understanding", "context7/resolve-library-id", "context7/query-docs")
def _c7_docs(r: Random) -> Scenario:
    name, lib_id, topic, gist = r.choice(LIBRARIES)
    user = fmt(r, ("Using the current {n} docs, {t}?", "Check the {n} documentation: {t}.", "{n}: {t}? Use up-to-date docs.",
                   "I'm on the latest {n}. Look up {t}."), n=name, t=topic)  # fmt: skip
    steps = [
        Step(call("context7", "resolve-library-id", libraryName=name, query=topic), _c7_libs(name, lib_id)),
        Step(call("context7", "query-docs", libraryId=lib_id, query=topic), f"### {topic}\n\n{gist}\n",
             text=f"{name} is `{lib_id}`."),
    ]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="medium")


@_intent("single_call", "context7/query-docs")
def _c7_direct(r: Random) -> Scenario:
    name, lib_id, topic, gist = r.choice(LIBRARIES)
    user = fmt(
        r,
        ("Query {id} docs: {t}.", "Using Context7 library {id}, {t}?", "Look up {t} in {id}."),
        id=lib_id,
        t=topic,
    )
    return Scenario(
        user,
        [Step(call("context7", "query-docs", libraryId=lib_id, query=topic), f"### {topic}\n\n{gist}\n")],
        gist,
    )


@_intent("error_handling", "context7/query-docs", "context7/resolve-library-id")
def _c7_bad_id(r: Random) -> Scenario:
    name, lib_id, topic, gist = r.choice(LIBRARIES)
    guess = "/" + name.lower().replace(" ", "").replace(".", "")
    user = fmt(r, ("Look up in the {n} docs: {t}.", "{n} docs please: {t}."), n=name, t=topic)
    steps = [
        Step(call("context7", "query-docs", libraryId=guess, query=topic),
             "The library you are trying to access does not exist. Please try with a different library ID.", is_error=True,
             mistake=True),
        Step(call("context7", "resolve-library-id", libraryName=name, query=topic), _c7_libs(name, lib_id),
             text="That ID was a guess. Let me resolve the real one."),
        Step(call("context7", "query-docs", libraryId=lib_id, query=topic), f"### {topic}\n\n{gist}\n"),
    ]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="hard")


# ==========================================================================================================
# Large context: a tool returns a long result; the model must find the right part and follow up precisely


def _long_log(r: Random, n: int, needle: str) -> tuple[str, str, int]:
    """A commit history of `n` entries with one whose message contains `needle`; (text, its sha, its index)."""
    day, entries, pos, target = _date(r), [], r.randrange(2, n), ""
    msgs = [m for m in COMMIT_MESSAGES if needle.lower() not in m.lower()]
    for i in range(n):
        sha = _sha(r)
        msg = needle if i == pos else r.choice(msgs)
        if i == pos:
            target = sha
        day -= timedelta(hours=r.randrange(1, 30))
        entries.append(
            f"Commit: {sha}\nAuthor: {r.choice(PEOPLE)}\nDate: {day.isoformat(sep=' ')}\nMessage: {msg}\n"
        )
    return "Commit history:\n" + "\n".join(entries), target, pos


NEEDLES = [
    ("Switch password hashing to argon2", "password hashing"), ("Drop support for Python 3.9", "Python 3.9"),
    ("Fix race in websocket reconnect", "websocket race"), ("Add rate limiting to login endpoint", "rate limiting"),
    ("Revert 'Enable HTTP/2'", "HTTP/2 revert"), ("Pin numpy below 2.0", "numpy pin"),
    ("Encrypt backups at rest", "backup encryption"), ("Rename customer_id to account_id", "customer_id rename"),
]  # fmt: skip


@_intent("large_context", "git/git_log", "git/git_show")
def _lc_git_find_commit(r: Random) -> Scenario:
    repo, path = r.choice(REPOS), r.choice(CODE_FILES)
    needle, topic = r.choice(NEEDLES)
    n = r.randrange(6, 11)
    text, sha, pos = _long_log(r, n, needle)
    user = fmt(r, ("Somewhere in the last {n} commits of {repo} there's the {t} change. Show me what it did.",
                   "Find the commit about {t} in {repo} (it's recent, within {n} commits) and show its diff.",
                   "Which of the last {n} commits in {repo} did the {t}? Show me that commit.",
                   "Dig through the recent history of {repo} (last {n}) for the {t} commit and open it."),
               n=n, repo=repo, t=topic)  # fmt: skip
    steps = [
        Step(call("git", "git_log", repo_path=repo, max_count=n), text),
        Step(call("git", "git_show", repo_path=repo, revision=sha), f"commit {sha}\n\n    {needle}\n\n" + _diff(r, path),
             text=f"Entry {pos + 1} of {n}, {sha[:7]}, is \"{needle}\". Opening it."),
    ]  # fmt: skip
    return Scenario(user, steps, f'`{sha[:7]}` ("{needle}") changes `{path}`.', difficulty="hard")


@_intent("large_context", "git/git_log")
def _lc_git_count_author(r: Random) -> Scenario:
    repo, n = r.choice(REPOS), r.randrange(6, 11)
    day, entries, who_count = _date(r), [], {}
    authors = r.sample(PEOPLE, 3)
    for _ in range(n):
        who = r.choice(authors)
        who_count[who] = who_count.get(who, 0) + 1
        day -= timedelta(hours=r.randrange(1, 30))
        entries.append(
            f"Commit: {_sha(r)}\nAuthor: {who}\nDate: {day.isoformat(sep=' ')}\nMessage: {r.choice(COMMIT_MESSAGES)}\n"
        )
    target = r.choice(authors)
    user = fmt(r, ("How many of the last {n} commits in {repo} are by {a}?", "Of the {n} most recent commits in {repo}, how many did {a} write?",
                   "Count {a}'s commits among the latest {n} in {repo}."), n=n, repo=repo, a=target)  # fmt: skip
    k = who_count.get(target, 0)
    return Scenario(user, [Step(call("git", "git_log", repo_path=repo, max_count=n), "Commit history:\n" + "\n".join(entries))],
                    f"{k} of the last {n} commits are by {target}.", difficulty="hard")  # fmt: skip


def _long_users(r: Random, n: int, country: str) -> list[dict[str, Any]]:
    people = r.sample(PEOPLE, min(n, len(PEOPLE)))
    return [
        {"id": 100 + 7 * i, "name": p, "email": _email(p), "country": country} for i, p in enumerate(people)
    ]


@_intent("large_context", "sqlite/read_query")
def _lc_sql_pick_row(r: Random) -> Scenario:
    country = r.choice(COUNTRIES)
    rows = _long_users(r, r.randrange(6, 11), country)
    target = r.choice(rows)
    n_orders = r.randrange(1, 40)
    user = fmt(r, ("List every user from {c}, then tell me how many orders {p} placed.",
                   "Show the {c} users; I need {p}'s order count.",
                   "Get all users in {c} and count the orders of {p} among them."), c=country, p=target["name"])  # fmt: skip
    steps = [
        Step(call("sqlite", "read_query", query=f"SELECT id, name, email, country FROM users WHERE country = '{country}'"), _rows(rows)),
        Step(call("sqlite", "read_query", query=f"SELECT COUNT(*) AS n FROM orders WHERE user_id = {target['id']}"),
             _rows([{"n": n_orders}]), text=f"{target['name']} has id {target['id']}. Counting their orders."),
    ]  # fmt: skip
    return Scenario(user, steps, f"{len(rows)} users are from {country}; {target['name']} (id {target['id']}) placed {n_orders} orders.",
                    difficulty="hard")  # fmt: skip


@_intent("large_context", "sqlite/read_query")
def _lc_sql_outlier(r: Random) -> Scenario:
    k = r.randrange(8, 14)
    rows = [{"id": 5000 + i, "user_id": r.randrange(1, 900), "total": round(r.uniform(10, 300), 2),
             "status": r.choice(ORDER_STATUSES)} for i in range(k)]  # fmt: skip
    big = r.randrange(k)
    rows[big]["total"] = round(r.uniform(4000, 9000), 2)
    day = _date(r).date().isoformat()
    user = fmt(r, ("Pull the orders from {d} and tell me which one looks suspicious.",
                   "Show all orders created on {d}. Is there an outlier?",
                   "List orders placed on {d} and find the unusual one."), d=day)  # fmt: skip
    sql = f"SELECT id, user_id, total, status FROM orders WHERE created_at LIKE '{day}%'"
    o = rows[big]
    return Scenario(user, [Step(call("sqlite", "read_query", query=sql), _rows(rows))],
                    f"Of {k} orders, #{o['id']} stands out: ${o['total']:,.2f} from user {o['user_id']}, far above the rest.",
                    difficulty="medium")  # fmt: skip


@_intent("large_context", "memory/read_graph", "memory/add_observations")
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
    fact = r.choice(
        ("Is on vacation next week", "Moved to the platform team", "Prefers reviews in the morning")
    )
    graph = {
        "entities": ents,
        "relations": [{"from": people[0], "to": "billing-service", "relationType": "maintains"}],
    }
    user = fmt(r, ("Whoever is our release manager for 2.4, add this note: {f}.",
                   "Find the 2.4 release manager in memory and record: {f}.",
                   "Add to the 2.4 release manager's notes: {f}."), f=fact[0].lower() + fact[1:])  # fmt: skip
    steps = [
        Step(call("memory", "read_graph"), _jdump(graph)),
        Step(call("memory", "add_observations", observations=[{"entityName": target["name"], "contents": [fact]}]),
             _jdump([{"entityName": target["name"], "addedObservations": [fact]}]),
             text=f"{target['name']} is the release manager for 2.4."),
    ]  # fmt: skip
    return Scenario(
        user, steps, f"Noted for {target['name']}: {fact[0].lower() + fact[1:]}.", difficulty="hard"
    )


LOG_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN")


@_intent("large_context", "filesystem/read_text_file")
def _lc_fs_log(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path = f"{root}/logs/app.log"
    n = r.randrange(14, 25)
    t = _date(r)
    lines, err_at = [], r.randrange(5, n)
    err = r.choice(("db timeout after 30s", "payment provider returned 502", "disk quota exceeded on /var/data",
                    "unhandled KeyError: 'user_id' in /orders"))  # fmt: skip
    for i in range(n):
        t += timedelta(seconds=r.randrange(1, 90))
        msg = (
            err
            if i == err_at
            else r.choice(
                ("request served in 12ms", "cache hit", "worker heartbeat", "job queued", "GET /health 200")
            )
        )
        lines.append(f"{t:%Y-%m-%d %H:%M:%S} {'ERROR' if i == err_at else r.choice(LOG_LEVELS)} {msg}")
        if i == err_at:
            when = f"{t:%H:%M:%S}"
    tail = r.choice((None, n))
    user = fmt(r, ("When did the first error happen in {p}, and what was it?", "Scan {p} for errors.",
                   "Find the ERROR line in {p}.", "Something failed today; check {p}."), p=path)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "read_text_file", path=path, tail=tail), "\n".join(lines) + "\n")],
                    f"One error, at {when}: {err}.", difficulty="medium")  # fmt: skip


@_intent("large_context", "filesystem/read_text_file")
def _lc_fs_head(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path = f"{root}/data/{r.choice(('events', 'sales', 'signups', 'metrics'))}.csv"
    k = r.choice((5, 10, 20))
    header = "date,region,revenue,orders"
    rows = [
        f"2024-05-{i + 1:02d},{r.choice(('EU', 'US', 'APAC'))},{r.randrange(500, 9000)},{r.randrange(3, 90)}"
        for i in range(k - 1)
    ]
    user = fmt(r, ("{p} is huge. Show me just the first {k} lines.", "Peek at the top {k} lines of {p}.",
                   "Only the first {k} lines of {p}, please; the file is several GB.",
                   "What columns does {p} have? Don't read the whole file, {k} lines are enough."), p=path, k=k)  # fmt: skip
    content = "\n".join([header, *rows]) + "\n"
    return Scenario(user, [Step(call("filesystem", "read_text_file", path=path, head=k), content)],
                    f"Columns: {header.replace(',', ', ')}; the first rows start on {rows[0].split(',')[0]}.")  # fmt: skip


def _fetch_page(r: Random, url: str, topic: str, n: int) -> str:
    paras = [f"## {topic} — section {i + 1}\n\n" + " ".join(r.sample((
        "This section describes configuration options.", "Defaults are chosen for small deployments.",
        "Values can be overridden with environment variables.", "See the changelog for breaking changes.",
        "Each option is validated at startup.", "Deprecated options still work but log a warning.",
        "The CLI mirrors every option as a flag.", "Timeouts are given in seconds."), 4)) for i in range(n)]  # fmt: skip
    return "\n\n".join(paras)


DOC_PAGES = [
    ("https://docs.python.org/3/library/asyncio-task.html", "asyncio tasks", "TaskGroup", "Use `asyncio.TaskGroup()`: tasks created in the `async with` block are awaited together and errors are collected in an ExceptionGroup."),
    ("https://fastapi.tiangolo.com/tutorial/cors/", "FastAPI CORS", "allow_origins", "Add `CORSMiddleware` with `allow_origins` set to the list of trusted origins."),
    ("https://docs.github.com/en/rest/rate-limit", "GitHub rate limits", "X-RateLimit-Remaining", "Authenticated requests get 5,000 per hour; check the `X-RateLimit-Remaining` header."),
    ("https://www.postgresql.org/docs/current/sql-createindex.html", "CREATE INDEX", "CONCURRENTLY", "`CREATE INDEX CONCURRENTLY` builds the index without locking out writes, at the cost of a slower build."),
    ("https://nodejs.org/api/fs.html", "Node fs", "fs.promises", "Use `fs.promises` (or `node:fs/promises`) for promise-based file APIs."),
]  # fmt: skip


@_intent("large_context", "fetch/fetch")
def _lc_fetch_more(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    chunk = r.choice((2000, 3000, 5000))
    page1 = _fetch_page(r, url, topic, 3)[: chunk // 8]
    user = fmt(r, ("Read {u} and tell me what it says about {n}.", "What does {u} say about {n}?",
                   "Find the part about {n} on {u}.", "Fetch {u}; I only care about {n}."), u=url, n=needle)  # fmt: skip
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


@_intent("large_context", "github/list_issues", "github/get_issue")
def _lc_gh_find_issue(r: Random) -> Scenario:
    owner, repo, full = _gh(r)
    titles = r.sample(ISSUE_TITLES, r.randrange(5, 9))
    issues = [_gh_issue(owner, repo, r.randrange(10, 3000), t, labels=r.sample(LABELS, 1)) for t in titles]
    for it in issues:
        it["body"] = ""
    target = r.choice(issues)
    key = target["title"].split()[0:3]
    user = fmt(r, ("There's an open issue in {f} about \"{k}\". Give me its details.",
                   "Find the {f} issue mentioning \"{k}\" and show me the full thing.",
                   "Look through the open issues of {f} for \"{k}\"."), f=full, k=" ".join(key))  # fmt: skip
    steps = [
        Step(call("github", "list_issues", owner=owner, repo=repo, state="open"), _jdump(issues)),
        Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=target["number"]),
             _jdump(_gh_issue(owner, repo, target["number"], target["title"], body=r.choice(ISSUE_BODIES))),
             text=f"It's #{target['number']}."),
    ]  # fmt: skip
    return Scenario(user, steps, f'#{target["number"]} "{target["title"]}" is open.', difficulty="hard")


def _pw_snapshot(r: Random, url: str, target_label: str) -> tuple[str, str]:
    labels = r.sample(("Home", "Pricing", "Docs", "Blog", "Sign in", "Sign up", "Search", "Contact sales", "Careers",
                       "Settings", "Log out", "Download", "Changelog", "Status"), 8)  # fmt: skip
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


SITES = [
    "https://example.com",
    "https://acme.test",
    "http://localhost:3000",
    "https://staging.shop.test",
    "http://127.0.0.1:8000",
]


@_intent("large_context", "playwright/browser_navigate", "playwright/browser_click")
def _lc_pw_click(r: Random) -> Scenario:
    url, label = r.choice(SITES), r.choice(("Pricing", "Sign in", "Docs", "Contact sales", "Changelog"))
    snap, ref = _pw_snapshot(r, url, label)
    user = fmt(
        r,
        ('Open {u} and click "{l}".', "Go to {u}, then hit the {l} link.", "On {u}, navigate to {l}."),
        u=url,
        l=label,
    )
    steps = [
        Step(call("playwright", "browser_navigate", url=url), snap),
        Step(call("playwright", "browser_click", target=ref, element=f"{label} link"),
             f"- Page URL: {url}/{label.lower().replace(' ', '-')}\n- Page Title: {label} | Acme", text=f"\"{label}\" is {ref}."),
    ]  # fmt: skip
    return Scenario(user, steps, f'Opened {url} and clicked "{label}".', difficulty="hard")


SLACK_CHANNELS = [("C01GENERAL0", "general"), ("C02DEPLOYS0", "deploys"), ("C03INCIDNT0", "incidents"),
                  ("C04RANDOM00", "random"), ("C05BACKEND0", "backend"), ("C06RELEASE0", "releases")]  # fmt: skip
SLACK_USERS = [("U01ADA00000", "ada"), ("U02GRACE000", "grace"), ("U03ALAN0000", "alan"), ("U04LIN00000", "lin.wei"),
               ("U05PRIYA000", "priya"), ("U06MATEO000", "mateo")]  # fmt: skip
SLACK_TEXTS = ["Deploy of billing-service finished", "Can someone review PR #482?", "Standup moved to 10:30",
               "Heads up: staging DB restarts at 18:00", "The flaky test is fixed on main", "Lunch order closes at noon",
               "Incident resolved, postmortem tomorrow", "New release 2.4.1 is out"]  # fmt: skip


def _ts(r: Random) -> str:
    return f"{r.randrange(1_700_000_000, 1_760_000_000)}.{r.randrange(10**6):06d}"


@_intent("large_context", "slack/slack_get_channel_history", "slack/slack_reply_to_thread")
def _lc_slack_reply(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    msgs = [{"type": "message", "user": r.choice(SLACK_USERS)[0], "text": t, "ts": _ts(r)}
            for t in r.sample(SLACK_TEXTS, r.randrange(5, 8))]  # fmt: skip
    target = r.choice(msgs)
    reply = r.choice(("On it!", "Thanks for the heads-up.", "Looking now.", "👍 done"))
    user = fmt(r, ("In #{c} someone wrote \"{t}\". Reply in that thread: {a}",
                   "Find the message \"{t}\" in #{c} and answer it in the thread with \"{a}\".",
                   "Reply \"{a}\" under the \"{t}\" message in #{c}."), c=cname, t=target["text"], a=reply)  # fmt: skip
    steps = [
        Step(call("slack", "slack_get_channel_history", channel_id=cid), _jdump({"ok": True, "messages": msgs})),
        Step(call("slack", "slack_reply_to_thread", channel_id=cid, thread_ts=target["ts"], text=reply),
             _jdump({"ok": True, "channel": cid, "ts": _ts(r)}), text=f"The message has ts {target['ts']}."),
    ]  # fmt: skip
    return Scenario(user, steps, f"Replied in the thread in #{cname}.", difficulty="hard")


# ==========================================================================================================
# Reasoning: a short explanation before the call is part of the target


@_intent("reasoning", "time/convert_time")
def _rs_flight(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    dep_h, dur = r.randrange(6, 13), r.randrange(2, 11)
    dep, arr = f"{dep_h:02d}:00", f"{(dep_h + dur) % 24:02d}:00"
    res = _convert(tz1, arr, tz2, _date(r))
    user = fmt(r, ("My flight leaves {c1} at {d} local time and takes {n} hours. What's the local time in {c2} when I land?",
                   "I depart {c1} at {d}, the flight is {n}h. When do I arrive, {c2} time?",
                   "Leaving {c1} at {d}; {n} hours in the air. Arrival time in {c2}?"), c1=c1, d=dep, n=dur, c2=c2)  # fmt: skip
    text = fmt(r, ("{d} plus {n} hours is {a} in {c1} time, so I'll convert {a} from {tz1} to {tz2}.",
                   "Landing is {n}h after {d}, i.e. {a} {c1} time. Converting that to {c2}."),
               d=dep, n=dur, a=arr, c1=c1, tz1=tz1, tz2=tz2, c2=c2)  # fmt: skip
    return Scenario(user, [Step(call("time", "convert_time", source_timezone=tz1, time=arr, target_timezone=tz2), _jdump(res), text=text)],
                    f"You land at {res['target']['datetime'][11:16]} local time in {c2}.", difficulty="hard")  # fmt: skip


@_intent("reasoning", "time/get_current_time")
def _rs_business_hours(r: Random) -> Scenario:
    city, tz = r.choice(CITIES)
    res = _time_result(tz, _date(r))
    h = int(res["datetime"][11:13])
    open_ = 9 <= h < 17 and res["day_of_week"] not in ("Saturday", "Sunday")
    user = fmt(r, ("Is the {c} office open right now? They work 9 to 5 on weekdays.",
                   "Can I still reach the team in {c} during business hours?",
                   "Would a call to {c} now be within their working day?"), c=city)  # fmt: skip
    text = fmt(r, ("That depends on the local time and weekday in {c}, so I'll get the current time in {tz}.",
                   "I need the current local time in {c} ({tz}) to compare with 9:00-17:00."), c=city, tz=tz)  # fmt: skip
    verdict = "yes, they're within business hours" if open_ else "no, that's outside their business hours"
    return Scenario(user, [Step(call("time", "get_current_time", timezone=tz), _jdump(res), text=text)],
                    f"It's {res['datetime'][11:16]} on {res['day_of_week']} in {city}: {verdict}.", difficulty="medium")  # fmt: skip


@_intent("reasoning", "git/git_reset")
def _rs_unstage(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    user = fmt(r, ("I staged the wrong files in {repo}. Undo that, but don't lose my edits.",
                   "Oops, I ran git add on everything in {repo}. Take it back without touching my changes.",
                   "Unstage everything in {repo}; keep the working tree as is."), repo=repo)  # fmt: skip
    text = r.choice(("git_reset unstages all staged changes and leaves the files on disk alone, which is exactly what's needed.",
                     "Unstaging without losing edits is a mixed reset of the index: git_reset does that."))  # fmt: skip
    return Scenario(user, [Step(call("git", "git_reset", repo_path=repo), "All staged changes reset", text=text)],
                    "Everything is unstaged; your edits are still in the working tree.", difficulty="medium")  # fmt: skip


@_intent("reasoning", "git/git_diff")
def _rs_compare_branch(r: Random) -> Scenario:
    repo, base, path = r.choice(REPOS), r.choice(BASE_BRANCHES), r.choice(CODE_FILES)
    user = fmt(r, ("What would my PR into {b} contain? Repo: {repo}.", "What's different between my branch and {b} in {repo}?",
                   "Before I open a PR against {b} ({repo}), what changes are in it?"), b=base, repo=repo)  # fmt: skip
    text = fmt(r, ("A PR shows the diff between the current branch and its base, so I'll diff against {b}.",
                   "The PR's content is the diff from {b} to HEAD; git_diff with target {b} gives exactly that."), b=base)  # fmt: skip
    diff = _diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff", repo_path=repo, target=base), diff, text=text)],
                    f"The PR would change one line in `{path}`.", difficulty="medium")  # fmt: skip


@_intent("reasoning", "sqlite/read_query")
def _rs_sql_top_spender(r: Random) -> Scenario:
    country = r.choice(COUNTRIES)
    who, spent = r.choice(PEOPLE), round(r.uniform(500, 20000), 2)
    status = r.choice(("delivered", "shipped"))
    user = fmt(r, ("Who is our biggest customer in {c}, counting only {s} orders?",
                   "Which {c} user has spent the most on {s} orders?",
                   "Top spender from {c} ({s} orders only)?"), c=country, s=status)  # fmt: skip
    text = fmt(r, ("Spending is `orders.total`, linked to users through `orders.user_id`, so I'll join, filter on country "
                   "and status, and sum per user.",
                   "I need to join orders to users on user_id, keep {c} and {s}, group by user and take the largest sum."),
               c=country, s=status)  # fmt: skip
    sql = (f"SELECT u.name, SUM(o.total) AS spent FROM orders o JOIN users u ON o.user_id = u.id "
           f"WHERE u.country = '{country}' AND o.status = '{status}' GROUP BY u.id ORDER BY spent DESC LIMIT 1")  # fmt: skip
    return Scenario(user, [Step(call("sqlite", "read_query", query=sql), _rows([{"name": who, "spent": spent}]), text=text)],
                    f"{who}, with ${spent:,.2f} in {status} orders.", difficulty="hard")  # fmt: skip


@_intent("reasoning", "memory/add_observations")
def _rs_mem_observation(r: Random) -> Scenario:
    name, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    user = fmt(r, ("{n} told me: {o}. Remember it.", "Update what you know about {n}: {o}.", "FYI about {n}: {o}."),
               n=name, o=fact[0].lower() + fact[1:])  # fmt: skip
    text = r.choice((f"This is a new fact about an existing person, so it belongs as an observation on {name}, not a new entity.",
                     f"{name} is already an entity; adding the fact as an observation keeps the graph clean."))  # fmt: skip
    return Scenario(user, [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
                                _jdump([{"entityName": name, "addedObservations": [fact]}]), text=text)],
                    f"Noted for {name}.", difficulty="medium")  # fmt: skip


@_intent("reasoning", "memory/search_nodes")
def _rs_mem_search_first(r: Random) -> Scenario:
    q = r.choice(("payments", "PostgreSQL", "release manager", "Lisbon"))
    user = fmt(r, ("Who should I ask about {q}?", "Is there anyone I can talk to about {q}?",
                   "Which colleague is the contact for {q}?"), q=q)  # fmt: skip
    text = f"The knowledge graph may have someone linked to {q}; searching the nodes finds observations that mention it."
    g = _graph(r, r.sample(PEOPLE, 1))
    g["entities"][0]["observations"] = [
        next((o for o in OBSERVATIONS if q.lower() in o.lower()), f"Knows {q}")
    ]
    return Scenario(user, [Step(call("memory", "search_nodes", query=q), _jdump(g), text=text)],
                    f"Ask {g['entities'][0]['name']} ({g['entities'][0]['observations'][0][0].lower()}{g['entities'][0]['observations'][0][1:]}).", difficulty="medium")  # fmt: skip


@_intent("reasoning", "postgres/query")
def _rs_pg_readonly(r: Random) -> Scenario:
    table = r.choice(list(SQL_TABLES))
    n = r.randrange(10, 90000)
    user = fmt(r, ("How big is the {t} table in Postgres?", "Count the rows in {t} (postgres).",
                   "How many {t} rows do we have in the production database?"), t=table)  # fmt: skip
    text = "The postgres server runs queries in a read-only transaction, and a COUNT is a plain read, so one query answers it."
    return Scenario(user, [Step(call("postgres", "query", sql=f"SELECT COUNT(*) FROM {table}"), _jdump([{"count": str(n)}]), text=text)],
                    f"`{table}` has {n:,} rows.", difficulty="medium")  # fmt: skip


PLANS = [
    ("migrate the users table from integer ids to UUIDs without downtime",
     ["Add a nullable uuid column and backfill it in batches.", "Dual-write: new rows get both ids; update foreign keys to carry uuids.",
      "Switch reads to the uuid, then drop the integer id in a later release."]),
    ("split the monolith's billing module into its own service",
     ["Draw the boundary: list the tables and calls billing owns.", "Put an internal API in front of billing inside the monolith.",
      "Move the code and data behind that API to the new service, then route traffic to it."]),
    ("roll out a breaking API change to mobile clients",
     ["Version the endpoint so old clients keep working.", "Ship clients that use the new version and track adoption.",
      "Retire the old version once usage falls below an agreed threshold."]),
    ("find why p99 latency of the search API doubled last week",
     ["Line up the latency graph with deploys and config changes of that week.",
      "Compare slow and fast traces: which span grew?", "Reproduce with the same query mix, then bisect the suspect change."]),
    ("move CI from Jenkins to GitHub Actions",
     ["Inventory the Jenkins jobs, their triggers, secrets and agents.", "Port one pipeline end to end and run both in parallel.",
      "Migrate the rest in batches, then switch branch protection to the new checks."]),
    ("add multi-tenancy to a single-tenant SaaS database",
     ["Add a tenant_id column to every tenant-owned table.", "Enforce it: row-level security or a query layer that always filters.",
      "Backfill existing data into a default tenant and test isolation."]),
    ("reduce the Docker image size of the API service",
     ["Measure: list the largest layers with `docker history`.", "Switch to a slim base and a multi-stage build.",
      "Drop build tools and caches from the final stage, then re-measure."]),
]  # fmt: skip


@_intent("reasoning", "sequential_thinking/sequentialthinking")
def _rs_seq_plan(r: Random) -> Scenario:
    task, thoughts = r.choice(PLANS)
    user = fmt(r, ("Think this through step by step: how do we {t}?", "Plan how to {t}. Work through it carefully.",
                   "We need to {t}. Reason it out before answering."), t=task)  # fmt: skip
    n = len(thoughts)
    steps = [
        Step(call("sequential_thinking", "sequentialthinking", thought=th, thoughtNumber=i + 1, totalThoughts=n,
                  nextThoughtNeeded=i + 1 < n),
             _jdump({"thoughtNumber": i + 1, "totalThoughts": n, "nextThoughtNeeded": i + 1 < n, "branches": [],
                     "thoughtHistoryLength": i + 1}))
        for i, th in enumerate(thoughts)
    ]  # fmt: skip
    return Scenario(
        user, steps, "Plan:\n" + "\n".join(f"{i + 1}. {t}" for i, t in enumerate(thoughts)), difficulty="hard"
    )


@_intent("reasoning", "brave_search/brave_web_search")
def _rs_search_fresh(r: Random) -> Scenario:
    q, topic = r.choice((("latest stable Python release", "Python"), ("Node.js LTS version", "Node.js"),
                         ("PostgreSQL 18 release date", "PostgreSQL"), ("Kubernetes 1.34 deprecations", "Kubernetes"),
                         ("Rust 2024 edition changes", "Rust")))  # fmt: skip
    user = fmt(
        r, ("What's the {q}?", "Find out the {q} for me.", "Do you know the {q}? Check, don't guess."), q=q
    )
    text = f"This changes over time and my knowledge may be out of date, so I'll search the web for the {q}."
    results = "\n\n".join(
        f"Title: {topic} news {i}\nDescription: Notes about the {q}.\nURL: https://example.org/{topic.lower()}/{i}"
        for i in range(3)
    )
    return Scenario(user, [Step(call("brave_search", "brave_web_search", query=q, count=3), results, text=text)],
                    f"The top results for the {q}: " + ", ".join(f"https://example.org/{topic.lower()}/{i}" for i in range(3))
                    + ". They are news pages; the official release notes have the definitive answer.",
                    difficulty="medium")  # fmt: skip


# ==========================================================================================================
# Resource access (more): resources read with access_mcp_resource


MEMO_ITEMS = ("Electronics have the highest average order value.", "Most cancelled orders come from first-time buyers.",
              "Stock-outs cluster on Mondays.", "Refunds doubled after the March price change.",
              "Garden products sell best in April.", "Users from Japan convert twice as often as the average.")  # fmt: skip


def _memo(items: Sequence[str]) -> str:
    return "📊 Business Intelligence Memo 📊\n\nKey Insights Discovered:\n\n" + "\n".join(
        f"- {i}" for i in items
    )


MEMO_TOPICS = {  # word the user asks about -> the memo item that mentions it
    "electronics": MEMO_ITEMS[0], "cancellations": MEMO_ITEMS[1], "stock-outs": MEMO_ITEMS[2], "refunds": MEMO_ITEMS[3],
    "garden products": MEMO_ITEMS[4], "Japan": MEMO_ITEMS[5],
}  # fmt: skip


@_intent("resource_access", "sqlite/" + RESOURCE_TOOL)
def _res_memo_count(r: Random) -> Scenario:
    items = r.sample(MEMO_ITEMS, r.randrange(1, 5))
    who, when = (
        r.choice(PEOPLE),
        r.choice(("standup", "the quarterly review", "my 1:1", "the board meeting", "lunch")),
    )
    user = fmt(r, ("How many insights are in the memo so far?", "Count the entries of the insights memo.",
                   "Has anyone recorded insights yet? How many?", "Give me the number of insights in memo://insights.",
                   "Before {w}: how many business insights have we collected?",
                   "{p} asked how many insights the memo has. Can you check?",
                   "How long is the insights memo now, in entries?",
                   "Quick count of the recorded insights for {w}, please."), w=when, p=who)  # fmt: skip
    return Scenario(user, [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), _memo(items))],
                    f"The memo holds {len(items)} insight(s).")  # fmt: skip


@_intent("resource_access", "sqlite/" + RESOURCE_TOOL)
def _res_memo_question(r: Random) -> Scenario:
    topic = r.choice(list(MEMO_TOPICS))
    items = r.sample(MEMO_ITEMS, r.randrange(1, 4))
    hit = MEMO_TOPICS[topic]
    user = fmt(r, ("Does the insights memo say anything about {t}?", "Is there an insight on {t} in the memo?",
                   "What have we noted about {t} so far?", "Check memo://insights for anything on {t}.",
                   "Did anyone record a finding about {t}?", "Look in the business memo: any note on {t}?",
                   "Before I dig into {t}: what does the memo already say?"), t=topic)  # fmt: skip
    answer = (
        f'Yes: "{hit}"'
        if hit in items
        else f"No, the memo has nothing on {topic} yet ({len(items)} other insight(s))."
    )
    return Scenario(user, [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), _memo(items))], answer)


@_intent("resource_access", "sqlite/" + RESOURCE_TOOL, "sqlite/read_query")
def _res_memo_verify(r: Random) -> Scenario:
    items = r.sample(MEMO_ITEMS[:2], 1) + r.sample(MEMO_ITEMS[2:], 1)
    cat, avg = "electronics", round(r.uniform(150, 600), 2)
    user = fmt(r, ("Check the first insight in the memo against the data.", "Is the top insight in the memo still true?",
                   "Verify what the insights memo says first, with a query.",
                   "{p} doubts the first memo insight. Can you confirm it from the database?",
                   "Fact-check the first entry of memo://insights against the tables.",
                   "Does the data still back up the first insight we recorded?"), p=r.choice(PEOPLE))  # fmt: skip
    first = items[0]
    if first.startswith("Electronics"):
        sql = "SELECT p.category, AVG(o.total) AS avg_total FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id GROUP BY p.category ORDER BY avg_total DESC LIMIT 1"
        res, ans = (
            _rows([{"category": cat, "avg_total": avg}]),
            f"Still true: electronics lead with an average order of ${avg}.",
        )
    else:
        sql = "SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'"
        n = r.randrange(10, 400)
        res, ans = (
            _rows([{"n": n}]),
            f"There are {n} cancelled orders; checking who placed them would need a join on first orders.",
        )
    steps = [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), _memo(items)),
             Step(call("sqlite", "read_query", query=sql), res, text=f'The first insight is "{first}" Checking it.')]  # fmt: skip
    return Scenario(user, steps, ans, difficulty="hard")


CONSOLE_LINES = ("Uncaught TypeError: Cannot read properties of undefined (reading 'map')",
                 "Failed to load resource: the server responded with a status of 404 ()",
                 "Warning: Each child in a list should have a unique \"key\" prop.", "[HMR] connected",
                 "Uncaught ReferenceError: analytics is not defined", "Access to fetch at 'https://api.acme.test/cart' has been blocked by CORS policy",
                 "Failed to load resource: net::ERR_CONNECTION_REFUSED", "[vite] hot updated: /src/App.tsx")  # fmt: skip
UI_ACTIONS = ("clicking Checkout", "submitting the signup form", "opening the settings page", "pressing Save",
              "loading the dashboard", "switching to dark mode", "adding an item to the cart")  # fmt: skip


@_intent("resource_access", "puppeteer/" + RESOURCE_TOOL)
def _res_console(r: Random) -> Scenario:
    errs = r.sample(CONSOLE_LINES, r.randrange(1, 4))
    act, site = r.choice(UI_ACTIONS), r.choice(SITES)
    user = fmt(r, ("Any errors in the browser console?", "Show me the console logs of the page.",
                   "What did the page log to the console?", "Read console://logs.",
                   "Nothing happens after {a}. What does the console say?",
                   "{s} looks broken after {a}; check the browser console.",
                   "Did {a} log any errors?", "Grab the console output from {s}, please."), a=act, s=site)  # fmt: skip
    logs = "\n".join(
        f"[{'error' if 'Error' in e or 'Failed' in e or 'blocked' in e else 'log'}] {e}" for e in errs
    )
    return Scenario(user, [Step(call("puppeteer", RESOURCE_TOOL, uri="console://logs"), logs)],
                    "The console shows:\n" + "\n".join(f"- {e}" for e in errs))  # fmt: skip


@_intent("resource_access", "puppeteer/puppeteer_navigate", "puppeteer/" + RESOURCE_TOOL)
def _res_nav_console(r: Random) -> Scenario:
    errs = r.sample(
        [c for c in CONSOLE_LINES if "Error" in c or "Failed" in c or "blocked" in c], r.randrange(1, 3)
    )
    site = r.choice(SITES) + r.choice(
        ("", "/", "/login", "/checkout", "/settings", "/dashboard", "/cart", "/docs")
    )
    user = fmt(r, ("Open {s} and tell me whether it logs errors.", "Load {s}, then read the console logs.",
                   "Does {s} throw anything in the console on load?", "Check {s} for console errors.",
                   "Navigate to {s} and show me what it prints to the console.",
                   "Is {s} clean in the browser console?"), s=site)  # fmt: skip
    logs = "\n".join(f"[error] {e}" for e in errs)
    steps = [Step(call("puppeteer", "puppeteer_navigate", url=site), f"Navigated to {site}"),
             Step(call("puppeteer", RESOURCE_TOOL, uri="console://logs"), logs, text="Loaded. Now the console logs.")]  # fmt: skip
    return Scenario(user, steps, f"{site} logs {len(errs)} error(s): " + "; ".join(errs), difficulty="medium")


# ==========================================================================================================
# fetch, web search, browsers, Slack, PostgreSQL: single calls, chains, errors, clarifications


@_intent("single_call", "fetch/fetch")
def _fetch_page_intent(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    raw = r.random() < 0.15
    user = fmt(r, ("Fetch {u}.", "What's on {u}?", "Read {u} for me.", "Grab the page {u} and summarise it.") if not raw
               else ("Get the raw HTML of {u}.", "Fetch {u} as raw HTML, no Markdown conversion."), u=url)  # fmt: skip
    body = f"<html><body><h1>{topic}</h1><p>{gist}</p></body></html>" if raw else f"# {topic}\n\n{gist}"
    prefix = (
        "Content type text/html cannot be simplified to markdown, but here is the raw content:\n"
        if raw
        else ""
    )
    return Scenario(user, [Step(call("fetch", "fetch", url=url, raw=True if raw else None), f"{prefix}Contents of {url}:\n{body}")],
                    gist if not raw else f"Here is the raw HTML of {url}; the page is about {topic}.")  # fmt: skip


@_intent("error_handling", "fetch/fetch")
def _fetch_404(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    bad = url.rstrip("/") + r.choice(("/v2", "/latest", "/old"))
    user = fmt(
        r,
        ("Read {b}; if that page is gone, use {u}.", "Fetch {b} (fallback: {u}).", "Try {b}, otherwise {u}."),
        b=bad,
        u=url,
    )
    steps = [
        Step(call("fetch", "fetch", url=bad), f"Failed to fetch {bad} - status code 404", is_error=True),
        Step(call("fetch", "fetch", url=url), f"Contents of {url}:\n# {topic}\n\n{gist}", text="That page is gone (404). Using the fallback."),
    ]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="medium")


@_intent("clarification", "fetch/fetch")
def _clar_fetch(r: Random) -> Clarification:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    user = r.choice(
        ("Read the docs page for me.", "Can you fetch that article?", "Summarise the page we talked about.")
    )
    question = r.choice(
        (
            "Which URL should I fetch?",
            "Sure. What's the link?",
            "Which page do you mean? Please paste the URL.",
        )
    )
    then = Scenario(
        "", [Step(call("fetch", "fetch", url=url), f"Contents of {url}:\n# {topic}\n\n{gist}")], gist
    )
    return Clarification(user, question, fmt(r, ("{u}", "This one: {u}", "{u} please"), u=url), then)


@_intent("single_call", "brave_search/brave_web_search")
def _brave_web(r: Random) -> Scenario:
    q, what = r.choice(SEARCH_QUERIES)
    count = r.choice((None, None, 5, 10))
    user = fmt(
        r,
        ("Search the web for {w}.", "Look up {w} online.", "Find me some {w}.", "web search: {q}"),
        w=what,
        q=q,
    )
    results = "\n\n".join(
        f"Title: {what} #{i + 1}\nDescription: A page about {what}.\nURL: https://example.org/{i}"
        for i in range(3)
    )
    return Scenario(user, [Step(call("brave_search", "brave_web_search", query=q, count=count), results)],
                    f"Top results for {what}: https://example.org/0, https://example.org/1 and https://example.org/2.")  # fmt: skip


@_intent("single_call", "brave_search/brave_local_search")
def _brave_local(r: Random) -> Scenario:
    city, _ = r.choice(CITIES)
    what = r.choice(("coffee shops", "coworking spaces", "bike repair", "pharmacies", "ramen restaurants"))
    q = f"{what} near {city}"
    user = fmt(
        r, ("Find {w} near {c}.", "Any good {w} in {c}?", "Where can I find {w} around {c}?"), w=what, c=city
    )
    res = "\n---\n".join(
        f"Name: {what.title()} {i + 1}\nAddress: {10 + i} Main Street, {city}\nRating: {4 + i / 10:.1f}"
        for i in range(2)
    )
    return Scenario(user, [Step(call("brave_search", "brave_local_search", query=q), res)],
                    f"Two options in {city}: {what.title()} 1 (10 Main Street) and {what.title()} 2 (11 Main Street).")  # fmt: skip


@_intent("multi_step", "brave_search/brave_web_search", "fetch/fetch")
def _search_then_fetch(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    user = fmt(r, ("Find the official docs on {t} and tell me about {n}.", "Search for {t} documentation, open it, and explain {n}."),
               t=topic, n=needle)  # fmt: skip
    results = f"Title: {topic} — official docs\nDescription: Reference for {topic}.\nURL: {url}\n\nTitle: A blog on {topic}\nDescription: Opinions.\nURL: https://blog.example.org/{needle.lower()}"
    steps = [Step(call("brave_search", "brave_web_search", query=f"{topic} documentation"), results),
             Step(call("fetch", "fetch", url=url), f"Contents of {url}:\n# {topic}\n\n{gist}", text=f"The official page is {url}.")]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="medium")


@_intent("single_call", "slack/slack_post_message")
def _slack_post(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    user = fmt(r, ("Post \"{t}\" to #{c} (channel id {i}).", "Send a message to {i}: {t}", "Tell channel {i} (#{c}): \"{t}\""),
               t=text, c=cname, i=cid)  # fmt: skip
    return Scenario(user, [Step(call("slack", "slack_post_message", channel_id=cid, text=text),
                                _jdump({"ok": True, "channel": cid, "ts": _ts(r), "message": {"text": text}}))],
                    f"Posted to #{cname}.")  # fmt: skip


@_intent("single_call", "slack/slack_list_channels")
def _slack_channels(r: Random) -> Scenario:
    limit = r.choice((None, 20, 100))
    chans = r.sample(SLACK_CHANNELS, 4)
    user = r.choice(
        (
            "Which Slack channels do we have?",
            "List the public channels in Slack.",
            "Show me our Slack channels.",
        )
    )
    res = _jdump({"ok": True, "channels": [{"id": i, "name": n, "is_channel": True} for i, n in chans]})
    return Scenario(user, [Step(call("slack", "slack_list_channels", limit=limit), res)],
                    "Channels: " + ", ".join(f"#{n}" for _, n in chans) + ".")  # fmt: skip


@_intent("single_call", "slack/slack_get_user_profile")
def _slack_profile(r: Random) -> Scenario:
    uid, handle = r.choice(SLACK_USERS)
    user = fmt(
        r, ("Who is {u} on Slack?", "Show the Slack profile of user {u}.", "Look up Slack user {u}."), u=uid
    )
    res = _jdump(
        {"ok": True, "profile": {"real_name": handle.title(), "display_name": handle, "title": "Engineer"}}
    )
    return Scenario(
        user,
        [Step(call("slack", "slack_get_user_profile", user_id=uid), res)],
        f"{uid} is {handle.title()} (@{handle}), an engineer.",
    )


@_intent("multi_step", "slack/slack_list_channels", "slack/slack_post_message")
def _slack_find_post(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    others = [c for c in r.sample(SLACK_CHANNELS, 4) if c[0] != cid][:3]
    chans = others + [(cid, cname)]
    r.shuffle(chans)
    user = fmt(
        r, ('Post "{t}" in #{c}.', "Let #{c} know: {t}", 'Send "{t}" to the {c} channel.'), t=text, c=cname
    )
    steps = [Step(call("slack", "slack_list_channels"), _jdump({"ok": True, "channels": [{"id": i, "name": n} for i, n in chans]})),
             Step(call("slack", "slack_post_message", channel_id=cid, text=text), _jdump({"ok": True, "channel": cid, "ts": _ts(r)}),
                  text=f"#{cname} is {cid}.")]  # fmt: skip
    return Scenario(user, steps, f"Posted to #{cname}.", difficulty="medium")


@_intent("error_handling", "slack/slack_post_message", "slack/slack_list_channels")
def _slack_bad_channel(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    user = fmt(r, ('Post "{t}" to {c}.', "Send {t} to channel {c}."), t=text, c=cname)
    steps = [Step(call("slack", "slack_post_message", channel_id=cname, text=text), _jdump({"ok": False, "error": "channel_not_found"}),
                  is_error=True, mistake=True),
             Step(call("slack", "slack_list_channels"), _jdump({"ok": True, "channels": [{"id": i, "name": n} for i, n in SLACK_CHANNELS]}),
                  text="Slack wants the channel id, not its name. Looking it up."),
             Step(call("slack", "slack_post_message", channel_id=cid, text=text), _jdump({"ok": True, "channel": cid, "ts": _ts(r)}))]  # fmt: skip
    return Scenario(user, steps, f"Posted to #{cname} ({cid}).", difficulty="hard")


@_intent("clarification", "slack/slack_post_message")
def _clar_slack(r: Random) -> Clarification:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    user = fmt(r, ("Let the team know: {t}", 'Post this on Slack: "{t}"', 'Announce "{t}".'), t=text)
    question = r.choice(("Which channel should I post it in?", "Sure. Which Slack channel (id)?"))
    then = Scenario("", [Step(call("slack", "slack_post_message", channel_id=cid, text=text), _jdump({"ok": True, "channel": cid, "ts": _ts(r)}))],
                    f"Posted to #{cname}.")  # fmt: skip
    return Clarification(user, question, fmt(r, ("#{c}, id {i}", "{i} (#{c})"), c=cname, i=cid), then)


@_intent("single_call", "postgres/query")
def _pg_query(r: Random) -> Scenario:
    user, sql, res, answer = _sql_read(r)
    return Scenario(user, [Step(call("postgres", "query", sql=sql), _jdump(ast.literal_eval(res)))], answer)


@_intent("error_handling", "postgres/query")
def _pg_readonly_error(r: Random) -> Scenario:
    table, col = r.choice((("orders", "status"), ("users", "email"), ("products", "stock")))
    user = fmt(
        r, ("Set every {t} {c} to NULL in Postgres.", "Update {t}: clear the {c} column."), t=table, c=col
    )
    steps = [Step(call("postgres", "query", sql=f"UPDATE {table} SET {col} = NULL"),
                  "cannot execute UPDATE in a read-only transaction", is_error=True),
             Step(call("postgres", "query", sql=f"SELECT COUNT(*) FROM {table} WHERE {col} IS NOT NULL"), _jdump([{"count": str(r.randrange(1, 9000))}]),
                  text="This server only allows read-only queries. I'll at least show how many rows would be affected.")]  # fmt: skip
    return Scenario(user, steps, "I can't write through this server (read-only); the count above is what the update would touch.",
                    difficulty="hard")  # fmt: skip


@_intent("single_call", "puppeteer/puppeteer_navigate")
def _pp_nav(r: Random) -> Scenario:
    url = r.choice(SITES)
    user = fmt(r, ("Open {u} in the browser.", "Navigate the browser to {u}.", "Load {u}."), u=url)
    return Scenario(
        user,
        [Step(call("puppeteer", "puppeteer_navigate", url=url), f"Navigated to {url}")],
        f"The browser is on {url}.",
    )


@_intent("single_call", "puppeteer/puppeteer_screenshot")
def _pp_shot(r: Random) -> Scenario:
    name = r.choice(("homepage", "checkout", "login-form", "dashboard"))
    sel = r.choice((None, "#main", ".hero", "form"))
    user = fmt(r, ("Take a screenshot called {n}.", "Screenshot the page as {n}.") if sel is None else
               ("Screenshot just {s} and name it {n}.", "Capture the {s} element as {n}."), n=name, s=sel)  # fmt: skip
    return Scenario(user, [Step(call("puppeteer", "puppeteer_screenshot", name=name, selector=sel), f"Screenshot '{name}' taken at 800x600")],
                    f"Saved screenshot `{name}`.")  # fmt: skip


@_intent(
    "multi_step", "puppeteer/puppeteer_evaluate", "puppeteer/puppeteer_fill", "puppeteer/puppeteer_click"
)
def _pp_login(r: Random) -> Scenario:
    email = _email(r.choice(PEOPLE))
    field = r.choice(("#email", "#login-email", "#user_email", "input[name=email]"))
    user = fmt(r, ("Log in as {e}: find the email field, fill it and submit the form.",
                   "Put {e} into the login form's email input and submit.",
                   "Sign in with {e} on the open page (email field, then submit)."), e=email)  # fmt: skip
    script = "Array.from(document.querySelectorAll('form input')).map(i => i.id ? '#' + i.id : `input[name=${i.name}]`)"
    steps = [
        Step(call("puppeteer", "puppeteer_evaluate", script=script),
             f"Execution result:\n{json.dumps([field, '#password'])}\n\nConsole output:\n", text="Let me find the form fields."),
        Step(call("puppeteer", "puppeteer_fill", selector=field, value=email), f"Filled {field} with: {email}",
             text=f"The email field is `{field}`."),
        Step(call("puppeteer", "puppeteer_click", selector="button[type=submit]"), "Clicked: button[type=submit]"),
    ]  # fmt: skip
    return Scenario(user, steps, "Filled in the email and submitted the form.", difficulty="medium")


@_intent("single_call", "puppeteer/puppeteer_evaluate")
def _pp_eval(r: Random) -> Scenario:
    script, what, value = r.choice((("document.title", "page title", '"Acme — Home"'), ("document.querySelectorAll('a').length", "number of links", "42"),
                                    ("window.location.href", "current URL", '"https://acme.test/"')))  # fmt: skip
    user = fmt(
        r,
        ("What's the {w} of the open page?", "Run `{s}` in the page.", "Evaluate {s} in the browser."),
        w=what,
        s=script,
    )
    return Scenario(user, [Step(call("puppeteer", "puppeteer_evaluate", script=script), f"Execution result:\n{value}\n\nConsole output:\n")],
                    f"The {what} is {value}.")  # fmt: skip


@_intent("single_call", "playwright/browser_navigate")
def _pw_nav(r: Random) -> Scenario:
    url = r.choice(SITES)
    user = fmt(
        r, ("Open {u}.", "Go to {u} in the browser.", "Navigate to {u} and tell me what's there."), u=url
    )
    snap, _ = _pw_snapshot(r, url, "Docs")
    return Scenario(
        user,
        [Step(call("playwright", "browser_navigate", url=url), snap)],
        f"{url} is open: a page titled Acme with a navigation bar.",
    )


@_intent("single_call", "playwright/browser_take_screenshot")
def _pw_shot(r: Random) -> Scenario:
    full = r.random() < 0.5
    fname = r.choice(("page.png", "before.png", "after-fix.png"))
    user = fmt(r, ("Take a full-page screenshot into {f}.", "Full-page screenshot, save as {f}.") if full
               else ("Screenshot the viewport to {f}.", "Save a screenshot as {f}."), f=fname)  # fmt: skip
    return Scenario(user, [Step(call("playwright", "browser_take_screenshot", scale="css", filename=fname, fullPage=True if full else None),
                                f"Took the {'full page' if full else 'viewport'} screenshot and saved it as {fname}")],
                    f"Saved `{fname}`.")  # fmt: skip


@_intent("single_call", "playwright/browser_tabs")
def _pw_tabs(r: Random) -> Scenario:
    user = r.choice(("Which tabs are open?", "List the browser tabs.", "Show me the open tabs."))
    tabs = "\n".join(f"- {i}: [{u}] ({u})" for i, u in enumerate(r.sample(SITES, 2)))
    return Scenario(
        user,
        [Step(call("playwright", "browser_tabs", action="list"), "### Open tabs\n" + tabs)],
        "Two tabs are open:\n" + tabs,
    )


@_intent("error_handling", "playwright/browser_click", "playwright/browser_snapshot")
def _pw_stale_ref(r: Random) -> Scenario:
    url, label = r.choice(SITES), r.choice(("Pricing", "Sign in", "Docs"))
    snap, ref = _pw_snapshot(r, url, label)
    stale = f"e{r.randrange(100, 200)}"
    user = fmt(
        r,
        ("Click {l} (it was {s} earlier).", "Press the {l} link; last time its ref was {s}."),
        l=label,
        s=stale,
    )
    steps = [Step(call("playwright", "browser_click", target=stale, element=f"{label} link"),
                  f"Error: Ref {stale} not found in the current page snapshot. Try capturing new snapshot.", is_error=True),
             Step(call("playwright", "browser_snapshot"), snap, text="That ref is stale. Taking a fresh snapshot."),
             Step(call("playwright", "browser_click", target=ref, element=f"{label} link"), f"- Page URL: {url}/{label.lower()}",
                  text=f"\"{label}\" is now {ref}.")]  # fmt: skip
    return Scenario(user, steps, f'Clicked "{label}".', difficulty="hard")


@_intent("single_call", "sequential_thinking/sequentialthinking")
def _seq_one(r: Random) -> Scenario:
    task, thoughts = r.choice(PLANS)
    user = fmt(r, ("Record a first thought on how to {t}; I expect about {n} steps.",
                   "Start a sequential-thinking session ({n} thoughts) on how to {t}.",
                   "Begin thinking about how to {t}. Plan for {n} thoughts; give me the first.",
                   "Kick off step-by-step thinking ({n} steps) on this: how do we {t}?"), t=task, n=len(thoughts))  # fmt: skip
    res = _jdump(
        {
            "thoughtNumber": 1,
            "totalThoughts": len(thoughts),
            "nextThoughtNeeded": True,
            "branches": [],
            "thoughtHistoryLength": 1,
        }
    )
    return Scenario(user, [Step(call("sequential_thinking", "sequentialthinking", thought=thoughts[0], thoughtNumber=1,
                                     totalThoughts=len(thoughts), nextThoughtNeeded=True), res)],
                    f"First thought recorded: {thoughts[0]}")  # fmt: skip


# ==========================================================================================================
# No tool needed: answered in text (questions near a connected server's topic tempt a needless call)

NO_TOOL_QA: dict[str | None, list[tuple[str, str]]] = {
    "git": [
        ("What's the difference between git merge and git rebase?",
         "`git merge` joins two histories with a merge commit and keeps the original commits as they were. `git rebase` replays your commits on top of another base, which gives a linear history but rewrites commit hashes, so avoid rebasing commits others have already pulled."),
        ("How do I undo my last commit but keep the changes?",
         "Run `git reset --soft HEAD~1`. The commit is removed and its changes stay staged; use `--mixed` instead to keep them unstaged."),
        ("What does git stash do?",
         "`git stash` saves your uncommitted changes on a stack and cleans the working tree, so you can switch tasks. `git stash pop` brings the changes back."),
        ("What is a detached HEAD in git?",
         "It means HEAD points directly at a commit instead of a branch. You can look around and commit, but new commits belong to no branch until you create one with `git switch -c <name>`."),
        ("When is a merge a fast-forward?",
         "When the target branch has no commits of its own since the branches diverged, git just moves its pointer forward to the other branch's tip; no merge commit is needed."),
    ],
    "time": [
        ("What's the difference between UTC and GMT?",
         "For everyday purposes they show the same time. GMT is a time zone (used by the UK in winter); UTC is the atomic-clock-based standard that time zones are defined against."),
        ("What is an IANA timezone name?",
         "An identifier from the IANA tz database in Area/Location form, such as `Europe/Berlin` or `America/New_York`. Unlike abbreviations like PST, it is unambiguous and includes the daylight-saving history."),
        ("Why are timezone abbreviations like CST ambiguous?",
         "The same abbreviation is used by different zones: CST can mean US Central Standard Time, China Standard Time or Cuba Standard Time. IANA names avoid that."),
        ("Does India observe daylight saving time?",
         "No. India uses Indian Standard Time, UTC+05:30, all year (`Asia/Kolkata`)."),
        ("What is a UTC offset?",
         "The difference between a local time and UTC, written like `+02:00` or `-05:00`. A zone's offset can change during the year with daylight saving time."),
        ("Why do some time zones have 30-minute offsets?",
         "Historical and political choices: a country picks an offset that fits its solar noon or its neighbours. India (+05:30), Iran (+03:30) and parts of Australia (+09:30) are examples."),
        ("What is ISO 8601?",
         "The international standard for writing dates and times, e.g. `2025-03-14T09:30:00+01:00`: year-month-day, a `T`, the time and the UTC offset."),
        ("When does daylight saving time start in Europe?",
         "On the last Sunday of March, at 01:00 UTC; it ends on the last Sunday of October. Clocks in most of Europe change at the same instant."),
        ("What is a Unix timestamp?",
         "The number of seconds since 1970-01-01 00:00:00 UTC, ignoring leap seconds. It is the same everywhere, whatever the time zone."),
    ],
    "sqlite": [
        ("What does SELECT DISTINCT do?",
         "It removes duplicate rows from the result, so each combination of the selected columns appears only once."),
        ("What's the difference between INNER JOIN and LEFT JOIN?",
         "INNER JOIN returns only rows that match in both tables. LEFT JOIN returns every row of the left table, with NULLs where the right table has no match."),
        ("When should I add an index to a column?",
         "When you often filter, join or sort on it and the table is large. Indexes speed up reads but cost space and slow down writes a little."),
        ("How do I count rows per group in SQL?",
         "Use GROUP BY with an aggregate, for example `SELECT status, COUNT(*) FROM orders GROUP BY status;`."),
        ("What's the difference between WHERE and HAVING?",
         "WHERE filters rows before grouping; HAVING filters groups after GROUP BY, so it can use aggregates like `HAVING COUNT(*) > 5`."),
        ("What is a foreign key?",
         "A column whose values must match the primary key of another table, e.g. `orders.user_id` pointing at `users.id`. It keeps references between tables valid."),
        ("What does NULL mean in SQL?",
         "An unknown or missing value. It is not equal to anything, not even NULL: test it with `IS NULL`, not `= NULL`."),
        ("What is a transaction?",
         "A group of statements that succeed or fail together: `BEGIN`, your changes, then `COMMIT`, or `ROLLBACK` to undo them all."),
        ("Is SQLite good for production?",
         "For embedded apps, local tools and low to moderate write loads, yes. It allows one writer at a time, so busy multi-user write workloads fit a server database better."),
    ],
    "filesystem": [
        ("What's the difference between an absolute and a relative path?",
         "An absolute path starts at the filesystem root (like `/home/dev/app/main.py`); a relative path is resolved from the current working directory (like `app/main.py`)."),
        ("What does chmod 644 mean?",
         "The owner can read and write (6), the group and everyone else can only read (4 and 4)."),
        ("What does the glob pattern **/*.py match?",
         "Every file ending in `.py` in the current directory and all its subdirectories; `**` matches any number of directory levels."),
    ],
    "github": [
        ("What's the difference between a fork and a branch?",
         "A branch is a line of development inside one repository. A fork is your own copy of the whole repository, usually used to propose changes to a project you can't push to."),
        ("What makes a good bug report?",
         "A clear title, steps to reproduce, expected versus actual behaviour, versions and environment, and logs or screenshots. A minimal reproduction helps most."),
        ("What is a draft pull request?",
         "A pull request marked as work in progress: reviewers can see and comment on it, but it can't be merged until you mark it ready for review."),
    ],
    "memory": [
        ("What's a knowledge graph?",
         "A set of entities (people, projects, things) connected by typed relations, with facts attached to each entity. It lets an assistant store and retrieve structured memories."),
        ("In your memory, what's the difference between an entity and an observation?",
         "An entity is a node, such as a person or a project, with a name and a type. Observations are short facts attached to an entity, like \"works from Lisbon\"."),
        ("What's the difference between a relation and an observation?",
         "A relation links two entities, like `Ada works_at Acme`; an observation is a fact about one entity, like \"prefers email\"."),
        ("Why write relations in the active voice?",
         "So that each reads as a sentence from one entity to another (`Ada maintains billing`), which keeps their direction unambiguous."),
        ("How is a knowledge graph different from a relational database?",
         "A graph stores entities and the links between them directly and is easy to extend; a relational database stores rows in tables with a fixed schema and joins them by keys."),
        ("What kind of things are worth remembering about a colleague?",
         "Stable, useful facts: their role, team, projects they own, how they like to be contacted, and time zone. Skip anything private or short-lived."),
    ],
    "fetch": [
        ("What's the difference between Markdown and HTML?",
         "HTML is the markup browsers render, with tags like `<p>` and `<a>`. Markdown is a lightweight plain-text syntax (`#` headings, `*` emphasis) that is usually converted to HTML."),
        ("What does HTTP status 404 mean?", "Not Found: the server is reachable but has nothing at that URL."),
        ("What is robots.txt for?",
         "It tells crawlers which paths of a site they may fetch. Well-behaved bots respect it; it is not access control."),
    ],
    "brave_search": [
        ("How do I search for an exact phrase?", "Put it in double quotes, e.g. `\"connection reset by peer\"`; most search engines then match the words in that order."),
        ("What does site: do in a search query?", "`site:example.com` limits results to that domain, e.g. `site:docs.python.org asyncio`."),
    ],
    "slack": [
        ("What's the difference between a Slack channel and a thread?",
         "A channel is a shared conversation space; a thread is a side conversation attached to one message, which keeps the channel readable."),
        ("How do I mention everyone in a Slack channel?", "Use `@channel` for all members or `@here` for those currently active; use them sparingly."),
    ],
    "postgres": [
        ("What's the difference between VACUUM and VACUUM FULL?",
         "VACUUM marks dead rows as reusable without locking the table for writes; VACUUM FULL rewrites the table to return space to the OS and takes an exclusive lock."),
        ("What is a CTE in SQL?", "A common table expression, `WITH name AS (SELECT ...)`, is a named subquery you can reference in the main query; it makes long queries readable."),
        ("What does EXPLAIN ANALYZE do?", "It runs the query and shows the plan the planner chose with actual row counts and timings, so you can see where time goes."),
    ],
    "playwright": [
        ("What's the difference between Playwright and Selenium?",
         "Both automate browsers. Playwright drives Chromium, Firefox and WebKit through one API with auto-waiting and isolated contexts; Selenium uses the WebDriver protocol and supports more languages and legacy setups."),
        ("What is a headless browser?", "A browser running without a visible window, used for automation, testing and scraping."),
    ],
    "puppeteer": [
        ("What is a CSS selector?", "A pattern that picks elements of a page, such as `#id`, `.class`, `button[type=submit]` or `nav > a`."),
        ("Why do browser tests become flaky?", "Mostly timing: acting before an element is ready, animations, network variance and shared state between tests. Wait for conditions, not fixed sleeps."),
    ],
    "sequential_thinking": [
        ("Why break a hard problem into steps?", "Smaller steps are easier to check; mistakes surface early and you can revise a step without redoing everything."),
    ],
    "context7": [
        ("What's semantic versioning?", "MAJOR.MINOR.PATCH: bump MAJOR for breaking changes, MINOR for new backward-compatible features, PATCH for fixes."),
        ("Why read the docs for the exact library version?", "APIs change between versions; examples for another version may use functions that were renamed, deprecated or not yet added."),
    ],
    None: [
        ("Write a Python function that reverses a string.",
         "```python\ndef reverse(s: str) -> str:\n    return s[::-1]\n```"),
        ("What's the time complexity of binary search?",
         "O(log n): each step halves the remaining search range. It needs sorted input."),
        ("Explain what a REST API is in two sentences.",
         "A REST API exposes resources at URLs and lets clients act on them with standard HTTP methods like GET, POST, PUT and DELETE. It is stateless: each request carries everything the server needs."),
        ("What's the difference between a list and a tuple in Python?",
         "Lists are mutable and tuples are immutable. Tuples can be dictionary keys and signal a fixed structure; lists suit collections that change."),
        ("Thanks, that's all for now!", "You're welcome! Let me know if you need anything else."),
        ("What is the Model Context Protocol?",
         "MCP is an open protocol that lets AI applications connect to external tools and data through servers. A server exposes tools, resources and prompts, and a client such as an IDE assistant calls them over JSON-RPC."),
        ("What's a race condition?",
         "A bug where the result depends on the timing of concurrent operations, for example two threads updating the same counter without a lock."),
        ("How do I reverse an array in JavaScript?",
         "Use `arr.reverse()` to reverse in place, or `[...arr].reverse()` (or `arr.toReversed()` in modern runtimes) to get a reversed copy."),
        ("What's the difference between a process and a thread?",
         "A process has its own memory space; threads run inside a process and share its memory, which makes them cheaper to create but requires synchronisation."),
        ("What does idempotent mean for an HTTP method?",
         "Sending the same request several times has the same effect as sending it once. GET, PUT and DELETE are idempotent; POST is not."),
        ("When should I use a set instead of a list in Python?",
         "When you need fast membership tests or uniqueness and don't care about order or duplicates: `x in some_set` is O(1) on average."),
        ("What is dependency injection?",
         "Passing an object's collaborators in from outside (constructor or parameters) instead of creating them inside, so they can be swapped, e.g. for tests."),
        ("What's the difference between unit and integration tests?",
         "Unit tests check one small piece in isolation, usually with fakes; integration tests check that real components work together."),
        ("Explain Big-O notation in one paragraph.",
         "Big-O describes how an algorithm's cost grows with input size, ignoring constants: O(n) grows linearly, O(n log n) a bit faster, O(n²) quadratically."),
        ("What is a memory leak in a garbage-collected language?",
         "Memory the program no longer needs but still references (a growing cache, listeners never removed), so the collector can't free it."),
        ("What does `async`/`await` do in Python?",
         "`async def` defines a coroutine; `await` suspends it until the awaited operation finishes, letting the event loop run other tasks meanwhile."),
    ],
}  # fmt: skip
NO_TOOL_PREFIXES = ("", "", "", "Quick question: ", "Hey! ", "Not urgent, but ", "Before we continue: ",
                    "I'm curious: ", "Random thought: ", "For my notes: ")  # fmt: skip
NO_TOOL_SUFFIXES = ("", "", "", " Briefly, please.", " No need to look anything up.", " Just explain it.",
                    " A short answer is fine.", " (conceptually)")  # fmt: skip


def _no_tool(topic: str | None) -> Callable[[Random], Scenario]:
    def build(r: Random) -> Scenario:
        q, a = r.choice(NO_TOOL_QA[topic])
        prefix, suffix = r.choice(NO_TOOL_PREFIXES), r.choice(NO_TOOL_SUFFIXES)
        if not q.startswith("Thanks"):
            q = (prefix + q[0].lower() + q[1:] if prefix else q) + suffix
        return Scenario(q, [], a)

    build.__name__ = f"no_tool_{topic or 'general'}"
    return build


for _topic in NO_TOOL_QA:
    _intent("no_tool", topic=_topic)(_no_tool(_topic))


# ==========================================================================================================
# Assembly


def _shares(n: int, w: list[float], r: Random) -> list[int]:
    """Split n into integer shares proportional to w (largest remainder; ties broken at random, seeded)."""
    total = sum(w)
    exact = [n * x / total for x in w]
    out = [int(x) for x in exact]
    rest = n - sum(out)
    tie = [r.random() for _ in w]
    for k in sorted(range(len(w)), key=lambda k: (-(exact[k] - out[k]), tie[k]))[:rest]:
        out[k] += 1
    return out


def supported_categories() -> list[str]:
    """Categories the generator can produce (in CATEGORIES order)."""
    have = {i.category for i in INTENTS}
    return [c for c in CATEGORIES if c in have]


def _applicable(intent: Intent, by_name: dict[str, Server], max_servers: int) -> bool:
    if len(intent.servers) > max_servers:
        return False
    if intent.topic is not None and intent.topic not in by_name:
        return False
    for t in intent.tools:
        server, tool = t.split("/", 1)
        srv = by_name.get(server)
        if srv is None or (srv.tool(tool) is None if tool != RESOURCE_TOOL else not srv.resources):
            return False
    return True


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def example_id(ex: Example) -> str:
    """Stable content hash: servers' names + messages (+ a duplicate counter), first 12 hex of sha1."""
    payload = {
        "servers": [s.name for s in ex.servers],
        "messages": [m.model_dump(mode="json", exclude_defaults=True) for m in ex.messages],
    }
    if "dup" in ex.meta:
        payload["dup"] = ex.meta["dup"]
    return hashlib.sha1(_canonical(payload).encode()).hexdigest()[:12]


def _scenario_messages(s: Scenario) -> tuple[list[Message], list[int]]:
    return _append_steps([Message(role="user", content=s.user)], s)


def _append_steps(msgs: list[Message], s: Scenario) -> tuple[list[Message], list[int]]:
    context: list[int] = []
    for st in s.steps:
        if st.mistake:
            context.append(len(msgs))
        msgs.append(Message(role="assistant", content=st.text, calls=[st.call]))
        msgs.append(Message(role="tool", content=st.result, is_error=st.is_error, call=st.call))
    msgs.append(Message(role="assistant", content=s.answer))
    return msgs, context


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    cls = validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def call_errors(server: Server | None, c: ToolCall) -> list[str]:
    """Why a call is invalid for a connected server (unknown server/tool/resource, schema violations)."""
    if server is None:
        return [f"unknown server {c.server!r}"]
    if c.tool == RESOURCE_TOOL:
        uri = c.arguments.get("uri")
        if set(c.arguments) != {"uri"} or not isinstance(uri, str):
            return [f"{c.server}/{RESOURCE_TOOL}: arguments must be exactly {{'uri': <string>}}"]
        if uri not in {res.uri for res in server.resources}:
            return [f"unknown resource {uri!r} on server {c.server!r}"]
        return []
    tool = server.tool(c.tool)
    if tool is None:
        return [f"unknown tool {c.server}/{c.tool}"]
    from jsonschema.exceptions import SchemaError

    try:
        v = _validator(_canonical(tool.inputSchema))
    except SchemaError as e:
        return [f"invalid inputSchema for {c.server}/{c.tool}: {e.message}"]
    errs = sorted(v.iter_errors(c.arguments), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [
        f"arguments of {c.server}/{c.tool} invalid: {e.message}"
        + (f" at {'/'.join(map(str, e.absolute_path))}" if e.absolute_path else "")
        for e in errs[:3]
    ]


def _group(intent: Intent) -> str:
    """The server(s) an intent is about: the unit that `balance` equalises inside a category."""
    return "+".join(intent.servers) or (intent.topic or "(general)")


def _picker(pool: list[Intent], balance: float, weights: dict[str, float]) -> Callable[[Random], Intent]:
    """Choose an intent: a server group with weight n_intents**(1 - balance) x its servers' weights, then an intent.

    balance=0 picks intents uniformly (servers with many intents dominate); balance=1 gives every server group of
    the category the same share, which up-weights servers with few intents. `weights` multiplies a server's share.
    """
    groups: dict[str, list[Intent]] = {}
    for i in pool:
        groups.setdefault(_group(i), []).append(i)
    keys = list(groups)
    w = []
    for k in keys:
        x = len(groups[k]) ** (1.0 - balance)
        for srv in k.split("+"):
            x *= weights.get(srv, 1.0)
        w.append(x)
    if len(keys) == 1:
        only = groups[keys[0]]
        return lambda r: r.choice(only)
    return lambda r: r.choice(groups[r.choices(keys, weights=w)[0]])


def _build(r: Random, category: str, pick: Callable[[Random], Intent], servers: list[Server],
           by_name: dict[str, Server], max_servers: int) -> Example:  # fmt: skip
    intent = pick(r)
    obj = intent.build(r)
    meta: dict[str, Any] = {"intent": intent.name}
    if isinstance(obj, Clarification):
        msgs = [Message(role="user", content=obj.user), Message(role="assistant", content=obj.question)]
        context: list[int] = []
        if r.random() < 0.5:
            msgs.append(Message(role="user", content=obj.reply))
            msgs, context = _append_steps(msgs, obj.then)
        difficulty = "medium"
    else:
        msgs, context = _scenario_messages(obj)
        difficulty = obj.difficulty
    if context:
        meta["context_turns"] = context
    needed = list(intent.servers) or ([intent.topic] if intent.topic else [])
    room = max_servers - len(needed)
    if needed:
        n_extra = room
    else:  # nothing needed: 1..max servers connected, all of them "distractors"
        n_extra = r.randint(1, max_servers)
    others = [s.name for s in servers if s.name not in needed]
    names = needed + r.sample(others, min(max(n_extra, 0), len(others)))
    r.shuffle(names)
    ex = Example(id="", servers=[by_name[n] for n in names], messages=msgs, category=category,
                 difficulty=difficulty, meta=meta)  # fmt: skip
    for m in msgs:
        for c in m.calls:
            errs = call_errors(by_name.get(c.server), c)
            if errs:
                raise RuntimeError(f"generator bug in intent {intent.name!r}: {errs}")
    ex.id = example_id(ex)
    return ex


def generate(n: int, seed: int, servers: list[Server], categories: list[str] | None = None,
             max_servers_per_example: int = 2, balance: float = 1.0, weights: dict[str, float] | None = None,
             fits: Callable[[Example], bool] | None = None) -> list[Example]:  # fmt: skip
    """`n` examples, deterministic in all arguments, ids unique.

    Categories get equal shares (±1) times `weights[category]`; inside a category, `balance` (0..1) moves from
    uniform over intents to uniform over servers, and `weights[server]` up-weights a server (see `_picker`).
    `fits` (e.g. "at most max_length tokens") makes the generator draw again, up to 30 times, for a candidate that
    fails it; one that never fits is still returned, for the caller to quarantine.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if max_servers_per_example < 1:
        raise ValueError("max_servers_per_example must be >= 1")
    if not 0.0 <= balance <= 1.0:
        raise ValueError(f"balance must be in [0, 1], got {balance}")
    weights = dict(weights or {})
    bad_w = {k: v for k, v in weights.items() if not (isinstance(v, int | float) and v > 0)}
    if bad_w:
        raise ValueError(f"weights must be positive numbers: {bad_w}")
    unknown_w = sorted(set(weights) - set(CATEGORIES) - {s.name for s in servers})
    if unknown_w:
        raise ValueError(f"weights for unknown servers/categories {unknown_w}")
    by_name: dict[str, Server] = {}
    for s in servers:
        if s.name in by_name:
            raise ValueError(f"duplicate server name {s.name!r}")
        by_name[s.name] = s
    pools = {
        c: [i for i in INTENTS if i.category == c and _applicable(i, by_name, max_servers_per_example)]
        for c in CATEGORIES
    }
    if categories is None:
        cats = [c for c in DEFAULT_CATEGORIES if pools[c]]
    else:
        cats = list(dict.fromkeys(categories))
        unknown = [c for c in cats if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        missing = [c for c in cats if c not in supported_categories()]
        if missing:
            raise ValueError(
                f"the generator does not produce {missing} yet; supported: {supported_categories()}"
            )
        empty = [c for c in cats if not pools[c]]
        if empty:
            raise ValueError(f"no intent for {empty} with servers {sorted(by_name)} "
                             f"and max_servers_per_example={max_servers_per_example}")  # fmt: skip
    if not cats:
        raise ValueError(f"no category can be generated with servers {sorted(by_name)}")
    r = Random(seed)
    order = [
        c
        for c, k in zip(cats, _shares(n, [weights.get(c, 1.0) for c in cats], r), strict=True)
        for _ in range(k)
    ]
    r.shuffle(order)
    picks = {c: _picker(pools[c], balance, weights) for c in cats}
    out: list[Example] = []
    seen: set[str] = set()
    seen_keys: set[str] = set()  # dedup_key: also avoid near-duplicates (same request and calls) while we can
    for cat in order:
        fallback = None
        for attempt in range(30):
            ex = _build(r, cat, picks[cat], servers, by_name, max_servers_per_example)
            ok = ex.id not in seen and (fits is None or fits(ex))
            if ok and (attempt >= 8 or dedup_key(ex) not in seen_keys):  # 8 tries for a new request, then any
                break
            if ok and fallback is None:
                fallback = ex
        else:  # nothing new fits: a near-duplicate that fits, else a duplicate with a unique id
            ex = fallback or ex
            dup = 1
            while ex.id in seen:
                ex.meta["dup"] = dup
                ex.id = example_id(ex)
                dup += 1
        seen.add(ex.id)
        seen_keys.add(dedup_key(ex))
        out.append(ex)
    return out


# ==========================================================================================================
# Validation, quarantine, IO


def validate_example(ex: Example) -> list[str]:
    """Reasons an example is unusable (empty list when it is fine)."""
    reasons: list[str] = []
    if ex.category not in CATEGORIES:
        reasons.append(f"unknown category {ex.category!r}")
    names = [s.name for s in ex.servers]
    if len(set(names)) != len(names):
        reasons.append("duplicate server names")
    if not ex.messages:
        return reasons + ["empty conversation"]
    if ex.messages[0].role != "user":
        reasons.append("conversation must start with a user turn")
    if not any(m.role == "assistant" for m in ex.messages):
        reasons.append("no assistant turn")
    elif ex.messages[-1].role != "assistant":
        reasons.append("last message must be an assistant turn")
    by_name = {s.name: s for s in ex.servers}
    pending: list[ToolCall] = []
    for i, m in enumerate(ex.messages):
        if m.role != "assistant" and m.calls:
            reasons.append(f"message {i}: calls on a {m.role} turn")
        if m.role != "tool" and (m.is_error or m.call is not None):
            reasons.append(f"message {i}: tool-result fields on a {m.role} turn")
        if m.role == "assistant":
            if not m.content.strip() and not m.calls:
                reasons.append(f"message {i}: empty assistant turn")
            for c in m.calls:
                reasons += [f"message {i}: {e}" for e in call_errors(by_name.get(c.server), c)]
            pending = list(m.calls)
        elif m.role == "tool":
            if not pending:
                reasons.append(f"message {i}: tool result without a pending call")
            elif m.call is not None and m.call not in pending:
                reasons.append(f"message {i}: tool result for a call that was not made")
            elif pending:
                pending.remove(m.call if m.call is not None else pending[0])
        else:
            pending = []
    return reasons


def _pydantic_reason(e: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, err['loc'])) or '<root>'}: {err['msg']}" for err in e.errors()[:3]]
    more = f" (+{e.error_count() - 3} more)" if e.error_count() > 3 else ""
    return "invalid example: " + "; ".join(parts) + more


def load_jsonl(path: str | os.PathLike[str]) -> tuple[list[Example], list[dict[str, Any]]]:
    """Read examples; every bad line becomes a quarantine record {line, reason, raw} (none silently dropped)."""
    good: list[Example] = []
    quarantine: list[dict[str, Any]] = []
    seen: set[str] = set()
    with open(path, "rb") as f:
        for n, blob in enumerate(f, 1):
            raw = blob.decode("utf-8", errors="replace").rstrip("\r\n")
            if not raw.strip():
                continue

            def bad(reason: str, n: int = n, raw: str = raw) -> None:
                quarantine.append({"line": n, "reason": reason, "raw": raw[:500]})

            try:
                blob.decode("utf-8")
            except UnicodeDecodeError as e:  # never let U+FFFD stand in for bytes we could not read
                bad(f"invalid UTF-8 at byte {e.start}: {e.reason}")
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError) as e:
                bad(f"bad JSON: {e}")
                continue
            try:
                ex = Example.model_validate(obj)
            except ValidationError as e:
                bad(_pydantic_reason(e))
                continue
            if reasons := admit(ex, seen):
                bad("; ".join(reasons))
                continue
            good.append(ex)
    return good, quarantine


def admit(ex: Example, seen: set[str]) -> list[str]:
    """Why `ex` cannot join rows whose ids are `seen` (invalid, duplicate id); when it can, its id joins `seen`."""
    reasons = validate_example(ex)
    if ex.id in seen:
        reasons.append(f"duplicate id {ex.id!r}")
    if not reasons:
        seen.add(ex.id)
    return reasons


def _atomic_write(path: str | os.PathLike[str], lines: Iterable[str]) -> Path:
    return atomic_write(path, lines)


def write_jsonl(path: str | os.PathLike[str], examples: Iterable[Example | dict[str, Any]]) -> Path:
    """Write examples (or plain dicts, e.g. quarantine records) one JSON per line, atomically."""
    return _atomic_write(
        path,
        (
            (e.model_dump_json() if isinstance(e, Example) else json.dumps(e, ensure_ascii=False)) + "\n"
            for e in examples
        ),
    )


# ==========================================================================================================
# Splits, versions, stats

_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")


def normalise_text(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed: 'Show me X!' and 'show me  x' are the same request."""
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def dedup_key(ex: Example) -> str:
    """Hash of the normalised user text and the reference calls: equal keys never straddle splits."""
    users = " | ".join(normalise_text(m.content) for m in ex.messages if m.role == "user")
    calls = [c.model_dump(mode="json") for m in ex.messages if m.role == "assistant" for c in m.calls]
    return hashlib.sha1(_canonical({"user": users, "calls": calls}).encode()).hexdigest()[:16]


def stratum(ex: Example) -> str:
    """`category|servers`: the servers the reference calls use (the connected ones when it makes no call)."""
    used = sorted({c.server for m in ex.messages for c in m.calls}) or sorted(s.name for s in ex.servers)
    return f"{ex.category}|{'+'.join(used)}"


def _spread(n: int, g: int) -> list[int]:
    """n positions spread evenly over range(g) (systematic sampling of a stratum-sorted list)."""
    return [int((j + 0.5) * g / n) for j in range(n)]


def split(examples: list[Example], seed: int, val_fraction: float = 0.2,
          test_fraction: float = 0.1) -> dict[str, list[Example]]:  # fmt: skip
    """Deterministic split stratified by category x server; duplicate groups (dedup_key) stay in one split.

    Inside a category, groups are sorted by server stratum and val/test take evenly spaced positions, so every
    server gets its share of each split. Every category with >= 3 distinct groups gets at least one group in
    train, val (if val_fraction > 0) and test. Examples keep their input order inside each split.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("need 0 <= val_fraction, test_fraction and val_fraction + test_fraction < 1")
    groups: dict[str, list[int]] = {}  # key -> example indexes (insertion ordered)
    stratum_of: dict[str, str] = {}
    for i, ex in enumerate(examples):
        k = dedup_key(ex)
        groups.setdefault(k, []).append(i)
        stratum_of.setdefault(k, stratum(ex))
    by_cat: dict[str, list[str]] = {}
    for k in groups:
        by_cat.setdefault(stratum_of[k].split("|", 1)[0], []).append(k)
    assign: dict[str, str] = {}
    for cat in sorted(by_cat):
        keys = sorted(by_cat[cat])
        Random(f"{seed}:{cat}").shuffle(keys)
        keys.sort(key=lambda k: stratum_of[k])  # stable: shuffled inside each server stratum
        g = len(keys)
        n_test = round(g * test_fraction)
        n_val = round(g * val_fraction)
        if g >= 3:
            n_test = max(n_test, 1 if test_fraction > 0 else 0)
            n_val = max(n_val, 1 if val_fraction > 0 else 0)
            while n_test + n_val > g - 1:  # keep >= 1 for train
                if n_val >= n_test and n_val > (1 if val_fraction > 0 else 0):
                    n_val -= 1
                elif n_test > 1:
                    n_test -= 1
                else:
                    n_val -= 1
        else:
            n_test = n_val = 0
        test_pos = set(_spread(n_test, g))
        rest = [j for j in range(g) if j not in test_pos]
        val_pos = {rest[j] for j in _spread(n_val, len(rest))}
        for j, k in enumerate(keys):
            assign[k] = "test" if j in test_pos else "val" if j in val_pos else "train"
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for ex in examples:
        out[assign[dedup_key(ex)]].append(ex)
    return out


def leakage(splits: dict[str, list[Example]]) -> list[dict[str, Any]]:
    """Near-duplicates (same dedup_key) found in more than one split: [{key, splits, ids}] (empty when clean)."""
    where: dict[str, dict[str, list[str]]] = {}
    for name, exs in splits.items():
        for ex in exs:
            where.setdefault(dedup_key(ex), {}).setdefault(name, []).append(ex.id)
    return [
        {"key": k, "splits": sorted(v), "ids": [i for ids in v.values() for i in ids]}
        for k, v in sorted(where.items())
        if len(v) > 1
    ]


def available_categories(
    servers: list[Server], categories: Iterable[str], max_servers_per_example: int = 1
) -> list[str]:
    """The categories (of those asked) that the generator can produce with these servers."""
    by_name = {s.name: s for s in servers}
    return [c for c in categories
            if any(i.category == c and _applicable(i, by_name, max_servers_per_example) for i in INTENTS)]  # fmt: skip


def dataset_version(examples: list[Example], gen_params: dict[str, Any]) -> str:
    """Content hash of the examples (including their catalogs) and the generation parameters, 12 hex."""
    h = hashlib.sha256(_canonical(gen_params).encode())
    server_hash: dict[int, str] = {}
    for ex in examples:
        h.update(_canonical(ex.model_dump(mode="json", exclude={"servers"})).encode())
        for s in ex.servers:
            if id(s) not in server_hash:
                server_hash[id(s)] = hashlib.sha256(
                    _canonical(s.model_dump(mode="json")).encode()
                ).hexdigest()
            h.update(server_hash[id(s)].encode())
    return h.hexdigest()[:12]


def stats(examples: list[Example]) -> dict[str, Any]:
    """Counts per category, server, tool, difficulty and turn count, as lists of dicts (DataFrame-ready)."""
    cat: dict[str, int] = {}
    diff: dict[str, int] = {}
    turns: dict[int, int] = {}
    connected: dict[str, int] = {}
    called: dict[str, int] = {}
    tools: dict[tuple[str, str], int] = {}
    for ex in examples:
        cat[ex.category] = cat.get(ex.category, 0) + 1
        diff[ex.difficulty] = diff.get(ex.difficulty, 0) + 1
        k = sum(m.role == "assistant" for m in ex.messages)
        turns[k] = turns.get(k, 0) + 1
        used: set[str] = set()
        for s in ex.servers:
            connected[s.name] = connected.get(s.name, 0) + 1
        for m in ex.messages:
            for c in m.calls:
                tools[(c.server, c.tool)] = tools.get((c.server, c.tool), 0) + 1
                used.add(c.server)
        for s in sorted(used):
            called[s] = called.get(s, 0) + 1
    return {
        "n": len(examples),
        "by_category": [{"category": c, "n": cat[c]} for c in sorted(cat)],
        "by_difficulty": [{"difficulty": d, "n": diff[d]} for d in sorted(diff)],
        "by_assistant_turns": [{"assistant_turns": t, "n": turns[t]} for t in sorted(turns)],
        "by_server": [
            {"server": s, "connected": connected[s], "called": called.get(s, 0)} for s in sorted(connected)
        ],
        "by_tool": [{"server": s, "tool": t, "calls": tools[(s, t)]} for s, t in sorted(tools)],
    }
