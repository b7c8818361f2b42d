"""Behaviour every agent backend owes the engine, run over each real backend: the real
client (anthropic SDK, Claude Code, an ACP agent process, the Codex CLI) against a
scripted model (or a scripted ACP agent), in real worktrees."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import running_engine, wait_for_state

HERE = Path(__file__).resolve().parent
CODEX = HERE.parents[3] / "node_modules" / ".bin" / "codex"
BACKENDS = ["anthropic", "claude-code", "acp", "codex"]

#: A model that never answers its first request (within the test).
HANG = '[[turn]]\ndelay = 600\ntext = "never said"\n'


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + f"""
[agents.anthropic]
backend = "anthropic"

[agents.claude-code]
backend = "claude-code"
env = {{ CLAUDE_CODE_MAX_RETRIES = "0" }}

[agents.acp]
backend = "acp"
command = "{sys.executable}"
args = ["{HERE / "acp_scripted_agent.py"}"]

[agents.codex]
backend = "codex"
command = "{CODEX}"
model = "gpt-scripted"
"""
    )
    return open_workspace(workspace_root)


def processes_in(folder: Path) -> list[int]:
    """Pids whose working directory is inside ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == folder or folder in cwd.parents:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("backend", BACKENDS)
async def test_cancel_stops_the_agent_and_leaves_no_process(
    backend: str, ws: Workspace, tmp_path: Path
) -> None:
    script = tmp_path / "hang.toml"
    script.write_text(HANG)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "hang until cancelled", backend, str(script))
        await wait_for_state(engine, run.id, RunState.RUNNING, timeout=60)
        worktree = (ws.worktrees_dir / "app" / run.id).resolve()
        await asyncio.sleep(2.0)  # the agent is up and waiting on its model
        if backend != "anthropic":  # the others run in a process of their own
            assert processes_in(worktree), f"no {backend} process in {worktree}"
        cancelled = await engine.cancel(run.id)
        assert cancelled.state is RunState.CANCELLED
    deadline = asyncio.get_running_loop().time() + 10
    while processes_in(worktree):
        assert asyncio.get_running_loop().time() < deadline, processes_in(worktree)
        await asyncio.sleep(0.1)
