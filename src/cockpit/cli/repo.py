"""``cockpit init [DIR]`` and ``cockpit repo add|list``: a workspace and its repos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cockpit.client.local import Workspace, add_repo, init_workspace, list_repos


def cmd_init(args: argparse.Namespace) -> int:
    """Write a starter cockpit.toml (needs no workspace: it makes one)."""
    path = init_workspace(Path(args.dir).resolve())
    print(f"wrote {path}")
    return 0


def cmd_repo(ws: Workspace, args: argparse.Namespace) -> int:
    """``repo add PATH [--name N]`` or ``repo list [--json]``; a repo with a problem is
    still listed, its problem said on stderr."""
    if args.repo_command == "add":
        name, path, base = add_repo(ws.root, args.path, args.name)
        print(f"added repo {name} ({path}, base {base})")
        return 0
    repos = list_repos(ws)
    for repo in repos:
        if "problem" in repo:
            print(f"cockpit: repo {repo['name']!r}: {repo['problem']}", file=sys.stderr)
    if args.json:
        print(json.dumps(repos, indent=2))
    else:
        for repo in repos:
            print(f"{repo['name']}\t{repo['path']}\t{repo['base']}")
    return 0
