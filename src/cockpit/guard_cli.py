"""``cockpit guard check``: ask the guard's policy about a tool call without running it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.bootstrap import open_engine
from engine.domain.errors import BadInput
from engine.domain.guard import ToolRequest
from engine.workspace import Workspace

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


async def cmd_guard(ws: Workspace, args: argparse.Namespace) -> int:
    """Print the decision; exit 0 whatever it is (2 for bad input)."""
    if args.tool == "shell" and args.shell_command is None:
        raise BadInput("--tool shell needs --command")
    if args.tool != "shell" and args.path is None:
        raise BadInput(f"--tool {args.tool} needs --path")
    async with open_engine(ws, listen=False) as engine:
        if args.repo:
            ws.repo(args.repo)  # raises UnknownRepo
            policy = engine.policy_for(args.repo, ws.repo_path(args.repo))
        else:
            policy = engine.policy_for_any(Path.cwd())
    arguments = {"command": args.shell_command} if args.tool == "shell" else {"path": args.path}
    verdict = policy.decide(ToolRequest(kind=args.tool, tool=args.tool, arguments=arguments))
    if args.json:
        print(
            json.dumps(
                {"decision": verdict.decision, "rule": verdict.rule, "reason": verdict.reason}
            )
        )
    else:
        rule = f" ({verdict.rule})" if verdict.rule else ""
        print(f"{verdict.decision}{rule}" + (f": {verdict.reason}" if verdict.reason else ""))
    return 0
