from mcpft_lib.data import generate, intents, scenario, validate
from mcpft_lib.data.toolsets import called_tools, sample_tools
from mcpft_lib.mcp import catalogs


def _examples(n=120, seed=3):
    servers = catalogs.load_catalogs(["git", "memory", "time"])
    return generate.generate(n, seed, servers, list(scenario.DEFAULT_CATEGORIES), 2)


def test_sampled_examples_keep_called_and_intent_tools_and_validate():
    exs = _examples()
    for ex in exs:
        cut = sample_tools(ex, 3, seed=7)
        assert validate.validate_example(cut) == [], ex.id
        keep = called_tools(ex)
        for before, after in zip(ex.servers, cut.servers, strict=True):
            names = [t.name for t in after.tools]
            assert keep.get(before.name, set()) <= set(names)
            assert len(names) <= max(3, len(keep.get(before.name, set())))
            assert names == [t.name for t in before.tools if t.name in names]  # catalog order
            assert after.resources == before.resources
    assert any(
        len(c.servers[0].tools) < len(e.servers[0].tools)
        for e, c in ((e, sample_tools(e, 3, 7)) for e in exs)
    )


def test_clarification_keeps_the_tool_it_asks_about():
    exs = [e for e in _examples(300) if e.category == "clarification"]
    assert exs
    tools_of = {i.name: i.tools for i in intents.INTENTS}
    for ex in exs:
        cut = sample_tools(ex, 1, seed=0)
        for ref in tools_of[ex.meta["intent"]]:
            server, tool = ref.split("/", 1)
            assert cut.server(server).tool(tool) is not None


def test_deterministic_per_seed_and_off_when_none():
    ex = max(_examples(), key=lambda e: sum(len(s.tools) for s in e.servers))
    assert sample_tools(ex, 2, 1) == sample_tools(ex, 2, 1)
    assert sample_tools(ex, None, 1) is ex
    seeds = {tuple(t.name for s in sample_tools(ex, 2, k).servers for t in s.tools) for k in range(20)}
    assert len(seeds) > 1
