"""GPU check: one QLoRA step of a random-weight model with Devstral Small's architecture under a 24 GiB cap.

Devstral-Small-2507 (Mistral architecture, 24B: 40 layers, hidden 5120, MLP 32768, 32 heads / 8 KV heads,
vocab 131072) is built from its config with random weights directly on the GPU in bf16, every decoder linear
is quantized to bitsandbytes nf4 with double quantization (as `BitsAndBytesConfig(load_in_4bit=True, ...)`
would), then the project's own training path runs: `modeling.peft_setup.prepare_peft` (prepare_model_for_kbit_training +
gradient checkpointing + LoRA from the profile) and `train.loss.target_only_loss` under bf16 autocast, with the
profile's optimizer (paged 8-bit AdamW). Before the step the allocator is capped at `--cap-gib` with
`torch.cuda.set_per_process_memory_fraction`, so an allocation past a 24 GB card's budget raises OOM.

Printed (and written to $OUT/devstral_qlora.json): fits or OOM, peak allocated/reserved memory, step time,
and the memory planner's prediction for the same shape, batch and sequence length beside it.

    python benchmarks/gpu_qlora_devstral.py [--batch 2] [--seq 2048] [--cap-gib 24] [--tiny]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mcpft_lib.config import load_params  # noqa: E402
from mcpft_lib.core.system import GIB
from mcpft_lib.hardware import PRESETS, plan_input_for, plan_memory  # noqa: E402
from mcpft_lib.modeling.peft_setup import prepare_peft
from mcpft_lib.train.loss import target_only_loss  # noqa: E402

PROFILE = Path(__file__).resolve().parents[1] / "params" / "devstral-small-3090.yaml"


def build_config(tiny: bool):
    from transformers import MistralConfig

    s = PRESETS["mistralai/Devstral-Small-2507"]
    if tiny:  # a CPU-sized stand-in to check the script itself
        return MistralConfig(
            hidden_size=256,
            intermediate_size=512,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=64,
            vocab_size=1024,
            max_position_embeddings=4096,
        )
    return MistralConfig(
        hidden_size=s.hidden,
        intermediate_size=s.intermediate,
        num_hidden_layers=s.n_layers,
        num_attention_heads=s.n_heads,
        num_key_value_heads=s.n_kv_heads,
        head_dim=s.head_dim,
        vocab_size=s.vocab,
        max_position_embeddings=131072,
        rope_theta=1e9,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        sliding_window=None,
    )


def quantize_linears(model, device) -> int:
    """Replace every decoder nn.Linear by a bitsandbytes nf4 (double-quant) Linear4bit; frees bf16 weights."""
    import bitsandbytes as bnb

    n = 0
    for layer in model.model.layers:
        for mod in list(layer.modules()):
            for name, child in list(mod.named_children()):
                if type(child) is not torch.nn.Linear:
                    continue
                q = bnb.nn.Linear4bit(
                    child.in_features,
                    child.out_features,
                    bias=child.bias is not None,
                    compute_dtype=torch.bfloat16,
                    compress_statistics=True,
                    quant_type="nf4",
                    device="meta",
                )
                q.weight = bnb.nn.Params4bit(
                    child.weight.data,
                    requires_grad=False,
                    compress_statistics=True,
                    quant_type="nf4",
                    module=q,
                ).to(device)
                setattr(mod, name, q)
                del child
                n += 1
        if device.type == "cuda":
            torch.cuda.empty_cache()
    model.is_loaded_in_4bit = True
    return n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=None, help="default: the profile's train.batch_size")
    ap.add_argument("--seq", type=int, default=None, help="default: the profile's data.max_length")
    ap.add_argument("--cap-gib", type=float, default=24.0)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--target-fraction", type=float, default=0.25, help="share of positions with a label")
    ap.add_argument("--tiny", action="store_true")
    a = ap.parse_args()

    cuda = torch.cuda.is_available()
    device = torch.device("cuda:0" if cuda else "cpu")
    params = load_params(
        PROFILE, overrides=[] if cuda else ["model.device=cpu", "train.optimizer=adamw_torch"]
    )
    batch = a.batch or params.train.batch_size
    seq = a.seq or params.data.max_length
    result: dict = {
        "profile": str(PROFILE.name),
        "batch": batch,
        "seq_len": seq,
        "cap_gib": a.cap_gib,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__,
    }
    plan_in = plan_input_for(params, PRESETS[params.model.id]).model_copy(
        update={"batch_size": batch, "seq_len": seq, "target_fraction": a.target_fraction}
    )
    plan = plan_memory(plan_in)
    result["planner"] = {
        "total_gib": plan.total_gib,
        "components_gib": {k: round(v / GIB, 3) for k, v in plan.breakdown.items()},
    }

    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    t0 = time.perf_counter()
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(
            build_config(a.tiny), dtype=torch.bfloat16, attn_implementation="sdpa"
        )
    result["n_params_b"] = round(sum(p.numel() for p in model.parameters()) / 1e9, 3)
    result["quantized_linears"] = quantize_linears(model, device)
    result["build_s"] = round(time.perf_counter() - t0, 1)
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, a.cap_gib * GIB / total), device)
        result["weights_gib_after_quant"] = round(torch.cuda.memory_allocated(device) / GIB, 3)

    model = prepare_peft(model, params.model, params.train)
    if cuda:
        result["after_prepare_gib"] = round(torch.cuda.memory_allocated(device) / GIB, 3)
    trainable = [p for p in model.parameters() if p.requires_grad]
    result["trainable_params_m"] = round(sum(p.numel() for p in trainable) / 1e6, 2)
    if params.train.optimizer == "paged_adamw_8bit":
        import bitsandbytes as bnb

        opt = bnb.optim.PagedAdamW8bit(trainable, lr=params.train.learning_rate)
    else:
        opt = torch.optim.AdamW(trainable, lr=params.train.learning_rate)

    vocab = model.config.get_text_config().vocab_size
    ids = torch.randint(0, vocab, (batch, seq), device=device)
    labels = ids.clone()
    labels[:, : int(seq * (1 - a.target_fraction))] = -100
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    model.train()
    steps = []
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    try:
        for _ in range(a.steps):
            if cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16):
                loss = target_only_loss(model, inputs)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, params.train.max_grad_norm)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.synchronize()
            steps.append({"seconds": round(time.perf_counter() - t, 3), "loss": round(float(loss), 4)})
        result["fits"] = True
    except torch.OutOfMemoryError as e:
        result["fits"] = False
        result["oom"] = str(e).splitlines()[0][:300]
    result["steps"] = steps
    if cuda:
        result["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated(device) / GIB, 3)
        result["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved(device) / GIB, 3)
        result["tokens_per_s"] = round(batch * seq / steps[-1]["seconds"], 1) if steps else None
    print(json.dumps(result, indent=2))
    out = os.environ.get("OUT")
    if out:
        Path(out, f"devstral_qlora_b{batch}_s{seq}.json").write_text(json.dumps(result, indent=2))
    return 0 if result.get("fits") else 3


if __name__ == "__main__":
    raise SystemExit(main())
