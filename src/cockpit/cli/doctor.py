"""``cockpit doctor [--json]``: what is installed and enforced for this workspace's runs."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

from cockpit.client.local import examine, find_workspace, open_workspace
from engine.domain.errors import CockpitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``doctor [--json]``."""
    doctor = sub.add_parser(
        "doctor", help="what is installed and enforced: the sandbox, git, each agent's CLI"
    )
    doctor.add_argument("--json", action="store_true")


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when something the workspace needs is missing. Outside
    a workspace it checks the machine alone."""
    config, root = None, None
    # No workspace here: the machine's part is still worth a look.
    with contextlib.suppress(CockpitError):
        root = find_workspace(Path.cwd(), args.workspace)
    if root is not None:
        workspace = open_workspace(root)  # a broken cockpit.toml is one line, exit 2
        config = workspace.config
    report = examine(config, root)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return 0 if report.ok else 1
    sandbox = report.sandbox
    if sandbox["enforced"]:
        line = f"enforced by {sandbox['detail']} ({sandbox['tool']});"
        line += f" network for agents' commands: {sandbox['network']}"
    else:
        line = sandbox["detail"]
        if sandbox["required"]:
            line += " — and [sandbox] required = true: runs are refused"
    print(f"{_mark(sandbox['enforced'])} sandbox: {line}")
    for check in report.checks:
        ok = check.ok or not check.needed
        print(f"{_mark(ok)} {check.name}: {check.detail}")
    if not report.ok:
        print("something the workspace needs is missing (see ✗ above)")
    return 0 if report.ok else 1


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"
