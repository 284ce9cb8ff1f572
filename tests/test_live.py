"""Live execution against real MCP servers over stdio (time, git, the sandboxed filesystem) and a faulty one."""

import os
import sqlite3

import pytest

from mcpft_lib.core.schema import Example, Message, ToolCall
from mcpft_lib.mcp import catalogs, live
from mcpft_lib.mcp.servers import sandbox_fs, sandbox_sqlite

FAULTY = {**live.LIVE_SERVERS, "faulty": live.ServerSpec("mcpft_lib.mcp.servers.faulty")}


def call(server, tool, **arguments):
    return ToolCall(server=server, tool=tool, arguments=arguments)


def example(*turns, servers=("filesystem", "git")):
    """User question, then (call, result text, is_error) steps, then a final answer."""
    msgs = [Message(role="user", content="do it")]
    for c, result, err in turns:
        msgs += [
            Message(role="assistant", calls=[c]),
            Message(role="tool", content=result, is_error=err, call=c),
        ]
    msgs.append(Message(role="assistant", content="done"))
    return Example(
        id="x", servers=[catalogs.load_catalog(s) for s in servers], category="single_call", messages=msgs
    )


README = call("filesystem", "read_text_file", path="/workspace/app/README.md")
LISTING = call("filesystem", "list_directory", path="/workspace/app")
FS_EX = example(
    (README, "# App\nhello\n", False),
    (LISTING, "[DIR] src\n[FILE] README.md\n[FILE] setup.py", False),
    (call("filesystem", "read_text_file", path="/workspace/app/missing.txt"), "ENOENT", True),
)
GIT_EX = example(
    (call("git", "git_status", repo_path="/home/alex/src/api"), "On branch main", False),
    (call("git", "git_checkout", repo_path="/home/alex/src/api", branch_name="feature/login"), "ok", False),
)

GIT_EX2 = example(
    (call("git", "git_show", repo_path="/home/alex/src/api", revision="a1b2c3d"), "commit a1b2c3d", False)
)


def test_seeds_follow_the_reference_trajectory():
    files, dirs = live.fs_seed(FS_EX)
    assert files["/workspace/app/README.md"] == "# App\nhello\n"
    assert "/workspace/app/setup.py" in files and "/workspace/app/src" in dirs
    assert "/workspace/app/missing.txt" not in files  # the reference's read failed: the file is absent
    seed = live.git_seed(GIT_EX)
    assert seed["repo_paths"] == {"/home/alex/src/api"} and seed["branches"] == {"feature/login"}


def test_sandbox_paths_cannot_escape(tmp_path):
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    os.symlink("/etc", root / "docs" / "etc")
    box = sandbox_fs.Sandbox(root)
    assert box.resolve("/docs") == (root / "docs").resolve()
    assert box.resolve("/etc/passwd") == (root / "etc" / "passwd").resolve()  # absolute = inside the root
    assert box.resolve("a/../docs") == (root / "docs").resolve()
    for bad in ("../../etc/passwd", "/docs/../../x", "/docs/etc/passwd", "a\x00b", ""):
        with pytest.raises(Exception, match="outside the sandbox|Invalid path"):
            box.resolve(bad)


MEMO = call("sqlite", "access_mcp_resource", uri="memo://insights")
SQL_EX = example(
    (call("sqlite", "list_tables"), "[{'name': 'users'}, {'name': 'invoices'}]", False),
    (MEMO, "Business Intelligence Memo\n\n- Stock-outs cluster on Mondays.", False),
    servers=("sqlite",),
)


GRAPH = '{"entities": [{"name": "Alice", "entityType": "person", "observations": ["likes tea"]}], "relations": []}'
MEM_EX = example(
    (call("memory", "open_nodes", names=["Alice"]), GRAPH, False),
    (
        call("memory", "add_observations", observations=[{"entityName": "Bob", "contents": ["x"]}]),
        "[]",
        False,
    ),
    servers=("memory",),
)


def test_memory_seed():
    seed = live.memory_seed(MEM_EX)
    assert [e["name"] for e in seed["entities"]] == ["Alice", "Bob"]
    assert seed["entities"][0]["observations"] == ["likes tea"]


def test_sqlite_seed_and_authorizer(tmp_path):
    seed = live.sqlite_seed(SQL_EX)
    assert {"users", "orders", "invoices"} <= set(seed["tables"]) and "Stock-outs" in seed["memo"]
    conn = sandbox_sqlite.connect(tmp_path / "x.db")
    for sql in (f"ATTACH DATABASE '{tmp_path / 'evil.db'}' AS e", "PRAGMA database_list"):
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            conn.execute(sql)
    assert not (tmp_path / "evil.db").exists()


@pytest.mark.slow
def test_real_servers_time_git_filesystem():
    jobs = [
        live.Job(call("time", "get_current_time", timezone="Europe/Paris")),
        live.Job(call("time", "get_current_time", timezone="Not/AZone")),
        live.Job(call("time", "no_such_tool")),
        live.Job(README, FS_EX),
        live.Job(LISTING, FS_EX),
        live.Job(call("filesystem", "read_text_file", path="/workspace/app/missing.txt"), FS_EX),
        live.Job(call("filesystem", "read_text_file", path="../../../../etc/passwd"), FS_EX),
        live.Job(call("filesystem", "write_file", path="/workspace/app/new.txt", content="x"), FS_EX),
        live.Job(call("git", "git_status", repo_path="/home/alex/src/api"), GIT_EX),
        live.Job(
            call("git", "git_checkout", repo_path="/home/alex/src/api", branch_name="feature/login"), GIT_EX
        ),
        live.Job(call("git", "git_status", repo_path="/etc"), GIT_EX),  # not the repository the user named
        live.Job(call("git", "git_show", repo_path="/home/alex/src/api", revision="a1b2c3d"), GIT_EX2),
        live.Job(call("github", "list_issues", owner="a", repo="b")),
        live.Job(call("sqlite", "describe_table", table_name="invoices"), SQL_EX),
        live.Job(MEMO, SQL_EX),
        live.Job(call("sqlite", "read_query", query="SELECT count(*) AS n FROM users"), SQL_EX),
        live.Job(call("sqlite", "write_query", query="DROP TABLE users"), SQL_EX),
        live.Job(call("memory", "search_nodes", query="TEA"), MEM_EX),
        live.Job(
            call("memory", "add_observations", observations=[{"entityName": "Carol", "contents": ["y"]}]),
            MEM_EX,
        ),
    ]
    runner = live.LiveRunner(["time", "git", "filesystem", "sqlite", "memory"], timeout_s=20)
    out = runner.run(jobs)
    status = [o.status for o in out]
    assert status == [
        "ok",
        "is_error",
        "protocol_error",
        "ok",
        "ok",
        "is_error",
        "is_error",
        "ok",
        "ok",
        "ok",
        "is_error",
        "ok",
        "not_allowlisted",
        "ok",
        "ok",
        "ok",
        "is_error",
        "ok",
        "is_error",
    ], [(o.status, o.text[:80]) for o in out]
    assert '"timezone": "Europe/Paris"' in out[0].text and "Invalid timezone" in out[1].text
    assert out[3].text == "# App\nhello\n"  # seeded from the reference's tool result
    assert "[DIR] src" in out[4].text and "[FILE] setup.py" in out[4].text
    assert "outside the sandbox" in out[6].text and "root:" not in out[6].text
    assert "feature/login" in out[9].text
    assert "Initial commit" in out[11].text  # the commit the user named maps to the scratch repo's HEAD
    assert (
        "Stock-outs cluster on Mondays" in out[14].text
        and out[15].text == f"[{{'n': {len(live.sql_rows()['users'])}}}]"
    )
    assert '"name": "Alice"' in out[17].text and "Carol not found" in out[18].text
    assert runner.starts == {"time": 1, "git": 1, "filesystem": 1, "sqlite": 1, "memory": 1}  # one each


def test_normalised_results_keep_what_two_equivalent_calls_share():
    norm = live.normalise_result
    # SQL rows: column aliases and row order do not count, values do
    assert norm("[{'n': 3}, {'n': 5}]") == norm("[{'COUNT(*)': 5}, {'COUNT(*)': 3}]") != norm("[{'n': 4}]")
    assert norm('{"b": 1, "a": [1, 2]}') == norm('{ "a": [1, 2],\n "b": 1 }') != norm('{"a": [2, 1], "b": 1}')
    assert norm("line one\n  line   two ") == norm("line one line two")
    assert norm("wrote /tmp/mcpft-live-x/fs/a.txt", ["/tmp/mcpft-live-x"]) == "wrote <sandbox>/fs/a.txt"
    now = '{"timezone": "Asia/Tokyo", "datetime": "2026-12-01T14:08:36+09:00"}'
    later = '{"timezone": "Asia/Tokyo", "datetime": "2026-12-01T14:09:02.5+09:00"}'
    assert norm(now, volatile=True) == norm(later, volatile=True) and norm(now) != norm(later)
    assert norm(now, volatile=True) != norm(now.replace("+09:00", "+01:00"), volatile=True)
    # hostile text: literals only, never evaluated as code; huge text is compared as text
    assert norm("[__import__('os').system('false')]") == "[__import__('os').system('false')]"
    assert norm("[" + "[" * 5000 + "]" * 5000 + "]").startswith("[[[")
    assert norm("[{'a': 1}" + " " * 1_000_000 + "]") == "[{'a': 1} ]"
    for text in ("[{[1]: 2}]", "[{{}}]", "[{1, [2]}]", "[1e999999, -]", "[b'\\x00']"):  # unbuildable literals
        assert norm(text) == text


@pytest.mark.slow
def test_equivalent_calls_match_and_different_calls_do_not():
    """The same call twice on the same seed gives the same result and state on every server (fixed rows, file
    times, commit dates; the clock masked); a call that does something else differs in result or state."""
    paris = call("time", "get_current_time", timezone="Europe/Paris")
    count = call("sqlite", "read_query", query="SELECT COUNT(*) AS n FROM users WHERE country = 'France'")
    commit_ex = example(
        (call("git", "git_commit", repo_path="/home/alex/src/api", message="Add changelog"), "ok", False)
    )
    commit = commit_ex.messages[1].calls[0]
    write = call("filesystem", "write_file", path="/workspace/app/new.txt", content="x")
    add = call("memory", "add_observations", observations=[{"entityName": "Alice", "contents": ["y"]}])

    def ent(name):
        return {"name": name, "entityType": "person", "observations": []}

    pairs = [
        (paris, paris, None, (True, True)),
        (paris, call("time", "get_current_time", timezone="Europe/Berlin"), None, (False, True)),
        (count, count, SQL_EX, (True, True)),
        (
            count,
            call("sqlite", "read_query", query="select count(*) from users where country='France'"),
            SQL_EX,
            (True, True),
        ),
        (
            count,
            call("sqlite", "read_query", query="SELECT COUNT(*) FROM users WHERE country = 'Japan'"),
            SQL_EX,
            (False, True),
        ),
        (
            call("sqlite", "write_query", query="DELETE FROM events WHERE ts < '2024-01-01'"),
            call("sqlite", "write_query", query="DELETE FROM events WHERE ts < '2025-01-01'"),
            SQL_EX,
            (False, False),
        ),
        (commit, commit, commit_ex, (True, True)),
        (
            commit,
            call("git", "git_commit", repo_path="/home/alex/src/api", message="wip"),
            commit_ex,
            (False, False),
        ),
        (write, write, FS_EX, (True, True)),
        (
            write,
            call("filesystem", "write_file", path="/workspace/app/new.txt", content="y"),
            FS_EX,
            (True, False),
        ),
        (call("filesystem", "get_file_info", path="/workspace/app/README.md"),) * 2 + (FS_EX, (True, True)),
        (add, add, MEM_EX, (True, True)),
        (
            call("memory", "create_entities", entities=[ent("Dana"), ent("Eve")]),
            call("memory", "create_entities", entities=[ent("Eve"), ent("Dana")]),
            MEM_EX,
            (False, True),  # the graph is a set; the result lists them in the order given
        ),
        (
            call("sqlite", "create_table", query="CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)"),
            call("sqlite", "create_table", query="create table t(id integer primary key, note text)"),
            SQL_EX,
            (True, True),  # SQLite reads the same columns and types
        ),
        (
            add,
            call("memory", "add_observations", observations=[{"entityName": "Alice", "contents": ["z"]}]),
            MEM_EX,
            (False, False),
        ),  # its result names what it added
    ]
    jobs = [live.Job(c, ex) for a, b, ex, _ in pairs for c in (a, b)]
    out = live.LiveRunner(["time", "git", "filesystem", "sqlite", "memory"], timeout_s=20).run(jobs)
    assert all(o.ok for o in out), [(i, o.status, o.text[:80]) for i, o in enumerate(out) if not o.ok]
    got = [
        (a.result_key == b.result_key, a.state_key == b.state_key)
        for a, b in zip(out[::2], out[1::2], strict=True)
    ]
    assert got == [want for *_, want in pairs], [
        (p[0].tool, o.text[:60]) for p, o in zip(pairs, out[::2], strict=True)
    ]
    assert "Changes committed successfully" in out[12].text
    # the database holds the fixed rows: the reference's filter decides the count
    n_fr = sum(u[3] == "France" for u in live.sql_rows()["users"])
    assert out[4].text == f"[{{'n': {n_fr}}}]" and n_fr != sum(
        u[3] == "Japan" for u in live.sql_rows()["users"]
    )


@pytest.mark.slow
def test_hung_and_crashed_servers_are_scored_and_evaluation_goes_on():
    jobs = [
        live.Job(call("faulty", "echo", text="one")),
        live.Job(call("faulty", "hang")),
        live.Job(call("faulty", "echo", text="two")),
        live.Job(call("faulty", "crash")),
        live.Job(call("faulty", "echo", text="three")),
        live.Job(call("faulty", "fail", message="nope")),
    ]
    runner = live.LiveRunner(["faulty"], timeout_s=1.5, specs=FAULTY)
    out = runner.run(jobs)
    assert [o.status for o in out] == ["ok", "timeout", "ok", "crashed", "ok", "is_error"]
    assert [out[i].text for i in (0, 2, 4)] == ["one", "two", "three"] and out[5].text.endswith("nope")
    assert runner.starts == {"faulty": 3}  # restarted after the hang and after the crash


def test_allowlist_is_checked():
    with pytest.raises(ValueError, match="no live recipe"):
        live.LiveRunner(["time", "rm-rf-server"])
    out = live.LiveRunner([], specs=FAULTY).run([live.Job(call("faulty", "echo", text="x"))])
    assert out[0].status == "not_allowlisted"


def test_a_server_that_cannot_start_is_scored(bars):
    specs = {"broken": live.ServerSpec("mcpft_lib.mcp.servers.no_such_module")}
    out = live.LiveRunner(["broken"], specs=specs, start_timeout_s=10).run(
        [live.Job(call("broken", "x"))] * 3, desc="live replay"
    )
    assert [o.status for o in out] == ["start_failed"] * 3
    (b,) = bars  # calls skipped after two failed starts count as done too
    assert (b["desc"], b["total"], b["steps"], b["bar"].n) == ("live replay", 3, [1, 1, 1], 3)


@pytest.mark.slow
def test_a_named_replay_counts_the_calls_done(bars):
    """One bar over all calls: a call on a server that is not allowlisted is done at once, the others one by
    one as each answers; without a name, no bar."""
    jobs = [
        live.Job(call("faulty", "echo", text="one")),
        live.Job(call("time", "get_current_time", timezone="UTC")),
        live.Job(call("faulty", "fail", message="nope")),
        live.Job(call("faulty", "echo", text="two")),
    ]
    runner = live.LiveRunner(["faulty"], timeout_s=5, specs=FAULTY)
    out = runner.run(jobs, desc="live replay")
    assert [o.status for o in out] == ["ok", "not_allowlisted", "is_error", "ok"]
    (b,) = bars
    assert (b["desc"], b["total"], b["steps"], b["bar"].n) == ("live replay", 4, [1, 1, 1, 1], 4)
    runner.run(jobs[:1])
    assert len(bars) == 1


def test_call_outcomes_are_classified_one_way_for_the_evaluation_and_the_agent_loop():
    from types import SimpleNamespace

    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

    fail = live.failure_outcome
    assert (fail(MCPError(REQUEST_TIMEOUT, "slow"), 2.5).status, fail(TimeoutError(), 2.5).text) == (
        "timeout",
        "no answer in 2.5 s",
    )
    assert fail(MCPError(CONNECTION_CLOSED, "gone"), 1).status == "crashed"
    bad = fail(MCPError(-32602, "Unknown tool: nope"), 1)
    assert (bad.status, bad.text) == ("protocol_error", "-32602: Unknown tool: nope")
    assert fail(BrokenPipeError("x" * 5000), 1).status == "crashed"
    assert len(fail(BrokenPipeError("x" * 5000), 1).text) == live.RESULT_CHARS

    class Result(SimpleNamespace):
        def model_dump(self, **kw):
            return {"content": [{"type": "text", "text": self.text}]}

    assert live.result_outcome("read_query", Result(is_error=True, text="no such table")).status == "is_error"
    ok = live.result_outcome("read_query", Result(is_error=False, text="[]"))
    assert (ok.status, ok.text) == ("ok", "[]")
    # a resource read has no isError: an answer is a success
    assert live.result_outcome(live.RESOURCE_TOOL, Result(text="memo")).as_dict()["status"] == "ok"
