"""The store's schema: the bundled migrations (``migrations/NNNN_*.sql``) and how one is
applied inside the store's write transaction."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from importlib import resources

from engine.adapters.store.sqlite.queries import QUERIES

_MIGRATION_NAME = re.compile(r"^(\d+)_.*\.sql$")


def split_statements(script: str) -> list[str]:
    """Split a SQL script into statements (``executescript`` cannot run in a transaction).

    Python 3.11's ``executescript`` commits any open transaction first, which would let two
    processes both apply the same migration; so statements are run one by one instead.
    ``sqlite3.complete_statement`` knows about strings, comments and trigger bodies.
    """
    statements: list[str] = []
    start = 0
    for i, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : i + 1]):
            statements.append(script[start : i + 1])
            start = i + 1
    rest = script[start:]
    if _strip_comments(rest):
        statements.append(rest)
    return statements


def _strip_comments(sql: str) -> str:
    """``sql`` without ``--`` line comments and surrounding blanks (to skip empty chunks)."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip()


def migrations() -> list[tuple[int, str]]:
    """``(number, sql)`` of every bundled migration, in order."""
    folder = resources.files("engine.adapters.store.sqlite").joinpath("migrations")
    found: list[tuple[int, str]] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    return found


def migrate_to(number: int, sql: str) -> Callable[[sqlite3.Connection], None]:
    """Transaction body applying migration ``number`` unless the schema already has it."""

    def work(conn: sqlite3.Connection) -> None:
        # Checked inside the write lock: another process may have just applied it.
        if conn.execute(QUERIES["get_user_version"]).fetchone()[0] >= number:
            return
        for statement in split_statements(sql):
            conn.execute(statement)
        conn.execute(QUERIES.fill("set_user_version", version=number))

    return work
