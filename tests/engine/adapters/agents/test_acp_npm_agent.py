"""The ``acp`` backend driving a real ACP agent from npm: ``claude-agent-acp`` (Claude
Code behind the Agent Client Protocol, pinned in package.json and installed by make),
whose model is the scripted model server. Nothing in Cockpit knows this agent: its
profile is data (command, env), as a user would write it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agentkit import CLAUDE_AGENT_ACP, with_profiles

from engine.adapters.modelserver import ModelServer, parse_model_script
from engine.bootstrap import open_engine
from engine.domain.events import AgentText, ToolCallFinished, ToolCallRequested
from engine.domain.state import RunState
from engine.workspace import Workspace
from enginekit import git, running_engine, wait_for_state

SCRIPT = {
    "turn": [
        {
            "text": "Writing the notes.",
            "tool_use": [
                {
                    "name": "Write",
                    "input": {"file_path": "{cwd}/notes.txt", "content": "from claude-acp\n"},
                }
            ],
        },
        {"text": "Done."},
    ]
}


@pytest.fixture(autouse=True)
def agent_installed() -> None:
    # Fails, not skips: CI must run this (make installs it from package.json).
    assert CLAUDE_AGENT_ACP.exists(), f"claude-agent-acp is not at {CLAUDE_AGENT_ACP}: npm ci"


@pytest.fixture
async def server() -> AsyncIterator[ModelServer]:
    async with ModelServer(parse_model_script(SCRIPT)) as server:
        yield server


@pytest.fixture
def ws(
    workspace_root: Path, server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-a-real-key")
    config_dir = tmp_path / "claude-config"  # never the user's ~/.claude
    return with_profiles(
        workspace_root,
        f"""
[agents.claude-acp]
backend = "acp"
command = "{CLAUDE_AGENT_ACP}"
base_url = "{server.url}"
api_key_env = "ANTHROPIC_API_KEY"
env = {{ CLAUDE_CONFIG_DIR = "{config_dir}", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1", CLAUDE_CODE_MAX_RETRIES = "0", ANTHROPIC_MODEL = "claude-sonnet-5" }}
""",
    )


async def test_claude_agent_acp_writes_a_file_through_cockpit(
    ws: Workspace, server: ModelServer
) -> None:
    async with open_engine(ws, listen=False) as engine:
        run = await engine.submit("app", "write the notes", "claude-acp")
    server.cwd = str((ws.worktrees_dir / "app" / run.id).resolve())
    async with running_engine(ws) as engine:
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run.id)

    assert server.turn_requests, "the agent never asked its model"
    texts = " ".join(e.text for e in events if isinstance(e, AgentText))
    assert "Writing the notes." in texts and "Done." in texts
    assert any(isinstance(e, ToolCallRequested) for e in events)
    assert any(isinstance(e, ToolCallFinished) and not e.is_error for e in events)
    assert git(ws.repo_path("app"), "show", f"{run.branch}:notes.txt") == "from claude-acp\n"
