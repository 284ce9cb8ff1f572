"""A small stdio MCP server for tests/test_harvest.py: three tools with different schemas and one resource.

Its instructions say which team `FIXTURE_TEAM` names and whether `FIXTURE_LEAK` reached it (the harvest's
environment is minimal, so it must not). `FIXTURE_MODE=bad_schema` gives `archive_note` an inputSchema that is not valid
JSON Schema (a property of type "integr"), which a catalog cannot use.
"""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer


def build_server() -> MCPServer:
    team = os.environ.get("FIXTURE_TEAM", "nobody")
    leak = "leaked" if "FIXTURE_LEAK" in os.environ else "sealed"
    server = MCPServer("fixture-notes", instructions=f"Notes of team {team} ({leak}).\n\nMore text.")

    @server.tool(description="Search the notes by text.")
    def search_notes(query: str, limit: int = 10) -> list[str]:
        return [query][:limit]

    @server.tool(description="Create a note with a title, a body and tags.")
    def create_note(title: str, body: str, tags: list[str] | None = None, pinned: bool = False) -> str:
        return title

    @server.tool(description="Archive a note by id.")
    def archive_note(note_id: int) -> str:
        return str(note_id)

    @server.resource("notes://index", name="index", description="Every note's title.", mime_type="text/plain")
    def index() -> str:
        return "no notes"

    if os.environ.get("FIXTURE_MODE") == "bad_schema":
        bad = {"type": "object", "properties": {"note_id": {"type": "integr"}}}  # no such JSON Schema type
        server._tool_manager.get_tool("archive_note").parameters = bad
    return server


if __name__ == "__main__":
    build_server().run("stdio")
