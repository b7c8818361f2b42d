"""Helpers to drive a real engine (SQLite store, git worktrees, scripted agent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

# The repos, profiles and paths both the tests and the benchmarks build with; named here
# too, as the tests have always imported them from this module.
from builders import (
    ACP_AGENT,
    CLAUDE_AGENT_ACP,
    CODEX,
    TESTS,
    acp_profile,
    codex_profile,
    git,
)
from engine.bootstrap import open_engine
from engine.domain.models import Run
from engine.domain.state import RunState
from engine.services.engine import Engine, EngineOptions
from engine.workspace import Workspace

__all__ = [
    "ACP_AGENT",
    "ASK_TOUCH",
    "CLAUDE_AGENT_ACP",
    "CODEX",
    "ESCAPE_THEN_RETRY",
    "TESTS",
    "TWO_TOUCHES",
    "acp_profile",
    "codex_profile",
    "git",
    "running_engine",
    "wait_for_state",
]


@asynccontextmanager
async def running_engine(ws: Workspace, **options) -> AsyncGenerator[Engine]:
    """An engine whose scheduler runs in a background task for the test's duration."""
    options.setdefault("poll_interval", 0.1)
    async with open_engine(ws, EngineOptions(**options)) as engine:
        task = asyncio.create_task(engine.run())
        try:
            yield engine
        finally:
            engine.request_stop()
            await task


async def wait_for_state(
    engine: Engine, run_id: str, *states: RunState, timeout: float = 30.0
) -> Run:
    """Poll the store (test-only) until the run reaches one of ``states``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = await engine._store.get_run(run_id)
        assert run is not None
        if run.state in states:
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run {run_id} stuck in {run.state.value}, wanted {states}")
        await asyncio.sleep(0.05)


# --- the guard's human side (engine and cockpit tests drive the same runs) -------------

#: A workspace rule asking the human before any ``touch``.
ASK_TOUCH = """
[[guard.rules]]
name = "ask-touch"
decision = "ask"
tool = "shell"
command = "^touch "
reason = "touching files needs a yes"
"""

#: Two calls ``ASK_TOUCH`` asks about.
TWO_TOUCHES = '[[step]]\nrun = "touch one.txt"\n[[step]]\nrun = "touch two.txt"\n'

#: Refused by a default rule (write-outside-worktree), then a question keeps the run
#: alive while the human overrides, then the same command again.
ESCAPE_THEN_RETRY = """
[[step]]
run = "touch ../outside.txt"
[[step]]
ask = "shall I try again?"
[[step]]
run = "touch ../outside.txt"
"""
