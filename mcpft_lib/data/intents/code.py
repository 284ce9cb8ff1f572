"""Code understanding intents: read code through a tool, then explain, review or locate a bug; context7 docs."""

from __future__ import annotations

from random import Random

from mcpft_lib.data.intents.github import pick_repo
from mcpft_lib.data.intents.sqlite import pragma_table_info
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, preface, random_sha
from mcpft_lib.mcp.world import BASE_BRANCHES, BRANCHES, FS_ROOTS, PEOPLE, REPOS, SQL_TABLES

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


@intent("code_understanding", "git/git_show")
def _cu_git_show_bug(r: Random) -> Scenario:
    repo = r.choice(REPOS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    sha, msg = (
        random_sha(r),
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
    return Scenario(user, [Step(call("git", "git_show", repo_path=repo, revision=short), shown, text=preface(r))],
                    answer, difficulty="medium")  # fmt: skip


@intent("code_understanding", "git/git_diff_unstaged")
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


@intent("code_understanding", "git/git_diff")
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


@intent("code_understanding", "sqlite/describe_table")
def _cu_sql_join(r: Random) -> Scenario:
    sql, table, why = r.choice(JOIN_BUGS)
    user = fmt(r, (
        "Why does this query give nonsense results? {q}", "My report query looks wrong: `{q}`. What's the problem?",
        "Can you check this SQL against the schema? {q}", "Debug this for me: {q}",
    ), q=sql)  # fmt: skip
    return Scenario(user, [Step(call("sqlite", "describe_table", table_name=table), pragma_table_info(table),
                                text=f"Let me check the columns of `{table}`.")],
                    f"The join is wrong: {why}.", difficulty="medium")  # fmt: skip


@intent("code_understanding", "sqlite/describe_table")
def _cu_sql_explain_schema(r: Random) -> Scenario:
    table = r.choice(("orders", "order_items", "events"))
    links = {"orders": "`user_id` points at `users.id`", "order_items": "`order_id` points at `orders.id` and `product_id` at `products.id`",
             "events": "`user_id` points at `users.id`"}[table]  # fmt: skip
    user = fmt(r, ("How does the {t} table relate to the other tables?", "Explain what {t} stores and how it links to the rest.",
                   "Walk me through the {t} table: columns and foreign keys."), t=table)  # fmt: skip
    cols = ", ".join(f"`{c}`" for c, _, _ in SQL_TABLES[table])
    return Scenario(user, [Step(call("sqlite", "describe_table", table_name=table), pragma_table_info(table))],
                    f"`{table}` has {cols}; `id` is the primary key and {links}.")  # fmt: skip


@intent("code_understanding", "filesystem/read_text_file")
def _cu_fs_find_bug(r: Random) -> Scenario:
    root = r.choice(FS_ROOTS)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    full = f"{root}/{path}"
    user = fmt(r, ("There's a bug in {p}. Can you find it?", "Read {p} and tell me what's wrong with it.",
                   "Why doesn't {p} behave as documented?", "Explain {p} and point out any bug.",
                   "Which line of {p} is broken?"), p=full)  # fmt: skip
    return Scenario(user, [Step(call("filesystem", "read_text_file", path=full), src)],
                    f"Line {line} of `{path}`: {why}.", difficulty="medium")  # fmt: skip


@intent("code_understanding", "filesystem/read_text_file", "filesystem/edit_file")
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


@intent("code_understanding", "github/get_file_contents")
def _cu_gh_explain(r: Random) -> Scenario:
    owner, repo, full = pick_repo(r)
    path, src, line, why, old, new = r.choice(BUGGY_CODE)
    user = fmt(r, ("Explain what {p} in {f} does and whether it has bugs.", "Review {p} on {f}.",
                   "Is {p} in the {f} repo correct?"), p=path, f=full)  # fmt: skip
    res = jdump(
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


@intent("code_understanding", "context7/resolve-library-id", "context7/query-docs")
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


@intent("single_call", "context7/query-docs")
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


@intent("error_handling", "context7/query-docs", "context7/resolve-library-id")
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
