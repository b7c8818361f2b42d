"""A silent agent fails its run (the profile's idle_timeout); waiting for the human or
running a command is not silence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import running_engine, wait_for_state


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text() + '\n[agents.watched]\nbackend = "scripted"\nidle_timeout = "1s"\n'
    )
    return open_workspace(workspace_root)


async def test_a_silent_agent_fails_as_hung(ws: Workspace, scenario: Callable[..., str]) -> None:
    path = scenario('[[step]]\nsay = "thinking"\nwait = 30\n')
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "hang", "watched", path)
        run = await wait_for_state(engine, run.id, RunState.FAILED, RunState.FINISHED, timeout=20)
    assert run.state is RunState.FAILED
    assert run.error == "the agent was silent for 1s (idle_timeout): hung"


async def test_commands_and_questions_are_not_silence(
    ws: Workspace, scenario: Callable[..., str]
) -> None:
    path = scenario('[[step]]\nrun = "sleep 2"\n[[step]]\nask = "ok?"\n[[step]]\nsay = "done"\n')
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "slow but alive", "watched", path)
        await wait_for_state(engine, run.id, RunState.WAITING_FOR_HUMAN, timeout=20)
        await asyncio.sleep(2.0)  # longer than idle_timeout, waiting on the human
        await engine.steer(run.id, "yes")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=20)
    assert run.state is RunState.FINISHED, run.error
