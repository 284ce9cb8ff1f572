"""A run while it goes: how many notebooks are done, running, pending, failed; and an ETA for the rest of the run
taken from the times an earlier run of the same profile recorded, or "unknown" when no run has them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# the run.json keys whose notebooks make up a run, in the order they run
KEYS = ("notebooks", "examples")
TODO = ("pending", "running")
# the words the pages use for the notebook states run.json records
WORDS = {"ok": "done", "running": "running", "pending": "pending", "failed": "failed", "skipped": "skipped"}


def states(info: dict) -> list[tuple[str, str, dict]]:
    """(key, notebook, state) of every notebook and example notebook of a run, in the order they run."""
    return [(key, nb, s) for key in KEYS for nb, s in (info.get(key) or {}).items() if isinstance(s, dict)]


def counts(info: dict) -> dict[str, int]:
    """How many notebooks (example notebooks included) are done, running, pending, failed, skipped."""
    out = dict.fromkeys(WORDS.values(), 0)
    for _, _, s in states(info):
        word = WORDS.get(str(s.get("status")))
        if word:
            out[word] += 1
    return out


def since(iso: str | None, now: datetime) -> float | None:
    """Seconds from an ISO time stamp (run.json's `started`) to `now`; None when there is none."""
    if not iso:
        return None
    try:
        t = datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return max((now - t).total_seconds(), 0.0)


def _times(info: dict) -> dict[tuple[str, str], float]:
    """(key, notebook) -> seconds of every notebook of a run that finished ok."""
    out = {}
    for key, nb, s in states(info):
        if s.get("status") == "ok" and isinstance(s.get("seconds"), int | float):
            out[(key, nb)] = float(s["seconds"])
    return out


def reference_run(info: dict, runs: list[dict]) -> tuple[dict | None, bool]:
    """The run whose recorded times the ETA uses: the newest other run of the same profile in which every
    notebook this run still has to run finished ok, one with the same params hash before any other; and whether
    its params were the same. (None, False) when no run qualifies. `runs` are run.json dicts, newest first
    (`runs.list_runs()`)."""
    todo = [(key, nb) for key, nb, s in states(info) if s.get("status") in TODO]
    fits = [
        r
        for r in runs
        if r.get("id") != info.get("id")
        and r.get("profile") == info.get("profile")
        and set(todo) <= _times(r).keys()
    ]
    same = [r for r in fits if r.get("params_hash") and r.get("params_hash") == info.get("params_hash")]
    if same:
        return same[0], True
    return (fits[0], False) if fits else (None, False)


@dataclass
class Eta:
    """What is left of a run: `seconds` (None: unknown) from `now`, the expected `finish`, the run the
    estimate comes from, what it is based on in words, each remaining notebook's time in that run, and the
    running notebooks that have already taken longer than they took there."""

    seconds: float | None
    finish: datetime | None
    reference: str | None
    basis: str
    expected: dict[tuple[str, str], float] = field(default_factory=dict)
    overdue: list[str] = field(default_factory=list)


def estimate(info: dict, runs: list[dict], now: datetime) -> Eta | None:
    """The ETA of a running run (None when nothing is left to run). Each pending notebook takes what it took in
    the reference run (`reference_run`); a running one takes the rest of that time, nothing once it has run
    longer. Without a reference run it is unknown: nothing is guessed."""
    todo = [(key, nb, s) for key, nb, s in states(info) if s.get("status") in TODO]
    if not todo:
        return None
    ref, same_params = reference_run(info, runs)
    if ref is None:
        names = ", ".join(nb for _, nb, _ in todo)
        return Eta(
            None,
            None,
            None,
            f"no earlier run of profile {info.get('profile')} has finished {names}",
        )
    times = _times(ref)
    total, overdue = 0.0, []
    for key, nb, s in todo:
        t = times[(key, nb)]
        if s.get("status") == "running":
            ran = since(s.get("started"), now) or 0.0
            if ran > t:
                overdue.append(nb)
            t = max(t - ran, 0.0)
        total += t
    which = "same params" if same_params else "same profile, other params"
    basis = f"from run {ref.get('id')} ({which}): the seconds each remaining notebook took there"
    expected = {(key, nb): times[(key, nb)] for key, nb, _ in todo}
    return Eta(round(total), now + timedelta(seconds=total), ref.get("id"), basis, expected, overdue)


def duration(seconds: float) -> str:
    """`seconds` in words: "40 s", "12 min", "1 h 25 min"."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
