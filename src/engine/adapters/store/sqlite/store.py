"""SQLite implementation of :class:`engine.ports.store.RunStore` (aiosqlite, WAL mode).

One long-lived writer connection carries this process's writes; aiosqlite runs its calls
one at a time on the connection's thread, and every multi-statement transaction is sent
there as a single call, so coroutines never interleave inside each other's transactions.
A second, read-only connection serves queries, which in WAL mode never wait for a writer.
Several processes (a CLI and a background engine) may open the same file: writes that must
be atomic across them run in ``BEGIN IMMEDIATE`` transactions and ``busy_timeout`` makes
the loser wait.

Every free text written (a run's task and error, the guard ledger's action and reason,
steering messages) is masked here, where it is written: keys never reach the file. A write
that fails becomes one line naming the file (a full disk is told apart, exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from engine.disk import disk_full, free_space, nearly_full
from engine.domain.errors import BadInput, CockpitError, StoreError, UnknownRun
from engine.domain.events import Event, ReviewDecided, event_from_json, event_to_json
from engine.domain.guard import OVERRIDE, GuardRecord
from engine.domain.models import Run, SteeringMessage, apply_decision, utcnow
from engine.domain.redact import KEY_VARIABLES, Redactor
from engine.domain.state import ACTIVE, RunState

BUSY_TIMEOUT_MS = 5000
#: Space kept aside next to the store and given back when a run's end must be recorded
#: on a full disk: without it the run would stay ``running`` until a later command, on
#: a disk with room again, reaped it.
RESERVE_BYTES = 256 * 1024

T = TypeVar("T")

#: Columns of ``runs``, one per :class:`Run` field, in table order.
RUN_COLUMNS: tuple[str, ...] = (
    "id",
    "repo",
    "task",
    "agent",
    "state",
    "priority",
    "scenario",
    "skills",
    "branch",
    "base",
    "base_sha",
    "worktree",
    "turns_completed",
    "error",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "owner",
    "lease_expires_at",
    "cancel_requested",
)

#: Fields of :class:`Run` read from its ``review_decided`` event, not from a column.
DECISION_FIELDS: tuple[str, ...] = ("decision", "merge_sha", "decided_at", "nothing_to_merge")

_COLS = ", ".join(RUN_COLUMNS)
# Each run with its review decision: the data of its `review_decided` event (the
# partial index of migration 0004 finds it), NULL while undecided.
_DECISION = (
    "(SELECT d.data FROM events AS d WHERE d.run_id = runs.id"
    " AND d.type = 'review_decided' ORDER BY d.seq LIMIT 1)"
)
_SELECT_RUNS = f"SELECT {_COLS}, {_DECISION} FROM runs"
# Enum values are fixed identifiers, so inlining them as literals is safe.
_ACTIVE_SQL = "(" + ", ".join(f"'{s.value}'" for s in sorted(ACTIVE)) + ")"

_INSERT_RUN = f"INSERT INTO runs ({_COLS}) VALUES ({', '.join(':' + c for c in RUN_COLUMNS)})"

# save_run writes every column, with two guards against another writer's newer data:
# - a cancel request (set by a CLI process at any time) is never cleared by an engine
#   saving a stale copy of the run, except when the run is re-queued (resume starts over);
# - while the same owner keeps the run, its lease never moves backwards (renew_leases may
#   have extended it after the caller's copy was read).
_SAVE_RUN_GUARDED = {
    "cancel_requested": "CASE WHEN :state = 'queued' THEN :cancel_requested"
    " ELSE MAX(cancel_requested, :cancel_requested) END",
    "lease_expires_at": "CASE WHEN :owner IS NOT NULL AND owner IS :owner"
    " AND lease_expires_at > :lease_expires_at THEN lease_expires_at"
    " ELSE :lease_expires_at END",
}
_SAVE_RUN = (
    "UPDATE runs SET "
    + ", ".join(f"{c} = {_SAVE_RUN_GUARDED.get(c, ':' + c)}" for c in RUN_COLUMNS if c != "id")
    + " WHERE id = :id RETURNING lease_expires_at, cancel_requested"
)

# `at` is taken from the JSON by SQLite, on the writer thread: formatting a timestamp per
# event in Python cost as much as the whole insert (bench/bench_event_ingest.py).
_INSERT_EVENT = "INSERT INTO events (run_id, seq, type, at, data) VALUES (?1, ?2, ?3, json_extract(?4, '$.at'), ?4)"

_MIGRATION_NAME = re.compile(r"^(\d+)_.*\.sql$")


def _ts(dt: datetime) -> str:
    """Fixed-width ISO-8601 UTC text, so stored timestamps also sort correctly as text."""
    if dt.tzinfo is None:
        # Naive datetimes are UTC by convention (utcnow() is always aware anyway).
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _at(text: str) -> datetime:
    """A stored timestamp of a NOT NULL column."""
    return datetime.fromisoformat(text)


def _ts_opt(dt: datetime | None) -> str | None:
    return None if dt is None else _ts(dt)


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _run_to_row(run: Run) -> dict[str, Any]:
    """Named parameters for ``runs`` from a Run."""
    return {
        "id": run.id,
        "repo": run.repo,
        "task": run.task,
        "agent": run.agent,
        "state": run.state.value,
        "priority": run.priority,
        "scenario": run.scenario,
        "skills": json.dumps(run.skills),
        "branch": run.branch,
        "base": run.base,
        "base_sha": run.base_sha,
        "worktree": run.worktree,
        "turns_completed": run.turns_completed,
        "error": run.error,
        "created_at": _ts(run.created_at),
        "updated_at": _ts(run.updated_at),
        "started_at": _ts_opt(run.started_at),
        "finished_at": _ts_opt(run.finished_at),
        "owner": run.owner,
        "lease_expires_at": _ts_opt(run.lease_expires_at),
        "cancel_requested": int(run.cancel_requested),
    }


def _row_to_run(row: Sequence[Any]) -> Run:
    """A Run from a row selected as ``RUN_COLUMNS``, optionally followed by its
    ``review_decided`` event's data (as ``_SELECT_RUNS`` selects it)."""
    decision = row[len(RUN_COLUMNS)] if len(row) > len(RUN_COLUMNS) else None
    data = dict(zip(RUN_COLUMNS, row[: len(RUN_COLUMNS)], strict=True))
    data["state"] = RunState(data["state"])
    data["skills"] = json.loads(data["skills"])
    for key in ("created_at", "updated_at", "started_at", "finished_at", "lease_expires_at"):
        data[key] = _dt(data[key])
    data["cancel_requested"] = bool(data["cancel_requested"])
    run = Run(**data)
    event = event_from_json(decision) if decision is not None else None
    if isinstance(event, ReviewDecided):
        apply_decision(run, event)
    return run


def _split_statements(script: str) -> list[str]:
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


def _immediate(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` inside ``BEGIN IMMEDIATE`` … ``COMMIT``; roll back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.commit()
    except BaseException:
        # Also after a failed COMMIT, so the connection never stays inside a transaction.
        conn.rollback()
        raise
    return result


def _migrate_to(number: int, sql: str) -> Callable[[sqlite3.Connection], None]:
    """Transaction body applying migration ``number`` unless the schema already has it."""

    def work(conn: sqlite3.Connection) -> None:
        # Checked inside the write lock: another process may have just applied it.
        if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
            return
        for statement in _split_statements(sql):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")

    return work


class SqliteRunStore:
    """The :class:`~engine.ports.store.RunStore` backed by one SQLite file."""

    def __init__(self, path: Path, redactor: Redactor | None = None) -> None:
        self.path = Path(path)
        self.reserve_path = self.path.with_name(f"{self.path.name}-reserve")
        #: Masks free text before it is written (default: credential shapes and the
        #: values of the usual key variables; the engine masks its profiles' keys too).
        self.redactor = redactor or Redactor(os.environ.get(name) for name in KEY_VARIABLES)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None

    # --- lifecycle --------------------------------------------------------------------
    async def open(self) -> None:
        """Open the writer and reader connections and apply pending migrations."""
        if self._writer is not None:
            return
        if self.path.is_dir():
            raise StoreError(
                f"the run store {self.path} is a folder, not a database file"
                " (move it aside and Cockpit starts a new, empty one)"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"the run store's folder {self.path.parent} cannot be made: {exc.strerror}"
            ) from None
        try:
            await self._open()
            await asyncio.to_thread(self._make_reserve)
        except sqlite3.DatabaseError as exc:
            # One clear line naming the file (a corrupt or foreign file, no permission,
            # a lock never released), not a traceback from SQLite's worker thread.
            if self._out_of_space(exc):
                raise disk_full(self.path) from None
            hint = (
                " (move it aside and Cockpit starts a new, empty one)"
                if "not a database" in str(exc) or "malformed" in str(exc)
                else ""
            )
            raise StoreError(f"the run store {self.path} cannot be opened: {exc}{hint}") from None

    async def _open(self) -> None:
        writer = await self._connect()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            await writer.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await self._enable_wal(writer)
            await writer.execute("PRAGMA synchronous = NORMAL")
            await writer.execute("PRAGMA foreign_keys = ON")
            self._writer = writer
            await self._migrate()
            reader = await self._connect()
            self._reader = reader
            await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            # Also when cancelled half-way: a connection left open keeps its worker thread,
            # which is not a daemon, and the process could never exit.
            self._writer = writer
            await self.close()
            raise

    def _make_reserve(self) -> None:
        """Set :data:`RESERVE_BYTES` aside (written out: a sparse file would hold no
        space), unless it is there, or the disk has too little room to spare it."""
        if self.reserve_path.exists():
            return
        space = free_space(self.path)
        if space is None or space[0] < 4 * RESERVE_BYTES:
            return
        try:
            with self.reserve_path.open("xb") as reserve:
                reserve.write(b"\0" * RESERVE_BYTES)
        except FileExistsError:
            return  # another process made it meanwhile
        except OSError:
            # A read-only folder, or the disk filled meanwhile: no reserve this time.
            with contextlib.suppress(OSError):
                self.reserve_path.unlink(missing_ok=True)

    async def release_reserve(self) -> bool:
        """Give the reserve's space back, to record a run's end on a full disk; False
        when there was none (made again when the store is next opened with room)."""
        try:
            await asyncio.to_thread(self.reserve_path.unlink)
        except OSError:
            return False
        return True

    async def _connect(self) -> aiosqlite.Connection:
        """A connection to the file; isolation_level=None: no implicit BEGINs, every
        transaction here is explicit."""
        connection = aiosqlite.connect(self.path, isolation_level=None)
        try:
            return await connection
        except BaseException:
            # aiosqlite asks its worker thread to stop but does not wait for it: when the
            # CLI's loop closes first, that thread prints a traceback after our one line.
            await asyncio.to_thread(connection._thread.join, 5)
            raise

    @staticmethod
    async def _enable_wal(writer: aiosqlite.Connection) -> None:
        """Switch to WAL, retrying: the switch can fail as "locked" without waiting.

        Changing the journal mode needs an exclusive lock and SQLite may return
        SQLITE_BUSY without calling the busy handler when another process is opening the
        same fresh file at that moment; once the file is in WAL mode this is a no-op.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                rows = await writer.execute_fetchall("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.01)
                continue
            mode = next(iter(rows))[0]
            if mode != "wal":
                raise sqlite3.OperationalError(f"cannot enable WAL (journal_mode={mode})")
            return

    async def close(self) -> None:
        """Close both connections (committed data is already durable)."""
        pending = [c for c in (self._reader, self._writer) if c is not None]
        self._reader = self._writer = None
        try:
            while pending:
                # aiosqlite's close stops its worker thread even when cut short itself.
                await pending.pop(0).close()
        finally:
            # A close cut short (cancelled, or failing) must still stop the connections
            # not yet closed: their worker threads are not daemons, and one left waiting
            # for work keeps the process from ever exiting.
            for connection in pending:
                connection.stop()

    async def user_version(self) -> int:
        """The schema version (number of the last applied migration)."""
        rows = await self._w.execute_fetchall("PRAGMA user_version")
        return int(next(iter(rows))[0])

    async def _migrate(self) -> None:
        version = await self.user_version()
        for number, sql in migrations():
            if number > version:
                await self._write_tx(_migrate_to(number, sql))

    @property
    def _w(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("SqliteRunStore is not open")
        return self._writer

    @property
    def _r(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("SqliteRunStore is not open")
        return self._reader

    async def _write_tx(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(conn)`` in a ``BEGIN IMMEDIATE`` transaction as ONE call on the writer.

        aiosqlite has no public "run this callable on the connection's thread"; its
        ``_execute`` is exactly that. One call instead of one per statement means the
        cross-process write lock is held only while SQL runs (never while this event loop
        is busy elsewhere), no other coroutine's statement can land inside the
        transaction, and small batches skip two extra thread round trips.
        """
        writer = self._w
        try:
            return await writer._execute(lambda: _immediate(writer._conn, work))
        except sqlite3.IntegrityError:
            raise  # a broken invariant (a duplicate seq) is a bug, not the user's problem
        except (sqlite3.DatabaseError, OverflowError, UnicodeEncodeError) as exc:
            raise self._write_error(exc) from None

    async def _write(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """One statement on the writer (its rows, for ``RETURNING``)."""
        try:
            return list(await self._w.execute_fetchall(sql, params))
        except sqlite3.IntegrityError:
            raise
        except (sqlite3.DatabaseError, OverflowError, UnicodeEncodeError) as exc:
            raise self._write_error(exc) from None

    def _write_error(self, exc: Exception) -> CockpitError:
        """A failed write as one line naming the file: out of space (exit 1), a value
        SQLite cannot hold (bad input), or the store refusing (read-only, broken)."""
        if not isinstance(exc, sqlite3.DatabaseError):
            return BadInput(f"a value cannot be stored in {self.path}: {exc}")
        if self._out_of_space(exc):
            return disk_full(self.path)
        return StoreError(f"the run store {self.path} cannot be written: {exc}")

    def _out_of_space(self, exc: sqlite3.DatabaseError) -> bool:
        """Whether SQLite failed for want of space: it says so (SQLITE_FULL), or it only
        says "I/O error" (growing the -wal or -shm file) on a disk that is full."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code
        if code == sqlite3.SQLITE_FULL:
            return True
        return code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN) and nearly_full(self.path)

    def _masked(self, run: Run) -> dict[str, Any]:
        """``runs`` parameters of ``run``, its task and error masked."""
        row = _run_to_row(run)
        for column in ("task", "error"):
            if row[column]:
                row[column] = self.redactor.text(row[column])
        return row

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._r.execute_fetchall(sql, params))

    # --- runs -------------------------------------------------------------------------
    async def insert_run(self, run: Run, events: Sequence[Event] = ()) -> None:
        """Persist a new run, with its first ``events`` in the same transaction: no
        engine can claim it before they are stored, and a failure stores neither."""
        row = self._masked(run)
        events_rows = [(e.run_id, e.seq, e.type, event_to_json(e)) for e in events]

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(_INSERT_RUN, row)
            conn.executemany(_INSERT_EVENT, events_rows)

        await self._write_tx(work)

    async def get_run(self, run_id: str) -> Run | None:
        """One run by exact id."""
        rows = await self._read(f"{_SELECT_RUNS} WHERE id = ?", (run_id,))
        return _row_to_run(rows[0]) if rows else None

    async def find_runs(self, prefix: str) -> list[Run]:
        """Runs whose id starts with ``prefix``, oldest first."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._read(
            f"{_SELECT_RUNS} WHERE id LIKE ? ESCAPE '\\' ORDER BY created_at, rowid",
            (pattern,),
        )
        return [_row_to_run(row) for row in rows]

    async def list_runs(self) -> list[Run]:
        """Every run, oldest first."""
        rows = await self._read(f"{_SELECT_RUNS} ORDER BY created_at, rowid")
        return [_row_to_run(row) for row in rows]

    async def save_run(self, run: Run) -> None:
        """Write every field of ``run`` and stamp ``updated_at`` (also on ``run`` itself).

        A pending cancel request and a lease renewed meanwhile by the same owner win over
        the caller's stale copy; ``run`` is updated with the stored values.
        """
        run.updated_at = utcnow()
        rows = await self._write(_SAVE_RUN, self._masked(run))
        if not rows:
            raise UnknownRun(f"no run {run.id}")
        lease, cancel = next(iter(rows))
        run.lease_expires_at = _dt(lease)
        run.cancel_requested = bool(cancel)

    async def save_run_with_events(
        self, run: Run, events_after: Callable[[int], Sequence[Event]]
    ) -> Sequence[Event]:
        """Write ``run`` and the events ``events_after(last seq)`` makes, numbered inside
        the same transaction (see the port)."""
        run.updated_at = utcnow()
        row = self._masked(run)

        def work(conn: sqlite3.Connection) -> tuple[list[Any], Sequence[Event]]:
            saved = conn.execute(_SAVE_RUN, row).fetchall()
            if not saved:
                return saved, ()
            last = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run.id,)
            ).fetchone()[0]
            events = events_after(int(last))
            conn.executemany(
                _INSERT_EVENT, [(e.run_id, e.seq, e.type, event_to_json(e)) for e in events]
            )
            return saved, events

        saved, events = await self._write_tx(work)
        if not saved:
            raise UnknownRun(f"no run {run.id}")
        lease, cancel = saved[0]
        run.lease_expires_at = _dt(lease)
        run.cancel_requested = bool(cancel)
        return events

    async def claim_next(
        self,
        owner: str,
        lease_until: datetime,
        max_running: int,
        max_running_per_repo: int,
        only: Sequence[str] | None = None,
    ) -> Run | None:
        """Atomically move the best queued run that fits the limits to ``starting``."""
        if only is not None and not only:
            return None
        now = utcnow()
        only_clause = ""
        params: list[Any] = []
        if only is not None:
            # One JSON parameter instead of one per id: no SQLite variable limit.
            only_clause = "AND r.id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(only)))
        params.append(max_running_per_repo)
        pick = (
            f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)} FROM runs AS r"
            f" WHERE r.state = 'queued' {only_clause}"
            "  AND (SELECT COUNT(*) FROM runs AS a"
            f"       WHERE a.repo = r.repo AND a.state IN {_ACTIVE_SQL}) < ?"
            " ORDER BY r.priority DESC, r.created_at, r.rowid LIMIT 1"
        )

        def work(conn: sqlite3.Connection) -> Run | None:
            # Counts cover every engine's runs: BEGIN IMMEDIATE holds the write lock, so no
            # other process can claim between these counts and the update below.
            active = conn.execute(f"SELECT COUNT(*) FROM runs WHERE state IN {_ACTIVE_SQL}")
            if active.fetchone()[0] >= max_running:
                return None
            row = conn.execute(pick, params).fetchone()
            if row is None:
                return None
            run = _row_to_run(row)
            run.state = RunState.STARTING
            run.owner = owner
            run.lease_expires_at = lease_until
            run.updated_at = now
            conn.execute(
                "UPDATE runs SET state = ?, owner = ?, lease_expires_at = ?, updated_at = ?"
                " WHERE id = ?",
                (run.state.value, owner, _ts(lease_until), _ts(now), run.id),
            )
            return run

        return await self._write_tx(work)

    async def renew_leases(self, owner: str, lease_until: datetime) -> None:
        """Extend the lease of every active run owned by ``owner``.

        ``updated_at`` is left alone: a heartbeat is not a change anybody wants to see.
        """
        await self._write(
            f"UPDATE runs SET lease_expires_at = ? WHERE owner = ? AND state IN {_ACTIVE_SQL}",
            (_ts(lease_until), owner),
        )

    async def request_cancel(self, run_id: str) -> None:
        """Set the run's ``cancel_requested`` flag."""
        await self._write(
            "UPDATE runs SET cancel_requested = 1, updated_at = ? WHERE id = ?",
            (_ts(utcnow()), run_id),
        )

    # --- events -----------------------------------------------------------------------
    async def append_events(self, events: Sequence[Event]) -> None:
        """Insert a batch of events in one transaction with one ``executemany``."""
        if not events:
            return
        rows = [(e.run_id, e.seq, e.type, event_to_json(e)) for e in events]
        await self._write_tx(lambda conn: conn.executemany(_INSERT_EVENT, rows))

    async def events_for(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """Events of one run with ``seq > after_seq``, in seq order, as their own classes."""
        rows = await self._read(
            "SELECT data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after_seq),
        )
        return [event_from_json(row[0]) for row in rows]

    async def follow_events(
        self, after_id: int, limit: int = 1000, skip_runs: Collection[str] = ()
    ) -> tuple[int, list[Event]]:
        """Every run's events with ``id > after_id`` (at most ``limit`` rows), in
        insertion order, and the last id read: a UI keeps it and asks again. Ids grow in
        commit order because SQLite has a single writer at a time, so nothing is skipped.
        Rows of ``skip_runs`` (runs whose events the UI's own engine already delivers)
        advance the cursor but are not decoded."""
        rows = await self._read(
            "SELECT id, run_id, data FROM events WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        if not rows:
            return after_id, []
        skip = set(skip_runs)
        events = [event_from_json(data) for _, run_id, data in rows if run_id not in skip]
        return rows[-1][0], events

    async def events_tail(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[Event]:
        """The newest ``limit`` events of a run (older than ``before_seq`` if given), in order.

        A UI shows the end of a transcript first and loads earlier pages on demand.
        """
        rows = await self._read(
            "SELECT data FROM events WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (run_id, before_seq if before_seq is not None else 2**62, limit),
        )
        return [event_from_json(row[0]) for row in reversed(rows)]

    async def last_event_id(self) -> int:
        """The id of the newest event of any run (0 when none): where a follower starts."""
        rows = await self._read("SELECT COALESCE(MAX(id), 0) FROM events", ())
        return int(rows[0][0])

    async def last_seq(self, run_id: str) -> int:
        """Highest stored seq of a run (0 when none)."""
        rows = await self._read(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run_id,)
        )
        return int(rows[0][0])

    # --- steering ---------------------------------------------------------------------
    async def add_steering(self, run_id: str, text: str) -> SteeringMessage:
        """Queue a message for a run; returns it with its id."""
        created = utcnow()
        text = self.redactor.text(text)
        rows = await self._write(
            "INSERT INTO steering (run_id, text, created_at) VALUES (?, ?, ?) RETURNING id",
            (run_id, text, _ts(created)),
        )
        steering_id = next(iter(rows))[0]
        return SteeringMessage(id=steering_id, run_id=run_id, text=text, created_at=created)

    async def pending_steering(self, run_id: str) -> list[SteeringMessage]:
        """Undelivered messages of a run, oldest first."""
        rows = await self._read(
            "SELECT id, run_id, text, created_at FROM steering"
            " WHERE run_id = ? AND delivered_at IS NULL ORDER BY id",
            (run_id,),
        )
        return [
            SteeringMessage(
                id=r[0], run_id=r[1], text=r[2], created_at=datetime.fromisoformat(r[3])
            )
            for r in rows
        ]

    async def save_agent_state(self, run_id: str, data: dict[str, Any]) -> None:
        """Replace what the run's backend keeps for resuming (JSON-serialisable)."""
        await self._write(
            "INSERT INTO agent_state (run_id, data, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            (run_id, json.dumps(data), _ts(datetime.now(UTC))),
        )

    async def load_agent_state(self, run_id: str) -> dict[str, Any] | None:
        """What :meth:`save_agent_state` kept for the run, or None."""
        rows = await self._read("SELECT data FROM agent_state WHERE run_id = ?", (run_id,))
        return json.loads(rows[0][0]) if rows else None

    async def record_guard(self, record: GuardRecord) -> None:
        """Add a decision to the guard's ledger."""
        await self._write(
            "INSERT INTO guard_decisions"
            " (run_id, at, tool, kind, action, rule, decision, outcome, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.run_id,
                _ts(record.at),
                record.tool,
                record.kind,
                self.redactor.text(record.action),
                record.rule,
                record.decision,
                record.outcome,
                self.redactor.text(record.reason) if record.reason else record.reason,
            ),
        )

    async def guard_ledger(self, run_id: str | None = None) -> list[GuardRecord]:
        """The ledger, oldest first: one run's decisions, or every run's."""
        query = (
            "SELECT run_id, at, tool, kind, action, rule, decision, outcome, reason"
            " FROM guard_decisions"
        )
        rows = await (
            self._read(query + " WHERE run_id = ? ORDER BY id", (run_id,))
            if run_id is not None
            else self._read(query + " ORDER BY id", ())
        )
        return [
            GuardRecord(r[0], _at(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows
        ]

    async def guard_overrides(self, run_id: str) -> set[str]:
        """The rules the human lifted for this run."""
        rows = await self._read(
            "SELECT DISTINCT rule FROM guard_decisions WHERE run_id = ? AND decision = ?",
            (run_id, OVERRIDE),
        )
        return {r[0] for r in rows}

    async def guard_counts(self) -> dict[str, dict[str, int]]:
        """Per rule, how many calls it got allowed and refused."""
        rows = await self._read(
            "SELECT rule, outcome, COUNT(*) FROM guard_decisions GROUP BY rule, outcome", ()
        )
        counts: dict[str, dict[str, int]] = {}
        for rule, outcome, count in rows:
            counts.setdefault(rule, {})[outcome] = count
        return counts

    async def mark_delivered(self, steering_id: int, at: datetime) -> None:
        """Record that the backend delivered a message."""
        await self._write(
            "UPDATE steering SET delivered_at = ? WHERE id = ?", (_ts(at), steering_id)
        )
