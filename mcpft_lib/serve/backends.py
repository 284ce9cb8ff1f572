"""Backends that turn prompts into model text for `mcpft serve`: the interface, the transformers backend (batched
greedy decoding from `evaluation.generation`, or sampling through `model.generate`), the llama.cpp backend (a
GGUF decoded by `modeling.llama_cpp`: greedy through the same evaluation path, or sampled), a scripted backend
that returns fixed text (tests, reference replays), and loading a run's fine-tuned model (merged export, else
base + adapter; for llama.cpp its GGUF) or the profile's base model."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcpft_lib.config import Params, load_params
from mcpft_lib.evaluation.generation import (
    check_backend,
    encode,
    generate_ids,
    load_for_eval,
    stop_check,
    with_backend,
)
from mcpft_lib.modeling import loaders
from mcpft_lib.runs import Run, list_runs, open_run

BACKENDS = ("transformers", "llama_cpp")


@dataclass(frozen=True)
class Settings:
    """How to decode one group of prompts. `stop`: strings that end a reply; those in `keep` (a call's closing
    tag) stay in the text, the others are cut. Temperature 0 (or top_p 0) is greedy."""

    max_new_tokens: int
    stop: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0 or self.top_p == 0


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish: str  # "stop" (a stop string, end of turn or EOS) or "length" (max_new_tokens reached)


def cut(text: str, settings: Settings) -> tuple[str, bool]:
    """The text up to its first stop string (kept if it is in `settings.keep`), and whether one was found."""
    best = None
    for s in settings.stop:
        k = text.find(s)
        if k >= 0 and (best is None or k < best[0]):
            best = (k, s)
    if best is None:
        return text, False
    k, s = best
    return (text[: k + len(s)] if s in settings.keep else text[:k]), True


class Backend(ABC):
    """What `mcpft serve` needs of a model. `generate` is called from one worker thread at a time, with the
    prompts of every request that queued meanwhile (their settings equal)."""

    name: str = "backend"
    family: str | None = None  # the chat-template family (how native-dialect calls look), None if unknown
    turn_end: str | None = None  # the text that ends an assistant turn, if the template has one

    @abstractmethod
    def prompt_tokens(self, chat: list[dict[str, Any]]) -> int:
        """Tokens of the chat's generation prompt (usage, and the check against `context_length`)."""

    def context_length(self) -> int | None:
        """The model's context in tokens (None: unknown, not checked)."""
        return None

    @abstractmethod
    def generate(self, chats: Sequence[list[dict[str, Any]]], settings: Settings) -> list[Completion]:
        """The reply to each chat (a chat ending with an assistant message is continued from its text)."""


# ----------------------------------------------------------------------------------------------------------


class TransformersBackend(Backend):
    """A transformers model and its tokenizer (chat template set by `modeling.loaders`). Greedy requests are
    decoded together by `evaluation.generation` (left-padded batches, shared system-prompt prefix reused,
    rows leave as their reply stops); sampled ones one at a time with `model.generate`."""

    name = "transformers"

    def __init__(self, model, tok, batch_size: int = 8):
        self.model, self.tok, self.batch_size = model, tok, int(batch_size)
        self.family = tok.init_kwargs.get("mcpft_template")
        self.turn_end = loaders.TURN_END.get(self.family)
        self._lock = threading.Lock()  # tokenizers and the model are not shared between threads

    def prompt_tokens(self, chat: list[dict[str, Any]]) -> int:
        with self._lock:
            return len(encode(self.tok, [chat])[0])

    def context_length(self) -> int | None:
        return loaders.max_positions(self.model)

    def _eos(self) -> set[int]:
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        eos = self.tok.eos_token_id if eos is None else eos
        return set(eos if isinstance(eos, list) else [eos]) - {None}

    def _finish(self, ids: list[int], settings: Settings) -> Completion:
        raw = self.tok.decode(ids, skip_special_tokens=False)
        for s in (self.tok.pad_token, self.tok.eos_token):
            if s:
                raw = raw.replace(s, "")
        text, stopped = cut(raw, settings)
        ended = bool(ids) and ids[-1] in self._eos()
        finish = "length" if len(ids) >= settings.max_new_tokens and not (stopped or ended) else "stop"
        return Completion(text.strip(), 0, len(ids), finish)

    def generate(self, chats, settings: Settings) -> list[Completion]:
        import torch

        with self._lock:
            counts = [len(r) for r in encode(self.tok, list(chats))]
            if settings.greedy:
                gen, _ = generate_ids(
                    self.model,
                    self.tok,
                    list(chats),
                    settings.max_new_tokens,
                    self.batch_size,
                    list(settings.stop),
                )
            else:
                gen = []
                if settings.seed is not None:
                    torch.manual_seed(settings.seed)
                device = next(self.model.parameters()).device
                for row in encode(self.tok, list(chats)):
                    ids = torch.tensor([row], device=device)
                    with torch.inference_mode():
                        out = self.model.generate(
                            input_ids=ids,
                            attention_mask=torch.ones_like(ids),
                            max_new_tokens=settings.max_new_tokens,
                            do_sample=True,
                            temperature=settings.temperature,
                            top_p=settings.top_p,
                            stop_strings=list(settings.stop) or None,
                            tokenizer=self.tok,
                            pad_token_id=self.tok.pad_token_id,
                        )
                    gen.append(out[0, len(row) :].tolist())
            done = [self._finish(g, settings) for g in gen]
        for c, n in zip(done, counts, strict=True):
            c.prompt_tokens = n
        return done


class LlamaCppBackend(TransformersBackend):
    """A GGUF in llama.cpp (`modeling.llama_cpp.LlamaCppModel`) with the transformers tokenizer of the same
    model (chat template, token ids, decoding). Greedy requests take the evaluation's path; sampled ones are
    drawn from llama.cpp's logits (temperature, top-p, seed), decoded together as well."""

    name = "llama_cpp"

    def context_length(self) -> int | None:
        return min(self.model.n_ctx_train(), self.model.n_ctx)

    def _eos(self) -> set[int]:
        return {t for t in [self.tok.eos_token_id] if t is not None}

    def _finish(self, ids: list[int], settings: Settings) -> Completion:
        c = super()._finish(ids, settings)
        if ids and self.model.is_eog(ids[-1]) and c.finish == "length":
            c.finish = "stop"
        return c

    def generate(self, chats, settings: Settings) -> list[Completion]:
        if settings.greedy:
            return super().generate(chats, settings)
        with self._lock:
            ids = encode(self.tok, list(chats))
            stop = list(settings.stop)
            gen, _ = self.model.generate_ids(
                ids,
                settings.max_new_tokens,
                None,
                stop_check(self.tok, ids, stop),
                self._eos(),
                self.batch_size,
                sampling=(settings.temperature, settings.top_p, settings.seed),
            )
            done = [self._finish(g, settings) for g in gen]
        for c, row in zip(done, ids, strict=True):
            c.prompt_tokens = len(row)
        return done


# ----------------------------------------------------------------------------------------------------------


@dataclass
class ScriptedBackend(Backend):
    """Fixed model text instead of a model: `replies` is a list (one per prompt, in the order prompts arrive;
    then `default`) or a function of the chat. Tokens are counted as whitespace-separated words. It records
    every batch it was given (`batches`: the chats) and can take `delay_s` per batch, so tests see requests
    queue and batch. A stand-in for tests and for replaying reference turns through the real server: the
    text still goes through the dialect's renderer and parser."""

    replies: list[str] | Callable[[list[dict[str, Any]]], str] = field(default_factory=list)
    default: str = ""
    family: str | None = "gemma"
    turn_end: str | None = None
    delay_s: float = 0.0
    context: int | None = None
    name: str = "scripted"
    batches: list[list[list[dict[str, Any]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._next = 0

    def prompt_tokens(self, chat: list[dict[str, Any]]) -> int:
        return sum(len(str(m.get("content") or "").split()) for m in chat)

    def context_length(self) -> int | None:
        return self.context

    def _reply(self, chat: list[dict[str, Any]]) -> str:
        if callable(self.replies):
            return self.replies(chat)
        k, self._next = self._next, self._next + 1
        return self.replies[k] if k < len(self.replies) else self.default

    def generate(self, chats, settings: Settings) -> list[Completion]:
        self.batches.append(list(chats))
        if self.delay_s:
            time.sleep(self.delay_s)
        out = []
        for chat in chats:
            text, stopped = cut(self._reply(chat), settings)
            words = text.split(" ")
            finish = "stop"
            if len(text.split()) > settings.max_new_tokens:
                text, finish = " ".join(words[: settings.max_new_tokens]), "length"
            out.append(Completion(text.strip(), self.prompt_tokens(chat), len(text.split()), finish))
        return out


# ----------------------------------------------------------------------------------------------------------
# What to serve


@dataclass
class Served:
    """A loaded backend and what the server needs to know about the model it serves."""

    backend: Backend
    params: Params
    model_id: str  # the id clients send as `model` (the run id, or "base")
    description: str  # where the weights come from
    run: Run | None = None

    @property
    def aliases(self) -> list[str]:
        return [self.model_id, self.params.export.model_name]


def resolve_target(
    target: str | None, profile: str | None, overrides: list[str] | None
) -> tuple[Params, Run | None]:
    """Params and run for `mcpft serve [RUN_ID | base]`: a run serves with its own resolved params
    (`reports/<run>/params.yaml`, `--set` applied over them); `base` with the profile's; no target: the newest
    finished run of the profile. Validated before any model is loaded."""
    if target == "base":
        return load_params(profile or "params/default.yaml", overrides), None
    if target is None:
        p = load_params(profile or "params/default.yaml", overrides)
        done = [r for r in list_runs() if r.get("profile") == p.run.profile and r.get("status") == "ok"]
        if not done:
            raise FileNotFoundError(
                f"no finished run of profile {p.run.profile!r} to serve; name a RUN_ID, or `base` for the base model"
            )
        target = done[0]["id"]
    elif profile:
        raise ValueError(
            f"run {target} serves with its own params (its params.yaml); drop --profile, use --set"
        )
    run = open_run(target)
    return load_params(run.params_file, overrides), run


def load_backend(
    params: Params, run: Run | None, backend: str = "transformers", batch_size: int = 8
) -> Served:
    """Load the model: a run's merged export (`Run.merged_dir`) when it has one, else the profile's base with the
    run's adapter (`Run.adapter_dir`) merged in memory; without a run, the profile's base model. Weights in
    `eval.dtype`, the dtype the evaluation decoded in."""
    if backend not in BACKENDS:
        raise ValueError(f"--backend {backend!r}: available backends: {', '.join(BACKENDS)}")
    if backend == "llama_cpp":
        return _load_llama(params, run, batch_size)
    dtype = params.eval.dtype
    if run is None:
        model, tok = loaders.load_model(params.model, dtype=dtype)
        return Served(
            TransformersBackend(model, tok, batch_size), params, "base", f"base model {params.model.id}"
        )
    try:
        merged = run.merged_dir(params.export.dtype)
    except FileNotFoundError:
        merged = None
    if merged is not None:
        mp = params.model.model_copy(
            update={
                "source": "local",
                "id": str(merged),
                "revision": None,
                "gguf_file": None,
                "quantization": "none",
            }
        )
        model, tok = loaders.load_model(mp, dtype=dtype)
        where = f"merged export {merged}"
    else:
        from peft import PeftModel

        adapter = run.adapter_dir()  # FileNotFoundError names every folder searched
        model, tok = loaders.load_model(params.model, dtype=dtype, quantization="none")
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().eval()
        where = f"{params.model.id} + adapter {adapter} (merged in memory)"
    return Served(TransformersBackend(model, tok, batch_size), params, run.id, where, run)


def _load_llama(params: Params, run: Run | None, batch_size: int) -> Served:
    """llama.cpp serving: the base model's own GGUF, or the run's GGUF export (an f16 GGUF made once from its
    merged export when it has none: `formats.gguf_for`)."""
    q = with_backend(params, "llama_cpp", batch_size=batch_size)
    check_backend(q)
    if run is None:
        model, tok = load_for_eval(params.model, q)
        return Served(LlamaCppBackend(model, tok, batch_size), params, "base", f"base model {model.path}")
    merged = run.merged_dir(params.export.dtype)  # FileNotFoundError: notebook 03 has not exported it
    mp = params.model.model_copy(
        update={"source": "local", "id": str(merged), "revision": None, "gguf_file": None}
    )
    model, tok = load_for_eval(mp, q)
    return Served(LlamaCppBackend(model, tok, batch_size), params, run.id, f"GGUF {model.path}", run)
