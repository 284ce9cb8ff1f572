"""Intents of mcp-server-sqlite."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import Any

from mcpft_lib.core.schema import RESOURCE_TOOL
from mcpft_lib.data.scenario import Scenario, Step, call, fmt, intent, load_text, random_date
from mcpft_lib.mcp.world import (
    COUNTRIES,
    ORDER_STATUSES,
    PEOPLE,
    PRODUCT_CATEGORIES,
    PRODUCTS,
    SQL_TABLES,
    email_of,
)

_TEXT = load_text(__file__)
PHRASES = _TEXT["phrases"]
NEW_TABLES = list(_TEXT["new_tables"].items())  # (name, column definitions)
TABLE_HINTS = list(_TEXT["table_hints"].items())  # (table, description)
SINGULAR_TABLES = _TEXT["singular_tables"]  # (wrong name, right name, what it holds)


def rows_text(rows: Sequence[dict[str, Any]]) -> str:
    return str(list(rows))  # the server returns str(list_of_dicts)


def sql_read(r: Random) -> tuple[str, str, str, str]:
    """(user request, SQL, result, answer) for one of several query kinds."""
    kind = r.randrange(7)
    if kind == 0:
        country, n = r.choice(COUNTRIES), r.randrange(3, 5000)
        sql = f"SELECT COUNT(*) AS n FROM users WHERE country = '{country}'"
        user = fmt(r, PHRASES["sql_read"]["ask_users_from"], c=country)
        return user, sql, rows_text([{"n": n}]), f"There are {n} users from {country}."
    if kind == 1:
        k = r.choice((3, 5, 10))
        sql = f"SELECT name, price FROM products ORDER BY price DESC LIMIT {k}"
        rows = [{"name": p, "price": round(r.uniform(20, 900), 2)} for p in r.sample(PRODUCTS, k)]
        rows.sort(key=lambda x: -x["price"])
        user = fmt(r, PHRASES["sql_read"]["ask_priciest"], k=k)
        return (
            user,
            sql,
            rows_text(rows),
            "\n".join(f"{i + 1}. {x['name']}: ${x['price']}" for i, x in enumerate(rows)),
        )
    if kind == 2:
        status, total = r.choice(ORDER_STATUSES), round(r.uniform(1000, 250000), 2)
        sql = f"SELECT SUM(total) AS revenue FROM orders WHERE status = '{status}'"
        user = fmt(r, PHRASES["sql_read"]["ask_status_total"], s=status)
        return (
            user,
            sql,
            rows_text([{"revenue": total}]),
            f"{status.capitalize()} orders total ${total:,.2f}.",
        )
    if kind == 3:
        day = random_date(r).date().isoformat()
        people = r.sample(PEOPLE, r.randrange(1, 4))
        sql = f"SELECT id, name, email FROM users WHERE created_at >= '{day}' ORDER BY created_at"
        rows = [{"id": r.randrange(1, 9999), "name": p, "email": email_of(p)} for p in people]
        user = fmt(r, PHRASES["sql_read"]["ask_signups"], d=day)
        return user, sql, rows_text(rows), f"{len(rows)} user(s) since {day}: " + ", ".join(people) + "."
    if kind == 4:
        sql = "SELECT status, COUNT(*) AS n FROM orders GROUP BY status"
        rows = [{"status": s, "n": r.randrange(1, 900)} for s in sorted(r.sample(ORDER_STATUSES, 3))]
        user = r.choice(PHRASES["sql_read"]["ask_by_status"])
        return (
            user,
            sql,
            rows_text(rows),
            "Orders by status: " + ", ".join(f"{x['status']} {x['n']}" for x in rows) + ".",
        )
    if kind == 5:
        k = r.choice((5, 10, 20))
        sql = f"SELECT name, stock FROM products WHERE stock < {k} ORDER BY stock"
        rows = sorted(
            ({"name": p, "stock": r.randrange(0, k)} for p in r.sample(PRODUCTS, 2)), key=lambda x: x["stock"]
        )
        user = fmt(r, PHRASES["sql_read"]["ask_low_stock"], k=k)
        return (
            user,
            sql,
            rows_text(rows),
            "Low stock: " + ", ".join(f"{x['name']} ({x['stock']})" for x in rows) + ".",
        )
    cat = r.choice(PRODUCT_CATEGORIES)
    sql = f"SELECT AVG(price) AS avg_price FROM products WHERE category = '{cat}'"
    avg = round(r.uniform(5, 400), 2)
    user = fmt(r, PHRASES["sql_read"]["ask_query"], sql=sql)
    return user, sql, rows_text([{"avg_price": avg}]), f"The average {cat} price is ${avg}."


@intent("single_call", "sqlite/read_query")
def _sql_read_query(r: Random) -> Scenario:
    user, sql, res, answer = sql_read(r)
    return Scenario(user, [Step(call("sqlite", "read_query", query=sql), res)], answer)


@intent("single_call", "sqlite/write_query")
def _sql_write_query(r: Random) -> Scenario:
    kind = r.randrange(3)
    if kind == 0:
        name = r.choice(PEOPLE)
        country = r.choice(COUNTRIES)
        sql = f"INSERT INTO users (name, email, country) VALUES ('{name}', '{email_of(name)}', '{country}')"
        user = fmt(r, PHRASES["sql_write_query"]["ask_insert"], n=name, e=email_of(name), c=country)
        affected, answer = 1, f"Added {name}."
    elif kind == 1:
        oid, status = r.randrange(1, 9999), r.choice(ORDER_STATUSES)
        sql = f"UPDATE orders SET status = '{status}' WHERE id = {oid}"
        user = fmt(r, PHRASES["sql_write_query"]["ask_update"], o=oid, s=status)
        affected, answer = 1, f"Order {oid} is now {status}."
    else:
        day = random_date(r, 2023, 1).date().isoformat()
        sql = f"DELETE FROM events WHERE ts < '{day}'"
        user = fmt(r, PHRASES["sql_write_query"]["ask_delete"], d=day)
        affected = r.randrange(0, 40000)
        answer = f"Deleted {affected} event(s) older than {day}."
    return Scenario(
        user,
        [Step(call("sqlite", "write_query", query=sql), rows_text([{"affected_rows": affected}]))],
        answer,
    )


@intent("single_call", "sqlite/list_tables")
def _sql_list_tables(r: Random) -> Scenario:
    user = r.choice(PHRASES["sql_list_tables"]["ask"])
    names = list(SQL_TABLES)
    return Scenario(user, [Step(call("sqlite", "list_tables"), rows_text([{"name": n} for n in names]))],
                    "Tables: " + ", ".join(f"`{n}`" for n in names) + ".")  # fmt: skip


def pragma_table_info(table: str) -> str:
    return rows_text([{"cid": i, "name": c, "type": t, "notnull": 0, "dflt_value": None, "pk": pk}
                  for i, (c, t, pk) in enumerate(SQL_TABLES[table])])  # fmt: skip


@intent("single_call", "sqlite/describe_table")
def _sql_describe(r: Random) -> Scenario:
    table = r.choice(list(SQL_TABLES))
    user = fmt(r, PHRASES["sql_describe"]["ask"], t=table)
    cols = ", ".join(f"`{c}` {t}" for c, t, _ in SQL_TABLES[table])
    return Scenario(
        user,
        [Step(call("sqlite", "describe_table", table_name=table), pragma_table_info(table))],
        f"`{table}` has: {cols}.",
    )


@intent("single_call", "sqlite/create_table")
def _sql_create(r: Random) -> Scenario:
    name, cols = r.choice(NEW_TABLES)
    sql = f"CREATE TABLE {name} ({cols})"
    user = fmt(r, PHRASES["sql_create"]["ask"], n=name, c=cols)
    return Scenario(user, [Step(call("sqlite", "create_table", query=sql), f"Table created successfully: {name}")],
                    f"Created table `{name}`.")  # fmt: skip


@intent("single_call", "sqlite/append_insight")
def _sql_insight(r: Random) -> Scenario:
    insight = r.choice(PHRASES["sql_insight"]["insight"])
    user = fmt(r, PHRASES["sql_insight"]["ask"], i=insight)
    return Scenario(user, [Step(call("sqlite", "append_insight", insight=insight), "Insight added to memo")],
                    "Added to the insights memo.")  # fmt: skip


@intent("resource_access", "sqlite/" + RESOURCE_TOOL)
def _sql_memo(r: Random) -> Scenario:
    user = r.choice(PHRASES["sql_memo"]["ask"])
    items = r.sample(PHRASES["sql_memo"]["insights"], 2)
    memo = "📊 Business Intelligence Memo 📊\n\nKey Insights Discovered:\n\n" + "\n".join(
        f"- {i}" for i in items
    )
    return Scenario(user, [Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), memo)],
                    "The memo lists:\n" + "\n".join(f"- {i}" for i in items))  # fmt: skip


@intent("resource_access", "sqlite/" + RESOURCE_TOOL, "sqlite/append_insight")
def _sql_memo_then_add(r: Random) -> Scenario:
    known, new = r.sample(PHRASES["sql_memo_then_add"]["insights"], 2)
    user = fmt(r, PHRASES["sql_memo_then_add"]["ask"], i=new)
    memo = "📊 Business Intelligence Memo 📊\n\nKey Insights Discovered:\n\n- " + known
    steps = [
        Step(call("sqlite", RESOURCE_TOOL, uri="memo://insights"), memo),
        Step(call("sqlite", "append_insight", insight=new), "Insight added to memo", text="It isn't there yet. Adding it."),
    ]  # fmt: skip
    return Scenario(user, steps, "The memo didn't have it; it's recorded now.", difficulty="medium")


@intent("multi_step", "sqlite/list_tables", "sqlite/describe_table")
def _sql_find_table(r: Random) -> Scenario:
    table, hint = r.choice(TABLE_HINTS)
    user = fmt(r, PHRASES["sql_find_table"]["ask"], h=hint)
    steps = [
        Step(call("sqlite", "list_tables"), rows_text([{"name": n} for n in SQL_TABLES])),
        Step(call("sqlite", "describe_table", table_name=table), pragma_table_info(table), text=f"`{table}` looks right; describing it."),
    ]  # fmt: skip
    cols = ", ".join(f"`{c}` {t}" for c, t, _ in SQL_TABLES[table])
    return Scenario(user, steps, f"{hint.capitalize()} live in `{table}`: {cols}.", difficulty="medium")


@intent("error_handling", "sqlite/read_query", "sqlite/list_tables")
def _sql_wrong_table(r: Random) -> Scenario:
    wrong, right, what = r.choice(SINGULAR_TABLES)
    n = r.randrange(5, 9000)
    user = fmt(r, PHRASES["sql_wrong_table"]["ask"], w=wrong)
    steps = [
        Step(call("sqlite", "read_query", query=f"SELECT COUNT(*) FROM {wrong}"), f"Database error: no such table: {wrong}", is_error=True),
        Step(call("sqlite", "list_tables"), rows_text([{"name": t} for t in SQL_TABLES]), text=f"There's no table `{wrong}`. Let me check the table names."),
        Step(call("sqlite", "read_query", query=f"SELECT COUNT(*) FROM {right}"), rows_text([{"COUNT(*)": n}]),
             text=f"The table is called `{right}`."),
    ]  # fmt: skip
    return Scenario(user, steps, f"There is no `{wrong}` table; `{right}` has {n} rows.", difficulty="hard")
