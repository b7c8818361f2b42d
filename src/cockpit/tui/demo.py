"""``cockpit demo``: build the demo workspace and open the cockpit on live scripted runs.

One run is already finished and waiting for review, one asks the human a question, one
keeps streaming edits. No API key, no network.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from cockpit.client import open_client
from cockpit.client.local import (
    DEMO_RUNS,
    EngineOptions,
    Workspace,
    build_demo_workspace,
    open_workspace,
)

WELCOME = (
    # {inbox} says what waits now: a reopened demo may have no question left.
    "Welcome to the Cockpit demo. ↑/↓ pick a repo or run · i inbox{inbox} · "
    "s steer the selected run · / commands · ] next run · z zoom · ? every key"
)


async def seed_demo_runs(ws: Workspace) -> str | None:
    """Start the demo runs (once per workspace); returns the id of the run to select."""
    async with open_client(ws, EngineOptions(only=frozenset(), poll_interval=0.05)) as client:
        if await client.list_runs():
            return None  # a reused demo folder keeps its runs
        first: str | None = None
        for repo, task, agent, scenario, finish_first in DEMO_RUNS:
            run = await client.submit(repo, task, agent, str(ws.root / "scenarios" / scenario))
            if finish_first:
                await client.serve()  # only-engine: executes what it submitted, then returns
            first = first or run.id
        return first


def prepare_demo(directory: str | None) -> tuple[Workspace, str | None]:
    """Build (or reuse) the demo workspace and seed its runs."""
    root = (
        Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
    )
    build_demo_workspace(root)
    ws = open_workspace(root)
    return ws, asyncio.run(seed_demo_runs(ws))


def run_demo(directory: str | None) -> int:
    """``cockpit demo``: open the cockpit on the demo workspace."""
    from cockpit.tui.app import CockpitApp

    ws, select = prepare_demo(directory)
    # The runs were built by an engine of this process, which is closed by now: the
    # cockpit is a client of the workspace's detached engine (started for it), which
    # executes the queued runs and goes on when the cockpit quits.
    farewell = CockpitApp(ws, select=select, welcome=WELCOME).run()
    if farewell:
        print(farewell)
    print(f"demo workspace: {ws.root} (open it again with: {_command()} --workspace {ws.root})")
    return 0


def _command() -> str:
    """How to start this very cockpit from a shell: ``cockpit`` when that is the one on
    the PATH, else the full path of the one running (``make demo`` does not put its
    venv on the PATH)."""
    here = Path(sys.executable).parent / "cockpit"
    on_path = shutil.which("cockpit")
    if on_path is not None and (not here.exists() or Path(on_path).resolve() == here.resolve()):
        return "cockpit"
    return str(here) if here.exists() else f"{sys.executable} -m cockpit"
