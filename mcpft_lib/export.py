"""Merge a LoRA adapter into its base (never into 4-bit weights), check the merge, export and load back."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from .config import ModelParams
from .models import load_model, save_model, torch_dtype


def merge_adapter(
    mp: ModelParams, adapter_dir: str | Path, prompts: list[str], dtype: str = "float32"
) -> tuple[object, object, dict]:
    """Load the base unquantized in `dtype` (a QLoRA adapter too: never merge into 4-bit weights), apply the
    adapter, merge, and report how closely merged logits agree with base+adapter on `prompts`."""
    import torch
    from peft import PeftModel

    base, tok = load_model(mp, dtype=dtype, quantization="none")
    peft_model = PeftModel.from_pretrained(base, str(adapter_dir))
    peft_model.eval()
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(base.device)
    with torch.no_grad():
        before = peft_model(**enc).logits.float()
    merged = peft_model.merge_and_unload()
    merged.eval()
    with torch.no_grad():
        after = merged(**enc).logits.float()
    mask = enc["attention_mask"].bool()
    before, after = before[mask], after[mask]
    diff = (before - after).abs().max().item()
    scale = before.abs().max().item()
    return (
        merged,
        tok,
        {
            "max_abs_logit_diff": diff,
            "max_abs_logit": scale,
            "relative_diff": diff / max(scale, 1e-12),
            "top1_agreement": (before.argmax(-1) == after.argmax(-1)).float().mean().item(),
            "positions": int(mask.sum()),
            "prompts": len(prompts),
            "dtype": dtype,
        },
    )


def dir_size(path: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def checksums(path: str | Path) -> dict[str, str]:
    out = {}
    for p in sorted(Path(path).rglob("*")):
        if p.is_file() and p.suffix in {".safetensors", ".gguf", ".bin"}:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out[str(p.relative_to(path))] = h.hexdigest()
    return out


def export_safetensors(merged, tok, out_dir: str | Path, dtype: str = "float32") -> dict:
    """Save the merged model as safetensors in `dtype`; returns path, size and checksums."""
    model = merged.to(torch_dtype(dtype))
    path = save_model(model, tok, out_dir)
    return {
        "format": f"safetensors-{dtype}",
        "path": str(path),
        "bytes": dir_size(path),
        "sha256": checksums(path),
    }


def load_back_and_generate(
    path: str | Path, prompt: str, max_new_tokens: int = 24, quantization: str = "none"
) -> dict:
    """Reload an export from disk and generate: proof that it is usable."""
    mp = ModelParams(source="local", id=str(path), chat_template="auto", quantization=quantization)
    t0 = time.time()
    model, tok = load_model(mp)
    load_s = time.time() - t0
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(next(model.parameters()).device)
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=False)
    return {"load_seconds": round(load_s, 2), "generation": text}
