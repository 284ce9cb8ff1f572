"""Resource intents: MCP resources read with access_mcp_resource."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

from mcpft_lib.core.schema import RESOURCE_TOOL
from mcpft_lib.data.intents.long_context import SITES
from mcpft_lib.data.intents.sqlite import rows_text
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, load_text
from mcpft_lib.mcp.world import PEOPLE

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
MEMO_ITEMS: tuple[str, ...] = tuple(_TEXT["memo_items"].values())
MEMO_TOPICS: dict[str, str] = _TEXT["memo_items"]  # word the user asks about -> the item that mentions it
CONSOLE_LINES: tuple[str, ...] = tuple(_TEXT["console_lines"])
UI_ACTIONS: tuple[str, ...] = tuple(_TEXT["ui_actions"])
SITE_PATHS = _TEXT["site_paths"]


def _memo(items: Sequence[str]) -> str:
    return "📊 Business Intelligence Memo 📊\n\nKey Insights Discovered:\n\n" + "\n".join(
        f"- {i}" for i in items
    )


@intent("resource_access", "sqlite/" + RESOURCE_TOOL)
def _res_memo_count(r: Random) -> Scenario:
    items = r.sample(MEMO_ITEMS, r.randrange(1, 5))
    who, when = r.choice(PEOPLE), r.choice(PHRASES["res_memo_count"]["occasion"])
    user = fmt(r, PHRASES["res_memo_count"]["ask"], w=when, p=who)
    return Scenario(user, [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), _memo(items))],
                    f"The memo holds {len(items)} insight(s).")  # fmt: skip


@intent("resource_access", "sqlite/" + RESOURCE_TOOL)
def _res_memo_question(r: Random) -> Scenario:
    topic = r.choice(list(MEMO_TOPICS))
    items = r.sample(MEMO_ITEMS, r.randrange(1, 4))
    hit = MEMO_TOPICS[topic]
    user = fmt(r, PHRASES["res_memo_question"]["ask"], t=topic)
    answer = (
        f'Yes: "{hit}"'
        if hit in items
        else f"No, the memo has nothing on {topic} yet ({len(items)} other insight(s))."
    )
    return Scenario(user, [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), _memo(items))], answer)


@intent("resource_access", "sqlite/" + RESOURCE_TOOL, "sqlite/read_query")
def _res_memo_verify(r: Random) -> Scenario:
    items = r.sample(MEMO_ITEMS[:2], 1) + r.sample(MEMO_ITEMS[2:], 1)
    cat, avg = "electronics", round(r.uniform(150, 600), 2)
    user = fmt(r, PHRASES["res_memo_verify"]["ask"], p=r.choice(PEOPLE))
    first = items[0]
    if first.startswith("Electronics"):
        sql = "SELECT p.category, AVG(o.total) AS avg_total FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id GROUP BY p.category ORDER BY avg_total DESC LIMIT 1"
        res, ans = (
            rows_text([{"category": cat, "avg_total": avg}]),
            f"Still true: electronics lead with an average order of ${avg}.",
        )
    else:
        sql = "SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'"
        n = r.randrange(10, 400)
        res, ans = (
            rows_text([{"n": n}]),
            f"There are {n} cancelled orders; checking who placed them would need a join on first orders.",
        )
    steps = [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), _memo(items)),
             Step(call("sqlite", "read_query", query=sql), res, text=f'The first insight is "{first}" Checking it.')]  # fmt: skip
    return Scenario(user, steps, ans, difficulty="hard")


@intent("resource_access", "puppeteer/" + RESOURCE_TOOL)
def _res_console(r: Random) -> Scenario:
    errs = r.sample(CONSOLE_LINES, r.randrange(1, 4))
    act, site = r.choice(UI_ACTIONS), r.choice(SITES)
    user = fmt(r, PHRASES["res_console"]["ask"], a=act, s=site)
    logs = "\n".join(
        f"[{'error' if 'Error' in e or 'Failed' in e or 'blocked' in e else 'log'}] {e}" for e in errs
    )
    return Scenario(user, [Step(call("puppeteer", RESOURCE_TOOL, uri="console://logs"), logs)],
                    "The console shows:\n" + "\n".join(f"- {e}" for e in errs))  # fmt: skip


@intent("resource_access", "puppeteer/puppeteer_navigate", "puppeteer/" + RESOURCE_TOOL)
def _res_nav_console(r: Random) -> Scenario:
    errs = r.sample(
        [c for c in CONSOLE_LINES if "Error" in c or "Failed" in c or "blocked" in c], r.randrange(1, 3)
    )
    site = r.choice(SITES) + r.choice(SITE_PATHS)
    user = fmt(r, PHRASES["res_nav_console"]["ask"], s=site)
    logs = "\n".join(f"[error] {e}" for e in errs)
    steps = [Step(call("puppeteer", "puppeteer_navigate", url=site), f"Navigated to {site}"),
             Step(call("puppeteer", RESOURCE_TOOL, uri="console://logs"), logs, text="Loaded. Now the console logs.")]  # fmt: skip
    return Scenario(user, steps, f"{site} logs {len(errs)} error(s): " + "; ".join(errs), difficulty="medium")
