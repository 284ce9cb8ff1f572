"""No-tool intents: questions answered in text, some near a connected server's topic."""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from mcpft_lib.data.scenario import Scenario, intent

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
    intent("no_tool", topic=_topic)(_no_tool(_topic))
