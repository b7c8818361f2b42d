"""The SQLite store's statements, by name: ``queries.sql``, loaded once, at import.

Each block of the file is one statement::

    -- name: get_run
    -- One run by exact id, with its review decision.
    SELECT ... FROM runs WHERE id = ?

The comment line right after the name says what the statement does (required); more
comment lines may follow it as notes. Comments and blank lines around a statement are not
part of it. Loading fails, naming the line, on a name used twice, a ``-- name:`` line
without a valid name, a block without its comment or without a statement, or SQL before
the first ``-- name:`` line; asking :data:`QUERIES` for a name the file lacks fails too,
naming the file (the store's tests also check every name it uses at once).

What is still built in Python, and why:

- ``PRAGMA busy_timeout`` and ``PRAGMA user_version = N`` take a number SQLite cannot bind
  (PRAGMAs accept no parameters). Their text is in the file with a ``{slot}``, and
  :meth:`Queries.fill` puts integers only into it; no other text is ever pasted into SQL.
- Nothing else: ``claim_next``'s optional "only these runs" filter is a second statement
  (``pick_queued_run_among``) with its ids as one JSON parameter read by ``json_each``, so
  no statement is made of a variable number of ``?``. Commits and rollbacks are the
  ``sqlite3`` connection's own calls, and the migration scripts are their own files
  (``migrations/``, applied by :mod:`.schema`).
"""

from __future__ import annotations

import re
import string
from importlib import resources

#: The line that starts a block (at the very start of the line).
_HEADER = re.compile(r"-- name:(.*)")
_VALID_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class QueryFileError(ValueError):
    """``queries.sql`` is not a valid set of named statements."""


class Queries(dict[str, str]):
    """Statement text by name; a missing name is a :class:`KeyError` naming the file."""

    def __init__(self, queries: dict[str, str], source: str) -> None:
        super().__init__(queries)
        self.source = source

    def __missing__(self, name: str) -> str:
        raise KeyError(f"no query named {name!r} in {self.source}")

    def fill(self, name: str, **values: int) -> str:
        """The statement ``name`` with each of its ``{slot}``s replaced by an integer."""
        sql = self[name]
        slots = {field for _, field, _, _ in string.Formatter().parse(sql) if field is not None}
        if slots != set(values):
            raise ValueError(f"query {name!r} has slots {sorted(slots)}, given {sorted(values)}")
        for slot, value in values.items():
            # Only integers are pasted into SQL: their text cannot be anything but a number.
            if type(value) is not int:
                raise TypeError(f"query {name!r}: {slot} must be an int, not {value!r}")
        return sql.format(**values)


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("--")


def parse(text: str, source: str = "queries.sql") -> dict[str, str]:
    """The statements of a named-query file, by name (see the module's docstring)."""
    queries: dict[str, str] = {}
    header_line = 0  # the current block's ``-- name:`` line, 0 before the first one
    name = ""
    body: list[str] = []

    def fail(line: int, problem: str) -> QueryFileError:
        return QueryFileError(f"{source}:{line}: {problem}")

    def close_block() -> None:
        if not header_line:
            return
        first = body[0].strip() if body else ""
        if not first.startswith("--") or not first.lstrip("-").strip():
            raise fail(header_line + 1, f"query {name!r} lacks its one-line comment")
        lines = list(body)
        while lines and _is_comment_or_blank(lines[0]):
            lines.pop(0)
        while lines and _is_comment_or_blank(lines[-1]):
            lines.pop()
        if not lines:
            raise fail(header_line, f"query {name!r} has no statement")
        queries[name] = "\n".join(line.rstrip() for line in lines)

    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.fullmatch(line.rstrip())
        if header:
            close_block()
            name = header.group(1).strip()
            if not _VALID_NAME.fullmatch(name):
                raise fail(number, f"a query needs a name of a-z, 0-9 and _, not {name!r}")
            if name in queries:
                raise fail(number, f"a second query named {name!r}")
            header_line, body = number, []
        elif header_line:
            body.append(line)
        elif not _is_comment_or_blank(line):
            raise fail(number, "SQL before the first `-- name:` line belongs to no query")
    close_block()
    return queries


def load(package: str = "engine.adapters.store.sqlite", filename: str = "queries.sql") -> Queries:
    """The named statements of ``filename``, bundled in ``package``."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return Queries(parse(text, filename), filename)


#: Every statement the store runs, by name.
QUERIES = load()
