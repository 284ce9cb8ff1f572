"""The ASGI app of `mcpft serve` (starlette): `POST /v1/chat/completions` (OpenAI's request and reply, streaming
as server-sent events), `GET /v1/models`, `GET /health`; a batcher that queues requests and decodes those that
wait together in one worker thread (the event loop never runs the model); a uvicorn server in a background
thread for notebooks and tests (`ServerThread`) and in the foreground for the CLI (`serve`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from mcpft_lib.evaluation.generation import CALL_STOPS
from mcpft_lib.serve.backends import Backend, Completion, Served, Settings, load_backend, resolve_target
from mcpft_lib.serve.protocol import (
    RequestError,
    build_prompt,
    chunks,
    completion,
    completion_id,
    interpret,
    parse_request,
)

MAX_BODY = 8 << 20  # bytes accepted per request
DEFAULT_MAX_TOKENS = 256  # when a request gives neither max_tokens nor max_completion_tokens


@dataclass
class _Job:
    chat: list[dict[str, Any]]
    settings: Settings
    future: asyncio.Future


@dataclass
class Batcher:
    """Requests wait in a queue; one worker thread takes every request waiting (up to `max_batch`) and decodes
    those with equal settings together (one `Backend.generate` call each). Prompts over the model's context
    are refused with a 400 there, before decoding."""

    backend: Backend
    max_batch: int = 8
    pending: list[_Job] = field(default_factory=list)
    served: int = 0
    batch_sizes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {self.max_batch}")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcpft-generate")
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for job in self.pending:
            if not job.future.done():
                job.future.set_exception(RequestError(None, "the server is shutting down", 503))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, chat: list[dict[str, Any]], settings: Settings) -> Completion:
        if self._wake is None:
            raise RuntimeError("the batcher is not running (start it in the app's lifespan)")
        job = _Job(chat, settings, asyncio.get_running_loop().create_future())
        self.pending.append(job)
        self._wake.set()
        return await job.future

    def _work(self, jobs: list[_Job]) -> list[Completion | RequestError]:
        """In the worker thread: refuse prompts over the context, decode the others in one call."""
        ctx = self.backend.context_length()
        out: list[Completion | RequestError | None] = []
        todo = []
        for job in jobs:
            n = self.backend.prompt_tokens(job.chat)
            if ctx is not None and n + job.settings.max_new_tokens > ctx:
                out.append(RequestError("messages", f"the prompt is {n} tokens; with max_tokens "
                                        f"{job.settings.max_new_tokens} it exceeds the model's context of {ctx}"))  # fmt: skip
            else:
                out.append(None)
                todo.append(job)
        done = iter(self.backend.generate([j.chat for j in todo], todo[0].settings) if todo else [])
        return [o if o is not None else next(done) for o in out]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                take, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
                groups: dict[Settings, list[_Job]] = defaultdict(list)
                for job in take:
                    if not job.future.done():  # a client that went away is not decoded for
                        groups[job.settings].append(job)
                for jobs in groups.values():
                    self.batch_sizes.append(len(jobs))
                    try:
                        results = await loop.run_in_executor(self._executor, self._work, jobs)
                    except Exception as e:  # the model failed: every request of the batch learns why
                        results = [e] * len(jobs)
                    for job, r in zip(jobs, results, strict=True):
                        if job.future.done():
                            continue
                        if isinstance(r, Exception):
                            job.future.set_exception(r)
                        else:
                            job.future.set_result(r)
                            self.served += 1


def _error(e: RequestError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status)


def create_app(served: Served, max_batch: int = 8, default_max_tokens: int = DEFAULT_MAX_TOKENS,
               dialect: str | None = None) -> Starlette:  # fmt: skip
    """The ASGI app serving `served` (use it with uvicorn, `ServerThread`, or starlette's TestClient as a
    context manager, which runs the lifespan that starts the batcher). Prompts are rendered in the params'
    `data.dialect` (`dialect` overrides it) with its `data.compact_schemas`."""
    backend, p = served.backend, served.params
    dialect, compact, family = dialect or p.data.dialect, p.data.compact_schemas, backend.family
    batcher = Batcher(backend, max_batch)
    base_stops = (*CALL_STOPS, *([backend.turn_end] if backend.turn_end else []))
    created = int(time.time())

    async def chat_completions(request: Request):
        try:
            raw = await request.body()
            if len(raw) > MAX_BODY:
                raise RequestError(
                    None, f"the body is {len(raw)} bytes; at most {MAX_BODY} are accepted", 413
                )
            try:
                body = json.loads(raw)
            except ValueError as e:
                raise RequestError(None, f"the body is not valid JSON ({e})") from None
            req = parse_request(body)
            if req.model is not None and req.model not in served.aliases:
                raise RequestError(
                    "model", f"{req.model!r} is not served here; models: {', '.join(served.aliases)}", 404,
                    "model_not_found",
                )  # fmt: skip
            prompt = build_prompt(req, dialect, compact, family)
        except RequestError as e:
            return _error(e)
        settings = Settings(
            max_new_tokens=req.max_completion_tokens or req.max_tokens or default_max_tokens,
            stop=(*base_stops, *(req.stop or ())),
            keep=CALL_STOPS,
            temperature=req.temperature or 0.0,
            top_p=1.0 if req.top_p is None else req.top_p,
            seed=req.seed,
        )
        try:
            done = await batcher.submit(prompt.chat, settings)
        except RequestError as e:
            return _error(e)
        except Exception as e:  # e.g. a chat the template rejects
            return _error(RequestError(None, f"generation failed: {type(e).__name__}: {e}"[:2000], 500))
        reply = interpret(done.text, prompt, dialect, family, done.finish)
        usage = {
            "prompt_tokens": done.prompt_tokens,
            "completion_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens,
        }
        # the warning also as a header (ASCII, one line: the model's text may hold anything)
        warn = " ".join((reply.warning or "").encode("ascii", "replace").decode().split())
        headers = {"X-Mcpft-Warning": warn} if warn else None
        cid, model = completion_id(), req.model or served.model_id
        if not req.stream:
            return JSONResponse(completion(cid, model, reply, usage), headers=headers)
        include = bool(req.stream_options and req.stream_options.include_usage)

        async def events():
            for c in chunks(cid, model, reply, usage if include else None):
                yield f"data: {json.dumps(c, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def models(request: Request):
        data = [{"id": m, "object": "model", "created": created, "owned_by": "mcpft"} for m in served.aliases]
        return JSONResponse({"object": "list", "data": data})

    async def health(request: Request):
        return JSONResponse(
            {"status": "ok", "model": served.model_id, "weights": served.description, "backend": backend.name,
             "dialect": dialect, "family": family, "queued": len(batcher.pending), "served": batcher.served},
        )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app):
        batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.batcher, app.state.served = batcher, served
    return app


class ServerThread:
    """Serve an ASGI app with uvicorn in a background thread (port 0: a free one); a context manager.
    `url` is the server's root (`url + "/v1"` is an OpenAI client's base_url)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 30.0):
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.host, self.start_timeout_s = host, start_timeout_s
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        self._thread = threading.Thread(target=self.server.run, name="mcpft-serve", daemon=True)
        self._thread.start()
        t0 = time.monotonic()
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() - t0 > self.start_timeout_s:
                raise RuntimeError("the server did not start (see the log above)")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._thread is not None:
            self.server.should_exit = True
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(target: str | None, profile: str | None, overrides: list[str] | None, host: str, port: int,
          backend: str = "transformers", max_batch: int = 8, max_tokens: int = DEFAULT_MAX_TOKENS,
          log=print) -> None:  # fmt: skip
    """`mcpft serve`: validate params, load the model, serve until interrupted."""
    params, run = resolve_target(target, profile, overrides)
    log(f"loading {'run ' + run.id if run else 'the base model of ' + params.run.profile} ({backend}) ...")
    served = load_backend(params, run, backend, max_batch)
    app = create_app(served, max_batch, max_tokens)
    log(f"serving {served.model_id} ({served.description}); dialect {params.data.dialect}")
    log(f"OpenAI base_url: http://{host}:{port}/v1  (GET /health, GET /v1/models, POST /v1/chat/completions)")
    uvicorn.run(app, host=host, port=port, log_level="info")
