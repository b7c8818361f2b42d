"""AgentBackend: the port every agent harness implements (scripted, anthropic, claude-code…)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.domain.events import Event
from engine.domain.guard import GuardVerdict, ToolRequest
from engine.domain.models import Run, SteeringMessage
from engine.domain.skills import Skill


@dataclass(frozen=True)
class AgentOutcome:
    """How the agent ended: ``finished`` or ``failed`` with a one-line reason."""

    ok: bool
    error: str | None = None


class RunContext(Protocol):
    """What the engine gives a backend for one run. Backends never touch the store directly."""

    run: Run
    worktree: Path
    #: The agent profile's options (``[agents.NAME]`` table) as a plain dict.
    profile: dict[str, Any]
    #: Turns already completed in an earlier attempt; a resumed backend starts after them.
    turns_completed: int
    #: A private folder of the backend for this run, kept across resumes (created on use;
    #: e.g. Claude Code's per-run CLAUDE_CONFIG_DIR). Never inside the worktree.
    state_dir: Path
    #: The skills this run loads (selected by the engine, requirements first): the
    #: backend hands them to its agent in its own way (system prompt, prepended context).
    skills: list[Skill]

    async def emit(self, event: Event) -> None:
        """Publish an event of this run (the engine assigns its seq and persists it)."""

    async def end_turn(self) -> None:
        """Mark a turn boundary: the engine snapshots the worktree and records the turn."""

    async def take_steering(self) -> list[SteeringMessage]:
        """Pending steering messages; the engine emits their delivered receipts."""

    async def ask_human(self, question: str) -> str:
        """Ask the human and wait (state waiting_for_human) until an answer arrives."""

    async def check_tool(self, request: ToolRequest) -> GuardVerdict:
        """The guard's verdict on a tool call, asked before it runs (every backend)."""

    async def load_state(self) -> dict[str, Any] | None:
        """What the backend saved for this run in an earlier attempt (to resume), or None."""

    async def save_state(self, data: dict[str, Any]) -> None:
        """Keep what the backend needs to resume this run (JSON-serialisable)."""

    def agent_stderr(self, line: str) -> None:
        """A line the agent's process wrote on stderr. The last ones are kept and go into
        the events when the run fails (a crash, a hang), so the reason is not lost."""

    async def confine(
        self, argv: list[str], env: dict[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """The command line and environment to start the agent's own process with
        (a CLI, an ACP agent): confined to the run by the sandbox where there is one
        (the network kept), and marked as the run's (``env`` default: the engine's)."""

    def shell_line(self, command: str) -> str:
        """What an agent CLI's own shell should run for ``command`` (the CLI is in the
        run's jail with network for its model; the command loses it when the run's
        commands have none). ``command`` itself where there is no jail."""

    async def run_command(self, command: str, timeout: float | None = None) -> tuple[int, str]:
        """Run a shell command in the worktree in its own process group; (exit code, output).

        Cancelling the calling task kills the whole process group.
        """


class AgentBackend(Protocol):
    """One agent harness. ``run`` performs the whole run and returns its outcome."""

    name: str

    def preflight(self, profile: dict[str, Any], scenario: str | None) -> None:
        """Check, before a run is queued, what can be checked cheaply (scenario, CLI, key).

        Raise :class:`engine.domain.errors.BadInput` with one clear line when unusable.
        """

    async def run(self, ctx: RunContext) -> AgentOutcome:
        """Drive the agent until it is done. Cancellation must leave no process behind."""
