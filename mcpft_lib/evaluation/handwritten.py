"""The hand-written eval set: requests typed as developers type them, over real MCP servers never trained on.

`data/handwritten.jsonl` holds one user turn per line in the `Example` format, except that each offered
server is written as `{"name": NAME}` and is filled in from its harvested catalog,
`data/handwritten/catalogs/NAME.json` (the real `tools/list` of a published server, at an exact version). The
row's `meta` says what the right answer is (docs/evaluation.md, "The hand-written set"):

- `expect: "call"`: `acceptable` lists every correct call, the reference (the assistant message's call)
  first; each is `{server, tool, arguments, match?, alternatives?}`. `match` maps a parameter (a nested one
  as `outer.inner`) to a rule of `MATCH_RULES`; `alternatives` maps a parameter to other accepted values
  (`null`: it may be left out). Scored by `metrics.args_match`.
- `expect: "no_call"`: no offered tool serves the request; `tempting` names the `server.tool` that looks
  right and is not. The right answer is text.
- `expect: "clarify"`: a required value is missing; `missing` lists the words a clarifying question names.

A line whose servers, calls, arguments or match rules do not fit the catalogs is quarantined with the
reason, like any bad line (`data.validate`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mcpft_lib.core.schema import Example, Server, ToolCall
from mcpft_lib.data import validate
from mcpft_lib.data.generate import call_errors
from mcpft_lib.runs import project_root

# how an argument of an acceptable call is compared (metrics.args_match); "exact" is the default
MATCH_RULES = (
    "exact",  # equal after the project's normalisation: NFKC, case-folded, whitespace collapsed; 5 == 5.0
    "text",  # strings equal after BFCL's normalisation too (spaces and , . / - _ * ^ removed)
    "datetime",  # ISO 8601 dates / date-times that denote the same day or moment, in any ISO form
    "any",  # any value of a type the schema allows (a parameter absent from `arguments`: may be left out)
)
EXPECTS = ("call", "no_call", "clarify")


def handwritten_path() -> Path:
    """The committed hand-written eval set, data/handwritten.jsonl in the checkout."""
    return project_root() / "data" / "handwritten.jsonl"


def catalogs_dir() -> Path:
    """The harvested catalogs of its servers, data/handwritten/catalogs/ in the checkout."""
    return project_root() / "data" / "handwritten" / "catalogs"


def load_catalogs(folder: str | Path | None = None) -> dict[str, Server]:
    """Every `NAME.json` of the folder as a Server (its name must be NAME); errors name the file."""
    out: dict[str, Server] = {}
    for path in sorted(Path(folder or catalogs_dir()).glob("*.json")):
        try:
            server = Server.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as e:
            raise ValueError(f"{path}: not a Server catalog: {e}") from e
        if server.name != path.stem:
            raise ValueError(f"{path}: server name {server.name!r} differs from the file name")
        if not server.package or not server.version:
            raise ValueError(f"{path}: package and exact version are required")
        out[server.name] = server
    return out


def load_handwritten(
    path: str | Path | None = None, catalogs: dict[str, Server] | str | Path | None = None
) -> tuple[list[Example], list[dict[str, Any]]]:
    """Rows of the hand-written set with their servers filled in from the catalogs, and the quarantine
    ({line, reason, raw}) of every line that is not valid JSON, not an Example, or whose reference does not
    fit its tools (`reference_errors`)."""
    path = Path(path or handwritten_path())
    if not isinstance(catalogs, dict):
        catalogs = load_catalogs(catalogs)
    if not path.is_file():
        raise FileNotFoundError(f"hand-written eval set: no file {path}")
    good: list[Example] = []
    bad: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            obj["servers"] = [_server(stub, catalogs) for stub in obj.get("servers") or []]
            ex = Example.model_validate(obj)
        except (ValueError, TypeError, AttributeError) as e:  # JSON, stub and pydantic errors
            bad.append({"line": n, "reason": f"{type(e).__name__}: {str(e)[:300]}", "raw": raw[:500]})
            continue
        reasons = validate.admit(ex, seen) + reference_errors(ex)
        if reasons:
            seen.discard(ex.id)
            bad.append({"line": n, "reason": "; ".join(reasons), "raw": raw[:500]})
            continue
        good.append(ex)
    return good, bad


def _server(stub: Any, catalogs: dict[str, Server]) -> dict:
    if not isinstance(stub, dict) or set(stub) != {"name"}:
        raise ValueError(f"a server must be written as {{'name': NAME}}, got {stub!r}")
    if stub["name"] not in catalogs:
        raise ValueError(f"no catalog for server {stub['name']!r}; known: {sorted(catalogs)}")
    return catalogs[stub["name"]].model_dump(mode="json")


def reference_errors(ex: Example) -> list[str]:
    """Why a row's reference does not fit its offered tools (empty: it fits)."""
    meta, msgs = ex.meta, ex.messages
    expect = meta.get("expect")
    if expect not in EXPECTS:
        return [f"meta.expect must be one of {list(EXPECTS)}, got {expect!r}"]
    if len(msgs) != 2 or [m.role for m in msgs] != ["user", "assistant"]:
        return ["a row is one user turn and one reference assistant turn"]
    ref = msgs[1]
    if expect != "call":
        errs = [] if not ref.calls else [f"a {expect} row's reference makes a call"]
        if expect == "no_call":
            tempting = str(meta.get("tempting", ""))
            server, _, tool = tempting.partition(".")
            if not ex.server(server) or not ex.server(server).tool(tool):
                errs.append(f"meta.tempting {tempting!r} is no offered server.tool")
        elif not meta.get("missing") or "?" not in ref.content:
            errs.append("a clarify row asks a question and lists meta.missing")
        return errs
    acceptable = meta.get("acceptable")
    if not isinstance(acceptable, list) or not acceptable:
        return ["meta.acceptable must list the accepted calls"]
    if len(ref.calls) != 1:
        return ["the reference turn of a call row makes exactly one call"]
    errs: list[str] = []
    for k, alt in enumerate(acceptable):
        errs += [f"acceptable[{k}]: {e}" for e in _acceptable_errors(ex, alt)]
    first = acceptable[0] if isinstance(acceptable[0], dict) else {}
    if {k: first.get(k) for k in ("server", "tool", "arguments")} != ref.calls[0].model_dump(mode="json"):
        errs.append("acceptable[0] must be the reference call")
    return errs


def _acceptable_errors(ex: Example, alt: Any) -> list[str]:
    if not isinstance(alt, dict) or not {"server", "tool", "arguments"} <= set(alt):
        return ["an accepted call is {server, tool, arguments, match?, alternatives?}"]
    if unknown := set(alt) - {"server", "tool", "arguments", "match", "alternatives"}:
        return [f"unknown keys {sorted(unknown)}"]
    try:
        call = ToolCall(server=alt["server"], tool=alt["tool"], arguments=alt["arguments"])
    except ValidationError as e:
        return [f"not a call: {e.errors()[0]['msg']}"]
    errs = call_errors(ex.server(call.server), call)
    if errs:
        return errs
    schema = ex.server(call.server).tool(call.tool).inputSchema
    for param, rule in (alt.get("match") or {}).items():
        if rule not in MATCH_RULES:
            errs.append(f"match rule {rule!r} of {param!r} is not one of {list(MATCH_RULES)}")
        if _property(schema, param) is None:
            errs.append(f"match names {param!r}, which {call.tool} does not have")
    for param, values in (alt.get("alternatives") or {}).items():
        if _property(schema, param) is None or not isinstance(values, list):
            errs.append(f"alternatives of {param!r}: a parameter of {call.tool}, with a list of values")
            continue
        for v in values:
            args = _replace(call.arguments, param, v)
            errs += [
                f"alternative {param}={v!r}: {e}"
                for e in call_errors(ex.server(call.server), call.model_copy(update={"arguments": args}))
            ]
    return errs


def _property(schema: dict, dotted: str) -> dict | None:
    """The property schema a dotted parameter name (`outer.inner`) points to, or None."""
    for part in dotted.split("."):
        props = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(props, dict) or part not in props:
            return None
        schema = props[part]
    return schema if isinstance(schema, dict) else {}


def _replace(args: dict, dotted: str, value: Any) -> dict:
    """A copy of `args` with the dotted parameter set to `value` (None: removed)."""
    head, _, rest = dotted.partition(".")
    out = dict(args)
    if rest:
        out[head] = _replace(out.get(head) or {}, rest, value)
    elif value is None:
        out.pop(head, None)
    else:
        out[head] = value
    return out
