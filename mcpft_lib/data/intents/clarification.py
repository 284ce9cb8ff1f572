"""Clarification intents: an ambiguous request, a question instead of a call, then the call."""

from __future__ import annotations

from random import Random

from mcpft_lib.data.intents.filesystem import snippet
from mcpft_lib.data.intents.github import pick_repo
from mcpft_lib.data.intents.sqlite import rows_text
from mcpft_lib.data.intents.time import converted_time, random_hhmm, spoken_time, time_result
from mcpft_lib.data.scenario import (
    Clarification,
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
    BRANCHES,
    CITIES,
    COMMIT_MESSAGES,
    FS_ROOTS,
    ISSUE_TITLES,
    OBSERVATIONS,
    PEOPLE,
    REPOS,
)

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
CONFIG_FILES = _TEXT["config_files"]


@intent("clarification", "time/convert_time")
def _clar_source_zone(r: Random) -> Clarification:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    hhmm = random_hhmm(r)
    spoken = spoken_time(r, hhmm)
    res = converted_time(tz1, hhmm, tz2, random_date(r))
    user = fmt(r, PHRASES["clar_source_zone"]["ask"], t=spoken, c2=c2)
    question = fmt(r, PHRASES["clar_source_zone"]["question"], t=spoken)
    reply = fmt(r, PHRASES["clar_source_zone"]["reply"], c1=c1)
    then = Scenario("", [Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), jdump(res))],
                    f"{spoken} in {c1} is {res['target']['datetime'][11:16]} in {c2}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "time/get_current_time")
def _clar_where(r: Random) -> Clarification:
    city, tz = r.choice(CITIES)
    res = time_result(tz, random_date(r))
    user = r.choice(PHRASES["clar_where"]["ask"])
    question = r.choice(PHRASES["clar_where"]["question"])
    reply = fmt(r, PHRASES["clar_where"]["reply"], c=city)
    then = Scenario("", [Step(call("time", "get_current_time", timezone=tz), jdump(res))],
                    f"It's {res['datetime'][11:16]} ({res['day_of_week']}) in {city}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "git/git_commit")
def _clar_commit_repo(r: Random) -> Clarification:
    repo, msg, sha = r.choice(REPOS), r.choice(COMMIT_MESSAGES), random_sha(r)
    user = fmt(r, PHRASES["clar_commit_repo"]["ask"], m=msg)
    question = r.choice(PHRASES["clar_commit_repo"]["question"])
    reply = fmt(r, PHRASES["clar_commit_repo"]["reply"], p=repo)
    then = Scenario("", [Step(call("git", "git_commit", repo_path=repo, message=msg), f"Changes committed successfully with hash {sha}")],
                    f"Committed as `{sha[:7]}`.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "git/git_checkout")
def _clar_branch(r: Random) -> Clarification:
    repo, branch = r.choice(REPOS), r.choice(BRANCHES)
    user = fmt(r, PHRASES["clar_branch"]["ask"], p=repo)
    question = r.choice(PHRASES["clar_branch"]["question"])
    reply = fmt(r, PHRASES["clar_branch"]["reply"], b=branch)
    then = Scenario("", [Step(call("git", "git_checkout", repo_path=repo, branch_name=branch), f"Switched to branch '{branch}'")],
                    f"You're on `{branch}` now.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "github/create_issue")
def _clar_issue_repo(r: Random) -> Clarification:
    owner, repo, full = pick_repo(r)
    title, number = r.choice(ISSUE_TITLES), r.randrange(1, 2000)
    user = fmt(r, PHRASES["clar_issue_repo"]["ask"], t=title)
    question = r.choice(PHRASES["clar_issue_repo"]["question"])
    reply = fmt(r, PHRASES["clar_issue_repo"]["reply"], f=full)
    then = Scenario("", [Step(call("github", "create_issue", owner=owner, repo=repo, title=title), jdump(gh_issue(owner, repo, number, title)))],
                    f"Created #{number} in {full}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "github/get_issue")
def _clar_issue_number(r: Random) -> Clarification:
    owner, repo, full = pick_repo(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    user = fmt(r, PHRASES["clar_issue_number"]["ask"], f=full)
    question = r.choice(PHRASES["clar_issue_number"]["question"])
    reply = fmt(r, PHRASES["clar_issue_number"]["reply"], n=number)
    res = gh_issue(owner, repo, number, title)
    then = Scenario("", [Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=number), jdump(res))],
                    f"#{number} \"{title}\" is open.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "filesystem/read_text_file")
def _clar_which_file(r: Random) -> Clarification:
    root = r.choice(FS_ROOTS)
    path = f"{root}/{r.choice(CONFIG_FILES)}"
    user = r.choice(PHRASES["clar_which_file"]["ask"])
    question = r.choice(PHRASES["clar_which_file"]["question"])
    reply = fmt(r, PHRASES["clar_which_file"]["reply"], p=path)
    content = snippet(path)
    then = Scenario(
        "", [Step(call("filesystem", "read_text_file", path=path), content)], f"`{path}`:\n```\n{content}```"
    )
    return Clarification(user, question, reply, then)


@intent("clarification", "sqlite/write_query")
def _clar_delete(r: Random) -> Clarification:
    day = random_date(r, 2023, 1).date().isoformat()
    user = r.choice(PHRASES["clar_delete"]["ask"])
    question = r.choice(PHRASES["clar_delete"]["question"])
    reply = fmt(r, PHRASES["clar_delete"]["reply"], d=day)
    n = r.randrange(0, 40000)
    then = Scenario("", [Step(call("sqlite", "write_query", query=f"DELETE FROM events WHERE ts < '{day}'"),
                              rows_text([{"affected_rows": n}]))], f"Deleted {n} event(s) older than {day}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "memory/add_observations")
def _clar_who(r: Random) -> Clarification:
    name, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    user = fmt(r, PHRASES["clar_who"]["ask"], o=fact.lower())
    question = r.choice(PHRASES["clar_who"]["question"])
    reply = fmt(r, PHRASES["clar_who"]["reply"], n=name)
    then = Scenario("", [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
                              jdump([{"entityName": name, "addedObservations": [fact]}]))], f"Noted for {name}.")  # fmt: skip
    return Clarification(user, question, reply, then)
