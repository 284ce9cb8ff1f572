"""Intents of fetch, web search, browsers, Slack and PostgreSQL: single calls, chains, errors, clarifications."""

from __future__ import annotations

import ast
import json
from random import Random

from mcpft_lib.data.intents.long_context import (
    DOC_PAGES,
    SITES,
    SLACK_CHANNELS,
    SLACK_TEXTS,
    SLACK_USERS,
    pw_snapshot,
    slack_ts,
)
from mcpft_lib.data.intents.reasoning import PLANS
from mcpft_lib.data.intents.sqlite import sql_read
from mcpft_lib.data.scenario import Clarification, Scenario, Step, call, fmt, intent, jdump, load_text
from mcpft_lib.mcp.world import CITIES, PEOPLE, SEARCH_QUERIES, email_of

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
DEAD_PATHS = _TEXT["dead_paths"]
LOCAL_SEARCHES = _TEXT["local_searches"]
COLUMNS_TO_CLEAR = _TEXT["columns_to_clear"]
SCREENSHOT_NAMES = _TEXT["screenshot_names"]
EMAIL_FIELDS = _TEXT["email_fields"]
PAGE_SCRIPTS = _TEXT["page_scripts"]
SCREENSHOT_FILES = _TEXT["screenshot_files"]
STALE_LABELS = _TEXT["stale_labels"]


@intent("single_call", "fetch/fetch")
def _fetch_page_intent(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    raw = r.random() < 0.15
    user = fmt(
        r, PHRASES["fetch_page_intent"]["ask"] if not raw else PHRASES["fetch_page_intent"]["ask_raw"], u=url
    )
    body = f"<html><body><h1>{topic}</h1><p>{gist}</p></body></html>" if raw else f"# {topic}\n\n{gist}"
    prefix = (
        "Content type text/html cannot be simplified to markdown, but here is the raw content:\n"
        if raw
        else ""
    )
    return Scenario(user, [Step(call("fetch", "fetch", url=url, raw=True if raw else None), f"{prefix}Contents of {url}:\n{body}")],
                    gist if not raw else f"Here is the raw HTML of {url}; the page is about {topic}.")  # fmt: skip


@intent("error_handling", "fetch/fetch")
def _fetch_404(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    bad = url.rstrip("/") + r.choice(DEAD_PATHS)
    user = fmt(r, PHRASES["fetch_404"]["ask"], b=bad, u=url)
    steps = [
        Step(call("fetch", "fetch", url=bad), f"Failed to fetch {bad} - status code 404", is_error=True),
        Step(call("fetch", "fetch", url=url), f"Contents of {url}:\n# {topic}\n\n{gist}", text="That page is gone (404). Using the fallback."),
    ]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="medium")


@intent("clarification", "fetch/fetch")
def _clar_fetch(r: Random) -> Clarification:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    user = r.choice(PHRASES["clar_fetch"]["ask"])
    question = r.choice(PHRASES["clar_fetch"]["question"])
    then = Scenario(
        "", [Step(call("fetch", "fetch", url=url), f"Contents of {url}:\n# {topic}\n\n{gist}")], gist
    )
    return Clarification(user, question, fmt(r, PHRASES["clar_fetch"]["reply"], u=url), then)


@intent("single_call", "brave_search/brave_web_search")
def _brave_web(r: Random) -> Scenario:
    q, what = r.choice(SEARCH_QUERIES)
    count = r.choice((None, None, 5, 10))
    user = fmt(r, PHRASES["brave_web"]["ask"], w=what, q=q)
    results = "\n\n".join(
        f"Title: {what} #{i + 1}\nDescription: A page about {what}.\nURL: https://example.org/{i}"
        for i in range(3)
    )
    return Scenario(user, [Step(call("brave_search", "brave_web_search", query=q, count=count), results)],
                    f"Top results for {what}: https://example.org/0, https://example.org/1 and https://example.org/2.")  # fmt: skip


@intent("single_call", "brave_search/brave_local_search")
def _brave_local(r: Random) -> Scenario:
    city, _ = r.choice(CITIES)
    what = r.choice(LOCAL_SEARCHES)
    q = f"{what} near {city}"
    user = fmt(r, PHRASES["brave_local"]["ask"], w=what, c=city)
    res = "\n---\n".join(
        f"Name: {what.title()} {i + 1}\nAddress: {10 + i} Main Street, {city}\nRating: {4 + i / 10:.1f}"
        for i in range(2)
    )
    return Scenario(user, [Step(call("brave_search", "brave_local_search", query=q), res)],
                    f"Two options in {city}: {what.title()} 1 (10 Main Street) and {what.title()} 2 (11 Main Street).")  # fmt: skip


@intent("multi_step", "brave_search/brave_web_search", "fetch/fetch")
def _search_then_fetch(r: Random) -> Scenario:
    url, topic, needle, gist = r.choice(DOC_PAGES)
    user = fmt(r, PHRASES["search_then_fetch"]["ask"], t=topic, n=needle)
    results = f"Title: {topic} — official docs\nDescription: Reference for {topic}.\nURL: {url}\n\nTitle: A blog on {topic}\nDescription: Opinions.\nURL: https://blog.example.org/{needle.lower()}"
    steps = [Step(call("brave_search", "brave_web_search", query=f"{topic} documentation"), results),
             Step(call("fetch", "fetch", url=url), f"Contents of {url}:\n# {topic}\n\n{gist}", text=f"The official page is {url}.")]  # fmt: skip
    return Scenario(user, steps, gist, difficulty="medium")


@intent("single_call", "slack/slack_post_message")
def _slack_post(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    user = fmt(r, PHRASES["slack_post"]["ask"], t=text, c=cname, i=cid)
    return Scenario(user, [Step(call("slack", "slack_post_message", channel_id=cid, text=text),
                                jdump({"ok": True, "channel": cid, "ts": slack_ts(r), "message": {"text": text}}))],
                    f"Posted to #{cname}.")  # fmt: skip


@intent("single_call", "slack/slack_list_channels")
def _slack_channels(r: Random) -> Scenario:
    limit = r.choice((None, 20, 100))
    chans = r.sample(SLACK_CHANNELS, 4)
    user = r.choice(PHRASES["slack_channels"]["ask"])
    res = jdump({"ok": True, "channels": [{"id": i, "name": n, "is_channel": True} for i, n in chans]})
    return Scenario(user, [Step(call("slack", "slack_list_channels", limit=limit), res)],
                    "Channels: " + ", ".join(f"#{n}" for _, n in chans) + ".")  # fmt: skip


@intent("single_call", "slack/slack_get_user_profile")
def _slack_profile(r: Random) -> Scenario:
    uid, handle = r.choice(SLACK_USERS)
    user = fmt(r, PHRASES["slack_profile"]["ask"], u=uid)
    res = jdump(
        {"ok": True, "profile": {"real_name": handle.title(), "display_name": handle, "title": "Engineer"}}
    )
    return Scenario(
        user,
        [Step(call("slack", "slack_get_user_profile", user_id=uid), res)],
        f"{uid} is {handle.title()} (@{handle}), an engineer.",
    )


@intent("multi_step", "slack/slack_list_channels", "slack/slack_post_message")
def _slack_find_post(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    others = [c for c in r.sample(SLACK_CHANNELS, 4) if c[0] != cid][:3]
    chans = others + [(cid, cname)]
    r.shuffle(chans)
    user = fmt(r, PHRASES["slack_find_post"]["ask"], t=text, c=cname)
    steps = [Step(call("slack", "slack_list_channels"), jdump({"ok": True, "channels": [{"id": i, "name": n} for i, n in chans]})),
             Step(call("slack", "slack_post_message", channel_id=cid, text=text), jdump({"ok": True, "channel": cid, "ts": slack_ts(r)}),
                  text=f"#{cname} is {cid}.")]  # fmt: skip
    return Scenario(user, steps, f"Posted to #{cname}.", difficulty="medium")


@intent("error_handling", "slack/slack_post_message", "slack/slack_list_channels")
def _slack_bad_channel(r: Random) -> Scenario:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    user = fmt(r, PHRASES["slack_bad_channel"]["ask"], t=text, c=cname)
    steps = [Step(call("slack", "slack_post_message", channel_id=cname, text=text), jdump({"ok": False, "error": "channel_not_found"}),
                  is_error=True, mistake=True),
             Step(call("slack", "slack_list_channels"), jdump({"ok": True, "channels": [{"id": i, "name": n} for i, n in SLACK_CHANNELS]}),
                  text="Slack wants the channel id, not its name. Looking it up."),
             Step(call("slack", "slack_post_message", channel_id=cid, text=text), jdump({"ok": True, "channel": cid, "ts": slack_ts(r)}))]  # fmt: skip
    return Scenario(user, steps, f"Posted to #{cname} ({cid}).", difficulty="hard")


@intent("clarification", "slack/slack_post_message")
def _clar_slack(r: Random) -> Clarification:
    cid, cname = r.choice(SLACK_CHANNELS)
    text = r.choice(SLACK_TEXTS)
    user = fmt(r, PHRASES["clar_slack"]["ask"], t=text)
    question = r.choice(PHRASES["clar_slack"]["question"])
    then = Scenario("", [Step(call("slack", "slack_post_message", channel_id=cid, text=text), jdump({"ok": True, "channel": cid, "ts": slack_ts(r)}))],
                    f"Posted to #{cname}.")  # fmt: skip
    return Clarification(user, question, fmt(r, PHRASES["clar_slack"]["reply"], c=cname, i=cid), then)


@intent("single_call", "postgres/query")
def _pg_query(r: Random) -> Scenario:
    user, sql, res, answer = sql_read(r)
    return Scenario(user, [Step(call("postgres", "query", sql=sql), jdump(ast.literal_eval(res)))], answer)


@intent("error_handling", "postgres/query")
def _pg_readonly_error(r: Random) -> Scenario:
    table, col = r.choice(COLUMNS_TO_CLEAR)
    user = fmt(r, PHRASES["pg_readonly_error"]["ask"], t=table, c=col)
    steps = [Step(call("postgres", "query", sql=f"UPDATE {table} SET {col} = NULL"),
                  "cannot execute UPDATE in a read-only transaction", is_error=True),
             Step(call("postgres", "query", sql=f"SELECT COUNT(*) FROM {table} WHERE {col} IS NOT NULL"), jdump([{"count": str(r.randrange(1, 9000))}]),
                  text="This server only allows read-only queries. I'll at least show how many rows would be affected.")]  # fmt: skip
    return Scenario(user, steps, "I can't write through this server (read-only); the count above is what the update would touch.",
                    difficulty="hard")  # fmt: skip


@intent("single_call", "puppeteer/puppeteer_navigate")
def _pp_nav(r: Random) -> Scenario:
    url = r.choice(SITES)
    user = fmt(r, PHRASES["pp_nav"]["ask"], u=url)
    return Scenario(
        user,
        [Step(call("puppeteer", "puppeteer_navigate", url=url), f"Navigated to {url}")],
        f"The browser is on {url}.",
    )


@intent("single_call", "puppeteer/puppeteer_screenshot")
def _pp_shot(r: Random) -> Scenario:
    name = r.choice(SCREENSHOT_NAMES)
    sel = r.choice((None, "#main", ".hero", "form"))
    user = fmt(
        r, PHRASES["pp_shot"]["ask"] if sel is None else PHRASES["pp_shot"]["ask_selector"], n=name, s=sel
    )
    return Scenario(user, [Step(call("puppeteer", "puppeteer_screenshot", name=name, selector=sel), f"Screenshot '{name}' taken at 800x600")],
                    f"Saved screenshot `{name}`.")  # fmt: skip


@intent("multi_step", "puppeteer/puppeteer_evaluate", "puppeteer/puppeteer_fill", "puppeteer/puppeteer_click")
def _pp_login(r: Random) -> Scenario:
    email = email_of(r.choice(PEOPLE))
    field = r.choice(EMAIL_FIELDS)
    user = fmt(r, PHRASES["pp_login"]["ask"], e=email)
    script = "Array.from(document.querySelectorAll('form input')).map(i => i.id ? '#' + i.id : `input[name=${i.name}]`)"
    steps = [
        Step(call("puppeteer", "puppeteer_evaluate", script=script),
             f"Execution result:\n{json.dumps([field, '#password'])}\n\nConsole output:\n", text="Let me find the form fields."),
        Step(call("puppeteer", "puppeteer_fill", selector=field, value=email), f"Filled {field} with: {email}",
             text=f"The email field is `{field}`."),
        Step(call("puppeteer", "puppeteer_click", selector="button[type=submit]"), "Clicked: button[type=submit]"),
    ]  # fmt: skip
    return Scenario(user, steps, "Filled in the email and submitted the form.", difficulty="medium")


@intent("single_call", "puppeteer/puppeteer_evaluate")
def _pp_eval(r: Random) -> Scenario:
    script, what, value = r.choice(PAGE_SCRIPTS)
    user = fmt(r, PHRASES["pp_eval"]["ask"], w=what, s=script)
    return Scenario(user, [Step(call("puppeteer", "puppeteer_evaluate", script=script), f"Execution result:\n{value}\n\nConsole output:\n")],
                    f"The {what} is {value}.")  # fmt: skip


@intent("single_call", "playwright/browser_navigate")
def _pw_nav(r: Random) -> Scenario:
    url = r.choice(SITES)
    user = fmt(r, PHRASES["pw_nav"]["ask"], u=url)
    snap, _ = pw_snapshot(r, url, "Docs")
    return Scenario(
        user,
        [Step(call("playwright", "browser_navigate", url=url), snap)],
        f"{url} is open: a page titled Acme with a navigation bar.",
    )


@intent("single_call", "playwright/browser_take_screenshot")
def _pw_shot(r: Random) -> Scenario:
    full = r.random() < 0.5
    fname = r.choice(SCREENSHOT_FILES)
    user = fmt(r, PHRASES["pw_shot"]["ask_full_page"] if full else PHRASES["pw_shot"]["ask"], f=fname)
    return Scenario(user, [Step(call("playwright", "browser_take_screenshot", scale="css", filename=fname, fullPage=True if full else None),
                                f"Took the {'full page' if full else 'viewport'} screenshot and saved it as {fname}")],
                    f"Saved `{fname}`.")  # fmt: skip


@intent("single_call", "playwright/browser_tabs")
def _pw_tabs(r: Random) -> Scenario:
    user = r.choice(PHRASES["pw_tabs"]["ask"])
    tabs = "\n".join(f"- {i}: [{u}] ({u})" for i, u in enumerate(r.sample(SITES, 2)))
    return Scenario(
        user,
        [Step(call("playwright", "browser_tabs", action="list"), "### Open tabs\n" + tabs)],
        "Two tabs are open:\n" + tabs,
    )


@intent("error_handling", "playwright/browser_click", "playwright/browser_snapshot")
def _pw_stale_ref(r: Random) -> Scenario:
    url, label = r.choice(SITES), r.choice(STALE_LABELS)
    snap, ref = pw_snapshot(r, url, label)
    stale = f"e{r.randrange(100, 200)}"
    user = fmt(r, PHRASES["pw_stale_ref"]["ask"], l=label, s=stale)
    steps = [Step(call("playwright", "browser_click", target=stale, element=f"{label} link"),
                  f"Error: Ref {stale} not found in the current page snapshot. Try capturing new snapshot.", is_error=True),
             Step(call("playwright", "browser_snapshot"), snap, text="That ref is stale. Taking a fresh snapshot."),
             Step(call("playwright", "browser_click", target=ref, element=f"{label} link"), f"- Page URL: {url}/{label.lower()}",
                  text=f"\"{label}\" is now {ref}.")]  # fmt: skip
    return Scenario(user, steps, f'Clicked "{label}".', difficulty="hard")


@intent("single_call", "sequential_thinking/sequentialthinking")
def _seq_one(r: Random) -> Scenario:
    task, thoughts = r.choice(PLANS)
    user = fmt(r, PHRASES["seq_one"]["ask"], t=task, n=len(thoughts))
    res = jdump(
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
