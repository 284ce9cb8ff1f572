"""`mcpft serve`: the OpenAI-compatible endpoint, driven by the official `openai` client over real HTTP (uvicorn in a
background thread). Protocol tests use a scripted backend (fixed raw model text) so no model is needed; the text
still goes through the project's renderer and parser. One slow test serves the tiny random model end to end."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import openai
import pytest

from mcpft_lib import examples
from mcpft_lib.config import load_params
from mcpft_lib.core.schema import Example, Message, Resource, Server, ToolCall
from mcpft_lib.mcp import catalogs, dialects, xml_calls
from mcpft_lib.serve import protocol
from mcpft_lib.serve.app import ServerThread, create_app
from mcpft_lib.serve.backends import ScriptedBackend, Served, Settings, cut

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "params/smoke.yaml")  # xml dialect, compact schemas


@pytest.fixture(scope="module")
def catalog():
    return catalogs.load_catalogs(["time", "filesystem"])


@pytest.fixture(scope="module")
def tools(catalog):
    return protocol.openai_tools(catalog)


@contextmanager
def serving(backend, params, **kw):
    """(root url, openai client) of a server on a free port."""
    app = create_app(Served(backend, params, "tiny", "scripted"), **kw)
    with ServerThread(app) as srv:
        yield srv.url, openai.OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0)


def _call(server, tool, **args):
    return xml_calls.render_call(ToolCall(server=server, tool=tool, arguments=args))


def _schema(catalog, server, tool):
    return next(s for s in catalog if s.name == server).tool(tool).inputSchema


def _bare(servers):
    """Servers as a request's tools carry them: name, tools, resource URIs (no descriptions, package, version)."""
    return [
        Server(name=s.name, tools=s.tools, resources=[Resource(uri=r.uri) for r in s.resources])
        for s in servers
    ]


def test_a_tool_request_returns_tool_calls_that_validate_against_the_schema(params, catalog, tools):
    reply = "Let me check.\n\n" + _call("time", "get_current_time", timezone="Asia/Tokyo")
    backend = ScriptedBackend([reply])
    with serving(backend, params) as (_, client):
        r = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "Time in Tokyo?"}], tools=tools
        )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Let me check."
    (tc,) = choice.message.tool_calls
    assert (
        tc.type == "function" and tc.id.startswith("call_") and tc.function.name == "time__get_current_time"
    )
    args = json.loads(tc.function.arguments)
    jsonschema.validate(args, _schema(catalog, "time", "get_current_time"))
    assert args == {"timezone": "Asia/Tokyo"}
    # the prompt is the one training rendered: the same system prompt, the same servers and schemas
    (chat,) = backend.batches[0]
    example = Example(
        id="x",
        servers=_bare(catalog),
        messages=[Message(role="user", content="Time in Tokyo?")],
        category="c",
    )
    assert chat == dialects.to_chat(example, "xml", compact=True)
    assert r.usage.prompt_tokens == backend.prompt_tokens(chat) and r.usage.completion_tokens == len(
        reply.split()
    )


def test_tool_names_without_a_server_go_to_the_tools_server_and_come_back_by_their_own_name(params):
    fn = {"name": "lookup", "description": "Find a word.", "parameters": {"type": "object",
          "properties": {"word": {"type": "string"}}, "required": ["word"]}}  # fmt: skip
    backend = ScriptedBackend([_call("tools", "lookup", word="cat")])
    with serving(backend, params) as (_, client):
        r = client.chat.completions.create(
            model="tiny",
            messages=[{"role": "user", "content": "cat?"}],
            tools=[{"type": "function", "function": fn}],
        )
    assert "## tools\n### Available Tools\n- lookup: Find a word." in backend.batches[0][0][0]["content"]
    tc = r.choices[0].message.tool_calls[0]
    assert tc.function.name == "lookup" and json.loads(tc.function.arguments) == {"word": "cat"}


def test_native_dialect_renders_tools_for_the_template_and_parses_its_calls(params, catalog, tools):
    native = params.model_copy(update={"data": params.data.model_copy(update={"dialect": "native"})})
    reply = '```tool_call\n{"name": "filesystem__read_text_file", "arguments": {"path": "/a.txt"}}\n```'
    backend = ScriptedBackend([reply], family="gemma")
    with serving(backend, native) as (_, client):
        r = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "read"}], tools=tools
        )
    (chat,) = backend.batches[0]
    example = Example(
        id="x", servers=_bare(catalog), messages=[Message(role="user", content="read")], category="c"
    )
    assert chat == dialects.to_chat(example, "native", compact=True) and chat[0]["tools"]
    tc = r.choices[0].message.tool_calls[0]
    assert tc.function.name == "filesystem__read_text_file" and r.choices[0].finish_reason == "tool_calls"
    jsonschema.validate(json.loads(tc.function.arguments), _schema(catalog, "filesystem", "read_text_file"))


def test_a_chit_chat_turn_returns_content(params, tools):
    backend = ScriptedBackend(["Hello! How can I help?"])
    with serving(backend, params) as (_, client):
        r = client.chat.completions.create(
            model="tiny",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            tools=tools,
        )
    m = r.choices[0]
    assert (
        m.message.content == "Hello! How can I help?"
        and not m.message.tool_calls
        and m.finish_reason == "stop"
    )
    system = backend.batches[0][0][0]["content"]
    assert system.startswith("You can call tools") and system.endswith(
        "\n\nBe brief."
    )  # the client's text after


def test_a_conversation_with_calls_and_results_renders_as_training_did(params, catalog, tools):
    backend = ScriptedBackend(["It is 9 pm in Tokyo."])
    messages = [
        {"role": "user", "content": "Time in Tokyo?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "time__get_current_time", "arguments": '{"timezone": "Asia/Tokyo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"datetime": "21:00"}'},
    ]  # fmt: skip
    with serving(backend, params) as (_, client):
        r = client.chat.completions.create(model="tiny", messages=messages, tools=tools)
    assert r.choices[0].message.content == "It is 9 pm in Tokyo."
    call = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Asia/Tokyo"})
    example = Example(id="x", servers=_bare(catalog), category="c", messages=[
        Message(role="user", content="Time in Tokyo?"), Message(role="assistant", calls=[call]),
        Message(role="tool", content='{"datetime": "21:00"}', call=call)])  # fmt: skip
    assert backend.batches[0][0] == dialects.to_chat(example, "xml", compact=True)
    assert "[use_mcp_tool for 'time/get_current_time'] Result:" in backend.batches[0][0][-1]["content"]


def test_streaming_content_and_tool_calls(params, tools):
    call = _call("time", "convert_time", source_timezone="UTC", time="12:00", target_timezone="Asia/Tokyo")
    texts = ["One two three four five six seven eight nine.", call]
    backend = ScriptedBackend(texts * 2)
    with serving(backend, params) as (url, client):
        full = [client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}],
                                               tools=tools) for _ in texts]  # fmt: skip
        streamed = []
        for _ in texts:
            content, calls, finish, usage, n = "", {}, None, None, 0
            stream = client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "x"}], tools=tools, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            for chunk in stream:
                n += 1
                if chunk.usage:
                    usage = chunk.usage
                for ch in chunk.choices:
                    content += ch.delta.content or ""
                    for d in ch.delta.tool_calls or []:
                        c = calls.setdefault(d.index, {"id": d.id, "name": "", "arguments": ""})
                        c["name"] += (d.function.name or "") if d.function else ""
                        c["arguments"] += (d.function.arguments or "") if d.function else ""
                    finish = ch.finish_reason or finish
            streamed.append((content, calls, finish, usage, n))
        raw = examples.stream_events(f"{url}/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}],
                                     "stream": True})  # fmt: skip
    (c0, calls0, f0, u0, n0), (c1, calls1, f1, u1, _) = streamed
    assert (
        c0 == full[0].choices[0].message.content and f0 == "stop" and not calls0 and n0 > 3
    )  # several deltas
    assert u0.completion_tokens == full[0].usage.completion_tokens
    tc = full[1].choices[0].message.tool_calls[0]
    assert f1 == "tool_calls" and not c1 and len(calls1) == 1
    assert calls1[0]["name"] == tc.function.name == "time__convert_time"
    assert json.loads(calls1[0]["arguments"]) == json.loads(tc.function.arguments)
    assert raw[-1] == "[DONE]" and raw[0]["choices"][0]["delta"]["role"] == "assistant"
    assert raw[-2]["choices"][0]["finish_reason"] == "stop"  # no usage chunk unless asked for


def test_eight_concurrent_clients_are_all_answered_and_batched(params):
    backend = ScriptedBackend(lambda chat: f"You said {chat[-1]['content']}.", delay_s=0.3)
    with serving(backend, params) as (url, _):
        start = threading.Barrier(8)

        def ask(i):
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
            start.wait()
            r = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": f"n{i}"}])
            return r.choices[0].message.content

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(8)))
        health = examples.get_json(f"{url}/health")
    assert answers == [f"You said n{i}." for i in range(8)]
    sizes = [len(b) for b in backend.batches]
    assert sum(sizes) == 8 and max(sizes) > 1, sizes  # waiting requests were decoded together
    assert health["served"] == 8 and health["queued"] == 0


def test_the_event_loop_answers_while_the_model_works(params):
    gate = threading.Event()
    backend = ScriptedBackend(lambda chat: "done" if gate.wait(20) else "timeout")
    with serving(backend, params) as (url, _):
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(examples.post_json, f"{url}/v1/chat/completions",
                                  {"messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
            while not backend.batches:
                time.sleep(0.01)
            t0 = time.perf_counter()
            health = examples.get_json(f"{url}/health")
            assert time.perf_counter() - t0 < 2 and not pending.done()  # answered while generation is blocked
            models = examples.get_json(f"{url}/v1/models")
            gate.set()
            status, body = pending.result(timeout=20)
    assert health["status"] == "ok" and health["served"] == 0
    assert [m["id"] for m in models["data"]] == ["tiny", "mcp-tiny-smoke"] and models["object"] == "list"
    assert status == 200 and body["choices"][0]["message"]["content"] == "done"


def test_models_and_health_with_the_openai_client(params):
    with serving(ScriptedBackend(), params) as (url, client):
        ids = [m.id for m in client.models.list()]
        health = examples.get_json(f"{url}/health")
    assert ids == ["tiny", "mcp-tiny-smoke"]
    assert health["model"] == "tiny" and health["dialect"] == "xml" and health["backend"] == "scripted"


USER = {"role": "user", "content": "hi"}
CALL = {"id": "c1", "type": "function", "function": {"name": "time__get_current_time", "arguments": "{}"}}
BAD = [
    ({}, "messages", "Field required"),
    ({"messages": []}, "messages", "at least 1"),
    ({"messages": "hi"}, "messages", "valid list"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "robot"),
    ({"messages": [{"content": "x"}]}, "messages[0].role", "missing"),
    ({"messages": [{"role": "user"}]}, "messages[0].content", "Field required"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", "expected a string"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content", "text parts"),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [CALL]}, {"role": "tool", "content": "r"}]},
     "messages[2].tool_call_id", "Field required"),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [CALL]}, {"role": "tool", "tool_call_id": "zz",
      "content": "r"}]}, "messages[2].tool_call_id", "answers no tool call"),
    ({"messages": [USER, {"role": "assistant", "tool_calls": [{**CALL, "function": {"name": "a", "arguments": "{"}}]},
      USER]}, "messages[1].tool_calls[0].function.arguments", "not valid JSON"),
    ({"messages": [USER, {"role": "assistant", "content": "x"}]}, "messages[1].role", "last message"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages", "no user message"),
    ({"messages": [USER], "tools": {"name": "x"}}, "tools", "valid list"),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "a b"}}]}, "tools[0].function.name",
     "pattern"),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 3}}}]},
     "tools[0].function.parameters", "JSON Schema"),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "f"}},
      {"type": "function", "function": {"name": "tools__f"}}]}, "tools[1].function.name", "same MCP tool"),
    ({"messages": [USER], "n": 2}, "n", "only n=1"),
    ({"messages": [USER], "max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
    ({"messages": [USER], "max_tokens": "9"}, "max_tokens", "valid integer"),
    ({"messages": [USER], "temperature": 3}, "temperature", "less than or equal to 2"),
    ({"messages": [USER], "stream": "yes"}, "stream", "valid boolean"),
    ({"messages": [USER], "stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
    ({"messages": [USER], "tool_choice": "maybe"}, "tool_choice", "expected 'auto'"),
    ({"messages": [USER], "tool_choice": "required"}, "tool_choice", "needs tools"),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice.function.name", "not among"),
]  # fmt: skip


def test_malformed_requests_get_a_400_naming_the_field_before_any_generation(params):
    backend = ScriptedBackend(["never"])
    with serving(backend, params) as (url, client):
        for body, param, words in BAD:
            status, out = examples.post_json(f"{url}/v1/chat/completions", body)
            err = out["error"]
            assert status == 400 and err["param"] == param and err["type"] == "invalid_request_error", (
                body,
                out,
            )
            assert err["message"].startswith(param + ": ") and words in err["message"], (body, err)
        status, out = examples.post_json(
            f"{url}/v1/chat/completions", {"model": "gpt-4o", "messages": [USER]}
        )
        assert (
            status == 404 and out["error"]["param"] == "model" and out["error"]["code"] == "model_not_found"
        )
        with pytest.raises(openai.BadRequestError, match="only n=1"):
            client.chat.completions.create(model="tiny", messages=[USER], n=2)
        import urllib.error
        import urllib.request

        req = urllib.request.Request(f"{url}/v1/chat/completions", data=b"{nope", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 400 and "not valid JSON" in json.loads(e.value.read())["error"]["message"]
    assert backend.batches == []  # nothing reached the model


def test_calls_the_request_did_not_offer_come_back_as_content_with_a_warning(params, tools):
    replies = [
        _call("slack", "send_message", text="hi"),  # not offered
        "<use_mcp_tool>\n<server_name>time</server_name>\n<tool_name>get_current_time",  # cut off
        _call("time", "get_current_time", timezone="UTC"),  # tool_choice none: no tool is offered
    ]
    backend = ScriptedBackend(replies)
    with serving(backend, params) as (url, client):
        a = client.chat.completions.create(model="tiny", messages=[USER], tools=tools)
        raw = client.chat.completions.with_raw_response.create(model="tiny", messages=[USER], tools=tools)
        b = raw.parse()
        c = client.chat.completions.create(model="tiny", messages=[USER], tools=tools, tool_choice="none")
    for r, why in ((a, "slack.send_message: not among the request's tools"), (b, "does not parse"),
                   (c, "time.get_current_time: no tools were offered")):  # fmt: skip
        m = r.choices[0].message
        assert not m.tool_calls and r.choices[0].finish_reason == "stop"
        assert m.content.startswith(protocol.WARNING_PREFIX) and why in m.content.splitlines()[0], m.content
    assert a.choices[0].message.content.splitlines()[1:] == replies[0].splitlines()  # the raw reply follows
    assert "does not parse" in raw.headers["x-mcpft-warning"]
    assert "## time" not in backend.batches[2][0][0]["content"]  # none: no server listed in the prompt


def test_tool_choice_named_and_required_force_the_reply_to_open_a_call(params, catalog, tools):
    backend = ScriptedBackend(['\n{"timezone": "UTC"}\n</arguments>\n</use_mcp_tool>',
                               "time</server_name>\n<tool_name>get_current_time</tool_name>\n<arguments>\n"
                               '{"timezone": "Asia/Tokyo"}\n</arguments>\n</use_mcp_tool>'])  # fmt: skip
    named = {"type": "function", "function": {"name": "time__get_current_time"}}
    with serving(backend, params) as (_, client):
        a = client.chat.completions.create(model="tiny", messages=[USER], tools=tools, tool_choice=named)
        b = client.chat.completions.create(model="tiny", messages=[USER], tools=tools, tool_choice="required")
    chat_a, chat_b = backend.batches[0][0], backend.batches[1][0]
    assert chat_a[-1] == {
        "role": "assistant",
        "content": protocol.call_prefix("xml", None, ("time", "get_current_time")),
    }
    assert (
        "- get_current_time" in chat_a[0]["content"] and "convert_time" not in chat_a[0]["content"]
    )  # only it
    assert (
        chat_b[-1]["content"] == "<use_mcp_tool>\n<server_name>" and "## filesystem" in chat_b[0]["content"]
    )
    for r, args in ((a, {"timezone": "UTC"}), (b, {"timezone": "Asia/Tokyo"})):
        tc = r.choices[0].message.tool_calls[0]
        assert tc.function.name == "time__get_current_time" and json.loads(tc.function.arguments) == args
    # the prefix is what the dialect renders for that call (so the model continues its own format)
    assert _call("time", "get_current_time", timezone="UTC").startswith(chat_a[-1]["content"])


def test_length_stop_strings_and_the_context_limit(params):
    backend = ScriptedBackend(["one two three four five six", "alpha beta STOP gamma"], context=100)
    with serving(backend, params) as (url, client):
        a = client.chat.completions.create(model="tiny", messages=[USER], max_completion_tokens=3)
        b = client.chat.completions.create(model="tiny", messages=[USER], stop="STOP", max_tokens=10)
        status, out = examples.post_json(f"{url}/v1/chat/completions", {"messages": [USER], "max_tokens": 50})
    assert a.choices[0].finish_reason == "length" and a.choices[0].message.content == "one two three"
    assert b.choices[0].message.content == "alpha beta" and b.choices[0].finish_reason == "stop"
    assert (
        status == 400 and out["error"]["param"] == "messages" and "context of 100" in out["error"]["message"]
    )


def test_cut_keeps_a_call_closer_and_drops_other_stops():
    s = Settings(8, stop=("</use_mcp_tool>", "<end_of_turn>"), keep=("</use_mcp_tool>",))
    assert cut("a</use_mcp_tool>b", s) == ("a</use_mcp_tool>", True)
    assert cut("answer<end_of_turn>more", s) == ("answer", True) and cut("plain", s) == ("plain", False)


def test_openai_tools_and_servers_of_round_trip_catalogs_with_resources():
    servers = catalogs.load_catalogs(["time", "sqlite"])
    req = protocol.parse_request({"messages": [USER], "tools": protocol.openai_tools(servers)})
    offer = protocol.servers_of(req.tools)
    assert offer.servers == _bare(servers) and any(s.resources for s in offer.servers)
    assert (
        offer.name_of(ToolCall(server="sqlite", tool="access_mcp_resource")) == "sqlite__access_mcp_resource"
    )


# ----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_tiny_model_served_end_to_end(params):
    """The transformers backend on the tiny random model (it makes no calls): content, usage, streaming and
    concurrency through the real endpoint, and the greedy reply is the one evaluation decoding gives."""
    from mcpft_lib.evaluation import generation
    from mcpft_lib.serve.backends import load_backend

    served = load_backend(params, None)
    model, tok = served.backend.model, served.backend.tok
    real = served.backend.generate
    first = threading.Event()

    def slow_first(chats, settings):  # the first batch waits, so the next requests queue and batch
        if not first.is_set():
            first.set()
            time.sleep(1.0)
        return real(chats, settings)

    served.backend.generate = slow_first
    app = create_app(served, default_max_tokens=12)
    with ServerThread(app) as srv:
        client = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0)
        msgs = [{"role": "user", "content": "What time is it?"}]
        r = client.chat.completions.create(model="base", messages=msgs, max_tokens=10)
        content = ""
        for chunk in client.chat.completions.create(model="base", messages=msgs, max_tokens=10, stream=True):
            content += "".join(c.delta.content or "" for c in chunk.choices)

        def ask(i):
            c = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0)
            return c.chat.completions.create(model="base", messages=[{"role": "user", "content": f"Q{i % 2}"}],
                                             max_tokens=8)  # fmt: skip

        with ThreadPoolExecutor(8) as pool:
            many = list(pool.map(ask, range(8)))
        health = examples.get_json(f"{srv.url}/health")
    chat = dialects.to_chat(
        Example(id="x", servers=[], messages=[Message(**msgs[0])], category="c"), "xml", True
    )
    stops = ["</use_mcp_tool>", "</access_mcp_resource>", "<end_of_turn>"]
    expected = generation.generate(model, tok, [chat], 10, 1, stops)[0][0]
    assert isinstance(r.choices[0].message.content, str) and r.choices[0].message.content == expected
    assert r.choices[0].finish_reason in ("stop", "length") and not r.choices[0].message.tool_calls
    assert (
        r.usage.prompt_tokens == len(generation.encode(tok, [chat])[0])
        and 1 <= r.usage.completion_tokens <= 10
    )
    assert content == r.choices[0].message.content  # streamed = not streamed
    assert all(m.choices[0].message.content is not None for m in many) and health["served"] == 10
    assert {m.choices[0].message.content for m in many[0::2]} == {
        many[0].choices[0].message.content
    }  # greedy
    sizes = app.state.batcher.batch_sizes
    assert sum(sizes) == 10 and max(sizes) > 1, sizes


@pytest.mark.slow
def test_prefill_continues_the_assistant_text_in_the_template(params):
    from mcpft_lib.evaluation.generation import prompt_text
    from mcpft_lib.modeling import loaders

    tok = loaders.load_tokenizer(params.model, "llama")
    chat = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    prefix = protocol.call_prefix("xml", "gemma", ("time", "get_current_time"))
    with_prefix = prompt_text(tok, [*chat, {"role": "assistant", "content": prefix}])
    assert with_prefix == prompt_text(tok, chat) + prefix


@pytest.mark.slow
def test_serving_a_run_loads_its_adapter_when_there_is_no_merged_export(params, isolated_reports):
    from peft import LoraConfig, get_peft_model

    from mcpft_lib import runs
    from mcpft_lib.modeling import loaders
    from mcpft_lib.serve.backends import load_backend, resolve_target

    run = runs.create_run(params, "smoke.yaml")
    model, tok = loaders.load_model(params.model)
    lora = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    lora.save_pretrained(runs.adapter_dir_of(run.train_out()))
    p, found = resolve_target(run.id, None, [])
    assert found.id == run.id and p.hash() == params.hash()
    served = load_backend(p, found)
    assert served.model_id == run.id and "adapter" in served.description
    with pytest.raises(ValueError, match="own params"):
        resolve_target(run.id, "params/smoke.yaml", [])
    empty = runs.create_run(params, "smoke.yaml")
    with pytest.raises(FileNotFoundError, match="adapter"):
        load_backend(params, empty)
