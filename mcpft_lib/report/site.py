"""The published site: each run's page, the index of runs, performance and limitations read from metrics."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mcpft_lib.config import Params
from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.evaluation.metrics import CALL_METRICS
from mcpft_lib.report import progress
from mcpft_lib.runs import CHECKPOINTS, Run, list_runs, open_run, reports_root

# --- report pages ---------------------------------------------------------------------------------


@functools.cache
def _templates() -> Environment:
    """The site's jinja2 templates (mcpft_lib/report/templates/*.html.j2), every value autoescaped.

    select_autoescape() with its defaults looks at the last suffix only, and "run.html.j2" ends in ".j2": the
    templates' own suffix is named so that run values (descriptions, errors, paths) are escaped."""
    env = Environment(
        loader=PackageLoader("mcpft_lib.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,  # a misspelt name fails the page instead of rendering empty
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    return env


def _render(template: str, **values) -> str:
    return _templates().get_template(template).render(**values)


def key_metrics(metrics: dict) -> dict:
    """The few figures the index shows for a run."""
    out = {}
    ev = metrics.get("eval", {})
    for model in ("base", "fine_tuned"):
        for m in ("call_well_formed", "tool_selection"):
            v = ev.get(model, {}).get(m)
            if isinstance(v, dict):
                v = v.get("value")
            if v is not None:
                out[f"{model}.{m}"] = v
    tr = metrics.get("train", {})
    for k in ("final_loss", "final_val_loss"):
        if k in tr:
            out[f"train.{k}"] = tr[k]
    reg = metrics.get("registry") or {}
    if "version" in reg:
        v = reg["version"]
        out["model"] = f"{reg.get('name', '?')} {'v' if isinstance(v, int) else ''}{v}"
    return out


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)  # not escaped here: the templates autoescape


def _dig(d, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def model_versions(info: dict, metrics: dict) -> list[tuple[str, str]]:
    """What the run's model is: registry name and version (when registered), base model and revision,
    dataset version, params hash; then the library versions run.json recorded."""
    reg = metrics.get("registry") or {}
    rows = []
    if reg.get("name") or reg.get("version"):
        v = reg.get("version")
        rows.append(("registered model", f"{reg.get('name', '?')} {'v' if isinstance(v, int) else ''}{v}"))
    base = (
        _dig(reg, "base_model.id")
        or _dig(info, "params.model.card_base_model")
        or _dig(info, "params.model.id")
    )
    rev = _dig(reg, "base_model.revision") or _dig(info, "params.model.revision")
    rows.append(
        ("base model", f"{base} ({_dig(info, 'params.model.source')}" + (f", {rev})" if rev else ")"))
    )
    rows.append(("dataset version", str(_dig(reg, "dataset.version") or _dig(metrics, "data.version"))))
    rows.append(("params hash", str(info.get("params_hash"))))
    rows += [(k, str(v)) for k, v in (info.get("versions") or {}).items() if v]
    return rows


def _notebook_rows(states: dict, now: datetime, expected: dict | None = None) -> list[dict]:
    """Rows of a notebook table: name, status (its run.json value, and in words: "ok" is done), seconds (a
    running notebook's so far), (label, href) links, error, and the seconds it took in the ETA's reference run
    (`expected`: notebook -> seconds)."""
    out = []
    for nb, s in states.items():
        links = []
        if s.get("html"):
            links.append(("html", s["html"]))
        ipynb = s.get("ipynb") or (f"{nb}.ipynb" if s.get("html") else None)
        if ipynb:
            links.append(("ipynb", ipynb))
        status = str(s.get("status"))
        seconds = s.get("seconds", "")
        if status == "running" and (ran := progress.since(s.get("started"), now)) is not None:
            seconds = f"{ran:.0f} so far"
        out.append(
            {
                "name": nb,
                "status": status,
                "word": progress.WORDS.get(status, status),
                "seconds": seconds,
                "links": links,
                "error": s.get("error") or "",
                "expected": (expected or {}).get(nb),
            }
        )
    return out


def run_progress(info: dict, runs: list[dict], now: datetime) -> dict | None:
    """What a page shows of a running run (None for any other): notebooks done, running and pending, elapsed
    seconds, and the ETA of the rest (`progress.estimate`: an earlier run's times, or unknown)."""
    if info.get("status") != "running":
        return None
    c = progress.counts(info)
    eta = progress.estimate(info, runs, now)
    view = {
        "done": c["done"],
        "total": len(progress.states(info)),
        "summary": ", ".join(f"{n} {word}" for word, n in c.items() if n),
        "running": [nb for _, nb, s in progress.states(info) if s.get("status") == "running"],
        "elapsed": round(progress.since(info.get("started"), now) or 0),
        "as_of": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "eta": None,
        "expected": {},
    }
    if eta is not None:
        view["eta"] = {
            "known": eta.seconds is not None,
            "words": None if eta.seconds is None else progress.duration(eta.seconds),
            "seconds": eta.seconds,
            "finish": _clock(eta.finish, now) if eta.finish else None,
            "basis": eta.basis,
            "reference": eta.reference,
            "overdue": eta.overdue,
        }
        for key in progress.KEYS:
            view["expected"][key] = {nb: s for (k, nb), s in eta.expected.items() if k == key}
    return view


def _clock(t: datetime, now: datetime) -> str:
    """A UTC time of day, with the date when it is not today's."""
    t, now = t.astimezone(UTC), now.astimezone(UTC)
    return t.strftime("%H:%M" if t.date() == now.date() else "%Y-%m-%d %H:%M")


def _eta_text(view: dict | None) -> str:
    """One line for the index: what runs now and the ETA."""
    if not view:
        return ""
    parts = [f"{nb} running" for nb in view["running"]]
    eta = view["eta"]
    if eta and eta["known"]:
        parts.append(f"ETA about {eta['words']} ({eta['finish']} UTC)")
    elif eta:
        parts.append("ETA unknown")
    return " · ".join(parts)


def _agent_summary(agent: dict | None) -> dict | None:
    """What the run page says about the agent-loop example (metrics.json `examples.agent_loop`)."""
    if not agent:
        return None
    tools = None
    if "model_tools" in agent:  # a round trip with the wrong tool still answers the wrong question
        mt, rt = agent["model_tools"], agent.get("reference_tools") or []
        tools = {"matched": mt == rt, "model": ", ".join(mt) or "none", "reference": ", ".join(rt) or "none"}
    return {
        "reference_round_trip": bool(agent.get("reference_round_trip")),
        "calls": agent.get("model_calls", 0),
        "calls_ok": agent.get("model_calls_ok", 0),
        "model_round_trip": bool(agent.get("model_round_trip")),
        "tools": tools,
    }


# files a run folder may hold, linked from its page when present
RUN_FILES = (
    "run.json",
    "metrics.json",
    "params.yaml",
    "hardware.json",
    "predictions.json",
    "MODEL_CARD.md",
    "DATASET_CARD.md",
    "examples/agent_transcript.json",
    "site.png",
)


def write_run_page(run: Run, now: datetime | None = None) -> Path:
    """reports/<run>/index.html: status, progress and ETA while the run goes, notebooks and example notebooks
    with links, key metrics, model and library versions, the run's files. Static HTML, no scripts: it opens
    offline (a running run's page reloads itself)."""
    now = now or datetime.now(UTC)
    info, metrics = run.info(), run.metrics()
    runs = list_runs() if info.get("status") == "running" else []
    listed = next((r for r in runs if r.get("id") == info.get("id")), None)
    if listed is not None:  # a runner that died without a word: list_runs says interrupted
        info["status"] = listed.get("status")
    view = run_progress(info, runs, now)
    expected = (view or {}).get("expected") or {}
    git = info.get("git") or {}
    page = _render(
        "run.html.j2",
        run_id=run.id,
        description=_dig(info, "params.run.description"),
        status=str(info.get("status")),
        profile=str(info.get("profile")),
        git_short=str(git.get("short")),
        git_dirty=bool(git.get("dirty")),
        started=str(info.get("started", "?")),
        seconds=view["elapsed"] if view else info.get("seconds", "?"),
        error=info.get("error"),
        upstream=info.get("upstream"),
        progress=view,
        notebooks=_notebook_rows(info.get("notebooks", {}), now, expected.get("notebooks")),
        examples=_notebook_rows(info.get("examples") or {}, now, expected.get("examples")),
        agent=_agent_summary(_dig(metrics, "examples.agent_loop")),
        key_metrics=key_metrics(metrics),
        versions=model_versions(info, metrics),
        files=[f for f in RUN_FILES if (run.report_dir / f).is_file()],
    )
    out = run.report_dir / "index.html"
    atomic_write(out, page)
    return out


def write_index(now: datetime | None = None) -> Path:
    """reports/index.html: every run, newest first, with status, progress (and ETA while it runs), key metrics
    and model version."""
    now = now or datetime.now(UTC)
    rows = []
    runs = list_runs()
    for info in runs:
        rid = info.get("id") or Path(info["_dir"]).name
        try:
            metrics = open_run(info["_dir"]).metrics()
        except (FileNotFoundError, ValueError):
            metrics = {}
        view = run_progress(info, runs, now)
        c = progress.counts(info)
        target = "index.html" if (Path(info["_dir"]) / "index.html").exists() else "run.json"
        rows.append(
            {
                "id": rid,
                "link": f"{rid}/{target}",
                "status": str(info.get("status")),
                "profile": str(info.get("profile")),
                "model": str(_dig(info, "params.model.card_base_model") or _dig(info, "params.model.id")),
                "started": str(info.get("started", "")),
                "seconds": f"{view['elapsed']} so far" if view else info.get("seconds", ""),
                "done": c["done"],
                "total": len(progress.states(info)),
                "progress": _eta_text(view),
                "key_metrics": key_metrics(metrics),
            }
        )
    page = _render("index.html.j2", runs=rows, running=any(r["status"] == "running" for r in rows))
    out = reports_root() / "index.html"
    atomic_write(out, page)
    return out


# --- notebook 05: performance, limitations, links ---------------------------------------------------------

PERF_METRICS = CALL_METRICS


def lineage_metrics(run: Run) -> dict:
    """metrics.json of the run, with the sections it lacks taken from its upstream runs (`Run.lineage_metrics`:
    the newest run that recorded a section wins)."""
    return run.lineage_metrics()


def performance_table(metrics: dict) -> list[dict]:
    """Base vs fine-tuned on the primary eval set: value [95% CI], change, paired-test p-value, n."""
    ev = metrics.get("eval") or {}
    rows = []
    for m in PERF_METRICS:
        b, f = _dig(ev, f"base.{m}"), _dig(ev, f"fine_tuned.{m}")
        if not isinstance(f, dict) or f.get("value") is None:
            continue
        bv = b.get("value") if isinstance(b, dict) else None
        rows.append(
            {
                "metric": m,
                "base": _ci(b),
                "fine_tuned": _ci(f),
                "change": None if bv is None else round(f["value"] - bv, 3),
                "p_value": _dig(ev, f"tests.{m}.p_value"),
                "n": f.get("n"),
            }
        )
    return rows


def _ci(v) -> str:
    if not isinstance(v, dict) or v.get("value") is None:
        return "n/a"
    lo, hi = v.get("lo"), v.get("hi")
    return f"{v['value']:.3f}" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else "")


def limitations(metrics: dict, params: Params | None = None) -> list[str]:
    """Plain-language limits drawn from the run's own numbers (evaluation, training, speed)."""
    ev = metrics.get("eval") or {}
    out = []
    if not _dig(ev, "fine_tuned"):
        return [
            "No evaluation was recorded for this run (notebook 04 did not run): nothing is known about quality."
        ]
    ts = _dig(ev, "fine_tuned.tool_selection") or {}
    if ts.get("n") is not None and ts.get("lo") is not None:
        out.append(
            f"Evaluated on {ts['n']} assistant turns ({ev.get('primary_set', 'test')} set): tool selection "
            f"{ts['value']:.2f} with a 95% interval of [{ts['lo']:.2f}, {ts['hi']:.2f}]; small differences are noise."
        )
    same = []
    for m in PERF_METRICS:
        p, f, b = (
            _dig(ev, f"tests.{m}.p_value"),
            _dig(ev, f"fine_tuned.{m}.value"),
            _dig(ev, f"base.{m}.value"),
        )
        if p is not None and f is not None and b is not None:
            if p >= 0.05:
                same.append(m)
            elif f < b:
                out.append(f"{m}: worse than the base model ({f:.2f} vs {b:.2f}, p={p:.2g}).")
    if same:
        out.append(
            f"No significant difference from the base model (paired test, p >= 0.05) in: {', '.join(same)}."
        )
    am = _dig(ev, "fine_tuned.args_match.value")
    if am is not None and am < 0.9:
        out.append(
            f"Arguments match the reference in {am:.0%} of call turns: validate arguments (and confirm writes) "
            "before executing a call."
        )
    cats = {c: _dig(v, "tool_selection.value") for c, v in (_dig(ev, "by_category.fine_tuned") or {}).items()}
    cats = {c: v for c, v in cats.items() if v is not None}
    if len(cats) > 1:
        worst = min(cats, key=cats.get)
        out.append(f"Weakest category: {worst} (tool selection {cats[worst]:.2f}).")
    ex = _dig(ev, "fine_tuned.executed_ok") or {}
    if ex.get("n"):
        xm = _dig(ev, "fine_tuned.exec_match") or {}
        same = (
            f"; {xm['value']:.0%} returned the reference call's result and left the same state"
            if xm.get("n")
            else ""
        )
        out.append(
            f"Live execution: {ex['value']:.0%} of {ex['n']} call turns ran without error on local MCP servers"
            f"{same} (only servers that run locally are scored)."
        )
    tps = _dig(ev, "generation.fine_tuned.tokens_per_s")
    if tps:
        out.append(f"Decoding speed in evaluation: {tps:.1f} tokens/s on this run's hardware.")
    if params is not None:
        out.append(
            f"Trained and evaluated on the servers {', '.join(params.data.servers)} in the {params.data.dialect} "
            "dialect; other servers, dialects and languages are untested."
        )
    return out


def artifact_links(run: Run) -> list[dict]:
    """Every file of the run: report files (relative links) and artifacts (adapter, exports, data), with sizes.
    Checkpoints are summarised as one folder row."""
    rows = []
    for p in sorted(run.report_dir.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            rel = p.relative_to(run.report_dir).as_posix()
            rows.append({"kind": "report", "name": rel, "href": rel, "bytes": p.stat().st_size})
    for owner in run.lineage():  # this run's artifacts, then its upstream runs'
        base = owner.artifact_dir
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(base)
            if CHECKPOINTS in rel.parts[:-1] or p.name.startswith("."):
                continue  # inside a checkpoints folder (one row for the folder) or a staging leftover
            if p.is_dir():
                if p.name != CHECKPOINTS:
                    continue
                size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            elif p.is_file():
                size = p.stat().st_size
            else:
                continue
            rel = rel.as_posix()
            name = rel if owner is run else f"{owner.id}/{rel}"
            href = Path(os.path.relpath(p, run.report_dir)).as_posix()
            rows.append({"kind": "artifact", "name": name, "href": href, "bytes": size})
    return rows


def links_html(rows: list[dict]) -> str:
    """A table of `artifact_links` rows as HTML links (for IPython.display.HTML)."""
    return _render("links.html.j2", rows=rows)


def rebuild_site() -> Path:
    """Rewrite every run's page and reports/index.html (after an upgrade, or when a run died mid-way)."""
    for info in list_runs():
        if info.get("status") != "unreadable":
            try:
                write_run_page(open_run(info["_dir"]))
            except (FileNotFoundError, ValueError, OSError):
                continue  # a half-written run folder: listed in the index, no page
    return write_index()
