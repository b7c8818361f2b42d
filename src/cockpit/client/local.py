"""What a front end does in its own process, with no engine to ask: find and read the
workspace's ``cockpit.toml``, add repos to it, check the machine (``doctor``), build the
demo, and host the detached engine itself (``cockpit engine start --foreground``).

These read and write files the user owns, as a client of a detached engine still will;
they are named here so the front ends import the engine only through this package.
"""

from engine.adapters.doctor import Report, examine
from engine.config_toml import describe_validation_error
from engine.demo import DEMO_RUNS, build_demo_workspace
from engine.disk import NO_SPACE, disk_full
from engine.rpc.host import EngineRunning, serve_detached
from engine.services.engine import EngineOptions
from engine.workspace import (
    Workspace,
    add_repo,
    find_workspace,
    init_workspace,
    list_repos,
    open_workspace,
    repo_problem,
    repo_warnings,
)

__all__ = [
    "DEMO_RUNS",
    "NO_SPACE",
    "EngineOptions",
    "EngineRunning",
    "Report",
    "Workspace",
    "add_repo",
    "build_demo_workspace",
    "describe_validation_error",
    "disk_full",
    "examine",
    "find_workspace",
    "init_workspace",
    "list_repos",
    "open_workspace",
    "repo_problem",
    "repo_warnings",
    "serve_detached",
]
