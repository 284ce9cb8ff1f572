"""Inference benchmarks: fast generation vs one `model.generate` per example (`mcpft bench generate`), and
prefill / decode speed, time to first token and peak memory per model variant and per MCP server
(`mcpft bench perf`, notebook 04)."""

from __future__ import annotations

import tempfile
import time
import warnings

from mcpft_lib.config import Params, load_params
from mcpft_lib.data import generate, stage
from mcpft_lib.evaluation import generation
from mcpft_lib.evaluation import items as evaluation_items
from mcpft_lib.evaluation.generation import CALL_STOPS, decoder_core, encode
from mcpft_lib.export import formats
from mcpft_lib.mcp import catalogs, dialects
from mcpft_lib.modeling import loaders
from mcpft_lib.modeling.peft_setup import lora_config

# bitsandbytes int8 on CPU says this on every matmul: thousands of lines in a notebook report
warnings.filterwarnings("ignore", message="MatMul8bitLt: inputs will be cast", category=UserWarning)


def test_items(p: Params, n: int) -> list[dict]:
    """The first `n` assistant-turn items of the run's test split (generated from params, nothing stored)."""

    with tempfile.TemporaryDirectory() as tmp:
        ds = stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), tmp)
    items = evaluation_items.turn_items(ds["splits"]["test"], p.data.dialect, p.data.compact_schemas)
    if not items:
        raise ValueError("the test split has no assistant turns: raise data.n_examples or data.test_fraction")
    return items[:n]


def stop_strings(tok) -> list[str]:
    """What evaluation stops at: a closing call tag, or the template's end of turn."""

    turn_end = loaders.TURN_END.get(tok.init_kwargs.get("mcpft_template"))
    return list(CALL_STOPS) + ([turn_end] if turn_end else [])


def bench_generate(
    params_file: str,
    overrides: list[str] | None = None,
    n: int = 16,
    batch_size: int | None = None,
    log=print,
) -> dict:
    """One `model.generate` per example vs the fast path on the same items, in one process; ratio last."""

    p = load_params(params_file, overrides)
    items = test_items(p, n)
    chats = [it["chat"] for it in items]
    bs = batch_size or p.eval.batch_size
    model, tok = loaders.load_model(p.model, dtype=p.eval.dtype)
    stop, mnt = stop_strings(tok), p.eval.max_new_tokens
    generation.generate_ids(model, tok, chats[:1], 2, 1, stop)  # warm-up: first-call kernel setup
    log(
        f"bench generate: {len(items)} items, {p.model.id} ({p.eval.dtype}), max_new_tokens {mnt}", flush=True
    )
    t0, c0 = time.perf_counter(), time.process_time()
    ref = generation.reference_ids(model, tok, chats, mnt, stop)
    ref_s, c1 = time.perf_counter() - t0, time.process_time()
    fast, stats = generation.generate_ids(model, tok, chats, mnt, bs, stop)
    fast_s, c2 = stats["seconds"], time.process_time()
    same = [a == b for a, b in zip(ref, fast, strict=True)]
    res = {
        "items": len(items),
        "model": p.model.id,
        "dtype": p.eval.dtype,
        "batch_size": bs,
        "max_new_tokens": mnt,
        "reference": {
            "seconds": round(ref_s, 2),
            "new_tokens": sum(len(g) for g in ref),
            "tokens_per_s": sum(len(g) for g in ref) / ref_s,
            "cpu_seconds": round(c1 - c0, 2),
        },
        "fast": {k: stats[k] for k in ("seconds", "new_tokens", "tokens_per_s")}
        | {"cpu_seconds": round(c2 - c1, 2), "stats": stats},
        "identical": sum(same),
        "different": [items[i]["id"] for i, ok in enumerate(same) if not ok],
    }
    res["speed_ratio"] = ref_s / max(fast_s, 1e-9)
    for name in ("reference", "fast"):
        r = res[name]
        label = "model.generate x1" if name == "reference" else "fast (prefix KV)"
        log(
            f"{label:18} {r['tokens_per_s']:7.1f} tokens/s  {r['new_tokens']:5d} tokens  {r['seconds']:7.1f} s  "
            f"({r['cpu_seconds']:.1f} s CPU)"
        )
    log(
        f"prefix: {stats['groups']} groups, {stats['prefix_tokens']} prefix tokens computed once, "
        f"{stats['reused_tokens']} prompt tokens reused of {stats['prompt_tokens']}"
    )
    log(
        f"identical outputs: {res['identical']}/{len(items)}"
        + (f" (differ: {res['different']})" if res["different"] else "")
    )
    log(f"speed ratio (fast / one generate per example): {res['speed_ratio']:.2f}x")
    return res


# --- prefill / decode / time to first token / peak memory ------------------------------------------

VARIANTS = ("base", "adapter", "merged", "int8", "nf4", "gguf")

GIB = 2**30


def server_chats(p: Params, servers: list[str] | None = None) -> dict[str, list[dict]]:
    """One prompt per MCP server: the chat up to the first assistant turn of an example that connects only
    that server (its catalog makes the system prompt, so prompt lengths differ a lot between servers)."""

    out = {}
    for server in catalogs.load_catalogs(servers or p.data.servers):
        ex = generate.generate(1, p.run.seed, [server], ["single_call"], 1)[
            0
        ]  # every server has single calls
        chat = dialects.to_chat(ex, p.data.dialect, p.data.compact_schemas)
        out[server.name] = chat[: next(i for i, m in enumerate(chat) if m["role"] == "assistant")]
    return out


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(model, tok, chats: list[list[dict]], new_tokens: int = 16) -> list[dict]:
    """Per prompt, batch 1: prefill tokens/s and time to first token (one forward over the prompt, then
    argmax), decode tokens/s over `new_tokens - 1` more greedy steps (no early stop: fixed work)."""
    import torch
    from transformers import DynamicCache

    if new_tokens < 2:
        raise ValueError(f"new_tokens must be >= 2 (one prefill token + decode steps), got {new_tokens}")
    core = decoder_core(model)
    device = next(model.parameters()).device
    rows = []
    with torch.inference_mode():
        for ids in encode(tok, chats):
            x = torch.tensor([ids], device=device)
            cache = DynamicCache(config=core.config)
            _sync(device)
            t0 = time.perf_counter()
            out = core(input_ids=x, cache=cache, use_cache=True, logits_to_keep=1)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            _sync(device)
            ttft = time.perf_counter() - t0
            t1 = time.perf_counter()
            for _ in range(new_tokens - 1):
                out = core(input_ids=nxt, cache=cache, use_cache=True, logits_to_keep=1)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            _sync(device)
            dec = time.perf_counter() - t1
            rows.append(
                {
                    "prompt_tokens": len(ids),
                    "ttft_s": ttft,
                    "prefill_tokens_per_s": len(ids) / ttft,
                    "decode_tokens_per_s": (new_tokens - 1) / dec,
                }
            )
    return rows


def _summary(rows: list[dict]) -> dict:
    n = len(rows)
    return {
        "prompts": n,
        "prompt_tokens": sum(r["prompt_tokens"] for r in rows) / n,
        "ttft_s": sum(r["ttft_s"] for r in rows) / n,
        "prefill_tokens_per_s": sum(r["prompt_tokens"] for r in rows) / sum(r["ttft_s"] for r in rows),
        "decode_tokens_per_s": sum(r["decode_tokens_per_s"] for r in rows) / n,
    }


def _memory(model, device) -> dict:
    """Weights in memory, and the process's peak (CUDA: allocator peak since load; CPU: peak RSS, loading
    included, which is why each variant runs in a process of its own)."""
    import resource

    import torch

    out = {"weights_gib": model.get_memory_footprint() / GIB}
    if device.type == "cuda":
        out["peak_gib"] = torch.cuda.max_memory_allocated(device) / GIB
        out["peak_kind"] = "cuda max_memory_allocated"
    else:
        out["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB
        out["peak_kind"] = "process peak RSS (CPU)"
    return out


def load_variant(
    p: Params,
    variant: str,
    adapter_dir: str | None = None,
    merged_dir: str | None = None,
    gguf_file: str | None = None,
):
    """(model, tokenizer, note) for one variant; raises `SkipVariant` with the reason when it cannot run."""

    dtype = p.eval.dtype
    if variant in ("base", "int8", "nf4"):
        q = {"base": None, "int8": "int8", "nf4": "nf4"}[variant]
        if q and loaders.resolve_device(p.model) != "cuda" and not _bnb_cpu():
            raise SkipVariant("bitsandbytes has no CPU backend here")
        try:
            model, tok = loaders.load_model(p.model, dtype=dtype, quantization=q or "none")
        except (ImportError, RuntimeError, ValueError) as e:
            if q:
                raise SkipVariant(
                    f"bitsandbytes {q}: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
                ) from None
            raise
        return model, tok, f"{dtype}" + (f", bitsandbytes {q}" if q else "")
    if variant in ("adapter", "merged"):
        if variant == "merged" and merged_dir:
            mp = p.model.model_copy(update={"source": "local", "id": str(merged_dir), "gguf_file": None})
            model, tok = loaders.load_model(mp, dtype=dtype, quantization="none")
            return model, tok, f"merged export {merged_dir}"
        from peft import PeftModel, get_peft_model

        model, tok = loaders.load_model(p.model, dtype=dtype, quantization="none")
        if adapter_dir:
            model, note = PeftModel.from_pretrained(model, str(adapter_dir)), f"adapter {adapter_dir}"
        else:  # a fresh LoRA of the run's shape: the same compute as a trained one
            model, note = (
                get_peft_model(model, lora_config(p.train.lora, model)),
                "fresh LoRA (run's r and targets)",
            )
        model.eval()
        if variant == "merged":
            return model.merge_and_unload().eval(), tok, f"merged in memory from {note}"
        return model, tok, f"unmerged PEFT, {note}"
    if variant == "gguf":
        path = _gguf_path(p, gguf_file)
        if path is None:
            raise SkipVariant("no GGUF file (no export and the base model is not loaded from one)")
        from pathlib import Path

        from transformers import AutoModelForCausalLM

        path = Path(path)
        model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, dtype=loaders.torch_dtype(dtype)
        )
        model.to(loaders.resolve_device(p.model)).eval()
        tok = loaders.load_tokenizer(p.model, model.config.model_type)
        return model, tok, f"{path.name} via transformers (dequantized to {dtype} on load)"
    raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


class SkipVariant(Exception):
    """A variant that cannot run on this machine; the message says why."""


def _bnb_cpu() -> bool:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return False
    return True


def _gguf_path(p: Params, gguf_file: str | None) -> str | None:
    if gguf_file:
        return gguf_file

    src = formats.source_gguf(p.model)
    return str(src) if src else None


def measure_variant(p: Params, variant: str, new_tokens: int = 16, per_server: bool = False, **paths) -> dict:
    """Load one variant and measure it on one prompt per server (in the calling process)."""
    chats = server_chats(p)
    t0 = time.perf_counter()
    try:
        model, tok, note = load_variant(p, variant, **paths)
    except SkipVariant as e:
        return {"variant": variant, "skipped": str(e)}
    load_s = time.perf_counter() - t0
    device = next(model.parameters()).device
    measure(model, tok, list(chats.values())[:1], 2)  # warm-up: first-call kernel setup
    rows = measure(model, tok, list(chats.values()), new_tokens)
    res = {"variant": variant, "note": note, "device": str(device), "load_s": load_s, **_summary(rows)}
    res.update(_memory(model, device))
    if per_server:
        res["servers"] = [{"server": s, **r} for s, r in zip(chats, rows, strict=True)]
    return res


def run_artifacts(run, export_dtype: str) -> dict:
    """The run's trained adapter, merged export and GGUF export for `run_perf` (None where absent), each from
    the run or its upstream runs (`Run.adapter_dir`, `Run.merged_dir`, `Run.gguf_path`)."""

    def opt(get, *args):
        try:
            return str(get(*args))
        except FileNotFoundError:
            return None

    gguf = run.gguf_path(formats.is_complete)
    return {
        "adapter_dir": opt(run.adapter_dir),
        "merged_dir": opt(run.merged_dir, export_dtype),
        "gguf_file": str(gguf) if gguf else None,
    }


def run_perf(
    params_file: str,
    overrides: list[str] | None = None,
    variants: list[str] | tuple[str, ...] = VARIANTS,
    new_tokens: int = 16,
    adapter_dir: str | None = None,
    merged_dir: str | None = None,
    gguf_file: str | None = None,
    log=print,
) -> dict:
    """Measure each variant in a process of its own (clean peak memory); the base run also measures every
    server's prompt. Returns {"variants": rows, "servers": rows}; a variant that cannot run has `skipped`."""
    import json
    import subprocess
    import sys

    load_params(params_file, overrides)  # fail fast on bad params
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown perf variants {unknown}; choose from {', '.join(VARIANTS)}")
    paths = {"adapter_dir": adapter_dir, "merged_dir": merged_dir, "gguf_file": gguf_file}
    rows, servers = [], []
    for v in variants:
        log(f"bench perf: {v} ...", flush=True)
        spec = {"variant": v, "new_tokens": new_tokens, "per_server": v == "base", **paths}
        cmd = [
            sys.executable,
            "-m",
            "mcpft_lib.evaluation.perf",
            params_file,
            json.dumps(overrides or []),
            json.dumps(spec),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            rows.append(
                {"variant": v, "error": out.stderr.strip().splitlines()[-1][:300] if out.stderr else "failed"}
            )
            log(f"  {v}: failed: {rows[-1]['error']}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        servers += [{"variant": v, **s} for s in r.pop("servers", [])]
        rows.append(r)
        log("  " + _line(r))
    return {"variants": rows, "servers": servers}


def _line(r: dict) -> str:
    if "skipped" in r:
        return f"{r['variant']:8} skipped: {r['skipped']}"
    return (
        f"{r['variant']:8} prefill {r['prefill_tokens_per_s']:8.1f} tok/s  decode {r['decode_tokens_per_s']:6.1f} tok/s  "
        f"TTFT {r['ttft_s']:6.3f} s  peak {r['peak_gib']:.2f} GiB  weights {r['weights_gib']:.2f} GiB  ({r['note']})"
    )


def perf_table(result: dict):
    """DataFrame of the variants (skipped ones keep their reason)."""
    import pandas as pd

    cols = [
        "variant",
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "ttft_s",
        "peak_gib",
        "weights_gib",
        "prompt_tokens",
        "load_s",
        "device",
        "note",
        "skipped",
        "error",
    ]
    df = pd.DataFrame(result["variants"])
    return df[[c for c in cols if c in df.columns]]


def perf_charts(result: dict) -> list:
    """Plotly figures: prefill and decode tokens/s, time to first token and peak memory per variant, and
    time to first token against prompt length per MCP server."""
    from plotly.subplots import make_subplots

    ok = [r for r in result["variants"] if "prefill_tokens_per_s" in r]
    names = [r["variant"] for r in ok]
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=("tokens/s", "time to first token (s)", "memory (GiB)")
    )
    fig.add_bar(name="prefill", x=names, y=[r["prefill_tokens_per_s"] for r in ok], row=1, col=1)
    fig.add_bar(name="decode", x=names, y=[r["decode_tokens_per_s"] for r in ok], row=1, col=1)
    fig.add_bar(name="TTFT", x=names, y=[r["ttft_s"] for r in ok], row=1, col=2)
    fig.add_bar(name="peak", x=names, y=[r["peak_gib"] for r in ok], row=1, col=3)
    fig.add_bar(name="weights", x=names, y=[r["weights_gib"] for r in ok], row=1, col=3)
    skipped = [
        f"{r['variant']}: {r.get('skipped') or r.get('error')}" for r in result["variants"] if r not in ok
    ]
    title = "Inference per variant (batch 1)" + (f" · skipped {'; '.join(skipped)}" if skipped else "")
    fig.update_layout(barmode="group", title=title)
    figs = [fig]
    if result.get("servers"):
        s = sorted(result["servers"], key=lambda r: r["prompt_tokens"])
        sfig = make_subplots(specs=[[{"secondary_y": True}]])
        sfig.add_bar(name="time to first token (s)", x=[r["server"] for r in s], y=[r["ttft_s"] for r in s])
        sfig.add_scatter(
            name="prompt tokens",
            x=[r["server"] for r in s],
            y=[r["prompt_tokens"] for r in s],
            secondary_y=True,
        )
        sfig.update_layout(title="Per MCP server: its catalog sets the prompt length (base model)")
        figs.append(sfig)
    return figs


if __name__ == "__main__":  # one variant per process: clean peak-memory figures
    import json
    import sys

    params_file, overrides, spec = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    p = load_params(params_file, overrides)
    v = spec.pop("variant")
    print(json.dumps(measure_variant(p, v, spec.pop("new_tokens"), spec.pop("per_server"), **spec)))


# --- backends side by side: transformers against llama.cpp -------------------------------------------

BACKENDS = ("transformers", "llama_cpp")


def _batch1(model, tok, chat: list[dict], new_tokens: int) -> dict:
    """Prefill tokens/s (time to the first token) and decode tokens/s (the tokens after it) of one prompt,
    greedy, no stop string; the faster of two tries each."""
    n_prompt = len(encode(tok, [chat])[0])
    first = min(generation.generate_ids(model, tok, [chat], 1, 1, [])[1]["seconds"] for _ in range(2))
    runs = [generation.generate_ids(model, tok, [chat], new_tokens, 1, []) for _ in range(2)]
    gen, stats = min(runs, key=lambda r: r[1]["seconds"])
    n_new = len(gen[0])
    decode_s = max(stats["seconds"] - first, 1e-9)
    return {
        "prompt_tokens": n_prompt,
        "ttft_s": round(first, 3),
        "prefill_tokens_per_s": n_prompt / max(first, 1e-9),
        "new_tokens": n_new,
        "decode_tokens_per_s": (n_new - 1) / decode_s if n_new > 1 else None,
    }


def bench_backends(
    params_file: str,
    overrides: list[str] | None = None,
    backends: list[str] | None = None,
    n: int = 16,
    new_tokens: int = 64,
    model_params=None,
    log=print,
) -> dict:
    """Each backend on the same model and the same test-split turns, in one process, one after the other:
    batch-1 prefill and decode tokens/s on the first prompt, then the evaluation's own path (`eval.batch_size`
    rows, stop strings, `eval.max_new_tokens`) over all `n` prompts: aggregate new tokens/s, and how many
    greedy outputs equal the first backend's. The ratio of the aggregates (last backend over first) is last."""
    backends = list(backends or BACKENDS)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"--backends: unknown {unknown}; known: {', '.join(BACKENDS)}")
    p = load_params(params_file, overrides)
    mp = model_params or p.model
    items = test_items(p, n)
    chats = [it["chat"] for it in items]
    bs, mnt = p.eval.batch_size, p.eval.max_new_tokens
    log(
        f"bench perf --backends {','.join(backends)}: {mp.id}, {len(items)} test turns, batch {bs}, "
        f"max_new_tokens {mnt}; transformers in {p.eval.dtype}",
        flush=True,
    )
    res: dict = {"model": mp.id, "items": len(items), "batch_size": bs, "max_new_tokens": mnt, "backends": {}}
    outputs: dict[str, list[list[int]]] = {}
    for b in backends:
        q = generation.with_backend(p, b)
        t0 = time.perf_counter()
        model, tok = generation.load_for_eval(mp, q)
        load_s = time.perf_counter() - t0
        stop = stop_strings(tok)
        generation.generate_ids(model, tok, chats[:1], 2, 1, stop)  # warm-up
        one = _batch1(model, tok, chats[0], new_tokens)
        gen, stats = generation.generate_ids(model, tok, chats, mnt, bs, stop)
        outputs[b] = gen
        where = getattr(model, "path", None)
        r = {
            "load_s": round(load_s, 2),
            "weights": str(where) if where else f"transformers {p.eval.dtype}",
            "batch1": one,
            "aggregate_tokens_per_s": stats["tokens_per_s"],
            "seconds": stats["seconds"],
            "new_tokens": stats["new_tokens"],
        }
        res["backends"][b] = r
        log(
            f"{b:12} prefill {one['prefill_tokens_per_s']:7.1f} tok/s (batch 1, {one['prompt_tokens']} tokens)  "
            f"decode {one['decode_tokens_per_s'] or 0:6.1f} tok/s (batch 1)  aggregate {r['aggregate_tokens_per_s']:6.1f} "
            f"tok/s (batch {bs}: {r['new_tokens']} tokens in {r['seconds']:.1f} s)  [{r['weights']}]",
            flush=True,
        )
        if hasattr(model, "close"):
            model.close()
        del model
    first = backends[0]
    for b in backends[1:]:
        same = sum(x == y for x, y in zip(outputs[first], outputs[b], strict=True))
        res["backends"][b]["identical_to_" + first] = same
        log(f"greedy outputs of {b} identical to {first}: {same}/{len(items)}")
    if len(backends) > 1:
        last = backends[-1]
        res["ratio"] = res["backends"][last]["aggregate_tokens_per_s"] / max(
            res["backends"][first]["aggregate_tokens_per_s"], 1e-9
        )
        log(f"aggregate ratio ({last} / {first}, batch {bs}): {res['ratio']:.2f}x")
    return res
