"""Resource intents: MCP resources read with access_mcp_resource."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

from mcpft_lib.core.schema import RESOURCE_TOOL
from mcpft_lib.data.intents.long_context import SITES
from mcpft_lib.data.intents.sqlite import rows_text
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent
from mcpft_lib.mcp.world import PEOPLE

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


@intent("resource_access", "sqlite/" + RESOURCE_TOOL)
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


@intent("resource_access", "sqlite/" + RESOURCE_TOOL)
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


@intent("resource_access", "sqlite/" + RESOURCE_TOOL, "sqlite/read_query")
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


CONSOLE_LINES = ("Uncaught TypeError: Cannot read properties of undefined (reading 'map')",
                 "Failed to load resource: the server responded with a status of 404 ()",
                 "Warning: Each child in a list should have a unique \"key\" prop.", "[HMR] connected",
                 "Uncaught ReferenceError: analytics is not defined", "Access to fetch at 'https://api.acme.test/cart' has been blocked by CORS policy",
                 "Failed to load resource: net::ERR_CONNECTION_REFUSED", "[vite] hot updated: /src/App.tsx")  # fmt: skip

UI_ACTIONS = ("clicking Checkout", "submitting the signup form", "opening the settings page", "pressing Save",
              "loading the dashboard", "switching to dark mode", "adding an item to the cart")  # fmt: skip


@intent("resource_access", "puppeteer/" + RESOURCE_TOOL)
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


@intent("resource_access", "puppeteer/puppeteer_navigate", "puppeteer/" + RESOURCE_TOOL)
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
