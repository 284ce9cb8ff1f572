"""BFCL v4: the data read from the pinned wheel, and mcpft's checker against BFCL's official AST checker.

The official checker (`bfcl_eval/eval_checker/ast_eval/ast_checker.py`) is loaded from the wheel's own files,
with one stand-in module: `constants.model_config`, which in the package imports every provider SDK only to say
whether a model's function names have `.` replaced by `_` (here: yes, as for every function-calling model).
Every gold answer and a deterministic set of perturbed answers must get the same verdict and error type.
"""

from __future__ import annotations

import copy
import importlib
import random
import sys
from pathlib import Path

import pytest

from mcpft_lib.evaluation.bfcl import checker, source

ANSWERED = [c for c in source.CATEGORIES if not c.endswith("irrelevance")]
OFFICIAL_FILES = (
    "bfcl_eval/constants/enums.py",
    "bfcl_eval/constants/type_mappings.py",
    "bfcl_eval/eval_checker/ast_eval/ast_checker.py",
    "bfcl_eval/eval_checker/ast_eval/type_convertor/java_type_converter.py",
    "bfcl_eval/eval_checker/ast_eval/type_convertor/js_type_converter.py",
)
MODEL_CONFIG_STANDIN = """
class _FunctionCallingModel:
    underscore_to_dot = True  # the model's API forbids "." in function names: BFCL compares them as "_"


class _Every(dict):
    def __getitem__(self, name):
        return _FunctionCallingModel


MODEL_CONFIG_MAPPING = _Every()
"""


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    root = tmp_path_factory.mktemp("bfcl_official")
    for name in OFFICIAL_FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.read_member(name))
    for pkg in ("bfcl_eval", "bfcl_eval/constants", "bfcl_eval/eval_checker", "bfcl_eval/eval_checker/ast_eval",
                "bfcl_eval/eval_checker/ast_eval/type_convertor"):  # fmt: skip
        (root / pkg / "__init__.py").touch()
    (root / "bfcl_eval/constants/model_config.py").write_text(MODEL_CONFIG_STANDIN)
    sys.path.insert(0, str(root))
    try:
        ast_checker = importlib.import_module("bfcl_eval.eval_checker.ast_eval.ast_checker")
        enums = importlib.import_module("bfcl_eval.constants.enums")
    finally:
        sys.path.remove(str(root))
    yield lambda item, calls: ast_checker.ast_checker(
        item.functions, calls, item.ground_truth, enums.Language.PYTHON, item.category, "mcpft"
    )
    for name in [m for m in sys.modules if m == "bfcl_eval" or m.startswith("bfcl_eval.")]:
        del sys.modules[name]


def _first(allowed: list):
    """The first allowed value; a dict (or list of dicts) in an answer lists allowed values per key itself."""
    return _concrete(next(v for v in allowed if v != ""))


def _concrete(v):
    if type(v) is dict and all(type(x) is list for x in v.values()):
        return {k: _first(vals) for k, vals in v.items() if any(x != "" for x in vals)}
    if type(v) is list and v and all(type(x) is dict for x in v):
        return [_concrete(x) for x in v]
    return v


def gold(item: source.Item) -> list[dict]:
    """The first allowed value of every parameter that has one (an optional one left out, and one the function
    does not declare: a few answers list those), names as the model sees them."""
    calls = []
    for answer in item.ground_truth:
        (name, allowed), = answer.items()  # fmt: skip
        props = next(f for f in item.functions if f["name"] == name)["parameters"]["properties"]
        calls.append({checker.model_name(name): {p: _first(vals) for p, vals in allowed.items()
                                                 if p in props and any(v != "" for v in vals)}})  # fmt: skip
    return calls


def test_categories_and_sizes():
    sizes = {c: len(source.load_category(c)) for c in source.CATEGORIES}
    assert sizes == {"simple_python": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200,
                     "irrelevance": 240, "live_simple": 258, "live_multiple": 1053, "live_parallel": 16,
                     "live_parallel_multiple": 24, "live_irrelevance": 884}  # fmt: skip
    assert sum(sizes[c] for c in source.NON_LIVE) == 1240
    item = source.load_category("parallel")[0]
    assert item.messages[-1]["role"] == "user" and len(item.ground_truth) == 2


def test_a_changed_wheel_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPFT_CACHE", str(tmp_path))
    (tmp_path / "bfcl").mkdir()
    (tmp_path / "bfcl" / source.WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(source.BFCLSourceError, match="sha256"):
        source.wheel_path()
    with pytest.raises(source.BFCLSourceError, match="unknown BFCL category 'simple'"):
        source.load_category("simple")


def _verdict(v: dict) -> tuple[bool, str | None]:
    return bool(v["valid"]), (None if v["valid"] else v.get("error_type"))


@pytest.mark.slow
def test_every_gold_answer_gets_the_official_verdict(official):
    """Gold answers pass both checkers, except five entries whose answer cannot pass as written (a required
    parameter with no allowed value, an answer parameter the function does not declare): the official checker
    rejects those too, with the same error."""
    verdicts = {}
    for category in ANSWERED:
        for item in source.load_category(category):
            calls = gold(item)
            ours = _verdict(checker.check(category, item.functions, calls, item.ground_truth))
            assert ours == _verdict(official(item, calls)), item.id
            verdicts[item.id] = ours
    assert len(verdicts) == 2351
    rejected = {k: v for k, v in verdicts.items() if not v[0]}
    assert len(rejected) == 5  # answers that omit a required parameter, or list one the function lacks
    assert {t for _, t in rejected.values()} <= {"simple_function_checker:missing_required",
                                                  "simple_function_checker:missing_optional"}  # fmt: skip


# ------------------------------------------------------------------------------------------- perturbations


def _string_variants(s: str) -> list[str]:
    return [s + ".", s.replace(" ", ""), s.replace(" ", "_"), s.replace(" ", "-"), s.upper(), s.replace(",", ""),
            s + "!", "x" + s, s.replace("'", '"'), s[:-1] if len(s) > 1 else s + "y"]  # fmt: skip


def _value_variants(v, r: random.Random) -> list:
    out: list = [None, "", str(v)]
    if type(v) is bool:
        out += [not v, int(v), str(v).lower()]
    elif type(v) is int:
        out += [v + 1, float(v), -v, str(v), True]
    elif type(v) is float:
        out += [v + 0.5, int(v), round(v), str(v)]
    elif type(v) is str:
        out += _string_variants(v)
    elif type(v) is list:
        out += [
            list(reversed(v)),
            v[:-1],
            v + v[:1],
            [str(x) for x in v],
            [float(x) if type(x) is int else x for x in v],
        ]
        if v and type(v[0]) is str:
            out.append([x + "." for x in v])
        if v and type(v[0]) is dict:
            out.append([{**d, "extra": 1} for d in v])
    elif type(v) is dict:
        out += [{**v, "extra_key": 1}, {k: val for k, val in list(v.items())[1:]}]
        out += [{k: (val.lower() + " " if type(val) is str else val) for k, val in v.items()}]
        out += [{k: (val.upper() if type(val) is str else val) for k, val in v.items()}]
    return out + [r.choice([0, 1.5, "abc", [], {}, [1, 2]])]


def perturbations(item: source.Item, r: random.Random) -> list[list[dict]]:
    """One change at a time: each parameter's value varied, dropped, renamed; an extra parameter; the function
    renamed; a call added, removed, duplicated or the calls reordered; an allowed alternative value."""
    base = gold(item)
    out: list[list[dict]] = []
    for k, call in enumerate(base):
        (name, params), = call.items()  # fmt: skip
        answer = next(iter(item.ground_truth[k].values()))
        for p, v in params.items():
            for nv in _value_variants(v, r):
                c = copy.deepcopy(base)
                c[k][name][p] = nv
                out.append(c)
            c = copy.deepcopy(base)
            del c[k][name][p]
            out.append(c)
            c = copy.deepcopy(base)
            c[k][name][p + "_x"] = c[k][name].pop(p)
            out.append(c)
            for alt in answer.get(p, [])[1:3]:  # another allowed value (or "" = leave it out)
                c = copy.deepcopy(base)
                if alt == "":
                    del c[k][name][p]
                else:
                    c[k][name][p] = _concrete(alt)
                out.append(c)
        for p, vals in answer.items():  # an optional parameter given after all
            if p not in params and vals == [""]:
                c = copy.deepcopy(base)
                c[k][name][p] = "something"
                out.append(c)
        c = copy.deepcopy(base)
        c[k][name]["unexpected_param"] = 1
        out.append(c)
        c = copy.deepcopy(base)
        c[k] = {name + "_v2": params}
        out.append(c)
        c = copy.deepcopy(base)
        c[k] = {name.replace("_", "."): params}
        out.append(c)
    out.append(base + base[:1])
    out.append(base[1:])
    out.append(list(reversed(base)))
    out.append([])
    return out


@pytest.mark.slow
def test_perturbed_answers_get_the_official_verdict(official):
    r = random.Random(0)
    n, disagree, verdicts = 0, [], set()
    for category in ANSWERED:
        for item in source.load_category(category):
            for calls in perturbations(item, r):
                ours = _verdict(checker.check(category, item.functions, calls, item.ground_truth))
                try:
                    theirs = _verdict(official(item, calls))
                except Exception as e:  # the official checker crashes on some malformed values
                    theirs = ("crash", type(e).__name__)
                    try:
                        checker.check(category, item.functions, calls, item.ground_truth)
                        ours = ("no crash", None)
                    except Exception as e2:
                        ours = ("crash", type(e2).__name__)
                n += 1
                verdicts.add(theirs)
                if ours != theirs:
                    disagree.append((item.id, calls, ours, theirs))
    assert not disagree, f"{len(disagree)} of {n} disagree, e.g. {disagree[:3]}"
    assert n > 150_000  # 152,862 answers: every parameter of every gold call varied, dropped, renamed, ...
    kinds = {t for ok, t in verdicts if ok is False}  # the perturbations exercise the checker's error types
    assert {"value_error:string", "type_error:simple", "simple_function_checker:missing_required",
            "simple_function_checker:unexpected_param", "value_error:list/tuple", "value_error:dict_value",
            "parallel_function_checker_no_order:wrong_count", "multiple_function_checker:wrong_count",
            "simple_function_checker:wrong_func_name"} <= kinds  # fmt: skip


def test_irrelevance_is_right_only_without_a_call():
    item = source.load_category("irrelevance")[0]
    name = checker.model_name(item.functions[0]["name"])
    assert checker.check("irrelevance", item.functions, [], [])["valid"]
    assert checker.check("irrelevance", item.functions, [{}], [])["valid"]
    assert checker.check("irrelevance", item.functions, "no call: the weather is unknown", [])["valid"]
    wrong = checker.check("irrelevance", item.functions, [{name: {}}], [])
    assert not wrong["valid"] and wrong["error_type"] == "irrelevance_error:decoder_success"


def test_bfcl_string_rules():
    assert checker.standardize("April 1, 2024") == checker.standardize("april 1 2024") == "april12024"
    assert checker.standardize("New_York-City") == "newyorkcity"
    assert checker.model_name("math.factorial") == "math_factorial"


# ------------------------------------------------------------------------------------- prompts and the bench


def test_every_entry_converts_to_a_valid_mcp_server_in_both_dialects():
    import jsonschema

    from mcpft_lib.evaluation.bfcl import convert

    for category in source.CATEGORIES:
        for item in source.load_category(category):
            server = convert.to_server(item)
            assert [t.name for t in server.tools] == [checker.model_name(f["name"]) for f in item.functions]
            for tool in server.tools:
                jsonschema.Draft202012Validator.check_schema(tool.inputSchema)
            for dialect in ("xml", "native"):
                chat = convert.prompt(item, dialect)
                assert chat[-1]["role"] == "user" and item.messages[-1]["content"] in chat[-1]["content"]


def test_schema_conversion_keeps_what_the_model_needs():
    from mcpft_lib.evaluation.bfcl import convert

    schema = convert.json_schema({"type": "dict", "required": ["a"], "properties": {
        "a": {"type": "float", "description": "in metres"},
        "b": {"type": "tuple", "items": {"type": "integer"}},
        "c": {"type": "any", "description": "anything"},
        "d": {"type": "dict", "properties": {"e": {"type": "string", "enum": ["x", "y"], "default": "x"}}}}})  # fmt: skip
    assert schema == {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "number", "description": "in metres"},
        "b": {"type": "array", "items": {"type": "integer"}},
        "c": {"description": "anything"},
        "d": {"type": "object", "properties": {"e": {"type": "string", "enum": ["x", "y"], "default": "x"}}}}}  # fmt: skip
    with pytest.raises(ValueError, match="no JSON Schema equivalent"):
        convert.json_schema({"type": "HashMap"})


def test_system_messages_go_before_the_user_turn():
    from mcpft_lib.evaluation.bfcl import convert

    item = next(it for it in source.load_category("live_simple") if it.messages[0]["role"] == "system")
    ex = convert.to_example(item)
    assert ex.messages[0].role == "user" and ex.messages[0].content.startswith(item.messages[0]["content"])


def test_replies_are_parsed_in_the_dialect_and_scored_by_bfcl_rules():
    from mcpft_lib.evaluation.bfcl import bench

    item = source.load_category("simple_python")[0]  # calculate_triangle_area(base=10, height=5)
    right = ('<use_mcp_tool>\n<server_name>bfcl</server_name>\n<tool_name>calculate_triangle_area</tool_name>\n'
             '<arguments>\n{"base": 10, "height": 5, "unit": "units"}\n</arguments>\n</use_mcp_tool>')  # fmt: skip
    wrong_type = right.replace('"base": 10', '"base": 10.0')
    text = "The area is 25 square units."
    broken = right.replace("</arguments>", "")
    recs = bench.score([item] * 4, [right, wrong_type, text, broken], "xml")
    assert [(r["ok"], r["reason"]) for r in recs] == [
        (True, None),
        (False, "type_error:simple"),
        (False, "simple_function_checker:wrong_count"),
        (False, "ast_decoder:decoder_wrong_output_format"),
    ]
    assert recs[0]["calls"] == [{"calculate_triangle_area": {"base": 10, "height": 5, "unit": "units"}}]
    summary = bench.summarize(recs)
    assert summary["simple_python"]["value"] == 0.25 and summary["all"]["n"] == 4


def test_two_native_calls_answer_a_parallel_entry():
    from mcpft_lib.evaluation.bfcl import bench

    item = source.load_category("parallel")[0]  # spotify.play twice
    calls = [{"name": "bfcl__spotify_play", "arguments": {"artist": "Maroon 5", "duration": 15}},
             {"name": "bfcl__spotify_play", "arguments": {"artist": "Taylor Swift", "duration": 20}}]  # fmt: skip
    import json

    reply = "".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)
    (rec,) = bench.score([item], [reply], "native")
    assert rec["ok"], rec


def test_sample_is_seeded_and_per_category():
    from mcpft_lib.evaluation.bfcl import bench

    a = bench.sample(["simple_python", "irrelevance"], 5, seed=1)
    assert [it.id for it in a] == [it.id for it in bench.sample(["simple_python", "irrelevance"], 5, seed=1)]
    assert [it.category for it in a] == ["simple_python"] * 5 + ["irrelevance"] * 5
    assert [it.id for it in a] != [it.id for it in bench.sample(["simple_python", "irrelevance"], 5, seed=2)]


@pytest.mark.slow
def test_bench_answers_scores_and_writes_records(tmp_path, capsys):
    """`mcpft bench bfcl` end to end on the smoke profile's tiny model: every record has BFCL's fields."""
    import json

    from mcpft_lib.cli import main

    out = tmp_path / "bfcl.json"
    smoke = str(Path(__file__).resolve().parent.parent / "params" / "smoke.yaml")
    assert main(["bench", "bfcl", smoke, "--categories", "simple_python,parallel,irrelevance", "--per-category",
                 "2", "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    assert result["bfcl_eval"] == source.VERSION and result["model"] == "base"
    assert [r["category"] for r in result["records"]] == ["simple_python"] * 2 + ["parallel"] * 2 + [
        "irrelevance"
    ] * 2
    assert all({"id", "category", "raw", "calls", "ok", "reason"} <= set(r) for r in result["records"])
    assert set(result["summary"]) == {"simple_python", "parallel", "irrelevance", "all"}
    assert result["summary"]["all"]["n"] == 6
    capsys.readouterr()
    assert main(["bench", "bfcl", smoke, "--categories", "simple"]) == 2  # a clear error, nothing loaded
    assert "--categories: unknown ['simple']" in capsys.readouterr().err
    assert main(["bench", "bfcl", smoke, "--model", "fine_tuned", "--categories", "irrelevance"]) == 2
    assert "needs --run RUN_ID" in capsys.readouterr().err


def test_two_bench_files_are_compared_on_the_entries_both_answered(tmp_path, capsys):
    import json

    from mcpft_lib.cli import main

    def rec(i, cat, ok):
        return {"id": f"{cat}_{i}", "category": cat, "raw": "", "calls": [], "ok": ok, "reason": None}

    a = [rec(i, "simple_python", False) for i in range(8)] + [rec(0, "irrelevance", True)]
    b = [rec(i, "simple_python", i < 7) for i in range(8)] + [
        rec(9, "irrelevance", True)
    ]  # irrelevance unpaired
    for name, recs in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps({"model": name, "model_id": "m", "records": recs}))
    assert main(["bench", "bfcl", "params/smoke.yaml", "--compare", str(tmp_path / "a.json"),
                 str(tmp_path / "b.json")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "8 entries answered by both" in out and "irrelevance" not in out
    row = next(line for line in out.splitlines() if line.startswith("simple_python"))
    assert (
        "0.000 [0.000, 0.000]" in row and "0.875" in row and row.split()[-1] == "0.0156"
    )  # 7 discordant: 2/2^7
    (tmp_path / "c.json").write_text(json.dumps({"records": [rec(5, "multiple", True)]}))
    assert main(["bench", "bfcl", "params/smoke.yaml", "--compare", str(tmp_path / "a.json"),
                 str(tmp_path / "c.json")]) == 2  # fmt: skip
    assert "share no BFCL entry" in capsys.readouterr().err


def test_without_the_data_the_report_says_why(monkeypatch):
    """Offline with no cached wheel, notebook 04 records why BFCL is missing instead of failing the run."""
    from mcpft_lib.config import load_params
    from mcpft_lib.evaluation.bfcl import bench

    def offline(download=True):
        raise source.BFCLSourceError("could not download bfcl-eval==2026.3.23 (needs PyPI or your pip index)")

    monkeypatch.setattr(source, "wheel_path", offline)
    p = load_params(Path(__file__).resolve().parent.parent / "params" / "smoke.yaml")
    rec = bench.report_record({"base": p.model}, p)
    assert rec == {"skipped": "could not download bfcl-eval==2026.3.23 (needs PyPI or your pip index)"}
