"""An :class:`~cockpit.client.api.EngineClient` over an engine in this process.

Each call is the engine's own method (nothing is copied or serialised). Event streams
read the store, the one record every engine of the workspace writes, and wake when this
engine stores a batch (or, for runs other processes execute, every ``poll`` seconds).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Collection
from pathlib import Path

from cockpit.client.api import EventPage
from engine.bootstrap import open_engine
from engine.config import RepoConfig
from engine.domain.diffs import RepoStatus, WorktreeDiff
from engine.domain.events import Event
from engine.domain.facts import RunFacts
from engine.domain.gates import GateResult
from engine.domain.guard import GuardRecord, GuardVerdict, ToolRequest
from engine.domain.models import Run
from engine.domain.review_terms import WHOLE_RUN, Approval, Span
from engine.domain.skills import Skill
from engine.domain.snapshot import Snapshot
from engine.ports.sandbox import SandboxStatus
from engine.services.engine import Engine, EngineOptions
from engine.services.streams import POLL, EventStreams
from engine.workspace import Workspace


@contextlib.asynccontextmanager
async def open_client(
    workspace: Workspace, options: EngineOptions | None = None, *, listen: bool = True
) -> AsyncGenerator[InProcessClient]:
    """An engine of ``workspace`` built in this process, and a client over it.

    The engine executes runs only while :meth:`InProcessClient.serve` runs; ``listen``
    opens its wake-up socket (a command that only reads or queues needs none).
    """
    async with open_engine(workspace, options, listen=listen) as engine:
        yield InProcessClient(engine)


class InProcessClient:
    """The engine's API called directly, and event streams over its store."""

    def __init__(self, engine: Engine, poll: float = POLL) -> None:
        self._engine = engine
        self._streams = EventStreams(engine, poll)

    # --- the engine in this process ------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        """The workspace the engine serves."""
        return self._engine.workspace

    async def serve(self) -> None:
        """Execute runs until :meth:`stop` (or, for an engine given ``only`` or
        ``exit_when_idle``, until it has nothing left to do)."""
        await self._engine.run()

    def stop(self) -> None:
        """Ask :meth:`serve` to return: runs in flight become interrupted."""
        self._engine.request_stop()

    def executing(self) -> list[str]:
        """The runs this process executes now."""
        return self._engine.running_ids

    def failure(self, run_id: str) -> BaseException | None:
        """Why a run's end could not be recorded (a full disk), when that happened."""
        return self._engine.unrecorded.get(run_id)

    # --- streams ---------------------------------------------------------------------
    async def subscribe(self, after_id: int = 0) -> AsyncIterator[EventPage]:
        """See :meth:`cockpit.client.api.EngineClient.subscribe`."""
        async for last_id, events in self._streams.pages(after_id):
            yield EventPage(last_id, events)

    def run_events(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """See :meth:`cockpit.client.api.EngineClient.run_events`."""
        return self._streams.run_events(run_id, after_seq)

    # --- runs: commands ------------------------------------------------------------------
    async def submit(
        self,
        repo: str,
        task: str,
        agent: str = "scripted",
        scenario: str | None = None,
        skills: list[str] | None = None,
        priority: int = 0,
    ) -> Run:
        return await self._engine.submit(repo, task, agent, scenario, skills, priority)

    async def steer(self, ref: str, text: str) -> int:
        return await self._engine.steer(ref, text)

    async def cancel(self, ref: str) -> Run:
        return await self._engine.cancel(ref)

    async def resume(self, ref: str) -> Run:
        return await self._engine.resume(ref)

    async def send_back(self, ref: str, message: str) -> Run:
        return await self._engine.send_back(ref, message)

    async def override_guard(self, ref: str, rule: str) -> GuardRecord:
        return await self._engine.override_guard(ref, rule)

    # --- review decisions --------------------------------------------------------------
    async def approve(
        self, ref: str, *, squash: bool | None = None, override_gates: bool = False
    ) -> Approval:
        return await self._engine.approve(ref, squash=squash, override_gates=override_gates)

    async def reject(self, ref: str) -> Path:
        return await self._engine.reject(ref)

    async def revert_parts(
        self, ref: str, patches: list[str], restored: list[str], summary: str
    ) -> str | None:
        return await self._engine.revert_parts(ref, patches, restored, summary)

    # --- runs: queries -----------------------------------------------------------------
    async def list_runs(self) -> list[Run]:
        return await self._engine.list_runs()

    async def run_facts(self, run_ids: list[str]) -> dict[str, RunFacts]:
        return await self._engine.run_facts(run_ids)

    async def snapshot(self, tail: int, runs: int) -> Snapshot:
        return await self._engine.snapshot(tail, runs)

    async def resolve_run(self, ref: str) -> Run:
        return await self._engine.resolve_run(ref)

    async def get_run(self, run_id: str) -> Run | None:
        return await self._engine.get_run(run_id)

    async def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        return await self._engine.events(run_id, after_seq)

    async def events_tail(
        self, run_id: str, limit: int, before_seq: int | None = None
    ) -> list[Event]:
        return await self._engine.events_tail(run_id, limit, before_seq)

    async def last_seq(self, run_id: str) -> int:
        return await self._engine.last_seq(run_id)

    async def last_event_id(self) -> int:
        return await self._engine.last_event_id()

    async def follow_events(
        self, after_id: int, limit: int = 1000, skip_runs: Collection[str] = ()
    ) -> tuple[int, list[Event]]:
        return await self._engine.follow_events(after_id, limit, skip_runs)

    async def worktree_diff(self, worktree: Path, base_sha: str) -> WorktreeDiff:
        return await self._engine.worktree_diff(worktree, base_sha)

    async def review_patch(
        self, ref: str, span: Span = WHOLE_RUN, known: Run | None = None
    ) -> tuple[Run, str]:
        return await self._engine.review_patch(ref, span, known)

    async def already_merged(self, run: Run) -> bool:
        return await self._engine.already_merged(run)

    # --- repos, gates, guard, skills, settings --------------------------------------------
    async def repo_settings(self, repo: str) -> RepoConfig:
        return await self._engine.repo_settings(repo)

    async def repo_status(self, path: Path) -> RepoStatus:
        return await self._engine.repo_status(path)

    async def repos(self) -> dict[str, Path]:
        return await self._engine.repos()

    async def gate_names(self, repo: str) -> list[str]:
        return await self._engine.gate_names(repo)

    async def check_gates(self, target: str) -> tuple[Path, list[GateResult]]:
        return await self._engine.check_gates(target)

    async def guard_ledger(self, run_id: str | None = None) -> list[GuardRecord]:
        return await self._engine.guard_ledger(run_id)

    async def guard_counts(self) -> dict[str, dict[str, int]]:
        return await self._engine.guard_counts()

    async def guard_check(
        self, request: ToolRequest, repo: str | None, worktree: Path
    ) -> GuardVerdict:
        return await self._engine.guard_check(request, repo, worktree)

    async def available_skills(self, repo: str) -> list[Skill]:
        return await self._engine.available_skills(repo)

    async def sandbox_status(self) -> SandboxStatus:
        return await self._engine.sandbox_status()

    def redact(self, text: str) -> str:
        return self._engine.redact(text)
