"""``cockpit runs [--all] [--json]`` and ``cockpit show RUN [--events] [--json]``: runs
as they are shown, masked."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from cockpit.client import EngineClient, reading_client
from cockpit.client.local import Workspace, repo_warnings
from cockpit.render import describe_event, hidden_by_default, run_row
from engine.domain import codec
from engine.domain.models import Run
from engine.domain.redact import masked_value


def masked(client: EngineClient, run: Run) -> Run:
    """``run`` with its task and error masked as they are shown (a run stored before
    tasks were masked may still hold a key)."""
    mask = client.redact
    return run.copy(task=mask(run.task), error=mask(run.error) if run.error else run.error)


async def cmd_runs(ws: Workspace, args: argparse.Namespace) -> int:
    """Every run, oldest first, as a table (runs decided over a day ago only with
    ``--all``)."""
    as_json: bool = args.json
    show_all: bool = args.all
    for warning in await asyncio.to_thread(repo_warnings, ws):
        print(f"cockpit: {warning}", file=sys.stderr)
    async with reading_client(ws) as client:
        every = [masked(client, run) for run in await client.list_runs()]
    runs = every if show_all else [run for run in every if not hidden_by_default(run)]
    if as_json:
        print(json.dumps([r.public_dict() for r in runs], indent=2))
        return 0
    rows = [["ID", "STATE", "REPO", "AGENT", "TURNS", "AGE", "TASK"]] + [run_row(r) for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows if runs else []:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
    hidden = len(every) - len(runs)
    if hidden:
        noun = "run" if hidden == 1 else "runs"
        print(f"({hidden} {noun} decided over a day ago not shown; --all shows them)")
    elif not runs:
        print(f'no runs yet in {ws.root}; start one with: cockpit run REPO "TASK"')
    return 0


async def cmd_show(ws: Workspace, args: argparse.Namespace) -> int:
    """One run's fields, and with ``--events`` its events."""
    async with reading_client(ws) as client:
        await client.list_runs()  # reports orphaned runs as interrupted first
        run = masked(client, await client.resolve_run(args.run))
        events = await client.events(run.id) if args.events else []
        mask = client.redact
    if args.json:
        data = run.public_dict()
        if args.events:
            data["events"] = [masked_value(mask, codec.encode(e)) for e in events]
        print(json.dumps(data, indent=2))
        return 0
    shown = run.public_dict()
    if run.decided:
        shown["decision"] = run.outcome  # "nothing to merge" said in words
    for key, value in shown.items():
        if value not in (None, [], ""):
            print(f"{key + ':':<17} {value}")
    for event in events:
        stamp = event.at.astimezone().strftime("%H:%M:%S")
        print(f"{event.seq:>5} {stamp} {mask(describe_event(event))}")
    return 0
