"""An IT help-desk MCP server: tickets, comments and assignments on a SQLite store. An example of *your own* server
for mcpft's "Bring your own MCP server" (README; notebooks/examples/06_bring_your_own_server.ipynb).

    python helpdesk.py                      # stdio, an in-memory desk (gone when the process ends)
    python helpdesk.py --db desk.db         # stdio, the desk kept in a SQLite file

Seven tools with varied schemas (enums, an email pattern, dates, integers with ranges, an array, a boolean, an
optional object) and two resources (the agents, the SLA policy). A new store is seeded with the same 1,200 tickets
every time (a fixed random seed), so a call made twice on two fresh stores returns the same result and leaves the
same rows: mcpft's live evaluation starts the server afresh for every call and compares the model's call with the
reference call that way. Tickets are created with the date `--today` (default: the system date).

It needs only the `mcp` SDK (2.x) and the standard library: copy it, change the tools, harvest it with
`mcpft catalogs harvest helpdesk -- python helpdesk.py`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading
from datetime import date, timedelta
from random import Random
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

Category = Literal["hardware", "software", "network", "access", "other"]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["open", "in_progress", "waiting", "resolved", "closed"]
Agent = Literal["amara.okafor", "ben.kowalski", "chen.li", "dana.reyes", "erik.lund", "fatima.haddad"]
TicketId = Annotated[int, Field(ge=1, description="The ticket number, e.g. 42")]

AGENTS = {
    "amara.okafor": ("Amara Okafor", ["network", "access"]),
    "ben.kowalski": ("Ben Kowalski", ["hardware"]),
    "chen.li": ("Chen Li", ["software", "access"]),
    "dana.reyes": ("Dana Reyes", ["software"]),
    "erik.lund": ("Erik Lund", ["hardware", "network"]),
    "fatima.haddad": ("Fatima Haddad", ["other", "access"]),
}
SLA_HOURS = {"urgent": 4, "high": 8, "normal": 24, "low": 72}  # first response, business hours
SEED_TICKETS = 1200
SEED_START = date(2024, 6, 1)  # seeded tickets were opened between this day and 2025-06-30

_PROBLEMS = {
    "hardware": ["Laptop will not boot", "Docking station not detected", "Printer on floor {n} jams",
                 "Monitor flickers", "Keyboard keys stuck", "Battery drains in an hour"],
    "software": ["Outlook keeps asking for the password", "VPN client crashes on start", "Excel macro fails",
                 "Teams has no sound", "License expired for the design suite", "Browser extension blocked"],
    "network": ["Wi-Fi drops in meeting room {n}", "Cannot reach the file share", "Slow internet on floor {n}",
                "VPN disconnects every hour", "Ethernet port {n} dead"],
    "access": ["Locked out of my account", "Need access to the finance share", "MFA token lost",
               "New starter needs an account", "Password reset for the HR portal"],
    "other": ["Badge does not open door {n}", "Request a second monitor", "Move desk to floor {n}",
              "Question about the phone bill"],
}  # fmt: skip
_PEOPLE = ["alice.johnson", "bob.nguyen", "maria.garcia", "tom.becker", "priya.kapoor", "sam.ortiz", "lena.fischer",
           "omar.haddad", "yuki.tanaka", "grace.kim"]  # fmt: skip

SCHEMA = """
CREATE TABLE tickets (id INTEGER PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL,
  category TEXT NOT NULL, priority TEXT NOT NULL, status TEXT NOT NULL, requester TEXT NOT NULL,
  assignee TEXT, created TEXT NOT NULL, due TEXT, tags TEXT NOT NULL);
CREATE TABLE comments (id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  author TEXT NOT NULL, body TEXT NOT NULL, internal INTEGER NOT NULL, created TEXT NOT NULL);
"""


def seed(conn: sqlite3.Connection) -> None:
    """The same desk every time: SEED_TICKETS tickets and their comments, drawn with a fixed seed."""
    r = Random(1729)
    tickets, comments = [], []
    for i in range(1, SEED_TICKETS + 1):
        cat = r.choice(list(_PROBLEMS))
        title = r.choice(_PROBLEMS[cat]).format(n=r.randint(1, 9))
        created = SEED_START + timedelta(days=r.randint(0, 394))
        status = r.choices(["open", "in_progress", "waiting", "resolved", "closed"], [3, 2, 1, 2, 4])[0]
        assignee = None if status == "open" and r.random() < 0.6 else r.choice(list(AGENTS))
        due = (created + timedelta(days=r.randint(1, 14))).isoformat() if r.random() < 0.4 else None
        tags = r.sample(
            ["vip", "remote", "onboarding", "recurring", "hardware-swap", "security"], r.randint(0, 2)
        )
        requester = f"{r.choice(_PEOPLE)}@example.com"
        tickets.append((i, title, f"{title}. Reported by {requester}.", cat,
                        r.choices(["low", "normal", "high", "urgent"], [2, 5, 2, 1])[0], status, requester, assignee,
                        created.isoformat(), due, json.dumps(sorted(tags))))  # fmt: skip
        for _ in range(r.choice([0, 0, 1, 2])):
            comments.append((i, assignee or "helpdesk", "Looking into it.", 0, created.isoformat()))
    conn.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tickets)
    conn.executemany(
        "INSERT INTO comments (ticket_id, author, body, internal, created) VALUES (?, ?, ?, ?, ?)", comments
    )
    conn.commit()


class Period(BaseModel):
    """A stretch of days: from `start`, `days` long."""

    start: date = Field(description="First day, YYYY-MM-DD")
    days: int = Field(30, ge=1, le=366, description="How many days, 1 to 366")


def build_server(db: str = ":memory:", today: date | None = None) -> MCPServer:
    conn = sqlite3.connect(db, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    lock = threading.Lock()  # one connection, used from the SDK's worker threads one call at a time
    if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'tickets'").fetchone():
        conn.executescript(SCHEMA)
        seed(conn)
    day = (today or date.today()).isoformat()
    server = MCPServer(
        "helpdesk",
        instructions="IT help desk: create, find, assign, update and comment on support tickets.",
    )

    def ticket(ticket_id: int) -> dict:
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise ToolError(f"ticket {ticket_id} not found")
        return {**dict(row), "tags": json.loads(row["tags"])}

    def dumps(obj) -> str:
        return json.dumps(obj, ensure_ascii=False)

    @server.tool(description="Open a new support ticket. Returns the ticket with its number.")
    def create_ticket(
        title: Annotated[
            str, Field(min_length=3, max_length=120, description="Short summary of the problem")
        ],
        description: Annotated[str, Field(description="What happened, in the requester's words")],
        category: Category,
        requester_email: Annotated[
            str,
            Field(
                pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
                description="Email of the person who has the problem",
            ),
        ],  # fmt: skip
        priority: Priority = "normal",
        due_date: Annotated[date | None, Field(description="When it must be solved, YYYY-MM-DD")] = None,
        tags: Annotated[list[str], Field(max_length=5, description="Labels such as vip or remote")] = [],  # noqa: B006
    ) -> str:
        with lock:
            cur = conn.execute(
                "INSERT INTO tickets (title, description, category, priority, status, requester, assignee, created,"
                " due, tags) VALUES (?, ?, ?, ?, 'open', ?, NULL, ?, ?, ?)",
                (title, description, category, priority, requester_email, day,
                 due_date.isoformat() if due_date else None, json.dumps(sorted(set(tags)))),
            )  # fmt: skip
            conn.commit()
            return dumps(ticket(cur.lastrowid))

    @server.tool(description="Show one ticket with its comments.")
    def get_ticket(ticket_id: TicketId) -> str:
        with lock:
            t = ticket(ticket_id)
            rows = conn.execute(
                "SELECT author, body, internal, created FROM comments WHERE ticket_id = ? ORDER BY id",
                (ticket_id,),
            ).fetchall()
            return dumps({**t, "comments": [{**dict(c), "internal": bool(c["internal"])} for c in rows]})

    @server.tool(description="Find tickets by words in the title or description and by status, priority, "
                 "assignee or opening date. Newest first.")  # fmt: skip
    def search_tickets(
        query: Annotated[str | None, Field(description="Words to look for")] = None,
        status: Status | None = None,
        priority: Priority | None = None,
        assignee: Agent | None = None,
        opened_after: Annotated[
            date | None, Field(description="Only tickets opened on or after, YYYY-MM-DD")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=50, description="At most this many tickets, 1 to 50")] = 10,
    ) -> str:
        where, args = [], []
        if query:
            for word in query.split():
                where.append("(title LIKE ? OR description LIKE ?)")
                args += [f"%{word}%"] * 2
        for column, value in (("status", status), ("priority", priority), ("assignee", assignee)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if opened_after is not None:
            where.append("created >= ?")
            args.append(opened_after.isoformat())
        sql = "SELECT id, title, status, priority, assignee, created FROM tickets"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created DESC, id DESC LIMIT ?"
        with lock:
            rows = conn.execute(sql, (*args, limit)).fetchall()
        return dumps([dict(r) for r in rows])

    @server.tool(description="Move a ticket to another status; a note is added as a comment.")
    def update_status(
        ticket_id: TicketId,
        status: Status,
        note: Annotated[str | None, Field(description="Why, for the requester")] = None,
    ) -> str:
        with lock:
            before = ticket(ticket_id)["status"]
            if before == status:
                raise ToolError(f"ticket {ticket_id} is already {status}")
            conn.execute("UPDATE tickets SET status = ? WHERE id = ?", (status, ticket_id))
            if note:
                conn.execute(
                    "INSERT INTO comments (ticket_id, author, body, internal, created) VALUES (?, 'helpdesk', ?, 0, ?)",
                    (ticket_id, note, day),
                )
            conn.commit()
            return dumps({"id": ticket_id, "status": status, "was": before})

    @server.tool(description="Give a ticket to a help-desk agent (see the helpdesk://agents resource).")
    def assign_ticket(ticket_id: TicketId, assignee: Agent) -> str:
        with lock:
            before = ticket(ticket_id)["assignee"]
            conn.execute(
                "UPDATE tickets SET assignee = ?, status = CASE status WHEN 'open' THEN 'in_progress' ELSE status "
                "END WHERE id = ?",
                (assignee, ticket_id),
            )
            conn.commit()
            return dumps({"id": ticket_id, "assignee": assignee, "was": before})

    @server.tool(description="Add a comment to a ticket; internal comments are not shown to the requester.")
    def add_comment(
        ticket_id: TicketId,
        body: Annotated[str, Field(min_length=1, description="The comment")],
        internal: bool = False,
    ) -> str:
        with lock:
            ticket(ticket_id)
            conn.execute(
                "INSERT INTO comments (ticket_id, author, body, internal, created) VALUES (?, 'helpdesk', ?, ?, ?)",
                (ticket_id, body, int(internal), day),
            )
            conn.commit()
            n = conn.execute("SELECT COUNT(*) FROM comments WHERE ticket_id = ?", (ticket_id,)).fetchone()[0]
            return dumps({"id": ticket_id, "comments": n, "internal": internal})

    @server.tool(description="Count tickets grouped by status, priority, category or assignee, over all tickets or "
                 "those opened in a period.")  # fmt: skip
    def ticket_report(
        group_by: Literal["status", "priority", "category", "assignee"],
        period: Annotated[Period | None, Field(description="Only tickets opened in this period")] = None,
    ) -> str:
        sql, args = f"SELECT COALESCE({group_by}, 'unassigned') AS k, COUNT(*) FROM tickets", []
        if period is not None:
            sql += " WHERE created >= ? AND created < ?"
            args = [period.start.isoformat(), (period.start + timedelta(days=period.days)).isoformat()]
        with lock:
            rows = conn.execute(sql + " GROUP BY k ORDER BY k", args).fetchall()
        return dumps(
            {"group_by": group_by, "counts": {k: n for k, n in rows}, "total": sum(n for _, n in rows)}
        )

    @server.resource("helpdesk://agents", name="agents", description="The help-desk agents and what they handle.",
                     mime_type="application/json")  # fmt: skip
    def agents() -> str:
        return dumps([{"username": u, "name": n, "handles": h} for u, (n, h) in AGENTS.items()])

    @server.resource("helpdesk://sla", name="sla", description="Hours to first response by priority.",
                     mime_type="application/json")  # fmt: skip
    def sla() -> str:
        return dumps({"first_response_hours": SLA_HOURS})

    return server


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=":memory:", help="SQLite file of the desk (default: in memory)")
    ap.add_argument("--today", type=date.fromisoformat, default=None, help="the desk's date, YYYY-MM-DD")
    a = ap.parse_args(argv)
    build_server(a.db, a.today).run("stdio")


if __name__ == "__main__":
    main()
