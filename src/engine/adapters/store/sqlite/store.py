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

Its statements are named in queries.sql (loaded by :mod:`.queries`); rows are made into
runs and events by :mod:`.rows`; migrations are applied by :mod:`.schema`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from engine.adapters.store.sqlite.queries import QUERIES
from engine.adapters.store.sqlite.rows import (
    event_rows,
    parse_ts,
    parse_ts_or_none,
    row_to_run,
    run_to_row,
    ts,
)
from engine.adapters.store.sqlite.schema import migrate_to, migrations
from engine.disk import disk_full, free_space, nearly_full
from engine.domain.errors import BadInput, CockpitError, StoreError, UnknownRun
from engine.domain.events import Event, events_from_json
from engine.domain.guard import OVERRIDE, GuardRecord
from engine.domain.models import Run, SteeringMessage, utcnow
from engine.domain.redact import KEY_VARIABLES, Redactor
from engine.domain.state import RunState

# ``migrations`` is also imported from here (bench/bench_event_ingest.py).
__all__ = ["BUSY_TIMEOUT_MS", "RESERVE_BYTES", "SqliteRunStore", "migrations"]

BUSY_TIMEOUT_MS = 5000
#: Space kept aside next to the store and given back when a run's end must be recorded
#: on a full disk: without it the run would stay ``running`` until a later command, on
#: a disk with room again, reaped it.
RESERVE_BYTES = 256 * 1024

T = TypeVar("T")


def _immediate(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` inside ``BEGIN IMMEDIATE`` … ``COMMIT``; roll back on any error."""
    conn.execute(QUERIES["begin_immediate"])
    try:
        result = work(conn)
        conn.commit()
    except BaseException:
        # Also after a failed COMMIT, so the connection never stays inside a transaction.
        conn.rollback()
        raise
    return result


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
            await writer.execute(QUERIES.fill("set_busy_timeout", ms=BUSY_TIMEOUT_MS))
            await self._enable_wal(writer)
            await writer.execute(QUERIES["set_synchronous_normal"])
            await writer.execute(QUERIES["enable_foreign_keys"])
            self._writer = writer
            await self._migrate()
            reader = await self._connect()
            self._reader = reader
            await reader.execute(QUERIES.fill("set_busy_timeout", ms=BUSY_TIMEOUT_MS))
            await reader.execute(QUERIES["set_query_only"])
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
                rows = await writer.execute_fetchall(QUERIES["enable_wal"])
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
        rows = await self._w.execute_fetchall(QUERIES["get_user_version"])
        return int(next(iter(rows))[0])

    async def _migrate(self) -> None:
        version = await self.user_version()
        for number, sql in migrations():
            if number > version:
                await self._write_tx(migrate_to(number, sql))

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
        row = run_to_row(run)
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
        first_events = event_rows(events)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(QUERIES["insert_run"], row)
            conn.executemany(QUERIES["insert_event"], first_events)

        await self._write_tx(work)

    async def get_run(self, run_id: str) -> Run | None:
        """One run by exact id."""
        rows = await self._read(QUERIES["get_run"], (run_id,))
        return row_to_run(rows[0]) if rows else None

    async def find_runs(self, prefix: str) -> list[Run]:
        """Runs whose id starts with ``prefix``, oldest first."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._read(QUERIES["find_runs"], (pattern,))
        return [row_to_run(row) for row in rows]

    async def list_runs(self) -> list[Run]:
        """Every run, oldest first."""
        rows = await self._read(QUERIES["list_runs"])
        return [row_to_run(row) for row in rows]

    async def save_run(self, run: Run) -> None:
        """Write every field of ``run`` and stamp ``updated_at`` (also on ``run`` itself).

        A pending cancel request and a lease renewed meanwhile by the same owner win over
        the caller's stale copy; ``run`` is updated with the stored values.
        """
        run.updated_at = utcnow()
        rows = await self._write(QUERIES["save_run"], self._masked(run))
        if not rows:
            raise UnknownRun(f"no run {run.id}")
        lease, cancel = next(iter(rows))
        run.lease_expires_at = parse_ts_or_none(lease)
        run.cancel_requested = bool(cancel)

    async def save_run_with_events(
        self, run: Run, events_after: Callable[[int], Sequence[Event]]
    ) -> Sequence[Event]:
        """Write ``run`` and the events ``events_after(last seq)`` makes, numbered inside
        the same transaction (see the port)."""
        run.updated_at = utcnow()
        row = self._masked(run)

        def work(conn: sqlite3.Connection) -> tuple[list[Any], Sequence[Event]]:
            saved = conn.execute(QUERIES["save_run"], row).fetchall()
            if not saved:
                return saved, ()
            last = conn.execute(QUERIES["last_seq"], (run.id,)).fetchone()[0]
            events = events_after(int(last))
            conn.executemany(QUERIES["insert_event"], event_rows(events))
            return saved, events

        saved, events = await self._write_tx(work)
        if not saved:
            raise UnknownRun(f"no run {run.id}")
        lease, cancel = saved[0]
        run.lease_expires_at = parse_ts_or_none(lease)
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
        params: dict[str, Any] = {"max_running_per_repo": max_running_per_repo}
        if only is None:
            pick = QUERIES["pick_queued_run"]
        else:
            # One JSON parameter instead of one per id: no SQLite variable limit.
            pick = QUERIES["pick_queued_run_among"]
            params["only"] = json.dumps(list(only))

        def work(conn: sqlite3.Connection) -> Run | None:
            # Counts cover every engine's runs: BEGIN IMMEDIATE holds the write lock, so no
            # other process can claim between these counts and the update below.
            active = conn.execute(QUERIES["count_active_runs"])
            if active.fetchone()[0] >= max_running:
                return None
            row = conn.execute(pick, params).fetchone()
            if row is None:
                return None
            run = row_to_run(row)
            run.state = RunState.STARTING
            run.owner = owner
            run.lease_expires_at = lease_until
            run.updated_at = now
            conn.execute(
                QUERIES["claim_run"],
                (run.state.value, owner, ts(lease_until), ts(now), run.id),
            )
            return run

        return await self._write_tx(work)

    async def renew_leases(self, owner: str, lease_until: datetime) -> None:
        """Extend the lease of every active run owned by ``owner``.

        ``updated_at`` is left alone: a heartbeat is not a change anybody wants to see.
        """
        await self._write(QUERIES["renew_leases"], (ts(lease_until), owner))

    async def request_cancel(self, run_id: str) -> None:
        """Set the run's ``cancel_requested`` flag."""
        await self._write(QUERIES["request_cancel"], (ts(utcnow()), run_id))

    # --- events -----------------------------------------------------------------------
    async def append_events(self, events: Sequence[Event]) -> None:
        """Insert a batch of events in one transaction with one ``executemany``."""
        if not events:
            return
        rows = event_rows(events)
        await self._write_tx(lambda conn: conn.executemany(QUERIES["insert_event"], rows))

    async def events_for(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """Events of one run with ``seq > after_seq``, in seq order, as their own classes."""
        rows = await self._read(QUERIES["events_for"], (run_id, after_seq))
        return events_from_json(row[0] for row in rows)

    async def follow_events(
        self, after_id: int, limit: int = 1000, skip_runs: Collection[str] = ()
    ) -> tuple[int, list[Event]]:
        """Every run's events with ``id > after_id`` (at most ``limit`` rows), in
        insertion order, and the last id read: a UI keeps it and asks again. Ids grow in
        commit order because SQLite has a single writer at a time, so nothing is skipped.
        Rows of ``skip_runs`` (runs whose events the UI's own engine already delivers)
        advance the cursor but are not decoded."""
        rows = await self._read(QUERIES["follow_events"], (after_id, limit))
        if not rows:
            return after_id, []
        skip = set(skip_runs)
        events = events_from_json(data for _, run_id, data in rows if run_id not in skip)
        return rows[-1][0], events

    async def events_tail(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[Event]:
        """The newest ``limit`` events of a run (older than ``before_seq`` if given), in order.

        A UI shows the end of a transcript first and loads earlier pages on demand.
        """
        return events_from_json(await self.events_tail_json(run_id, limit, before_seq))

    async def events_tail_json(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[str]:
        """:meth:`events_tail` as each event's stored JSON text, in order."""
        rows = await self._read(
            QUERIES["events_tail"],
            (run_id, before_seq if before_seq is not None else 2**62, limit),
        )
        return [row[0] if isinstance(row[0], str) else row[0].decode() for row in reversed(rows)]

    async def fact_events(self, after_id: int) -> tuple[int, list[Event]]:
        """The events that change runs' facts after ``after_id`` (read through their own
        index, ``events_facts``), and the id to go on from: the newest of any event when
        the read began, so the rows of other types are passed over once."""
        newest = max(await self.last_event_id(), after_id)
        rows = await self._read(QUERIES["fact_events"], (after_id, newest))
        return newest, events_from_json(row[1] for row in rows)

    async def last_event_id(self) -> int:
        """The id of the newest event of any run (0 when none): where a follower starts."""
        rows = await self._read(QUERIES["last_event_id"], ())
        return int(rows[0][0])

    async def last_seq(self, run_id: str) -> int:
        """Highest stored seq of a run (0 when none)."""
        rows = await self._read(QUERIES["last_seq"], (run_id,))
        return int(rows[0][0])

    # --- steering ---------------------------------------------------------------------
    async def add_steering(self, run_id: str, text: str) -> SteeringMessage:
        """Queue a message for a run; returns it with its id."""
        created = utcnow()
        text = self.redactor.text(text)
        rows = await self._write(QUERIES["add_steering"], (run_id, text, ts(created)))
        steering_id = next(iter(rows))[0]
        return SteeringMessage(id=steering_id, run_id=run_id, text=text, created_at=created)

    async def pending_steering(self, run_id: str) -> list[SteeringMessage]:
        """Undelivered messages of a run, oldest first."""
        rows = await self._read(QUERIES["pending_steering"], (run_id,))
        return [
            SteeringMessage(id=r[0], run_id=r[1], text=r[2], created_at=parse_ts(r[3]))
            for r in rows
        ]

    async def save_agent_state(self, run_id: str, data: dict[str, Any]) -> None:
        """Replace what the run's backend keeps for resuming (JSON-serialisable)."""
        await self._write(
            QUERIES["save_agent_state"], (run_id, json.dumps(data), ts(datetime.now(UTC)))
        )

    async def load_agent_state(self, run_id: str) -> dict[str, Any] | None:
        """What :meth:`save_agent_state` kept for the run, or None."""
        rows = await self._read(QUERIES["load_agent_state"], (run_id,))
        return json.loads(rows[0][0]) if rows else None

    async def record_guard(self, record: GuardRecord) -> None:
        """Add a decision to the guard's ledger."""
        await self._write(
            QUERIES["record_guard"],
            (
                record.run_id,
                ts(record.at),
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
        rows = await (
            self._read(QUERIES["guard_ledger_of_run"], (run_id,))
            if run_id is not None
            else self._read(QUERIES["guard_ledger"], ())
        )
        return [
            GuardRecord(r[0], parse_ts(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8])
            for r in rows
        ]

    async def guard_overrides(self, run_id: str) -> set[str]:
        """The rules the human lifted for this run."""
        rows = await self._read(QUERIES["guard_overrides"], (run_id, OVERRIDE))
        return {r[0] for r in rows}

    async def guard_counts(self) -> dict[str, dict[str, int]]:
        """Per rule, how many calls it got allowed and refused."""
        rows = await self._read(QUERIES["guard_counts"], ())
        counts: dict[str, dict[str, int]] = {}
        for rule, outcome, count in rows:
            counts.setdefault(rule, {})[outcome] = count
        return counts

    async def mark_delivered(self, steering_id: int, at: datetime) -> None:
        """Record that the backend delivered a message."""
        await self._write(QUERIES["mark_delivered"], (ts(at), steering_id))
