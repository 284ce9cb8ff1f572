"""A knowledge-graph memory MCP server: the memory catalog's tools over one JSON file.

`python -m mcpft_lib.mcp.servers.sandbox_memory --file FILE` serves over stdio with the tools, arguments, result
formats and error texts of the npm reference server `@modelcontextprotocol/server-memory` (src/memory/index.ts):
entities `{name, entityType, observations}`, relations `{from, to, relationType}`. The graph is read from and
written to FILE on every call, so the live harness can reset it between calls; nothing else is touched.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Entity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="The name of the entity")
    entityType: str = Field(description="The type of the entity")
    observations: list[str] = Field(description="An array of observation contents associated with the entity")


class Relation(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", description="The name of the entity where the relation starts")
    to: str = Field(description="The name of the entity where the relation ends")
    relationType: str = Field(description="The type of the relation")


class ObservationAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entityName: str
    contents: list[str]


class ObservationDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entityName: str
    observations: list[str]


def load(path: Path) -> dict:
    if not path.is_file():
        return {"entities": [], "relations": []}
    g = json.loads(path.read_text(encoding="utf-8") or "{}")
    return {"entities": list(g.get("entities", [])), "relations": list(g.get("relations", []))}


def save(path: Path, g: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(g, indent=2), encoding="utf-8")
    tmp.replace(path)


def _rel(r: Relation) -> dict:
    return {"from": r.from_, "to": r.to, "relationType": r.relationType}


def _subgraph(g: dict, keep) -> dict:
    ents = [e for e in g["entities"] if keep(e)]
    names = {e["name"] for e in ents}
    return {
        "entities": ents,
        "relations": [r for r in g["relations"] if r["from"] in names and r["to"] in names],
    }


def build_server(file: str | Path):
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    path = Path(file)
    server = MCPServer("memory", instructions="Knowledge graph memory: entities, relations, observations.")

    def dump(obj) -> str:
        return json.dumps(obj, indent=2)

    @server.tool(description="Create multiple new entities in the knowledge graph")
    def create_entities(entities: list[Entity]) -> str:
        g = load(path)
        known = {e["name"] for e in g["entities"]}
        new = [e.model_dump() for e in entities if e.name not in known]
        g["entities"] += new
        save(path, g)
        return dump(new)

    @server.tool(description="Create multiple new relations between entities in the knowledge graph")
    def create_relations(relations: list[Relation]) -> str:
        g = load(path)
        new = [_rel(r) for r in relations if _rel(r) not in g["relations"]]
        g["relations"] += new
        save(path, g)
        return dump(new)

    @server.tool(description="Add new observations to existing entities in the knowledge graph")
    def add_observations(observations: list[ObservationAdd]) -> str:
        g = load(path)
        out = []
        for o in observations:
            ent = next((e for e in g["entities"] if e["name"] == o.entityName), None)
            if ent is None:
                raise ToolError(f"Entity with name {o.entityName} not found")
            added = [c for c in o.contents if c not in ent["observations"]]
            ent["observations"] += added
            out.append({"entityName": o.entityName, "addedObservations": added})
        save(path, g)
        return dump(out)

    @server.tool(
        description="Delete multiple entities and their associated relations from the knowledge graph"
    )
    def delete_entities(entityNames: list[str]) -> str:
        g = load(path)
        gone = set(entityNames)
        g["entities"] = [e for e in g["entities"] if e["name"] not in gone]
        g["relations"] = [r for r in g["relations"] if r["from"] not in gone and r["to"] not in gone]
        save(path, g)
        return "Entities deleted successfully"

    @server.tool(description="Delete specific observations from entities in the knowledge graph")
    def delete_observations(deletions: list[ObservationDelete]) -> str:
        g = load(path)
        for d in deletions:
            ent = next((e for e in g["entities"] if e["name"] == d.entityName), None)
            if ent is not None:
                ent["observations"] = [x for x in ent["observations"] if x not in d.observations]
        save(path, g)
        return "Observations deleted successfully"

    @server.tool(description="Delete multiple relations from the knowledge graph")
    def delete_relations(relations: list[Relation]) -> str:
        g = load(path)
        gone = [_rel(r) for r in relations]
        g["relations"] = [r for r in g["relations"] if r not in gone]
        save(path, g)
        return "Relations deleted successfully"

    @server.tool(description="Read the entire knowledge graph")
    def read_graph() -> str:
        return dump(load(path))

    @server.tool(description="Search for nodes in the knowledge graph based on a query")
    def search_nodes(query: str) -> str:
        q = query.lower()
        return dump(
            _subgraph(
                load(path),
                lambda e: (
                    q in e["name"].lower()
                    or q in e["entityType"].lower()
                    or any(q in o.lower() for o in e["observations"])
                ),
            )
        )

    @server.tool(description="Open specific nodes in the knowledge graph by their names")
    def open_nodes(names: list[str]) -> str:
        wanted = set(names)
        return dump(_subgraph(load(path), lambda e: e["name"] in wanted))

    return server


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", required=True, help="the JSON file holding the graph (created on first write)")
    args = ap.parse_args(argv)
    build_server(args.file).run("stdio")


if __name__ == "__main__":
    main()
