"""The headless sub-commands in one table: name → handler."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from cockpit.cli.doctor import cmd_doctor
from cockpit.cli.engine import cmd_engine
from cockpit.cli.gates import cmd_gates
from cockpit.cli.guard import cmd_guard
from cockpit.cli.repo import cmd_init, cmd_repo
from cockpit.cli.review import cmd_approve, cmd_reject
from cockpit.cli.runs import cmd_cancel, cmd_resume, cmd_run, cmd_steer
from cockpit.cli.show import cmd_runs, cmd_show
from cockpit.client.local import Workspace, find_workspace, open_workspace

#: A sub-command: gets the parsed arguments, returns the exit code.
Handler = Callable[[argparse.Namespace], int]


def workspace_of(args: argparse.Namespace) -> Workspace:
    """The workspace ``--workspace`` names, or the nearest one up from the cwd."""
    root = find_workspace(Path.cwd(), args.workspace)
    return open_workspace(root)


def on_workspace(command: Callable[[Workspace, argparse.Namespace], int]) -> Handler:
    """``command`` run on the workspace (opened first: none is one line, exit 2)."""
    return lambda args: command(workspace_of(args), args)


def on_workspace_async(
    command: Callable[[Workspace, argparse.Namespace], Coroutine[Any, Any, int]],
) -> Handler:
    """The same for an asynchronous ``command``, run on its own event loop."""
    return lambda args: asyncio.run(command(workspace_of(args), args))


#: Every headless sub-command. The ones that open the full-screen cockpit (none given,
#: ``demo``, ``review``) are not here: ``cockpit.main`` adds them.
COMMANDS: dict[str, Handler] = {
    "init": cmd_init,
    "doctor": cmd_doctor,
    "repo": on_workspace(cmd_repo),
    "run": on_workspace_async(cmd_run),
    "runs": on_workspace_async(cmd_runs),
    "show": on_workspace_async(cmd_show),
    "steer": on_workspace_async(cmd_steer),
    "cancel": on_workspace_async(cmd_cancel),
    "resume": on_workspace_async(cmd_resume),
    "gates": on_workspace_async(cmd_gates),
    "guard": on_workspace_async(cmd_guard),
    "approve": on_workspace_async(cmd_approve),
    "reject": on_workspace_async(cmd_reject),
    # The workspace opened by the command itself: an engine started in the background
    # says on its report pipe why it could not open it (a cockpit.toml that does not load).
    "engine": lambda args: cmd_engine(lambda: workspace_of(args), args),
}
