"""Fixtures for engine service tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.workspace import Workspace, open_workspace


@pytest.fixture
def workspace(workspace_root: Path) -> Workspace:
    return open_workspace(workspace_root)


@pytest.fixture
def scenario(write_scenario: Callable[[str, str], str]) -> Callable[..., str]:
    return write_scenario
