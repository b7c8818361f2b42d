"""What the agent backend tests share: where the agent CLIs are, their profiles, and a
guard verdict that refuses shell calls (the guard's policy itself is a later issue)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.guard import ALLOW, GuardVerdict, ToolRequest
from engine.services.runner import RunExecution
from engine.workspace import Workspace, open_workspace
from enginekit import ACP_AGENT, CLAUDE_AGENT_ACP, CODEX, acp_profile, codex_profile

__all__ = ["ACP_AGENT", "CLAUDE_AGENT_ACP", "CODEX", "acp_profile", "codex_profile"]


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
