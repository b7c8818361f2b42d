"""The engine's one closed API: every command and query a client makes of an engine.

The UI and the command line reach an engine only through these methods (by way of
``cockpit.client``), never through its store, its git adapters or its bus. Parameters
and results are domain types — runs, events, diffs, verdicts — which serialise to JSON,
so the same calls can cross a socket to a detached engine (issue 15) unchanged.

Errors are the domain's (:mod:`engine.domain.errors`): each carries the exit code the
command line gives it (``UnknownRun`` and ``BadInput``: 2; ``ReviewRefused``: 1).

:class:`engine.services.engine.Engine` implements it.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from engine.domain.diffs import RepoStatus, WorktreeDiff
from engine.domain.events import Event
from engine.domain.facts import RunFacts
from engine.domain.gates import GateResult
from engine.domain.models import Run
from engine.domain.review_terms import WHOLE_RUN, Approval, Span
from engine.domain.snapshot import Snapshot

if TYPE_CHECKING:
    # Only types here, loaded by engine.rpc.wire when a call names them (see LATER): a
    # client of the detached engine need not build the config's models, nor load the
    # guard's, the skills' or the sandbox's types, to start.
    from engine.config import RepoConfig
    from engine.domain.guard import GuardRecord, GuardVerdict, ToolRequest
    from engine.domain.skills import Skill
    from engine.ports.sandbox import SandboxStatus

#: Where each type the API names only for type checkers lives.
LATER = {
    "RepoConfig": "engine.config",
    "GuardRecord": "engine.domain.guard",
    "GuardVerdict": "engine.domain.guard",
    "ToolRequest": "engine.domain.guard",
    "Skill": "engine.domain.skills",
    "SandboxStatus": "engine.ports.sandbox",
}

__all__ = ["Approval", "EngineApi", "Span"]


class EngineApi(Protocol):
    """What a client may ask of the engine of one workspace."""

    # --- runs: commands -----------------------------------------------------------
    async def submit(
        self,
        repo: str,
        task: str,
        agent: str = "scripted",
        scenario: str | None = None,
        skills: list[str] | None = None,
        priority: int = 0,
    ) -> Run:
        """Queue a new run of the ``agent`` profile on ``repo``."""
        ...

    async def steer(self, ref: str, text: str) -> int:
        """Queue a steering message (or the answer to a question); its id."""
        ...

    async def cancel(self, ref: str) -> Run:
        """Cancel a queued or active run (the owning engine ends it)."""
        ...

    async def resume(self, ref: str) -> Run:
        """Queue an interrupted or failed run again, in its worktree."""
        ...

    async def send_back(self, ref: str, message: str) -> Run:
        """Continue a finished run with ``message`` (review comments, a new request)."""
        ...

    async def override_guard(self, ref: str, rule: str) -> GuardRecord:
        """Let a waiting run's call refused by ``rule`` go ahead, recorded as overridden."""
        ...

    # --- review decisions -----------------------------------------------------------
    async def approve(
        self, ref: str, *, squash: bool | None = None, override_gates: bool = False
    ) -> Approval:
        """Merge a finished run into its base (``ReviewRefused``: nothing moved)."""
        ...

    async def reject(self, ref: str) -> Path:
        """Throw a finished run's work away; the salvage bundle's folder."""
        ...

    async def revert_parts(
        self, ref: str, patches: list[str], restored: list[str], summary: str
    ) -> str | None:
        """Take the hunks and files a review rejected out of a run's branch; the commit
        made (None when nothing changed)."""
        ...

    # --- runs: queries ----------------------------------------------------------------
    async def list_runs(self) -> list[Run]:
        """Every run, oldest first (orphans reported interrupted first)."""
        ...

    async def snapshot(self, tail: int, runs: int) -> Snapshot:
        """Every run and its facts (as :meth:`run_facts`), the newest ``tail`` events of
        the newest ``runs`` runs and of every active one (no run's for a ``tail`` of 0),
        and the id a follower of every run's events starts after."""
        ...

    async def run_facts(self, run_ids: list[str]) -> dict[str, RunFacts]:
        """Each run's facts, folded from its every stored event (totals, the latest gate
        verdicts, guard counts, the open question), by run id."""
        ...

    async def resolve_run(self, ref: str) -> Run:
        """A run by id or unique id prefix (``UnknownRun`` otherwise)."""
        ...

    async def get_run(self, run_id: str) -> Run | None:
        """A run by exact id, None when there is none."""
        ...

    async def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """A run's events with ``seq > after_seq``, in order."""
        ...

    async def events_tail(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[Event]:
        """The newest ``limit`` events of a run (older than ``before_seq``), in order."""
        ...

    async def last_seq(self, run_id: str) -> int:
        """The highest seq stored for a run (0 when none)."""
        ...

    async def last_event_id(self) -> int:
        """The id of the newest stored event of any run (0 when none)."""
        ...

    async def follow_events(
        self, after_id: int, limit: int = 1000, skip_runs: Collection[str] = ()
    ) -> tuple[int, list[Event]]:
        """The next page of every run's events after ``after_id``: the last id read and
        the events (those of ``skip_runs`` left out)."""
        ...

    async def worktree_diff(self, worktree: Path, base_sha: str) -> WorktreeDiff:
        """A worktree as it is now (untracked files included) against ``base_sha``."""
        ...

    async def review_patch(
        self, ref: str, span: Span = WHOLE_RUN, known: Run | None = None
    ) -> tuple[Run, str]:
        """The run and the diff text a review of ``span`` shows."""
        ...

    async def already_merged(self, run: Run) -> bool:
        """Whether the base already has every change of an undecided run."""
        ...

    # --- repos, gates, guard, skills, settings ------------------------------------------
    async def repos(self) -> dict[str, Path]:
        """Every configured repo's name and absolute path, in the config's order (what a
        client lists without reading ``cockpit.toml`` itself)."""
        ...

    async def repo_settings(self, repo: str) -> RepoConfig:
        """A repo's settings as configured (``UnknownRepo`` when there is none)."""
        ...

    async def repo_status(self, path: Path) -> RepoStatus:
        """Branch, ahead/behind and dirty files of a repo's checkout."""
        ...

    async def gate_names(self, repo: str) -> list[str]:
        """The gates a repo's runs get (configured, or its defaults)."""
        ...

    async def check_gates(self, target: str) -> tuple[Path, list[GateResult]]:
        """Run a repo's gates on the repo (by name) or on a run's worktree (by ref)."""
        ...

    async def guard_ledger(self, run_id: str | None = None) -> list[GuardRecord]:
        """The guard's decisions, oldest first: one run's or every run's."""
        ...

    async def guard_counts(self) -> dict[str, dict[str, int]]:
        """Per rule, how many calls it allowed, asked and refused."""
        ...

    async def guard_check(
        self, request: ToolRequest, repo: str | None, worktree: Path
    ) -> GuardVerdict:
        """What the guard would decide of ``request`` working in ``worktree`` (under
        ``repo``'s rules too, when given)."""
        ...

    async def available_skills(self, repo: str) -> list[Skill]:
        """Every skill a run on ``repo`` could load."""
        ...

    async def sandbox_status(self) -> SandboxStatus:
        """What confines runs here (bubblewrap), or why nothing does."""
        ...

    def redact(self, text: str) -> str:
        """``text`` with every key the workspace knows masked (to print it)."""
        ...
