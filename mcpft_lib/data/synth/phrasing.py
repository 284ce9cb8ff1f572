"""Words for schema-driven examples: what a tool does (from its description or name), how a user states the
argument values, and how the assistant answers. Every template is in `phrasing.yaml`."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from random import Random
from typing import Any

from mcpft_lib.core.fsutil import read_yaml
from mcpft_lib.data.synth.values import number_words, semantic_pool, words

_LEADS = re.compile(
    r"^(?:this tool |tool to |a tool (?:to|that) |use this (?:tool )?to |allows? (?:you|the user|users) to |"
    r"enables? (?:you )?to |lets? you |used to |helps? (?:you )?|mcp tool (?:to|that) )", re.I)  # fmt: skip
_STOP = re.compile(r"(?<=[a-z0-9)\]'\"`])[.;!?](?:\s|$)|\n|\s[-–—]\s|:\s|\s\(|\. ")
_ES = ("ches", "shes", "sses", "xes", "zes", "oes")
_BARE_POOLS = {"path", "url", "email", "date", "timezone"}


@lru_cache(maxsize=1)
def text() -> dict[str, Any]:
    return read_yaml(Path(__file__).with_name("phrasing.yaml"))


def imperative(word: str) -> str:
    """'Creates' -> 'create', 'Fetches' -> 'fetch', 'Queries' -> 'query' (other words unchanged)."""
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(_ES):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is", "as")) and len(w) > 3:
        return w[:-1]
    return w


@lru_cache(maxsize=65536)
def base_action(name: str, description: str) -> str:
    """What the tool does as an imperative verb phrase: the description's first clause, else the name's words."""
    d = _LEADS.sub("", " ".join((description or "").split()))
    clause = _STOP.split(d, maxsplit=1)[0].strip(" .,:;") if d else ""
    toks = clause.split()
    if (
        len(toks) < 2
        or not re.match(r"^[A-Za-z]", toks[0])
        or toks[0].lower() in {"the", "a", "an", "returns"}
    ):
        if toks and toks[0].lower() == "returns" and len(toks) > 2:
            toks = ["get", *toks[1:]]
        else:
            toks = words(name).split() or ["run", name]
    else:
        toks[0] = imperative(toks[0])
        if len(toks) > 2 and toks[1].lower() in {"and", "or"} and toks[2].isalpha():
            toks[2] = imperative(toks[2])  # "Retrieves and queries" -> "retrieve and query"
    toks = toks[:14]
    while len(toks) > 3 and toks[-1].lower() in {
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "and",
        "or",
        "with",
        "by",
        "on",
        "from",
    }:
        toks.pop()
    out = " ".join(toks)
    return out[0].lower() + out[1:] if not (len(out) > 1 and out[1].isupper()) else out


def action(name: str, description: str, r: Random) -> str:
    """`base_action` with the first verb sometimes swapped for a plain-language synonym, or the tool's name words."""
    a = base_action(name, description)
    if r.random() < 0.15 and words(name):
        return words(name)
    head, _, rest = a.partition(" ")
    syn = text()["verbs"]["synonyms"].get(head)
    if syn and r.random() < 0.5:
        return f"{r.choice(syn)} {rest}".strip()
    return a


def label(name: str, schema: dict[str, Any]) -> str:
    w = words(name)
    return w or (schema.get("title") or name).lower()


def show(value: Any, r: Random, quote: bool | None = None) -> str:
    """A value as a user would type it (strings quoted when they have spaces, JSON for structures)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value)
    ):
        parts = [show(v, r, quote=False) for v in value]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    s = str(value)
    if quote is None:
        quote = " " in s or r.random() < 0.2
    if not quote:
        return s
    q = r.choice(['"', "'", "`"]) if '"' not in s and "'" not in s else "`"
    return f"{q}{s}{q}"


def mention(name: str, schema: dict[str, Any], value: Any, r: Random, in_words: bool = False) -> str:
    """One argument stated in the request: its value, with a label unless the value says what it is."""
    t = text()["mentions"]
    lab = label(name, schema)
    if isinstance(value, bool):
        return r.choice(t["flag_on" if value else "flag_off"]).format(label=lab)
    shown = show(value, r)
    if in_words and isinstance(value, int) and not isinstance(value, bool) and number_words(value):
        shown = number_words(value)
    if (
        isinstance(value, str)
        and semantic_pool(name, schema.get("description", "")) in _BARE_POOLS
        and r.random() < 0.5
    ):
        return r.choice(t["bare"]).format(value=shown)
    return r.choice(t["labelled"]).format(label=lab, value=shown)


def join(parts: list[str], r: Random) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    sep = r.choice(text()["joiners"])
    return sep.join(parts[:-1]) + (" and " if sep == ", " and r.random() < 0.5 else sep) + parts[-1]


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


_TYPO_SKIP = re.compile(r"[\"'`/@:.\d]")


def noisy(s: str, r: Random, protect: list[str]) -> str:
    """Casual typing: lower case, no final stop, a prefix/suffix, a swapped-letters typo outside the values."""
    protected = [p for p in protect if p]
    if r.random() < 0.3 and not any(p != p.lower() and p in s for p in protected):
        s = s.lower()
    if r.random() < 0.3:
        s = s.rstrip(".")
    if r.random() < 0.25:
        s = r.choice(text()["prefixes"]) + s
    if r.random() < 0.15:
        s = s.rstrip(".?") + r.choice(text()["suffixes"])
    if r.random() < 0.2:
        toks = s.split(" ")
        idx = [
            i for i, w in enumerate(toks) if len(w) > 4 and w.isalpha() and not any(w in p for p in protected)
        ]
        if idx:
            i = r.choice(idx)
            w = toks[i]
            j = r.randrange(1, len(w) - 2)
            toks[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            s = " ".join(toks)
    return s


def request(act: str, mentions: list[str], r: Random, style: str | None = None) -> str:
    """A user request for `act` stating `mentions` (style: imperative, question, indirect, terse)."""
    t = text()["requests"]
    if not mentions:
        tpl = r.choice(t["none"])
    else:
        style = style or r.choices(["imperative", "question", "indirect", "terse"], [4, 3, 3, 2])[0]
        tpl = r.choice(t[style])
    m = join(mentions, r)
    return tpl.format(action=act, Action=cap(act), mentions=m, Mentions=cap(m))
