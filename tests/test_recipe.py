"""One training recipe: notebook 02 and `python -m mcpft_lib.train` (so `accelerate launch`) both run
`train.recipe.train_from_params`, and the notebook repeats none of its steps."""

import ast
import inspect
import json
import runpy
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from mcpft_lib.config import load_params
from mcpft_lib.train import recipe

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks/02_training.ipynb"
SMOKE = ROOT / "params/smoke.yaml"


def _calls(source: str) -> list[str]:
    """The callee of every call in `source`, as written: `recipe.train_from_params`, `loaders.load_model`, ..."""
    return [ast.unparse(n.func) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]


def _recipe_steps() -> set[str]:
    """Names of the project functions `train_from_params` calls: the steps of the recipe."""
    fn = recipe.train_from_params
    steps = set()
    for name in _calls(textwrap.dedent(inspect.getsource(fn))):
        head, *rest = name.split(".")
        obj = fn.__globals__.get(head)
        for part in rest:
            obj = getattr(obj, part, None)
        if callable(obj) and getattr(obj, "__module__", "").startswith("mcpft_lib") and obj is not fn:
            steps.add(obj.__name__)
    return steps


def _notebook_calls() -> list[str]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return _calls("\n".join(c.source for c in nb.cells if c.cell_type == "code"))


def test_notebook_02_trains_with_the_recipe_and_repeats_none_of_its_steps():
    steps = _recipe_steps()
    assert {"load_splits", "load_model", "tokenize_rows", "train_lora"} <= steps  # the finder sees the steps
    calls = _notebook_calls()
    assert calls.count("recipe.train_from_params") == 1
    repeated = sorted({c for c in calls if c.rsplit(".", 1)[-1] in steps})
    assert repeated == [], f"notebook 02 repeats steps of train.recipe.train_from_params: {repeated}"


def test_the_command_line_runs_the_same_recipe(monkeypatch, tmp_path, capsys):
    """`python -m mcpft_lib.train PARAMS OUT_DIR` (what accelerate launch and torchrun start) validates the params
    and hands them to `train_from_params`, then prints its summary."""
    seen = []

    def spy(p, out_dir, data_dir=None, **kw):
        seen.append((p, out_dir, data_dir, kw))
        return recipe.Training(summary={"steps": 1}, rows={}, tokenizer=None, model=None)

    monkeypatch.setattr(recipe, "train_from_params", spy)
    monkeypatch.setattr(
        sys, "argv", ["mcpft_lib.train", str(SMOKE), str(tmp_path), "--set", "train.epochs=2"]
    )
    with pytest.raises(SystemExit) as e:
        runpy.run_module("mcpft_lib.train", run_name="__main__")
    assert e.value.code == 0
    ((p, out_dir, data_dir, kw),) = seen
    assert p == load_params(SMOKE, ["train.epochs=2"]) and (out_dir, data_dir) == (str(tmp_path), None)
    assert kw == {"source": str(SMOKE)}
    assert json.loads(capsys.readouterr().out) == {"steps": 1}
