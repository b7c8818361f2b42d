"""The ``cockpit`` argument parser: every sub-command, its arguments and its help."""

from __future__ import annotations

import argparse
from typing import NoReturn

from cockpit.cli.doctor import add_parser as add_doctor_parser
from cockpit.cli.engine import add_parser as add_engine_parser
from cockpit.cli.guard import add_parser as add_guard_parser
from cockpit.cli.review import add_parsers as add_review_parsers
from engine.domain.errors import BadInput


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2."""

    def error(self, message: str) -> NoReturn:
        sub = self.prog.removeprefix("cockpit").strip()  # main() already says "cockpit:"
        raise BadInput(f"{sub}: {message}" if sub else message)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, the sub-commands that open the cockpit included."""
    p = _Parser(prog="cockpit", description="Steer many AI coding agents across many repos.")
    p.add_argument(
        "--workspace", metavar="DIR", help="workspace root (default: nearest cockpit.toml)"
    )
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    demo = sub.add_parser("demo", help="build a demo workspace and run a scripted agent on it")
    demo.add_argument("--dir", metavar="D", help="where to build it (default: a fresh folder)")

    init = sub.add_parser("init", help="write a starter cockpit.toml")
    init.add_argument("dir", nargs="?", default=".")

    repo = sub.add_parser("repo", help="manage the workspace's repos")
    repo_sub = repo.add_subparsers(dest="repo_command", parser_class=_Parser, required=True)
    add = repo_sub.add_parser("add", help="add a git repository")
    add.add_argument("path")
    add.add_argument("--name")
    lst = repo_sub.add_parser("list", help="list repos, one per line")
    lst.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="start an agent run")
    run.add_argument("repo")
    run.add_argument("task")
    run.add_argument("--agent", default="scripted", metavar="PROFILE")
    run.add_argument("--scenario", metavar="FILE", help="scenario for the scripted agent")
    run.add_argument("--skill", action="append", default=[], metavar="NAME")
    run.add_argument("--priority", type=int, default=0)
    run.add_argument("--wait", action="store_true", help="run in the foreground until it ends")
    run.add_argument("--json", action="store_true")

    runs = sub.add_parser("runs", help="list runs, oldest first")
    runs.add_argument("--json", action="store_true")
    runs.add_argument(
        "--all", action="store_true", help="also runs decided (merged, rejected) over a day ago"
    )

    show = sub.add_parser("show", help="show one run")
    show.add_argument("run")
    show.add_argument("--events", action="store_true")
    show.add_argument("--json", action="store_true")

    steer = sub.add_parser("steer", help="send a steering message (or an answer) to a run")
    steer.add_argument("run")
    steer.add_argument("message")

    cancel = sub.add_parser("cancel", help="cancel a run")
    cancel.add_argument("run")

    resume = sub.add_parser("resume", help="resume an interrupted or failed run")
    resume.add_argument("run")
    resume.add_argument("--wait", action="store_true")
    resume.add_argument("--json", action="store_true")

    gates = sub.add_parser("gates", help="run a repo's gates on its tree, or on a run's")
    gates.add_argument("target", metavar="REPO|RUN")
    gates.add_argument("--json", action="store_true")

    add_guard_parser(sub)
    add_doctor_parser(sub)

    review = sub.add_parser("review", help="open the cockpit on a run's diff")
    review.add_argument("run")
    add_review_parsers(sub)

    add_engine_parser(sub)
    return p
