"""The ``acp`` backend end to end: a real ACP agent process (a scripted one, in Python)
over stdio, the engine as its client, real git worktrees."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from agentkit import acp_profile, deny_shell, with_profiles

from engine.bootstrap import open_engine
from engine.domain.errors import BadInput
from engine.domain.events import AgentText, FileChanged, ToolCallFinished, ToolCallRequested
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import git, running_engine, wait_for_state


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    return with_profiles(workspace_root, acp_profile("acp-scripted"))


@pytest.fixture
def no_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    deny_shell(monkeypatch, "no shell")


async def test_an_acp_agent_is_driven_guarded_and_confined(ws: Workspace, no_shell: None) -> None:
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "write the notes", "acp-scripted")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run.id)
        saved = await engine._store.load_agent_state(run.id)

    texts = [e.text for e in events if isinstance(e, AgentText)]
    assert texts[0] == "Working on: write the notes"  # chunks gathered into one text
    # Chunks between two tool calls are one text: the refusal, then the README's line.
    assert texts[-1] == "escape refused: RequestError README starts: # app"
    requested = {e.call_id: e.kind for e in events if isinstance(e, ToolCallRequested)}
    assert requested == {"w1": "edit", "x1": "shell"}
    finished = {e.call_id: e for e in events if isinstance(e, ToolCallFinished)}
    assert not finished["w1"].is_error
    assert finished["x1"].is_error and finished["x1"].output == "refused"
    assert [(e.path, e.change) for e in events if isinstance(e, FileChanged)] == [
        ("notes.txt", "added")
    ]
    assert not (ws.worktrees_dir / "app" / "escape.txt").exists()
    repo = ws.repo_path("app")
    assert git(repo, "show", f"{run.branch}:notes.txt") == "from acp\n"
    assert saved == {"session_id": "scripted-session-1"}


async def test_a_missing_agent_command_fails_the_submission(ws: Workspace) -> None:
    config = ws.root / "cockpit.toml"
    config.write_text(config.read_text().replace(sys.executable, "/nowhere/agent"))
    async with open_engine(open_workspace(ws.root), listen=False) as engine:
        with pytest.raises(BadInput, match="'/nowhere/agent' was not found"):
            await engine.submit("app", "x", "acp-scripted")
