"""Dataset statistics, quality metrics, plotly charts and the dataset card (huggingface_hub `DatasetCard`).

Everything here reads structured examples (and, for token counts, rows from `dataset.token_lengths`); notebook 01
calls these functions and shows the figures; `build_dataset` writes the card next to the data.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.core.schema import Example
from mcpft_lib.data import splits as data_splits
from mcpft_lib.data import validate
from mcpft_lib.mcp.catalogs import CURATED, HARVESTABLE, NPM_HARVESTABLE
from mcpft_lib.mcp.dialects import to_chat

# ---------------------------------------------------------------------------------------------------- numbers


def nesting_depth(obj: Any) -> int:
    """Depth of nested containers inside a value: a scalar is 0, {"a": 1} is 1, {"a": [{"b": 1}]} is 3."""
    if isinstance(obj, dict):
        return 1 + max((nesting_depth(v) for v in obj.values()), default=0)
    if isinstance(obj, list):
        return 1 + max((nesting_depth(v) for v in obj), default=0)
    return 0


def complexity(splits: dict[str, list[Example]]) -> list[dict[str, Any]]:
    """One row per example: calls, turns, argument nesting depth, connected tools and schema size (characters)."""
    rows = []
    schema_chars: dict[str, int] = {}
    for name, exs in splits.items():
        for ex in exs:
            calls = [c for m in ex.messages for c in m.calls]
            size = 0
            for s in ex.servers:
                if s.name not in schema_chars:
                    schema_chars[s.name] = sum(len(json.dumps(t.inputSchema)) for t in s.tools)
                size += schema_chars[s.name]
            rows.append(
                {
                    "split": name,
                    "id": ex.id,
                    "category": ex.category,
                    "difficulty": ex.difficulty,
                    "calls": len(calls),
                    "turns": len(ex.messages),
                    "assistant_turns": sum(m.role == "assistant" for m in ex.messages),
                    "arg_depth": max((nesting_depth(c.arguments) for c in calls), default=0),
                    "tools": sum(len(s.tools) for s in ex.servers),
                    "schema_chars": size,
                    "tool_chars": sum(len(m.content) for m in ex.messages if m.role == "tool"),
                }
            )
    return rows


def counts(splits: dict[str, list[Example]]) -> list[dict[str, Any]]:
    """Examples per split x category x server (the server whose tools the reference calls, see data.stratum)."""
    c: Counter[tuple[str, str, str]] = Counter()
    for name, exs in splits.items():
        for ex in exs:
            cat, servers = data_splits.stratum(ex).split("|", 1)
            c[(name, cat, servers)] += 1
    return [{"split": s, "category": k, "server": v, "n": n} for (s, k, v), n in sorted(c.items())]


def outliers(values: list[float], k: float = 3.0) -> tuple[float, list[int]]:
    """Upper Tukey fence Q3 + k*IQR and the indexes above it (length outliers)."""
    if len(values) < 4:
        return float("inf"), []
    q1, _, q3 = statistics.quantiles(values, n=4)
    fence = q3 + k * (q3 - q1)
    return fence, [i for i, v in enumerate(values) if v > fence]


def quality(splits: dict[str, list[Example]], quarantine: list[dict] | None = None,
            lengths: list[dict] | None = None, max_length: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Schema validity, duplicates, cross-split leakage and length outliers (tokens if given, else characters)."""
    exs = [e for v in splits.values() for e in v]
    invalid = [e.id for e in exs if validate.validate_example(e)]
    keys = Counter(data_splits.dedup_key(e) for e in exs)
    n_calls = sum(len(m.calls) for e in exs for m in e.messages)
    if lengths:
        sizes = [float(r["total"]) for r in lengths]
        unit = "tokens"
    else:
        sizes = [float(sum(len(m.content) for m in e.messages)) for e in exs]
        unit = "characters"
    fence, out = outliers(sizes)
    over = sum(1 for r in lengths or [] if max_length and r["total"] > max_length)
    n_quarantined = len(quarantine or [])
    return {
        "examples": len(exs),
        "reference_calls": n_calls,
        "schema_valid_rate": (len(exs) - len(invalid)) / len(exs) if exs else 1.0,
        "invalid_ids": invalid[:20],
        "quarantined": n_quarantined,
        "quarantine_reasons": dict(
            Counter(q["reason"].split(":")[0] for q in quarantine or []).most_common(10)
        ),
        "duplicate_examples": sum(n - 1 for n in keys.values() if n > 1),
        "leaking_groups": len(data_splits.leakage(splits)),
        "length_unit": unit,
        "length_fence": fence,
        "length_outliers": len(out),
        "over_max_length": over,
        "max_length": max_length,
    }


# ----------------------------------------------------------------------------------------------------- charts


def _df(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame(rows)


def composition_chart(splits: dict[str, list[Example]]):
    """Bar chart: examples per category, one bar group per split."""
    import plotly.express as px

    df = _df(counts(splits)).groupby(["split", "category"], as_index=False)["n"].sum()
    return px.bar(
        df, x="category", y="n", color="split", barmode="group", title="examples per category and split"
    )


def server_category_chart(splits: dict[str, list[Example]]):
    """Heatmap: examples per server x category (all splits)."""
    import plotly.express as px

    df = _df(counts(splits)).pivot_table(
        index="server", columns="category", values="n", aggfunc="sum", fill_value=0
    )
    return px.imshow(df, text_auto=True, aspect="auto", title="examples per server and category",
                     color_continuous_scale="Blues")  # fmt: skip


def token_chart(lengths: list[dict]):
    """Box plots: prompt vs target tokens per split (rows from dataset.token_lengths)."""
    import plotly.express as px

    rows = [
        {"split": r["split"], "part": part, "tokens": r[part]}
        for r in lengths
        if not r.get("dropped")
        for part in ("prompt", "target")
    ]
    return px.box(_df(rows), x="split", y="tokens", color="part", title="prompt vs target tokens per example")


def token_table(lengths: list[dict]):
    """Sum / mean / max of prompt, target and total tokens per split."""
    df = _df([r for r in lengths if not r.get("dropped")])
    return df.groupby("split")[["prompt", "target", "total"]].agg(["sum", "mean", "max"]).round(1)


COMPLEXITY_FIELDS = ("calls", "assistant_turns", "arg_depth", "schema_chars")


def complexity_chart(rows: list[dict]):
    """Four histograms: calls per example, assistant turns, argument nesting depth, schema size."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = ("calls per example", "assistant turns", "argument nesting depth", "schema size (chars)")
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles)
    for k, field in enumerate(COMPLEXITY_FIELDS, 1):
        fig.add_trace(go.Histogram(x=[r[field] for r in rows], name=field, showlegend=False), row=1, col=k)
    fig.update_layout(title="complexity", height=320)
    return fig


def quality_chart(q: dict[str, Any]):
    """Bar chart of the quality counters (zero is good everywhere except examples and calls)."""
    import plotly.express as px

    keys = ("quarantined", "duplicate_examples", "leaking_groups", "length_outliers", "over_max_length")
    df = _df([{"check": k, "count": q[k]} for k in keys])
    title = f"quality: {q['schema_valid_rate']:.1%} of {q['examples']} examples schema-valid"
    return px.bar(df, x="check", y="count", title=title, text="count")


# ------------------------------------------------------------------------------------------------------- card

_CARD = """---
{{ card_data }}
---

# {{ pretty_name }}

Synthetic MCP (Model Context Protocol) tool-use conversations for fine-tuning code assistants to call MCP tools:
structured examples (connected servers with their `tools/list` catalogs, messages, reference calls
`{server, tool, arguments}`, tool results with `is_error`), rendered to the `{{ dialect }}` dialect for training.

- **version:** `{{ version }}` (content hash of the examples and the generator parameters)
- **generator parameters:** `{{ gen_params }}`
- **provenance:** mcpft's seeded generator over the catalogs below; every reference call validates against its
  tool's `inputSchema` (jsonschema), invalid rows are quarantined ({{ quality.quarantined }} this time).

## Servers
| server | package | version | tools | source |
|---|---|---|---|---|
{% for s in servers %}| {{ s.name }} | {{ s.package }} | {{ s.version }} | {{ s.tools }} | {{ s.source }} |
{% endfor %}

## Composition
| split | examples |
|---|---|
{% for k, v in split_sizes %}| {{ k }} | {{ v }} |
{% endfor %}

| category | {% for k, _ in split_sizes %}{{ k }} | {% endfor %}
|---|{% for _ in split_sizes %}---|{% endfor %}
{% for cat, row in by_category %}| {{ cat }} | {% for n in row %}{{ n }} | {% endfor %}
{% endfor %}

## Statistics
{% for line in stats_lines %}- {{ line }}
{% endfor %}

## Quality
- schema-valid reference calls: {{ "%.1f"|format(100 * quality.schema_valid_rate) }}% of {{ quality.examples }} examples ({{ quality.reference_calls }} calls)
- duplicates inside the data: {{ quality.duplicate_examples }}; near-duplicate groups across splits: {{ quality.leaking_groups }}
- length outliers (> Q3 + 3 IQR, {{ quality.length_unit }}): {{ quality.length_outliers }}{% if quality.max_length %}; over max_length={{ quality.max_length }}: {{ quality.over_max_length }}{% endif %}

## Splits
Deterministic and stratified by category x server; groups of near-duplicates (normalised user text + calls) never
straddle splits. {% if held_out %}`held_out_servers` holds examples on servers never seen in training: {{ held_out }}.{% endif %}

{{ formats }}
## Limitations
Synthetic: phrasings come from templates and tool results are simulated in the real servers' output formats, so
real traffic will be more varied. Curated catalogs may lag the servers they copy.
"""


_FORMATS = """## Formats
Each split is here twice: `<split>.jsonl` holds mcpft's canonical examples, `<split>.openai.jsonl` the same
examples as OpenAI chat rows. A row is `{{"messages", "tools", "mcpft"}}`: `tools` lists every MCP tool as
a function `<server>__<tool>` whose `parameters` are the tool's `inputSchema` (a resource read is
`<server>__access_mcp_resource`); the first message is a system prompt naming the connected servers; assistant turns
carry `tool_calls` (`id`, `type: function`, `function: {{name, arguments}}`, arguments as a JSON object); results are
`tool` messages (`tool_call_id`, `name`, `content`; an MCP error result starts with `Error:`). `mcpft` converts a row
back to the exact canonical example (`data.import: [{{source: openai, path_or_id: train.openai.jsonl}}]`); the
readers below ignore it. Files: {files}. Read as is by:

- TRL `SFTTrainer` (it renders the `messages` column with the `tools` column through the model's chat template):
  ```python
  from datasets import load_dataset
  from trl import SFTConfig, SFTTrainer

  ds = load_dataset("json", data_files={{"train": "train.openai.jsonl", "validation": "val.openai.jsonl"}})
  trainer = SFTTrainer(model="Qwen/Qwen2.5-0.5B-Instruct", args=SFTConfig(output_dir="out"),
                       train_dataset=ds["train"], eval_dataset=ds["validation"])
  ```
- Axolotl:
  ```yaml
  datasets:
    - path: train.openai.jsonl
      ds_type: json
      type: chat_template
      field_messages: messages
      field_tools: tools
      roles_to_train: [assistant]
  ```
- LLaMA-Factory (`dataset_info.json`; its `openai` formatting reads `tool_calls` and `tool` results, and keeps only
  the calls of an assistant turn that also has text):
  ```json
  "mcpft_train": {{
    "file_name": "train.openai.jsonl",
    "formatting": "openai",
    "columns": {{"messages": "messages", "tools": "tools"}},
    "tags": {{"role_tag": "role", "content_tag": "content", "user_tag": "user",
             "assistant_tag": "assistant", "observation_tag": "tool", "system_tag": "system"}}
  }}
  ```
"""


def formats_section(paths: dict[str, str]) -> str:
    """The card's "Formats" section when the dataset folder has `<split>.openai.jsonl` files (else empty)."""
    files = [Path(v).name for k, v in paths.items() if k.endswith(".openai")]
    return _FORMATS.format(files=", ".join(f"`{f}`" for f in files)) if files else ""


def _size_category(n: int) -> str:
    return "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K"


def dataset_card(info: dict[str, Any], splits: dict[str, list[Example]], servers: list, quality_: dict[str, Any],
                 lengths: list[dict] | None = None, dialect: str = "xml", name: str = "mcpft MCP tool-use"):  # fmt: skip
    """A `huggingface_hub.DatasetCard` with composition, statistics, version and provenance."""
    from huggingface_hub import DatasetCard, DatasetCardData

    n = sum(len(v) for v in splits.values())
    formats = formats_section(info.get("paths", {}))
    card_data = DatasetCardData(
        language="en",
        license="apache-2.0",
        pretty_name=name,
        size_categories=_size_category(n),
        task_categories=["text-generation"],
        tags=["mcp", "tool-calling", "function-calling", "synthetic", "mcpft"],
        configs=[
            {"config_name": "default", "data_files": [{"split": k, "path": f"{k}.jsonl"} for k in splits]}
        ]
        + (  # the OpenAI chat rows, when the stage wrote them (`load_dataset(folder, "openai")`)
            [
                {
                    "config_name": "openai",
                    "data_files": [{"split": k, "path": f"{k}.openai.jsonl"} for k in splits],
                }
            ]
            if formats
            else []
        ),
    )

    def source(name_: str) -> str:
        if name_ in HARVESTABLE or name_ in NPM_HARVESTABLE:
            return "harvested over stdio (tools/list)"
        return "curated: " + CURATED.get(name_, "?")

    cats = sorted({e.category for v in splits.values() for e in v})
    by_category = [(c, [sum(e.category == c for e in splits[k]) for k in splits]) for c in cats]
    rows = complexity(splits)
    stats_lines = [
        f"calls per example: mean {statistics.fmean(r['calls'] for r in rows):.2f}, max {max(r['calls'] for r in rows)}",
        f"assistant turns: mean {statistics.fmean(r['assistant_turns'] for r in rows):.2f}",
        f"argument nesting depth: max {max(r['arg_depth'] for r in rows)}",
        f"schema size per example: mean {statistics.fmean(r['schema_chars'] for r in rows):.0f} characters",
    ] if rows else []  # fmt: skip
    if lengths:
        ok = [r for r in lengths if not r.get("dropped")]
        for split in splits:
            rs = [r for r in ok if r["split"] == split]
            if rs:
                stats_lines.append(
                    f"{split}: {sum(r['prompt'] for r in rs)} prompt + {sum(r['target'] for r in rs)} target tokens, "
                    f"max {max(r['total'] for r in rs)} per example"
                )
    return DatasetCard.from_template(
        card_data,
        template_str=_CARD,
        pretty_name=name,
        dialect=dialect,
        version=info["version"],
        gen_params=json.dumps(info["gen_params"], sort_keys=True),
        servers=[
            {
                "name": s.name,
                "package": s.package,
                "version": s.version,
                "tools": len(s.tools),
                "source": source(s.name),
            }
            for s in servers
        ],
        split_sizes=[(k, len(v)) for k, v in splits.items()],
        by_category=by_category,
        stats_lines=stats_lines,
        quality=quality_,
        held_out=", ".join(info["gen_params"].get("held_out_servers") or []),
        formats=formats,
    )


def write_card(card, out_dir: str | Path) -> Path:
    """README.md (the hub's card file name) in the dataset folder, written atomically."""

    return atomic_write(Path(out_dir) / "README.md", str(card))


# ---------------------------------------------------------------------------------------------------- browser


def render_example(ex: Example, dialect: str, tok=None, compact: bool = True) -> str:
    """One example as the model sees it: the chat in `dialect`, through the tokenizer's chat template if given."""

    chat = to_chat(ex, dialect, compact)
    if tok is None:
        return "\n".join(f"--- {m['role']} ---\n{m.get('content') or ''}" for m in chat)
    tools = chat[0].get("tools") if chat and chat[0]["role"] == "system" else None
    try:
        return tok.apply_chat_template(chat, tools=tools, tokenize=False)
    except Exception as e:  # a template without tool support: say so instead of failing the report
        return f"(the chat template cannot render the {dialect} dialect: {e})"


def example_browser(splits: dict[str, list[Example]], tok=None, compact: bool = True, interactive: bool = True,
                    dialects: tuple[str, ...] = ("xml", "native")):  # fmt: skip
    """ipywidgets browser (split, index, dialect) over rendered examples; static text when not interactive.

    Under papermill widgets have no live kernel, so `interactive=False` returns the first training example in
    every dialect as plain text (what the HTML report can show).
    """
    first = next((k for k, v in splits.items() if v), None)
    if first is None:
        return "no examples"
    if not interactive:
        ex = splits[first][0]
        head = f"{first}[0] · {ex.category} · servers {', '.join(s.name for s in ex.servers)} · id {ex.id}"
        return "\n\n".join([head] + [f"=== {d} ===\n{render_example(ex, d, tok, compact)}" for d in dialects])
    import ipywidgets as w

    split = w.Dropdown(options=[k for k, v in splits.items() if v], value=first, description="split")
    index = w.IntSlider(min=0, max=len(splits[first]) - 1, description="example")
    dialect = w.ToggleButtons(options=list(dialects), description="dialect")
    meta = w.HTML()
    text = w.Textarea(layout=w.Layout(width="100%", height="420px"))

    def show(_=None) -> None:
        index.max = len(splits[split.value]) - 1
        ex = splits[split.value][index.value]
        meta.value = (f"<b>{ex.category}</b> · {ex.difficulty} · servers {', '.join(s.name for s in ex.servers)}"
                      f" · id <code>{ex.id}</code> · intent {ex.meta.get('intent', '?')}")  # fmt: skip
        text.value = render_example(ex, dialect.value, tok, compact)

    for c in (split, index, dialect):
        c.observe(show, names="value")
    show()
    return w.VBox([w.HBox([split, dialect]), index, meta, text])
