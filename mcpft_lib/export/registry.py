"""Model registry: every trained model gets `NAME vN` with its lineage, append-only.

Layout under the root ($MCPFT_REGISTRY, default artifacts/registry/, git-ignored):
    NAME/v1.json, NAME/v2.json, ...          one entry per version (never rewritten)
    NAME/v2.eval.json                        evaluation metrics added later (notebook 04/05), also write-once

A version file appears in one step: the entry is written to a temp file and hard-linked to `vN.json`, and
the link fails if `vN.json` exists. Two concurrent registrations therefore get distinct versions (the loser
retries with the next number), a version is never overwritten, and a reader never sees half an entry.
Exports are registered only when every one of them is complete (manifest written last, checksums match):
an interrupted export registers nothing.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcpft_lib.export.formats import ExportError, checksums, export_all, is_complete
from mcpft_lib.modeling.loaders import model_dir
from mcpft_lib.runs import artifacts_root

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")

REQUIRED = (
    "base_model.id",
    "base_model.revision",
    "dataset.version",
    "params_hash",
    "git.sha",
    "run_id",
    "metrics.train",
    "exports",
)


class RegistryError(ValueError):
    """A registry operation was refused; the message says which model/version and why."""


def root() -> Path:
    return Path(os.environ.get("MCPFT_REGISTRY", artifacts_root() / "registry")).resolve()


def _dig(d: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def missing_lineage(entry: dict) -> list[str]:
    """Required lineage keys that are absent or empty."""
    return [k for k in REQUIRED if _dig(entry, k) in (None, "", [], {})]


def parse_ref(ref: str) -> tuple[str, int | None]:
    """`name`, `name:latest`, `name:v3` or `name:3` -> (name, version or None for latest)."""
    name, _, ver = ref.partition(":")
    if not NAME_RE.match(name):
        raise RegistryError(f"bad model name {name!r} (letters, digits, _ . - only)")
    if ver in ("", "latest"):
        return name, None
    m = re.fullmatch(r"v?(\d+)", ver)
    if not m:
        raise RegistryError(f"bad version {ver!r} in {ref!r}; use NAME, NAME:vN or NAME:latest")
    return name, int(m.group(1))


def versions(name: str) -> list[int]:
    d = root() / name
    if not d.is_dir():
        return []
    return sorted(int(m.group(1)) for p in d.iterdir() if (m := re.fullmatch(r"v(\d+)\.json", p.name)))


def names() -> list[str]:
    r = root()
    return sorted(p.name for p in r.iterdir() if p.is_dir() and versions(p.name)) if r.is_dir() else []


def _write_exclusive(path: Path, obj: dict) -> bool:
    """Create `path` with `obj` as JSON in one step; False if it already exists (never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def check_exports(exports: list[dict]) -> None:
    """Every export must be complete on disk (manifest present, checksums match) before it is registered."""

    bad = [e.get("path") for e in exports if not e.get("path") or not is_complete(e["path"])]
    if bad:
        raise RegistryError(
            f"refusing to register: exports incomplete or modified (no manifest / checksum mismatch): {bad}"
        )


def register(name: str, entry: dict, version: int | None = None) -> dict:
    """Register `entry` as the next version of `name` (or exactly `version`, which must be new)."""
    parse_ref(name)
    missing = missing_lineage(entry)
    if missing:
        raise RegistryError(f"{name}: lineage incomplete, missing {missing}")
    check_exports(entry["exports"])
    d = root() / name
    n = version or (max(versions(name), default=0) + 1)
    for _ in range(1000):
        full = {**entry, "name": name, "version": n, "registered": datetime.now(UTC).isoformat()}
        if _write_exclusive(d / f"v{n}.json", full):
            return full
        if version is not None:
            raise RegistryError(f"{name} v{n} already exists; registered versions are never overwritten")
        n += 1
    raise RegistryError(f"{name}: could not claim a version number")


def get(ref: str) -> dict:
    """The entry for `NAME[:vN]` (latest when no version), with any evaluation added later."""
    name, n = parse_ref(ref)
    vs = versions(name)
    if not vs:
        known = ", ".join(names()) or "none"
        raise RegistryError(f"no model {name!r} in the registry at {root()} (known: {known})")
    n = n if n is not None else vs[-1]
    if n not in vs:
        raise RegistryError(f"{name} has no v{n} (versions: {', '.join(f'v{v}' for v in vs)})")
    entry = json.loads((root() / name / f"v{n}.json").read_text())
    ev = root() / name / f"v{n}.eval.json"
    if ev.is_file():
        entry.setdefault("metrics", {})["eval"] = json.loads(ev.read_text())["eval"]
    return entry


def add_evaluation(ref: str, eval_metrics: dict) -> dict:
    """Attach evaluation metrics to a registered version once (write-once, like the version itself)."""
    entry = get(ref)
    path = root() / entry["name"] / f"v{entry['version']}.eval.json"
    if "eval" in entry.get("metrics", {}) and not path.is_file():
        raise RegistryError(f"{entry['name']} v{entry['version']} was registered with evaluation metrics")
    if not _write_exclusive(path, {"eval": eval_metrics, "added": datetime.now(UTC).isoformat()}):
        raise RegistryError(f"{entry['name']} v{entry['version']} already has evaluation metrics")
    return get(f"{entry['name']}:v{entry['version']}")


def _headline(entry: dict) -> dict:
    ev = _dig(entry, "metrics.eval.fine_tuned") or {}

    def val(v):
        return v.get("value") if isinstance(v, dict) else v

    return {
        "name": entry.get("name"),
        "version": f"v{entry.get('version')}",
        "registered": str(entry.get("registered", ""))[:19],
        "base_model": _dig(entry, "base_model.id"),
        "dataset": _dig(entry, "dataset.version"),
        "run_id": entry.get("run_id"),
        "final_loss": _dig(entry, "metrics.train.final_loss"),
        "tool_selection": val(ev.get("tool_selection")),
        "formats": ",".join(e.get("format", "?") for e in entry.get("exports", [])),
    }


def list_models(name: str | None = None) -> list[dict]:
    """One headline row per registered version (all models, or one), oldest first."""
    rows = []
    for nm in [name] if name else names():
        for v in versions(nm):
            rows.append(_headline(get(f"{nm}:v{v}")))
    return rows


def _flatten(d: Any, prefix: str = "") -> dict:
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list) and d and all(isinstance(x, dict) and "format" in x for x in d):
        return _flatten({x["format"]: {k: v for k, v in x.items() if k != "format"} for x in d}, prefix)
    return {prefix: d}


def compare(a: str, b: str, skip: tuple[str, ...] = ("registered", "version", "exports.")) -> list[dict]:
    """Fields that differ between two versions (lineage, params hash, metrics, exports), one row each."""
    ea, eb = get(a), get(b)
    fa, fb = _flatten(ea), _flatten(eb)
    rows = []
    for k in sorted(set(fa) | set(fb)):
        if any(k == s or (s.endswith(".") and k.startswith(s) and k.endswith(".path")) for s in skip):
            continue
        if fa.get(k) != fb.get(k):
            rows.append({"field": k, a: fa.get(k), b: fb.get(k)})
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text table for the command line."""
    if not rows:
        return "(none)"
    cols = list(rows[0])
    cells = [[("" if r.get(c) is None else str(r.get(c)))[:60] for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


# --- lineage from a run ----------------------------------------------------------------------------------


def base_model_lineage(mp) -> dict:
    """Base model id and the revision actually used: hub revision, package version + GGUF sha, or tiny spec."""

    out = {"id": mp.card_base_model or mp.id, "source": mp.source, "params_id": mp.id}
    if mp.source == "hub":
        out["revision"] = mp.revision or "unpinned (hub main at training time)"
    elif mp.source == "gguf_package":
        info_path = Path(model_dir(mp)) / "mcpft_source.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        out["revision"] = f"{mp.id}=={info.get('version', 'unknown')}"
        out["gguf"] = info.get("gguf")
    elif mp.source == "tiny_random":
        out["revision"] = Path(model_dir(mp)).name  # tiny-<hash of the tiny spec>
    else:
        out["revision"] = f"local:{Path(mp.id).resolve()}"
    return out


def lineage(
    params, run, exports: list[dict], merge_check: dict, adapter_dir: str | Path | None = None
) -> dict:
    """The registry entry for a run: everything needed to say where the model came from."""
    info, metrics = run.info(), run.lineage_metrics()  # data and training may be an upstream run's
    adapter = None
    if adapter_dir is not None:
        adapter = {"path": str(adapter_dir), "sha256": checksums(adapter_dir)}
    return {
        "base_model": base_model_lineage(params.model),
        "dataset": {"version": _dig(metrics, "data.version")},
        "params_hash": info.get("params_hash") or params.hash(),  # as recorded when the run started
        "params": info.get("params") or params.model_dump(mode="json"),
        "git": info.get("git") or {},
        "run_id": run.id,
        "versions": info.get("versions", {}),
        "metrics": {k: metrics[k] for k in ("train", "eval") if k in metrics} | {"merge": merge_check},
        "adapter": adapter,
        "exports": [{k: v for k, v in e.items() if k != "generation"} for e in exports],
        "created_unix": time.time(),
    }


def export_and_register(params, run, merged, tok, prompts: list[str], merge_check: dict, adapter_dir) -> dict:
    """Notebook 03's last step: every format in params.export.formats is written, loaded back and verified
    first; only then is the model registered. Anything that fails or is killed on the way registers nothing."""

    if merge_check["max_abs_logit_diff"] > params.export.merge_tolerance:
        raise ExportError(
            f"merge check failed: max |logit diff| {merge_check['max_abs_logit_diff']:.3g} > "
            f"export.merge_tolerance {params.export.merge_tolerance:g}; nothing exported or registered"
        )
    rows = export_all(
        merged, tok, params.model, params.export.formats, run.export_out(), prompts, params.export.dtype
    )
    entry = register(params.export.model_name, lineage(params, run, rows, merge_check, adapter_dir))
    return {"exports": rows, "entry": entry}
