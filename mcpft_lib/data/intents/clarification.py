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


@intent("clarification", "time/convert_time")
def _clar_source_zone(r: Random) -> Clarification:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    hhmm = random_hhmm(r)
    spoken = spoken_time(r, hhmm)
    res = converted_time(tz1, hhmm, tz2, random_date(r))
    user = fmt(r, ("Convert {t} to {c2} time.", "What's {t} in {c2}?", "{t} -> {c2} time please",
                   "When it's {t}, what time is it in {c2}?", "Can you convert {t} into {c2} time?"), t=spoken, c2=c2)  # fmt: skip
    question = fmt(r, ("Which city or IANA timezone is {t} in?", "Sure. Where are you converting from, i.e. {t} in which timezone?",
                       "Which city or timezone is the {t} from?"), t=spoken)  # fmt: skip
    reply = fmt(r, ("It's {c1} time.", "{c1}.", "I'm in {c1}.", "From {c1}."), c1=c1)
    then = Scenario("", [Step(call("time", "convert_time", source_timezone=tz1, time=hhmm, target_timezone=tz2), jdump(res))],
                    f"{spoken} in {c1} is {res['target']['datetime'][11:16]} in {c2}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "time/get_current_time")
def _clar_where(r: Random) -> Clarification:
    city, tz = r.choice(CITIES)
    res = time_result(tz, random_date(r))
    user = r.choice(("What time is it over there?", "What's the time there right now?", "Is it already evening there?",
                     "Check the local time at their office.", "What time is it for the client?"))  # fmt: skip
    question = r.choice(("Which city or timezone do you mean?", "Where exactly? Give me a city or an IANA timezone.",
                         "Which location should I check?"))  # fmt: skip
    reply = fmt(r, ("{c}.", "In {c}.", "They're in {c}.", "The office in {c}."), c=city)
    then = Scenario("", [Step(call("time", "get_current_time", timezone=tz), jdump(res))],
                    f"It's {res['datetime'][11:16]} ({res['day_of_week']}) in {city}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "git/git_commit")
def _clar_commit_repo(r: Random) -> Clarification:
    repo, msg, sha = r.choice(REPOS), r.choice(COMMIT_MESSAGES), random_sha(r)
    user = fmt(r, ('Commit my staged changes with the message "{m}".', 'Please commit: "{m}"', "git commit -m '{m}'",
                   'Record a commit "{m}".', 'Commit everything that is staged as "{m}".'), m=msg)  # fmt: skip
    question = r.choice(("Which repository should I commit in? Please give me its path.",
                         "In which repository? I need the path to the repo.", "Sure, which repo path is this for?"))  # fmt: skip
    reply = fmt(r, ("{p}", "The one at {p}.", "It's in {p}.", "Use {p}."), p=repo)
    then = Scenario("", [Step(call("git", "git_commit", repo_path=repo, message=msg), f"Changes committed successfully with hash {sha}")],
                    f"Committed as `{sha[:7]}`.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "git/git_checkout")
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


@intent("clarification", "github/create_issue")
def _clar_issue_repo(r: Random) -> Clarification:
    owner, repo, full = pick_repo(r)
    title, number = r.choice(ISSUE_TITLES), r.randrange(1, 2000)
    user = fmt(r, ('Open an issue titled "{t}".', 'File a bug: "{t}"', 'Create a GitHub issue called "{t}".',
                   'Please log "{t}" as an issue.', 'New issue: "{t}"'), t=title)  # fmt: skip
    question = r.choice(("Which repository should the issue go in (owner/name)?", "Sure. In which GitHub repository?",
                         "Which repo is this for? Please give me the owner and repository name."))  # fmt: skip
    reply = fmt(r, ("{f}", "In {f}.", "Put it in {f}.", "The {f} repo."), f=full)
    then = Scenario("", [Step(call("github", "create_issue", owner=owner, repo=repo, title=title), jdump(gh_issue(owner, repo, number, title)))],
                    f"Created #{number} in {full}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "github/get_issue")
def _clar_issue_number(r: Random) -> Clarification:
    owner, repo, full = pick_repo(r)
    number, title = r.randrange(1, 2000), r.choice(ISSUE_TITLES)
    user = fmt(r, ("Show me that issue in {f}.", "What's the status of the bug we talked about in {f}?",
                   "Pull up the issue in {f}.", "Open the issue on {f} for me.", "How's that {f} issue going?"), f=full)  # fmt: skip
    question = r.choice(("Which issue number?", "Which issue do you mean? Please give me its number.",
                         "Sure, what's the issue number?"))  # fmt: skip
    reply = fmt(r, ("#{n}", "Issue {n}.", "It's #{n}.", "{n}"), n=number)
    res = gh_issue(owner, repo, number, title)
    then = Scenario("", [Step(call("github", "get_issue", owner=owner, repo=repo, issue_number=number), jdump(res))],
                    f"#{number} \"{title}\" is open.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "filesystem/read_text_file")
def _clar_which_file(r: Random) -> Clarification:
    root = r.choice(FS_ROOTS)
    path = f"{root}/{r.choice(('config/settings.yaml', 'src/config.json', '.env.example', 'pyproject.toml'))}"
    user = r.choice(("Open the config file.", "Show me the settings.", "What's in the config?",
                     "Read the configuration for me.", "Can you print the config file?"))  # fmt: skip
    question = r.choice(("Which file do you mean? Please give me the full path.", "Which config file? I need its path.",
                         "There may be several config files. Which path should I read?"))  # fmt: skip
    reply = fmt(r, ("{p}", "The one at {p}.", "{p}, please."), p=path)
    content = snippet(path)
    then = Scenario(
        "", [Step(call("filesystem", "read_text_file", path=path), content)], f"`{path}`:\n```\n{content}```"
    )
    return Clarification(user, question, reply, then)


@intent("clarification", "sqlite/write_query")
def _clar_delete(r: Random) -> Clarification:
    day = random_date(r, 2023, 1).date().isoformat()
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
                              rows_text([{"affected_rows": n}]))], f"Deleted {n} event(s) older than {day}.")  # fmt: skip
    return Clarification(user, question, reply, then)


@intent("clarification", "memory/add_observations")
def _clar_who(r: Random) -> Clarification:
    name, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    user = fmt(r, ("Remember that they: {o}.", "Note this down: {o}.", "Add to their profile: {o}.",
                   "Save this about her: {o}.", "Keep in mind: {o}."), o=fact.lower())  # fmt: skip
    question = r.choice(
        ("Who should I attach this to?", "Which person or entity is this about?", "Sure, who is this about?")
    )
    reply = fmt(r, ("{n}.", "It's about {n}.", "{n}, of course."), n=name)
    then = Scenario("", [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
                              jdump([{"entityName": name, "addedObservations": [fact]}]))], f"Noted for {name}.")  # fmt: skip
    return Clarification(user, question, reply, then)
