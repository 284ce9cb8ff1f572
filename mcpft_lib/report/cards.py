"""Model card (huggingface_hub ModelCard) rendered from a registry entry, and publishing to the hub.

The card is built from what the registry recorded for one version (lineage, params, training, evaluation,
exports), so it is always current. Publishing uploads the merged model, the adapter, the GGUF files and the
card with `HfApi.create_repo` / `upload_folder`, only when `docs.push_to_hub` is on; a local folder can stand
in for the hub (tests, air-gapped machines), and an offline machine gets a clear message.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from mcpft_lib.config import Params
from mcpft_lib.core.schema import Example, Message, ToolCall
from mcpft_lib.evaluation.metrics import CALL_METRICS
from mcpft_lib.export import registry
from mcpft_lib.mcp import catalogs, dialects

EVAL_METRICS = CALL_METRICS

_TEMPLATE = """---
{{ card_data }}
---

# {{ name }} (v{{ version }})

A LoRA fine-tune of [`{{ base_model }}`](https://huggingface.co/{{ base_model }}) that makes well-formed, correct
MCP (Model Context Protocol) tool calls in the `{{ dialect }}` dialect. Built with mcpft, run `{{ run_id }}`
(git `{{ git_sha }}`{% if git_dirty %}, uncommitted changes{% endif %}), params hash `{{ params_hash }}`.

## Training method and hyperparameters
| | |
|---|---|
| method | {{ method }} |
| base model | `{{ base_model }}` (revision `{{ base_revision }}`) |
| LoRA | r={{ lora.r }}, alpha={{ lora.alpha }}, dropout={{ lora.dropout }}, targets {{ lora.target_modules }}{% if lora.use_rslora %}, rsLoRA{% endif %}{% if lora.use_dora %}, DoRA{% endif %} |
| optimisation | {{ train.optimizer }}, learning rate {{ train.learning_rate }}, {{ train.scheduler }} schedule, warm-up {{ train.warmup_ratio }}, weight decay {{ train.weight_decay }} |
| batch | {{ train.batch_size }} x {{ train.grad_accum }} accumulation, {{ length }} |
| precision | weights {{ model.dtype }}, mixed precision {{ train.mixed_precision }}, quantization {{ model.quantization }} |
| merge | base loaded unquantized in {{ merge.dtype }}, max abs logit diff base+adapter vs merged {{ merge_diff }} |

## Data
Dataset version `{{ dataset_version }}`: {{ n_examples }} generated examples (tool catalogs of real MCP servers:
{{ servers }}; categories: {{ categories }}), rendered in the `{{ dialect }}` dialect, at most {{ max_length }}
tokens each. Splits: validation {{ val_fraction }}, test {{ test_fraction }}.

## Evaluation (test split, per assistant turn, base vs fine-tuned)
{% if eval_rows %}| metric | base | fine-tuned |
|---|---|---|
{% for m, b, f in eval_rows %}| {{ m }} | {{ b }} | {{ f }} |
{% endfor %}
Values with 95% bootstrap confidence intervals.
{% else %}Not evaluated yet (run notebook 04 and re-render the card).
{% endif %}

## Performance characteristics
{% if perf_rows %}| format | size (MB) | load (s) | top-1 agreement with merged | greedy continuation match |
|---|---|---|---|---|
{% for r in perf_rows %}| {{ r.format }} | {{ r.mb }} | {{ r.load }} | {{ r.top1 }} | {{ r.greedy }} |
{% endfor %}{% endif %}
{% if train_seconds %}Training: {{ train_seconds }} s{% if tokens_per_s %}, {{ tokens_per_s }} tokens/s{% endif %} on the machine in the run report.{% endif %}

## Intended use
Research on MCP tool calling: a coding agent's model that chooses a tool from the servers listed in its system
prompt and emits the call with arguments that validate against the tool's `inputSchema`.

## Limitations and risks
{% for line in measured %}- {{ line }}
{% endfor %}- The evaluation covers the servers and categories above only, on generated data; real traffic differs.
- The model can call the wrong tool or pass wrong arguments. Execute its calls only against allowlisted
  servers, with the user's confirmation for anything that writes, deletes or sends.
- Quantized exports (8-bit, 4-bit, GGUF q8_0) agree less with the merged model than the 16/32-bit ones; see the
  table above.
- Inherits the base model's biases and license terms ({{ license }}).

## Prompt and call format
Dialect `{{ dialect }}`, exactly as in training (here with one MCP server, `time`, and compact schemas):
{% if dialect == "xml" %}the system prompt lists the connected servers and their tools, and the model replies with one
`<use_mcp_tool>` block (the Cline/Roo format), or with text when no tool fits or a value is missing.

System prompt:
```text
{{ example_system }}
```
User: `{{ example_user }}` — the model's reply:
```xml
{{ example_reply }}
```
The call's result goes back as the next user message. The chat template (turn markers) is in the tokenizer{% if has_gguf %}
and embedded in the GGUF files{% endif %}.
{% else %}the tools go to the chat template as OpenAI-style functions named `server__tool` (`tools=`), after this
system prompt:
```text
{{ example_system }}
```
Tools:
```json
{{ example_tools }}
```
User: `{{ example_user }}` — the model calls `{{ example_call }}` in its chat template's tool-call format (the
template is in the tokenizer{% if has_gguf %} and embedded in the GGUF files{% endif %}; several calls may come in one turn).
{% endif %}

## How to use
OpenAI-compatible server with tool calling (`tools` in, `tool_calls` out), from the mcpft checkout that made it:
```bash
mcpft serve {{ run_id }} --port 8000                    # transformers
mcpft serve {{ run_id }} --port 8000 --backend llama_cpp  # llama.cpp on the GGUF
```
Transformers (merged weights at the repository root):
```python
from transformers import AutoModelForCausalLM, AutoTokenizer

model = AutoModelForCausalLM.from_pretrained("{{ repo }}")
tokenizer = AutoTokenizer.from_pretrained("{{ repo }}")
messages = [{"role": "system", "content": SYSTEM_PROMPT},  # as above
            {"role": "user", "content": "{{ example_user }}"}]
ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt"{% if dialect != "xml" %}, tools=TOOLS{% endif %})
print(tokenizer.decode(model.generate(ids, max_new_tokens=128, do_sample=False)[0, ids.shape[1]:]))
```
PEFT adapter on the base model:
```python
from peft import PeftModel
from transformers import AutoModelForCausalLM

base = AutoModelForCausalLM.from_pretrained("{{ base_model }}")
model = PeftModel.from_pretrained(base, "{{ repo }}", subfolder="adapter")
```
{% if has_gguf %}GGUF with llama.cpp (the chat template is embedded), e.g. llama-cpp-python or `llama-server -m {{ gguf_example }} --jinja`:
```python
from llama_cpp import Llama

llm = Llama(model_path="{{ gguf_example }}", n_ctx=4096)
reply = llm.create_chat_completion(messages=messages, temperature=0{% if dialect != "xml" %}, tools=TOOLS{% endif %})
```
llama-cpp-python's own OpenAI server renders requests with the embedded template too
(`pip install "llama-cpp-python[server]"`, then `python -m llama_cpp.server --model {{ gguf_example }}`); the model's
call comes back as text in `content`, in the format above (with `tool_choice` naming a tool, the server constrains
the arguments to its schema and returns `tool_calls`); `mcpft serve` parses every reply into `tool_calls`.
{% if modelfile %}Ollama (the Modelfile holds the chat template of training, its stop token and greedy decoding):
```bash
ollama create {{ name }} -f {{ modelfile }} && ollama run {{ name }}
```
{% endif %}Transformers reads the GGUF too (dequantising it):
```python
model = AutoModelForCausalLM.from_pretrained("{{ repo }}", gguf_file="{{ gguf_example }}")
```
{% endif %}"""


def _fmt(v) -> str:
    if isinstance(v, dict):
        if v.get("value") is None:
            return "n/a"
        if v.get("lo") is not None and v.get("hi") is not None:
            return f"{v['value']:.3f} [{v['lo']:.3f}, {v['hi']:.3f}]"
        v = v.get("value")
    return "n/a" if v is None else f"{v:.3f}"


def _value(v):
    return v.get("value") if isinstance(v, dict) else v


_REASONS = {
    "no_call": "answered or asked where a call was expected",
    "unexpected_call": "called a tool where an answer or a question was expected",
    "wrong_tool": "called another tool of the right server",
    "wrong_server": "called the tool on the wrong server",
    "hallucinated_tool": "called a tool no connected server has",
}


def measured_limits(ev: dict, weakest: int = 3) -> list[str]:
    """Limitations read off the evaluation: metrics on which the fine-tuned model does worse than base (with
    the paired test), its weakest categories on tool selection, why its turns failed, and the other eval sets."""
    base, ft = ev.get("base") or {}, ev.get("fine_tuned") or {}
    out = []
    for m in EVAL_METRICS:
        b, f, t = _value(base.get(m)), _value(ft.get(m)), (ev.get("tests") or {}).get(m) or {}
        if b is not None and f is not None and f < b:
            p = f", paired p = {t['p_value']:.2g}" if t.get("p_value") is not None else ""
            out.append(f"Worse than the base model on {m}: {f:.3f} vs {b:.3f} ({t.get('n', '?')} turns{p}).")
    cats = {
        c: v["tool_selection"]
        for c, v in ((ev.get("by_category") or {}).get("fine_tuned") or {}).items()
        if _value(v.get("tool_selection")) is not None
    }
    if cats:
        low = sorted(cats.items(), key=lambda kv: _value(kv[1]))[:weakest]
        out.append(
            "Weakest categories (tool selection): "
            + ", ".join(f"{c} {_value(v):.2f} (n={v.get('n', '?')})" for c, v in low)
            + "."
        )
    primary = ev.get("primary_set") or "primary"
    why = ((ev.get("reasons") or {}).get("fine_tuned") or {}).get("selection_reason") or {}
    why = {k: n for k, n in why.items() if k != "ok" and n}
    if why:
        out.append(
            f"Failed turns on the {primary} set: "
            + "; ".join(f"{n} {_REASONS.get(k, k)}" for k, n in sorted(why.items(), key=lambda kv: -kv[1]))
            + "."
        )
    others = []
    for name, v in (ev.get("sets") or {}).items():
        f, b = (_value((v.get(k) or {}).get("tool_selection")) for k in ("fine_tuned", "base"))
        if name != primary and f is not None:
            others.append(f"{name} {f:.2f}" + (f" (base {b:.2f})" if b is not None else ""))
    if others:
        out.append("Tool selection on the other eval sets: " + ", ".join(others) + ".")
    return out


def card_data(entry: dict) -> ModelCardData:
    """The card's YAML metadata: base model, library, tags, datasets, license and model-index results."""
    p = entry.get("params") or {}
    ev = (entry.get("metrics") or {}).get("eval") or {}
    dataset = f"mcpft-mcp-tool-calls-{(entry.get('dataset') or {}).get('version') or 'unversioned'}"
    results = [
        EvalResult(
            task_type="text-generation",
            task_name="MCP tool calling",
            dataset_type="mcpft/mcp-tool-calls",
            dataset_name=dataset,
            dataset_split="test",
            metric_type=prefix + m,
            metric_name=m.replace("_", " ") + suffix,
            metric_value=round(float(_value(ev[model][m])), 4),
        )
        for model, prefix, suffix in (("fine_tuned", "", ""), ("base", "base_", " (base model)"))
        for m in EVAL_METRICS
        if _value((ev.get(model) or {}).get(m)) is not None
    ]
    bfcl = ev.get("bfcl") or {}
    for model, label in (("fine_tuned", "accuracy"), ("base", "accuracy of the base model")):
        for cat, v in (bfcl.get(model) or {}).items():
            if cat == "all" or _value(v) is None:
                continue
            results.append(
                EvalResult(
                    task_type="text-generation",
                    task_name="Function calling (BFCL v4)",
                    dataset_type="gorilla-llm/Berkeley-Function-Calling-Leaderboard",
                    dataset_name=f"BFCL v4 (bfcl-eval {bfcl.get('bfcl_eval', '?')}), {v.get('n')} entries sampled",
                    dataset_split=cat,
                    metric_type="accuracy" if model == "fine_tuned" else "base_accuracy",
                    metric_name=label,
                    metric_value=round(float(_value(v)), 4),
                )
            )
    # the repository root holds the merged model (transformers), the adapter sits in adapter/, GGUF files
    # only where an export wrote them; the generated dataset is not on the hub, so no `datasets:` id
    return ModelCardData(
        model_name=f"{entry['name']}",
        base_model=entry["base_model"]["id"],
        base_model_relation="finetune",
        library_name="transformers",
        license=(p.get("docs") or {}).get("license"),
        tags=["mcp", "tool-calling", "lora", "mcpft", "peft"] + (["gguf"] if gguf_files(entry) else []),
        pipeline_tag="text-generation",
        eval_results=results or None,
    )


def gguf_files(entry: dict) -> list[str]:
    """The GGUF files a registry version's exports wrote."""
    return [f for e in entry.get("exports", []) for f in e.get("sha256", {}) if f.endswith(".gguf")]


def training_length(trained: dict, train_params: dict) -> str:
    """How long it trained: the steps (and epochs) the run recorded, else what the profile asked for."""
    if trained.get("steps") is not None:
        epochs = trained.get("epochs_done")
        return f"{trained['steps']} steps" + (
            f" ({epochs:.3g} epochs)" if isinstance(epochs, int | float) else ""
        )
    if train_params.get("max_steps") is not None:
        return f"{train_params['max_steps']} steps"
    return f"{train_params.get('epochs', 1)} epochs"


def model_card(entry: dict, repo: str | None = None) -> ModelCard:
    """Render the card of a registry entry (`registry.get("NAME:vN")`)."""
    p = entry.get("params") or {}
    metrics = entry.get("metrics") or {}
    ev, tr = metrics.get("eval") or {}, metrics.get("train") or {}
    rows = [
        (m, _fmt((ev.get("base") or {}).get(m)), _fmt((ev.get("fine_tuned") or {}).get(m)))
        for m in EVAL_METRICS
        if (ev.get("base") or {}).get(m) is not None or (ev.get("fine_tuned") or {}).get(m) is not None
    ]
    perf = [
        {
            "format": e.get("format"),
            "mb": round(e.get("bytes", 0) / 1e6, 1),
            "load": e.get("load_seconds", "n/a"),
            "top1": _fmt(e.get("top1_agreement")),
            "greedy": _fmt(e.get("greedy_exact")),
        }
        for e in entry.get("exports", [])
    ]
    ggufs = gguf_files(entry)
    example = format_example(p.get("data") or {})
    model, train, data = p.get("model") or {}, p.get("train") or {}, p.get("data") or {}
    quant = model.get("quantization", "none")
    merge = metrics.get("merge") or {}
    return ModelCard.from_template(
        card_data(entry),
        template_str=_TEMPLATE,
        name=entry["name"],
        version=entry.get("version", "?"),
        base_model=entry["base_model"]["id"],
        base_revision=entry["base_model"].get("revision"),
        dialect=data.get("dialect", "xml"),
        run_id=entry.get("run_id"),
        git_sha=((entry.get("git") or {}).get("sha") or "?")[:12],
        git_dirty=(entry.get("git") or {}).get("dirty"),
        params_hash=entry.get("params_hash"),
        method=f"QLoRA ({quant} base)" if quant != "none" else "LoRA",
        lora=train.get("lora") or {},
        train=train,
        model=model,
        length=training_length(tr, train),
        merge=merge,
        merge_diff=f"{merge['max_abs_logit_diff']:.2e}" if "max_abs_logit_diff" in merge else "n/a",
        dataset_version=(entry.get("dataset") or {}).get("version"),
        n_examples=data.get("n_examples"),
        servers=", ".join(data.get("servers", [])),
        categories=", ".join(data.get("categories", [])),
        max_length=data.get("max_length"),
        val_fraction=data.get("val_fraction"),
        test_fraction=data.get("test_fraction"),
        eval_rows=rows,
        measured=measured_limits(ev),
        perf_rows=perf,
        train_seconds=tr.get("seconds"),
        tokens_per_s=round(tr["tokens_per_s"]) if tr.get("tokens_per_s") else None,
        license=(p.get("docs") or {}).get("license"),
        repo=repo or f"<your-namespace>/{entry['name']}",
        gguf_example=ggufs[-1] if ggufs else "model-q8_0.gguf",
        has_gguf=bool(ggufs),
        modelfile=next(
            (
                f"Modelfile.{Path(g).stem.removeprefix('model-')}"
                for e in entry.get("exports", [])
                for g in e.get("sha256", {})
                if g.endswith(".gguf") and (Path(e["path"]) / "Modelfile").is_file()
            ),
            None,
        ),
        **example,
    )


def format_example(data: dict) -> dict:
    """One call as training renders it in the model's dialect (`dialects.to_chat`): system prompt, the
    tools (native), the user turn and the reply, for the card's "Prompt and call format"."""
    dialect = data.get("dialect", "xml")
    call = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Asia/Tokyo"})
    user = "What time is it in Tokyo?"
    ex = Example(id="card", servers=catalogs.load_catalogs(["time"]), category="single_call",
                 messages=[Message(role="user", content=user), Message(role="assistant", content="", calls=[call])])  # fmt: skip
    chat = dialects.to_chat(ex, dialect, bool(data.get("compact_schemas", True)))
    return {
        "example_system": chat[0]["content"],
        "example_tools": json.dumps(chat[0].get("tools") or [], indent=1),
        "example_user": user,
        "example_reply": chat[-1].get("content") or "",
        "example_call": 'time__get_current_time({"timezone": "Asia/Tokyo"})',
    }


def card_for_run(params: Params, run) -> tuple[ModelCard, dict]:
    """The card of the registry version this run registered (notebook 03), with the run's evaluation
    (notebook 04) attached to that version once. Returns (card, entry)."""

    metrics, reg, ev = run.metrics(), None, None
    for r in run.lineage():  # this run, else the upstream run whose notebook 03 registered it
        m = r.metrics()
        reg, ev = m.get("registry") or (m.get("export") or {}).get("registry"), ev or m.get("eval")
        if reg:
            break
    if not reg:
        raise FileNotFoundError(
            f"run {run.id} registered no model (notebook 03 has not run); the card is rendered from the registry"
        )
    ref = f"{reg['name']}:v{reg['version']}"
    entry = registry.get(ref)
    ev = metrics.get("eval") or ev
    if ev and "eval" not in (entry.get("metrics") or {}):
        entry = registry.add_evaluation(ref, ev)
    return model_card(entry, repo=params.docs.hub_repo or None), entry


# --- publishing ----------------------------------------------------------------------------------------


class PublishError(RuntimeError):
    """Publishing failed or was refused; the message says why and what to do."""


def stage_upload(entry: dict, card: ModelCard, out: str | Path) -> Path:
    """The repository layout to upload: merged safetensors at the top, `adapter/`, GGUF files, README.md (the
    card). Files are hard-linked from the exports where possible, so staging costs no disk space."""
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; refusing to overwrite")
    out.mkdir(parents=True)

    def put(src: Path, dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    exports = entry.get("exports", [])
    merged = [e for e in exports if str(e.get("format", "")).startswith("safetensors")]
    if not merged:
        raise PublishError(f"{entry['name']} v{entry['version']} has no merged safetensors export to publish")
    for p in sorted(Path(merged[0]["path"]).iterdir()):
        if p.is_file() and not p.name.startswith("mcpft_export"):
            put(p, out / p.name)
    for e in exports:
        for rel in e.get("sha256", {}):
            if rel.endswith(".gguf"):
                put(Path(e["path"]) / rel, out / rel)
                modelfile = Path(e["path"]) / "Modelfile"  # FROM ./<its gguf>: beside it at the root too
                if modelfile.is_file():
                    put(modelfile, out / f"Modelfile.{Path(rel).stem.removeprefix('model-')}")
    adapter = (entry.get("adapter") or {}).get("path")
    if adapter and Path(adapter).is_dir():
        for p in sorted(Path(adapter).iterdir()):
            if p.is_file():
                put(p, out / "adapter" / p.name)
    card.save(out / "README.md")
    return out


def publish(entry: dict, card: ModelCard, repo_id: str, target: str = "", private: bool = True) -> dict:
    """Upload the model, adapter, GGUF files and card as one commit.

    `target` empty: the Hugging Face hub (`HfApi.create_repo` + `upload_folder`). `target` a folder: a local
    stand-in for the hub, laid out as TARGET/REPO_ID/ (used by the tests; also for air-gapped machines)."""
    import tempfile

    if not repo_id or "/" not in repo_id:
        raise PublishError(f"docs.hub_repo={repo_id!r}: expected NAMESPACE/NAME")
    message = (
        f"{entry['name']} v{entry['version']} (run {entry.get('run_id')}, params {entry.get('params_hash')})"
    )
    with tempfile.TemporaryDirectory(prefix="mcpft-publish-") as tmp:
        staged = stage_upload(entry, card, Path(tmp) / "repo")
        files = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
        if target:
            dest = Path(target).expanduser() / repo_id
            dest.parent.mkdir(parents=True, exist_ok=True)
            incoming = dest.with_name(f".{dest.name}.incoming-{os.getpid()}")
            shutil.copytree(staged, incoming)
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            if dest.exists():
                os.replace(dest, old)
            os.replace(incoming, dest)  # the repository switches in one step, like a hub commit
            shutil.rmtree(old, ignore_errors=True)
            return {"target": str(dest), "repo_id": repo_id, "files": files, "commit": message}
        from huggingface_hub import HfApi, constants

        if constants.HF_HUB_OFFLINE:
            raise PublishError(
                "cannot push to the Hugging Face hub: HF_HUB_OFFLINE is set (this machine is offline). "
                "Set docs.hub_target to a folder to stage the upload there, and push it later with "
                f"`hf upload {repo_id} <folder>`."
            )
        api = HfApi()
        try:
            url = api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(folder_path=str(staged), repo_id=repo_id, commit_message=message)
        except Exception as e:  # network, auth, permissions: say which, and what to do
            raise PublishError(
                f"push to {repo_id} failed ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
                "Offline? set docs.hub_target to a folder. Not logged in? `hf auth login`."
            ) from None
        return {
            "target": str(url),
            "repo_id": repo_id,
            "files": files,
            "commit": getattr(info, "oid", str(info)),
        }


def publish_run(params: Params, card: ModelCard, entry: dict) -> dict | None:
    """Publish when `docs.push_to_hub` is on; None otherwise (publishing is explicit)."""
    if not params.docs.push_to_hub:
        return None
    t0 = time.time()
    out = publish(entry, card, params.docs.hub_repo, params.docs.hub_target, params.docs.hub_private)
    return {**out, "seconds": round(time.time() - t0, 1)}
