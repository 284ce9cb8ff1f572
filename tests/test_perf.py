"""Inference benchmarks on the tiny model: per-prompt measurements, variants, per-server prompts, charts,
one variant in its own process, and the generate benchmark's identity check."""

import json

import pytest

from mcpft_lib.config import load_params
from mcpft_lib.evaluation import perf

SMOKE = "params/smoke.yaml"
SHORT = ["data.servers=[time,git]", "eval.max_new_tokens=6", "eval.batch_size=2"]


@pytest.fixture(scope="module")
def p():
    return load_params(SMOKE, SHORT)


def test_server_prompts_differ_in_length(p):
    from mcpft_lib.evaluation.generation import encode
    from mcpft_lib.modeling import loaders

    chats = perf.server_chats(p)
    assert list(chats) == ["time", "git"]
    for chat in chats.values():
        assert chat[-1]["role"] == "user" and all(m["role"] != "assistant" for m in chat)
    tok = loaders.load_tokenizer(p.model)
    n_time, n_git = (len(x) for x in encode(tok, list(chats.values())))
    assert n_git > 1.5 * n_time  # git's catalog has many more tools than time's


@pytest.mark.slow
def test_measure_and_variants(p):
    base = perf.measure_variant(p, "base", new_tokens=3, per_server=True)
    assert base["device"] == "cpu" and base["prompts"] == 2
    assert base["prefill_tokens_per_s"] > 0 and base["decode_tokens_per_s"] > 0 and base["ttft_s"] > 0
    assert base["peak_gib"] >= base["weights_gib"] > 0
    assert [s["server"] for s in base["servers"]] == ["time", "git"]
    assert base["servers"][1]["prompt_tokens"] > base["servers"][0]["prompt_tokens"]
    adapter = perf.measure_variant(p, "adapter", new_tokens=3)
    assert "unmerged PEFT" in adapter["note"] and adapter["weights_gib"] > base["weights_gib"]  # LoRA weights
    gguf = perf.measure_variant(p, "gguf", new_tokens=3)
    assert "no GGUF" in gguf["skipped"]  # the tiny model has no GGUF source
    with pytest.raises(ValueError, match="new_tokens"):
        perf.measure(None, None, [], new_tokens=1)
    res = {"variants": [base, adapter, gguf], "servers": [{"variant": "base", **s} for s in base["servers"]]}
    figs = perf.perf_charts(res)
    assert len(figs) == 2 and "skipped gguf" in figs[0].layout.title.text
    assert {t.name for t in figs[0].data} == {"prefill", "decode", "TTFT", "peak", "weights"}
    table = perf.perf_table(res)
    assert list(table["variant"]) == ["base", "adapter", "gguf"] and table["skipped"].iloc[2]


@pytest.mark.slow
def test_run_perf_one_process_per_variant(tmp_path):
    lines = []
    res = perf.run_perf(SMOKE, SHORT, ["merged"], new_tokens=2, log=lambda *a, **k: lines.append(a[0]))
    (row,) = res["variants"]
    assert row["variant"] == "merged" and "merged in memory" in row["note"] and row["peak_gib"] > 0
    assert res["servers"] == []  # only the base run measures per server
    assert any(line.strip().startswith("merged") for line in lines)
    json.dumps(res)
    with pytest.raises(ValueError, match="unknown perf variants"):
        perf.run_perf(SMOKE, SHORT, ["fp8"])


@pytest.mark.slow
def test_bench_generate_reports_identity_and_ratio_last():
    lines = []
    res = perf.bench_generate(SMOKE, SHORT, n=3, log=lambda *a, **k: lines.append(a[0]))
    assert res["items"] == 3 and res["identical"] == 3 and res["different"] == []
    assert res["reference"]["new_tokens"] == res["fast"]["new_tokens"] > 0
    assert res["speed_ratio"] > 0
    assert lines[-1].startswith("speed ratio") and "identical outputs: 3/3" in lines[-2]


def test_run_artifacts(isolated_reports):
    from mcpft_lib import runs
    from mcpft_lib.export import formats

    up = runs.create_run(load_params(SMOKE), "x")
    run = runs.create_run(load_params(SMOKE), "x", upstream=up.id)
    adapter = runs.adapter_dir_of(up.train_out())
    adapter.mkdir(parents=True)
    gguf = runs.export_dir_of(run.export_out(), "gguf_q8_0")
    gguf.mkdir(parents=True)
    (gguf / "model-q8_0.gguf").write_bytes(b"GGUF")
    assert perf.run_artifacts(run, "float32")["gguf_file"] is None  # no manifest: not a finished export
    (gguf / formats.MANIFEST).write_text(json.dumps({"sha256": formats.checksums(gguf)}))
    assert perf.run_artifacts(run, "float32") == {
        "adapter_dir": str(adapter),  # from the upstream run
        "merged_dir": None,
        "gguf_file": str(gguf / "model-q8_0.gguf"),
    }


def test_cli_bench_wiring(monkeypatch):
    from mcpft_lib.cli import main

    calls = []
    monkeypatch.setattr(perf, "bench_generate", lambda *a, **k: calls.append(("generate", a, k)))
    monkeypatch.setattr(perf, "run_perf", lambda *a, **k: calls.append(("perf", a, k)))
    assert main(["bench", "generate", SMOKE, "--items", "5", "--set", "eval.batch_size=2"]) == 0
    assert main(["bench", "perf", SMOKE, "--variants", "base,nf4", "--new-tokens", "4"]) == 0
    assert calls == [
        ("generate", (SMOKE, ["eval.batch_size=2"]), {"n": 5}),
        ("perf", (SMOKE, [], ["base", "nf4"], 4, None, None, None), {}),
    ]
    monkeypatch.undo()
    assert main(["bench", "perf", SMOKE, "--variants", "fp8"]) == 2  # a clear error, nothing run
