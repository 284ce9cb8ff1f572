"""Intents of @modelcontextprotocol/server-memory."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import Any

from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, jdump
from mcpft_lib.mcp.world import ENTITY_TYPES, OBSERVATIONS, ORGS, PEOPLE, PROJECTS, RELATIONS


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
    user = fmt(r, (
        "Remember that {n} is a {t}: {o}.", "Add {n} ({t}) to the knowledge graph with these notes: {o}.",
        "Create an entity {n} of type {t}. Observations: {o}.", "Store a new {t} called {n}. Facts: {o}.",
        "Please note {n}, a {t}: {o}.",
    ), n=e["name"], t=e["entityType"], o=obs)  # fmt: skip
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
    user = fmt(r, (
        "Record that {a} {w} {b}.", "Add a relation: {a} {w} {b}.", "In the knowledge graph, link {a} to {b} with '{rel}'.",
        "Remember: {a} {w} {b}.", "Create the relation {a} -[{rel}]-> {b}.",
    ), a=person, b=other, w=words, rel=rel)  # fmt: skip
    relation = {"from": person, "to": other, "relationType": rel}
    return Scenario(user, [Step(call("memory", "create_relations", relations=[relation]), jdump([relation]))],
                    f"Linked {person} → {other} ({rel}).")  # fmt: skip


@intent("single_call", "memory/add_observations")
def _mem_observe(r: Random) -> Scenario:
    name = r.choice(PEOPLE + PROJECTS)
    facts = r.sample(OBSERVATIONS, r.randrange(1, 3))
    listed = "; ".join(facts)
    user = fmt(r, (
        "Add to {n}'s notes: {f}.", "New facts about {n}: {f}.", "Update the memory for {n} with: {f}.",
        "Also remember about {n}: {f}.", "Append these observations to {n}: {f}.",
    ), n=name, f=listed)  # fmt: skip
    res = [{"entityName": name, "addedObservations": facts}]
    return Scenario(user, [Step(call("memory", "add_observations", observations=[{"entityName": name, "contents": facts}]), jdump(res))],
                    f"Added {len(facts)} observation(s) to {name}.")  # fmt: skip


def graph_of(r: Random, names: Sequence[str]) -> dict[str, Any]:
    ents = [_entity(r, n) for n in names]
    rels = [{"from": names[0], "to": names[1], "relationType": r.choice(RELATIONS)}] if len(names) > 1 else []
    return {"entities": ents, "relations": rels}


@intent("single_call", "memory/search_nodes")
def _mem_search(r: Random) -> Scenario:
    query = r.choice(("payments", "Lisbon", "release manager", "PostgreSQL", "on call", "API guild", "Acme"))
    user = fmt(r, (
        "What do we know about anything related to {q}?", "Search memory for {q}.", "Who or what is connected to {q}?",
        "Look up {q} in the knowledge graph.", "Find nodes mentioning {q}.",
    ), q=query)  # fmt: skip
    g = graph_of(r, r.sample(PEOPLE, 1) + r.sample(PROJECTS, 1))
    return Scenario(user, [Step(call("memory", "search_nodes", query=query), jdump(g))],
                    "Matches: " + "; ".join(f"{e['name']} ({e['entityType']}): {', '.join(e['observations'])}" for e in g["entities"]))  # fmt: skip


@intent("single_call", "memory/open_nodes")
def _mem_open(r: Random) -> Scenario:
    names = r.sample(PEOPLE, r.randrange(1, 3))
    listed = " and ".join(names)
    user = fmt(r, (
        "Pull up what we have on {l}.", "Open the memory entries for {l}.", "Show me the nodes {l}.",
        "What did I tell you about {l}?", "Retrieve {l} from the knowledge graph.",
    ), l=listed)  # fmt: skip
    g = graph_of(r, names)
    return Scenario(user, [Step(call("memory", "open_nodes", names=names), jdump(g))],
                    "\n".join(f"- {e['name']}: {', '.join(e['observations'])}" for e in g["entities"]))  # fmt: skip


@intent("single_call", "memory/read_graph")
def _mem_read(r: Random) -> Scenario:
    user = r.choice(("Show me everything in memory.", "Dump the whole knowledge graph.", "What's stored in the knowledge graph?",
                     "Read the entire graph.", "List all entities and relations you remember."))  # fmt: skip
    g = graph_of(r, r.sample(PEOPLE, 1) + r.sample(PROJECTS, 1))
    return Scenario(user, [Step(call("memory", "read_graph"), jdump(g))],
                    f"The graph has {len(g['entities'])} entities ({', '.join(e['name'] for e in g['entities'])}) and {len(g['relations'])} relation(s).")  # fmt: skip


@intent("single_call", "memory/delete_entities")
def _mem_delete(r: Random) -> Scenario:
    names = r.sample(PROJECTS + ORGS, r.randrange(1, 3))
    listed = " and ".join(names)
    user = fmt(r, ("Forget {l}.", "Delete {l} from memory.", "Remove the entities {l} from the knowledge graph.",
                   "Please drop {l} from the graph."), l=listed)  # fmt: skip
    return Scenario(user, [Step(call("memory", "delete_entities", entityNames=names), "Entities deleted successfully")],
                    f"Removed {listed} and their relations.")  # fmt: skip


@intent("multi_step", "memory/search_nodes", "memory/add_observations")
def _mem_search_then_add(r: Random) -> Scenario:
    person, fact = r.choice(PEOPLE), r.choice(OBSERVATIONS)
    first = person.split()[0]
    user = fmt(r, (
        "Find {f} in memory and add that they: {o}.", "Look up {f} and note: {o}.",
        "Search for {f} in the knowledge graph, then record this about them: {o}.",
        "{f} — {o}. Find the right entity and save that.", "Update whoever {f} is in memory with: {o}.",
    ), f=first, o=fact.lower())  # fmt: skip
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
    user = fmt(r, (
        "Add to {n}: {o}.", "Note about {n}: {o}.", "Remember for {n} that: {o}.", "Update {n} with: {o}.",
        "Record this observation on {n}: {o}.",
    ), n=name, o=fact)  # fmt: skip
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
