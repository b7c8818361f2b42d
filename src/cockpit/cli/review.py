"""``cockpit approve RUN [--squash] [--override-gates] [--json]`` and ``cockpit reject RUN
[--json]``: a finished run's review decision, headless."""

from __future__ import annotations

import argparse
import json

from cockpit.client.daemon import engine_client
from cockpit.client.local import Workspace


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The ``approve`` and ``reject`` sub-commands."""
    ok = sub.add_parser("approve", help="merge a finished run's branch into its base branch")
    ok.add_argument("run")
    ok.add_argument("--squash", action="store_true", default=None, help="one squashed commit")
    ok.add_argument(
        "--override-gates", action="store_true", help="merge even with red blocking gates"
    )
    ok.add_argument("--json", action="store_true")
    no = sub.add_parser("reject", help="save a finished run's work aside and remove it")
    no.add_argument("run")
    no.add_argument("--json", action="store_true")


async def cmd_approve(ws: Workspace, args: argparse.Namespace) -> int:
    """Exit 0 merged; 1 refused (conflict, red gates, dirty checkout), nothing moved."""
    async with engine_client(ws) as client:
        done = await client.approve(
            args.run, squash=args.squash, override_gates=args.override_gates
        )
    if args.json:
        print(
            json.dumps(
                {
                    "run": done.run_id,
                    "base": done.base,
                    "sha": done.sha,
                    "squash": done.squash,
                    "gates_overridden": done.gates_overridden,
                    "merged": done.merged,
                }
            )
        )
        return 0
    if not done.merged:
        print(f"run {done.run_id}: {done.base} already has its changes; nothing to merge")
    else:
        how = "squashed into" if done.squash else "merged into"
        print(f"run {done.run_id} {how} {done.base} as {done.sha[:12]}")
    if done.gates_overridden:
        print(f"gates overridden (recorded): {', '.join(done.gates_overridden)}")
    return 0


async def cmd_reject(ws: Workspace, args: argparse.Namespace) -> int:
    """The salvage bundle's absolute path alone on the last line (``--json``:
    ``{"salvage": PATH}``)."""
    async with engine_client(ws) as client:
        run = await client.resolve_run(args.run)
        path = await client.reject(run.id)
    if args.json:
        print(json.dumps({"salvage": str(path)}))
    else:
        print(f"run {run.id} rejected; its worktree and branch are removed, its work saved in:")
        print(path)
    return 0
