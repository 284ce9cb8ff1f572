"""A run's pages while it goes: after each notebook the run page and reports/index.html show every notebook's
state, the elapsed time and an ETA taken from an earlier run of the profile (or "unknown"). The pipeline runs
for real (`report.runner.run_pipeline`) with papermill's executor replaced by one that reads both pages as
each notebook starts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mcpft_lib.config import load_params
from mcpft_lib.report import progress, site
from mcpft_lib.report.runner import NOTEBOOKS
from mcpft_lib.runs import create_run

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "params" / "smoke.yaml"
# seconds each notebook took in the earlier run the ETA tests plant
EARLIER = dict(zip(NOTEBOOKS, (9, 20, 4980, 240, 390, 3), strict=True))


def _states(page: str) -> dict[str, str]:
    """notebook -> the status a run page shows for it."""
    return dict(re.findall(r"<tr><td>(\d\d_\w+)</td><td class='\w+'>(\w+)</td>", page))


def _earlier_run(seconds: dict, params=None, status="ok"):
    run = create_run(params or load_params(SMOKE), "smoke.yaml")
    run.update(
        status=status,
        seconds=float(sum(seconds.values())),
        notebooks={nb: {"status": "ok", "seconds": s} for nb, s in seconds.items()},
    )
    return run


def test_pages_after_each_notebook(paused_pipeline):
    """After notebook k the run page lists k done, one running and the rest pending, with the elapsed time;
    the index lists the run as running with k of 6 done; with no earlier run of the profile the ETA is unknown."""
    run, seen, _ = paused_pipeline()
    assert list(seen) == list(NOTEBOOKS)
    for k, nb in enumerate(NOTEBOOKS):
        page, index = seen[nb]["page"], seen[nb]["index"]
        want = (
            {n: "done" for n in NOTEBOOKS[:k]} | {nb: "running"} | {n: "pending" for n in NOTEBOOKS[k + 1 :]}
        )
        assert _states(page) == want, (nb, _states(page))
        assert f"{k} of 6 notebooks done" in page and f"running: {nb}." in page
        assert re.search(r"Elapsed \d+ s at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)
        assert "status <b class='running'>running</b>" in page and "s so far</p>" in page
        assert "ETA: <b>unknown</b>: no earlier run of profile smoke has finished" in page
        assert "<meta http-equiv=refresh content=60>" in page  # a running page reloads itself
        assert "<script" not in page and "http:" not in page and "https:" not in page
        row = re.search(rf"<tr><td><a href='{run.id}/index.html'>.*?</tr>", index, re.S).group(0)
        assert (
            "<td class='running'>running</td>" in row
            and f"<td>{k}/6 · {nb} running · ETA unknown</td>" in row
        )
        assert "<meta http-equiv=refresh" in index
    final = (run.report_dir / "index.html").read_text()
    assert _states(final) == dict.fromkeys(NOTEBOOKS, "done")
    assert "Progress" not in final and "ETA" not in final and "refresh" not in final  # a finished run's page
    index = (run.report_dir.parent / "index.html").read_text()
    assert "<td>6/6</td>" in index and "refresh" not in index


def test_eta_from_the_profiles_earlier_run(paused_pipeline):
    """With an earlier run of the profile the ETA is the seconds its remaining notebooks took there, named
    with that run; each remaining notebook's time there is shown beside it."""
    other = load_params(SMOKE, ["run.profile=other"])
    _earlier_run({nb: 1 for nb in NOTEBOOKS}, other)  # another profile: never used
    earlier = _earlier_run(EARLIER)
    run, seen, _ = paused_pipeline()
    for k, nb in enumerate(NOTEBOOKS):
        page = seen[nb]["page"]
        left = sum(EARLIER[n] for n in NOTEBOOKS[k:])
        m = re.search(r"<p id=eta>ETA: <b>about ([^<]+)</b> \((\d+) s; the run would end around ((?:\d{4}-\d\d-\d\d )?\d\d:\d\d) UTC\), "
                      r"from run (\S+) \(same params\): the seconds each remaining notebook took there\.", page)  # fmt: skip
        assert m, page
        # the running notebook started up to 2 s ago (run.json stamps whole seconds)
        assert left - 2 <= int(m.group(2)) <= left and m.group(4) == earlier.id
        assert m.group(1) == progress.duration(int(m.group(2)))
        for n in NOTEBOOKS[k:]:  # the reference's time beside each notebook still to run
            assert re.search(
                rf"<tr><td>{n}</td><td class='\w+'>\w+</td><td>[^<]*</td><td>{EARLIER[n]}</td>", page
            )
        assert f"seconds in {earlier.id}" in page
        assert re.search(
            rf"{nb} running · ETA about {re.escape(m.group(1))} \((?:\d{{4}}-\d\d-\d\d )?\d\d:\d\d UTC\)",
            seen[nb]["index"],
        )
    assert "ETA about 1 h 34 min" in seen["00_gpu_check"]["index"]  # 5642 s


def test_eta_prefers_same_params_and_needs_every_remaining_notebook(isolated_reports):
    """The reference: the newest other run of the profile with every remaining notebook finished ok, one with
    the same params first; a running notebook counts what is left of its time (nothing once it is over)."""
    p = load_params(SMOKE)
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    started = (now - timedelta(seconds=30)).isoformat()
    info = {"id": "me", "profile": "smoke", "params_hash": p.hash(),
            "notebooks": {"00_gpu_check": {"status": "ok", "seconds": 5},
                          "01_data_exploration": {"status": "running", "started": started},
                          "02_training": {"status": "pending"}}}  # fmt: skip

    def ran(run_id, params_hash, times, profile="smoke"):
        return {"id": run_id, "profile": profile, "params_hash": params_hash, "status": "ok",
                "notebooks": {nb: {"status": "ok", "seconds": s} for nb, s in times.items()}}  # fmt: skip

    assert progress.estimate(info, [], now).seconds is None
    assert progress.estimate(info, [], now).basis == (
        "no earlier run of profile smoke has finished 01_data_exploration, 02_training"
    )
    partial = ran("partial", p.hash(), {"02_training": 100})  # 01 not finished there (an --only 02 run)
    other_profile = ran("x", p.hash(), {"01_data_exploration": 1, "02_training": 1}, profile="default")
    assert (
        progress.estimate(info, [partial, other_profile, dict(info)], now).seconds is None
    )  # itself neither
    other_params = ran("other-params", "0" * 16, {"01_data_exploration": 50, "02_training": 200})
    eta = progress.estimate(info, [other_params, partial], now)
    assert (eta.seconds, eta.reference) == (20 + 200, "other-params")  # 50 - 30 s run so far, + 200
    assert "same profile, other params" in eta.basis
    assert eta.finish == now + timedelta(seconds=220) and eta.expected == {
        ("notebooks", "01_data_exploration"): 50.0,
        ("notebooks", "02_training"): 200.0,
    }
    same = ran("same", p.hash(), {"01_data_exploration": 10, "02_training": 300})
    eta = progress.estimate(info, [other_params, same], now)  # older, but the same params
    assert (eta.seconds, eta.reference, eta.overdue) == (300, "same", ["01_data_exploration"])
    failed = {**ran("failed-01", p.hash(), {"02_training": 9}), "status": "failed"}
    failed["notebooks"]["01_data_exploration"] = {"status": "failed", "seconds": 3}
    assert progress.estimate(info, [failed], now).seconds is None  # a failed notebook's time is no estimate
    assert progress.estimate({"notebooks": {"00": {"status": "ok"}}}, [same], now) is None  # nothing left
    tomorrow = datetime(2026, 1, 2, 0, 30, tzinfo=UTC)
    assert (site._clock(now, now), site._clock(tomorrow, now)) == ("12:00", "2026-01-02 00:30")
    assert [progress.duration(s) for s in (40, 59.6, 90, 3599, 5642)] == ["40 s", "1 min", "2 min", "1 h 0 min", "1 h 34 min"]  # fmt: skip


def test_a_failed_notebook_shows_at_once(paused_pipeline, isolated_reports):
    """When a notebook fails, the pages say so before anything else happens: read when the runner logs the
    failure (the run not closed yet), the run page shows it failed with its error and the rest skipped, and no
    ETA (nothing is left to run); then the run ends failed."""
    at_failure = {}

    def log(line):
        if "] 02_training FAILED in" in line:  # the notebook's line, not the run's last one
            (run_dir,) = (isolated_reports / "reports").glob("*-smoke")
            at_failure["info"] = json.loads((run_dir / "run.json").read_text())
            at_failure["page"] = (run_dir / "index.html").read_text()
            at_failure["index"] = (run_dir.parent / "index.html").read_text()

    run, seen, _ = paused_pipeline(fail={"02_training": RuntimeError("deliberate <failure>")}, log=log)
    assert list(seen) == list(NOTEBOOKS[:3])
    assert at_failure["info"]["status"] == "running"  # the run itself is not closed yet
    page = at_failure["page"]
    assert _states(page) == {"00_gpu_check": "done", "01_data_exploration": "done", "02_training": "failed",
                             "03_merging": "skipped", "04_evaluation": "skipped", "05_documentation": "skipped"}  # fmt: skip
    assert "<td>RuntimeError: deliberate &lt;failure&gt;</td>" in page
    assert "2 done, 1 failed, 3 skipped" in page and "ETA" not in page
    assert "<td>2/6</td>" in at_failure["index"]
    assert run.info()["status"] == "failed"
    final = (run.report_dir / "index.html").read_text()
    assert _states(final) == _states(page) and "status <b class='failed'>failed</b>" in final


def test_a_stopped_run_leaves_nothing_running_or_pending(paused_pipeline, isolated_reports):
    """SIGTERM (KeyboardInterrupt in the runner) during a notebook: that notebook failed with the signal, the
    rest skipped, the run failed; its page shows no progress or ETA."""
    with pytest.raises(KeyboardInterrupt):
        paused_pipeline(fail={"03_merging": KeyboardInterrupt("signal 15")})
    (run_dir,) = (isolated_reports / "reports").glob("*-smoke")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "failed" and info["error"] == "KeyboardInterrupt: signal 15"
    states = {nb: s["status"] for nb, s in info["notebooks"].items()}
    assert states == {"00_gpu_check": "ok", "01_data_exploration": "ok", "02_training": "ok",
                      "03_merging": "failed", "04_evaluation": "skipped", "05_documentation": "skipped"}  # fmt: skip
    assert info["notebooks"]["03_merging"]["error"] == "KeyboardInterrupt: signal 15"
    page = (run_dir / "index.html").read_text()
    assert "Progress" not in page and "refresh" not in page and _states(page)["03_merging"] == "failed"


def test_examples_are_listed_from_the_start(paused_pipeline, isolated_reports):
    """With notebook 05 in the run the example notebooks are listed as pending from the start (the ETA covers
    them); when the run fails before them they end skipped."""
    ex = isolated_reports / "notebooks" / "examples"
    ex.mkdir()
    for name in ("01_inference_transformers", "02_adapter_peft"):
        (ex / f"{name}.ipynb").write_text("{}")
    run, seen, _ = paused_pipeline(fail={"04_evaluation": RuntimeError("no")})
    first = seen["00_gpu_check"]
    assert first["info"]["examples"] == {"01_inference_transformers": {"status": "pending"},
                                         "02_adapter_peft": {"status": "pending"}}  # fmt: skip
    assert "0 of 8 notebooks done" in first["page"] and "0/8 · 00_gpu_check running" in first["index"]
    assert {s["status"] for s in run.info()["examples"].values()} == {"skipped"}


def test_an_interrupted_run_page_shows_no_eta(isolated_reports):
    """A run whose runner died (list_runs: interrupted) is not shown as running when its page is rebuilt."""
    _earlier_run(EARLIER)
    run = create_run(load_params(SMOKE), "smoke.yaml")
    run.update(
        pid=2**22 + 12345, notebooks={"00_gpu_check": {"status": "running", "started": "2026-01-01T00:00:00"}}
    )
    page = site.write_run_page(run).read_text()
    assert (
        "status <b class='interrupted'>interrupted</b>" in page
        and "ETA" not in page
        and "refresh" not in page
    )
    index = site.write_index().read_text()
    assert "<td class='interrupted'>interrupted</td>" in index and "ETA" not in index
