"""No-tool intents: questions answered in text, some near a connected server's topic (the questions, answers and
the words around them are in no_tool.yaml)."""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from mcpft_lib.data.scenario import Scenario, intent, load_text

_TEXT = load_text(__file__)

NO_TOOL_QA: dict[str | None, list[tuple[str, str]]] = {  # topic (None: general) -> (question, answer)
    (None if topic == "general" else topic): [(qa["q"], qa["a"]) for qa in pairs]
    for topic, pairs in _TEXT["qa"].items()
}
NO_TOOL_PREFIXES: tuple[str, ...] = tuple(_TEXT["prefixes"])
NO_TOOL_SUFFIXES: tuple[str, ...] = tuple(_TEXT["suffixes"])


def _no_tool(topic: str | None) -> Callable[[Random], Scenario]:
    def build(r: Random) -> Scenario:
        q, a = r.choice(NO_TOOL_QA[topic])
        prefix, suffix = r.choice(NO_TOOL_PREFIXES), r.choice(NO_TOOL_SUFFIXES)
        if not q.startswith("Thanks"):
            q = (prefix + q[0].lower() + q[1:] if prefix else q) + suffix
        return Scenario(q, [], a)

    build.__name__ = f"no_tool_{topic or 'general'}"
    return build


for _topic in NO_TOOL_QA:
    intent("no_tool", topic=_topic)(_no_tool(_topic))
