"""Reasoning intents: a short explanation before the call is part of the target."""

from __future__ import annotations

from random import Random

from mcpft_lib.data.intents.git import unified_diff
from mcpft_lib.data.intents.memory import graph_of
from mcpft_lib.data.intents.sqlite import rows_text
from mcpft_lib.data.intents.time import converted_time, time_result
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, random_date
from mcpft_lib.mcp.world import (
    BASE_BRANCHES,
    CITIES,
    CODE_FILES,
    COUNTRIES,
    OBSERVATIONS,
    PEOPLE,
    REPOS,
    SQL_TABLES,
)


@intent("reasoning", "time/convert_time")
def _rs_flight(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    dep_h, dur = r.randrange(6, 13), r.randrange(2, 11)
    dep, arr = f"{dep_h:02d}:00", f"{(dep_h + dur) % 24:02d}:00"
    res = converted_time(tz1, arr, tz2, random_date(r))
    user = fmt(r, ("My flight leaves {c1} at {d} local time and takes {n} hours. What's the local time in {c2} when I land?",
                   "I depart {c1} at {d}, the flight is {n}h. When do I arrive, {c2} time?",
                   "Leaving {c1} at {d}; {n} hours in the air. Arrival time in {c2}?"), c1=c1, d=dep, n=dur, c2=c2)  # fmt: skip
    text = fmt(r, ("{d} plus {n} hours is {a} in {c1} time, so I'll convert {a} from {tz1} to {tz2}.",
                   "Landing is {n}h after {d}, i.e. {a} {c1} time. Converting that to {c2}."),
               d=dep, n=dur, a=arr, c1=c1, tz1=tz1, tz2=tz2, c2=c2)  # fmt: skip
    return Scenario(user, [Step(call("time", "convert_time", source_timezone=tz1, time=arr, target_timezone=tz2), jdump(res), text=text)],
                    f"You land at {res['target']['datetime'][11:16]} local time in {c2}.", difficulty="hard")  # fmt: skip


@intent("reasoning", "time/get_current_time")
def _rs_business_hours(r: Random) -> Scenario:
    city, tz = r.choice(CITIES)
    res = time_result(tz, random_date(r))
    h = int(res["datetime"][11:13])
    open_ = 9 <= h < 17 and res["day_of_week"] not in ("Saturday", "Sunday")
    user = fmt(r, ("Is the {c} office open right now? They work 9 to 5 on weekdays.",
                   "Can I still reach the team in {c} during business hours?",
                   "Would a call to {c} now be within their working day?"), c=city)  # fmt: skip
    text = fmt(r, ("That depends on the local time and weekday in {c}, so I'll get the current time in {tz}.",
                   "I need the current local time in {c} ({tz}) to compare with 9:00-17:00."), c=city, tz=tz)  # fmt: skip
    verdict = "yes, they're within business hours" if open_ else "no, that's outside their business hours"
    return Scenario(user, [Step(call("time", "get_current_time", timezone=tz), jdump(res), text=text)],
                    f"It's {res['datetime'][11:16]} on {res['day_of_week']} in {city}: {verdict}.", difficulty="medium")  # fmt: skip


@intent("reasoning", "git/git_reset")
def _rs_unstage(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    user = fmt(r, ("I staged the wrong files in {repo}. Undo that, but don't lose my edits.",
                   "Oops, I ran git add on everything in {repo}. Take it back without touching my changes.",
                   "Unstage everything in {repo}; keep the working tree as is."), repo=repo)  # fmt: skip
    text = r.choice(("git_reset unstages all staged changes and leaves the files on disk alone, which is exactly what's needed.",
                     "Unstaging without losing edits is a mixed reset of the index: git_reset does that."))  # fmt: skip
    return Scenario(user, [Step(call("git", "git_reset", repo_path=repo), "All staged changes reset", text=text)],
                    "Everything is unstaged; your edits are still in the working tree.", difficulty="medium")  # fmt: skip


@intent("reasoning", "git/git_diff")
def _rs_compare_branch(r: Random) -> Scenario:
    repo, base, path = r.choice(REPOS), r.choice(BASE_BRANCHES), r.choice(CODE_FILES)
    user = fmt(r, ("What would my PR into {b} contain? Repo: {repo}.", "What's different between my branch and {b} in {repo}?",
                   "Before I open a PR against {b} ({repo}), what changes are in it?"), b=base, repo=repo)  # fmt: skip
    text = fmt(r, ("A PR shows the diff between the current branch and its base, so I'll diff against {b}.",
                   "The PR's content is the diff from {b} to HEAD; git_diff with target {b} gives exactly that."), b=base)  # fmt: skip
    diff = unified_diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff", repo_path=repo, target=base), diff, text=text)],
                    f"The PR would change one line in `{path}`.", difficulty="medium")  # fmt: skip


@intent("reasoning", "sqlite/read_query")
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
    return Scenario(user, [Step(call("sqlite", "read_query", query=sql), rows_text([{"name": who, "spent": spent}]), text=text)],
                    f"{who}, with ${spent:,.2f} in {status} orders.", difficulty="hard")  # fmt: skip


@intent("reasoning", "memory/add_observations")
def _rs_mem_observation(r: Random) -> Scenario:
    name, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    user = fmt(r, ("{n} told me: {o}. Remember it.", "Update what you know about {n}: {o}.", "FYI about {n}: {o}."),
               n=name, o=fact[0].lower() + fact[1:])  # fmt: skip
    text = r.choice((f"This is a new fact about an existing person, so it belongs as an observation on {name}, not a new entity.",
                     f"{name} is already an entity; adding the fact as an observation keeps the graph clean."))  # fmt: skip
    return Scenario(user, [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
                                jdump([{"entityName": name, "addedObservations": [fact]}]), text=text)],
                    f"Noted for {name}.", difficulty="medium")  # fmt: skip


@intent("reasoning", "memory/search_nodes")
def _rs_mem_search_first(r: Random) -> Scenario:
    q = r.choice(("payments", "PostgreSQL", "release manager", "Lisbon"))
    user = fmt(r, ("Who should I ask about {q}?", "Is there anyone I can talk to about {q}?",
                   "Which colleague is the contact for {q}?"), q=q)  # fmt: skip
    text = f"The knowledge graph may have someone linked to {q}; searching the nodes finds observations that mention it."
    g = graph_of(r, r.sample(PEOPLE, 1))
    g["entities"][0]["observations"] = [
        next((o for o in OBSERVATIONS if q.lower() in o.lower()), f"Knows {q}")
    ]
    return Scenario(user, [Step(call("memory", "search_nodes", query=q), jdump(g), text=text)],
                    f"Ask {g['entities'][0]['name']} ({g['entities'][0]['observations'][0][0].lower()}{g['entities'][0]['observations'][0][1:]}).", difficulty="medium")  # fmt: skip


@intent("reasoning", "postgres/query")
def _rs_pg_readonly(r: Random) -> Scenario:
    table = r.choice(list(SQL_TABLES))
    n = r.randrange(10, 90000)
    user = fmt(r, ("How big is the {t} table in Postgres?", "Count the rows in {t} (postgres).",
                   "How many {t} rows do we have in the production database?"), t=table)  # fmt: skip
    text = "The postgres server runs queries in a read-only transaction, and a COUNT is a plain read, so one query answers it."
    return Scenario(user, [Step(call("postgres", "query", sql=f"SELECT COUNT(*) FROM {table}"), jdump([{"count": str(n)}]), text=text)],
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


@intent("reasoning", "sequential_thinking/sequentialthinking")
def _rs_seq_plan(r: Random) -> Scenario:
    task, thoughts = r.choice(PLANS)
    user = fmt(r, ("Think this through step by step: how do we {t}?", "Plan how to {t}. Work through it carefully.",
                   "We need to {t}. Reason it out before answering."), t=task)  # fmt: skip
    n = len(thoughts)
    steps = [
        Step(call("sequential_thinking", "sequentialthinking", thought=th, thoughtNumber=i + 1, totalThoughts=n,
                  nextThoughtNeeded=i + 1 < n),
             jdump({"thoughtNumber": i + 1, "totalThoughts": n, "nextThoughtNeeded": i + 1 < n, "branches": [],
                     "thoughtHistoryLength": i + 1}))
        for i, th in enumerate(thoughts)
    ]  # fmt: skip
    return Scenario(
        user, steps, "Plan:\n" + "\n".join(f"{i + 1}. {t}" for i, t in enumerate(thoughts)), difficulty="hard"
    )


@intent("reasoning", "brave_search/brave_web_search")
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
