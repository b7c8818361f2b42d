"""Fixtures the cockpit's Pilot tests share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.workspace import Workspace, open_workspace


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Factory: write a scenario, return a short path relative to the (changed) cwd, as
    a user would type it in the prompt bar."""
    folder = tmp_path / "sc"
    folder.mkdir()
    monkeypatch.chdir(folder)
    count = 0

    def write(text: str) -> str:
        nonlocal count
        count += 1
        name = f"s{count}.toml"
        (folder / name).write_text(text)
        return name

    return write


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    """The test workspace (repos ``app`` and ``lib``, a scripted profile), opened."""
    return open_workspace(workspace_root)


@pytest.fixture
def repo(workspace_root: Path) -> Path:
    """The ``app`` repo of the test workspace."""
    return workspace_root.parent / "repos" / "app"
