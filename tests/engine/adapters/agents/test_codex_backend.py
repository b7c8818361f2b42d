"""The ``codex`` backend end to end: the real Codex CLI (npm @openai/codex, installed by
make from package.json) in a real worktree, talking to the scripted model server's
Responses API."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentkit import CODEX, codex_profile, with_profiles

from engine.bootstrap import open_engine
from engine.domain.errors import BadInput
from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    ToolCallFinished,
    ToolCallRequested,
    UsageReported,
)
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import git, running_engine, wait_for_state


@pytest.fixture(autouse=True)
def codex_installed() -> None:
    # Fails, not skips: CI must run these (make installs the CLI from package.json).
    assert CODEX.exists(), f"the Codex CLI is not installed at {CODEX}: run `npm ci`"


MODEL_SCRIPT = """
[[turn]]
text = "Writing the notes."
[[turn.tool_use]]
name = "exec_command"
input = { cmd = "printf 'from codex\\\\n' > notes.txt && cat notes.txt" }

[[turn]]
text = "Trying to write outside the worktree."
[[turn.tool_use]]
name = "exec_command"
input = { cmd = "touch {cwd}/../outside.txt" }

[[turn]]
text = "Done."
"""


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    return with_profiles(workspace_root, codex_profile("codex"))


async def test_codex_runs_in_its_sandbox_and_reports(ws: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "model.toml"
    script.write_text(MODEL_SCRIPT)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "write the notes", "codex", str(script))
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run.id)
        saved = await engine._store.load_agent_state(run.id)

    # Codex warns it has no metadata for the scripted model: a note, never an error.
    texts = [e.text for e in events if isinstance(e, AgentText)]
    warnings = [t for t in texts if t.startswith("codex warning: ")]
    texts = [t for t in texts if t not in warnings]
    assert texts[0] == "Writing the notes." and texts[-1] == "Done."
    assert not [e for e in events if isinstance(e, ErrorOccurred) and "metadata" in e.message]
    requested = [e for e in events if isinstance(e, ToolCallRequested)]
    assert requested[0].kind == "shell" and "notes.txt" in requested[0].arguments["command"]
    first = next(e for e in events if isinstance(e, ToolCallFinished))
    assert first.exit_code == 0 and "from codex" in first.output
    # The sandbox (workspace-write, /tmp excluded) kept the write inside the worktree.
    # (codex exec --json may not report the refused command: the run says it, see below.)
    assert not (ws.worktrees_dir / "app" / "outside.txt").exists()
    assert [e for e in events if isinstance(e, UsageReported)][-1].input_tokens > 0
    assert git(ws.repo_path("app"), "show", f"{run.branch}:notes.txt") == "from codex\n"
    assert saved and saved["thread_id"]
    assert (ws.state_dir / "agents" / run.id / "codex" / "config.toml").is_file()


async def test_missing_cli_or_key_fails_the_submission(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    async with open_engine(ws, listen=False) as engine:
        with pytest.raises(BadInput, match="set OPENAI_API_KEY"):
            await engine.submit("app", "x", "codex")
    config = ws.root / "cockpit.toml"
    config.write_text(config.read_text().replace(str(CODEX), "/nowhere/codex"))
    async with open_engine(open_workspace(ws.root), listen=False) as engine:
        with pytest.raises(BadInput, match="npm install -g @openai/codex"):
            await engine.submit("app", "x", "codex")


REFUSED_SCRIPT = """
[[turn]]
text = "Writing outside the worktree."
[[turn.tool_use]]
name = "exec_command"
input = { cmd = "touch {cwd}/../outside.txt" }

[[turn]]
text = "Created outside.txt."
"""


async def test_a_command_its_sandbox_refused_is_said(ws: Workspace, tmp_path: Path) -> None:
    """Issue 23: ``codex exec --json`` reports nothing of a command its sandbox refused;
    the run says so (from Codex's session file), and does not end silently."""
    script = tmp_path / "model.toml"
    script.write_text(REFUSED_SCRIPT)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "touch a file outside", "codex", str(script))
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run.id)
    errors = [e for e in events if isinstance(e, ErrorOccurred)]
    assert len(errors) == 1, errors
    assert errors[0].message.startswith("Codex's sandbox refused a command: touch ")
    assert "outside.txt" in errors[0].message
    assert "Read-only file system" in (errors[0].detail or "")
    assert not (ws.worktrees_dir / "app" / "outside.txt").exists()
