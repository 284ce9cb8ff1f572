"""Papermill run of all six notebooks on params/smoke.yaml; the report and metrics are read back and checked."""

import json
from pathlib import Path

import pytest

from mcpft_lib.report.runner import NOTEBOOKS as NOTEBOOKS_IN_ORDER

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = list(NOTEBOOKS_IN_ORDER)


# `smoke_run` (one smoke pipeline run, shared with tests/test_report_site.py) is in conftest.py


@pytest.mark.notebook
def test_report_files(smoke_run):
    tmp, run_dir = smoke_run
    for nb in NOTEBOOKS:
        assert (run_dir / f"{nb}.ipynb").is_file()
        html = (run_dir / f"{nb}.html").read_text()
        assert "<html" in html and "Traceback" not in html
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "ok" and all(s["status"] == "ok" for s in info["notebooks"].values())
    assert info["versions"]["torch"] and info["versions"]["transformers"] and info["git"]["short"]
    assert (run_dir / "hardware.json").is_file() and (run_dir / "MODEL_CARD.md").is_file()
    index = (tmp / "reports" / "index.html").read_text()
    assert f"{run_dir.name}/index.html" in index


@pytest.mark.notebook
def test_metrics_are_sane(smoke_run):
    _, run_dir = smoke_run
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["data"]["train"] > 0 and m["data"]["test"] > 0 and m["data"]["quarantined"] == 0
    assert m["train"]["steps"] == 3 and m["train"]["final_loss"] > 0
    # the derived schedule: smoke gives max_steps 3, validation and checkpoints every 2 steps and at the end
    tr = m["train"]
    assert (tr["length_from"], tr["max_steps"]) == ("max_steps", 3)
    assert tr["eval_at"] == tr["save_at"] == [2, 3]
    per_epoch = -(-tr["train_rows"] // 2)  # batch 2, one process
    assert tr["steps_per_epoch"] == per_epoch and tr["epochs"] == round(3 / per_epoch, 4)
    assert 0 < m["train"]["target_token_fraction"] < 1
    assert m["export"]["merge"]["max_abs_logit_diff"] <= 1e-4
    for model in ("base", "fine_tuned"):
        for metric in ("well_formed", "tool_selection"):
            v = m["eval"][model][metric]
            assert 0.0 <= v["value"] <= 1.0 and v["lo"] <= v["value"] <= v["hi"]
    assert 0 <= m["eval"]["tests"]["well_formed"]["p_value"] <= 1
    bfcl = m["eval"]["bfcl"]  # BFCL v4 beside the project's own sets: smoke samples 1 entry of 3 categories
    assert bfcl["entries"] == 3 and bfcl["bfcl_eval"] == "2026.3.23"
    for model in ("base", "fine_tuned"):
        assert set(bfcl[model]) == {"simple_python", "parallel", "irrelevance", "all"}
        assert bfcl[model]["all"]["n"] == 3 and 0.0 <= bfcl[model]["all"]["value"] <= 1.0
    assert 0 <= bfcl["tests"]["all"]["p_value"] <= 1


@pytest.mark.notebook
def test_plotly_embedded_offline(smoke_run):
    _, run_dir = smoke_run
    import re

    html = (run_dir / "01_data_exploration.html").read_text()
    assert "Plotly.newPlot" in html and "plotly.js v" in html  # charts drawn by an inlined plotly.js
    assert not re.search(r"<script[^>]+src=[\"'][^\"']*(cdn|https?:)", html)  # nothing fetched: opens offline


@pytest.mark.notebook
def test_headless_training_has_no_html_progress_bar(smoke_run):
    """Under papermill notebook 02 reports progress on the terminal only: transformers' notebook bar (HTML
    redrawn at every step, kept in the executed notebook) is removed along with the plain one."""
    _, run_dir = smoke_run
    nb = (run_dir / "02_training.ipynb").read_text()
    assert "NotebookTrainingTracker" not in nb and "<progress" not in nb


@pytest.mark.notebook
def test_batch_reports_hold_no_progress_bars(smoke_run):
    """A tqdm bar in a kernel is a widget whose stored text is its first frame ("Loading weights: 0%"): batch
    runs turn hub/transformers/datasets bars off and send mcpft's own to the terminal, so no executed notebook
    keeps one, as a widget or as text."""
    import re

    _, run_dir = smoke_run
    notebooks = sorted(run_dir.glob("*.ipynb")) + sorted((run_dir / "examples").glob("*.ipynb"))
    assert len(notebooks) == 12
    for path in notebooks:
        text = path.read_text()
        assert "Loading weights" not in text and "it/s]" not in text, path.name
        assert "application/vnd.jupyter.widget-view+json" not in text, path.name
        assert not re.search(r"\d+%\|", text), path.name  # a tqdm meter: "100%|██████████| 3/3 [00:01<00:00"


@pytest.mark.notebook
def test_headless_progress_goes_to_the_terminal(smoke_session):
    """What the executed notebooks leave out, the terminal the run was started from shows: training and each
    validation pass (02), the export (03), generation per model, BFCL and the live replay (04)."""
    import re

    console = (smoke_session["tmp"] / "console.log").read_text()
    for desc, total in (("validation", None), ("train", 3), ("export", 6), ("generate base", None),
                        ("generate fine_tuned", None), ("BFCL base", 3), ("live replay", None)):  # fmt: skip
        done = re.findall(rf"{desc}: 100%\|[^|\n]*\| (\d+)/(\d+) \[", console)
        assert done and all(a == b for a, b in done), (desc, done)
        assert total is None or int(done[0][1]) == total, (desc, done)


@pytest.mark.notebook
def test_bring_your_own_server_example(smoke_session):
    """Notebook 06 harvested the shipped help-desk server, generated its data, trained the run's model on it and
    scored base vs fine-tuned on its test examples with every reference call replayed on the running server."""
    run_dir = smoke_session["run_dir"]
    byo = json.loads((run_dir / "metrics.json").read_text())["examples"]["byo"]
    assert byo["server"] == "helpdesk" and byo["tools"] == 7
    assert byo["examples_generated"] == 48 and byo["train_steps"] == 3 and byo["turns"] > 0
    for model in ("base", "fine_tuned"):
        for metric in ("tool_selection", "args_match", "executed_ok", "exec_match"):
            v = byo[f"{model}.{metric}"]
            assert v is None or 0.0 <= v <= 1.0, (model, metric, v)
        status = byo["live_status"][model]
        # turns judged on the running server (the reference call ran there), and the server always started
        judged = {k: n for k, n in status.items() if not k.startswith("ref_") and k != "not_live"}
        assert judged and "start_failed" not in status, status
    out = smoke_session["tmp"] / "artifacts" / run_dir.name / "examples" / "06_bring_your_own_server"
    assert (out / "helpdesk.json").is_file() and (out / "generated" / "stats.json").is_file()
