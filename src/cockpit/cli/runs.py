"""``cockpit run``, ``resume``, ``steer`` and ``cancel``: start a run or act on one."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from cockpit.cli.follow import follow
from cockpit.client.daemon import engine_client
from cockpit.client.local import Workspace
from engine.domain.models import Run


async def cmd_run(ws: Workspace, args: argparse.Namespace) -> int:
    """Queue a run on the workspace's engine (started when none runs) and print its id,
    or with ``--wait`` follow it until it ends."""
    scenario = str(Path(args.scenario).resolve()) if args.scenario else None
    async with engine_client(ws) as client:
        run = await client.submit(
            args.repo, args.task, args.agent, scenario, args.skill, args.priority
        )
        if args.wait:
            return await follow(client, run, args.json)
    _print_run_id(run, args.json)
    return 0


async def cmd_resume(ws: Workspace, args: argparse.Namespace) -> int:
    """Queue an interrupted or failed run again, as ``run`` does a new one."""
    async with engine_client(ws) as client:
        run = await client.resume(args.run)
        if args.wait:
            return await follow(client, run, args.json)
    _print_run_id(run, args.json)
    return 0


def _print_run_id(run: Run, as_json: bool) -> None:
    print(json.dumps(run.public_dict()) if as_json else run.id)


async def cmd_steer(ws: Workspace, args: argparse.Namespace) -> int:
    """Queue a steering message (or the answer to a question) for a run."""
    async with engine_client(ws) as client:
        run = await client.resolve_run(args.run)
        message_id = await client.steer(run.id, args.message)
    print(f"steering message {message_id} queued for run {run.id}")
    return 0


async def cmd_cancel(ws: Workspace, args: argparse.Namespace) -> int:
    """Cancel a run; says how it ended, or that the cancel was requested."""
    async with engine_client(ws) as client:
        run = await client.cancel(args.run)
        # The engine ends it in its own time: wait briefly to report the end.
        for _ in range(100):
            if run.state.is_terminal:
                break
            await asyncio.sleep(0.05)
            run = await client.resolve_run(run.id)
    print(f"run {run.id} {run.state.value if run.state.is_terminal else 'cancel requested'}")
    return 0
