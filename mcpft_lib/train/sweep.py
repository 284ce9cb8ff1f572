"""LoRA rank sweeps and training curves."""

from __future__ import annotations

from mcpft_lib.config import LoraParams, Params, TrainParams
from mcpft_lib.modeling import loaders
from mcpft_lib.train.trainer import read_log, train_lora

CURVES = (
    ("loss", ("loss", "eval_loss")),
    ("learning rate", ("learning_rate",)),
    ("grad norm", ("grad_norm",)),
    ("tokens/s", ("tokens_per_s",)),
)


def training_curves(log: list[dict]):
    """Plotly panels from the JSONL log: train and validation loss, learning rate, grad norm, tokens/s."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=2, subplot_titles=[title for title, _ in CURVES])
    for i, (_, keys) in enumerate(CURVES):
        for key in keys:
            pts = [(r["step"], r[key]) for r in log if key in r]
            if pts:
                x, y = zip(*pts, strict=True)
                fig.add_trace(go.Scatter(x=x, y=y, name=key, mode="lines+markers"), i // 2 + 1, i % 2 + 1)
    fig.update_xaxes(title_text="step")
    fig.update_layout(title="training curves", height=600)
    return fig


def rank_sweep(
    p: Params, train_rows: list[dict], val_rows: list[dict], ranks=None, steps: int | None = None, log=print
) -> tuple[list[dict], object]:
    """Short runs of the same data, seed and steps at several LoRA ranks (alpha scaled to keep the profile's
    alpha/r); returns one row per rank (trainable parameters, final train/val loss, tokens/s, peak memory)
    and a plotly chart. Each run starts from a freshly loaded base model; nothing is kept on disk."""
    import tempfile

    ranks = list(ranks or p.train.rank_sweep)
    steps = steps or p.train.rank_sweep_steps
    if not ranks:
        raise ValueError("no ranks to sweep: set train.rank_sweep, e.g. [4, 8, 16, 32]")
    ratio = p.train.lora.alpha / p.train.lora.r
    table = []
    for r in ranks:
        lora = LoraParams.model_validate(
            {**p.train.lora.model_dump(), "r": r, "alpha": max(1, round(r * ratio))}
        )
        tp = TrainParams.model_validate(
            {
                **p.train.model_dump(),
                "lora": lora.model_dump(),
                "epochs": None,
                "max_steps": steps,
                "logging_steps": min(p.train.logging_steps, steps),
                "eval_every": steps,
                "save_every": steps,
                "resume": "never",
                "early_stopping": {},
                "report_to": "none",
                "rank_sweep": [],
            }
        )
        log(f"rank sweep: r={r} alpha={lora.alpha} ({steps} steps) ...", flush=True)
        model, tok = loaders.load_model(p.model)
        with tempfile.TemporaryDirectory() as d:
            s, peft_model = train_lora(model, tok, train_rows, val_rows, p.model, tp, d, seed=p.run.seed)
            recs = read_log(s["log"])
        mem = [x.get("gpu_mem_gib", x.get("rss_gib")) for x in recs]
        table.append(
            {
                "rank": r,
                "alpha": lora.alpha,
                "trainable_params": sum(q.numel() for q in peft_model.parameters() if q.requires_grad),
                "final_train_loss": s["final_loss"],
                "final_val_loss": s["final_val_loss"],
                "tokens_per_s": s["tokens_per_s"],
                "peak_mem_gib": max((m for m in mem if m is not None), default=None),
                "seconds": s["seconds"],
            }
        )
        del model, peft_model
    return table, rank_sweep_chart(table)


def rank_sweep_chart(table: list[dict]):
    """Loss (train and validation) and tokens/s against the LoRA rank, side by side."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ranks = [t["rank"] for t in table]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("final loss", "tokens/s"))
    for key, name in (("final_train_loss", "train"), ("final_val_loss", "validation")):
        fig.add_trace(go.Scatter(x=ranks, y=[t[key] for t in table], name=name, mode="lines+markers"), 1, 1)
    fig.add_trace(
        go.Bar(x=[str(r) for r in ranks], y=[t["tokens_per_s"] for t in table], name="tokens/s"), 1, 2
    )
    fig.update_xaxes(title_text="LoRA rank", type="log", row=1, col=1)
    fig.update_xaxes(title_text="LoRA rank", row=1, col=2)
    fig.update_layout(title="LoRA rank sweep")
    return fig
