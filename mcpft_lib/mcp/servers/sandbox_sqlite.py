"""A sandboxed SQLite MCP server: the sqlite catalog's tools and its `memo://insights` resource.

`python -m mcpft_lib.mcp.servers.sandbox_sqlite --db FILE` serves over stdio, with the tool names, arguments and
result formats of the archived reference server `mcp-server-sqlite` (which needs `mcp<2` and so cannot run
in this environment). The database and the memo (`FILE.memo`) are opened per call, so the live harness can
reset them between calls. Statements are confined to that one database file: one statement per call,
`read_query` only SELECT/WITH, `write_query` only INSERT/UPDATE/DELETE/REPLACE, `create_table` only CREATE
TABLE, and an authorizer refuses ATTACH/DETACH, pragmas other than table_info, and extension loading.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
from pathlib import Path

MEMO_HEADER = "📊 Business Intelligence Memo 📊\n\nKey Insights Discovered:\n"

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_DENY = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}


def _authorizer(action: int, arg1, arg2, _db, _trigger) -> int:
    if action in _DENY:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() != "table_info":
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in (
        "load_extension",
        "readfile",
        "writefile",
    ):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=5)
    conn.row_factory = sqlite3.Row
    conn.set_authorizer(_authorizer)
    return conn


def _starts(query: str, *words: str) -> bool:
    head = re.sub(r"^(\s|--[^\n]*\n|/\*.*?\*/)*", "", query, flags=re.S).split(None, 1)
    return bool(head) and head[0].upper() in words


def build_server(db: str | Path):
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    db = Path(db)
    memo = db.with_name(db.name + ".memo")
    server = MCPServer("sqlite", instructions="Sandboxed SQLite database with a business-insights memo.")

    def run(query: str, params: tuple = ()) -> tuple[list[dict], int]:
        conn = connect(db)
        try:
            cur = conn.execute(query, params)
            rows = [dict(r) for r in cur.fetchall()]
            conn.commit()
            return rows, cur.rowcount
        except (sqlite3.Error, ValueError) as e:  # ValueError / ProgrammingError: more than one statement
            raise ToolError(f"Database error: {e}") from None
        finally:
            conn.close()

    @server.tool(description="Execute a SELECT query on the SQLite database")
    def read_query(query: str) -> str:
        if not _starts(query, "SELECT", "WITH"):
            raise ToolError("Only SELECT queries are allowed for read_query")
        return str(run(query)[0])

    @server.tool(description="Execute an INSERT, UPDATE, or DELETE query on the SQLite database")
    def write_query(query: str) -> str:
        if not _starts(query, "INSERT", "UPDATE", "DELETE", "REPLACE"):
            raise ToolError("Only INSERT, UPDATE or DELETE queries are allowed for write_query")
        return str([{"affected_rows": run(query)[1]}])

    @server.tool(description="Create a new table in the SQLite database")
    def create_table(query: str) -> str:
        if not _starts(query, "CREATE") or not re.match(r"\s*CREATE\s+TABLE\b", query, re.I):
            raise ToolError("Only CREATE TABLE statements are allowed")
        run(query)
        name = re.search(r"TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"\[]?(\w+)", query, re.I)
        return f"Table created successfully: {name.group(1) if name else '?'}"

    @server.tool(description="List all tables in the SQLite database")
    def list_tables() -> str:
        return str(run("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")[0])

    @server.tool(description="Get the schema information for a specific table")
    def describe_table(table_name: str) -> str:
        if not _IDENT.match(table_name):
            raise ToolError(f"Invalid table name {table_name!r}")
        if not run("SELECT name FROM sqlite_master WHERE type='table' AND name = ?", (table_name,))[0]:
            raise ToolError(f"Table '{table_name}' does not exist")
        return str(run(f"PRAGMA table_info({table_name})")[0])

    @server.tool(description="Add a business insight to the memo")
    def append_insight(insight: str) -> str:
        text = memo.read_text(encoding="utf-8") if memo.is_file() else MEMO_HEADER
        memo.write_text(text.rstrip("\n") + f"\n- {insight}\n", encoding="utf-8")
        return "Insight added to memo"

    @server.resource("memo://insights", name="Business Insights Memo", mime_type="text/plain",
                     description="A living document of discovered business insights")  # fmt: skip
    def insights() -> str:
        return (
            memo.read_text(encoding="utf-8")
            if memo.is_file()
            else MEMO_HEADER + "\nNo business insights have been discovered yet.\n"
        )

    return server


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="the SQLite database file (created if missing)")
    args = ap.parse_args(argv)
    build_server(args.db).run("stdio")


if __name__ == "__main__":
    main()
