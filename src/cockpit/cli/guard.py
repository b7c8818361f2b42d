"""``cockpit guard check``: ask the guard's policy about a tool call without running it."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from cockpit.client import reading_client
from cockpit.client.local import Workspace
from engine.domain.errors import BadInput
from engine.domain.guard import ToolRequest

#: The tool kinds the rules use.
KINDS = ("shell", "read", "write", "edit")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``guard check --tool TOOL (--command CMD | --path PATH) [--repo NAME] [--json]``."""
    guard = sub.add_parser("guard", help="ask the guard about a tool call")
    guard_sub = guard.add_subparsers(dest="guard_command", required=True)
    check = guard_sub.add_parser("check", help="the decision, rule and reason for a call")
    check.add_argument("--tool", required=True, choices=KINDS)
    what = check.add_mutually_exclusive_group(required=True)
    # dest: "command" is the sub-command's name in the top-level parser.
    what.add_argument("--command", dest="shell_command", metavar="CMD")
    what.add_argument("--path")
    check.add_argument("--repo", help="judge as a run on this repo would be (default: cwd)")
    check.add_argument("--json", action="store_true")
    ledger = guard_sub.add_parser("ledger", help="the guard's decisions, and a count per rule")
    ledger.add_argument("run", nargs="?", help="one run's decisions (default: every run's)")
    ledger.add_argument("--json", action="store_true")
    override = guard_sub.add_parser(
        "override", help="lift a rule that refused something for the rest of a run"
    )
    override.add_argument("run")
    override.add_argument("rule")


async def cmd_guard(ws: Workspace, args: argparse.Namespace) -> int:
    """``guard check`` or ``guard ledger``."""
    if args.guard_command == "ledger":
        return await _ledger(ws, args)
    if args.guard_command == "override":
        return await _override(ws, args)
    return await _check(ws, args)


async def _override(ws: Workspace, args: argparse.Namespace) -> int:
    """Lift a rule for a run (recorded in the ledger; the agent is told it may retry)."""
    async with reading_client(ws) as client:
        record = await client.override_guard(args.run, args.rule)
    action = client.redact(record.action)
    print(f"{record.run_id}: {record.rule} lifted for the rest of the run ({action})")
    return 0


async def _ledger(ws: Workspace, args: argparse.Namespace) -> int:
    """Every decision a rule made (one run's, or all), then how often each rule let a
    call through or refused it."""
    async with reading_client(ws) as client:
        run_id = (await client.resolve_run(args.run)).id if args.run else None
        # Masked as shown too: rows written before the ledger masked its reasons.
        rows = [
            dataclasses.replace(
                r,
                action=client.redact(r.action),
                reason=client.redact(r.reason) if r.reason else r.reason,
            )
            for r in await client.guard_ledger(run_id)
        ]
        counts = await client.guard_counts()
    if args.json:
        print(
            json.dumps(
                {
                    "decisions": [
                        {
                            "run": r.run_id,
                            "at": r.at.isoformat(),
                            "tool": r.tool,
                            "kind": r.kind,
                            "action": r.action,
                            "rule": r.rule,
                            "decision": r.decision,
                            "outcome": r.outcome,
                            "reason": r.reason,
                        }
                        for r in rows
                    ],
                    "rules": counts,
                },
                indent=2,
            )
        )
        return 0
    for r in rows:
        print(
            f"{r.at:%Y-%m-%d %H:%M:%S} {r.run_id} {r.rule:<24} {r.decision:<5} {r.outcome:<8} {r.action}"
        )
    if not rows:
        print("no guard decisions yet")
    for rule, outcomes in sorted(counts.items()):
        print(f"{rule}: " + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())))
    return 0


async def _check(ws: Workspace, args: argparse.Namespace) -> int:
    """Print the decision; exit 0 whatever it is (2 for bad input)."""
    if args.tool == "shell" and args.shell_command is None:
        raise BadInput("--tool shell needs --command")
    if args.tool != "shell" and args.path is None:
        raise BadInput(f"--tool {args.tool} needs --path")
    arguments = {"command": args.shell_command} if args.tool == "shell" else {"path": args.path}
    request = ToolRequest(kind=args.tool, tool=args.tool, arguments=arguments)
    async with reading_client(ws) as client:
        # A repo's own path (UnknownRepo when there is none), or the cwd for any repo.
        worktree = ws.repo_path(args.repo) if args.repo else Path.cwd()
        # The reason comes back masked: it may quote the command, and the command a token.
        verdict = await client.guard_check(request, args.repo or None, worktree)
    reason = verdict.reason
    if args.json:
        print(json.dumps({"decision": verdict.decision, "rule": verdict.rule, "reason": reason}))
    else:
        rule = f" ({verdict.rule})" if verdict.rule else ""
        print(f"{verdict.decision}{rule}" + (f": {reason}" if reason else ""))
    return 0
