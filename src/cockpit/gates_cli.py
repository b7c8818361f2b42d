"""``cockpit gates REPO|RUN [--json]``: a repo's gates, run headless on a tree."""

from __future__ import annotations

import argparse
import json

from engine.bootstrap import open_engine
from engine.domain.gates import GateResult, GateStatus
from engine.workspace import Workspace

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
    unavailable (advisory gates never change the exit code)."""
    async with open_engine(ws, listen=False) as engine:
        tree, results = await engine.check_gates(args.target)
    if args.json:
        print(json.dumps({"tree": str(tree), "gates": [r.as_json() for r in results]}, indent=2))
    else:
        if not results:
            print(f"no gates configured for {args.target} ([[repos.NAME.gates]] in cockpit.toml)")
        for result in results:
            print(describe(result))
    return 1 if any(r.holds_back for r in results) else 0


def describe(result: GateResult) -> str:
    """A gate's verdict as lines: a heading, then one line per finding."""
    kind = "" if result.blocking else " (advisory)"
    head = f"{MARK[result.status]} {result.name}{kind}: {result.status.value}"
    if result.findings:
        head += f", {len(result.findings)} finding(s)"
    head += f" ({result.seconds:.2f}s)"
    lines = [head]
    if result.detail:
        lines += [f"    {line}" for line in result.detail.splitlines()[-10:]]
    for f in result.findings:
        where = f.path + (f":{f.line}" if f.line else "") + (f":{f.column}" if f.column else "")
        lines.append(f"    {where}: {f.code} {f.message}")
    return "\n".join(lines)
