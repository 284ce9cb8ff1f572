"""Intents of @modelcontextprotocol/server-memory."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import Any

from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump, load_text
from mcpft_lib.mcp.world import ENTITY_TYPES, OBSERVATIONS, ORGS, PEOPLE, PROJECTS, RELATIONS

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
GRAPH_QUERIES = _TEXT["graph_queries"]


def _entity(r: Random, name: str | None = None) -> dict[str, Any]:
    kind = r.choice(ENTITY_TYPES) if name is None else ("person" if name in PEOPLE else "project")
    if name is None:
        name = {"person": r.choice(PEOPLE), "project": r.choice(PROJECTS), "organization": r.choice(ORGS),
                "service": r.choice(PROJECTS[:2] + ["payments-api", "search-index"])}[kind]  # fmt: skip
    return {"name": name, "entityType": kind, "observations": r.sample(OBSERVATIONS, r.randrange(1, 3))}


@intent("single_call", "memory/create_entities")
def _mem_create(r: Random) -> Scenario:
    e = _entity(r)
    obs = "; ".join(e["observations"])
    user = fmt(r, PHRASES["mem_create"]["ask"], n=e["name"], t=e["entityType"], o=obs)
    return Scenario(user, [Step(call("memory", "create_entities", entities=[e]), jdump([e]))],
                    f"Saved {e['name']} to memory.")  # fmt: skip


@intent("single_call", "memory/create_relations")
def _mem_relate(r: Random) -> Scenario:
    person, rel = r.choice(PEOPLE), r.choice(RELATIONS)
    other = (
        r.choice(ORGS)
        if rel == "works_at"
        else r.choice(PEOPLE)
        if rel in ("reports_to", "collaborates_with")
        else r.choice(PROJECTS)
    )
    if other == person:
        other = "Grace Hopper" if person != "Grace Hopper" else "Alan Turing"
    words = rel.replace("_", " ")
    user = fmt(r, PHRASES["mem_relate"]["ask"], a=person, b=other, w=words, rel=rel)
    relation = {"from": person, "to": other, "relationType": rel}
    return Scenario(user, [Step(call("memory", "create_relations", relations=[relation]), jdump([relation]))],
                    f"Linked {person} → {other} ({rel}).")  # fmt: skip


@intent("single_call", "memory/add_observations")
def _mem_observe(r: Random) -> Scenario:
    name = r.choice(PEOPLE + PROJECTS)
    facts = r.sample(OBSERVATIONS, r.randrange(1, 3))
    listed = "; ".join(facts)
    user = fmt(r, PHRASES["mem_observe"]["ask"], n=name, f=listed)
    res = [{"entityName": name, "addedObservations": facts}]
    return Scenario(user, [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": facts}]), jdump(res))],
                    f"Added {len(facts)} observation(s) to {name}.")  # fmt: skip


def graph_of(r: Random, names: Sequence[str]) -> dict[str, Any]:
    ents = [_entity(r, n) for n in names]
    rels = [{"from": names[0], "to": names[1], "relationType": r.choice(RELATIONS)}] if len(names) > 1 else []
    return {"entities": ents, "relations": rels}


@intent("single_call", "memory/search_nodes")
def _mem_search(r: Random) -> Scenario:
    query = r.choice(GRAPH_QUERIES)
    user = fmt(r, PHRASES["mem_search"]["ask"], q=query)
    g = graph_of(r, r.sample(PEOPLE, 1) + r.sample(PROJECTS, 1))
    return Scenario(user, [Step(call("memory", "search_nodes", query=query), jdump(g))],
                    "Matches: " + "; ".join(f"{e['name']} ({e['entityType']}): {', '.join(e['observations'])}" for e in g["entities"]))  # fmt: skip


@intent("single_call", "memory/open_nodes")
def _mem_open(r: Random) -> Scenario:
    names = r.sample(PEOPLE, r.randrange(1, 3))
    listed = " and ".join(names)
    user = fmt(r, PHRASES["mem_open"]["ask"], l=listed)
    g = graph_of(r, names)
    return Scenario(user, [Step(call("memory", "open_nodes", names=names), jdump(g))],
                    "\n".join(f"- {e['name']}: {', '.join(e['observations'])}" for e in g["entities"]))  # fmt: skip


@intent("single_call", "memory/read_graph")
def _mem_read(r: Random) -> Scenario:
    user = r.choice(PHRASES["mem_read"]["ask"])
    g = graph_of(r, r.sample(PEOPLE, 1) + r.sample(PROJECTS, 1))
    return Scenario(user, [Step(call("memory", "read_graph"), jdump(g))],
                    f"The graph has {len(g['entities'])} entities ({', '.join(e['name'] for e in g['entities'])}) and {len(g['relations'])} relation(s).")  # fmt: skip


@intent("single_call", "memory/delete_entities")
def _mem_delete(r: Random) -> Scenario:
    names = r.sample(PROJECTS + ORGS, r.randrange(1, 3))
    listed = " and ".join(names)
    user = fmt(r, PHRASES["mem_delete"]["ask"], l=listed)
    return Scenario(user, [Step(call("memory", "delete_entities", entityNames=names), "Entities deleted successfully")],
                    f"Removed {listed} and their relations.")  # fmt: skip


@intent("multi_step", "memory/search_nodes", "memory/add_observations")
def _mem_search_then_add(r: Random) -> Scenario:
    person, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    first = person.split()[0]
    user = fmt(r, PHRASES["mem_search_then_add"]["ask"], f=first, o=fact.lower())
    g = graph_of(r, [person])
    steps = [
        Step(call("memory", "search_nodes", query=first), jdump(g)),
        Step(call("memory", "add_observations", observations=[{"entityName": person, "contents": [fact]}]),
             jdump([{"entityName": person, "addedObservations": [fact]}]), text=f"Found {person}. Adding the observation."),
    ]  # fmt: skip
    return Scenario(user, steps, f'Added "{fact}" to {person}.', difficulty="medium")


@intent("error_handling", "memory/add_observations", "memory/create_entities")
def _mem_missing_entity(r: Random) -> Scenario:
    name, fact = r.choice(PROJECTS + ORGS), r.choice(OBSERVATIONS)
    kind = "organization" if name in ORGS else "project"
    user = fmt(r, PHRASES["mem_missing_entity"]["ask"], n=name, o=fact)
    ent = {"name": name, "entityType": kind, "observations": [fact]}
    steps = [
        Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": [fact]}]),
             f"Entity with name {name} not found", is_error=True),
        Step(call("memory", "create_entities", entities=[ent]), jdump([ent]),
             text=f"{name} isn't in the knowledge graph yet, so I'll create it with this observation."),
    ]  # fmt: skip
    return Scenario(
        user,
        steps,
        f"{name} didn't exist yet; I created it as a {kind} with that observation.",
        difficulty="medium",
    )
