"""Valid, realistic argument values from a JSON Schema alone, chosen by what the parameter is (path, URL, date …).

`ValueMaker(rng).value(schema, name, description)` draws one value; every complete argument object is checked
against the tool's schema by the caller (`synth.tools`), so a value this module gets wrong is redrawn or the
example quarantined, never emitted. Pools and the name → pool rules live in `values.yaml`.
"""

from __future__ import annotations

import re
import string
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from random import Random
from typing import Any

from mcpft_lib.core.fsutil import read_yaml

_MAX_DEPTH = 4
_NUM_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
              "sixteen seventeen eighteen nineteen twenty").split()  # fmt: skip


@lru_cache(maxsize=1)
def _table() -> tuple[list[tuple[re.Pattern, re.Pattern | None, str]], dict[str, list[Any]]]:
    data = read_yaml(Path(__file__).with_name("values.yaml"))
    rules = [(re.compile(r["match"]), re.compile(r["desc"], re.I) if r.get("desc") else None, r["pool"])
             for r in data["rules"]]  # fmt: skip
    return rules, data["pools"]


def words(name: str) -> str:
    """`repoPath` / `repo_path` / `repo-path` -> 'repo path' (lower case)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return re.sub(r"[\W_]+", " ", s).strip().lower()


def semantic_pool(name: str, description: str = "") -> str | None:
    """The pool a parameter's values come from (None: no rule matched)."""
    rules, _ = _table()
    w = words(name)
    for match, desc, pool in rules:
        if match.search(w) and (desc is None or desc.search(description or "")):
            return pool
    return None


def pool(name: str) -> list[Any]:
    return _table()[1][name]


def number_words(n: int) -> str | None:
    """0..20 spelled out (for requests that state a count in words)."""
    return _NUM_WORDS[n] if 0 <= n < len(_NUM_WORDS) else None


def resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s and merge `allOf`; a non-dict schema (True) is an empty one."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 16:
        ref = schema["$ref"]
        target: Any = root
        if ref.startswith("#"):
            for part in [p for p in ref[1:].split("/") if p]:
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"), {})
                    if isinstance(target, dict)
                    else {}
                )
        else:
            target = {}
        schema = {
            **{k: v for k, v in schema.items() if k != "$ref"},
            **(target if isinstance(target, dict) else {}),
        }
        seen += 1
    if not isinstance(schema, dict):
        return {}
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = resolve(part, root)
            for k, v in part.items():
                if k == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **v}
                elif k == "required":
                    merged["required"] = sorted(set(merged.get("required", [])) | set(v))
                else:
                    merged.setdefault(k, v)
        schema = merged
    return schema


def schema_type(schema: dict[str, Any], r: Random | None = None) -> str | None:
    """The type to draw: the declared one (a non-null member of a type list), or one implied by keywords."""
    t = schema.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"] or t
        return non_null[0] if r is None else r.choice(non_null)
    if t:
        return t
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if "enum" in schema or "const" in schema:
        return None
    return "string"


_COUNTISH = re.compile(
    r"\b(limit|count|max|top|size|per page|page|offset|num|number|id|results|n|year|port|index|"
    r"issue|pr|pull|depth|retries|days|hours|minutes|seconds|timeout)\b"
)


class ValueMaker:
    """Draws schema-valid, realistic values (seeded by the caller's Random)."""

    def __init__(self, r: Random, today: date = date(2025, 3, 14)):
        self.r = r
        self.today = today

    # -- entry point --------------------------------------------------------------------------------------------
    def value(self, schema: Any, name: str = "", description: str = "", root: dict | None = None,
              depth: int = 0) -> Any:  # fmt: skip
        root = root if root is not None else (schema if isinstance(schema, dict) else {})
        s = resolve(schema, root)
        desc = s.get("description") or description
        if "const" in s:
            return s["const"]
        if s.get("enum"):
            choices = [v for v in s["enum"] if v is not None] or s["enum"]
            return self.r.choice(choices)
        for key in ("anyOf", "oneOf"):
            if s.get(key):
                branches = [resolve(b, root) for b in s[key]]
                branches = [b for b in branches if b.get("type") != "null"] or branches
                base = {k: v for k, v in s.items() if k not in (key, "description")}
                return self.value({**base, **self.r.choice(branches)}, name, desc, root, depth + 1)
        examples = s.get("examples")
        if isinstance(examples, list) and examples and self.r.random() < 0.5:
            return self.r.choice(examples)
        t = schema_type(s, self.r)
        if t == "object":
            return self.obj(s, root, depth)
        if t == "array":
            return self.array(s, name, desc, root, depth)
        if t == "boolean":
            return self.r.random() < 0.5
        if t == "integer":
            return self.integer(s, name, desc)
        if t == "number":
            return self.number(s, name, desc)
        if t == "null":
            return None
        return self.string(s, name, desc)

    # -- containers ---------------------------------------------------------------------------------------------
    def obj(self, s: dict[str, Any], root: dict, depth: int, optional_p: float = 0.4) -> dict[str, Any]:
        props: dict[str, Any] = s.get("properties") or {}
        required = [k for k in s.get("required", []) if k in props or not props]
        out: dict[str, Any] = {}
        if depth >= _MAX_DEPTH:
            optional_p = 0.0
        for key, sub in props.items():
            if key in required or self.r.random() < optional_p:
                out[key] = self.value(sub, key, "", root, depth + 1)
        for key in required:  # required keys the schema does not describe
            out.setdefault(key, self.pick_string(key, ""))
        if not props and s.get("additionalProperties") not in (False, None) and depth < _MAX_DEPTH:
            extra = (
                s["additionalProperties"]
                if isinstance(s["additionalProperties"], dict)
                else {"type": "string"}
            )
            for key in self.r.sample(["env", "team", "owner", "priority", "source"], self.r.randint(1, 2)):
                out[key] = self.value(extra, key, "", root, depth + 1)
        n_min = s.get("minProperties", 0)
        while len(out) < n_min and props:
            key = self.r.choice(list(props))
            out[key] = self.value(props[key], key, "", root, depth + 1)
        return out

    def array(self, s: dict[str, Any], name: str, desc: str, root: dict, depth: int) -> list[Any]:
        lo = s.get("minItems", 1)
        hi = max(lo, min(s.get("maxItems", 3), lo + 2))
        items = s.get("items", {})
        if isinstance(items, list):  # tuple form (draft 4-7)
            return [self.value(i, name, desc, root, depth + 1) for i in items]
        singular = re.sub(r"(ie)?s$", lambda m: "y" if m.group(1) else "", name) or name
        n = self.r.randint(lo, hi) if depth < _MAX_DEPTH else lo
        out: list[Any] = []
        for _ in range(n * 4):
            if len(out) >= n:
                break
            v = self.value(items, singular, desc, root, depth + 1)
            if s.get("uniqueItems") and v in out:
                continue
            out.append(v)
        return out

    # -- scalars ------------------------------------------------------------------------------------------------
    def integer(self, s: dict[str, Any], name: str, desc: str) -> int:
        lo, hi = _bounds(s, integer=True)
        w = words(name)
        if lo is None and hi is None:
            if re.search(r"\b(limit|count|max|top|size|per page|num|results|n)\b", w):
                lo, hi = 1, 50
            elif re.search(r"\b(page|offset|skip|start)\b", w):
                lo, hi = 0, 10
            elif re.search(r"\b(year)\b", w):
                lo, hi = 2019, 2026
            elif re.search(r"\b(port)\b", w):
                return self.r.choice([3000, 5432, 8080, 8443, 6379])
            elif re.search(r"\b(timeout|seconds|ms|delay|duration|interval)\b", w):
                lo, hi = 5, 120
            elif re.search(r"\b(id|number|issue|pr|pull)\b", w):
                lo, hi = 1, 5000
            else:
                lo, hi = 1, 100
        lo = lo if lo is not None else min(0, (hi or 0) - 100)
        hi = hi if hi is not None else lo + 100
        if hi - lo > 1000:
            hi = lo + self.r.choice([10, 50, 100, 1000])
        v = self.r.randint(lo, hi) if self.r.random() < 0.7 else self.r.randint(lo, min(hi, lo + 20))
        m = s.get("multipleOf")
        if isinstance(m, int) and m > 0:
            v = ((v + m - 1) // m) * m
            if v > hi:
                v -= m
        return v

    def number(self, s: dict[str, Any], name: str, desc: str) -> float | int:
        w = words(name)
        lo, hi = _bounds(s, integer=False)
        if _COUNTISH.search(w) and not s.get(
            "multipleOf"
        ):  # a "number" that counts or identifies: a whole one
            v = self.integer({**s, "type": "integer"}, name, desc)
            if (lo is None or v >= lo) and (hi is None or v <= hi):
                return v
        if lo is None and hi is None:
            if re.search(r"\b(lat|latitude)\b", w):
                return round(self.r.uniform(-60, 70), 4)
            if re.search(r"\b(lon|lng|longitude)\b", w):
                return round(self.r.uniform(-170, 170), 4)
            if re.search(r"\b(temperature|temp)\b", w):
                lo, hi = 0.0, 1.0
            elif re.search(r"\b(price|amount|cost|total|budget)\b", w):
                lo, hi = 5.0, 500.0
            else:
                lo, hi = 0.0, 100.0
        lo = lo if lo is not None else (hi or 0) - 100.0
        hi = hi if hi is not None else lo + 100.0
        v = round(self.r.uniform(lo, hi), self.r.choice([1, 2]))
        v = min(max(v, lo), hi)
        if s.get("exclusiveMinimum") is not None and v <= s["exclusiveMinimum"]:
            v = (lo + hi) / 2
        if s.get("exclusiveMaximum") is not None and v >= s["exclusiveMaximum"]:
            v = (lo + hi) / 2
        m = s.get("multipleOf")
        if m:
            v = round(round(v / m) * m, 6)
        if float(v).is_integer() and self.r.random() < 0.5:
            v += 0.5 if v + 0.5 <= hi else -0.5
        return v

    def string(self, s: dict[str, Any], name: str, desc: str) -> str:
        fmt = s.get("format")
        lo, hi = s.get("minLength", 0), s.get("maxLength")
        pattern = s.get("pattern")
        for _ in range(6):
            v = self.formatted(fmt) if fmt else None
            if v is None and pattern:
                v = self.from_pattern(pattern)
            if v is None:
                v = self.pick_string(name, desc)
            if hi is not None and len(v) > hi:
                v = v[:hi].rstrip() or v[:hi]
            if len(v) < lo:
                v = v + "".join(self.r.choice(string.ascii_lowercase) for _ in range(lo - len(v)))
            if pattern is None or _search(pattern, v):
                return v
        return v

    def pick_string(self, name: str, desc: str) -> str:
        key = semantic_pool(name, desc)
        if key == "date":
            return self.formatted("date")
        if key is None:
            key = "word"
        return str(self.r.choice(pool(key)))

    def formatted(self, fmt: str) -> str | None:
        r = self.r
        d = self.today + timedelta(days=r.randint(-200, 120))
        if fmt == "date":
            return d.isoformat()
        if fmt == "date-time":
            t = datetime(d.year, d.month, d.day, r.randint(7, 19), r.choice([0, 15, 30, 45]), tzinfo=UTC)
            return t.isoformat().replace("+00:00", "Z")
        if fmt == "time":
            return f"{r.randint(7, 19):02d}:{r.choice([0, 15, 30, 45]):02d}:00"
        if fmt in ("email", "idn-email"):
            return r.choice(pool("email"))
        if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
            return r.choice(pool("url"))
        if fmt == "uuid":
            return str(uuid.UUID(int=r.getrandbits(128), version=4))
        if fmt == "ipv4":
            return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if fmt == "ipv6":
            return f"2001:db8::{r.randint(1, 0xFFFF):x}"
        if fmt in ("hostname", "idn-hostname"):
            return r.choice(pool("host")).replace("10.0.3.17", "db.internal")
        if fmt == "duration":
            return r.choice(["PT15M", "PT1H", "P1D", "PT30S"])
        return None

    def from_pattern(self, pattern: str) -> str | None:
        """A string matching `pattern` (a walk of Python's regex parser; None when it cannot say)."""
        try:
            parsed = _sre_parse(pattern)
            for _ in range(8):
                v = _emit(parsed, self.r)
                if _search(pattern, v):
                    return v
        except Exception:  # an exotic construct: fall back to the pools
            return None
        return None


def _bounds(s: dict[str, Any], integer: bool) -> tuple[Any, Any]:
    lo, hi = s.get("minimum"), s.get("maximum")
    if s.get("exclusiveMinimum") is not None and not isinstance(s["exclusiveMinimum"], bool):
        lo = s["exclusiveMinimum"] + (1 if integer else 1e-3)
    if s.get("exclusiveMaximum") is not None and not isinstance(s["exclusiveMaximum"], bool):
        hi = s["exclusiveMaximum"] - (1 if integer else 1e-3)
    if integer:
        lo = int(-(-lo // 1)) if lo is not None else None
        hi = int(hi // 1) if hi is not None else None
    return lo, hi


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _search(pattern: str, v: str) -> bool:
    c = _compiled(pattern)
    return c is None or c.search(v) is not None  # JSON Schema patterns are unanchored (ECMA-262 search)


@lru_cache(maxsize=4096)
def _sre_parse(pattern: str):
    import re._parser as sre_parse  # the stdlib's own regex parser (Python 3.11+)

    return sre_parse.parse(pattern)


_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": string.digits,
    "CATEGORY_WORD": string.ascii_letters + string.digits + "_",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_DIGIT": string.ascii_letters,
    "CATEGORY_NOT_WORD": "-.",
    "CATEGORY_NOT_SPACE": string.ascii_letters + string.digits,
}


def _emit(parsed, r: Random) -> str:
    out: list[str] = []
    for op, av in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append(r.choice([c for c in string.ascii_lowercase if ord(c) != av]))
        elif name == "ANY":
            out.append(r.choice(string.ascii_lowercase))
        elif name == "IN":
            out.append(_emit_in(av, r))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            hi = lo + 3 if hi > 1000 else hi
            n = r.randint(lo, max(lo, min(hi, lo + 4)))
            out.extend(_emit(sub, r) for _ in range(n))
        elif name == "SUBPATTERN":
            out.append(_emit(av[-1], r))
        elif name == "ATOMIC_GROUP":
            out.append(_emit(av, r))
        elif name == "BRANCH":
            out.append(_emit(r.choice(av[1]), r))
        elif name == "CATEGORY":
            out.append(r.choice(_CATEGORY_CHARS.get(str(av), string.ascii_lowercase)))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        elif name == "GROUPREF":
            continue
        else:
            raise ValueError(f"regex op {name}")
    return "".join(out)


def _emit_in(items, r: Random) -> str:
    chars: list[str] = []
    negate = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.append(chr(av))
        elif name == "RANGE":
            lo, hi = av
            chars.extend(chr(c) for c in range(lo, min(hi, lo + 200) + 1))
        elif name == "CATEGORY":
            chars.extend(_CATEGORY_CHARS.get(str(av), ""))
    if negate:
        allowed = [c for c in string.ascii_letters + string.digits if c not in chars]
        return r.choice(allowed or ["x"])
    return r.choice(chars or ["x"])
