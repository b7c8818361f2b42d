"""``cockpit gates REPO|RUN [--json]``: a repo's gates, run headless on a tree."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from cockpit.client import reading_client
from cockpit.client.local import Workspace, repo_problem
from cockpit.render import plural
from engine.domain.errors import BadInput, UnknownRun
from engine.domain.gates import GateResult, GateStatus
from engine.domain.leaks import BUILTIN_SECRETS

MARK = {
    GateStatus.PASSED: "✓",
    GateStatus.FAILED: "✗",
    GateStatus.ERROR: "!",
    GateStatus.UNAVAILABLE: "?",
    GateStatus.RUNNING: "…",
    GateStatus.STALE: "~",
}


async def cmd_gates(ws: Workspace, args: argparse.Namespace) -> int:
    """Exit 0 when every blocking gate passed, 1 when one failed, errored or was
    unavailable (advisory gates never change the exit code), 2 when the repo's path is
    no git repo."""
    target: str = args.target
    repo, run_id = target, None
    async with reading_client(ws) as client:
        if target in ws.config.repos:
            problem = await asyncio.to_thread(repo_problem, ws.repo_path(repo))
            if problem:
                raise BadInput(f"repo {repo!r}: {problem}")
        else:
            with contextlib.suppress(UnknownRun):  # check_gates says what is unknown
                run = await client.resolve_run(target)
                run_id, repo = run.id, run.repo
        tree, results = await client.check_gates(run_id or target)
    judged = f"run {run_id} of repo {repo}" if run_id else f"repo {repo}"
    if args.json:
        report = {"repo": repo, "run": run_id, "tree": str(tree)}
        print(json.dumps({**report, "gates": [r.as_json() for r in results]}, indent=2))
    else:
        configured = [r for r in results if r.name != BUILTIN_SECRETS]
        if not configured:
            print(f"no gates configured for {judged} ([[repos.{repo}.gates]] in cockpit.toml)")
        for result in results:
            # The built-in check is said when it finds something, as a run records it.
            if result.name != BUILTIN_SECRETS or result.status is not GateStatus.PASSED:
                print(describe(result))
    return 1 if any(r.holds_back for r in results) else 0


def describe(result: GateResult) -> str:
    """A gate's verdict as lines: a heading, then one line per finding."""
    kind = "" if result.blocking else " (advisory)"
    head = f"{MARK[result.status]} {result.name}{kind}: {result.status.value}"
    if result.findings:
        head += f", {plural(len(result.findings), 'finding')}"
    head += f" ({result.seconds:.2f}s)"
    lines = [head]
    if result.detail:
        lines += [f"    {line}" for line in result.detail.splitlines()[-10:]]
    for f in result.findings:
        where = f.path + (f":{f.line}" if f.line else "") + (f":{f.column}" if f.column else "")
        lines.append(f"    {where}: {f.code} {f.message}")
    return "\n".join(lines)
