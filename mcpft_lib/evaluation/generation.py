"""Fast greedy decoding for evaluation: the shared system-prompt prefix is computed once per group of
prompts and reused through the KV cache; batches are left-padded; each sequence stops as soon as its call
closes (stop strings), at end of turn or at EOS, and leaves the batch; once half the batch is free, the next
prompts are prefilled and join the running rows (continuous batching: a long reply no longer holds a batch
of finished ones hostage).

Output is token for token what `model.generate(do_sample=False)` gives for each prompt on its own
(`reference_ids`); tests check that on tiny Llama and Gemma-3 (sliding-window) models and
`mcpft bench generate` checks it on the run's model. In float32 the logits are bitwise equal to one
forward over the whole prompt (Gemma 3 270M, batched or not: max |diff| 0.0). In bfloat16 any change in
the shape of the computation (a prompt split into prefix and suffix, a batch, also `generate`'s own
batching) rounds differently: logits moved by up to ~0.5 while top-2 margins can be ~0.1, so a greedy
choice can flip (measured: 14 of 16 default-profile turns identical in bf16).

How the prefix is reused without changing the computation. A batch of suffixes has different lengths, and
the cached prefix comes first, so plain left padding would put padding *between* prefix and suffix: slot
distance would no longer equal token distance and sliding-window layers would see a different window.
Instead each row's padding is filled with the tail of its prefix: row r (prefix P_r, t_r tail tokens
moved) reads prefix[:P_r - t_r] from the cache, right-aligned after empty slots (keys carry their RoPE
positions, so moving slots is exact), and feeds prefix[P_r - t_r:] + suffix_r as input. All padding is on
the far left, as in ordinary left-padded batches, rows of different prefix groups share a batch,
and the filled slots cost what padding would have cost.

Joining a running batch is the same idea: the two batches are left-padded to the wider one (empty, masked
slots at the far left of cache and mask; a sliding-window layer gets what it would hold at that width), so
every row still sees exactly its own tokens at their own positions.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import nullcontext

from mcpft_lib.core import progressbar
from mcpft_lib.export import formats
from mcpft_lib.modeling import llama_cpp, loaders

CALL_STOPS = ("</use_mcp_tool>", "</access_mcp_resource>")

# generation-config settings that make `generate` change greedy logits; this decoder does not apply
# them, so a model that sets one is decoded with `model.generate` instead (stats say why)
_GREEDY_PROCESSORS = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "sequence_bias": None,
    "min_length": 0,
    "min_new_tokens": 0,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "exponential_decay_length_penalty": None,
    "guidance_scale": 1.0,
    "watermarking_config": None,
    "renormalize_logits": False,
    "remove_invalid_values": False,
}


def check_backend(params) -> None:
    """`eval.backend: llama_cpp` without llama-cpp-python installed is an error before any model loads."""
    if params.eval.backend == "llama_cpp" and not llama_cpp.available():
        raise llama_cpp.LlamaCppUnavailable(f"eval.backend is llama_cpp: {llama_cpp.INSTALL_HINT}")


def load_for_eval(mp, params):
    """The model and tokenizer `params.eval.backend` decodes with: transformers in `eval.dtype`, or llama.cpp
    on the model's GGUF (`formats.gguf_for`) with the transformers tokenizer (chat template, ids, decoding)."""
    if params.eval.backend == "llama_cpp":
        check_backend(params)
        path = formats.gguf_for(mp)
        tok = loaders.load_tokenizer(mp)
        return llama_cpp.LlamaCppModel(path, n_slots=params.eval.batch_size), tok
    return loaders.load_model(mp, dtype=params.eval.dtype)


def prompt_text(tok, chat: list[dict]) -> str:
    """A chat's generation prompt as template text. A chat that ends with an assistant message is continued
    from that message's text (`continue_final_message`: the reply is forced to begin with it)."""
    if chat and chat[-1].get("role") == "assistant":
        return tok.apply_chat_template(chat, tokenize=False, continue_final_message=True)
    return tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


def encode(tok, chats: list[list[dict]]) -> list[list[int]]:
    """Token ids of each chat's generation prompt (`prompt_text`, no extra special tokens)."""
    return [tok(prompt_text(tok, c), add_special_tokens=False)["input_ids"] for c in chats]


def common_prefix_len(seqs: list[list[int]]) -> int:
    """Length of the longest common prefix of token sequences."""
    if not seqs:
        return 0
    first, n = seqs[0], min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
    return n


def group_by_prefix(chats: list[list[dict]], ids: list[list[int]]) -> list[tuple[int, list[int]]]:
    """Groups of prompt indices that share a system prompt, each with its common token-prefix length.

    The prefix always leaves at least one token of every prompt to feed (its logits give the first token).
    """
    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, chat in enumerate(chats):
        key = chat[0]["content"] if chat and chat[0].get("role") == "system" else None
        groups[key].append(i)
    out = []
    for idx in groups.values():
        p = common_prefix_len([ids[i] for i in idx])
        out.append((max(0, min(p, min(len(ids[i]) for i in idx) - 1)), idx))
    return out


def greedy_blockers(model) -> list[str]:
    """Generation-config settings that alter greedy logits (the fast path then defers to `generate`)."""
    gc = getattr(model, "generation_config", None)
    if gc is None:
        return []
    return [
        f"{k}={getattr(gc, k)!r}"
        for k, default in _GREEDY_PROCESSORS.items()
        if getattr(gc, k, default) not in (default, None)
    ]


def decoder_core(model):
    """The transformers model under a PEFT wrapper (its LoRA layers stay active) or the model itself."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _eos_ids(model, tok) -> set[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    if eos is None:
        eos = tok.eos_token_id
    return set(eos if isinstance(eos, list) else [eos]) - {None}


def _prefix_cache(core, prefix: list[int], device):
    """Key/value tensors of every layer for the prefix (one forward, full-length for all layer kinds)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()  # DynamicLayer everywhere: sliding layers keep the whole prefix too
    ids = torch.tensor([prefix], device=device)
    core(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        position_ids=torch.arange(len(prefix), device=device)[None],
        cache=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    return [(layer.keys, layer.values) for layer in cache.layers]


def _batch_cache(core, kvs: list, keep: list[int], width: int):
    """A cache like `generate` builds (sliding layers included), `width` slots long, holding for row r the
    first keep[r] tokens of its prefix (`kvs[r]`, None for none) right-aligned, empty slots before them."""
    from transformers import DynamicCache

    cache = DynamicCache(config=core.config)
    if not width:
        return cache
    ref = next(kv for kv in kvs if kv is not None)
    if len(cache.layers) != len(ref) or not _known_layout(cache):
        return None  # a cache layout this decoder does not know (KV sharing, linear attention, ...)
    for layer_idx, (k, v) in enumerate(ref):
        keys = k.new_zeros((len(kvs), k.shape[1], width, k.shape[3]))
        values = v.new_zeros((len(kvs), v.shape[1], width, v.shape[3]))
        for r, (kv, n) in enumerate(zip(kvs, keep, strict=True)):
            if n:
                keys[r, :, width - n :] = kv[layer_idx][0][0, :, :n]
                values[r, :, width - n :] = kv[layer_idx][1][0, :, :n]
        cache.update(keys, values, layer_idx)
    return cache


def _stopped(tok, prompt: list[int], gen: list[int], stop: list[str]) -> bool:
    """A stop string ends in the generated text; like `generate`'s StopStringCriteria it may begin in
    the prompt's last tokens (e.g. "\\n\\n" right after a prompt that ends with a newline)."""
    if not stop:
        return False
    tail = max(len(s) for s in stop)  # tokens of the prompt a match can reach back into (>= 1 char each)
    head = len(tok.decode(prompt[-tail:], skip_special_tokens=False))
    text = tok.decode(prompt[-tail:] + gen, skip_special_tokens=False)
    return any(text.find(s, max(0, head - len(s) + 1)) >= 0 for s in stop)


def _prefill(core, rows: list[list[int]], ps: list[int], kvs: list, pad_id, device):
    """One forward over a new batch whose row r's first ps[r] tokens are a prefix cached in kvs[r] (or None).

    Each row's padding is filled with the tail of its prefix (taken out of the cache), and what stays cached
    is right-aligned, so that every row's padding sits at the far left of cache + input. Returns the batch's
    state (cache, attention mask, last position ids, last logits) or None for an unknown cache layout."""
    import torch

    suffix = [r[p:] for r, p in zip(rows, ps, strict=True)]
    width = max(len(x) for x in suffix)
    pads = [width - len(x) for x in suffix]
    moved = [min(n, p) for n, p in zip(pads, ps, strict=True)]  # prefix tokens fed again as input
    keep = [p - m for p, m in zip(ps, moved, strict=True)]  # prefix tokens read from the cache
    c = max(keep)
    cache = _batch_cache(core, kvs, keep, c)
    if cache is None:
        return None
    inputs, mask = [], []
    for r, x, n, m, k, p in zip(rows, suffix, pads, moved, keep, ps, strict=True):
        inputs.append([pad_id] * (n - m) + r[p - m : p] + x)
        mask.append([0] * (c - k + n - m) + [1] * (k + m + len(x)))
    ids = torch.tensor(inputs, device=device)
    mask = torch.tensor(mask, device=device)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, c:]
    out = core(
        input_ids=ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True, logits_to_keep=1
    )
    return {"cache": cache, "mask": mask, "pos": pos[:, -1:], "logits": out.logits[:, -1, :]}


def _known_layout(cache) -> bool:
    """Every layer a plain or sliding-window dynamic layer: what `_batch_cache` fills and `_merge` pads."""
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    return all(
        type(layer) in (DynamicLayer, DynamicSlidingWindowLayer) and not getattr(layer, "record_past", False)
        for layer in cache.layers
    )


def _merge(a: dict, b: dict) -> dict:
    """One batch state out of two (rows of `a`, then rows of `b`), as if both had been left-padded to the
    wider of the two: the narrower one gets empty, masked slots at the far left of its cache and mask.

    A sliding-window layer holds the last `window - 1` slots of its (padded) sequence, so it is padded to
    what it would hold at the merged width."""
    import torch
    import torch.nn.functional as F

    wa, wb = a["mask"].shape[1], b["mask"].shape[1]
    w = max(wa, wb)
    for la, lb in zip(a["cache"].layers, b["cache"].layers, strict=True):
        window = getattr(la, "sliding_window", None)
        held = w if window is None else min(w, window - 1)
        for name in ("keys", "values"):
            ta, tb = getattr(la, name), getattr(lb, name)
            ta = F.pad(ta, (0, 0, held - ta.shape[-2], 0))
            tb = F.pad(tb, (0, 0, held - tb.shape[-2], 0))
            setattr(la, name, torch.cat([ta, tb]))
        if window is not None:
            la.cumulative_length = w
    mask = torch.cat([F.pad(a["mask"], (w - wa, 0)), F.pad(b["mask"], (w - wb, 0))])
    return {
        "cache": a["cache"],
        "mask": mask,
        "pos": torch.cat([a["pos"], b["pos"]]),
        "logits": torch.cat([a["logits"], b["logits"]]),
    }


def _decode(core, tok, ids, ps, kvs, order, batch_size, max_new_tokens, stop, eos, pad_id, device, stats,
            bar=None):  # fmt: skip
    """Greedy-decode the prompts `ids` in `order`, `batch_size` rows at a time (continuous batching): rows
    leave when they stop, and once half the batch is free the next prompts are prefilled and join it.
    Returns new token ids per prompt (`bar`, if given, advances as each one ends). A cache layout `_merge`
    does not know is decoded batch after batch."""
    import torch

    gen: list[list[int]] = [[] for _ in ids]
    if max_new_tokens < 1:
        if bar is not None:
            bar.update(len(ids))
        return gen
    pending = list(reversed(order))
    state, active = None, []
    refill_at = batch_size - max(1, batch_size // 2)  # rows still running when new ones are let in
    joinable = None  # whether new rows can join running ones: known from the first batch's cache
    while pending or active:
        if pending and (not active or (joinable and len(active) <= refill_at)):
            batch = [pending.pop() for _ in range(min(batch_size - len(active), len(pending)))]
            rows = [ids[i] for i in batch]
            part = _prefill(core, rows, [ps[i] for i in batch], [kvs[i] for i in batch], pad_id, device)
            if part is None:  # a cache layout this decoder does not know: this batch without the prefixes
                part = _prefill(core, rows, [0] * len(batch), [None] * len(batch), pad_id, device)
            if active:  # same model, same cache layout as the running rows: they join them
                state, stats["refills"] = _merge(state, part), stats["refills"] + 1
            else:
                state = part
                if joinable is None:
                    joinable = _known_layout(part["cache"])
            active = active + batch
        nxt = state["logits"].argmax(-1)
        keep = []
        for j, i in enumerate(active):
            t = int(nxt[j])
            gen[i].append(t)
            if not (t in eos or len(gen[i]) >= max_new_tokens or _stopped(tok, ids[i], gen[i], stop)):
                keep.append(j)
        if len(keep) < len(active):
            if bar is not None:
                bar.update(len(active) - len(keep))
            active = [active[j] for j in keep]
            if not keep:
                state = None
                continue
            sel = torch.tensor(keep, device=device)
            state["cache"].batch_select_indices(sel)
            for k in ("mask", "pos"):
                state[k] = state[k][sel]
            nxt = nxt[sel]
        mask = torch.cat([state["mask"], state["mask"].new_ones((len(active), 1))], dim=-1)
        pos = state["pos"] + 1
        out = core(
            input_ids=nxt[:, None],
            attention_mask=mask,
            position_ids=pos,
            cache=state["cache"],
            use_cache=True,
            logits_to_keep=1,
        )
        state.update(mask=mask, pos=pos, logits=out.logits[:, -1, :])
    return gen


def reference_ids(
    model, tok, chats: list[list[dict]], max_new_tokens: int = 96, stop: list[str] | None = None, bar=None
) -> list[list[int]]:
    """What plain `model.generate` (greedy, one prompt at a time, same stop strings) produces: new token ids.
    `bar`, if given, advances by one per prompt."""
    import torch

    device = next(model.parameters()).device
    out = []
    for row in encode(tok, chats):
        ids = torch.tensor([row], device=device)
        with torch.inference_mode():
            gen = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                stop_strings=list(stop) if stop else None,
                tokenizer=tok,
                pad_token_id=tok.pad_token_id,
            )
        out.append(gen[0, len(row) :].tolist())
        if bar is not None:
            bar.update(1)
    return out


def generate_ids(
    model,
    tok,
    chats: list[list[dict]],
    max_new_tokens: int = 96,
    batch_size: int = 8,
    stop: list[str] | None = None,
    reuse_prefix: bool = True,
    desc: str | None = None,
) -> tuple[list[list[int]], dict]:
    """New token ids per chat (greedy) and stats; prompts sharing a system prompt reuse its KV cache.
    With `desc`, a progress bar of that name counts the prompts done (`core.progressbar`)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    with progressbar.bar(total=len(chats), desc=desc, unit="prompt") if desc else nullcontext() as bar:
        return _generate_ids(model, tok, chats, max_new_tokens, batch_size, stop, reuse_prefix, bar)


def _llama_ids(model, tok, chats, max_new_tokens, batch_size, stop, reuse_prefix, bar):
    """`generate_ids` on a `modeling.llama_cpp.LlamaCppModel`: the same prompt ids, stop strings and EOS,
    decoded by llama.cpp (shared system-prompt prefixes evaluated once, continuous batching)."""
    stop = [s for s in (stop or []) if s]
    ids = encode(tok, chats)
    keys = None
    if reuse_prefix:
        keys = [c[0]["content"] if c and c[0].get("role") == "system" else None for c in chats]
    eos = {t for t in [tok.eos_token_id] if t is not None}
    done = (lambda i: bar.update(1)) if bar is not None else None
    return model.generate_ids(ids, max_new_tokens, keys, stop_check(tok, ids, stop), eos, batch_size, done)


def stop_check(tok, ids: list[list[int]], stop: list[str]):
    """`stopped(i, gen)` for `LlamaCppModel.generate_ids`: whether prompt i's reply `gen` holds a stop string
    (`_stopped`). A stop string first found now ends inside the newest token's text, so the reply is decoded
    only when that token's text holds the last character of a stop string."""
    stop = [s for s in stop if s]
    ends = {s[-1] for s in stop}
    trigger: dict[int, bool] = {}  # token id -> its text holds the last character of a stop string

    def stopped(i: int, gen: list[int]) -> bool:
        t = gen[-1]
        if t not in trigger:
            trigger[t] = any(c in tok.decode([t], skip_special_tokens=False) for c in ends)
        return trigger[t] and _stopped(tok, ids[i], gen, stop)

    return stopped


def with_backend(params, backend: str, **eval_updates):
    """`params` with `eval.backend` (and any other `eval` keys given) replaced."""
    return params.model_copy(
        update={"eval": params.eval.model_copy(update={"backend": backend, **eval_updates})}
    )


def _generate_ids(model, tok, chats, max_new_tokens, batch_size, stop, reuse_prefix, bar):
    """`generate_ids` advancing `bar` (or None) as prompts end."""
    if getattr(model, "backend", None) == "llama_cpp":
        return _llama_ids(model, tok, chats, max_new_tokens, batch_size, stop, reuse_prefix, bar)
    import torch

    stop = [s for s in (stop or []) if s]
    t0 = time.perf_counter()
    ids = encode(tok, chats)
    blockers = greedy_blockers(model)
    stats = {
        "backend": "transformers",
        "prompt_tokens": sum(len(r) for r in ids),
        "prefix_tokens": 0,
        "reused_tokens": 0,
        "groups": 0,
        "refills": 0,
    }
    if blockers:  # keep the outputs exact: let `generate` apply what the model's generation config asks
        gen = reference_ids(model, tok, chats, max_new_tokens, stop, bar)
        stats["fallback"] = "generation config sets " + ", ".join(blockers)
    else:
        core = decoder_core(model)
        device = next(model.parameters()).device
        eos, pad_id = _eos_ids(model, tok), tok.pad_token_id if tok.pad_token_id is not None else 0
        gen = [[] for _ in ids]
        ps, kvs = [0] * len(ids), [None] * len(ids)
        with torch.inference_mode():
            for p, idx in group_by_prefix(chats, ids) if reuse_prefix else []:
                kv = _prefix_cache(core, ids[idx[0]][:p], device) if p else None
                stats["groups"] += 1
                stats["prefix_tokens"] += p
                stats["reused_tokens"] += p * (len(idx) - 1)
                for i in idx:
                    ps[i], kvs[i] = p, kv
            order = sorted(range(len(ids)), key=lambda i: -(len(ids[i]) - ps[i]))  # similar suffixes together
            args = (batch_size, max_new_tokens, stop, eos, pad_id, device, stats, bar)
            gen = _decode(core, tok, ids, ps, kvs, order, *args)
    secs = time.perf_counter() - t0
    new = sum(len(g) for g in gen)
    stats.update(seconds=round(secs, 3), new_tokens=new, tokens_per_s=new / max(secs, 1e-9))
    return gen, stats


def generate(
    model,
    tok,
    chats: list[list[dict]],
    max_new_tokens: int = 96,
    batch_size: int = 8,
    stop: list[str] | None = None,
    reuse_prefix: bool = True,
    desc: str | None = None,
) -> tuple[list[str], dict]:
    """Decoded replies (cut after a closing call tag, before any other stop string) and stats; with `desc` a
    progress bar counts the prompts done."""
    gen, stats = generate_ids(model, tok, chats, max_new_tokens, batch_size, stop, reuse_prefix, desc)
    return [cut_at_stop(tok.decode(g, skip_special_tokens=False), stop or [], tok) for g in gen], stats


def cut_at_stop(text: str, stop: list[str], tok) -> str:
    """Trim a decoded reply at the first stop string (kept when it closes a call) and drop padding."""
    for s in (tok.pad_token, tok.eos_token):
        if s:
            text = text.replace(s, "")
    best = None
    for s in stop:
        k = text.find(s)
        if k >= 0 and (best is None or k < best[0]):
            best = (k, s)
    if best:
        k, s = best
        text = text[: k + len(s)] if s.startswith("</") else text[:k]
    return text.strip()
