"""A GGUF model in llama.cpp (llama-cpp-python), decoded greedily for evaluation, benchmarks and serving.

Why: on a CPU, llama.cpp runs the default Gemma 3 270M several times faster than transformers (quantised
matmuls, no Python per layer). `eval.backend: llama_cpp` decodes notebook 04's turns and BFCL items here.

How several prompts are decoded together. One llama.cpp context holds a KV cache shared by up to
`n_slots` running rows (each a llama.cpp sequence id) plus a few prefix sequences. Prompts that share a
system prompt (the same tool list) are grouped; the group's common token prefix is evaluated once into its
own sequence and each row of the group starts from a copy of it (`llama_memory_seq_cp`: in a unified KV
cache the cells are shared, not copied), so only the row's own suffix is prefilled; the prefix that all prompts
share (a generic system preamble before each prompt's own tools) is evaluated once for all groups. Every step sends one
llama_decode call holding one token per running row and the prefill of any rows joining: a row that ends
(EOS/end of turn, a stop string, or the token budget) frees its slot and the next prompt takes it at once
(continuous batching). Greedy: the next token is the argmax of the row's logits.

Token ids are the caller's (the transformers tokenizer's encoding of the chat template): a GGUF converted
from the same model has the same vocabulary, so prompts are identical on both backends and the
transformers tokenizer decodes the output (`same_vocabulary` checks a GGUF against a tokenizer).

llama-cpp-python ships as source and compiles on install (about 7.5 minutes on 2 cores; pip caches the
wheel): `pip install -e ".[llama]"`. Without it `LlamaCppUnavailable` says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PIN = "llama-cpp-python==0.3.36"
INSTALL_HINT = (
    f'llama.cpp backend: install llama-cpp-python (`pip install -e ".[llama]"`, i.e. {PIN}; it compiles '
    "from source, about 7.5 minutes on 2 cores, once: pip caches the wheel)"
)
_PREFIX_SEQS = 4  # prefix sequences alive at once (prompts are decoded group by group)
_MIN_PREFIX = 16  # shorter common prefixes are not worth a sequence of their own


class LlamaCppUnavailable(ImportError):
    """llama-cpp-python is not installed."""


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def _lib():
    try:
        import llama_cpp
        from llama_cpp import _internals
    except ImportError as e:
        raise LlamaCppUnavailable(INSTALL_HINT) from e
    return llama_cpp, _internals


def version() -> str | None:
    try:
        import llama_cpp
    except ImportError:
        return None
    return getattr(llama_cpp, "__version__", None)


@dataclass
class _Row:
    i: int  # prompt index
    seq: int  # llama.cpp sequence id of its slot
    pos: int  # position of the next token fed
    todo: list[int]  # prompt tokens still to prefill
    gen: list[int] = field(default_factory=list)
    at: int = -1  # its index in the current batch when its logits were requested


class LlamaCppModel:
    """A GGUF file loaded in llama.cpp with one context for batched greedy decoding.

    `n_ctx`: KV cells shared by all running rows and prefixes (each row needs its suffix plus its reply;
    a shared prefix is stored once); `n_slots`: rows decoded together; `n_batch`: the most tokens one
    llama_decode call takes (long prompts are prefilled in chunks); `n_threads`: CPU threads (default: the
    cores this process may use)."""

    backend = "llama_cpp"

    def __init__(
        self,
        gguf_path: str | Path,
        n_ctx: int = 16384,
        n_slots: int = 8,
        n_batch: int = 2048,
        n_threads: int | None = None,
        verbose: bool = False,
    ):
        llama_cpp, internals = _lib()
        path = Path(gguf_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such GGUF file")
        self.path, self.n_slots, self.n_batch = path, int(n_slots), int(n_batch)
        self.n_threads = int(n_threads or len(os.sched_getaffinity(0)))
        if not verbose:
            llama_cpp.llama_log_set(_quiet(llama_cpp), None)
        mparams = llama_cpp.llama_model_default_params()
        self._model = internals.LlamaModel(path_model=str(path), params=mparams, verbose=verbose)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = int(n_ctx)
        cparams.n_batch = self.n_batch
        cparams.n_ubatch = min(512, self.n_batch)
        cparams.n_seq_max = self.n_slots + _PREFIX_SEQS + 1  # + the prefix all prompts share
        cparams.kv_unified = True  # one cell pool: a copied prefix shares its cells instead of copying them
        cparams.n_threads = cparams.n_threads_batch = self.n_threads
        cparams.no_perf = True
        self._ctx = internals.LlamaContext(model=self._model, params=cparams, verbose=verbose)
        self._batch = internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=verbose)
        self._lib = llama_cpp
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self._model.vocab)
        self.n_ctx = self._ctx.n_ctx()

    # ------------------------------------------------------------------------------------------------
    def is_eog(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._model.vocab, token))

    def tokenize(self, text: str) -> list[int]:
        """llama.cpp's own tokenization of template text (special tokens parsed, no BOS added)."""
        return self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def n_ctx_train(self) -> int:
        return self._model.n_ctx_train()

    def metadata(self) -> dict[str, str]:
        return self._model.metadata()

    def close(self) -> None:
        for part in ("_batch", "_ctx", "_model"):
            obj = getattr(self, part, None)
            if obj is not None:
                obj.close()
                setattr(self, part, None)

    # ------------------------------------------------------------------------------------------------
    def _clear(self) -> None:
        self._lib.llama_memory_clear(self._ctx.memory, True)

    def _rm(self, seq: int) -> None:
        self._lib.llama_memory_seq_rm(self._ctx.memory, seq, -1, -1)

    def _put(self, token: int, pos: int, seq: int, logits: bool) -> int:
        b = self._batch.batch
        k = b.n_tokens
        b.token[k], b.pos[k], b.n_seq_id[k], b.logits[k] = token, pos, 1, logits
        b.seq_id[k][0] = seq
        b.n_tokens = k + 1
        return k

    def _decode(self) -> None:
        rc = self._lib.llama_decode(self._ctx.ctx, self._batch.batch)
        if rc != 0:
            raise RuntimeError(
                f"llama_decode returned {rc} ({self.path.name}): the KV cache of {self.n_ctx} cells is full; "
                "fewer rows at once (batch size) or a larger n_ctx"
            )

    def _logits(self, k: int):
        import numpy as np

        ptr = self._lib.llama_get_logits_ith(self._ctx.ctx, k)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def _argmax(self, k: int) -> int:
        return int(self._logits(k).argmax())

    def _sample(self, k: int, temperature: float, top_p: float, rng) -> int:
        """A token drawn from the softmax of logits / temperature, within the top-p nucleus."""
        import numpy as np

        z = self._logits(k).astype(np.float64) / max(temperature, 1e-6)
        top = np.argsort(-z)[:4096]  # the nucleus of a trained LM lies far inside its top 4096 tokens
        pr = np.exp(z[top] - z[top[0]])
        pr /= pr.sum()
        keep = int(np.searchsorted(np.cumsum(pr), top_p) + 1) if top_p < 1 else len(top)
        pr = pr[:keep] / pr[:keep].sum()
        return int(top[rng.choice(keep, p=pr)])

    def _prefill_prefix(self, ids: Sequence[int], seq: int, start: int = 0) -> None:
        """Evaluate `ids[start:]` at their positions into sequence `seq` (no logits), in chunks of n_batch."""
        for s in range(start, len(ids), self.n_batch):
            self._batch.reset()
            for j, t in enumerate(ids[s : s + self.n_batch]):
                self._put(t, s + j, seq, False)
            self._decode()

    def generate_ids(
        self,
        prompts: Sequence[Sequence[int]],
        max_new_tokens: int,
        groups: Sequence[object] | None = None,
        stopped: Callable[[int, list[int]], bool] | None = None,
        eos: set[int] | None = None,
        batch_size: int | None = None,
        on_done: Callable[[int], None] | None = None,
        sampling: tuple[float, float, int | None] | None = None,
    ) -> tuple[list[list[int]], dict]:
        """Greedy new token ids for each prompt (token ids), and stats.

        `groups`: a key per prompt (e.g. its system prompt); prompts of one key share their common token
        prefix, evaluated once. `stopped(i, gen)`: whether prompt i's reply is complete (a stop string);
        `eos`: token ids that end a reply besides llama.cpp's end-of-generation tokens (the ending token is
        kept in the ids, as transformers keeps it; decoding drops it);
        `batch_size`: rows at once (at most n_slots); `on_done(i)` is called as each prompt finishes;
        `sampling` (temperature, top_p, seed) samples instead of greedy decoding."""
        import numpy as np

        n = len(prompts)
        for i, q in enumerate(prompts):  # before any work: a prompt that can never fit is the caller's error
            if len(q) + max_new_tokens > self.n_ctx:
                raise ValueError(
                    f"prompt {i}: {len(q)} tokens + {max_new_tokens} new do not fit the llama.cpp context of "
                    f"{self.n_ctx} tokens"
                )
        slots = min(self.n_slots, int(batch_size or self.n_slots))
        if slots < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        eos = set(eos or ())
        rng = None if sampling is None else np.random.default_rng(sampling[2])
        t0 = time.perf_counter()
        keys = list(groups) if groups is not None else list(range(n))
        by_key: dict[object, list[int]] = {}
        for i, k in enumerate(keys):
            by_key.setdefault(k, []).append(i)
        prefix_len: dict[object, int] = {}
        for k, idx in by_key.items():
            p = len(os.path.commonprefix([list(prompts[i]) for i in idx])) if len(idx) > 1 else 0
            p = min(p, min(len(prompts[i]) for i in idx) - 1)  # every row feeds >= 1 token (its logits)
            prefix_len[k] = p if p >= _MIN_PREFIX else 0
        # the prefix every prompt shares (a generic system preamble before each prompt's own tool list): once
        root = 0
        if groups is not None and n > 1:
            root = min(len(os.path.commonprefix([list(q) for q in prompts])), min(map(len, prompts)) - 1)
            root = root if root >= _MIN_PREFIX else 0
        root_seq = self.n_slots + _PREFIX_SEQS
        for k in prefix_len:
            if prefix_len[k] < root + _MIN_PREFIX:
                prefix_len[k] = 0  # the shared root covers it
        pending = [i for idx in by_key.values() for i in idx]  # group by group
        left = {k: len(idx) for k, idx in by_key.items()}
        prefix_seq: dict[object, int] = {}
        free_prefix = list(range(self.n_slots, self.n_slots + _PREFIX_SEQS))
        free_slots = list(range(slots))
        running: list[_Row] = []
        out: list[list[int]] = [[] for _ in range(n)]
        stats = {
            "backend": "llama_cpp",
            "prompt_tokens": sum(len(p) for p in prompts),
            "prefix_tokens": 0,
            "reused_tokens": 0,
            "prefilled_tokens": 0,
            "steps": 0,
            "root_tokens": root,
        }
        self._clear()
        try:
            if root:
                self._prefill_prefix(prompts[0][:root], root_seq)
                stats["prefix_tokens"] += root
            while pending or running:
                # admit prompts into free slots (their prefix evaluated once per group)
                while pending and free_slots:
                    k0 = keys[pending[0]]
                    fresh = prefix_len[k0] if k0 not in prefix_seq else 0  # a new group's prefix cells too
                    need = len(prompts[pending[0]]) + max_new_tokens + fresh
                    used = sum(r.pos + len(r.todo) + max_new_tokens - len(r.gen) for r in running)
                    if running and used + need > self.n_ctx:  # wait until rows end and free their cells
                        break
                    i = pending.pop(0)
                    k, seq = keys[i], free_slots.pop(0)
                    p = prefix_len[k]
                    if p and k not in prefix_seq and free_prefix:
                        prefix_seq[k] = free_prefix.pop(0)
                        if root:  # the group's prefix extends the shared root
                            self._lib.llama_memory_seq_cp(self._ctx.memory, root_seq, prefix_seq[k], -1, -1)
                        self._prefill_prefix(prompts[i][:p], prefix_seq[k], root)
                        stats["prefix_tokens"] += p - root
                    if p and k in prefix_seq:
                        self._lib.llama_memory_seq_cp(self._ctx.memory, prefix_seq[k], seq, -1, -1)
                        stats["reused_tokens"] += p
                        row = _Row(i, seq, p, list(prompts[i][p:]))
                    elif root:
                        self._lib.llama_memory_seq_cp(self._ctx.memory, root_seq, seq, -1, -1)
                        stats["reused_tokens"] += root
                        row = _Row(i, seq, root, list(prompts[i][root:]))
                    else:
                        row = _Row(i, seq, 0, list(prompts[i]))
                    left[k] -= 1
                    if left[k] == 0 and k in prefix_seq:  # every row of the group holds the cells now
                        self._rm(prefix_seq[k])
                        free_prefix.append(prefix_seq.pop(k))
                    running.append(row)
                # one decode: a token per generating row, then prompt chunks of joining rows
                self._batch.reset()
                budget = self.n_batch
                for r in running:
                    r.at = -1
                    if not r.todo:
                        r.at = self._put(r.gen[-1], r.pos, r.seq, True)
                        r.pos += 1
                        budget -= 1
                for r in running:
                    if r.todo and budget > 0:
                        chunk, r.todo = r.todo[:budget], r.todo[budget:]
                        for j, t in enumerate(chunk):
                            k = self._put(t, r.pos + j, r.seq, False)
                        r.pos += len(chunk)
                        budget -= len(chunk)
                        stats["prefilled_tokens"] += len(chunk)
                        if not r.todo:
                            self._batch.batch.logits[k] = True
                            r.at = k
                self._decode()
                stats["steps"] += 1
                still = []
                for r in running:
                    if r.at < 0:
                        still.append(r)
                        continue
                    t = (
                        self._argmax(r.at)
                        if rng is None
                        else self._sample(r.at, sampling[0], sampling[1], rng)
                    )
                    end = t in eos or self.is_eog(t)
                    r.gen.append(t)  # an ending token too, as transformers keeps it (decoding drops it)
                    if end or len(r.gen) >= max_new_tokens or (stopped is not None and stopped(r.i, r.gen)):
                        out[r.i] = r.gen
                        self._rm(r.seq)
                        free_slots.append(r.seq)
                        if on_done is not None:
                            on_done(r.i)
                    else:
                        still.append(r)
                running = still
        finally:
            self._clear()
        secs = time.perf_counter() - t0
        new = sum(len(g) for g in out)
        stats.update(seconds=round(secs, 3), new_tokens=new, tokens_per_s=new / max(secs, 1e-9))
        return out, stats


def quantize(src: str | Path, dst: str | Path, ftype: int, n_threads: int | None = None) -> Path:
    """llama.cpp's quantizer (`llama-quantize`): GGUF `src` (f16/bf16/f32) into `dst` with llama.cpp file type
    `ftype` (e.g. 15 = Q4_K_M: Q4_K for most matrices, Q6_K for half of attn_v/ffn_down and the output)."""
    import ctypes

    llama_cpp, _ = _lib()
    llama_cpp.llama_log_set(_quiet(llama_cpp), None)
    qp = llama_cpp.llama_model_quantize_default_params()
    qp.ftype = int(ftype)
    qp.nthread = int(n_threads or len(os.sched_getaffinity(0)))
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(qp))
    if rc != 0 or not Path(dst).is_file():
        raise RuntimeError(f"llama_model_quantize({src} -> {dst}, ftype {ftype}) returned {rc}")
    return Path(dst)


def _quiet(llama_cpp):
    """A log callback that drops llama.cpp's load and context messages (kept alive on the module)."""
    cb = getattr(llama_cpp, "_mcpft_quiet_log", None)
    if cb is None:

        @llama_cpp.llama_log_callback
        def cb(level, text, user_data):  # noqa: ARG001
            return None

        llama_cpp._mcpft_quiet_log = cb
    return cb


def same_vocabulary(model: LlamaCppModel, tok, texts: Sequence[str]) -> list[str]:
    """Texts on which llama.cpp's tokenization differs from the transformers tokenizer's (empty: the ids
    can be shared)."""
    bad = []
    for t in texts:
        if model.tokenize(t) != tok(t, add_special_tokens=False)["input_ids"]:
            bad.append(t)
    return bad
