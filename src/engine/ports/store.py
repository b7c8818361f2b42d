"""RunStore: durable state of runs, their events and steering messages."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from engine.domain.events import Event
from engine.domain.guard import GuardRecord
from engine.domain.models import Run, SteeringMessage
from engine.domain.state import RunState


class RunStore(Protocol):
    """All persistence behind named async methods. SQLite is the source of truth."""

    async def open(self) -> None:
        """Open connections and apply pending migrations."""

    async def close(self) -> None:
        """Flush and close."""

    async def release_reserve(self) -> bool:
        """Give back the disk space kept aside for recording a run's end on a full disk;
        False when there is none left."""

    # --- runs -------------------------------------------------------------------------
    async def insert_run(self, run: Run, events: Sequence[Event] = ()) -> None:
        """Persist a new run (state queued) and its first ``events``, atomically."""

    async def get_run(self, run_id: str) -> Run | None:
        """One run by exact id. Every run read (here, ``find_runs``, ``list_runs``)
        carries its review decision (``decision``, ``merge_sha``, ``decided_at``), taken
        from its ``review_decided`` event."""

    async def find_runs(self, prefix: str) -> list[Run]:
        """Runs whose id starts with ``prefix`` (to resolve what a user typed)."""

    async def list_runs(self) -> list[Run]:
        """Every run, oldest first."""

    async def save_run(self, run: Run) -> None:
        """Write every field of ``run`` (the caller already checked the transition)."""

    async def save_run_with_events(
        self, run: Run, events_after: Callable[[int], Sequence[Event]]
    ) -> Sequence[Event]:
        """Write ``run`` (as :meth:`save_run`) and the events ``events_after(last seq)``
        makes, in one transaction: no engine can claim the run in between and number an
        event of its own with the same seq. Returns the events stored."""

    async def claim_next(
        self,
        owner: str,
        lease_until: datetime,
        max_running: int,
        max_running_per_repo: int,
        only: Sequence[str] | None = None,
    ) -> Run | None:
        """Atomically take the highest-priority, oldest queued run that fits the limits.

        Counts active runs of *every* engine (so limits hold across processes), moves
        the chosen run to ``starting`` with ``owner`` and the lease, and returns it.
        ``only`` restricts the choice to those run ids.
        """

    async def renew_leases(self, owner: str, lease_until: datetime) -> None:
        """Extend the lease of every active run owned by ``owner``."""

    async def request_cancel(self, run_id: str) -> None:
        """Set the run's ``cancel_requested`` flag (seen by whichever engine owns it)."""

    # --- events -----------------------------------------------------------------------
    async def append_events(self, events: Sequence[Event]) -> None:
        """Insert a batch of events in one transaction (executemany)."""

    async def events_for(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """Events of one run with ``seq > after_seq``, in order."""

    async def events_tail(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[Event]:
        """The newest ``limit`` events of a run (older than ``before_seq``), in order."""

    async def events_tail_json(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[str]:
        """The newest ``limit`` events of a run as stored, in order: each event's JSON
        text (what :meth:`events_tail` decodes)."""

    async def follow_events(
        self, after_id: int, limit: int = 1000, skip_runs: Collection[str] = ()
    ) -> tuple[int, list[Event]]:
        """The next page of every run's events after ``after_id``, leaving out (and not
        decoding) those of ``skip_runs``; returns the last id read and the events."""

    async def save_agent_state(self, run_id: str, data: dict[str, Any]) -> None:
        """Replace what the run's backend keeps for resuming (JSON-serialisable)."""

    async def load_agent_state(self, run_id: str) -> dict[str, Any] | None:
        """What :meth:`save_agent_state` kept for the run, or None."""

    async def record_guard(self, record: GuardRecord) -> None:
        """Add a decision to the guard's ledger."""

    async def guard_ledger(self, run_id: str | None = None) -> list[GuardRecord]:
        """The ledger, oldest first: one run's decisions, or every run's."""

    async def guard_overrides(self, run_id: str) -> set[str]:
        """The rules the human lifted for this run (ledger rows of decision ``override``)."""

    async def guard_counts(self) -> dict[str, dict[str, int]]:
        """Per rule, how many calls it got allowed and refused (``outcome`` → count)."""

    async def fact_events(self, after_id: int) -> tuple[int, list[Event]]:
        """Every run's events of :data:`~engine.domain.facts.FACT_TYPES` stored after
        event ``after_id``, in insertion order, and the newest event id read past (the
        next call's ``after_id``)."""

    async def last_event_id(self) -> int:
        """Id of the newest stored event (0 when none)."""

    async def last_seq(self, run_id: str) -> int:
        """Highest stored seq of a run (0 when none)."""

    # --- steering ---------------------------------------------------------------------
    async def add_steering(self, run_id: str, text: str) -> SteeringMessage:
        """Queue a message for a run; returns it with its id."""

    async def pending_steering(self, run_id: str) -> list[SteeringMessage]:
        """Undelivered messages of a run, oldest first."""

    async def mark_delivered(self, steering_id: int, at: datetime) -> None:
        """Record that the backend delivered a message."""


def is_orphaned(run: Run, now: datetime, owner_alive: bool) -> bool:
    """Whether an active run has lost its engine: dead owner process or expired lease."""
    if run.state not in (RunState.STARTING, RunState.RUNNING, RunState.WAITING_FOR_HUMAN):
        return False
    if run.owner is None or not owner_alive:
        return True
    return run.lease_expires_at is None or run.lease_expires_at < now
