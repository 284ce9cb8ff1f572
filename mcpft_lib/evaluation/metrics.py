"""Metrics per assistant turn (docs/evaluation.md): format, tool selection, schema validity, BFCL-style argument
match, clarifying questions and answer text. Live execution fills `executed_ok` / `exec_match`
(`evaluation.runner`, `mcp.live`); intervals and paired tests are in `evaluation.stats`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date, datetime
from typing import Any

from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message
from mcpft_lib.evaluation.bfcl.checker import standardize
from mcpft_lib.evaluation.handwritten import MATCH_RULES
from mcpft_lib.evaluation.items import NO_SERVER
from mcpft_lib.mcp import dialects

METRICS = (
    "well_formed",  # the turn parses; where no call is expected, no broken call markup
    "call_well_formed",  # the rate of well-formed calls, over turns that expect one
    "tool_selection",  # server and tool as in the reference ("no call" where none is expected)
    "schema_valid",  # arguments validate against the tool's inputSchema
    "args_match",  # BFCL-style argument match (see args_match)
    "executed_ok",  # the call ran on a live server without isError (where the reference's server runs)
    "exec_match",  # ... and returned what the reference call returns and left the same state (BFCL's checks)
    "clarifies",  # question turns: asks back, naming what is missing
    "answer_f1",  # answer turns: token F1 against the reference answer
    "answer_rouge_l",  # answer turns: ROUGE-L F1 against the reference answer
    "no_call_ok",  # turns that expect no call: none made, no broken markup, some text (answer or question)
    "unexpected_call",  # turns that expect no call: a call was made (the call rate there; lower is better)
    "hallucinated_tool",  # turns with a call: its tool exists in no offered server (lower is better)
)

LOWER_IS_BETTER = ("unexpected_call", "hallucinated_tool")

# the metrics of a call the model card and the report's performance table show
CALL_METRICS = (
    "well_formed",
    "call_well_formed",
    "tool_selection",
    "schema_valid",
    "args_match",
    "executed_ok",
    "exec_match",
)


_STOP = frozenset(
    "a an and are as at be but by can could do does for from have how i if in is it me my of on or please "
    "should so that the this to what which who whom whose why will with would you your".split()
)

_WORD = re.compile(r"\w+", re.UNICODE)

MAX_TEXT_TOKENS = 1000  # text metrics look at this many tokens of each side (bounded work on hostile output)


def _norm(v: Any) -> Any:
    """Normalised value for comparison: strings NFKC, case-folded, whitespace collapsed; 5 == 5.0; bools apart."""
    if isinstance(v, bool):  # True == 1 in Python; a boolean argument must stay a boolean
        return ("bool", v)
    if isinstance(v, str):
        return " ".join(unicodedata.normalize("NFKC", v).casefold().split())
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),  # an int is a number
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def type_ok(value: Any, schema: dict) -> bool:
    """Does `value` have a type the property schema allows (BFCL: int accepted for number; unknown: yes)?"""
    t = schema.get("type") if isinstance(schema, dict) else None
    if t is None:
        options = (
            [s for k in ("anyOf", "oneOf") for s in (schema.get(k) or [])] if isinstance(schema, dict) else []
        )
        return not options or any(type_ok(value, s) for s in options if isinstance(s, dict))
    return any(_TYPES.get(x, lambda _v: True)(value) for x in (t if isinstance(t, list) else [t]))


def _for_turn(meta_value: Any, turn: int | None) -> Any:
    """`meta[key]` is either one value for every turn or {"<turn>": value, "*": default}."""
    if isinstance(meta_value, dict) and any(k == "*" or k.isdigit() for k in meta_value):
        return meta_value.get(str(turn), meta_value.get("*"))
    return meta_value


def args_match(
    got: dict[str, Any],
    want: dict[str, Any],
    schema: dict | None = None,
    alternatives: dict | None = None,
    rules: dict[str, str] | None = None,
) -> tuple[bool, str]:
    """BFCL-style argument check; returns (match, reason).

    Rules, in order: every `required` parameter present (`missing_required`); no parameter outside the schema's
    properties or outside the reference, its alternatives and its rules (`unexpected_param`); each value of a
    type the schema allows (`type`); each value equal to the reference's after normalisation, or to one of the
    alternatives (`value`); an optional parameter of the reference left out only when its alternatives hold
    `None` (`missing_optional`). `alternatives` maps a parameter to a list of other accepted values.

    `rules` maps a parameter to how its value is compared (`handwritten.MATCH_RULES`; default "exact"):
    "text" also applies BFCL's string normalisation, "datetime" compares ISO dates and times by what they
    denote, "any" accepts any value of an allowed type (and, for a parameter the reference lacks, its absence).
    A rule or alternative on `outer.inner` checks the object `outer` with these same rules, one level down.
    """
    schema = schema or {}
    props = schema.get("properties") or {}
    alts = alternatives or {}
    rules = rules or {}
    for r in schema.get("required") or []:
        if r not in got:
            return False, f"missing_required:{r}"
    for k in got:
        if (props and k not in props) or (k not in want and k not in alts and k not in rules):
            return False, f"unexpected_param:{k}"
    for k, v in got.items():
        if k in props and not type_ok(v, props[k]):
            return False, f"type:{k}"
        sub_rules, sub_alts = _below(rules, k), _below(alts, k)
        if (sub_rules or sub_alts) and isinstance(v, dict) and isinstance(want.get(k), dict):
            sub_schema = props.get(k) if isinstance(props.get(k), dict) else {}
            ok, why = args_match(v, want[k], sub_schema, sub_alts, sub_rules)
            if not ok:
                kind, _, param = why.partition(":")
                return False, f"{kind}:{k}.{param}"
            continue
        rule = rules.get(k, "exact")
        if rule not in MATCH_RULES:
            raise ValueError(f"unknown match rule {rule!r} for {k!r}; known: {list(MATCH_RULES)}")
        if rule == "any":
            continue
        allowed = ([want[k]] if k in want else []) + [a for a in alts.get(k, []) if a is not None]
        if not any(_same(v, a, rule) for a in allowed):
            return False, f"value:{k}"
    for k in want:
        if k not in got and None not in alts.get(k, []):
            return False, f"missing_optional:{k}"
    return True, "ok"


def _below(spec: dict, key: str) -> dict:
    """The entries of a rules/alternatives mapping under `key.` (dotted names), one level down."""
    return {name[len(key) + 1 :]: v for name, v in spec.items() if name.startswith(f"{key}.")}


def _same(got: Any, want: Any, rule: str) -> bool:
    """Is `got` the reference value `want` under a match rule ("exact", "text", "datetime")?"""
    if _norm(got) == _norm(want):
        return True
    if not (isinstance(got, str) and isinstance(want, str)):
        return False
    if rule == "text":
        return standardize(_norm(got)) == standardize(_norm(want))
    if rule == "datetime":
        g, w = _when(got), _when(want)
        if g is None or w is None:
            return False
        if isinstance(w, date) and not isinstance(w, datetime):  # a day: any time of that day
            return (g.date() if isinstance(g, datetime) else g) == w
        if not isinstance(g, datetime):
            return False
        if (g.tzinfo is None) != (w.tzinfo is None):  # one names a zone, the other not: the wall clock
            g, w = g.replace(tzinfo=None), w.replace(tzinfo=None)
        return g == w
    return False


def _when(text: str) -> date | datetime | None:
    """An ISO 8601 date or date-time (`Z`, offsets, `T` or space, seconds optional), or None."""
    t = text.strip()
    try:
        return date.fromisoformat(t) if len(t) == 10 else datetime.fromisoformat(t)
    except ValueError:
        return None


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (at most MAX_TEXT_TOKENS)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").casefold()[: MAX_TEXT_TOKENS * 30])[
        :MAX_TEXT_TOKENS
    ]


def token_f1(pred: str, ref: str) -> float:
    """SQuAD-style token F1 between two texts (both empty: 1.0)."""
    p, r = tokens(pred), tokens(ref)
    if not p or not r:
        return float(p == r)
    overlap = sum((Counter(p) & Counter(r)).values())
    if not overlap:
        return 0.0
    prec, rec = overlap / len(p), overlap / len(r)
    return 2 * prec * rec / (prec + rec)


def rouge_l(pred: str, ref: str) -> float:
    """ROUGE-L F1 (longest common token subsequence) between two texts (both empty: 1.0)."""
    p, r = tokens(pred), tokens(ref)
    if not p or not r:
        return float(p == r)
    prev = [0] * (len(r) + 1)
    for x in p:
        cur = [0]
        for j, y in enumerate(r):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if not lcs:
        return 0.0
    prec, rec = lcs / len(p), lcs / len(r)
    return 2 * prec * rec / (prec + rec)


def is_question(msg: Message) -> bool:
    """A reference turn that asks the user something (no call, and a question mark)."""
    return not msg.calls and "?" in msg.content


def slot_keywords(ref: Message, ex: Example, turn: int | None = None) -> list[str]:
    """What a clarifying question should ask about: `meta["missing"]` if given, else the reference's content words."""
    given = _for_turn(ex.meta.get("missing"), turn)
    if given:
        return [str(w).casefold() for w in ([given] if isinstance(given, str) else given)]
    return [w for w in dict.fromkeys(tokens(ref.content)) if w not in _STOP and len(w) > 2]


def clarifies(pred_text: str, n_calls: int, ref: Message, ex: Example, turn: int | None = None) -> bool:
    """A clarifying question: no call, a question mark, and at least one missing-slot keyword mentioned."""
    if n_calls or "?" not in pred_text:
        return False
    words = set(tokens(pred_text))
    text = " ".join(tokens(pred_text))
    return any((k in words) if " " not in k else (k in text) for k in slot_keywords(ref, ex, turn))


def acceptable_calls(ref: Message, ex: Example, turn: int | None = None) -> list[dict]:
    """The calls accepted at a call turn: `meta["acceptable"]` where the row lists them (the hand-written set:
    `{server, tool, arguments, match?, alternatives?}`, per turn or for every turn), else the reference's
    first call with `meta["alternatives"]`."""
    listed = _for_turn(ex.meta.get("acceptable"), turn)
    if listed:
        return list(listed)
    want = ref.calls[0]
    alts = _for_turn(ex.meta.get("alternatives"), turn) or {}
    return [{"server": want.server, "tool": want.tool, "arguments": want.arguments, "alternatives": alts}]


def _offered(ex: Example, tool: str) -> bool:
    """Does any offered server have a tool of this name (a resource read counts as offered)?"""
    return tool == RESOURCE_TOOL or any(s.tool(tool) is not None for s in ex.servers)


def score_turn(pred: str, ref: Message, ex: Example, dialect: str = "xml", turn: int | None = None) -> dict:
    """Score one generated assistant turn against the reference (docs/evaluation.md).

    Call turns: well-formed, tool selection among the accepted calls (`acceptable_calls`; a miss has a
    reason: no_call, hallucinated_tool, wrong_server, wrong_tool), schema validity, BFCL-style argument match
    against the accepted calls of the chosen tool (reason as in `args_match`); `executed_ok` is filled by live
    execution. No-call turns: no broken markup, no call (`no_call_ok`, `unexpected_call`); a question turn is
    scored by `clarifies`, an answer by token F1 and ROUGE-L against the reference. Any turn with a call:
    `hallucinated_tool` when its tool exists in no offered server.
    """
    import jsonschema

    parsed = dialects.parse_turn(pred, dialect)
    expect_call = bool(ref.calls)
    out: dict[str, Any] = {m: None for m in METRICS}
    out.update(
        expected_call=expect_call,
        n_pred_calls=len(parsed.calls),
        pred_call=parsed.calls[0].model_dump(mode="json") if parsed.calls else None,
        server=ref.calls[0].server if expect_call else NO_SERVER,
        selection_reason="ok",
        args_reason=None,
    )
    if parsed.calls:
        out["hallucinated_tool"] = not _offered(ex, parsed.calls[0].tool)
    if not expect_call:
        out["well_formed"] = not parsed.has_markup or parsed.well_formed
        out["tool_selection"] = not parsed.calls
        out["unexpected_call"] = bool(parsed.calls)
        out["no_call_ok"] = out["tool_selection"] and out["well_formed"] and bool(parsed.text.strip())
        if parsed.calls:
            out["selection_reason"] = "unexpected_call"
        if is_question(ref):
            out["clarifies"] = clarifies(parsed.text, len(parsed.calls), ref, ex, turn)
        else:
            out["answer_f1"] = token_f1(parsed.text, ref.content)
            out["answer_rouge_l"] = rouge_l(parsed.text, ref.content)
        return out
    out["well_formed"] = out["call_well_formed"] = parsed.well_formed and bool(parsed.calls)
    if not parsed.calls:
        out.update(tool_selection=False, schema_valid=False, args_match=False)
        out.update(selection_reason="no_call", args_reason="no_call")
        return out
    got = parsed.calls[0]
    accepted = acceptable_calls(ref, ex, turn)
    server = ex.server(got.server)
    tool = server.tool(got.tool) if server else None
    same_tool = [a for a in accepted if (a["server"], a["tool"]) == (got.server, got.tool)]
    out["tool_selection"] = bool(same_tool)
    if not same_tool:
        hallucinated = tool is None and not (server and got.tool == RESOURCE_TOOL)
        out["selection_reason"] = (
            "hallucinated_tool"
            if hallucinated
            else "wrong_server"
            if got.tool in {a["tool"] for a in accepted}
            else "wrong_tool"
        )
    if got.tool == RESOURCE_TOOL:
        out["schema_valid"] = server is not None and isinstance(got.arguments.get("uri"), str)
        schema = {"type": "object", "properties": {"uri": {"type": "string"}}, "required": ["uri"]}
    elif tool is None:
        out["schema_valid"], schema = False, {}
    else:
        schema = tool.inputSchema
        try:
            jsonschema.validate(got.arguments, schema)
            out["schema_valid"] = True
        except jsonschema.ValidationError:
            out["schema_valid"] = False
        except jsonschema.SchemaError:
            out["schema_valid"] = None
    if same_tool:
        verdicts = [
            args_match(got.arguments, a["arguments"], schema, a.get("alternatives"), a.get("match"))
            for a in same_tool
        ]
        out["args_match"], out["args_reason"] = next((v for v in verdicts if v[0]), verdicts[0])
    else:
        out["args_match"], out["args_reason"] = False, "wrong_tool"
    return out
