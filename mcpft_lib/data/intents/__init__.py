"""The intent builders, one module per server (or per kind of conversation across servers).

Importing this package registers every intent; `INTENTS` lists them module by module in the order of `MODULES`; that order is part
of the generator's output (the same seed gives the same examples), so a new module goes at the end.
"""

from mcpft_lib.data.intents import (  # noqa: F401  (imported to register their intents, in this order)
    chains,
    clarification,
    code,
    filesystem,
    git,
    github,
    long_context,
    memory,
    more_servers,
    no_tool,
    reasoning,
    resources,
    sqlite,
    time,
)
from mcpft_lib.data.scenario import REGISTERED, Intent

MODULES = (time, git, filesystem, github, sqlite, memory, chains, clarification, code, long_context, reasoning,
           resources, more_servers, no_tool)  # fmt: skip
INTENTS: list[Intent] = [i for m in MODULES for i in REGISTERED if i.build.__module__ == m.__name__]
if len(INTENTS) != len(REGISTERED):  # an @intent outside these modules would silently never be generated
    raise RuntimeError("an intent is registered outside the modules listed in data.intents.MODULES")

__all__ = ["INTENTS"]
