"""What a front end does in its own process, with no engine to ask: find and read the
workspace's ``cockpit.toml``, add repos to it, check the machine (``doctor``), build the
demo, and host the detached engine itself (``cockpit engine start --foreground``).

These read and write files the user owns, as a client of a detached engine still will;
they are named here so the front ends import the engine only through this package.
Each is imported when first asked for: opening a workspace (every front end does) must
not load the doctor, the demo or the engine's host with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.adapters.doctor import Report, examine
    from engine.config_toml import config_mistake, describe_validation_error, read_toml
    from engine.demo import DEMO_RUNS, build_demo_workspace
    from engine.disk import NO_SPACE, disk_full
    from engine.rpc.host import EngineRunning, serve_detached
    from engine.services.engine import EngineOptions
    from engine.workspace import (
        Workspace,
        add_repo,
        client_workspace,
        find_workspace,
        init_workspace,
        list_repos,
        open_workspace,
        repo_problem,
        repo_warnings,
    )

#: Where each name lives.
_HOMES = {
    "Report": "engine.adapters.doctor",
    "examine": "engine.adapters.doctor",
    "config_mistake": "engine.config_toml",
    "describe_validation_error": "engine.config_toml",
    "read_toml": "engine.config_toml",
    "DEMO_RUNS": "engine.demo",
    "build_demo_workspace": "engine.demo",
    "NO_SPACE": "engine.disk",
    "disk_full": "engine.disk",
    "EngineRunning": "engine.rpc.host",
    "serve_detached": "engine.rpc.host",
    "EngineOptions": "engine.services.engine",
    "Workspace": "engine.workspace",
    "add_repo": "engine.workspace",
    "client_workspace": "engine.workspace",
    "find_workspace": "engine.workspace",
    "init_workspace": "engine.workspace",
    "list_repos": "engine.workspace",
    "open_workspace": "engine.workspace",
    "repo_problem": "engine.workspace",
    "repo_warnings": "engine.workspace",
}

__all__ = [
    "DEMO_RUNS",
    "NO_SPACE",
    "EngineOptions",
    "EngineRunning",
    "Report",
    "Workspace",
    "add_repo",
    "build_demo_workspace",
    "client_workspace",
    "config_mistake",
    "describe_validation_error",
    "disk_full",
    "examine",
    "find_workspace",
    "init_workspace",
    "list_repos",
    "open_workspace",
    "read_toml",
    "repo_problem",
    "repo_warnings",
    "serve_detached",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value
