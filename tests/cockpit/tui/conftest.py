"""Fixtures the cockpit's Pilot tests share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.workspace import Workspace, open_workspace


@pytest.fixture
def scenario(workspace_root: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Factory: write a scenario in the workspace and return its path relative to the
    workspace root, as a user types it in the prompt bar (the bar reads it there). The
    cwd is the workspace too, for tests that hand the path to the engine directly."""
    folder = workspace_root / "scenarios"
    folder.mkdir(exist_ok=True)
    monkeypatch.chdir(workspace_root)
    count = 0

    def write(text: str) -> str:
        nonlocal count
        count += 1
        name = f"s{count}.toml"
        (folder / name).write_text(text)
        return f"scenarios/{name}"

    return write


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    """The test workspace (repos ``app`` and ``lib``, a scripted profile), opened."""
    return open_workspace(workspace_root)


@pytest.fixture
def repo(workspace_root: Path) -> Path:
    """The ``app`` repo of the test workspace."""
    return workspace_root.parent / "repos" / "app"
