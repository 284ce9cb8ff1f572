"""What the example-usage notebooks (notebooks/examples/) need: the run's merged model, an MCP agent loop on
live local servers, and a small HTTP inference endpoint. The runner executes the examples after notebook 05
(`report.run_pipeline`), into `reports/<run>/examples/`.

The agent loop is plain: render the conversation in the run's dialect, ask the model, parse its turn
(`dialects.parse_turn`), execute each call on a live server over stdio (`mcp` SDK client; the servers and their
sandbox come from `live`), feed the results back as tool messages, and stop when the model answers without a
call or the step limit is reached. A turn whose call markup does not parse gets an error message back, as
Cline does, and counts as a step.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message, Server, ToolCall
from mcpft_lib.evaluation.generation import generate
from mcpft_lib.mcp import live
from mcpft_lib.mcp.dialects import parse_turn, to_chat
from mcpft_lib.mcp.xml_calls import render_assistant
from mcpft_lib.modeling.loaders import TURN_END
from mcpft_lib.runs import project_root

MAX_BODY = 1 << 20  # bytes accepted by the inference endpoint per request


def example_notebooks(folder: str | Path | None = None) -> list[str]:
    """Stems of the example notebooks, in name order (the runner executes them in this order)."""

    folder = Path(folder or project_root() / "notebooks" / "examples")
    return sorted(p.stem for p in folder.glob("*.ipynb"))


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
    """A `reply(chat) -> text` for `agent_loop`: greedy decoding that stops when a call closes or the turn ends."""

    turn_end = TURN_END.get(tok.init_kwargs.get("mcpft_template"))
    stop = ["</use_mcp_tool>", "</access_mcp_resource>"] + ([turn_end] if turn_end else [])

    def reply(chat: list[dict]) -> str:
        return generate(model, tok, [chat], max_new_tokens, 1, stop)[0][0]

    return reply


def scripted_reply(turns: list[str]) -> Callable[[list[dict]], str]:
    """A `reply` that returns fixed turns in order (then an empty answer): a stand-in model for tests and
    for replaying a reference conversation through the same loop."""
    it = iter(turns)
    return lambda chat: next(it, "")


def reference_turns(example: Example) -> list[str]:
    """An example's reference assistant turns rendered in the xml dialect (for `scripted_reply`)."""

    return [render_assistant(m) for m in example.messages if m.role == "assistant"]


def agent_loop(
    reply: Callable[[list[dict]], str],
    tools: LiveTools,
    servers: list[Server],
    request: str,
    dialect: str = "xml",
    compact: bool = True,
    family: str | None = None,
    max_steps: int = 4,
) -> dict:
    """Run one conversation: the model's calls are executed on `tools` and the results fed back until it
    answers without a call or `max_steps` model turns have been taken.

    Returns the transcript (`messages`, canonical), one row per step (`steps`), `answered` (the last turn was
    a plain answer), `calls` and `calls_ok` (executed without error), `tools` (the `server.tool` of each call,
    in order) and `round_trip` (a call executed without error and the model took another turn after seeing
    its result)."""

    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if not request.strip():
        raise ValueError("the user request is empty")
    messages = [Message(role="user", content=request)]
    steps: list[dict] = []
    answered = round_trip = False
    pending_ok = False  # a call succeeded since the model's last turn
    for step in range(1, max_steps + 1):
        example = Example(id="agent", servers=servers, messages=messages, category="agent")
        chat = to_chat(example, dialect, compact)  # xml: tool results become user turns
        t0 = time.perf_counter()
        text = reply(chat)
        seconds = round(time.perf_counter() - t0, 3)
        round_trip = round_trip or pending_ok
        pending_ok = False
        parsed = parse_turn(text, dialect, family)
        if not text.strip():  # an empty turn neither answers nor calls: the loop ends, unanswered
            steps.append({"step": step, "kind": "empty", "model": text, "seconds": seconds})
            break
        if parsed.well_formed and not parsed.calls:
            messages.append(Message(role="assistant", content=text))
            steps.append({"step": step, "kind": "answer", "model": text, "seconds": seconds})
            answered = True
            break
        if not parsed.well_formed:
            messages.append(Message(role="assistant", content=text))
            problem = "; ".join(parsed.errors) or "the call markup did not parse"
            messages.append(
                Message(
                    role="user",
                    content=f"[ERROR] Your tool call could not be parsed: {problem}. "
                    "Reply with one valid tool call, or answer without a call.",
                )
            )
            steps.append(
                {"step": step, "kind": "malformed", "model": text, "seconds": seconds, "error": problem}
            )
            continue
        messages.append(Message(role="assistant", content=parsed.text, calls=parsed.calls))
        for c in parsed.calls:
            out = tools.call(c)
            messages.append(Message(role="tool", content=out.text, is_error=not out.ok, call=c))
            pending_ok = pending_ok or out.ok
            steps.append(
                {
                    "step": step,
                    "kind": "call",
                    "model": text,
                    "seconds": seconds,
                    "call": c.model_dump(),
                    "status": out.status,
                    "result": out.text,
                    "call_seconds": round(out.seconds, 3),
                }
            )
    calls = [s for s in steps if s["kind"] == "call"]
    return {
        "request": request,
        "messages": [m.model_dump(exclude_defaults=True) for m in messages],
        "steps": steps,
        "answered": answered,
        "calls": len(calls),
        "calls_ok": sum(s["status"] == "ok" for s in calls),
        "tools": [f"{s['call']['server']}.{s['call']['tool']}" for s in calls],
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
# A small HTTP inference endpoint (stdlib; one request at a time on the model)


class InferenceServer:
    """Serve a model over HTTP on 127.0.0.1 in a background thread (port 0: a free port).

    `GET /health` -> {"status": "ok", "model": ...}. `POST /v1/chat/completions` with {"messages": [...],
    "max_tokens": n} -> an OpenAI-style completion whose message also carries `mcp_calls`, the calls parsed
    from the reply in the run's dialect. Bad requests get 400/404/413 with a JSON `error` naming the problem."""

    def __init__(
        self,
        model,
        tok,
        name: str = "mcpft",
        dialect: str = "xml",
        family: str | None = None,
        max_tokens: int = 96,
    ):
        self.model, self.tok, self.name, self.dialect, self.family = model, tok, name, dialect, family
        self.max_tokens = int(max_tokens)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep notebook output clean
                pass

            def _send(self, code: int, obj: dict) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._send(200, {"status": "ok", "model": server.name, "requests": server.requests})
                else:
                    self._send(404, {"error": f"no route GET {self.path}; try /health"})

            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": f"no route POST {self.path}; try /v1/chat/completions"})
                    return
                try:
                    n = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    n = -1
                if n < 0 or n > MAX_BODY:
                    self._send(413, {"error": f"body must be 0..{MAX_BODY} bytes (Content-Length {n})"})
                    return
                try:
                    req = json.loads(self.rfile.read(n) or b"null")
                    messages, max_tokens = server.check_request(req)
                except ValueError as e:
                    self._send(400, {"error": str(e)})
                    return
                try:
                    answer = server.complete(messages, max_tokens)
                except Exception as e:  # e.g. a chat the template rejects: the client learns why
                    self._send(500, {"error": f"generation failed: {type(e).__name__}: {e}"[:2000]})
                    return
                self._send(200, answer)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._httpd.serve_forever, name="mcpft-inference", daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> InferenceServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def check_request(self, req: Any) -> tuple[list[dict], int]:
        """Validate a chat-completions body before any decoding; ValueError names the bad field."""
        if not isinstance(req, dict):
            raise ValueError("body: expected a JSON object with 'messages'")
        msgs = req.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise ValueError("messages: expected a non-empty list")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
                raise ValueError(f"messages[{i}].role: expected system, user, assistant or tool")
            if not isinstance(m.get("content", ""), str):
                raise ValueError(f"messages[{i}].content: expected a string")
        max_tokens = req.get("max_tokens", self.max_tokens)
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not 1 <= max_tokens <= 4096:
            raise ValueError(f"max_tokens: expected an integer in 1..4096, got {max_tokens!r}")
        return msgs, max_tokens

    def complete(self, messages: list[dict], max_tokens: int) -> dict:
        with self._lock:  # one model, one decode at a time
            t0 = time.perf_counter()
            text = model_reply(self.model, self.tok, max_tokens)(messages)
            seconds = time.perf_counter() - t0
            self.requests += 1
        parsed = parse_turn(text, self.dialect, self.family)
        return {
            "object": "chat.completion",
            "model": self.name,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": text,
                        "mcp_calls": [c.model_dump() for c in parsed.calls] if parsed.well_formed else [],
                    },
                    "finish_reason": "tool_calls" if parsed.calls and parsed.well_formed else "stop",
                }
            ],
            "usage": {"completion_seconds": round(seconds, 3)},
        }


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
