"""Reasoning intents: a short explanation before the call is part of the target."""

from __future__ import annotations

from random import Random

from mcpft_lib.data.intents.git import unified_diff
from mcpft_lib.data.intents.memory import graph_of
from mcpft_lib.data.intents.sqlite import rows_text
from mcpft_lib.data.intents.time import converted_time, time_result
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, load_text, random_date
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

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
PLANS = list(_TEXT["plans"].items())  # (task, its thoughts in order)
FRESH_QUESTIONS = list(_TEXT["fresh_questions"].items())  # (question, what it is about)


@intent("reasoning", "time/convert_time")
def _rs_flight(r: Random) -> Scenario:
    (c1, tz1), (c2, tz2) = r.sample(CITIES, 2)
    dep_h, dur = r.randrange(6, 13), r.randrange(2, 11)
    dep, arr = f"{dep_h:02d}:00", f"{(dep_h + dur) % 24:02d}:00"
    res = converted_time(tz1, arr, tz2, random_date(r))
    user = fmt(r, PHRASES["rs_flight"]["ask"], c1=c1, d=dep, n=dur, c2=c2)
    text = fmt(r, PHRASES["rs_flight"]["reason"], d=dep, n=dur, a=arr, c1=c1, tz1=tz1, tz2=tz2, c2=c2)
    return Scenario(user, [Step(call("time", "convert_time", source_timezone=tz1, time=arr, target_timezone=tz2), jdump(res), text=text)],
                    f"You land at {res['target']['datetime'][11:16]} local time in {c2}.", difficulty="hard")  # fmt: skip


@intent("reasoning", "time/get_current_time")
def _rs_business_hours(r: Random) -> Scenario:
    city, tz = r.choice(CITIES)
    res = time_result(tz, random_date(r))
    h = int(res["datetime"][11:13])
    open_ = 9 <= h < 17 and res["day_of_week"] not in ("Saturday", "Sunday")
    user = fmt(r, PHRASES["rs_business_hours"]["ask"], c=city)
    text = fmt(r, PHRASES["rs_business_hours"]["reason"], c=city, tz=tz)
    verdict = "yes, they're within business hours" if open_ else "no, that's outside their business hours"
    return Scenario(user, [Step(call("time", "get_current_time", timezone=tz), jdump(res), text=text)],
                    f"It's {res['datetime'][11:16]} on {res['day_of_week']} in {city}: {verdict}.", difficulty="medium")  # fmt: skip


@intent("reasoning", "git/git_reset")
def _rs_unstage(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    user = fmt(r, PHRASES["rs_unstage"]["ask"], repo=repo)
    text = r.choice(PHRASES["rs_unstage"]["reason"])
    return Scenario(user, [Step(call("git", "git_reset", repo_path=repo), "All staged changes reset", text=text)],
                    "Everything is unstaged; your edits are still in the working tree.", difficulty="medium")  # fmt: skip


@intent("reasoning", "git/git_diff")
def _rs_compare_branch(r: Random) -> Scenario:
    repo, base, path = r.choice(REPOS), r.choice(BASE_BRANCHES), r.choice(CODE_FILES)
    user = fmt(r, PHRASES["rs_compare_branch"]["ask"], b=base, repo=repo)
    text = fmt(r, PHRASES["rs_compare_branch"]["reason"], b=base)
    diff = unified_diff(r, path)
    return Scenario(user, [Step(call("git", "git_diff", repo_path=repo, target=base), diff, text=text)],
                    f"The PR would change one line in `{path}`.", difficulty="medium")  # fmt: skip


@intent("reasoning", "sqlite/read_query")
def _rs_sql_top_spender(r: Random) -> Scenario:
    country = r.choice(COUNTRIES)
    who, spent = r.choice(PEOPLE), round(r.uniform(500, 20000), 2)
    status = r.choice(("delivered", "shipped"))
    user = fmt(r, PHRASES["rs_sql_top_spender"]["ask"], c=country, s=status)
    text = fmt(r, PHRASES["rs_sql_top_spender"]["reason"], c=country, s=status)
    sql = (f"SELECT u.name, SUM(o.total) AS spent FROM orders o JOIN users u ON o.user_id = u.id "
           f"WHERE u.country = '{country}' AND o.status = '{status}' GROUP BY u.id ORDER BY spent DESC LIMIT 1")  # fmt: skip
    return Scenario(user, [Step(call("sqlite", "read_query", query=sql), rows_text([{"name": who, "spent": spent}]), text=text)],
                    f"{who}, with ${spent:,.2f} in {status} orders.", difficulty="hard")  # fmt: skip


@intent("reasoning", "memory/add_observations")
def _rs_mem_observation(r: Random) -> Scenario:
    name, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    user = fmt(r, PHRASES["rs_mem_observation"]["ask"], n=name, o=fact[0].lower() + fact[1:])
    text = fmt(r, PHRASES["rs_mem_observation"]["reason"], n=name)
    return Scenario(user, [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
                                jdump([{"entityName": name, "addedObservations": [fact]}]), text=text)],
                    f"Noted for {name}.", difficulty="medium")  # fmt: skip


@intent("reasoning", "memory/search_nodes")
def _rs_mem_search_first(r: Random) -> Scenario:
    q = r.choice(PHRASES["rs_mem_search_first"]["topic"])
    user = fmt(r, PHRASES["rs_mem_search_first"]["ask"], q=q)
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
    user = fmt(r, PHRASES["rs_pg_readonly"]["ask"], t=table)
    text = "The postgres server runs queries in a read-only transaction, and a COUNT is a plain read, so one query answers it."
    return Scenario(user, [Step(call("postgres", "query", sql=f"SELECT COUNT(*) FROM {table}"), jdump([{"count": str(n)}]), text=text)],
                    f"`{table}` has {n:,} rows.", difficulty="medium")  # fmt: skip


@intent("reasoning", "sequential_thinking/sequentialthinking")
def _rs_seq_plan(r: Random) -> Scenario:
    task, thoughts = r.choice(PLANS)
    user = fmt(r, PHRASES["rs_seq_plan"]["ask"], t=task)
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
    q, topic = r.choice(FRESH_QUESTIONS)
    user = fmt(r, PHRASES["rs_search_fresh"]["ask"], q=q)
    text = f"This changes over time and my knowledge may be out of date, so I'll search the web for the {q}."
    results = "\n\n".join(
        f"Title: {topic} news {i}\nDescription: Notes about the {q}.\nURL: https://example.org/{topic.lower()}/{i}"
        for i in range(3)
    )
    return Scenario(user, [Step(call("brave_search", "brave_web_search", query=q, count=3), results, text=text)],
                    f"The top results for the {q}: " + ", ".join(f"https://example.org/{topic.lower()}/{i}" for i in range(3))
                    + ". They are news pages; the official release notes have the definitive answer.",
                    difficulty="medium")  # fmt: skip
