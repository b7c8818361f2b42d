"""``cockpit run``, ``resume``, ``steer`` and ``cancel``: start a run or act on one."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

from cockpit.cli.follow import follow
from cockpit.client import open_client
from cockpit.client.local import EngineOptions, Workspace, poke_engines
from engine.domain.models import Run


async def cmd_run(ws: Workspace, args: argparse.Namespace) -> int:
    """Queue a run and print its id (a background engine picks it up), or with
    ``--wait`` execute it here until it ends."""
    scenario = str(Path(args.scenario).resolve()) if args.scenario else None
    if args.wait:
        options = EngineOptions(only=frozenset())
        async with open_client(ws, options) as client:
            run = await client.submit(
                args.repo, args.task, args.agent, scenario, args.skill, args.priority
            )
            return await follow(client, run, args.json)
    async with open_client(ws, listen=False) as client:
        run = await client.submit(
            args.repo, args.task, args.agent, scenario, args.skill, args.priority
        )
    await _hand_over(ws)
    _print_run_id(run, args.json)
    return 0


async def cmd_resume(ws: Workspace, args: argparse.Namespace) -> int:
    """Queue an interrupted or failed run again, as ``run`` does a new one."""
    if args.wait:
        async with open_client(ws, EngineOptions(only=frozenset())) as client:
            run = await client.resume(args.run)
            return await follow(client, run, args.json)
    async with open_client(ws, listen=False) as client:
        run = await client.resume(args.run)
    await _hand_over(ws)
    _print_run_id(run, args.json)
    return 0


def _print_run_id(run: Run, as_json: bool) -> None:
    print(json.dumps(run.public_dict()) if as_json else run.id)


async def _hand_over(ws: Workspace) -> None:
    """Make sure a general engine will pick the queued run up: poke one or start one."""
    if "general" in await poke_engines(ws.state_dir):
        return
    log = ws.logs_dir / "engine.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        subprocess.Popen(  # detached: it outlives this command and exits when idle
            [
                sys.executable,
                "-m",
                "cockpit",
                "--workspace",
                str(ws.root),
                "engine",
                "--exit-when-idle",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


async def cmd_steer(ws: Workspace, args: argparse.Namespace) -> int:
    """Queue a steering message (or the answer to a question) for a run."""
    async with open_client(ws, listen=False) as client:
        run = await client.resolve_run(args.run)
        message_id = await client.steer(run.id, args.message)
    print(f"steering message {message_id} queued for run {run.id}")
    return 0


async def cmd_cancel(ws: Workspace, args: argparse.Namespace) -> int:
    """Cancel a run; says how it ended, or that the cancel was requested."""
    async with open_client(ws, listen=False) as client:
        run = await client.cancel(args.run)
        # The owning engine (another process) cancels it; wait briefly to report the end.
        for _ in range(100):
            if run.state.is_terminal:
                break
            await asyncio.sleep(0.05)
            run = await client.resolve_run(run.id)
    print(f"run {run.id} {run.state.value if run.state.is_terminal else 'cancel requested'}")
    return 0
