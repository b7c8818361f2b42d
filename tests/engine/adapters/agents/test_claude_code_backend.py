"""The ``claude-code`` backend end to end: the real Claude Code (claude-agent-sdk's bundled
CLI) in a real worktree, talking to Cockpit's scripted model server."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agentkit import deny_shell

from engine.adapters.modelserver import ModelServer, parse_model_script
from engine.bootstrap import open_engine
from engine.domain.events import (
    FileChanged,
    ToolCallFinished,
    ToolCallRequested,
    UsageReported,
)
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import git, running_engine, wait_for_state


@pytest.fixture(autouse=True)
def sdk_installed() -> None:
    # Fails, not skips: CI must run these (make installs the claude-code extra).
    assert importlib.util.find_spec("claude_agent_sdk"), "pip install -e '.[claude-code]'"


KEY_ENV = "COCKPIT_TEST_CLAUDE_KEY"

SCRIPT = {
    "turn": [
        {
            "text": "Writing the notes.",
            "tool_use": [
                {
                    "name": "Write",
                    "input": {"file_path": "{cwd}/notes.txt", "content": "remember\n"},
                }
            ],
        },
        {
            "text": "Checking with the shell.",
            "tool_use": [
                {"name": "Bash", "input": {"command": "cat notes.txt", "description": "show"}}
            ],
        },
        {"text": "Done."},
    ]
}


@pytest.fixture
async def server() -> AsyncIterator[ModelServer]:
    async with ModelServer(parse_model_script(SCRIPT)) as server:
        yield server


@pytest.fixture
def ws(workspace_root: Path, server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-real-key")
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + f"""
[agents.cc]
backend = "claude-code"
model = "claude-sonnet-5"
base_url = "{server.url}"
api_key_env = "{KEY_ENV}"
env = {{ CLAUDE_CODE_MAX_RETRIES = "0" }}
"""
    )
    return open_workspace(workspace_root)


async def submit_queued(ws: Workspace, server: ModelServer) -> str:
    """Queue a run with no scheduler running, so the server can be told its worktree."""
    async with open_engine(ws, listen=False) as engine:
        run = await engine.submit("app", "write the notes", "cc")
    server.cwd = str((ws.worktrees_dir / "app" / run.id).resolve())
    return run.id


async def test_claude_code_writes_runs_a_command_and_reports(
    ws: Workspace, server: ModelServer
) -> None:
    run_id = await submit_queued(ws, server)
    async with running_engine(ws) as engine:
        run = await wait_for_state(engine, run_id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run_id)
        saved = await engine._store.load_agent_state(run_id)

    requested = {e.tool: e.kind for e in events if isinstance(e, ToolCallRequested)}
    assert requested == {"Write": "write", "Bash": "shell"}
    finished = {e.tool: e for e in events if isinstance(e, ToolCallFinished)}
    assert not finished["Write"].is_error
    assert "remember" in finished["Bash"].output
    assert [(e.path, e.change) for e in events if isinstance(e, FileChanged)] == [
        ("notes.txt", "added")
    ]
    usage = [e for e in events if isinstance(e, UsageReported)]
    assert usage and usage[-1].input_tokens > 0 and usage[-1].cost_usd is not None
    assert run.turns_completed >= 2

    repo = ws.repo_path("app")
    assert git(repo, "show", f"{run.branch}:notes.txt") == "remember\n"
    assert saved is not None and saved["session_id"]
    assert (ws.state_dir / "agents" / run_id / "claude").is_dir()  # its own config dir
    assert len(server.turn_requests) == 3


async def test_the_guard_refuses_through_the_pre_tool_use_hook(
    ws: Workspace, server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The policy itself is the guard's (a later issue); here only its verdict is set.
    deny_shell(monkeypatch, "no shell in this test")
    run_id = await submit_queued(ws, server)
    async with running_engine(ws) as engine:
        run = await wait_for_state(engine, run_id, RunState.FINISHED, RunState.FAILED, timeout=120)
        events = await engine._store.events_for(run_id)
    assert run.state is RunState.FINISHED, run.error
    bash = next(e for e in events if isinstance(e, ToolCallFinished) and e.tool == "Bash")
    assert bash.is_error
    assert "test-no-shell" in bash.output and "no shell in this test" in bash.output
    # The refusal went back to the model as the tool's result.
    results = [
        str(block.get("content"))
        for request in server.turn_requests
        for message in request.body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert any("no shell in this test" in text for text in results), results


async def test_missing_sdk_or_key_fails_the_submission(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.domain.errors import BadInput

    monkeypatch.delenv(KEY_ENV)
    async with open_engine(ws, listen=False) as engine:
        with pytest.raises(BadInput, match=f"set {KEY_ENV}"):
            await engine.submit("app", "x", "cc")
    config = ws.root / "cockpit.toml"
    config.write_text(config.read_text() + 'command = "/nowhere/claude"\n')
    monkeypatch.setenv(KEY_ENV, "sk-test")
    async with open_engine(open_workspace(ws.root), listen=False) as engine:
        with pytest.raises(BadInput, match="'/nowhere/claude' was not found"):
            await engine.submit("app", "x", "cc")
