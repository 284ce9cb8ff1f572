"""Model card (huggingface_hub ModelCard) rendered from the run's params, metrics and lineage."""

from __future__ import annotations

from huggingface_hub import ModelCard, ModelCardData

from .config import Params

_TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

A LoRA fine-tune of `{{ base_model }}` that makes well-formed, correct MCP (Model Context Protocol) tool calls
in the `{{ dialect }}` dialect. Built with [mcpft](https://github.com/) run `{{ run_id }}`.

## Training
- method: LoRA r={{ lora_r }}, alpha={{ lora_alpha }}, targets {{ targets }}; {{ steps }} steps, learning rate {{ lr }}
- quantization during training: {{ quantization }}
- data: {{ n_train }} training examples from MCP servers {{ servers }}; dataset version `{{ dataset_version }}`

## Evaluation (test split, per assistant turn)
| metric | base | fine-tuned |
|---|---|---|
{% for m, b, f in eval_rows %}| {{ m }} | {{ b }} | {{ f }} |
{% endfor %}

## Intended use and limitations
For research on MCP tool calling. The evaluation covers the servers and categories listed above only; the model
may call tools with wrong arguments, and every call should be executed only against allowlisted servers.

## How to use
```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("<path to merged model>")
tokenizer = AutoTokenizer.from_pretrained("<path to merged model>")
```
"""


def _fmt(v) -> str:
    if isinstance(v, dict):
        v = v.get("value")
    return "n/a" if v is None else f"{v:.3f}"


def model_card(params: Params, run_id: str, metrics: dict, dataset_version: str | None) -> ModelCard:
    """Render the card; its YAML metadata validates (ModelCardData)."""
    base_model = params.model.card_base_model or params.model.id
    ev = metrics.get("eval", {})
    rows = [
        (m, _fmt(ev.get("base", {}).get(m)), _fmt(ev.get("fine_tuned", {}).get(m)))
        for m in ("well_formed", "call_well_formed", "tool_selection", "schema_valid", "args_match")
    ]
    data = ModelCardData(
        base_model=base_model,
        library_name="peft",
        license=params.docs.license,
        tags=["mcp", "tool-calling", "lora", "mcpft"],
        pipeline_tag="text-generation",
    )
    return ModelCard.from_template(
        data,
        template_str=_TEMPLATE,
        model_name=params.export.model_name,
        base_model=base_model,
        dialect=params.data.dialect,
        run_id=run_id,
        lora_r=params.train.lora.r,
        lora_alpha=params.train.lora.alpha,
        targets=params.train.lora.target_modules,
        steps=metrics.get("train", {}).get("steps", params.train.max_steps),
        lr=params.train.learning_rate,
        quantization=params.model.quantization,
        n_train=metrics.get("data", {}).get("train", "?"),
        servers=", ".join(params.data.servers),
        dataset_version=dataset_version or "?",
        eval_rows=rows,
    )
