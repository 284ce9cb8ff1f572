import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcpft_lib.config import ParamsError, apply_overrides, load_params

ROOT = Path(__file__).resolve().parent.parent
PROFILES = sorted((ROOT / "params").glob("*.yaml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_profiles_validate(path):
    p = load_params(path)
    assert p.run.profile == path.stem or path.stem == "default"


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_key_is_commented(path):
    """nanoGPT style: every key of a profile carries a comment (on its line or the line above)."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("#") or ":" not in s:
            continue
        is_section = s.endswith(":")
        if is_section:
            continue
        assert "#" in line or lines[i - 1].strip().startswith("#"), f"{path.name}:{i + 1} uncommented: {line}"


def _write(tmp_path, text):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    return f


@pytest.mark.parametrize(
    "text, needle",
    [
        ("train:\n  lerning_rate: 0.1\n", "train.lerning_rate: unknown key"),
        ("train:\n  max_steps: many\n", "train.max_steps"),
        ("train:\n  learning_rate: -0.1\n", "train.learning_rate"),
        ("train:\n  lora:\n    r: 0\n", "train.lora.r"),
        ("data:\n  categories: [teleport]\n", "data.categories"),
        ("data:\n  val_fraction: 0.45\n  test_fraction: 0.45\n", "val_fraction"),
        ("model:\n  max_position_embeddings: 512\ndata:\n  max_length: 1024\n", "max_length"),
        ("model:\n  source: ftp\n", "model.source"),
        ("- a\n- b\n", "expected a mapping"),
        ("train: [unclosed\n", "not valid YAML"),
        ("data:\n  servers: [nope]\n", "data.servers"),
        ("train:\n  lora:\n    target_modules: []\n", "train.lora.target_modules"),
        ("model:\n  tiny:\n    num_heads: 5\n", "model.tiny"),
        ("model:\n  source: local\n  id: /no/such/folder\n", "no such local folder"),
        ("model:\n  device: cpu\ntrain:\n  optimizer: paged_adamw_8bit\n", "needs a GPU"),
        ("train:\n  mixed_precision: no\n", "train.mixed_precision"),
        ("export:\n  formats: [gguf_q8_0]\n", "must include safetensors"),
        ("data:\n  dialect: yaml\n", "data.dialect"),
        ("eval:\n  n_examples: 0\n", "eval.n_examples"),
        ("eval:\n  n_examples: {val: 3}\n", "eval.n_examples"),
        ("eval:\n  n_examples: {test: 0}\n", "eval.n_examples"),
        ("train:\n  epochs: 3\n  max_steps: 588\n", "train.max_steps=588 and train.epochs=3 both give"),
        ("train:\n  epochs: 0\n", "train.epochs"),
        ("train:\n  eval_every: epochs\n", "eval_every is 'epoch' or a number of optimizer steps"),
        ("train:\n  save_every: 0\n", "train.save_every"),
        ("train:\n  eval_steps: 196\n", "train.eval_steps: unknown key: it is train.eval_every"),
        (
            "train:\n  eval_every: 3\n  save_every: 4\n  early_stopping: {patience: 2}\n",
            "multiple of eval_every=3",
        ),
    ],
)
def test_bad_params_name_key_and_file(tmp_path, text, needle):
    f = _write(tmp_path, text)
    with pytest.raises(ParamsError) as e:
        load_params(f)
    msg = str(e.value)
    assert needle in msg
    assert str(f) in msg


def test_error_points_at_the_line(tmp_path):
    f = _write(tmp_path, "run:\n  seed: 1\ntrain:\n  max_steps: 5\n  bogus: 1\n")
    with pytest.raises(ParamsError, match=rf"{f}:5: train.bogus"):
        load_params(f)


def test_missing_file():
    with pytest.raises(ParamsError, match="params file not found: nowhere.yaml"):
        load_params("nowhere.yaml")


def test_overrides_are_typed_and_validated(tmp_path):
    f = _write(tmp_path, "train:\n  max_steps: 5\n")
    p = load_params(
        f, ["train.max_steps=7", "train.lora.target_modules=[q_proj]", "data.compact_schemas=false"]
    )
    assert (
        p.train.max_steps == 7
        and p.train.lora.target_modules == ["q_proj"]
        and p.data.compact_schemas is False
    )
    with pytest.raises(ParamsError, match="--set: train.nope: unknown key"):
        load_params(f, ["train.nope=1"])
    with pytest.raises(ParamsError, match="KEY.PATH=VALUE"):
        load_params(f, ["train.max_steps"])


def test_apply_overrides_does_not_mutate():
    data = {"a": {"b": 1}}
    out, touched = apply_overrides(data, ["a.b=2", "a.c.d=x"])
    assert data == {"a": {"b": 1}} and out == {"a": {"b": 2, "c": {"d": "x"}}} and touched == {"a.b", "a.c.d"}


def test_hash_changes_with_params(tmp_path):
    f = _write(tmp_path, "")
    assert load_params(f).hash() == load_params(f).hash() != load_params(f, ["run.seed=1"]).hash()


def test_cli_rejects_bad_params_fast_without_run_folder(tmp_path):
    f = _write(tmp_path, "train:\n  lora:\n    r: 0\n")
    env_reports = tmp_path / "reports"
    t0 = time.time()
    r = subprocess.run(
        [sys.executable, "-m", "mcpft_lib.cli", "run", str(f)],
        capture_output=True,
        text=True,
        env={"MCPFT_REPORTS": str(env_reports), "PATH": "/usr/bin:/bin"},
    )
    assert time.time() - t0 < 5
    assert r.returncode == 2
    assert "train.lora.r" in r.stderr and str(f) in r.stderr and "Traceback" not in r.stderr
    assert not env_reports.exists()  # nothing half-written


def test_training_length_is_epochs_or_max_steps(tmp_path):
    """A profile gives epochs or max_steps (neither: one epoch); an override of one replaces the profile's other,
    so `--set train.max_steps=N` works on a profile that says epochs, and the reverse."""
    neither = load_params(_write(tmp_path, "")).train
    assert (neither.epochs, neither.max_steps) == (1, None)
    epochs = _write(tmp_path, "train:\n  epochs: 3\n  eval_every: epoch\n")
    p = load_params(epochs, ["train.max_steps=392"])
    assert (p.train.epochs, p.train.max_steps, p.train.eval_every) == (None, 392, "epoch")
    p = load_params(ROOT / "params/smoke.yaml", ["train.epochs=2"])  # smoke gives max_steps
    assert (p.train.epochs, p.train.max_steps) == (2, None)
    with pytest.raises(ParamsError, match="--set: train.max_steps: .*both give the training length"):
        load_params(epochs, ["train.max_steps=5", "train.epochs=2"])
    p = load_params(epochs, ["train.epochs=null", "train.max_steps=5"])
    assert (p.train.epochs, p.train.max_steps) == (None, 5)
    # the resolved params a run writes (both keys, one null) load back as they were
    f = tmp_path / "resolved.yaml"
    f.write_text(load_params(epochs).to_yaml())
    assert load_params(f).train == load_params(epochs).train


def test_run_examples_selects_example_notebooks_by_name_or_number():
    """`run.examples`: the example notebooks `mcpft run` executes after 05 (stems or numbers); a name that
    matches none is an error naming the key and the choices, before anything runs."""
    from mcpft_lib.report.runner import _example_names

    p = load_params(ROOT / "params/default.yaml", ['run.examples=["02", 05_inference_api]'])
    assert p.run.examples == ["02_adapter_peft", "05_inference_api"]
    assert _example_names(None, p.run.examples) == ["02_adapter_peft", "05_inference_api"]
    assert load_params(ROOT / "params/default.yaml", ["run.examples=[06]"]).run.examples == [
        "06_bring_your_own_server"
    ]
    assert "06_bring_your_own_server" in _example_names(
        None, load_params(ROOT / "params/smoke.yaml").run.examples
    )
    with pytest.raises(
        ParamsError, match=r"run\.examples.*no example notebook '09'.*06_bring_your_own_server"
    ):
        load_params(ROOT / "params/default.yaml", ['run.examples=["09"]'])
