"""Domain models: runs, steering messages and the identity of an engine process."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from engine.domain.state import RunState


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp Cockpit stores is UTC."""
    return datetime.now(UTC)


def new_run_id() -> str:
    """A short, typeable run id: 8 lowercase hex characters (prefixes are accepted too)."""
    return secrets.token_hex(4)


def branch_for(run_id: str) -> str:
    """The branch a run works on."""
    return f"cockpit/{run_id}"


def turn_ref(run_id: str, turn: int) -> str:
    """The hidden ref holding the snapshot of a run's worktree after turn ``turn``."""
    return f"refs/cockpit/{run_id}/turn-{turn}"


class Run(BaseModel):
    """A run: one agent working on one task in one repo, in its own worktree and branch."""

    model_config = ConfigDict(frozen=False)

    id: str
    repo: str
    task: str
    agent: str
    state: RunState = RunState.QUEUED
    priority: int = 0
    scenario: str | None = None
    skills: list[str] = Field(default_factory=list)
    branch: str = ""
    base: str = ""
    base_sha: str | None = None
    worktree: str | None = None
    turns_completed: int = 0
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: Engine currently executing the run (``EngineId.token``), None when nobody owns it.
    owner: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False

    @property
    def worktree_path(self) -> Path | None:
        """The worktree as a Path, when one has been created."""
        return Path(self.worktree) if self.worktree else None

    def public_dict(self) -> dict:
        """The JSON shape scripts rely on (`--json`): id, repo, state, branch, worktree, …."""
        data = self.model_dump(mode="json", exclude={"owner", "lease_expires_at"})
        return data


class SteeringMessage(BaseModel):
    """A message from the human to a run: steering text or the answer to a question."""

    id: int
    run_id: str
    text: str
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class EngineId(BaseModel):
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
