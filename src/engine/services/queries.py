"""What clients read from an engine: runs, their events, diffs, repo status, the guard's
ledger — as methods of the engine, so the UI and the CLI never reach into its store, its
worktrees or its bus (the seam a socket client of a detached engine will take).

A mixin of :class:`engine.services.engine.Engine`, kept apart so the commands
(:mod:`engine.services.commands`) and the scheduler (:mod:`engine.services.scheduler`)
live elsewhere, and this module holds the reads.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from engine.config import RepoConfig
from engine.domain.diffs import RepoStatus, WorktreeDiff
from engine.domain.events import Event
from engine.domain.facts import RunFacts
from engine.domain.guard import GuardRecord
from engine.domain.models import Run
from engine.domain.redact import Redactor
from engine.ports.git import Worktrees
from engine.ports.store import RunStore
from engine.services.bus import EventBus
from engine.services.facts import FactsBook
from engine.workspace import Workspace


class EngineQueries:
    """Read-only queries over the engine's store and git, and its live event feed."""

    _store: RunStore
    _worktrees: Worktrees
    _bus: EventBus
    _facts: FactsBook
    workspace: Workspace
    redactor: Redactor

    async def get_run(self, run_id: str) -> Run | None:
        """One run by exact id (None when there is none)."""
        return await self._store.get_run(run_id)

    async def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """A run's events with ``seq > after_seq``, in order."""
        return await self._store.events_for(run_id, after_seq)

    async def events_tail(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[Event]:
        """The newest ``limit`` events of a run (older than ``before_seq``), in order."""
        return await self._store.events_tail(run_id, limit, before_seq)

    async def run_facts(self, run_ids: list[str]) -> dict[str, RunFacts]:
        """What each run's whole history says (token totals, the latest gate verdicts,
        guard counts, the open question…), folded from every stored event, by run id."""
        return await self._facts.read(run_ids)

    async def last_seq(self, run_id: str) -> int:
        """The highest seq stored for a run (0 when none)."""
        return await self._store.last_seq(run_id)

    async def last_event_id(self) -> int:
        """Where a follower of every run's events starts (see :meth:`follow_events`)."""
        return await self._store.last_event_id()

    async def follow_events(
        self, after_id: int, limit: int = 1000, skip_runs: Collection[str] = ()
    ) -> tuple[int, list[Event]]:
        """The next page of every run's stored events after ``after_id`` (those of
        ``skip_runs`` left out); returns the last id read and the events."""
        return await self._store.follow_events(after_id, limit, skip_runs)

    def on_events(self, deliver: Callable[[list[Event]], object]) -> None:
        """Call ``deliver`` with each batch of this engine's events once stored (it must
        not block)."""
        self._bus.add_sink(deliver)

    async def worktree_diff(self, worktree: Path, base_sha: str) -> WorktreeDiff:
        """A worktree as it is now (untracked files included) against ``base_sha``."""
        return await self._worktrees.diff(worktree, base_sha)

    async def repo_status(self, path: Path) -> RepoStatus:
        """Branch, ahead/behind and dirty files of a repo's checkout."""
        return await self._worktrees.status(path)

    async def guard_ledger(self, run_id: str | None = None) -> list[GuardRecord]:
        """The guard's decisions, oldest first: one run's, or every run's."""
        return await self._store.guard_ledger(run_id)

    async def guard_counts(self) -> dict[str, dict[str, int]]:
        """Per rule, how many calls it allowed and refused."""
        return await self._store.guard_counts()

    async def repos(self) -> dict[str, Path]:
        """Every configured repo's name and absolute path, in the config's order."""
        return self.workspace.repo_paths()

    async def repo_settings(self, repo: str) -> RepoConfig:
        """A repo's settings as configured (``UnknownRepo`` when there is none)."""
        return self.workspace.repo(repo)

    def redact(self, text: str) -> str:
        """``text`` with every key the workspace knows masked."""
        return self.redactor.text(text)
