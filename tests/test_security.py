"""Security: no token in any output of a full smoke run, trust_remote_code only when the params say so,
safe checkpoint loaders (safetensors, `weights_only`), model-issued tool calls never through a shell and only
to allowlisted, sandboxed servers. Every case is recorded for docs/reliability.md.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
from pathlib import Path

import pytest

from mcpft_lib.config import load_params
from mcpft_lib.core import secrets
from mcpft_lib.core.schema import ToolCall
from mcpft_lib.mcp import live
from mcpft_lib.modeling import loaders
from tests.reliability import Recorder, whole_files_run

from .conftest import fake_token

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "params" / "smoke.yaml"
LIB = ROOT / "mcpft_lib"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def figures(request):
    rec = Recorder("security")
    yield rec
    rec.save(replace=whole_files_run(request.config))


# ==========================================================================================================
# Token leak scan over every output of one full smoke run


@pytest.fixture(scope="module")
def smoke_with_tokens(smoke_session):
    """The suite's shared smoke run (tests/conftest.py): a token in HF_TOKEN, another in the hub's login file
    ($HF_HOME/token and stored_tokens), and a third pasted into a param (`--set run.description=...`)."""
    tokens = smoke_session["tokens"]
    assert (smoke_session["hf_home"] / "token").read_text() == tokens[
        "login"
    ]  # the user's login is untouched
    return smoke_session["tmp"], tokens


def _needles(tokens: dict[str, str]) -> dict[str, bytes]:
    """Each token, its prefix (first 12 characters) and its suffix (last 12): a partial leak counts too."""
    out = {}
    for k, t in tokens.items():
        out[f"{k} token"] = t.encode()
        out[f"{k} prefix"] = t[:12].encode()
        out[f"{k} suffix"] = t[-12:].encode()
    return out


AREAS = {
    # area: (description, which files)
    "notebooks and HTML reports": ("executed notebooks and their HTML", lambda p: p.suffix in (".ipynb", ".html")),
    "run.json and params": ("run.json, params.yaml, metrics.json, hardware.json",
                            lambda p: p.name in ("run.json", "params.yaml", "metrics.json", "hardware.json")),
    "model cards": ("MODEL_CARD.md / README.md cards", lambda p: p.suffix == ".md"),
    "logs": ("console output and JSONL/text logs", lambda p: p.suffix in (".log", ".jsonl", ".txt")),
    "every file": ("every file under reports/ and artifacts/ (weights included)", lambda p: True),
}  # fmt: skip


@pytest.mark.notebook
@pytest.mark.parametrize("area", list(AREAS))
def test_no_token_in_outputs(figures, request, area):
    what, pick = AREAS[area]
    with figures.case("security", "token leak", area.replace(" ", "_"), f"fake tokens in HF_TOKEN, in $HF_HOME/token "
                      f"+ stored_tokens, and pasted into run.description; scan: {what}",
                      "no token, token prefix or suffix in any file") as fig:  # fmt: skip
        tmp, tokens = request.getfixturevalue("smoke_with_tokens")
        files = [p for p in tmp.rglob("*") if p.is_file() and "hf_home" not in p.parts and pick(p)]
        leaks = []
        size = 0
        for p in files:
            data = p.read_bytes()
            size += len(data)
            leaks += [f"{p.relative_to(tmp)}: {name}" for name, n in _needles(tokens).items() if n in data]
        fig.outcome = f"{len(files)} files, {size / 1e6:.1f} MB scanned, {len(leaks)} leaks {leaks[:5]}"
        assert files, f"no {what} found in the smoke run"
        login = (
            tmp / "hf_home" / "token"
        ).read_bytes()  # positive control: the scan finds a token where it is
        assert _needles(tokens)["login token"] in login and _needles(tokens)["login prefix"] in login
        assert not leaks


@pytest.mark.notebook
def test_pasted_token_is_masked_not_dropped(figures, request):
    """The param holding a token is still recorded (masked), so the run stays reproducible and auditable."""
    with figures.case("security", "token leak", "pasted_token_masked", "run.description holding a token",
                      "recorded as hf_*** in run.json and params.yaml") as fig:  # fmt: skip
        tmp, tokens = request.getfixturevalue("smoke_with_tokens")
        (run_dir,) = (tmp / "reports").glob("*-smoke")
        info = json.loads((run_dir / "run.json").read_text())
        fig.outcome = f"run.json description: {info['params']['run']['description']!r}"
        assert info["params"]["run"]["description"] == "debugging with hf_***"
        assert "debugging with hf_***" in (run_dir / "params.yaml").read_text()


def test_redact_knows_env_and_login_tokens(figures, tmp_path, monkeypatch):
    env_tok, login_tok, odd = fake_token("Env"), fake_token("Login"), "s3cr3t-not-hf-shaped"
    (tmp_path / "token").write_text(login_tok + "\n")
    (tmp_path / "stored_tokens").write_text(f"[other]\nhf_token = {odd}\n")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_TOKEN_PATH", raising=False)
    monkeypatch.setenv("HF_TOKEN", env_tok)
    with figures.case("security", "token leak", "redact_sources", "tokens in HF_TOKEN, $HF_HOME/token and a "
                      "non-hf-shaped one in stored_tokens", "all three masked by secrets.redact") as fig:  # fmt: skip
        out = json.dumps(secrets.redact({"a": [f"x {env_tok} y", {login_tok: odd}]}))
        fig.outcome = out
        assert env_tok not in out and login_tok not in out and odd not in out and out.count("***") == 3


# ==========================================================================================================
# trust_remote_code: off unless the params turn it on


class _Stop(Exception):
    pass


def _record_from_pretrained(monkeypatch, stop: bool) -> list[tuple[str, dict]]:
    import transformers

    calls: list[tuple[str, dict]] = []
    for name in ("AutoConfig", "AutoTokenizer", "AutoModelForCausalLM"):
        cls = getattr(transformers, name)
        orig = cls.from_pretrained

        def spy(*a, _orig=orig, _name=name, **kw):
            calls.append((_name, kw))
            if stop:
                raise _Stop
            return _orig(*a, **kw)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    return calls


def test_trust_remote_code_off_by_default(figures, monkeypatch):
    with figures.case("security", "model loading", "trust_remote_code_default", "load the smoke model with the "
                      "default params", "every from_pretrained call gets trust_remote_code=False") as fig:  # fmt: skip
        calls = _record_from_pretrained(monkeypatch, stop=False)
        p = load_params(SMOKE)
        assert (
            p.model.trust_remote_code is False
            and load_params(ROOT / "params" / "default.yaml").model.trust_remote_code is False
        )
        loaders.load_model(p.model)
        fig.outcome = "; ".join(f"{n}: trust_remote_code={kw.get('trust_remote_code')}" for n, kw in calls)
        assert {n for n, _ in calls} >= {"AutoModelForCausalLM", "AutoTokenizer"}
        assert all(kw.get("trust_remote_code") is False for _, kw in calls)


def test_trust_remote_code_only_when_params_say_so(figures, monkeypatch):
    with figures.case("security", "model loading", "trust_remote_code_opt_in", "--set model.trust_remote_code=true",
                      "passed through as True (explicit opt-in only)") as fig:  # fmt: skip
        calls = _record_from_pretrained(monkeypatch, stop=True)
        p = load_params(SMOKE, ["model.trust_remote_code=true"])
        with pytest.raises(_Stop):
            loaders.load_model(p.model)
        fig.outcome = "; ".join(f"{n}: trust_remote_code={kw.get('trust_remote_code')}" for n, kw in calls)
        assert calls and all(kw.get("trust_remote_code") is True for _, kw in calls)


def _code_sources() -> list[tuple[str, str]]:
    """(name, python source) of every library module and every notebook's code cells."""
    out = [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted(LIB.rglob("*.py"))]
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "code"
        )  # magics are not used in these notebooks
        out.append((str(nb.relative_to(ROOT)), code))
    return out


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _kw(node: ast.Call, name: str):
    for k in node.keywords:
        if k.arg == name:
            return k.value
    return None


def test_no_hard_coded_trust_remote_code(figures):
    with figures.case("security", "model loading", "no_literal_trust_remote_code", "AST scan of mcpft_lib and the "
                      "notebooks", "no call passes trust_remote_code=True literally") as fig:  # fmt: skip
        bad = []
        for name, src in _code_sources():
            for node, _ in _calls(ast.parse(src)):
                v = _kw(node, "trust_remote_code")
                if isinstance(v, ast.Constant) and v.value is True:
                    bad.append(f"{name}:{node.lineno}")
        fig.outcome = f"{len(_code_sources())} files scanned; offenders: {bad}"
        assert not bad


# ==========================================================================================================
# Safe loaders: safetensors and torch.load(weights_only=True), no pickle


def _unsafe_loads(src: str) -> list[str]:
    bad = []
    tree = ast.parse(src)
    for node, fn in _calls(tree):
        if fn in ("torch.load", "torch_load"):
            v = _kw(node, "weights_only")
            if not (isinstance(v, ast.Constant) and v.value is True):
                bad.append(f"{node.lineno}: {fn}(...) without weights_only=True")
        if fn.split(".")[-1] in ("save_pretrained",):
            v = _kw(node, "safe_serialization")
            if isinstance(v, ast.Constant) and v.value is False:
                bad.append(f"{node.lineno}: save_pretrained(safe_serialization=False)")
        v = _kw(node, "allow_pickle")
        if isinstance(v, ast.Constant) and v.value is True:
            bad.append(f"{node.lineno}: {fn}(allow_pickle=True)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            mods = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            if any(m and m.split(".")[0] in ("pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal")
                   for m in mods):  # fmt: skip
                bad.append(f"{node.lineno}: imports {mods}")
    return bad


def test_project_code_uses_safe_loaders(figures):
    with figures.case("security", "checkpoints", "project_loaders", "AST scan of mcpft_lib and the notebooks",
                      "no pickle/joblib/dill, torch.load only with weights_only=True, no "
                      "safe_serialization=False") as fig:  # fmt: skip
        bad = [f"{n}:{b}" for n, src in _code_sources() for b in _unsafe_loads(src)]
        fig.outcome = f"{len(_code_sources())} files scanned; offenders: {bad}"
        assert not bad


def test_resume_loaders_in_dependencies_are_weights_only(figures):
    """Resuming reads optimizer/scheduler/RNG states through transformers' Trainer and adapters through peft:
    a dependency upgrade that drops weights_only=True would make a checkpoint folder able to run code."""
    import peft.utils.save_and_load as peft_sl
    import transformers.trainer as tr

    with figures.case("security", "checkpoints", "dependency_loaders", "AST scan of transformers.trainer and "
                      "peft's adapter loader", "every torch.load there uses weights_only=True") as fig:  # fmt: skip
        src = inspect.getsource(tr)
        n = sum(1 for _, fn in _calls(ast.parse(src)) if fn == "torch.load")
        bad = _unsafe_loads(src)
        default = inspect.signature(peft_sl.torch_load).parameters["weights_only"].default
        peft_bad = [f"{node.lineno}" for node, fn in _calls(ast.parse(inspect.getsource(peft_sl)))
                    if fn == "torch_load" and isinstance(v := _kw(node, "weights_only"), ast.Constant)
                    and v.value is False]  # fmt: skip
        fig.outcome = f"transformers.trainer: {n} torch.load calls, unsafe {bad}; peft torch_load default " \
                      f"weights_only={default}, overridden to False at {peft_bad}"  # fmt: skip
        assert n > 0 and not bad and default is True and not peft_bad


@pytest.mark.notebook
def test_smoke_run_weights_are_safetensors(figures, request):
    with figures.case("security", "checkpoints", "smoke_run_weights", "every weight file a smoke run writes",
                      "model and adapter weights only as .safetensors (no pytorch_model.bin / adapter_model.bin)") as fig:  # fmt: skip
        tmp, _ = request.getfixturevalue("smoke_with_tokens")
        files = [p for p in (tmp / "artifacts").rglob("*") if p.is_file()]
        weights = sorted(p.name for p in files if p.suffix == ".safetensors")
        pickled = sorted({p.name for p in files if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".pickle")})
        # Trainer checkpoint state (optimizer.pt, scheduler.pt, rng_state.pth) is read back with weights_only=True
        # (test above); training_args.bin is written by the Trainer but never loaded
        allowed = {"optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin", "scaler.pt"}
        fig.outcome = f"safetensors: {sorted(set(weights))}; other tensor files: {pickled}"
        assert "model.safetensors" in weights and "adapter_model.safetensors" in weights
        assert set(pickled) <= allowed, pickled


# ==========================================================================================================
# Tool calls: never through a shell, only allowlisted servers, sandboxed

_SUBPROCESS = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
               "subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput"}  # fmt: skip


def test_no_shell_in_project_code(figures):
    with figures.case("security", "tool calls", "no_shell", "AST scan of mcpft_lib and the notebooks",
                      "no shell=True, os.system, os.popen, create_subprocess_shell or string commands") as fig:  # fmt: skip
        bad = []
        for name, src in _code_sources():
            for node, fn in _calls(ast.parse(src)):
                shell = _kw(node, "shell")
                if isinstance(shell, ast.Constant) and shell.value:
                    bad.append(f"{name}:{node.lineno} shell=True")
                if fn in ("os.system", "os.popen", "asyncio.create_subprocess_shell", "subprocess.getoutput",
                          "subprocess.getstatusoutput") or fn.startswith("os.exec") or fn.startswith("os.spawn"):  # fmt: skip
                    bad.append(f"{name}:{node.lineno} {fn}")
                if fn in _SUBPROCESS and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                    bad.append(f"{name}:{node.lineno} {fn} with a command string")
        fig.outcome = f"{len(_code_sources())} files scanned; offenders: {bad}"
        assert not bad


def test_shell_metacharacters_stay_data(figures, tmp_path):
    marker = tmp_path / "pwned"
    payload = f"UTC; touch {marker} && $(touch {marker}) `touch {marker}`"
    with figures.case("security", "tool calls", "shell_metacharacters", "a model-issued time call whose timezone "
                      "is `; touch`, `$(...)` and backticks", "the server receives the string as data (error "
                      "result); nothing is executed", scrub=[str(tmp_path)]) as fig:  # fmt: skip
        (o,) = live.execute([ToolCall(server="time", tool="get_current_time", arguments={"timezone": payload})],
                            allow=("time",), timeout_s=20)  # fmt: skip
        fig.outcome = f"{o.status}: {o.text[:100]}; marker created: {marker.exists()}"
        assert o.status in ("is_error", "protocol_error") and not marker.exists()


def test_calls_only_reach_allowlisted_servers(figures):
    with figures.case("security", "tool calls", "allowlist", "calls to a server outside the allowlist and a "
                      "runner asked to start an unknown server", "not_allowlisted without starting anything; "
                      "unknown recipe refused") as fig:  # fmt: skip
        runner = live.LiveRunner(["time"])
        out = runner.run(
            [
                live.Job(
                    ToolCall(server="filesystem", tool="read_text_file", arguments={"path": "/etc/passwd"})
                )
            ]
        )
        with pytest.raises(ValueError) as e:
            live.LiveRunner(["bash"])
        fig.outcome = f"{out[0].status}; servers started: {runner.starts}; {e.value}"
        assert out[0].status == "not_allowlisted" and runner.starts == {}


def test_filesystem_calls_stay_in_the_sandbox(figures):
    with figures.case("security", "tool calls", "sandbox_escape", "read_text_file of /etc/passwd and "
                      "../../../../etc/passwd on the live filesystem server", "refused or not found inside the "
                      "sandbox; the host file is never returned") as fig:  # fmt: skip
        calls = [ToolCall(server="filesystem", tool="read_text_file", arguments={"path": p})
                 for p in ("/etc/passwd", "../../../../etc/passwd")]  # fmt: skip
        out = live.execute(calls, allow=("filesystem",), timeout_s=20)
        fig.outcome = "; ".join(f"{o.status}: {o.text[:80]}" for o in out)
        host = Path("/etc/passwd").read_text()[:40] if os.path.exists("/etc/passwd") else "root:x:0:0"
        assert all(o.status != "ok" and host not in o.text and "root:" not in o.text for o in out)
