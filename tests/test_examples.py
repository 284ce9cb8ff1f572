"""Example-usage support: the agent loop against real MCP servers (scripted model), the HTTP inference endpoint on
the tiny model, and the runner executing example notebooks into the run folder (a failing one fails the run)."""

import json
from pathlib import Path

import nbformat
import pytest

from mcpft_lib import examples
from mcpft_lib.core.schema import ToolCall
from mcpft_lib.mcp import catalogs, xml_calls

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def servers():
    return catalogs.load_catalogs(["time", "filesystem"])


def _call(server, tool, **args):
    return xml_calls.render_call(ToolCall(server=server, tool=tool, arguments=args))


def test_the_five_examples_exist():
    assert examples.example_notebooks() == [
        "01_inference_transformers",
        "02_adapter_peft",
        "03_gguf",
        "04_mcp_agent_loop",
        "05_inference_api",
    ]


@pytest.mark.slow
def test_agent_loop_round_trip_on_a_live_time_server(servers):
    turns = [_call("time", "get_current_time", timezone="Asia/Tokyo"), "It is evening in Tokyo."]
    with examples.LiveTools(allow=("time",)) as tools:
        r = examples.agent_loop(examples.scripted_reply(turns), tools, servers, "What time is it in Tokyo?")
    assert r["answered"] and r["round_trip"] and r["calls"] == r["calls_ok"] == 1
    tool_msg = r["messages"][2]
    assert tool_msg["role"] == "tool" and json.loads(tool_msg["content"])["timezone"] == "Asia/Tokyo"
    assert [s["kind"] for s in r["steps"]] == ["call", "answer"] and r["tools"] == ["time.get_current_time"]
    assert "tool time.get_current_time" in examples.transcript_text(r)


@pytest.mark.slow
def test_agent_loop_feeds_back_errors_and_keeps_server_state(servers):
    """A malformed turn gets an error message back; a bad argument is an isError result fed back; a file written
    in one step is read in the next (the server stays up for the conversation)."""
    turns = [
        "<use_mcp_tool><server_name>filesystem</server_name><tool_name>write_file",  # cut off
        _call("time", "get_current_time", timezone="Not/AZone"),
        _call("filesystem", "write_file", path="/notes.txt", content="remember the milk"),
        _call("filesystem", "read_text_file", path="/notes.txt"),
        "The note says: remember the milk.",
    ]
    seen = []

    def reply(chat):
        seen.append(chat)
        return examples.scripted_reply(turns[len(seen) - 1 :])(chat)

    with examples.LiveTools(allow=("time", "filesystem")) as tools:
        r = examples.agent_loop(reply, tools, servers, "Save a note, then read it back.", max_steps=6)
    kinds = [s["kind"] for s in r["steps"]]
    assert kinds == ["malformed", "call", "call", "call", "answer"]
    assert "could not be parsed" in seen[1][-1]["content"]  # the error went back to the model
    statuses = [s["status"] for s in r["steps"] if s["kind"] == "call"]
    assert statuses[0] in ("is_error", "protocol_error") and statuses[1:] == ["ok", "ok"]
    assert r["steps"][3]["result"] == "remember the milk"
    assert r["answered"] and r["round_trip"] and r["calls_ok"] == 2
    assert r["tools"] == ["time.get_current_time", "filesystem.write_file", "filesystem.read_text_file"]


def test_agent_loop_step_limit_and_allowlist(servers):
    forever = examples.scripted_reply([_call("git", "git_status", repo_path="/x")] * 10)
    with examples.LiveTools(allow=("time",)) as tools:
        r = examples.agent_loop(forever, tools, servers, "status?", max_steps=3)
    assert not r["answered"] and not r["round_trip"] and r["model_turns"] == 3
    assert {s["status"] for s in r["steps"]} == {"not_allowlisted"}
    assert all(m["is_error"] for m in r["messages"] if m["role"] == "tool")


def test_agent_loop_empty_reply_is_not_an_answer(servers):
    with examples.LiveTools(allow=("time",)) as tools:
        r = examples.agent_loop(lambda chat: "  \n", tools, servers, "hello")
    assert not r["answered"] and r["steps"][0]["kind"] == "empty"
    with pytest.raises(ValueError, match="empty"):
        examples.agent_loop(lambda chat: "", None, servers, "  ")


def test_live_tools_refuses_unknown_servers():
    with pytest.raises(ValueError, match="no live recipe"):
        examples.LiveTools(allow=("time", "slack"))


@pytest.fixture(scope="module")
def tiny():
    from mcpft_lib.config import load_params
    from mcpft_lib.modeling import loaders

    p = load_params(ROOT / "params/smoke.yaml")
    return loaders.load_model(p.model)


@pytest.mark.slow
def test_inference_server_answers_refuses_and_stops(tiny):
    import urllib.error
    import urllib.request

    model, tok = tiny
    chat = [{"role": "user", "content": "What time is it?"}]
    with examples.InferenceServer(model, tok, name="tiny", max_tokens=4) as srv:
        url = srv.url
        with urllib.request.urlopen(f"{url}/health", timeout=10) as r:
            assert json.loads(r.read()) == {"status": "ok", "model": "tiny", "requests": 0}
        status, body = examples.post_json(f"{url}/v1/chat/completions", {"messages": chat, "max_tokens": 3})
        assert status == 200, body
        msg = body["choices"][0]["message"]
        assert msg["role"] == "assistant" and isinstance(msg["content"], str) and msg["mcp_calls"] == []
        expected = examples.model_reply(model, tok, 3)(chat)
        assert msg["content"] == expected  # the endpoint serves the model's own greedy reply
        for bad, field in (
            ({"messages": "hi"}, "messages"),
            ([1, 2], "body"),
            ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
            ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
            ({"messages": chat, "max_tokens": True}, "max_tokens"),
        ):
            status, body = examples.post_json(f"{url}/v1/chat/completions", bad)
            assert status == 400 and body["error"].startswith(field), body
        assert examples.post_json(f"{url}/nope", {})[0] == 404
        req = urllib.request.Request(f"{url}/v1/chat/completions", data=b"{not json", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 400
        req = urllib.request.Request(
            f"{url}/v1/chat/completions", data=b"x", headers={"Content-Length": str(examples.MAX_BODY + 1)}
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 413
        assert srv.requests == 1
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/health", timeout=5)


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
def test_agent_loop_native_dialect(servers):
    """The same loop in the native dialect: a Gemma-style ```tool_call block, the result fed back as a tool
    message of the chat template's own format."""
    call = '```tool_call\n{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}\n```'
    seen = []

    def reply(chat):
        seen.append(chat)
        return [call, "Done."][len(seen) - 1]

    with examples.LiveTools(allow=("time",)) as tools:
        r = examples.agent_loop(reply, tools, servers, "UTC time?", dialect="native", family="gemma")
    assert r["round_trip"] and r["answered"] and r["calls_ok"] == 1
    assert seen[0][0].get("tools")  # native: the tools ride on the system message for the template
    tool_turn = seen[1][-1]
    assert tool_turn["role"] == "tool" and tool_turn["name"] == "time__get_current_time"
    assert json.loads(tool_turn["content"])["timezone"] == "UTC"


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
