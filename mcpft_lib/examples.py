"""What the example-usage notebooks (notebooks/examples/) need: the run's merged model, an MCP agent loop on
live local servers that talks to the model through `mcpft serve`'s endpoint, and small HTTP helpers. The runner
executes the examples after notebook 05 (`report.run_pipeline`), into `reports/<run>/examples/`.

The agent loop is what an OpenAI-client agent does: send the conversation and the servers' tools to
`/v1/chat/completions` (`serve`: the request is rendered in the run's dialect and the reply parsed back into
`tool_calls`), execute each call on a live server over stdio (`mcp` SDK client; the servers and their sandbox
come from `live`), send the results back as tool messages, and stop when the model answers without a call or
the step limit is reached. A turn whose call markup the server could not use gets an error message back, as
Cline does, and counts as a step.

Bring your own server (notebook 06): the help-desk server shipped as an example (`shipped_server`), the `mcpft`
command line as a user types it (`mcpft`), the run's profile trained the quick way on one server of one's own
(`byo_params`), the examples that can be replayed on it (`server_examples`) and base vs fine-tuned scored on them
with the adapter switched off and on (`evaluate_adapter`).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from mcpft_lib.config import Params, example_notebooks, validate_params  # noqa: F401 (re-exported)
from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message, Server, ToolCall
from mcpft_lib.data.synth.run import read_catalog_file
from mcpft_lib.evaluation import runner as eval_runner
from mcpft_lib.evaluation.generation import generate
from mcpft_lib.mcp import live
from mcpft_lib.mcp.xml_calls import render_assistant
from mcpft_lib.modeling import loaders
from mcpft_lib.modeling.loaders import TURN_END
from mcpft_lib.runs import project_root
from mcpft_lib.serve import app as serve_app
from mcpft_lib.serve import backends, protocol

# ----------------------------------------------------------------------------------------------------------
# Where a run's models are


def merged_params(params, run):
    """ModelParams that load the run's merged export (`Run.merged_dir`, from the run or its upstream runs)
    with `models.load_model` (chat template as the run's)."""
    return params.model.model_copy(
        update={
            "source": "local",
            "id": str(run.merged_dir(params.export.dtype)),
            "revision": None,
            "gguf_file": None,
            "quantization": "none",
        }
    )


# ----------------------------------------------------------------------------------------------------------
# Live MCP servers that stay up for a whole conversation


@asynccontextmanager
async def _session(spec, sandbox, errlog, start_timeout_s: float):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    args = [a.format(**sandbox.path_args()) for a in spec.args]
    params = StdioServerParameters(
        command=sys.executable, args=["-m", spec.module, *args], cwd=str(sandbox.dir)
    )
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=start_timeout_s) as session:
            await session.initialize()
            yield session


async def _request(session, tool: str, args: dict, timeout_s: float):
    """One tools/call (or resources/read), with a backstop over the SDK's own request timeout."""
    import anyio

    with anyio.fail_after(timeout_s + 5):
        if tool == RESOURCE_TOOL:
            return await session.read_resource(str(args.get("uri", "")))
        return await session.call_tool(tool, args, read_timeout_seconds=timeout_s)


def _quiet_exit(cm) -> None:
    """Stop a server; a server that already died may make its transport complain, which changes nothing."""
    try:
        cm.__exit__(None, None, None)
    except Exception:
        pass


class LiveTools:
    """Allowlisted live MCP servers (`live.LIVE_SERVERS`) for one conversation, started on first use and kept
    running, so a file written in one step can be read in the next. Use as a context manager.

    `seed`: an example whose reference trajectory sets up the sandbox (files, branches), as `live` does for
    evaluation; its repository paths map to the scratch repository."""

    def __init__(
        self,
        allow=("time", "git", "filesystem"),
        timeout_s: float = 10.0,
        start_timeout_s: float = 30.0,
        seed: Example | None = None,
    ):

        unknown = sorted(set(allow) - set(live.LIVE_SERVERS))
        if unknown:
            raise ValueError(f"no live recipe for servers {unknown}; known: {sorted(live.LIVE_SERVERS)}")
        self.allow = list(dict.fromkeys(allow))
        self.timeout_s, self.start_timeout_s, self.seed = float(timeout_s), float(start_timeout_s), seed
        self.sessions: dict[str, Any] = {}
        self._stack: ExitStack | None = None

    def __enter__(self) -> LiveTools:
        from anyio.from_thread import start_blocking_portal

        self._stack = ExitStack()
        try:
            self.portal = self._stack.enter_context(start_blocking_portal())
            self.sandbox = live.Sandbox()
            self._stack.callback(self.sandbox.close)
            # the sandbox is seeded once; after that the conversation's own calls change it
            kinds = {live.LIVE_SERVERS[name].kind: name for name in self.allow}
            self.git_seed = None
            if "filesystem" in kinds:
                self.sandbox.seed_fs(self.seed, kinds["filesystem"])
            if "sqlite" in kinds:
                self.sandbox.seed_sqlite(self.seed, kinds["sqlite"])
            if "memory" in kinds:
                self.sandbox.seed_memory(self.seed, kinds["memory"])
            if "git" in kinds:
                self.git_seed = self.sandbox.seed_git(self.seed, None, kinds["git"])
            self.errlog = self._stack.enter_context(
                open(self.sandbox.dir / "servers.stderr.log", "w+", encoding="utf-8")
            )
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._stack is not None:
            self._stack.close()  # servers first (entered last), then the sandbox and the event loop
            self._stack, self.sessions = None, {}

    def _get(self, name: str):
        if name not in self.sessions:
            cm = self.portal.wrap_async_context_manager(
                _session(live.LIVE_SERVERS[name], self.sandbox, self.errlog, self.start_timeout_s)
            )
            self.sessions[name] = cm.__enter__()
            self._stack.callback(_quiet_exit, cm)
        return self.sessions[name]

    def call(self, call: ToolCall):
        """Execute one call; every failure is an `live.Outcome` (never raises for the model's mistakes)."""

        if self._stack is None:
            raise RuntimeError("LiveTools is not open; use it as a context manager")
        t0 = time.perf_counter()
        if call.server not in self.allow:
            return live.Outcome("not_allowlisted", f"server {call.server!r} is not allowlisted")
        try:
            session = self._get(call.server)
        except Exception as e:
            self.errlog.seek(0)
            return live.Outcome("start_failed", f"{e!r}\n{self.errlog.read()[-800:]}")
        args = dict(call.arguments)
        if self.git_seed is not None and live.LIVE_SERVERS[call.server].kind == "git":
            args = self.sandbox.map_git_args(args, self.git_seed)
        try:
            res = self.portal.call(_request, session, call.tool, args, self.timeout_s)
            out = live.result_outcome(call.tool, res)
        except Exception as e:
            out = live.failure_outcome(e, self.timeout_s)
            if out.status == "crashed" or isinstance(e, TimeoutError):
                # the server died or hangs: forget it, the next call starts a fresh one (an MCP request
                # timeout keeps the session: the server answered the protocol, only this call was slow)
                self.sessions.pop(call.server, None)
        out.seconds = time.perf_counter() - t0
        return out


# ----------------------------------------------------------------------------------------------------------
# The agent loop


def model_reply(model, tok, max_new_tokens: int = 96) -> Callable[[list[dict]], str]:
    """A `reply(chat) -> text`: greedy decoding of one chat in process, stopping when a call closes or the turn
    ends (the adapter and GGUF examples compare replies with it)."""

    turn_end = TURN_END.get(tok.init_kwargs.get("mcpft_template"))
    stop = ["</use_mcp_tool>", "</access_mcp_resource>"] + ([turn_end] if turn_end else [])

    def reply(chat: list[dict]) -> str:
        return generate(model, tok, [chat], max_new_tokens, 1, stop)[0][0]

    return reply


def reference_turns(example: Example) -> list[str]:
    """An example's reference assistant turns rendered in the xml dialect (the replies of `reference_server`)."""

    return [render_assistant(m) for m in example.messages if m.role == "assistant"]


def reference_server(example: Example, params):
    """An `mcpft serve` app whose model is the example's reference assistant turns (a `ScriptedBackend`, xml
    dialect): the agent loop then runs through the real endpoint, renderer and parser with a model known to
    call the right tools (proves the plumbing, not a model)."""
    backend = backends.ScriptedBackend(reference_turns(example))
    served = backends.Served(backend, params, "reference", f"reference turns of example {example.id}")
    return serve_app.create_app(served, dialect="xml")


def chat_completion(url: str, body: dict, timeout: float = 600.0) -> dict:
    """POST a chat-completions request to an `mcpft serve` endpoint (`url`: its root); the completion, or a
    RuntimeError with the server's error message."""
    status, out = post_json(f"{url}/v1/chat/completions", body, timeout)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {out.get('error', {}).get('message', out)}")
    return out


def _malformed(text: str) -> tuple[str, str]:
    """(problem, the model's raw text) of a reply the server flagged with `protocol.WARNING_PREFIX`."""
    problem, _, raw = text.partition("\n")
    return problem.removeprefix(protocol.WARNING_PREFIX).strip(), raw


def agent_loop(
    url: str,
    tools: LiveTools,
    servers: list[Server],
    request: str,
    max_steps: int = 4,
    max_tokens: int | None = None,
) -> dict:
    """Run one conversation against an `mcpft serve` endpoint (`url`, its root) as an OpenAI client would: the
    servers' tools go in the request as functions (`serve.protocol.openai_tools`); each returned `tool_calls`
    entry is executed on `tools` and its result sent back as a `tool` message (an error result as
    "Error:\\n...", the way MCP clients report isError), until the model answers without a call or `max_steps`
    model turns have been taken. A reply the server flags as call markup it could not use (content starting
    with `protocol.WARNING_PREFIX`) gets an error message back, as Cline does, and counts as a step.

    Returns the transcript (`messages`, canonical; `chat`, the OpenAI messages of the last request and the
    reply), one row per step (`steps`), `answered` (the last turn was a plain answer), `calls` and `calls_ok`
    (executed without error), `tools` (the `server.tool` of each call, in order) and `round_trip` (a call
    executed without error and the model took another turn after seeing its result)."""

    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if not request.strip():
        raise ValueError("the user request is empty")
    functions = protocol.openai_tools(servers)
    chat: list[dict] = [{"role": "user", "content": request}]
    messages = [Message(role="user", content=request)]
    steps: list[dict] = []
    answered = round_trip = False
    pending_ok = False  # a call succeeded since the model's last turn
    for step in range(1, max_steps + 1):
        body: dict[str, Any] = {"messages": chat, "tools": functions}
        if max_tokens:
            body["max_tokens"] = max_tokens
        t0 = time.perf_counter()
        msg = chat_completion(url, body)["choices"][0]["message"]
        seconds = round(time.perf_counter() - t0, 3)
        round_trip = round_trip or pending_ok
        pending_ok = False
        text, calls = msg.get("content") or "", msg.get("tool_calls") or []
        row = {"step": step, "model": text, "seconds": seconds}
        if not calls and not text.strip():  # an empty turn neither answers nor calls: the loop ends
            steps.append({**row, "kind": "empty"})
            break
        if not calls and text.startswith(protocol.WARNING_PREFIX):
            problem, raw = _malformed(text)
            error = (f"[ERROR] Your tool call could not be used: {problem}. "
                     "Reply with one valid tool call, or answer without a call.")  # fmt: skip
            chat += [{"role": "assistant", "content": raw}, {"role": "user", "content": error}]
            messages += [Message(role="assistant", content=raw), Message(role="user", content=error)]
            steps.append({**row, "model": raw, "kind": "malformed", "error": problem})
            continue
        if not calls:
            chat.append({"role": "assistant", "content": text})
            messages.append(Message(role="assistant", content=text))
            steps.append({**row, "kind": "answer"})
            answered = True
            break
        chat.append({"role": "assistant", "content": text or None, "tool_calls": calls})
        made = []
        for c in calls:
            server, tool = protocol.split_name(c["function"]["name"])
            made.append(ToolCall(server=server, tool=tool, arguments=json.loads(c["function"]["arguments"])))
        messages.append(Message(role="assistant", content=text, calls=made))
        for c, call in zip(calls, made, strict=True):
            res = tools.call(call)
            content = res.text if res.ok else "Error:\n" + res.text
            chat.append({"role": "tool", "tool_call_id": c["id"], "content": content})
            messages.append(Message(role="tool", content=res.text, is_error=not res.ok, call=call))
            pending_ok = pending_ok or res.ok
            steps.append({**row, "kind": "call", "call": call.model_dump(), "status": res.status,
                          "result": res.text, "call_seconds": round(res.seconds, 3)})  # fmt: skip
    done = [s for s in steps if s["kind"] == "call"]
    return {
        "request": request,
        "messages": [m.model_dump(exclude_defaults=True) for m in messages],
        "chat": chat,
        "steps": steps,
        "answered": answered,
        "calls": len(done),
        "calls_ok": sum(s["status"] == "ok" for s in done),
        "tools": [f"{s['call']['server']}.{s['call']['tool']}" for s in done],
        "round_trip": round_trip,
        "model_turns": len({s["step"] for s in steps}),
    }


def transcript_text(result: dict, width: int = 600) -> str:
    """The conversation as readable text, one block per message (long contents shortened)."""
    out = []
    for m in result["messages"]:
        body = m.get("content", "")
        if m.get("calls"):
            body = (body + "\n" if body else "") + "\n".join(
                f"CALL {c['server']}.{c['tool']}({json.dumps(c.get('arguments', {}), ensure_ascii=False)})"
                for c in m["calls"]
            )
        if m["role"] == "tool":
            head = f"tool {m['call']['server']}.{m['call']['tool']}" + (
                " (error)" if m.get("is_error") else ""
            )
        else:
            head = m["role"]
        body = body if len(body) <= width else body[:width] + f" … [{len(body) - width} more chars]"
        out.append(f"--- {head} ---\n{body}")
    return "\n".join(out)


def pick_live_example(examples: list[Example], allow=("time", "git", "filesystem")) -> Example:
    """A whole round trip to replay: an example that opens with a user request, calls only live servers
    (`allow`), whose reference results are not errors and whose last turn answers. The shortest such example,
    preferring servers earlier in `allow`; clear error when there is none."""
    rank = {name: i for i, name in enumerate(allow)}
    best = None
    for k, ex in enumerate(examples):
        assistant = [m for m in ex.messages if m.role == "assistant"]
        calls = [c for m in assistant for c in m.calls]
        if (
            ex.messages[0].role == "user"
            and calls
            and all(c.server in rank for c in calls)
            and not any(m.role == "tool" and m.is_error for m in ex.messages)
            and not assistant[-1].calls
            and not ex.meta.get("context_turns")
        ):
            key = (max(rank[c.server] for c in calls), len(ex.messages), k)
            best = min(best or (key, ex), (key, ex), key=lambda t: t[0])
    if best is None:
        raise ValueError(
            f"no example among {len(examples)} calls only live servers ({', '.join(allow)}) and ends in an answer"
        )
    return best[1]


# ----------------------------------------------------------------------------------------------------------
# Bring your own MCP server (notebooks/examples/06_bring_your_own_server.ipynb)


def shipped_server() -> Path:
    """The example of a server of one's own shipped with mcpft: an IT help desk on SQLite (7 tools, 2 resources),
    `notebooks/examples/servers/helpdesk.py`. It is not in the pool (`mcp/pool/`): no model was trained on it."""
    return project_root() / "notebooks" / "examples" / "servers" / "helpdesk.py"


def mcpft(*args: str, timeout: float = 900.0) -> str:
    """`mcpft ARGS...` as a user types it in the project root (run as `python -m mcpft_lib.cli` with this
    interpreter); its standard output, or a RuntimeError with the command line and the end of its errors."""
    argv = [sys.executable, "-m", "mcpft_lib.cli", *args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=project_root())
    if r.returncode:
        raise RuntimeError(f"mcpft {shlex.join(args)} exited with {r.returncode}:\n{r.stderr[-3000:]}")
    return r.stdout


def byo_params(
    params: Params, catalog: str | Path, command: list[str], n_examples: int, steps: int
) -> Params:
    """The run's profile (model, dialect, LoRA, batch, eval settings) trained the quick way on a server of one's
    own: its harvested `catalog` in `data.synth.catalogs` with every one of `n_examples` schema-driven examples
    calling it (the project's catalogs, and the pool when there is one, as distractors), the curated set at its
    minimum (10), no held-out split, `steps` optimizer steps with the best checkpoint by validation loss, and the
    server replayed live by `command` (`eval.live.commands`, under the catalog's server name). Validated as any
    profile: a command that cannot run is a ParamsError naming `eval.live.commands.<name>`; a catalog file that
    is missing or not a catalog fails first, naming the file."""
    name = read_catalog_file(catalog).name
    d = params.model_dump(mode="json")
    d["data"].update(n_examples=10, held_out_servers=[])
    d["data"]["synth"].update(n_examples=n_examples, catalogs=[str(Path(catalog).resolve())], own_share=1.0,
                              held_out_servers=0, held_out_examples=0)  # fmt: skip
    d["train"].update(max_steps=steps, epochs=None, select_by="val_loss", rank_sweep=[])
    d["train"]["early_stopping"]["patience"] = 0
    d["eval"]["live"]["commands"] = {name: list(command)}
    return validate_params(d, "byo_params")


def server_examples(examples: list[Example], server: str) -> list[Example]:
    """The examples that offer `server` under its own tool names: the ones whose names are masked
    (`meta.renamed`, a training device) call tools the live server does not have."""
    return [e for e in examples if any(s.name == server for s in e.servers) and not e.meta.get("renamed")]


def evaluate_adapter(params: Params, adapter_dir: str | Path, items: list[dict], runner=None) -> dict:
    """Base vs fine-tuned on `items`, scored as notebook 04 scores them: the profile's base model in
    `eval.dtype` with the adapter attached by PEFT, generated once with the adapter off (`base`) and once on
    (`fine_tuned`), every turn scored, then both models' calls replayed on the live `runner`
    (`evaluation.runner.live_runner`; None: no live replay). Returns notebook 04's `results`."""
    from peft import PeftModel

    base, tok = loaders.load_model(params.model, dtype=params.eval.dtype)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    turn_end = TURN_END.get(tok.init_kwargs.get("mcpft_template"))
    args = (items, params.data.dialect, params.eval.max_new_tokens, params.eval.batch_size, turn_end)
    results = {}
    with model.disable_adapter():
        rows, stats = eval_runner.evaluate_model(model, tok, *args, desc="generate base")
    results["base"] = {"rows": rows, "stats": stats}
    rows, stats = eval_runner.evaluate_model(model, tok, *args, desc="generate fine_tuned")
    results["fine_tuned"] = {"rows": rows, "stats": stats}
    eval_runner.attach_live(results, items, runner)
    return results


# ----------------------------------------------------------------------------------------------------------
# HTTP with the standard library (the `openai` client works as well: README, "Serve your model")


def post_json(url: str, obj: Any, timeout: float = 120.0) -> tuple[int, dict]:
    """POST JSON and return (status, JSON body), also for 4xx answers."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        url, data=json.dumps(obj).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def get_json(url: str, timeout: float = 30.0) -> dict:
    """GET a JSON document."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def stream_events(url: str, body: dict, timeout: float = 600.0) -> list[Any]:
    """POST a streaming request (`"stream": true`) and return its server-sent events in order: each `data:`
    line's JSON, the closing "[DONE]" as that string."""
    import urllib.request

    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    events: list[Any] = []
    with urllib.request.urlopen(req, timeout=timeout) as r:
        for line in r:
            text = line.decode().strip()
            if text.startswith("data: "):
                data = text[len("data: ") :]
                events.append(data if data == "[DONE]" else json.loads(data))
    return events
