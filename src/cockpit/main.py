"""The ``cockpit`` command: the headless command line (``cockpit.cli``) plus the
sub-commands that open the full-screen cockpit. Textual is imported only when one of
those runs, so the headless commands start without it.

``cockpit`` alone (``cockpit [--workspace DIR]``), the command a person types most, opens
the cockpit without loading the headless command line (every sub-command's parser and
handler, and through them the engine's modules): its first frame waits for nothing it
does not show. Anything else, and any failure on the way, goes through ``cockpit.cli``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, NoReturn, cast

if TYPE_CHECKING:
    import argparse

    from cockpit.cli.table import Handler
    from cockpit.client.early import EarlyLink
    from cockpit.client.local import Workspace
    from engine.domain.models import Run


def open_cockpit(args: argparse.Namespace) -> int:
    """``cockpit``: the full-screen cockpit on the workspace, a client of its engine."""
    from cockpit.tui.memory import first_frame_drawn, starting

    with starting():
        ws = _client_workspace_of(args)
        early = _early_link(ws)
        from cockpit.tui.app import CockpitApp

        app = CockpitApp(ws, select=None, review=False, early=early)
    try:
        line = app.run()
    finally:
        first_frame_drawn()  # collection back on, had the app left before drawing one
    say_farewell(line)
    return 0


def open_review(args: argparse.Namespace) -> int:
    """``cockpit review RUN``: the cockpit opened on that run's diff."""
    import asyncio

    ws = _workspace_of(args)
    from cockpit.tui.app import CockpitApp

    select = asyncio.run(_resolve(ws, args.run)).id
    say_farewell(CockpitApp(ws, select=select, review=True).run())
    return 0


def say_farewell(line: str | None) -> None:
    """Print what the cockpit said on its way out (what goes on in the engine)."""
    if line:
        print(line)


def open_demo(args: argparse.Namespace) -> int:
    """``cockpit demo [--dir D]``: the cockpit on a demo workspace, built for it."""
    from cockpit.tui.demo import run_demo

    return run_demo(args.dir)


def _workspace_of(args: argparse.Namespace) -> Workspace:
    """The workspace ``--workspace`` names, or the nearest one up from the cwd (as
    ``cockpit.cli.table.workspace_of``, without loading the command line)."""
    from cockpit.client.local import find_workspace, open_workspace

    return open_workspace(find_workspace(Path.cwd(), args.workspace))


def _client_workspace_of(args: argparse.Namespace) -> Workspace:
    """The workspace as the cockpit, a client of its engine, opens it: found as
    :func:`_workspace_of` finds it, its config left to the engine to read."""
    from cockpit.client.local import client_workspace, find_workspace

    return client_workspace(find_workspace(Path.cwd(), args.workspace))


def _early_link(ws: Workspace) -> EarlyLink | None:
    """The workspace's engine (started when none runs), its ``hello`` answered and the
    cockpit's first reads asked: it prepares them while the screen's modules load. A
    ``cockpit.toml`` that does not load is this command's one line (exit code 2), before
    the screen is taken. None when no engine answers: the cockpit says so itself."""
    from cockpit.client.early import open_early
    from cockpit.tui.opening import ask_first
    from engine.domain.errors import ConfigError

    link = open_early(ws.state_dir, ask_first)
    if link is None:
        _engine_ready(ws)
        link = open_early(ws.state_dir, ask_first)
    if link is not None and link.info.get("config_error"):
        link.close()
        raise ConfigError(str(link.info["config_error"]))
    return link


def _engine_ready(ws: Workspace) -> None:
    """Start the workspace's engine when none runs, and have it check ``cockpit.toml``:
    a file that does not load is this command's one line (exit code 2) before the
    screen is taken, as for every other command. Any other reason the engine cannot be
    reached is left to the cockpit, which says it and offers to start one again."""
    import asyncio

    from cockpit.client.daemon import connect_or_start
    from engine.domain.errors import CockpitError, ConfigError

    async def ask() -> str | None:
        client = await connect_or_start(ws)
        try:
            return client.engine_info.get("config_error")
        finally:
            await client.close()

    try:
        problem = asyncio.run(ask())
    except ConfigError:
        raise
    except CockpitError:
        return
    if problem:
        raise ConfigError(problem)


async def _resolve(ws: Workspace, ref: str) -> Run:
    from cockpit.client.daemon import engine_client

    async with engine_client(ws) as client:
        return await client.resolve_run(ref)


#: The sub-commands that open a user interface (``None``: no sub-command given).
FRONT_ENDS: dict[str | None, Handler] = {
    None: open_cockpit,
    "review": open_review,
    "demo": open_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cockpit`` console script and of ``python -m cockpit``."""
    workspace = _only_workspace(sys.argv[1:] if argv is None else list(argv))
    if workspace is not None:
        # Not argparse's Namespace: the cockpit starts without loading argparse.
        args = cast("argparse.Namespace", SimpleNamespace(workspace=workspace or None))
        try:
            return open_cockpit(args)
        except BaseException as exc:  # said below, as the command line says it
            failed = exc
        # The command line says what went wrong, its way (one line, its exit code): its
        # handler for `cockpit` raises the failure again.
        return _command_line(argv, {None: _raising(failed)})
    return _command_line(argv, FRONT_ENDS)


def _only_workspace(argv: list[str]) -> str | None:
    """For ``cockpit`` with no sub-command and at most ``--workspace DIR``: DIR (``""``
    when none is given); else None (the command line parses it)."""
    match argv:
        case []:
            return ""
        case ["--workspace", str(value)] if not value.startswith("-"):
            return value or None
        case [str(option)] if option.startswith("--workspace=") and len(option) > 12:
            return option.removeprefix("--workspace=")
    return None


def _raising(failure: BaseException) -> Callable[[argparse.Namespace], NoReturn]:
    def handler(_args: argparse.Namespace) -> NoReturn:
        raise failure

    return handler


def _command_line(argv: Sequence[str] | None, front_ends: dict[str | None, Handler]) -> int:
    from cockpit import cli

    return cli.main(argv, front_ends)
