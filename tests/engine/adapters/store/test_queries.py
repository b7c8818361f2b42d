"""queries.sql and its loader: every statement the store names exists, parses, and agrees
with the columns and states the Python side assumes."""

from __future__ import annotations

import ast
import gc
import re
import sqlite3
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from engine.adapters.store.sqlite import queries as queries_module
from engine.adapters.store.sqlite.queries import QUERIES, Queries, QueryFileError, parse
from engine.adapters.store.sqlite.rows import RUN_COLUMNS
from engine.adapters.store.sqlite.schema import migrations, split_statements
from engine.domain.state import ACTIVE

PACKAGE = Path(queries_module.__file__).parent
#: Statements whose rows become Runs: RUN_COLUMNS, then the review decision or not.
RUN_SELECTS = {
    "get_run": True,
    "find_runs": True,
    "list_runs": True,
    "pick_queued_run": False,
    "pick_queued_run_among": False,
}
#: Values of the two ``{slot}`` statements, as the store fills them.
SLOTS = {"set_busy_timeout": {"ms": 5000}, "set_user_version": {"version": 4}}


def literal_name(node: ast.expr, module: Path) -> str:
    """A query name written as a string literal (a computed one could not be checked)."""
    assert isinstance(node, ast.Constant), f"{module.name}: a query name that is computed"
    assert isinstance(node.value, str), f"{module.name}: a query name that is not text"
    return node.value


def names_used_by_the_store() -> set[str]:
    """Every ``QUERIES["name"]`` and ``QUERIES.fill("name", ...)`` in the package's code."""
    used: set[str] = set()
    # Collect garbage left by earlier tests of this worker first: a finalizer that fails
    # while ast builds its tree trips CPython 3.11's depth check (gh-106905), a SystemError.
    gc.collect()
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "QUERIES"
            ):
                used.add(literal_name(node.slice, module))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "fill"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "QUERIES"
            ):
                used.add(literal_name(node.args[0], module))
    return used


def sql_of(name: str) -> str:
    return QUERIES.fill(name, **SLOTS[name]) if name in SLOTS else QUERIES[name]


@pytest.fixture
def schema() -> Iterator[sqlite3.Connection]:
    """An in-memory database with every migration applied."""
    con = sqlite3.connect(":memory:")
    for _, script in migrations():
        for statement in split_statements(script):
            con.execute(statement)
    yield con
    con.close()


def test_every_name_the_store_uses_exists_and_every_query_is_used() -> None:
    used = names_used_by_the_store()
    assert used, "the scan found no query names: QUERIES is no longer how the store asks"
    assert used - set(QUERIES) == set(), "names the store asks for but queries.sql lacks"
    assert set(QUERIES) - used == set(), "queries nothing runs"


def test_every_statement_compiles_against_the_schema(schema: sqlite3.Connection) -> None:
    for name in QUERIES:
        sql = sql_of(name)
        if sql.startswith(("PRAGMA", "BEGIN")):
            continue  # EXPLAIN of these says nothing; they run on every open anyway
        # EXPLAIN prepares the statement (tables, columns, syntax) without running it.
        parameters = {p[1:]: None for p in re.findall(r":\w+", sql)}
        count = len(re.findall(r"\?(?!\d)", sql)) or len(set(re.findall(r"\?\d+", sql)))
        schema.execute(f"EXPLAIN {sql}", parameters or [None] * count)


def test_run_statements_select_and_write_the_columns_of_run_columns(
    schema: sqlite3.Connection,
) -> None:
    for name, with_decision in RUN_SELECTS.items():
        parameters = {"only": "[]", "max_running_per_repo": 1} if "pick" in name else ("x",)
        if name == "list_runs":
            parameters = ()
        cursor = schema.execute(QUERIES[name], parameters)
        selected = [column[0] for column in cursor.description]
        assert selected[: len(RUN_COLUMNS)] == list(RUN_COLUMNS), name
        assert len(selected) == len(RUN_COLUMNS) + with_decision, name

    insert = QUERIES["insert_run"]
    listed = re.search(r"INSERT INTO runs \((.*?)\)", insert, re.S)
    assert listed is not None
    assert [c.strip() for c in listed.group(1).split(",")] == list(RUN_COLUMNS)
    values = re.search(r"VALUES \((.*?)\)", insert, re.S)
    assert values is not None
    assert [v.strip() for v in values.group(1).split(",")] == [f":{c}" for c in RUN_COLUMNS]

    save = QUERIES["save_run"]
    assigned = re.findall(r"^\s+(\w+) = ", save.split(" SET", 1)[1], re.M)
    assert assigned == [c for c in RUN_COLUMNS if c != "id"]
    assert set(re.findall(r":(\w+)", save)) == set(RUN_COLUMNS)


def test_the_active_states_written_in_sql_are_those_of_the_domain() -> None:
    found = 0
    for name, sql in QUERIES.items():
        for listed in re.findall(r"state IN \(([^)]*)\)", sql):
            found += 1
            states = {v.strip().strip("'") for v in listed.split(",")}
            assert states == {s.value for s in ACTIVE}, name
    assert found == 4  # count_active_runs, renew_leases, pick_queued_run(_among)


def test_the_bundled_file_parses_to_what_is_loaded() -> None:
    text = resources.files("engine.adapters.store.sqlite").joinpath("queries.sql").read_text()
    assert parse(text) == dict(QUERIES)
    assert QUERIES["last_event_id"] == "SELECT COALESCE(MAX(id), 0) FROM events"


def test_blocks_are_named_commented_statements() -> None:
    text = """-- A file header.

-- name: one
-- The first.
-- A note on it.
SELECT 1
  -- an inner comment stays
  + 1

-- a section comment after it is not part of it

-- name: two
-- The second.
SELECT 2
"""
    assert parse(text) == {"one": "SELECT 1\n  -- an inner comment stays\n  + 1", "two": "SELECT 2"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "-- name: a\n-- A.\nSELECT 1\n\n-- name: a\n-- Again.\nSELECT 2\n",
            "x.sql:5: a second query named 'a'",
        ),
        ("-- name:\n-- Nameless.\nSELECT 1\n", "x.sql:1: a query needs a name"),
        ("-- name: Bad-Name\n-- A.\nSELECT 1\n", "x.sql:1: a query needs a name"),
        ("SELECT 0\n-- name: a\n-- A.\nSELECT 1\n", "x.sql:1: SQL before the first"),
        ("-- name: a\nSELECT 1\n", "x.sql:2: query 'a' lacks its one-line comment"),
        ("-- name: a\n-- A.\n\n-- name: b\n-- B.\nSELECT 1\n", "x.sql:1: query 'a' has no"),
    ],
)
def test_a_malformed_file_fails_loudly_naming_the_line(text: str, problem: str) -> None:
    with pytest.raises(QueryFileError) as caught:
        parse(text, "x.sql")
    assert str(caught.value).startswith(problem)


def test_asking_for_a_missing_name_fails_naming_the_file() -> None:
    with pytest.raises(KeyError, match=r"no query named 'nope' in queries\.sql"):
        QUERIES["nope"]
    with pytest.raises(KeyError, match="nope"):
        QUERIES.fill("nope", ms=1)


def test_fill_puts_integers_only_into_the_named_slots() -> None:
    queries = Queries({"q": "PRAGMA user_version = {version}"}, "x.sql")
    assert queries.fill("q", version=7) == "PRAGMA user_version = 7"
    with pytest.raises(TypeError, match="must be an int"):
        queries.fill("q", version="7; DROP TABLE runs")  # ty: ignore[invalid-argument-type]
    with pytest.raises(TypeError, match="must be an int"):
        queries.fill("q", version=True)
    with pytest.raises(ValueError, match="slots"):
        queries.fill("q")
    with pytest.raises(ValueError, match="slots"):
        queries.fill("q", version=7, other=1)
    assert QUERIES.fill("set_busy_timeout", ms=5000) == "PRAGMA busy_timeout = 5000"
