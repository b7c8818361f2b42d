"""The ``cockpit`` command line. Every error becomes one line on stderr and an exit code:
0 success, 1 the thing ran and did not succeed, 2 bad input."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from cockpit.doctor_cli import add_parser as add_doctor_parser
from cockpit.doctor_cli import cmd_doctor
from cockpit.gates_cli import cmd_gates
from cockpit.guard_cli import add_parser as add_guard_parser
from cockpit.guard_cli import cmd_guard
from cockpit.render import describe_event, hidden_by_default, run_row, steer_hint
from cockpit.review_cli import add_parsers as add_review_parsers
from cockpit.review_cli import cmd_approve, cmd_reject
from engine.adapters.control import poke_engines
from engine.bootstrap import open_engine
from engine.disk import NO_SPACE, disk_full
from engine.domain.errors import BadInput, CockpitError
from engine.domain.events import HumanAsked, RunStateChanged
from engine.domain.models import Run
from engine.domain.redact import KEY_VARIABLES, RedactingFilter, Redactor
from engine.domain.state import RunState
from engine.services.engine import Engine, EngineOptions
from engine.workspace import (
    Workspace,
    add_repo,
    find_workspace,
    init_workspace,
    list_repos,
    open_workspace,
    repo_warnings,
)

#: Run states that count as success for `--wait`.
SUCCESS = {RunState.FINISHED}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2."""

    def error(self, message: str) -> NoReturn:
        sub = self.prog.removeprefix("cockpit").strip()  # main() already says "cockpit:"
        raise BadInput(f"{sub}: {message}" if sub else message)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
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

    # Internal (the background engine `run` starts): no help given, so not listed.
    eng = sub.add_parser("engine")
    eng.add_argument("--exit-when-idle", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cockpit`` console script."""
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except CockpitError as exc:
        return _error(exc, exc.exit_code)
    except BrokenPipeError:
        # The reader went away (`cockpit runs | head`): nothing more to say to it, and
        # Python's own flush at exit must not fail on the closed pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A file Cockpit had to write, refused by the system: one line, no traceback.
        if exc.errno in NO_SPACE:
            return _error(disk_full(Path(exc.filename or Path.cwd())), 1)
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM) or not exc.filename:
            raise
        return _error(f"cannot write {exc.filename}: {exc.strerror}", 2)
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130


def _error(error: object, code: int) -> int:
    """Print ``error`` as the one line on stderr (masked: it may quote a task) and return
    the exit code."""
    line = Redactor(os.environ.get(name) for name in KEY_VARIABLES).text(str(error))
    print(f"cockpit: {line}", file=sys.stderr)
    return code


def _masked(engine: Engine, run: Run) -> Run:
    """``run`` with its task and error masked as they are shown (a run stored before
    tasks were masked may still hold a key)."""
    mask = engine.redactor.text
    return run.model_copy(
        update={"task": mask(run.task), "error": mask(run.error) if run.error else run.error}
    )


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "init":
        path = init_workspace(Path(args.dir).resolve())
        print(f"wrote {path}")
        return 0
    if command == "demo":
        from cockpit.demo import run_demo

        return run_demo(args.dir)
    if command == "doctor":
        return cmd_doctor(args)
    ws = _workspace(args)
    if command in (None, "review"):
        from cockpit.app import CockpitApp

        select = None
        if command == "review":
            select = asyncio.run(_resolve(ws, args.run)).id
        CockpitApp(ws, select=select, review=command == "review").run()
        return 0
    if command == "repo":
        return _cmd_repo(ws, args)
    handlers = {
        "run": _cmd_run,
        "runs": lambda w, a: _cmd_runs(w, a.json, a.all),
        "show": _cmd_show,
        "steer": _cmd_steer,
        "cancel": _cmd_cancel,
        "resume": _cmd_resume,
        "engine": _cmd_engine,
        "gates": cmd_gates,
        "guard": cmd_guard,
        "approve": cmd_approve,
        "reject": cmd_reject,
    }
    return asyncio.run(handlers[command](ws, args))


async def _resolve(ws: Workspace, ref: str) -> Run:
    async with open_engine(ws, listen=False) as engine:
        await engine.list_runs()
        return await engine.resolve_run(ref)


def _workspace(args: argparse.Namespace) -> Workspace:
    root = find_workspace(Path.cwd(), args.workspace)
    return open_workspace(root)


# --- repo ------------------------------------------------------------------------------
def _cmd_repo(ws: Workspace, args: argparse.Namespace) -> int:
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


# --- runs ------------------------------------------------------------------------------
async def _cmd_run(ws: Workspace, args: argparse.Namespace) -> int:
    scenario = str(Path(args.scenario).resolve()) if args.scenario else None
    if args.wait:
        options = EngineOptions(only=frozenset())
        async with open_engine(ws, options) as engine:
            run = await engine.submit(
                args.repo, args.task, args.agent, scenario, args.skill, args.priority
            )
            return await _follow(engine, run, args.json)
    async with open_engine(ws, listen=False) as engine:
        run = await engine.submit(
            args.repo, args.task, args.agent, scenario, args.skill, args.priority
        )
    await _hand_over(ws)
    _print_run_id(run, args.json)
    return 0


async def _cmd_resume(ws: Workspace, args: argparse.Namespace) -> int:
    if args.wait:
        async with open_engine(ws, EngineOptions(only=frozenset())) as engine:
            run = await engine.resume(args.run)
            return await _follow(engine, run, args.json)
    async with open_engine(ws, listen=False) as engine:
        run = await engine.resume(args.run)
    await _hand_over(ws)
    _print_run_id(run, args.json)
    return 0


def _print_run_id(run: Run, as_json: bool) -> None:
    print(json.dumps(run.public_dict()) if as_json else run.id)


async def _hand_over(ws: Workspace) -> None:
    """Make sure a general engine will pick the queued run up: poke one or start one."""
    if "general" in await poke_engines(ws.state_dir):
        return
    log = ws.logs_dir / "engine.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        subprocess.Popen(  # detached: it outlives this command and exits when idle
            [
                sys.executable,
                "-m",
                "cockpit",
                "--workspace",
                str(ws.root),
                "engine",
                "--exit-when-idle",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


async def _follow(engine: Engine, run: Run, as_json: bool) -> int:
    """Execute ``run`` in this process, streaming its events, until it ends."""
    from rich.console import Console
    from rich.markup import escape

    # soft_wrap: one event per line even in a narrow terminal or a pipe.
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    state = {"run": run}

    def show(events: list) -> None:
        for event in events:
            if event.run_id != run.id:
                continue
            stamp = event.at.astimezone().strftime("%H:%M:%S")
            text = escape(engine.redactor.text(describe_event(event)))
            console.print(f"[dim]{stamp}[/] [bold]{run.id}[/] #{event.seq} {text}")

    # On a terminal a question is answered here: each line typed while the run waits
    # is sent as the answer (elsewhere the printed `cockpit steer` line is the way).
    interactive = sys.stdin is not None and sys.stdin.isatty()
    loop = asyncio.get_running_loop()
    waiting = {"open": False, "reader": False}

    sending: set[asyncio.Task] = set()

    async def send(text: str) -> None:
        try:
            await engine.steer(run.id, text)
        except CockpitError as exc:
            console.print(f"answer not sent: {escape(str(exc))}")

    def answer(line: str) -> None:
        if waiting["open"] and line.strip():
            waiting["open"] = False
            task = loop.create_task(send(line.strip()))
            sending.add(task)
            task.add_done_callback(sending.discard)

    def read_answers() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(answer, line)

    def new_events(events: list) -> None:
        mine = [e for e in events if e.seq > after and e.run_id == run.id]
        show(mine)
        for event in mine:
            if isinstance(event, HumanAsked):
                waiting["open"] = True
                console.print(escape(engine.redactor.text(steer_hint(run.id, event))))
                if interactive:
                    console.print("type the answer here and press Enter:")
                    if not waiting["reader"]:
                        waiting["reader"] = True
                        # A daemon: a read still blocked when the run ends stops nothing.
                        threading.Thread(target=read_answers, daemon=True).start()
            elif isinstance(event, RunStateChanged) and event.new is not RunState.WAITING_FOR_HUMAN:
                waiting["open"] = False

    # Events stored before the engine started (the submit itself) come first.
    show(await engine.store.events_for(run.id))
    after = await engine.store.last_seq(run.id)
    engine.bus.add_sink(new_events)
    with console.status(f"run {run.id} on {run.repo}…", spinner="dots"):
        await engine.run()
    failure = engine.unrecorded.get(run.id)
    if isinstance(failure, CockpitError):
        raise failure  # its end is not stored: this line says why (the next read reaps it)
    final = _masked(engine, await engine.resolve_run(run.id))
    state["run"] = final
    if as_json:
        print(json.dumps(final.public_dict()))
    else:
        # Escaped: an error is text, not markup ("[redacted]" would vanish as a tag).
        error = f": {escape(final.error)}" if final.error else ""
        console.print(f"run {final.id} {final.state.value}{error}")
    return 0 if final.state in SUCCESS else 1


async def _cmd_runs(ws: Workspace, as_json: bool, show_all: bool = False) -> int:
    for warning in await asyncio.to_thread(repo_warnings, ws):
        print(f"cockpit: {warning}", file=sys.stderr)
    async with open_engine(ws, listen=False) as engine:
        every = [_masked(engine, run) for run in await engine.list_runs()]
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


async def _cmd_show(ws: Workspace, args: argparse.Namespace) -> int:
    async with open_engine(ws, listen=False) as engine:
        await engine.list_runs()  # reports orphaned runs as interrupted first
        run = _masked(engine, await engine.resolve_run(args.run))
        events = await engine.store.events_for(run.id) if args.events else []
        mask = engine.redactor
    if args.json:
        data = run.public_dict()
        if args.events:
            data["events"] = [mask.value(e.model_dump(mode="json")) for e in events]
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
        print(f"{event.seq:>5} {stamp} {mask.text(describe_event(event))}")
    return 0


async def _cmd_steer(ws: Workspace, args: argparse.Namespace) -> int:
    async with open_engine(ws, listen=False) as engine:
        run = await engine.resolve_run(args.run)
        message_id = await engine.steer(run.id, args.message)
    print(f"steering message {message_id} queued for run {run.id}")
    return 0


async def _cmd_cancel(ws: Workspace, args: argparse.Namespace) -> int:
    async with open_engine(ws, listen=False) as engine:
        run = await engine.cancel(args.run)
        # The owning engine (another process) cancels it; wait briefly to report the end.
        for _ in range(100):
            if run.state.is_terminal:
                break
            await asyncio.sleep(0.05)
            run = await engine.resolve_run(run.id)
    print(f"run {run.id} {run.state.value if run.state.is_terminal else 'cancel requested'}")
    return 0


async def _cmd_engine(ws: Workspace, args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s engine[{os.getpid()}] %(levelname)s %(name)s: %(message)s",
    )
    async with open_engine(ws, EngineOptions(exit_when_idle=args.exit_when_idle)) as engine:
        for handler in logging.getLogger().handlers:  # the log file never holds a key
            handler.addFilter(RedactingFilter(engine.redactor))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, engine.request_stop)  # runs in flight → interrupted
        await engine.run()
    return 0
