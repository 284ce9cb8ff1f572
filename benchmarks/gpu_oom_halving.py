"""GPU check: a real CUDA out-of-memory at the planned batch is survived by halving (train.oom_halving).

A random-weight Llama-style model (~0.8B parameters, bf16) trains LoRA through the project's `train.trainer.train_lora`
with the allocator capped (`torch.cuda.set_per_process_memory_fraction`) so that the asked batch of 8 x 2048
tokens cannot fit. Expected: one or more `oom_halving` events, training reaching max_steps at a smaller batch
with gradient accumulation raised so that batch x accumulation stays 8. Printed and written to
$OUT/oom_halving.json.

    python benchmarks/gpu_oom_halving.py [--cap-gib 8] [--batch 8] [--seq 2048] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mcpft_lib.config import ModelParams, TrainParams  # noqa: E402
from mcpft_lib.modeling import loaders
from mcpft_lib.train import trainer  # noqa: E402

GIB = 1024**3


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap-gib", type=float, default=8.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--tiny", action="store_true", help="CPU-sized model: checks the script, no OOM expected")
    a = ap.parse_args()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda:0" if cuda else "cpu")

    _, tok = loaders.load_model(ModelParams(source="tiny_random", device="cpu"))  # its locally trained BPE
    from transformers import AutoModelForCausalLM, LlamaConfig

    size = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4) if a.tiny else \
        dict(hidden_size=2048, intermediate_size=5504, num_hidden_layers=16, num_attention_heads=16)  # fmt: skip
    cfg = LlamaConfig(vocab_size=len(tok), num_key_value_heads=4, max_position_embeddings=a.seq, **size)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16 if cuda else torch.float32)
    n_params = sum(p.numel() for p in model.parameters())
    if cuda:
        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, a.cap_gib * GIB / total), device)

    g = torch.Generator().manual_seed(0)
    rows = []
    for _ in range(4 * a.batch):
        ids = torch.randint(3, len(tok), (a.seq,), generator=g).tolist()
        labels = [-100] * (a.seq * 3 // 4) + ids[a.seq * 3 // 4 :]
        rows.append({"input_ids": ids, "labels": labels})
    mp = ModelParams(source="tiny_random", device="cuda" if cuda else "cpu")
    tp = TrainParams(max_steps=a.steps, batch_size=a.batch, grad_accum=1, logging_steps=1, save_every=2,
                     eval_every=2, warmup_ratio=0.0, mixed_precision="bf16" if cuda else "fp32",
                     lora={"r": 16, "alpha": 32, "target_modules": "all-linear"})  # fmt: skip
    with tempfile.TemporaryDirectory() as out, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary, _ = trainer.train_lora(model, tok, rows, [], mp, tp, out)
        log = trainer.read_log(summary["log"])
    result = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__,
        "n_params_b": round(n_params / 1e9, 3),
        "cap_gib": a.cap_gib if cuda else None,
        "asked": {"batch_size": a.batch, "grad_accum": 1, "seq_len": a.seq},
        "final": {"batch_size": summary["batch_size"], "grad_accum": summary["grad_accum"]},
        "steps": summary["steps"],
        "oom_retries": summary["oom_retries"],
        "warnings": [str(w.message) for w in caught if "out of memory" in str(w.message)],
        "losses": [r["loss"] for r in log if "loss" in r],
        "peak_allocated_gib": round(torch.cuda.max_memory_allocated(device) / GIB, 3) if cuda else None,
    }
    print(json.dumps(result, indent=2))
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "oom_halving.json").write_text(json.dumps(result, indent=2))
    ok = summary["steps"] == a.steps and summary["batch_size"] * summary["grad_accum"] == a.batch
    return 0 if ok else 3


if __name__ == "__main__":
    raise SystemExit(main())
