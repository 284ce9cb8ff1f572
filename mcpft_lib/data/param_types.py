"""Function parameters of public datasets as JSON Schema: Python-style type names (`str`, `List[int]`,
`Optional[str]`, `str, optional`, `Dict[str, Any]`) and xLAM's flat `{name: {type, description, default}}` maps
become the `inputSchema` of an imported tool (`importers`)."""

from __future__ import annotations

import re
from typing import Any

from mcpft_lib.mcp.lenient_json import loads_lenient


class RowError(ValueError):
    """One row cannot be converted; the message is its quarantine reason."""


_JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}

_SCALARS = {
    "str": "string",
    "string": "string",
    "text": "string",
    "char": "string",
    "date": "string",
    "datetime": "string",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "number": "number",
    "decimal": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "none": "null",
    "null": "null",
    "nonetype": "null",
}

_ARRAYS = {"list", "array", "tuple", "set", "sequence", "iterable"}

_OBJECTS = {"dict", "object", "mapping", "map", "json"}


def _split_top(s: str, sep: str = ",") -> list[str]:
    """Split on `sep` where it is not inside brackets, parts stripped (empty ones kept):
    `Dict[str, int], optional` -> [`Dict[str, int]`, `optional`]."""
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def type_schema(t: Any) -> tuple[dict[str, Any], bool]:
    """A Python-ish or JSON Schema type name -> (JSON Schema, optional?).

    `str` -> string, `int` -> integer, `List[int]` -> array of integers, `Optional[str]` / `str, optional` /
    `str | None` -> string (optional), `Dict[str, Any]` -> object, `Union[int, str]` -> anyOf; an unknown
    name -> `{}` (anything) that keeps the original name in its description.
    """
    if isinstance(t, list):  # JSON Schema type list: ["string", "null"]
        schemas = [type_schema(x)[0] for x in t]
        return {"anyOf": schemas} if len(schemas) > 1 else (schemas[0] if schemas else {}), False
    if not isinstance(t, str) or not t.strip():
        return {}, False
    s = t.strip()
    optional = False
    parts = [p for p in _split_top(s) if p]
    if len(parts) > 1 and parts[-1].lower() == "optional":
        optional, s = True, ", ".join(parts[:-1])
    alts = _split_top(s, "|")
    if len(alts) > 1:
        non_null = [a for a in alts if a.lower() not in ("none", "null")]
        optional = optional or len(non_null) < len(alts)
        if len(non_null) == 1:
            return type_schema(non_null[0])[0], optional
        return {"anyOf": [type_schema(a)[0] for a in non_null]}, optional
    m = re.fullmatch(r"([A-Za-z_.]+)\s*\[(.*)\]", s, re.S)
    head, args = (m.group(1), [p for p in _split_top(m.group(2)) if p]) if m else (s, [])
    h = head.lower().rsplit(".", 1)[-1]
    if h == "optional" and args:
        return type_schema(args[0])[0], True
    if h == "union" and args:
        return type_schema(" | ".join(args))[0], optional or any(a.lower() in ("none", "null") for a in args)
    if h in _SCALARS:
        return {"type": _SCALARS[h]}, optional
    if h in _ARRAYS:
        out: dict[str, Any] = {"type": "array"}
        if args and args[-1] != "...":
            out["items"] = type_schema(args[0])[0]
        return out, optional
    if h in _OBJECTS:
        out = {"type": "object"}
        if len(args) == 2 and type_schema(args[1])[0]:
            out["additionalProperties"] = type_schema(args[1])[0]
        return out, optional
    if h == "literal" and args:
        try:
            values = [loads_lenient(a) for a in args]
        except ValueError:
            return {"type": "string"}, optional
        return {"enum": values}, optional
    if h == "any":
        return {}, optional
    return {"description": f"type: {t}"}, optional


def _fix_schema(node: Any) -> Any:
    """Make a JSON-Schema-ish parameters object valid JSON Schema: Python type names mapped, recursively."""
    if isinstance(node, list):
        return [_fix_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "properties" and isinstance(v, dict):
            out[k] = {name: _fix_schema(p) for name, p in v.items()}
        elif k in ("items", "additionalProperties", "anyOf", "oneOf", "allOf") and isinstance(
            v, (dict, list)
        ):
            out[k] = _fix_schema(v)
        elif k == "required" and not isinstance(v, list):
            continue  # `required: true` on a property (seen in glaive) is not JSON Schema; dropped
        else:
            out[k] = v
    t = out.get("type")
    if (isinstance(t, str) and t not in _JSON_TYPES) or isinstance(t, list):
        schema, _ = type_schema(t)
        del out["type"]
        out = {**schema, **{k: v for k, v in out.items() if k not in schema}}
    return out


def input_schema(params: Any) -> dict[str, Any]:
    """A tool's parameters (JSON Schema, or xLAM's flat `{name: {type, description, default}}`) -> inputSchema."""
    if params in (None, {}, []):
        return {"type": "object", "properties": {}}
    if not isinstance(params, dict):
        raise RowError(f"parameters must be an object, got {type(params).__name__}")
    if params.get("type") == "object" or "properties" in params:
        schema = _fix_schema(params)
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        if not isinstance(schema["properties"], dict):
            raise RowError("parameters.properties must be an object")
        return schema
    props, required = {}, []
    for name, spec in params.items():
        if not isinstance(spec, dict):
            raise RowError(f"parameter {name!r}: expected an object with a type, got {type(spec).__name__}")
        schema, optional = type_schema(spec.get("type"))
        prop = dict(schema)
        if spec.get("description"):
            desc = str(spec["description"])
            prop["description"] = f"{desc} ({prop['description']})" if "description" in prop else desc
        has_default = "default" in spec and spec["default"] not in (None, "")
        if has_default:
            prop["default"] = spec["default"]
        if not optional and not has_default:
            required.append(name)
        props[name] = prop
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out
