"""What the agent backend tests share: where the agent CLIs are, their profiles, and a
guard verdict that refuses shell calls (the guard's policy itself is a later issue)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.domain.guard import ALLOW, GuardVerdict, ToolRequest
from engine.services.runner import RunExecution
from engine.workspace import Workspace, open_workspace

HERE = Path(__file__).resolve().parent
#: The Codex CLI `make` installs from package.json (npm ci).
CODEX = HERE.parents[3] / "node_modules" / ".bin" / "codex"
#: A real ACP agent process for the tests (scripted, in Python).
ACP_AGENT = HERE / "acp_scripted_agent.py"
#: A real ACP agent from npm (Claude Code behind ACP), pinned in package.json.
CLAUDE_AGENT_ACP = HERE.parents[3] / "node_modules" / ".bin" / "claude-agent-acp"


def acp_profile(name: str) -> str:
    """An ``[agents.NAME]`` table running the scripted ACP agent."""
    return f'\n[agents.{name}]\nbackend = "acp"\ncommand = "{sys.executable}"\nargs = ["{ACP_AGENT}"]\n'


def codex_profile(name: str) -> str:
    """An ``[agents.NAME]`` table running the installed Codex CLI."""
    return f'\n[agents.{name}]\nbackend = "codex"\ncommand = "{CODEX}"\nmodel = "gpt-scripted"\n'


def with_profiles(workspace_root: Path, *tables: str) -> Workspace:
    """The test workspace with these agent tables appended to its cockpit.toml."""
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + "".join(tables))
    return open_workspace(workspace_root)


def deny_shell(monkeypatch: pytest.MonkeyPatch, reason: str) -> None:
    """Make the guard's hook refuse shell calls (rule ``test-no-shell``)."""

    async def verdict(self: RunExecution, request: ToolRequest) -> GuardVerdict:
        if request.kind == "shell":
            return GuardVerdict("deny", rule="test-no-shell", reason=reason)
        return ALLOW

    monkeypatch.setattr(RunExecution, "check_tool", verdict)
