"""Example-usage support: the agent loop against real MCP servers through `mcpft serve`'s endpoint (scripted model),
and the runner executing example notebooks into the run folder (a failing one fails the run)."""

import json
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from mcpft_lib import examples
from mcpft_lib.core.schema import ToolCall
from mcpft_lib.mcp import catalogs, xml_calls
from mcpft_lib.serve.app import ServerThread, create_app
from mcpft_lib.serve.backends import ScriptedBackend, Served

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def servers():
    return catalogs.load_catalogs(["time", "filesystem"])


def _call(server, tool, **args):
    return xml_calls.render_call(ToolCall(server=server, tool=tool, arguments=args))


def test_the_six_examples_exist():
    assert examples.example_notebooks() == [
        "01_inference_transformers",
        "02_adapter_peft",
        "03_gguf",
        "04_mcp_agent_loop",
        "05_inference_api",
        "06_bring_your_own_server",
    ]


@pytest.fixture(scope="module")
def params():
    from mcpft_lib.config import load_params

    return load_params(ROOT / "params/smoke.yaml")  # xml dialect


@contextmanager
def scripted(params, replies, dialect=None, family="gemma"):
    """(root url, backend) of `mcpft serve` with a scripted model on a free port."""
    backend = ScriptedBackend(replies, family=family)
    app = create_app(Served(backend, params, "scripted", "test"), dialect=dialect)
    with ServerThread(app) as srv:
        yield srv.url, backend


@pytest.mark.slow
def test_agent_loop_round_trip_on_a_live_time_server(servers, params):
    turns = [_call("time", "get_current_time", timezone="Asia/Tokyo"), "It is evening in Tokyo."]
    with scripted(params, turns) as (url, _), examples.LiveTools(allow=("time",)) as tools:
        r = examples.agent_loop(url, tools, servers, "What time is it in Tokyo?")
    assert r["answered"] and r["round_trip"] and r["calls"] == r["calls_ok"] == 1
    tool_msg = r["messages"][2]
    assert tool_msg["role"] == "tool" and json.loads(tool_msg["content"])["timezone"] == "Asia/Tokyo"
    assert [s["kind"] for s in r["steps"]] == ["call", "answer"] and r["tools"] == ["time.get_current_time"]
    assert "tool time.get_current_time" in examples.transcript_text(r)
    sent = r["chat"]  # what an OpenAI client sends: the call, then its result under the call's id
    assert sent[1]["tool_calls"][0]["function"]["name"] == "time__get_current_time"
    assert sent[2]["role"] == "tool" and sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"]


@pytest.mark.slow
def test_agent_loop_feeds_back_errors_and_keeps_server_state(servers, params):
    """A malformed turn gets an error message back; a bad argument is an isError result fed back; a file written
    in one step is read in the next (the server stays up for the conversation)."""
    turns = [
        "<use_mcp_tool><server_name>filesystem</server_name><tool_name>write_file",  # cut off
        _call("time", "get_current_time", timezone="Not/AZone"),
        _call("filesystem", "write_file", path="/notes.txt", content="remember the milk"),
        _call("filesystem", "read_text_file", path="/notes.txt"),
        "The note says: remember the milk.",
    ]
    with scripted(params, turns) as (url, backend), examples.LiveTools(allow=("time", "filesystem")) as tools:
        r = examples.agent_loop(url, tools, servers, "Save a note, then read it back.", max_steps=6)
    seen = [b[0] for b in backend.batches]  # the prompt the model saw at each step
    kinds = [s["kind"] for s in r["steps"]]
    assert kinds == ["malformed", "call", "call", "call", "answer"]
    assert "could not be used" in seen[1][-1]["content"]  # the error went back to the model
    assert seen[1][-2] == {"role": "assistant", "content": turns[0]}  # its own raw turn before it
    statuses = [s["status"] for s in r["steps"] if s["kind"] == "call"]
    assert statuses[0] in ("is_error", "protocol_error") and statuses[1:] == ["ok", "ok"]
    assert seen[2][-1]["content"].startswith("[use_mcp_tool for 'time/get_current_time'] Result:\nError:\n")
    assert r["steps"][3]["result"] == "remember the milk"
    assert r["answered"] and r["round_trip"] and r["calls_ok"] == 2
    assert r["tools"] == ["time.get_current_time", "filesystem.write_file", "filesystem.read_text_file"]


def test_agent_loop_step_limit_and_allowlist(servers, params):
    forever = [_call("git", "git_status", repo_path="/x")] * 10
    with scripted(params, forever) as (url, _), examples.LiveTools(allow=("time",)) as tools:
        r = examples.agent_loop(url, tools, servers + catalogs.load_catalogs(["git"]), "status?", max_steps=3)
    assert not r["answered"] and not r["round_trip"] and r["model_turns"] == 3
    assert {s["status"] for s in r["steps"]} == {"not_allowlisted"}
    assert all(m["is_error"] for m in r["messages"] if m["role"] == "tool")


def test_agent_loop_calls_of_tools_not_offered_are_not_executed(servers, params):
    """A call of a server the request did not list comes back from the server as content with a warning: the
    loop feeds the error back and never runs it."""
    with scripted(params, [_call("git", "git_status", repo_path="/x"), "ok"]) as (url, _):
        with examples.LiveTools(allow=("time",)) as tools:
            r = examples.agent_loop(url, tools, servers, "status?")
    assert [s["kind"] for s in r["steps"]] == ["malformed", "answer"] and r["calls"] == 0
    assert "git.git_status: not among the request's tools" in r["steps"][0]["error"]


def test_agent_loop_empty_reply_is_not_an_answer(servers, params):
    with scripted(params, ["  \n"]) as (url, _), examples.LiveTools(allow=("time",)) as tools:
        r = examples.agent_loop(url, tools, servers, "hello")
    assert not r["answered"] and r["steps"][0]["kind"] == "empty"
    with pytest.raises(ValueError, match="empty"):
        examples.agent_loop(url, None, servers, "  ")


def test_agent_loop_reports_the_servers_refusal(servers, params):
    with scripted(params, []) as (url, _), examples.LiveTools(allow=("time",)) as tools:
        with pytest.raises(RuntimeError, match="HTTP 400: max_tokens"):
            examples.agent_loop(url, tools, servers, "hello", max_tokens=-1)


def test_live_tools_refuses_unknown_servers():
    with pytest.raises(ValueError, match="no live recipe"):
        examples.LiveTools(allow=("time", "slack"))


def _notebook(path: Path, code: str) -> None:
    params = nbformat.v4.new_code_cell(
        'params_file: str = ""  # p\noverrides: list = []  # o\nrun_dir: str = ""  # r'
    )
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# t\n> t"), params, nbformat.v4.new_code_cell(code)]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.mark.notebook
def test_runner_executes_examples_after_05_and_a_failing_one_fails_the_run(isolated_reports):
    from mcpft_lib.config import load_params
    from mcpft_lib.report import runner

    nb_dir = isolated_reports / "nbs"
    _notebook(nb_dir / "05_documentation.ipynb", "print('docs')")
    _notebook(nb_dir / "examples" / "a_ok.ipynb", "from pathlib import Path\nprint(Path(run_dir).name)")
    _notebook(nb_dir / "examples" / "b_bad.ipynb", "raise RuntimeError('example broke')")
    _notebook(nb_dir / "examples" / "c_after.ipynb", "print('never')")
    p = load_params(ROOT / "params/smoke.yaml")
    run = runner.run_pipeline(p, "smoke.yaml", only="05", notebooks_dir=nb_dir, log=lambda *a, **k: None)
    info = run.info()
    assert info["status"] == "failed" and info["notebooks"]["05_documentation"]["status"] == "ok"
    ex = info["examples"]
    assert (
        ex["a_ok"]["status"] == "ok"
        and ex["b_bad"]["status"] == "failed"
        and ex["c_after"]["status"] == "skipped"
    )
    assert "example broke" in ex["b_bad"]["error"]
    assert (run.report_dir / "examples" / "a_ok.html").is_file() and ex["a_ok"][
        "html"
    ] == "examples/a_ok.html"
    out = nbformat.read(run.report_dir / "examples" / "a_ok.ipynb", as_version=4)
    assert run.id in out.cells[-1].outputs[0]["text"]  # executed against this run
    page = (run.report_dir / "index.html").read_text()
    assert "Example-usage notebooks" in page and "href='examples/a_ok.html'" in page


@pytest.mark.slow
def test_agent_loop_native_dialect(servers, params):
    """The same loop in the native dialect: a Gemma-style ```tool_call block, the result fed back as a tool
    message of the chat template's own format."""
    call = '```tool_call\n{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}\n```'
    with scripted(params, [call, "Done."], dialect="native") as (url, backend):
        with examples.LiveTools(allow=("time",)) as tools:
            r = examples.agent_loop(url, tools, servers, "UTC time?")
    seen = [b[0] for b in backend.batches]
    assert r["round_trip"] and r["answered"] and r["calls_ok"] == 1
    assert seen[0][0].get("tools")  # native: the tools ride on the system message for the template
    tool_turn = seen[1][-1]
    assert tool_turn["role"] == "tool" and tool_turn["name"] == "time__get_current_time"
    assert json.loads(tool_turn["content"])["timezone"] == "UTC"


@pytest.mark.slow
def test_reference_server_replays_an_examples_turns_through_the_loop(servers, params):
    """What notebook 04 does first: the reference turns stand in for the model behind the real endpoint."""
    from mcpft_lib.core.schema import Example, Message

    call = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Europe/Paris"})
    ex = Example(id="ref", servers=servers, category="single_call", messages=[
        Message(role="user", content="Time in Paris?"), Message(role="assistant", calls=[call]),
        Message(role="tool", content="{}", call=call), Message(role="assistant", content="It is noon.")])  # fmt: skip
    assert examples.pick_live_example([ex], ("time",)) is ex
    with (
        ServerThread(examples.reference_server(ex, params)) as srv,
        examples.LiveTools(allow=("time",)) as tools,
    ):
        r = examples.agent_loop(srv.url, tools, ex.servers, "Time in Paris?")
    assert r["round_trip"] and r["answered"] and r["tools"] == ["time.get_current_time"]
    assert r["messages"][-1] == {"role": "assistant", "content": "It is noon."}


def test_pick_live_example_prefers_clean_short_trajectories_on_preferred_servers(servers):
    from mcpft_lib.core.schema import Example, Message

    def ex(i, *turns):
        msgs = [Message(role="user", content="do it")]
        for server, is_error in turns:
            c = ToolCall(server=server, tool="t")
            msgs += [
                Message(role="assistant", calls=[c]),
                Message(role="tool", content="r", call=c, is_error=is_error),
            ]
        return Example(
            id=str(i),
            servers=servers,
            messages=[*msgs, Message(role="assistant", content="done")],
            category="c",
        )

    pool = [
        ex(0, ("sqlite", False)),  # a server not allowed
        ex(1, ("time", True)),  # the reference call failed
        ex(2, ("git", False)),
        ex(3, ("time", False), ("time", False)),
        ex(4, ("time", False)),
    ]
    assert examples.pick_live_example(pool, ("time", "git")).id == "4"
    assert examples.pick_live_example(pool[:3], ("time", "git")).id == "2"
    with pytest.raises(ValueError, match="calls only live servers"):
        examples.pick_live_example(pool[:2], ("time", "git"))
