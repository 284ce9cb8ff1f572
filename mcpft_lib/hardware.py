"""Hardware check for notebook 00: environment report, micro-benchmarks, a GPU memory planner and probes.

Heavy libraries (torch, plotly) are imported inside functions so importing this module stays cheap.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.core.system import GIB, cpu_info
from mcpft_lib.modeling.loaders import load_config, load_model
from mcpft_lib.modeling.peft_setup import prepare_peft


def _timed(fn: Callable[[], Any], sync: Callable[[], None], seconds: float) -> tuple[int, float]:
    """Run fn repeatedly for about `seconds` (at least 2 iterations); return (iterations, elapsed)."""
    iters, start = 0, time.perf_counter()
    while True:
        fn()
        iters += 1
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and iters >= 2:
            return iters, elapsed


def micro_benchmark(
    device: str | None = None, size: int | None = None, seconds: float = 0.5
) -> dict[str, Any]:
    """Matmul TFLOP/s per dtype and copy bandwidth GB/s; dtypes that error or crawl are listed as skipped."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    on_gpu = dev.type == "cuda"
    size = size or (4096 if on_gpu else 1024)

    def sync() -> None:
        if on_gpu:
            torch.cuda.synchronize(dev)

    results: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    dtypes = [torch.float32, torch.bfloat16, torch.float16]
    for dtype in dtypes:
        name = str(dtype).removeprefix("torch.")
        try:
            if not on_gpu:  # a tiny probe first: CPU fp16/bf16 kernels can be orders of magnitude slower
                s = min(size, max(size // 4, 128))
                a = torch.randn(s, s, dtype=dtype)
                t0 = time.perf_counter()
                a @ a
                a @ a
                if (time.perf_counter() - t0) / 2 * (size / s) ** 3 > max(seconds, 0.05) * 4:
                    skipped.append({"op": "matmul", "dtype": name, "reason": "too slow on this device"})
                    continue
            a = torch.randn(size, size, device=dev, dtype=dtype)
            b = torch.randn(size, size, device=dev, dtype=dtype)
            a @ b  # warm-up (kernel selection, lazy init)
            sync()
            iters, elapsed = _timed(lambda a=a, b=b: a @ b, sync, seconds)
        except (RuntimeError, TypeError, NotImplementedError) as e:
            skipped.append({"op": "matmul", "dtype": name, "reason": str(e).splitlines()[0][:200]})
            continue
        tflops = 2 * size**3 * iters / elapsed / 1e12
        results.append(
            {
                "op": "matmul",
                "dtype": name,
                "tflops": round(tflops, 4),
                "size": size,
                "seconds": round(elapsed, 4),
            }
        )
        del a, b

    n = (256 if on_gpu else 16) * 2**20  # fp32 elements: 1 GiB on GPU, 64 MiB on CPU
    src = torch.empty(n, device=dev, dtype=torch.float32).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    sync()
    iters, elapsed = _timed(lambda src=src, dst=dst: dst.copy_(src), sync, seconds)
    gbps = 2 * src.nbytes * iters / elapsed / 1e9  # read + write
    results.append(
        {
            "op": "copy",
            "dtype": "float32",
            "gbps": round(gbps, 2),
            "size": src.nbytes,
            "seconds": round(elapsed, 4),
        }
    )
    del src, dst
    if on_gpu:
        torch.cuda.empty_cache()
    return {
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if on_gpu else cpu_info()["model"],
        "threads": torch.get_num_threads(),
        "results": results,
        "skipped": skipped,
    }


ATTN_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")

MLP_MODULES = ("gate_proj", "up_proj", "down_proj")

LINEAR_MODULES = ATTN_MODULES + MLP_MODULES

# bitsandbytes nf4: 4 bits + fp32 absmax per 64-block; double quant stores absmax in 8 bits plus one
# fp32 constant per 256 absmax values: 4 + 8/64 + 32/(64*256) = 4.127 bits/param.
NF4_DQ_BITS = 4 + 8 / 64 + 32 / (64 * 256)

NF4_BITS = 4 + 32 / 64

INT8_BITS = 8.0  # LLM.int8 adds one fp32 scale per output row: negligible


class ModelShape(BaseModel):
    """The shape of a decoder-only transformer (Llama/Mistral/Gemma style: GQA attention + gated MLP)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    n_params: int | None = None
    n_layers: int
    hidden: int
    intermediate: int
    n_heads: int
    n_kv_heads: int
    head_dim: int | None = None
    vocab: int
    tie_embeddings: bool = False

    @model_validator(mode="after")
    def _fill(self) -> ModelShape:
        if self.head_dim is None:
            self.head_dim = self.hidden // self.n_heads
        if self.n_params is None:
            self.n_params = self.shape_params()
        return self

    def module_dims(self) -> dict[str, tuple[int, int]]:
        """(in_features, out_features) of each linear module in one decoder layer."""
        h, q, kv, i = (
            self.hidden,
            self.n_heads * self.head_dim,
            self.n_kv_heads * self.head_dim,
            self.intermediate,
        )
        return {
            "q_proj": (h, q),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (q, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    def linear_params(self) -> int:
        """Parameters in the decoder layers' linear modules (what bitsandbytes quantizes)."""
        return self.n_layers * sum(a * b for a, b in self.module_dims().values())

    def shape_params(self) -> int:
        """Parameter count from the shape: embeddings + layers (linears + 2 norms) + final norm + lm_head."""
        emb = self.vocab * self.hidden
        norms = (2 * self.n_layers + 1) * self.hidden
        return emb * (1 if self.tie_embeddings else 2) + self.linear_params() + norms

    @classmethod
    def from_config(cls, config: Any, name: str | None = None) -> ModelShape:
        """Read the shape from a transformers config (or a dict); multimodal configs use their text_config."""
        if isinstance(config, Mapping):
            config = SimpleNamespace(**config)
        if hasattr(config, "get_text_config"):
            text = config.get_text_config()
        else:
            text = getattr(config, "text_config", None) or config
        if isinstance(text, Mapping):
            text = SimpleNamespace(**text)
        heads = text.num_attention_heads
        tie = getattr(text, "tie_word_embeddings", None)
        if tie is None:
            tie = getattr(config, "tie_word_embeddings", False)
        return cls(
            name=name or getattr(config, "name_or_path", "") or getattr(config, "model_type", "model"),
            n_layers=text.num_hidden_layers,
            hidden=text.hidden_size,
            intermediate=text.intermediate_size,
            n_heads=heads,
            n_kv_heads=getattr(text, "num_key_value_heads", None) or heads,
            head_dim=getattr(text, "head_dim", None) or text.hidden_size // heads,
            vocab=text.vocab_size,
            tie_embeddings=bool(tie),
        )


PRESETS: dict[str, ModelShape] = {
    "mistralai/Devstral-Small-2507": ModelShape(
        name="mistralai/Devstral-Small-2507",
        n_layers=40,
        hidden=5120,
        intermediate=32768,
        n_heads=32,
        n_kv_heads=8,
        head_dim=128,
        vocab=131072,
    ),
    "google/gemma-3-270m": ModelShape(
        name="google/gemma-3-270m",
        n_layers=18,
        hidden=640,
        intermediate=2048,
        n_heads=4,
        n_kv_heads=1,
        head_dim=256,
        vocab=262144,
        tie_embeddings=True,
    ),
}

COMPONENTS = ("weights", "lora", "gradients", "optimizer", "activations", "logits", "overhead")


class PlanInput(BaseModel):
    """What determines training memory: model shape, quantization, LoRA, batch/sequence, optimizer, card."""

    model_config = ConfigDict(extra="forbid")

    model: ModelShape
    quant_bits: Literal[4, 8, 16, 32] = 16
    double_quant: bool = True  # nf4 only
    lora_rank: int = Field(16, ge=1)
    lora_targets: list[str] = Field(default_factory=lambda: list(ATTN_MODULES))
    seq_len: int = Field(2048, ge=1)
    batch_size: int = Field(1, ge=1)
    grad_checkpointing: bool = True
    flash_attention: bool = True  # SDPA/flash: no batch*heads*seq^2 score matrix kept
    optimizer: Literal["adamw_torch", "paged_adamw_8bit", "adamw_8bit"] = "adamw_torch"
    compute_dtype_bytes: int = 2
    logits_mode: Literal["full", "targets_only"] = "full"
    target_fraction: float = Field(0.25, gt=0, le=1)
    card_gib: float = 24.0
    overhead_gib: float = 1.0

    @field_validator("lora_targets", mode="before")
    @classmethod
    def _targets(cls, v: Any) -> list[str]:
        v = [v] if isinstance(v, str) else list(v)
        if "all-linear" in v:
            return list(LINEAR_MODULES)
        unknown = sorted(set(v) - set(LINEAR_MODULES))
        if unknown:
            raise ValueError(f"unknown LoRA targets {unknown}; known: {list(LINEAR_MODULES)} or 'all-linear'")
        return v


class MemoryPlan(BaseModel):
    """Estimated peak training memory, per component in bytes, against the card."""

    input: PlanInput
    n_params: int
    trainable_params: int
    breakdown: dict[str, int]
    card_bytes: int

    @computed_field
    @property
    def total_bytes(self) -> int:
        return sum(self.breakdown.values())

    @computed_field
    @property
    def headroom_bytes(self) -> int:
        return self.card_bytes - self.total_bytes

    @computed_field
    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.card_bytes

    @computed_field
    @property
    def total_gib(self) -> float:
        return round(self.total_bytes / GIB, 3)

    @computed_field
    @property
    def headroom_gib(self) -> float:
        return round(self.headroom_bytes / GIB, 3)

    def breakdown_gib(self) -> dict[str, float]:
        return {k: round(v / GIB, 3) for k, v in self.breakdown.items()}


def layer_activation_elems(m: ModelShape, seq_len: int, flash: bool = True) -> int:
    """Activation elements kept per token by one decoder layer for its backward pass.

    2 norms x (in + out) = 4h; q, k, v (after RoPE) and the attention output = 2q + 2kv; gated MLP:
    gate, up, act(gate), act(gate)*up = 4i; o_proj and down_proj outputs = 2h. Without flash/SDPA add
    the scores and probabilities, 2 * heads * seq. (For a GPT-style MLP this is close to the 34h of
    Korthikanti et al. 2022.)
    """
    q, kv = m.n_heads * m.head_dim, m.n_kv_heads * m.head_dim
    elems = 6 * m.hidden + 2 * q + 2 * kv + 4 * m.intermediate
    return elems + (0 if flash else 2 * m.n_heads * seq_len)


def plan_memory(inp: PlanInput) -> MemoryPlan:
    """Estimate peak memory of one LoRA/QLoRA training step; components are summed (a conservative peak).

    - weights: decoder linears at quant_bits (nf4 with double quant 4.127 bits, without 4.5); embeddings,
      lm_head (once if tied) and norms in fp32 under bitsandbytes, because peft's
      `prepare_model_for_kbit_training` upcasts every non-quantized parameter (measured on an H100 with
      Devstral Small's shape: 13.18 GiB after quantization, 15.83 GiB after preparation).
    - lora: fp32 adapters, r * (in + out) per targeted module per layer; gradients: the same again.
    - optimizer: AdamW 8 bytes/param (two fp32 moments); 8-bit/paged AdamW 2 bytes/param.
    - activations (T = batch * seq tokens, b = compute dtype bytes, A = `layer_activation_elems`):
      with checkpointing L*T*hidden*b (each layer's saved input) + T*A*b (one layer recomputed);
      without, L*T*A*b + T*hidden*b. Quantized models add one dequantized largest weight (bf16 buffer).
    - logits: T * vocab * 4 bytes (fp32) x 3 (logits, the log-softmax cross-entropy keeps for backward,
      their gradient), x target_fraction with targets_only.
    - overhead: CUDA context, cuBLAS workspace and allocator fragmentation (overhead_gib).
    The logits spike and the layer recompute do not fully coincide, so the sum errs on the safe side.
    """
    m, b = inp.model, inp.compute_dtype_bytes
    linear = m.linear_params()
    other = m.n_params - linear  # embeddings, lm_head, norms (and anything the shape does not model)
    if inp.quant_bits == 4:
        bits = NF4_DQ_BITS if inp.double_quant else NF4_BITS
        weights = linear * bits / 8 + other * 4
    elif inp.quant_bits == 8:
        weights = linear * INT8_BITS / 8 + other * 4
    else:
        weights = m.n_params * inp.quant_bits / 8

    dims = m.module_dims()
    trainable = m.n_layers * sum(inp.lora_rank * sum(dims[t]) for t in inp.lora_targets)
    lora = grads = trainable * 4
    optimizer = trainable * (8 if inp.optimizer == "adamw_torch" else 2)

    tokens = inp.batch_size * inp.seq_len
    per_layer = tokens * layer_activation_elems(m, inp.seq_len, inp.flash_attention) * b
    if inp.grad_checkpointing:
        activations = m.n_layers * tokens * m.hidden * b + per_layer
    else:
        activations = m.n_layers * per_layer + tokens * m.hidden * b
    if inp.quant_bits in (4, 8):
        activations += max(a * o for a, o in dims.values()) * b

    logits = tokens * m.vocab * 4 * 3
    if inp.logits_mode == "targets_only":
        logits *= inp.target_fraction

    breakdown = {
        "weights": weights,
        "lora": lora,
        "gradients": grads,
        "optimizer": optimizer,
        "activations": activations,
        "logits": logits,
        "overhead": inp.overhead_gib * GIB,
    }
    return MemoryPlan(
        input=inp,
        n_params=m.n_params,
        trainable_params=trainable,
        breakdown={k: int(round(v)) for k, v in breakdown.items()},
        card_bytes=int(inp.card_gib * GIB),
    )


def recommend(inp: PlanInput, effective_batch: int = 16, min_headroom: float = 0.05) -> dict[str, Any]:
    """Largest power-of-two batch dividing effective_batch that fits with >= min_headroom of the card free."""
    if effective_batch < 1:
        raise ValueError(f"effective_batch must be >= 1, got {effective_batch}")
    sizes = [2**k for k in range(effective_batch.bit_length()) if effective_batch % 2**k == 0]
    table, best = [], None
    for bs in sizes:
        plan = plan_memory(inp.model_copy(update={"batch_size": bs}))
        ok = plan.headroom_bytes >= min_headroom * plan.card_bytes
        table.append({"batch_size": bs, "total_gib": plan.total_gib, "fits": ok})
        if ok:
            best = plan
    if best is None:
        return {
            "batch_size": None,
            "grad_accum_steps": None,
            "effective_batch": effective_batch,
            "fits": False,
            "message": f"even batch 1 needs {table[0]['total_gib']} GiB of a {inp.card_gib} GiB card: "
            "quantize, shorten seq_len, use targets_only logits or a smaller model.",
            "table": table,
            "plan": None,
        }
    bs = best.input.batch_size
    return {
        "batch_size": bs,
        "grad_accum_steps": effective_batch // bs,
        "effective_batch": effective_batch,
        "fits": True,
        "message": f"batch {bs} x {effective_batch // bs} accumulation steps: {best.total_gib} GiB "
        f"of {inp.card_gib} GiB",
        "table": table,
        "plan": best.model_dump(mode="json"),
    }


def plan_chart(plan_or_plans: MemoryPlan | Sequence[MemoryPlan], title: str | None = None) -> Any:
    """Plotly stacked bar of the breakdown (GiB) per plan, with a dashed line at the card's memory."""
    import plotly.graph_objects as go

    plans = [plan_or_plans] if isinstance(plan_or_plans, MemoryPlan) else list(plan_or_plans)
    labels = [f"batch {p.input.batch_size} · seq {p.input.seq_len}" for p in plans]
    if len(set(labels)) < len(labels):
        labels = [f"{i}: {lab}" for i, lab in enumerate(labels)]
    fig = go.Figure()
    for comp in COMPONENTS:
        fig.add_bar(name=comp, x=labels, y=[p.breakdown.get(comp, 0) / GIB for p in plans])
    card = max(p.card_bytes for p in plans) / GIB
    fig.add_hline(y=card, line_dash="dash", line_color="red", annotation_text=f"card {card:g} GiB")
    model = plans[0].input.model.name if plans else ""
    fig.update_layout(
        barmode="stack",
        title=title or f"Estimated training memory: {model}",
        yaxis_title="GiB",
        legend_title="component",
    )
    return fig


def _rss() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process().memory_info().rss


def measure_lora_step_peak(model: Any, batch_size: int, seq_len: int, device: str | Any) -> dict[str, Any]:
    """Peak memory and time of one forward+backward on random ids (CUDA: exact allocator peak; CPU: RSS).

    On CPU the peak is the sampled resident-set growth during the step: approximate (allocator caching,
    sampling every few ms). Gradients are cleared afterwards.
    """
    import torch

    dev = torch.device(device)
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    ids = torch.randint(0, cfg.vocab_size, (batch_size, seq_len), device=dev)
    was_training = model.training
    model.train()
    samples: list[int] = []
    stop = threading.Event()
    sampler: threading.Thread | None = None
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)
        baseline = torch.cuda.memory_allocated(dev)
        method = "torch.cuda.max_memory_allocated"
    else:
        baseline = _rss()
        if baseline is not None:
            method = "psutil RSS sampling (approximate)"

            def sample() -> None:
                while not stop.is_set():
                    samples.append(_rss() or 0)
                    stop.wait(0.005)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        else:
            import resource

            method = "ru_maxrss delta (approximate, high-water mark)"
            baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    try:
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - t0
        loss = float(out.loss.detach())
        del out
    finally:
        stop.set()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev)
    elif sampler is not None:
        sampler.join()
        peak = max([*samples, _rss() or 0])
    else:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "device": str(dev),
        "batch_size": batch_size,
        "seq_len": seq_len,
        "seconds": round(seconds, 4),
        "loss": loss,
        "baseline_bytes": baseline,
        "peak_bytes": peak,
        "step_bytes": max(peak - baseline, 0),
        "peak_gib": round(peak / GIB, 3),
        "step_gib": round(max(peak - baseline, 0) / GIB, 3),
        "method": method,
        "approximate": dev.type != "cuda",
    }


def _is_oom(e: BaseException) -> bool:
    import torch

    return isinstance(e, torch.cuda.OutOfMemoryError) or (
        isinstance(e, RuntimeError) and "out of memory" in str(e).lower()
    )


def probe_max_batch(make_step: Callable[[int], None], start: int = 1, limit: int = 64) -> dict[str, Any]:
    """Double the batch size from `start`, calling make_step(bs) until it runs out of memory or hits limit."""
    import torch

    attempts: list[dict[str, Any]] = []
    best, bs = None, start
    while bs <= limit:
        t0 = time.perf_counter()
        try:
            make_step(bs)
        except Exception as e:
            if not _is_oom(e):
                raise
            attempts.append(
                {
                    "batch_size": bs,
                    "ok": False,
                    "seconds": round(time.perf_counter() - t0, 4),
                    "error": str(e).splitlines()[0][:200] if str(e) else type(e).__name__,
                }
            )
            del e
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            break
        attempts.append({"batch_size": bs, "ok": True, "seconds": round(time.perf_counter() - t0, 4)})
        best = bs
        bs *= 2
    return {
        "max_batch_size": best,
        "hit_limit": bool(attempts) and attempts[-1]["ok"] and bs > limit,
        "attempts": attempts,
    }


def _jsonable(o: Any) -> Any:
    if isinstance(o, BaseModel):
        return o.model_dump(mode="json")
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, set | tuple):
        return list(o)
    return str(o)


def write_hardware_json(path: str | os.PathLike[str], /, **sections: Any) -> Path:
    """Write the sections as one JSON document atomically (temp file in the same folder + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(sections, indent=2, default=_jsonable, ensure_ascii=False) + "\n"

    return atomic_write(path, text)


# --- params-driven entry points (notebook 00) -----------------------------------------------------


def shape_for(params: Any) -> ModelShape:
    """The run's model shape: a known preset by id, else read from the model's config (no weights loaded)."""
    if params.model.id in PRESETS:
        return PRESETS[params.model.id]

    return ModelShape.from_config(load_config(params.model), name=params.model.id)


def plan_input_for(params: Any, shape: ModelShape) -> PlanInput:
    """PlanInput from the run's params (quantization, LoRA, optimizer, batch) for the target card."""
    bits = {"nf4": 4, "int8": 8}.get(params.model.quantization) or (
        32 if params.model.dtype == "float32" else 16
    )
    optimizer = params.train.optimizer if params.train.optimizer != "sgd" else "adamw_torch"
    return PlanInput(
        model=shape,
        quant_bits=bits,
        lora_rank=params.train.lora.r,
        lora_targets=params.train.lora.target_modules,
        seq_len=params.hardware.plan_seq_len,
        batch_size=params.train.batch_size,
        grad_checkpointing=params.train.gradient_checkpointing,
        optimizer=optimizer,
        compute_dtype_bytes=4 if bits == 32 else 2,
        logits_mode="targets_only",  # TRL's fused LM head projects only loss-bearing positions
        card_gib=params.hardware.target_card_gib,
    )


def measure_for_params(params: Any, plan_in: PlanInput) -> dict[str, Any]:
    """On a GPU: load the run's model, measure one LoRA step at the planned batch, probe the largest batch."""
    import torch

    model, _ = load_model(params.model)
    model = prepare_peft(model, params.model, params.train)
    model.train()
    predicted = plan_memory(
        plan_in.model_copy(update={"logits_mode": "full"})
    )  # the probe computes full logits
    measured = measure_lora_step_peak(model, plan_in.batch_size, plan_in.seq_len, "cuda")
    out: dict[str, Any] = {"predicted_gib": predicted.total_gib, "measured": measured}
    if params.hardware.probe:
        out["probe"] = probe_max_batch(
            lambda bs, m=model: measure_lora_step_peak(m, bs, plan_in.seq_len, "cuda"), start=1, limit=64
        )
    del model
    torch.cuda.empty_cache()
    return out
