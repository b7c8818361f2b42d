"""The store's rows to and from domain objects: runs, events, timestamps."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.domain.events import Event, ReviewDecided, event_from_json, event_to_json
from engine.domain.models import Run, apply_decision
from engine.domain.state import RunState

#: Columns of ``runs``, one per :class:`Run` field, in table order (and in the order the
#: run queries of queries.sql select them).
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


def ts(dt: datetime) -> str:
    """Fixed-width ISO-8601 UTC text, so stored timestamps also sort correctly as text."""
    if dt.tzinfo is None:
        # Naive datetimes are UTC by convention (utcnow() is always aware anyway).
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def ts_or_none(dt: datetime | None) -> str | None:
    return None if dt is None else ts(dt)


def parse_ts(text: str) -> datetime:
    """A stored timestamp of a NOT NULL column."""
    return datetime.fromisoformat(text)


def parse_ts_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def run_to_row(run: Run) -> dict[str, Any]:
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
        "created_at": ts(run.created_at),
        "updated_at": ts(run.updated_at),
        "started_at": ts_or_none(run.started_at),
        "finished_at": ts_or_none(run.finished_at),
        "owner": run.owner,
        "lease_expires_at": ts_or_none(run.lease_expires_at),
        "cancel_requested": int(run.cancel_requested),
    }


def row_to_run(row: Sequence[Any]) -> Run:
    """A Run from a row selected as ``RUN_COLUMNS``, optionally followed by its
    ``review_decided`` event's data (as ``get_run``, ``find_runs`` and ``list_runs``
    select it)."""
    decision = row[len(RUN_COLUMNS)] if len(row) > len(RUN_COLUMNS) else None
    data = dict(zip(RUN_COLUMNS, row[: len(RUN_COLUMNS)], strict=True))
    data["state"] = RunState(data["state"])
    data["skills"] = json.loads(data["skills"])
    for key in ("created_at", "updated_at", "started_at", "finished_at", "lease_expires_at"):
        data[key] = parse_ts_or_none(data[key])
    data["cancel_requested"] = bool(data["cancel_requested"])
    run = Run(**data)
    event = event_from_json(decision) if decision is not None else None
    if isinstance(event, ReviewDecided):
        apply_decision(run, event)
    return run


def event_rows(events: Iterable[Event]) -> list[tuple[str, int, str, str]]:
    """Parameters of ``insert_event`` (run id, seq, type, JSON data), one per event."""
    return [(e.run_id, e.seq, e.type, event_to_json(e)) for e in events]
