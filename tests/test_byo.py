"""Bring your own MCP server: the help-desk server shipped as an example (harvested over stdio, its calls run),
your own servers in `eval.live.commands` (checked before any work, replayed live and scored), and notebook 06's
quick profile (`examples.byo_params`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from mcpft_lib import cli, examples
from mcpft_lib.config import ParamsError, load_params
from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message, ToolCall
from mcpft_lib.data import validate
from mcpft_lib.evaluation import runner as eval_runner
from mcpft_lib.evaluation.items import turn_items
from mcpft_lib.mcp import catalogs, live, pool

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "params" / "smoke.yaml"
SERVER = examples.shipped_server()
# the desk's date fixed, so that a ticket created on two fresh desks is the same row
COMMAND = [sys.executable, str(SERVER), "--db", "{dir}/helpdesk.db", "--today", "2025-07-01"]
TOOLS = ["create_ticket", "get_ticket", "search_tickets", "update_status", "assign_ticket", "add_comment",
         "ticket_report"]  # fmt: skip


def commands(**cmds) -> str:
    """An override setting `eval.live.commands`."""
    return f"eval.live.commands={json.dumps(cmds)}"


def call(tool: str, **arguments) -> ToolCall:
    return ToolCall(server="helpdesk", tool=tool, arguments=arguments)


def test_the_shipped_server_is_an_example_outside_the_pool_and_the_catalogs():
    assert (
        SERVER.is_file() and SERVER.relative_to(ROOT).as_posix() == "notebooks/examples/servers/helpdesk.py"
    )
    assert "helpdesk" not in pool.pool_names() and "helpdesk" not in catalogs.catalog_names()


# ------------------------------------------------------------------------------ eval.live.commands, checked


@pytest.mark.parametrize(
    "cmds, message",
    [
        ({"mine": ["no-such-mcp-server-binary"]},
         "eval.live.commands.mine: command 'no-such-mcp-server-binary' not found on PATH"),
        ({"mine": [sys.executable, "servers/missing.py"]},
         f"eval.live.commands.mine: argument 'servers/missing.py' names no file (looked at {ROOT}/servers/missing.py)"),
        ({"mine": ["./README.md"]}, "eval.live.commands.mine: command './README.md' is not an executable file"),
        ({"mine": []}, "eval.live.commands.mine: give the command as a list, [COMMAND, ARGS...], got []"),
        ({"mine": ["  "]}, "eval.live.commands.mine: give the command as a list"),
        ({"mine": "python server.py"}, "eval.live.commands.mine: Input should be a valid list"),
        ({"time": [sys.executable, "-V"]}, "eval.live.commands.time: 'time' is a built-in live server"),
        ({"My-Desk": [sys.executable]}, "eval.live.commands.My-Desk: a server name is a lowercase slug"),
    ],
)  # fmt: skip
def test_a_command_that_cannot_run_is_a_params_error_naming_its_key(cmds, message):
    with pytest.raises(ParamsError) as e:
        load_params(SMOKE, [commands(**cmds)])
    assert str(e.value).startswith(f"invalid params: --set: {message}"), str(e.value)


def test_a_bad_command_in_a_profile_names_its_file_and_line(tmp_path):
    profile = tmp_path / "mine.yaml"
    entry = f"      desk: [{sys.executable}, servers/desk.py]"
    profile.write_text(f"run:\n  profile: mine\neval:\n  live:\n    commands:\n{entry}\n")
    with pytest.raises(
        ParamsError, match=r"mine.yaml:6: eval.live.commands.desk: argument 'servers/desk.py'"
    ):
        load_params(profile)


def test_paths_start_at_the_project_root_and_the_folder_placeholder_is_kept():
    rel = SERVER.relative_to(ROOT).as_posix()
    p = load_params(
        SMOKE, [commands(helpdesk=[sys.executable, rel, "--db", "{dir}/desk.db", "--verbose", "x"])]
    )
    assert p.eval.live.commands == {
        "helpdesk": [sys.executable, str(SERVER), "--db", "{dir}/desk.db", "--verbose", "x"]
    }
    # off by default: the default data and runs are unchanged
    assert load_params(SMOKE).eval.live.commands == {}


def test_mcpft_run_refuses_a_bad_command_before_a_run_starts(isolated_reports, capsys, monkeypatch):
    def never(*a, **k):
        raise AssertionError("the pipeline started")

    monkeypatch.setattr(cli.runner, "run_pipeline", never)
    code = cli.main(["run", str(SMOKE), "--set", commands(mine=["no-such-mcp-server-binary", "--stdio"])])
    assert code == 2
    assert (
        "eval.live.commands.mine: command 'no-such-mcp-server-binary' not found on PATH"
        in capsys.readouterr().err
    )
    assert not (isolated_reports / "reports").exists()


def test_mcpft_run_starts_your_server_first_and_refuses_one_that_does_not_start(isolated_reports, capsys,
                                                                                monkeypatch):  # fmt: skip
    """A command that runs but is no MCP server (it exits at once) is found by starting it once, before the
    pipeline and so before any model loads; `--only` without the evaluation does not start it."""
    started = []
    monkeypatch.setattr(cli.runner, "run_pipeline", lambda *a, **k: started.append(k) or _Run())
    quitter = [sys.executable, "-c", "import sys; print('no API key given', file=sys.stderr); sys.exit(3)"]
    t0 = time.monotonic()
    code = cli.main(["run", str(SMOKE), "--set", commands(quitter=quitter)])
    err = capsys.readouterr().err
    assert code == 2 and not started, err
    assert "eval.live.commands.quitter: the server did not start" in err and "exited with code 3" in err
    assert "no API key given" in err
    assert time.monotonic() - t0 < 15
    assert cli.main(["run", str(SMOKE), "--only", "01", "--set", commands(quitter=quitter)]) == 0 and started


class _Run:
    def info(self):
        return {"status": "ok"}


# ------------------------------------------------------------------------------------------- the server, live


@pytest.fixture(scope="module")
def harvested(tmp_path_factory):
    """`mcpft catalogs harvest helpdesk -- python notebooks/examples/servers/helpdesk.py`: (catalog file, Server)."""
    out = tmp_path_factory.mktemp("byo")
    assert (
        cli.main(["catalogs", "harvest", "helpdesk", "--out", str(out), "--", sys.executable, str(SERVER)])
        == 0
    )
    return out / "helpdesk.json", catalogs.load_catalog("helpdesk", out)


@pytest.fixture(scope="module")
def desk_params():
    return load_params(SMOKE, [commands(helpdesk=COMMAND)])


@pytest.mark.slow
def test_the_shipped_server_harvested_over_stdio(harvested):
    path, server = harvested
    block = json.loads(path.read_text())["harvest"]
    assert (
        block["server_info"]["name"] == "helpdesk" and block["tools_listed"] == 7 and block["rejected"] == []
    )
    assert [t.name for t in server.tools] == TOOLS and server.description.startswith("IT help desk")
    assert [(r.uri, r.name) for r in server.resources] == [
        ("helpdesk://agents", "agents"),
        ("helpdesk://sla", "sla"),
    ]
    create = server.tool("create_ticket").inputSchema
    assert set(create["required"]) == {"title", "description", "category", "requester_email"}
    props = create["properties"]
    assert props["category"]["enum"] == ["hardware", "software", "network", "access", "other"]
    assert "pattern" in props["requester_email"] and props["tags"]["maxItems"] == 5
    assert {"format": "date", "type": "string"} in props["due_date"]["anyOf"]
    limit = server.tool("search_tickets").inputSchema["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 50, 10)
    report = server.tool("ticket_report").inputSchema
    assert report["required"] == ["group_by"] and "period" in report["properties"]  # an optional object
    assert report["$defs"]["Period"]["required"] == ["start"]


@pytest.mark.slow
def test_calls_run_on_the_shipped_server_each_on_a_fresh_desk(desk_params):
    runner = eval_runner.live_runner(desk_params)
    assert runner.allow == [*desk_params.eval.live.servers, "helpdesk"]  # beside the built-in ones
    calls = [
        call(
            "create_ticket",
            title="VPN drops",
            description="Every hour",
            category="network",
            requester_email="lena.fischer@example.com",
            priority="high",
            tags=["remote"],
        ),  # fmt: skip
        call("ticket_report", group_by="status"),
        call("ticket_report", group_by="category", period={"start": "2024-06-01", "days": 30}),
        call("get_ticket", ticket_id=5000),
        call("search_tickets", query="VPN", limit=0),
        ToolCall(server="helpdesk", tool=RESOURCE_TOOL, arguments={"uri": "helpdesk://sla"}),
    ]
    out = runner.run([live.Job(c) for c in calls])
    assert [o.status for o in out[:3]] == ["ok"] * 3 and out[5].status == "ok", [o.text[:200] for o in out]
    created = json.loads(out[0].text)
    assert created["id"] == 1201 and created["status"] == "open" and created["created"] == "2025-07-01"
    assert created["priority"] == "high" and created["tags"] == ["remote"]
    everything = json.loads(out[1].text)
    assert everything["total"] == 1200  # the ticket created before is gone: every call starts on a fresh desk
    month = json.loads(out[2].text)
    assert 0 < month["total"] < 1200
    assert out[3].status == "is_error" and "ticket 5000 not found" in out[3].text
    assert out[4].status in ("is_error", "protocol_error") and "limit" in out[4].text
    assert json.loads(out[5].text)["first_response_hours"]["urgent"] == 4
    assert runner.starts == {"helpdesk": len(calls)}
    assert all(o.state_key for o in out if o.ok)  # the desk's database was read


@pytest.mark.slow
def test_live_replay_scores_right_and_wrong_calls_on_your_server(harvested, desk_params):
    """What notebooks 04 and 06 do with the LiveRunner (no model): each turn's reference call and the models'
    calls run on the user's server; a right call matches the reference's result and rows, a different
    assignee runs but leaves other rows, a ticket that does not exist fails."""
    _, server = harvested

    def example(i, ref):
        msgs = [Message(role="user", content="do it"), Message(role="assistant", calls=[ref]),
                Message(role="tool", content="{}", call=ref), Message(role="assistant", content="Done.")]  # fmt: skip
        return Example(id=f"desk{i}", servers=[server], category="single_call", messages=msgs)

    assign = call("assign_ticket", ticket_id=7, assignee="chen.li")
    report = call("ticket_report", group_by="priority")
    items = turn_items([example(0, assign), example(1, report)], "xml", eval_set="helpdesk")
    first = [it for it in items if it["turn"] == 0]
    answers = {
        "right": [assign, call("ticket_report", group_by="priority", period=None)],  # the default spelled out
        "wrong": [
            call("assign_ticket", ticket_id=7, assignee="erik.lund"),
            call("get_ticket", ticket_id=99999),
        ],
    }
    results = {
        name: {
            "rows": [
                {"id": it["id"], "pred_call": c.model_dump()} for it, c in zip(first, calls, strict=True)
            ]
        }
        for name, calls in answers.items()
    }
    results["silent"] = {"rows": [{"id": it["id"], "pred_call": None} for it in first]}
    eval_runner.attach_live(results, items, eval_runner.live_runner(desk_params))

    def scored(name):
        return [(r["executed_ok"], r["exec_match"], r["exec_status"]) for r in results[name]["rows"]]

    assert scored("right") == [(True, True, "ok"), (True, True, "ok")]
    assert scored("wrong") == [(True, False, "ok"), (False, False, "is_error")]
    assert results["wrong"]["rows"][0]["exec_differs"] == "result_and_state_differ"
    assert scored("silent") == [(False, False, "no_call")] * 2
    assert results["right"]["stats"]["live"]["status"] == {"ok": 2}


# ------------------------------------------------------------------------------- notebook 06's quick profile


@pytest.mark.slow
def test_byo_params_trains_the_quick_way_on_your_server(harvested):
    path, _ = harvested
    p = load_params(SMOKE)
    b = examples.byo_params(p, path, COMMAND, n_examples=48, steps=5)
    assert b.data.synth.catalogs == [str(path.resolve())] and b.data.synth.own_share == 1.0
    assert (b.data.synth.n_examples, b.data.synth.held_out_servers, b.data.held_out_servers) == (48, 0, [])
    assert (b.train.max_steps, b.train.epochs, b.train.rank_sweep) == (5, None, [])
    assert b.eval.live.commands == {"helpdesk": COMMAND}
    assert (b.model, b.data.dialect, b.train.lora) == (
        p.model,
        p.data.dialect,
        p.train.lora,
    )  # the run's own profile
    with pytest.raises(
        ParamsError, match=r"byo_params: eval.live.commands.helpdesk: command 'no-such-binary'"
    ):
        examples.byo_params(p, path, ["no-such-binary"], 48, 5)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        examples.byo_params(p, path.with_name("missing.json"), COMMAND, 48, 5)


@pytest.mark.slow
def test_generated_examples_of_your_server_replay_on_it(harvested, desk_params, tmp_path):
    """`mcpft data generate` on the harvested catalog: the kind of examples notebook 06 scores (the server under
    its real tool names) have reference calls that the running server executes (else their live metrics go
    unscored)."""
    path, _ = harvested
    assert (
        cli.main(["data", "generate", "--catalog", str(path), "--n", "120", "--out", str(tmp_path / "g")])
        == 0
    )
    ex, _ = validate.load_jsonl(tmp_path / "g" / "train.jsonl")
    mine = examples.server_examples(ex, "helpdesk")
    assert mine and len(mine) < len(ex)  # masked names (meta.renamed) are left out
    assert all(not e.meta.get("renamed") and any(s.name == "helpdesk" for s in e.servers) for e in mine)
    items = [
        it for it in turn_items(mine, "xml") if it["ref"].calls and it["ref"].calls[0].server == "helpdesk"
    ]
    runner = eval_runner.live_runner(desk_params)
    out = runner.run([live.Job(it["ref"].calls[0], it["example"]) for it in items[:16]])
    ok = sum(o.ok for o in out)
    assert len(out) == 16 and ok >= 0.9 * len(out), [(o.status, o.text[:100]) for o in out if not o.ok]
