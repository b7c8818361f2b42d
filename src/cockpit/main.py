"""The ``cockpit`` command: the headless command line (``cockpit.cli``) plus the
sub-commands that open the full-screen cockpit. Textual is imported only when one of
those runs, so the headless commands start without it."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from cockpit import cli
from cockpit.cli.table import Handler, workspace_of
from cockpit.client.daemon import engine_client
from cockpit.client.local import Workspace
from engine.domain.models import Run


def open_cockpit(args: argparse.Namespace) -> int:
    """``cockpit``: the full-screen cockpit on the workspace, a client of its engine."""
    ws = workspace_of(args)
    from cockpit.tui.app import CockpitApp

    say_farewell(CockpitApp(ws, select=None, review=False).run())
    return 0


def open_review(args: argparse.Namespace) -> int:
    """``cockpit review RUN``: the cockpit opened on that run's diff."""
    ws = workspace_of(args)
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


async def _resolve(ws: Workspace, ref: str) -> Run:
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
    return cli.main(argv, FRONT_ENDS)
