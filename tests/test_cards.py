"""Model card from the registry: parses with ModelCard.load, metadata round-trips, model-index parses; publishing
to a local folder standing in for the hub; a clear message offline."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard_data import model_index_to_eval_results

from mcpft_lib import runs
from mcpft_lib.config import ParamsError, load_params
from mcpft_lib.export import formats, registry
from mcpft_lib.report import cards

ROOT = Path(__file__).resolve().parent.parent
EVAL = {
    "base": {m: {"value": 0.2, "lo": 0.1, "hi": 0.3, "n": 40} for m in cards.EVAL_METRICS},
    "fine_tuned": {m: {"value": 0.7, "lo": 0.6, "hi": 0.8, "n": 40} for m in cards.EVAL_METRICS},
    "bfcl": {
        "base": {
            "simple_python": {"value": 0.0, "lo": 0.0, "hi": 0.0, "n": 3},
            "all": {"value": 0.0, "lo": 0.0, "hi": 0.0, "n": 3},
        },
        "fine_tuned": {
            "simple_python": {"value": 1 / 3, "lo": 0.0, "hi": 1.0, "n": 3},
            "all": {"value": 1 / 3, "lo": 0.0, "hi": 1.0, "n": 3},
        },
        "bfcl_eval": "2026.3.23",
    },
}


def _export(path: Path, files: dict[str, bytes]) -> dict:
    tmp = formats.staging_dir(path)
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    fmt = "gguf_q8_0" if any(n.endswith(".gguf") for n in files) else "safetensors-float32"
    row = {"format": fmt, "path": str(path), "bytes": 10, "load_seconds": 0.5, "top1_agreement": 0.98,
           "greedy_exact": 1.0, "sha256": formats.checksums(tmp)}  # fmt: skip
    formats.finalize(tmp, path, row)
    return row


@pytest.fixture
def registered(isolated_reports, monkeypatch):
    monkeypatch.setenv("MCPFT_REGISTRY", str(isolated_reports / "registry"))
    params = load_params(ROOT / "params/smoke.yaml")
    run = runs.create_run(params, "params/smoke.yaml")
    run.record_metrics("data", {"version": "ds-0123"})
    run.record_metrics("train", {"steps": 3, "final_loss": 2.0, "seconds": 4.2, "tokens_per_s": 900.0})
    adapter = run.path("train/adapter")
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    rows = [
        _export(run.path("export/merged"), {"model.safetensors": b"w", "config.json": b"{}"}),
        _export(
            run.path("export/gguf_q8_0"),
            {"model-q8_0.gguf": b"gguf", "Modelfile": b"FROM ./model-q8_0.gguf\n"},
        ),
    ]
    entry = registry.register(params.export.model_name, registry.lineage(params, run, rows, {"max_abs_logit_diff": 3e-7, "dtype": "float32"}, adapter))  # fmt: skip
    run.record_metrics("export", {"registry": {"name": entry["name"], "version": entry["version"]}})
    run.record_metrics("eval", EVAL)
    return params, run, entry


def test_card_parses_and_metadata_validates(registered, tmp_path):
    params, run, _ = registered
    card, entry = cards.card_for_run(params, run)
    assert entry["metrics"]["eval"] == EVAL  # the run's evaluation was attached to the registry version
    path = tmp_path / "README.md"
    card.save(path)
    loaded = ModelCard.load(path)
    data = loaded.data.to_dict()
    # the repository root holds the merged model: transformers, a fine-tune of the base; no made-up dataset id
    assert data["base_model"] == entry["base_model"]["id"] and data["library_name"] == "transformers"
    assert data["base_model_relation"] == "finetune" and "datasets" not in data
    assert data["license"] == "apache-2.0" and {"mcp", "peft", "gguf"} <= set(data["tags"])
    assert ModelCardData(**data).to_dict() == data  # round-trips
    name, results = model_index_to_eval_results(data["model-index"])
    assert name == entry["name"]
    got = {r.metric_type: r.metric_value for r in results if r.task_name == "MCP tool calling"}
    want = {m: 0.7 for m in cards.EVAL_METRICS} | {f"base_{m}": 0.2 for m in cards.EVAL_METRICS}
    assert got == want and {"executed_ok", "base_exec_match"} <= set(got)  # base beside fine-tuned
    bfcl = {(r.dataset_split, r.metric_type): r.metric_value for r in results if "BFCL" in r.task_name}
    assert bfcl == {("simple_python", "accuracy"): 0.3333, ("simple_python", "base_accuracy"): 0.0}
    text = loaded.text
    for section in (
        "## Training method and hyperparameters",
        "## Data",
        "## Evaluation",
        "## Performance characteristics",
        "## Intended use",
        "## Limitations and risks",
        "## How to use",
    ):
        assert section in text, section
    assert "| tool_selection | 0.200 [0.100, 0.300] | 0.700 [0.600, 0.800] |" in text
    assert "ds-0123" in text and entry["params_hash"] in text and 'gguf_file="model-q8_0.gguf"' in text
    assert 'subfolder="adapter"' in text and "3.00e-07" in text
    # the exact prompt and call format of the dialect it was trained in (smoke: xml), and how to run it
    assert "## Prompt and call format" in text and "# Connected MCP Servers" in text and "## time" in text
    assert "<server_name>time</server_name>\n<tool_name>get_current_time</tool_name>" in text
    assert (
        f"mcpft serve {run.id} --port 8000 --backend llama_cpp" in text
        and 'model_path="model-q8_0.gguf"' in text
    )


def test_card_of_a_native_model_gives_its_tools_and_no_gguf_it_does_not_have(registered):
    _, _, entry = registered
    entry = {**entry, "exports": [e for e in entry["exports"] if "gguf" not in e["format"]]}
    entry["params"] = {**entry["params"], "data": {**entry["params"]["data"], "dialect": "native"}}
    card = cards.model_card(entry)
    assert "gguf" not in card.data.to_dict()["tags"] and "llama_cpp import Llama" not in card.text
    assert '"name": "time__get_current_time"' in card.text and "tools=TOOLS" in card.text
    assert "<use_mcp_tool>" not in card.text.split("## Prompt and call format")[1].split("## How to use")[0]


def test_card_without_evaluation_says_so(registered):
    _, _, entry = registered
    card = cards.model_card(registry.get(f"{entry['name']}:v1"))
    assert "Not evaluated yet" in card.text and "model-index" not in card.content


def test_card_needs_a_registered_model(isolated_reports):
    params = load_params(ROOT / "params/smoke.yaml")
    run = runs.create_run(params, "params/smoke.yaml")
    with pytest.raises(FileNotFoundError, match="registered no model"):
        cards.card_for_run(params, run)


def test_card_of_a_run_whose_upstream_registered_the_model(registered):
    """`--only 05 --upstream RUN`: the registration is the upstream run's (found along `Run.lineage`)."""
    params, up, entry = registered
    run = runs.create_run(params, "params/smoke.yaml", upstream=up.id)
    card, got = cards.card_for_run(params, run)
    assert (got["name"], got["version"]) == (entry["name"], entry["version"]) and "ds-0123" in card.text
    up.update(upstream="20990101T000000Z-gone-smoke")  # a broken link past the registration is never read
    with warnings.catch_warnings():
        warnings.simplefilter("error", runs.LineageWarning)
        cards.card_for_run(params, run)


def test_publish_to_a_local_folder_standing_in_for_the_hub(registered, tmp_path):
    params, run, _ = registered
    card, entry = cards.card_for_run(params, run)
    hub = tmp_path / "hub"
    out = cards.publish(entry, card, "me/mcp-tiny", target=str(hub))
    repo = hub / "me" / "mcp-tiny"
    assert out["target"] == str(repo)
    assert sorted(out["files"]) == sorted(
        [
            "README.md",
            "config.json",
            "model.safetensors",
            "model-q8_0.gguf",
            "Modelfile.q8_0",
            "adapter/adapter_config.json",
            "adapter/adapter_model.safetensors",
        ]  # fmt: skip
    )
    assert ModelCard.load(repo / "README.md").data.base_model == entry["base_model"]["id"]
    assert (repo / "model-q8_0.gguf").read_bytes() == b"gguf"
    assert (repo / "Modelfile.q8_0").read_text() == "FROM ./model-q8_0.gguf\n"  # beside the GGUF it names
    again = cards.publish(entry, card, "me/mcp-tiny", target=str(hub))  # a second push replaces in one step
    assert again["files"] == out["files"] and not [
        p for p in (hub / "me").iterdir() if p.name.startswith(".")
    ]


def test_publish_to_the_hub_offline_is_a_clear_error(registered, monkeypatch):
    from huggingface_hub import constants

    params, run, _ = registered
    card, entry = cards.card_for_run(params, run)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(cards.PublishError, match="HF_HUB_OFFLINE is set.*docs.hub_target"):
        cards.publish(entry, card, "me/mcp-tiny")
    with pytest.raises(cards.PublishError, match="NAMESPACE/NAME"):
        cards.publish(entry, card, "no-namespace", target="/tmp/x")


def test_publishing_is_explicit(registered, tmp_path):
    params, run, _ = registered
    card, entry = cards.card_for_run(params, run)
    assert cards.publish_run(params, card, entry) is None  # smoke: push_to_hub false
    on = params.model_copy(
        update={
            "docs": params.docs.model_copy(
                update={"push_to_hub": True, "hub_repo": "me/x", "hub_target": str(tmp_path)}
            )
        }
    )
    assert cards.publish_run(on, card, entry)["target"] == str(tmp_path / "me" / "x")


def test_push_without_repo_is_a_params_error(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("docs:\n  push_to_hub: true\n")
    with pytest.raises(ParamsError, match="docs.hub_repo"):
        load_params(f)


def test_limitations_are_read_off_the_evaluation(registered):
    """Worse-than-base metrics (with the paired test), the weakest categories, why turns failed and the other
    eval sets go into the card's limitations; a model better everywhere gets no 'worse than base' line."""
    m = {"value": 0.5, "n": 4}
    ev = {
        "primary_set": "test",
        "base": {"tool_selection": {"value": 0.1, "n": 42}, "call_well_formed": {"value": 0.86, "n": 21}},
        "fine_tuned": {"tool_selection": {"value": 0.57, "n": 42}, "call_well_formed": {"value": 0.62, "n": 21}},
        "tests": {"call_well_formed": {"n": 21, "p_value": 0.18}, "tool_selection": {"n": 42, "p_value": 1e-5}},
        "by_category": {"fine_tuned": {"no_tool": {"tool_selection": {"value": 0.4, "n": 5}},
                                       "single_call": {"tool_selection": m},
                                       "large_context": {"tool_selection": {"value": 1.0, "n": 4}},
                                       "resource_access": {"tool_selection": {"value": 0.25, "n": 4}}}},
        "reasons": {"fine_tuned": {"selection_reason": {"ok": 24, "wrong_tool": 4, "no_call": 8}}},
        "sets": {"test": {}, "held_out_servers": {"base": {"tool_selection": {"value": 0.3}},
                                                  "fine_tuned": {"tool_selection": {"value": 0.7}}}},
    }  # fmt: skip
    lines = cards.measured_limits(ev)
    assert lines == [
        "Worse than the base model on call_well_formed: 0.620 vs 0.860 (21 turns, paired p = 0.18).",
        "Weakest categories (tool selection): resource_access 0.25 (n=4), no_tool 0.40 (n=5), single_call 0.50 (n=4).",
        "Failed turns on the test set: 8 answered or asked where a call was expected; 4 called another tool of the "
        "right server.",
        "Tool selection on the other eval sets: held_out_servers 0.70 (base 0.30).",
    ]
    _, _, entry = registered
    card = cards.model_card({**entry, "metrics": {**entry["metrics"], "eval": ev}})
    assert "- Worse than the base model on call_well_formed" in card.text
    assert not [x for x in cards.measured_limits(EVAL) if x.startswith("Worse")]  # 0.7 > 0.2 everywhere


def test_training_length_says_steps_and_epochs():
    from mcpft_lib.report.cards import training_length

    assert training_length({"steps": 588, "epochs_done": 3.0}, {"epochs": 3}) == "588 steps (3 epochs)"
    assert training_length({}, {"max_steps": 600, "epochs": None}) == "600 steps"
    assert training_length({}, {"max_steps": None, "epochs": 3}) == "3 epochs"
