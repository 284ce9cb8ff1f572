"""Bad inputs: params, dataset rows, model outputs, catalogs and command lines.

Each bad input gets a clear error naming what is wrong (file, key or line, tool), or is quarantined with
its reason and counted; nothing is dropped silently and no traceback reaches the user. Every case is
recorded for docs/reliability.md (`python -m tests.reliability`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcpft_lib import cli
from mcpft_lib.config import ParamsError, check_against_model, load_params
from mcpft_lib.data import generate, validate
from mcpft_lib.mcp import catalogs, dialects
from mcpft_lib.mcp.catalogs import CatalogError
from tests.reliability import Recorder, whole_files_run

from .conftest import mcpft_env

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "params" / "smoke.yaml"


@pytest.fixture(scope="module")
def figures(request):
    rec = Recorder("bad_inputs")
    yield rec
    rec.save(replace=whole_files_run(request.config))


# ==========================================================================================================
# Params files: ParamsError naming the file (and line) and the key, before anything heavy happens

# (case, file content (str, bytes, or None = no file), overrides, text the error must contain)
BAD_PARAMS = [
    ("unknown_key", "train:\n  lerning_rate: 0.1\n", [], ":2: train.lerning_rate: unknown key"),
    ("wrong_type", "train:\n  max_steps: many\n", [], ":2: train.max_steps: Input should be a valid integer"),
    ("float_for_int", "train:\n  max_steps: 1.5\n", [], "train.max_steps"),
    ("missing_file", None, [], "params file not found"),
    ("folder_not_file", "DIR", [], "is a folder"),
    ("negative_learning_rate", "train:\n  learning_rate: -0.1\n", [], "train.learning_rate: Input should be greater"),
    ("nan_learning_rate", "train:\n  learning_rate: .nan\n", [], "train.learning_rate: Input should be a finite"),
    ("infinite_grad_norm", "train:\n  max_grad_norm: .inf\n", [], "train.max_grad_norm: Input should be a finite"),
    ("lora_rank_0", "train:\n  lora:\n    r: 0\n", [], ":3: train.lora.r: Input should be greater than or equal to 1"),
    ("lora_dropout_1", "train:\n  lora:\n    dropout: 1.0\n", [], "train.lora.dropout"),
    ("zero_batch", "train:\n  batch_size: 0\n", [], "train.batch_size"),
    ("max_length_over_positions", "model:\n  max_position_embeddings: 512\ndata:\n  max_length: 1024\n", [],
     "data.max_length=1024 exceeds the model's 512 positions"),
    ("bad_yaml_syntax", "train: [unclosed\n", [], "not valid YAML"),
    ("tab_indent", "train:\n\tmax_steps: 5\n", [], "not valid YAML"),
    ("duplicate_key", "train:\n  max_steps: 5\n  max_steps: 7\n", [], "duplicate key 'max_steps' (line 3"),
    ("not_utf8", b"train:\n  max_steps: \xff\xfe\n", [], "not UTF-8"),
    ("top_level_list", "- a\n- b\n", [], "expected a mapping of sections"),
    ("section_not_mapping", "train: 5\n", [], ":1: train: Input should be a valid dictionary"),
    ("unknown_server", "data:\n  servers: [time, jira]\n", [], "unknown servers ['jira']"),
    ("no_servers", "data:\n  servers: []\n", [], "at least one of servers"),
    ("unknown_category", "data:\n  categories: [teleport]\n", [], "unknown categories ['teleport']"),
    ("splits_leave_no_train", "data:\n  val_fraction: 0.45\n  test_fraction: 0.45\n", [], "at least 20% for training"),
    ("profile_path_traversal", "run:\n  profile: ../../etc\n", [], "run.profile: String should match pattern"),
    ("model_name_with_slash", "export:\n  model_name: a/b\n", [], "export.model_name"),
    ("local_model_missing", "model:\n  source: local\n  id: /no/such/model\n", [], "no such local folder"),
    ("unknown_model_source", "model:\n  source: ftp\n", [], "model.source"),
    ("gpu_optimizer_on_cpu", "model:\n  device: cpu\ntrain:\n  optimizer: paged_adamw_8bit\n", [], "needs a GPU"),
    ("override_without_equals", "", ["train.max_steps"], "expected KEY.PATH=VALUE"),
    ("override_unknown_key", "", ["train.stepz=3"], "--set: train.stepz: unknown key"),
    ("override_bad_yaml_value", "", ["train.max_steps=[1"], "--set train.max_steps: value '[1' is not valid YAML"),
    ("override_into_scalar", "", ["run.seed.x=1"], "--set: run.seed: Input should be a valid integer"),
]  # fmt: skip


def _params_file(tmp_path: Path, content) -> Path:
    f = tmp_path / "bad.yaml"
    if content == "DIR":
        f.mkdir()
    elif isinstance(content, bytes):
        f.write_bytes(content)
    elif content is not None:
        f.write_text(content)
    return f


@pytest.mark.parametrize("case, content, overrides, needle", BAD_PARAMS, ids=[c[0] for c in BAD_PARAMS])
def test_bad_params(figures, tmp_path, case, content, overrides, needle):
    shown = {None: "(no file)", "DIR": "(a folder)"}.get(content) if not isinstance(content, bytes) else None
    text = content.decode("latin-1") if isinstance(content, bytes) else content
    tried = (shown or text.replace("\n", " ⏎ ")) + " ".join(f"--set {o}" for o in overrides)
    with figures.case("bad_input", "params", case, tried.strip(), "ParamsError naming file/key",
                      scrub=[str(tmp_path)]) as fig:  # fmt: skip
        f = _params_file(tmp_path, content)
        with pytest.raises(ParamsError) as e:
            load_params(f, overrides)
        fig.outcome = msg = str(e.value)
        assert needle in msg
        if not overrides:
            assert str(f) in msg  # the file is named
        assert "Traceback" not in msg


@pytest.mark.slow
def test_max_length_longer_than_the_loaded_model(figures, tmp_path):
    """The cross-check notebook 02 runs once the model's own config is known (tiny model: 8192 positions)."""
    from mcpft_lib.modeling import loaders

    with figures.case("bad_input", "params", "max_length_over_model_config", "data.max_length: 16384 with "
                      "an 8192-position model", "ParamsError naming the key and the model's limit") as fig:  # fmt: skip
        p = load_params(SMOKE, ["data.max_length=16384"])
        positions = loaders.max_positions(loaders.load_config(p.model))
        assert positions == 8192
        with pytest.raises(ParamsError) as e:
            check_against_model(p, positions, str(SMOKE))
        fig.outcome = str(e.value)
        assert "data.max_length=16384" in fig.outcome and "8192" in fig.outcome and str(SMOKE) in fig.outcome


# ==========================================================================================================
# Dataset files: every bad row quarantined with its line and reason, the rest kept


@pytest.fixture(scope="module")
def good_rows() -> list[dict]:
    servers = catalogs.load_catalogs(["time", "git"])
    exs = generate.generate(6, 0, servers, ["single_call"])
    rows = [json.loads(e.model_dump_json()) for e in exs]
    assert len({r["id"] for r in rows}) == len(rows)
    return rows


def _first_call(row: dict) -> dict:
    return next(c for m in row["messages"] if m["role"] == "assistant" for c in m["calls"])


def _set_call(row: dict, **fields) -> dict:
    """Change the first reference call (and the tool result that echoes it)."""
    before = json.dumps(_first_call(row), sort_keys=True)
    for m in row["messages"]:
        for c in m.get("calls", []) + ([m["call"]] if m.get("call") else []):
            if json.dumps(c, sort_keys=True) == before:
                c.update(fields)
    return row


def _mut(fn):
    def apply(row: dict, rows: list[dict]):
        out = json.loads(json.dumps(row))
        return fn(out, rows) if fn.__code__.co_argcount == 2 else fn(out)

    return apply


def _user_call(r):
    r["messages"][0]["calls"] = [_first_call(r)]
    return r


# (case, what the bad line is, builder(row, rows) -> dict | str | bytes, text the reason must contain)
BAD_ROWS = [
    ("broken_json", "a row cut off mid-object", _mut(lambda r: json.dumps(r)[:-7]), "bad JSON"),
    ("binary_garbage", "bytes that are not UTF-8 text", _mut(lambda r: b"\xff\xfe\x00\x81garbage"), "invalid UTF-8"),
    ("non_object_array", "a JSON array instead of an object", _mut(lambda r: "[1, 2, 3]"), "valid dictionary"),
    ("non_object_number", "a bare number", _mut(lambda r: "42"), "valid dictionary"),
    ("null_line", "JSON null", _mut(lambda r: "null"), "valid dictionary"),
    ("deeply_nested_json", "100000 nested arrays", _mut(lambda r: "[" * 100_000 + "]" * 100_000), "bad JSON"),
    ("missing_id", "no `id` field", _mut(lambda r: {k: v for k, v in r.items() if k != "id"}), "id: Field required"),
    ("missing_messages", "no `messages` field", _mut(lambda r: {k: v for k, v in r.items() if k != "messages"}),
     "messages: Field required"),
    ("extra_field", "an unknown top-level field", _mut(lambda r: {**r, "score": 1}), "score: Extra inputs"),
    ("wrong_field_type", "`servers` is a string", _mut(lambda r: {**r, "servers": "time"}), "servers:"),
    ("unknown_role", "a `system` role", _mut(lambda r: (r["messages"][0].update(role="system"), r)[1]),
     "messages.0.role"),
    ("bad_difficulty", "difficulty `impossible`", _mut(lambda r: {**r, "difficulty": "impossible"}), "difficulty"),
    ("unknown_category", "category `teleport`", _mut(lambda r: {**r, "category": "teleport"}),
     "unknown category 'teleport'"),
    ("unknown_server", "a call to server `jira`", _mut(lambda r: _set_call(r, server="jira")),
     "unknown server 'jira'"),
    ("unknown_tool", "a call to tool `get_weather`", _mut(lambda r: _set_call(r, tool="get_weather")),
     "unknown tool"),
    ("schema_invalid_argument", "an argument of the wrong type", _mut(lambda r: _set_call(r, arguments={
        k: 12345 for k in _first_call(r)["arguments"]})), "invalid: 12345 is not of type"),
    ("missing_required_argument", "a call without its required arguments",
     _mut(lambda r: _set_call(r, arguments={})), "is a required property"),
    ("empty_conversation", "`messages: []`", _mut(lambda r: {**r, "messages": []}), "empty conversation"),
    ("starts_with_assistant", "first turn is the assistant's", _mut(lambda r: {**r, "messages": r["messages"][1:]}),
     "must start with a user turn"),
    ("ends_without_answer", "last turn is a tool result", _mut(lambda r: {**r, "messages": r["messages"][:-1]}),
     "last message must be an assistant turn"),
    ("orphan_tool_result", "a tool result nobody asked for", _mut(lambda r: {**r, "messages": r["messages"][:1] + [
        {"role": "tool", "content": "42"}] + r["messages"][1:]}), "tool result without a pending call"),
    ("calls_on_user_turn", "a user turn carrying a tool call", _mut(_user_call), "calls on a user turn"),
    ("empty_assistant_turn", "an assistant turn with no text and no call",
     _mut(lambda r: {**r, "messages": r["messages"][:1] + [{"role": "assistant", "content": " "}] + r["messages"][1:]}),
     "empty assistant turn"),
    ("duplicate_server_names", "the same server connected twice",
     _mut(lambda r: {**r, "servers": r["servers"] + r["servers"][:1]}), "duplicate server names"),
    ("duplicate_id", "a second row with the first row's id", _mut(lambda r, rows: rows[0]), "duplicate id"),
    ("huge_broken_row", "a 5 MB row that is not valid JSON",
     _mut(lambda r: '{"id": "x", "blob": "' + "A" * 5_000_000), "bad JSON"),
]  # fmt: skip


def _line(obj) -> bytes:
    if isinstance(obj, bytes):
        return obj
    return (obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)).encode()


@pytest.mark.parametrize("case, tried, build, needle", BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_bad_dataset_row(figures, tmp_path, good_rows, case, tried, build, needle):
    with figures.case("bad_input", "dataset row", case, tried,
                      "row quarantined with line + reason; other rows kept") as fig:  # fmt: skip
        bad = build(good_rows[1], good_rows)
        f = tmp_path / "train.jsonl"
        # good, BAD, good, blank, good: the bad row is line 2
        lines = [_line(good_rows[0]), _line(bad), _line(good_rows[2]), b"", _line(good_rows[3])]
        f.write_bytes(b"\n".join(lines) + b"\n")
        kept, quarantine = validate.load_jsonl(f)
        fig.outcome = (
            f"kept {len(kept)}, quarantined {len(quarantine)}: line {quarantine[0]['line']}: "
            f"{quarantine[0]['reason']}"
            if quarantine
            else f"kept {len(kept)}, nothing quarantined"
        )
        assert [e.id for e in kept] == [good_rows[i]["id"] for i in (0, 2, 3)]
        assert len(quarantine) == 1, quarantine
        (q,) = quarantine
        assert q["line"] == 2 and needle in q["reason"], q["reason"]
        assert len(q["raw"]) <= 500  # a huge row does not blow up the quarantine file
        assert len(kept) + len(quarantine) == sum(1 for ln in lines if ln.strip())  # nothing silently dropped


@pytest.mark.slow
def test_huge_valid_row_is_counted_not_cut(figures, good_rows, tmp_path):
    """A valid but enormous example is kept by the loader, then dropped *and counted* as too long."""
    from mcpft_lib.mcp import dialects
    from mcpft_lib.modeling import chat, loaders

    with figures.case("bad_input", "dataset row", "huge_valid_row", "a valid example with a 200 kB answer",
                      "kept by the loader; counted as too_long at tokenization, never cut") as fig:  # fmt: skip
        row = json.loads(json.dumps(good_rows[4]))
        row["messages"][-1]["content"] = "ok " * 70_000
        row["id"] = "huge-valid"
        f = tmp_path / "train.jsonl"
        f.write_text(json.dumps(row) + "\n" + json.dumps(good_rows[5]) + "\n")
        kept, quarantine = validate.load_jsonl(f)
        assert len(kept) == 2 and quarantine == []
        p = load_params(SMOKE)
        tok = loaders.load_tokenizer(p.model)
        rows, dropped = chat.tokenize_rows(
            tok,
            [dialects.to_chat(e, p.data.dialect, p.data.compact_schemas) for e in kept],
            p.data.max_length,
        )
        fig.outcome = f"loader kept {len(kept)}; tokenized {len(rows)}, dropped {dict(dropped)}"
        assert len(rows) == 1 and dropped == {"too_long": 1}


# ==========================================================================================================
# Model outputs: the parser never raises, whatever the model emits

XML_PIECES = ["<use_mcp_tool>", "</use_mcp_tool>", "<server_name>", "</server_name>", "<tool_name>",
              "</tool_name>", "<arguments>", "</arguments>", "<access_mcp_resource>", "</access_mcp_resource>",
              "<uri>", "</uri>", "time", "get_current_time", '{"timezone": "UTC"}', "{", "}", "[", "]", '"',
              "\\", "\n", " ", "<", ">", "/", "\x00", "\ud7ff", "NaN", "1e999", "<tool_call>", "</tool_call>",
              '{"name": "time__get_current_time", "arguments": {}}', '"arguments":', "null"]  # fmt: skip
_markup = st.lists(st.one_of(st.sampled_from(XML_PIECES), st.text(max_size=8)), max_size=40).map("".join)


@pytest.mark.parametrize("dialect", ["xml", "native"])
def test_parser_never_raises_fuzzed(figures, dialect):
    runs = []

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(text=st.one_of(_markup, st.text(max_size=200)))
    def check(text):
        r = dialects.parse_turn(text, dialect)
        runs.append(r.well_formed)
        assert isinstance(r.well_formed, bool) and isinstance(r.errors, list)
        assert all(isinstance(c.arguments, dict) for c in r.calls)
        assert r.well_formed or r.errors  # a malformed turn says why

    with figures.case("bad_input", "model output", f"fuzz_{dialect}", f"300 hypothesis-generated {dialect} turns "
                      "(markup fragments, JSON pieces, control characters)", "parse_turn returns a result, never "
                      "raises; malformed turns carry a reason") as fig:  # fmt: skip
        check()
        fig.outcome = f"{len(runs)} turns parsed, {runs.count(False)} flagged malformed, 0 exceptions"


def _call(args: str, server="time", tool="get_current_time") -> str:
    return (f"<use_mcp_tool>\n<server_name>{server}</server_name>\n<tool_name>{tool}</tool_name>\n"
            f"<arguments>\n{args}\n</arguments>\n</use_mcp_tool>")  # fmt: skip


# (case, dialect, model output, expected well_formed, expected number of calls)
BAD_OUTPUTS = [
    ("unclosed_block", "xml", "<use_mcp_tool><server_name>time</server_name>", False, 0),
    ("arguments_not_json", "xml", _call("timezone=UTC"), False, 0),
    ("arguments_json_array", "xml", _call('["UTC"]'), False, 0),
    ("arguments_deeply_nested", "xml", _call("[" * 100_000 + "]" * 100_000), False, 0),
    ("huge_output", "xml", "blah " * 200_000 + _call('{"timezone": "UTC"}'), True, 1),
    ("nul_bytes", "xml", "\x00" * 1000 + _call('{"timezone": "UTC"}'), True, 1),
    ("missing_tool_name", "xml", "<use_mcp_tool><server_name>time</server_name><arguments>{}</arguments>"
     "</use_mcp_tool>", False, 0),
    ("native_not_json", "native", "<tool_call>not json</tool_call>", False, 0),
    ("native_deeply_nested", "native", "<tool_call>" + "{" * 50_000 + "</tool_call>", False, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    "case, dialect, text, well_formed, n_calls", BAD_OUTPUTS, ids=[c[0] for c in BAD_OUTPUTS]
)
def test_bad_model_output(figures, case, dialect, text, well_formed, n_calls):
    esc = text[:200].encode("unicode_escape").decode()
    shown = esc if len(text) < 120 else f"{esc[:60]}… ({len(text)} chars)"
    with figures.case("bad_input", "model output", case, shown,
                      "parsed without raising; malformed flagged with a reason") as fig:  # fmt: skip
        r = dialects.parse_turn(text, dialect)
        fig.outcome = f"well_formed={r.well_formed}, calls={len(r.calls)}, errors={r.errors[:2]}"
        assert r.well_formed is well_formed and len(r.calls) == n_calls
        assert r.well_formed or r.errors


# ==========================================================================================================
# Catalogs: CatalogError naming the file and the tool


def _catalog(tmp_path: Path, mutate) -> tuple[Path, str]:
    base = json.loads(catalogs.catalog_path("time").read_text())
    text = mutate(base)
    d = tmp_path / "catalogs"
    d.mkdir()
    (d / "time.json").write_text(text if isinstance(text, str) else json.dumps(text))
    return d, "time"


def _schema(tool: int, schema):
    def m(c):
        c["tools"][tool]["inputSchema"] = schema
        return c

    return m


BAD_CATALOGS = [
    ("schema_unknown_type", _schema(0, {"type": "objekt"}), "tool 'get_current_time': invalid JSON Schema"),
    ("schema_required_not_list", _schema(1, {"type": "object", "required": "time"}),
     "tool 'convert_time': invalid JSON Schema"),
    ("schema_properties_not_object", _schema(0, {"type": "object", "properties": ["timezone"]}),
     "tool 'get_current_time': invalid JSON Schema"),
    ("schema_not_an_object", _schema(0, {"type": "string"}), "tool 'get_current_time': inputSchema must describe"),
    ("duplicate_tool", lambda c: {**c, "tools": c["tools"] + c["tools"][:1]}, "tool 'get_current_time': defined twice"),
    ("tool_without_name", lambda c: {**c, "tools": [{"description": "x"}]}, "tools.0.name: Field required"),
    ("schema_is_a_string", _schema(1, "object"),
     "tools.1.inputSchema (tool 'convert_time'): Input should be"),
    ("broken_json", lambda c: json.dumps(c)[:-10], "not valid JSON"),
    ("wrong_server_name", lambda c: {**c, "name": "git"}, "holds server 'git', expected 'time'"),
]  # fmt: skip


@pytest.mark.parametrize("case, mutate, needle", BAD_CATALOGS, ids=[c[0] for c in BAD_CATALOGS])
def test_bad_catalog(figures, tmp_path, case, mutate, needle):
    with figures.case("bad_input", "catalog", case, case.replace("_", " "), "CatalogError naming file and tool",
                      scrub=[str(tmp_path)]) as fig:  # fmt: skip
        d, name = _catalog(tmp_path, mutate)
        with pytest.raises(CatalogError) as e:
            catalogs.load_catalog(name, d)
        fig.outcome = str(e.value)
        assert needle in fig.outcome and str(d / "time.json") in fig.outcome


def test_stored_catalogs_are_valid():
    """The shipped catalogs pass the same checks (a regression here breaks every stage)."""
    assert {s.name for s in catalogs.load_catalogs()} == set(catalogs.catalog_names())


# ==========================================================================================================
# Command line: exit code 2 and one line on stderr, no traceback, no run folder

BAD_COMMANDS = [
    ("unknown_key", ["run", "{bad}"], "train:\n  lerning_rate: 0.1\n", "train.lerning_rate: unknown key"),
    ("missing_params_file", ["run", "{tmp}/nowhere.yaml"], None, "params file not found"),
    ("duplicate_key", ["check", "{bad}"], "run:\n  seed: 1\n  seed: 2\n", "duplicate key 'seed'"),
    ("bad_override", ["run", str(SMOKE), "--set", "train.max_steps=-3"], None, "--set: train.max_steps"),
    ("unknown_notebook", ["run", str(SMOKE), "--only", "09"], None, "--only: no notebook matches '09'"),
    ("unknown_upstream_run", ["run", str(SMOKE), "--upstream", "no-such-run"], None, "no run at"),
]  # fmt: skip


@pytest.mark.parametrize("case, argv, content, needle", BAD_COMMANDS, ids=[c[0] for c in BAD_COMMANDS])
def test_bad_command_line(figures, isolated_reports, capsys, case, argv, content, needle):
    tmp = isolated_reports
    bad = tmp / "bad.yaml"
    if content is not None:
        bad.write_text(content)
    argv = [a.format(bad=bad, tmp=tmp) for a in argv]
    shown = "mcpft " + " ".join(argv).replace(f"{ROOT}/", "")
    with figures.case("bad_input", "command line", case, shown,
                      "exit 2, one-line error on stderr, no run folder", scrub=[str(tmp)]) as fig:  # fmt: skip
        rc = cli.main(argv)
        err = capsys.readouterr().err
        fig.outcome = f"exit {rc}: {err.strip()}"
        assert rc == 2 and needle in err
        assert err.startswith("mcpft: error: ") and err.strip().count("\n") == 0, err
        assert not (tmp / "reports").exists()  # nothing half-written


def test_cli_subprocess_bad_params_no_traceback(figures, tmp_path):
    """The real entry point: a bad params file never shows a Python traceback."""
    f = tmp_path / "bad.yaml"
    f.write_text("train:\n  lora:\n    r: 0\n")
    with figures.case("bad_input", "command line", "subprocess_bad_params", "python -m mcpft_lib.cli run bad.yaml "
                      "(lora r: 0)", "exit 2, one line, no traceback", scrub=[str(tmp_path)]) as fig:  # fmt: skip
        r = subprocess.run([sys.executable, "-m", "mcpft_lib.cli", "run", str(f)], capture_output=True, text=True,
                           env=mcpft_env(tmp_path), timeout=120)  # fmt: skip
        fig.outcome = f"exit {r.returncode}: {r.stderr.strip()}"
        assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
        assert r.stderr.strip().count("\n") == 0 and f"{f}:3: train.lora.r" in r.stderr
        assert not (tmp_path / "reports").exists()


# ==========================================================================================================
# The figures table itself: generated from recorded results, failures shown, bad results files refused


def test_recorder_marks_failures_and_renders_them(tmp_path):
    from tests import reliability

    rec = Recorder("unit")
    with rec.case("bad_input", "params", "fine", "a | b", "ok") as c:
        c.outcome = f"{tmp_path}/x <tag>"
    with pytest.raises(AssertionError), rec.case("fault", "run", "broken", "x", "y"):
        raise AssertionError("regressed")
    with pytest.raises(ValueError, match="recorded twice"), rec.case("fault", "run", "broken", "x", "y"):
        pass
    rec.save(tmp_path)
    Recorder("unit").save(tmp_path)  # nothing recorded: the file is left alone
    page = reliability.render(reliability.load_results(tmp_path))
    assert "| Bad inputs | 1 | 1 | 0 |" in page and "| Injected faults | 1 | 0 | 1 |" in page
    assert "**FAILED**" in page and "AssertionError: regressed" in page
    assert "a \\| b" in page and "$TMP &lt;tag&gt;" in page and str(tmp_path) not in page

    more = Recorder("unit")  # a narrowed rerun merges; a whole-file run replaces
    with more.case("fault", "run", "broken", "x", "y"):
        pass
    more.save(tmp_path, replace=False)
    cases = reliability.load_results(tmp_path)[0]["cases"]
    assert cases["run/broken"]["status"] == "passed" and "params/fine" in cases
    more.save(tmp_path, replace=True)
    assert list(reliability.load_results(tmp_path)[0]["cases"]) == ["run/broken"]

    (tmp_path / "unit.json").write_text("{not json")
    with pytest.raises(ValueError, match="unit.json: not valid JSON"):
        reliability.load_results(tmp_path)


def test_committed_figures_meet_the_acceptance_lines():
    """docs/reliability.md (generated) covers >= 30 bad inputs and >= 6 faults, none failing."""
    import re

    from tests.reliability import doc_path

    page = doc_path().read_text()
    counts = {m[1]: (int(m[2]), int(m[3]), int(m[4]))
              for m in re.finditer(r"^\| (Bad inputs|Injected faults|Security checks) \| (\d+) \| (\d+) \| (\d+) \|$",
                                   page, re.M)}  # fmt: skip
    assert (
        counts["Bad inputs"][0] >= 30
        and counts["Injected faults"][0] >= 6
        and counts["Security checks"][0] >= 5
    )
    assert all(failed == 0 for _, _, failed in counts.values()), counts
    assert "do not edit by hand" in page
