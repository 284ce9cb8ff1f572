"""Reliability figures: what the bad-input, fault and security tests tried, and what happened.

The tests (tests/test_bad_inputs.py, test_faults.py, test_security.py) record every case through a
`Recorder`: what was fed in or injected, what must happen, and what did happen. Results land in
`reports/reliability/<suite>.json` (merged by case, so running one file updates only its rows), and
`python -m tests.reliability` renders them as the table in docs/reliability.md. Nothing in the table is
written by hand: a case that is not run is not listed, a case that failed is listed as FAILED.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.core.system import git_info, project_root

KINDS = {"bad_input": "Bad inputs", "fault": "Injected faults", "security": "Security checks"}
_MAX_OUTCOME = 320


def results_dir() -> Path:
    """Where the suites leave their rows: $MCPFT_RELIABILITY_DIR, else reports/reliability/ in the checkout."""
    env = os.environ.get("MCPFT_RELIABILITY_DIR")
    return Path(env) if env else project_root() / "reports" / "reliability"


def doc_path() -> Path:
    return project_root() / "docs" / "reliability.md"


@dataclass
class Case:
    """One row of the table."""

    kind: str  # bad_input | fault | security
    area: str  # params, dataset row, parser, catalog, command line, run, training, ...
    case: str  # short unique name within the suite
    tried: str  # the input fed in or the fault injected
    expected: str  # what must happen
    outcome: str = ""  # what did happen (error message, counts, ...), filled by the test
    status: str = "not finished"  # passed | FAILED
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def _clean(text: str, scrub: list[str]) -> str:
    """One line, no machine-specific paths (temporary folders become $TMP, the checkout is cut off)."""
    for s in scrub:
        if s:
            text = text.replace(s, "$TMP")
    text = re.sub(r"/tmp/[^\s:'\"]*", "$TMP", text)  # any other temporary path
    text = text.replace(f"{project_root()}/", "")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_OUTCOME else text[: _MAX_OUTCOME - 1] + "…"


class Recorder:
    """Collects the cases of one test module; `save()` merges them into `<results_dir>/<suite>.json`."""

    def __init__(self, suite: str):
        if not re.fullmatch(r"[a-z0-9_]+", suite):
            raise ValueError(f"suite name {suite!r}: lower-case letters, digits and _ only")
        self.suite = suite
        self.cases: dict[str, Case] = {}

    @contextmanager
    def case(self, kind: str, area: str, case: str, tried: str, expected: str, scrub: list[str] | None = None
             ) -> Iterator[Case]:  # fmt: skip
        """Record one case; the body sets `.outcome`; an exception in the body marks it FAILED and propagates."""
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r}: one of {sorted(KINDS)}")
        key = f"{area}/{case}"
        if key in self.cases:
            raise ValueError(f"case {key!r} recorded twice in suite {self.suite!r}")
        row = Case(kind=kind, area=area, case=case, tried=tried, expected=expected)
        self.cases[key] = row
        t0 = datetime.now(UTC)
        try:
            yield row
        except BaseException as e:
            row.status = "FAILED"
            row.outcome = row.outcome or f"{type(e).__name__}: {e}"
            raise
        else:
            row.status = "passed"
        finally:
            row.seconds = round((datetime.now(UTC) - t0).total_seconds(), 2)
            row.outcome = _clean(str(row.outcome), scrub or [])
            row.tried = _clean(row.tried, scrub or [])

    def save(self, directory: Path | None = None, replace: bool = True) -> Path | None:
        """Write this session's cases to the suite's JSON; `replace=False` (a narrowed test run) merges them
        into the rows already there instead, so `-k something` does not shrink the table."""
        if not self.cases:
            return None
        path = Path(directory or results_dir()) / f"{self.suite}.json"
        old = {}
        if path.is_file() and not replace:
            try:
                old = json.loads(path.read_text(encoding="utf-8")).get("cases", {})
            except (OSError, ValueError):
                old = {}  # a broken results file is rebuilt from this session's cases
        old.update({k: asdict(v) for k, v in self.cases.items()})
        git = git_info()
        blob = {
            "suite": self.suite,
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": f"{git['short']}{'-dirty' if git['dirty'] else ''}",
            "cases": old,
        }
        return atomic_write(path, json.dumps(blob, indent=2, ensure_ascii=False) + "\n")


def whole_files_run(config) -> bool:
    """True when pytest ran whole test files (not narrowed by -k, -m, --lf or ::node ids)."""
    opt = config.option
    narrowed = getattr(opt, "keyword", "") or getattr(opt, "markexpr", "") or getattr(opt, "lf", False)
    return not narrowed and not any("::" in str(a) for a in config.args)


def load_results(directory: Path | None = None) -> list[dict]:
    """Every suite's results file, sorted by suite name."""
    out = []
    for p in sorted(Path(directory or results_dir()).glob("*.json")):
        try:
            blob = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ValueError(f"{p}: not valid JSON ({e}); rerun the suite to rebuild it") from None
        if not isinstance(blob, dict) or not isinstance(blob.get("cases"), dict):
            raise ValueError(f"{p}: not a reliability results file (no 'cases' mapping)")
        out.append(blob)
    return out


def _cell(text: str) -> str:
    """Table-safe text: pipes escaped, markup (`<use_mcp_tool>`) shown rather than read as HTML."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def render(results: list[dict]) -> str:
    """The Markdown page: counts first, then one table per kind (bad inputs, faults, security)."""
    rows = [dict(c, suite=r["suite"]) for r in results for c in r["cases"].values()]
    counts = Counter(r["kind"] for r in rows)
    failed = [r for r in rows if r["status"] != "passed"]
    runs = ", ".join(f"`{r['suite']}` {r['updated']} ({r['git']})" for r in results)
    lines = [
        "# Reliability and security figures",
        "",
        "Generated by `python -m tests.reliability` from the results that the tests in "
        "`tests/test_bad_inputs.py`, `tests/test_faults.py` and `tests/test_security.py` record; "
        "do not edit by hand. Regenerate with:",
        "",
        "```bash",
        ".venv/bin/python -m pytest tests/test_bad_inputs.py tests/test_faults.py tests/test_security.py",
        ".venv/bin/python -m tests.reliability",
        "```",
        "",
        f"Results: {runs or 'none'}.",
        "",
        "| | cases | passed | failed |",
        "|---|---:|---:|---:|",
    ]
    for kind, title in KINDS.items():
        n = counts.get(kind, 0)
        bad = sum(1 for r in failed if r["kind"] == kind)
        lines.append(f"| {title} | {n} | {n - bad} | {bad} |")
    for kind, title in KINDS.items():
        mine = sorted(
            (r for r in rows if r["kind"] == kind), key=lambda r: (r["area"], r["suite"], r["case"])
        )
        if not mine:
            continue
        lines += ["", f"## {title}", "", "| # | area | case | tried | expected | outcome | status |",
                  "|---:|---|---|---|---|---|---|"]  # fmt: skip
        for i, r in enumerate(mine, 1):
            status = "passed" if r["status"] == "passed" else f"**{r['status']}**"
            lines.append(
                f"| {i} | {_cell(r['area'])} | `{_cell(r['case'])}` | {_cell(r['tried'])} | "
                f"{_cell(r['expected'])} | {_cell(r['outcome'])} | {status} |"
            )
    return "\n".join(lines) + "\n"


def write_doc(results_directory: Path | None = None, out: Path | None = None) -> Path:
    results = load_results(results_directory)
    if not results:
        raise FileNotFoundError(
            f"no results in {results_directory or results_dir()}; run the reliability tests first"
        )
    return atomic_write(out or doc_path(), render(results))


def main(argv: list[str] | None = None) -> int:
    try:
        path = write_doc()
    except (FileNotFoundError, ValueError) as e:
        print(f"mcpft.reliability: error: {e}", file=sys.stderr)
        return 2
    rows = [c for r in load_results() for c in r["cases"].values()]
    counts = Counter(c["kind"] for c in rows)
    failed = sum(c["status"] != "passed" for c in rows)
    print(f"wrote {path}: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f"; {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
