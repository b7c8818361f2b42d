"""Domain models: runs, steering messages and the identity of an engine process.

Plain dataclasses (:mod:`engine.domain.codec` turns them into JSON and back): a client
such as the cockpit holds runs without loading a validation library."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.domain import codec
from engine.domain.state import RunState

if TYPE_CHECKING:
    from engine.domain.events import ReviewDecided


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp Cockpit stores is UTC."""
    return datetime.now(UTC)


def new_run_id() -> str:
    """A short, typeable run id: 8 lowercase hex characters (prefixes are accepted too)."""
    import secrets  # on use: hashlib and OpenSSL cost a client's start ~2 ms

    return secrets.token_hex(4)


def branch_for(run_id: str) -> str:
    """The branch a run works on."""
    return f"cockpit/{run_id}"


def turn_ref(run_id: str, turn: int) -> str:
    """The hidden ref holding the snapshot of a run's worktree after turn ``turn``."""
    return f"refs/cockpit/{run_id}/turn-{turn}"


@dataclass(kw_only=True)
class Run:
    """A run: one agent working on one task in one repo, in its own worktree and branch."""

    id: str
    repo: str
    task: str
    agent: str
    state: RunState = RunState.QUEUED
    priority: int = 0
    scenario: str | None = None
    skills: list[str] = field(default_factory=list)
    branch: str = ""
    base: str = ""
    base_sha: str | None = None
    worktree: str | None = None
    turns_completed: int = 0
    error: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: Engine currently executing the run (``EngineId.token``), None when nobody owns it.
    owner: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False
    #: The human's review decision, from the run's ``review_decided`` event (read with
    #: the row, never stored twice): ``merged`` (approved) or ``rejected``.
    decision: str | None = None
    #: Approved: the commit the base got (the base's own commit when it already had
    #: every change and nothing was merged, ``nothing_to_merge``).
    merge_sha: str | None = None
    decided_at: datetime | None = None
    nothing_to_merge: bool = False

    @property
    def worktree_path(self) -> Path | None:
        """The worktree as a Path, when one has been created."""
        return Path(self.worktree) if self.worktree else None

    @property
    def decided(self) -> bool:
        """Whether the human approved or rejected the run (its worktree and branch are
        gone then)."""
        return self.decision is not None

    @property
    def outcome(self) -> str:
        """The word a list shows: the decision (``merged``, ``nothing to merge``,
        ``rejected``) once made, else the state."""
        if self.decision == "merged" and self.nothing_to_merge:
            return "nothing to merge"
        return self.decision or self.state.value

    def public_dict(self) -> dict:
        """The JSON shape scripts rely on (`--json`): id, repo, state, branch, worktree,
        decision, merge_sha, decided_at, …; ``branch`` and ``worktree`` are null once
        removed (a decided run, or one that ended before its worktree was made)."""
        data = codec.encode(self)
        for private in ("owner", "lease_expires_at", "nothing_to_merge"):
            del data[private]
        ended_without_worktree = self.worktree is None and self.finished_at is not None
        if self.decided or ended_without_worktree:
            data["branch"] = None
            data["worktree"] = None
        return data

    def copy(self, **changes: object) -> Run:
        """A shallow copy, with ``changes`` to its fields."""
        return dataclasses.replace(self, **changes)


def apply_decision(run: Run, event: ReviewDecided) -> None:
    """Set ``run``'s decision fields from its ``review_decided`` event."""
    run.decision = "merged" if event.decision == "approved" else "rejected"
    run.merge_sha = event.sha if event.decision == "approved" else None
    run.decided_at = event.at
    run.nothing_to_merge = event.decision == "approved" and not event.merged


@dataclass(kw_only=True)
class SteeringMessage:
    """A message from the human to a run: steering text or the answer to a question."""

    id: int
    run_id: str
    text: str
    created_at: datetime = field(default_factory=utcnow)
    delivered_at: datetime | None = None


@dataclass(kw_only=True)
class EngineId:
    """Who owns a lease: an engine process on a host."""

    host: str
    pid: int
    started: float

    @property
    def token(self) -> str:
        """The string stored in ``runs.owner``: ``host:pid:started``."""
        return f"{self.host}:{self.pid}:{self.started:.6f}"

    @classmethod
    def parse(cls, token: str) -> EngineId | None:
        """Inverse of :attr:`token`; None for a malformed value."""
        try:
            host, pid, started = token.rsplit(":", 2)
            return cls(host=host, pid=int(pid), started=float(started))
        except ValueError:
            return None


def steering_prompt(messages: list[SteeringMessage]) -> str:
    """Steering messages as the next prompt of an agent driven by prompts (one a line)."""
    return "\n".join(f"Message from the human: {m.text}" for m in messages)
