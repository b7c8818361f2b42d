"""``cockpit engine start [--foreground] | stop | status [--json]``: the workspace's
detached engine, which executes runs while no cockpit is open.

``start`` runs the engine in the background (its log: ``.cockpit/logs/engine.log``) and
returns once it answers; ``--foreground`` runs it in this process until it is stopped.
``status`` exits 1 with "no engine running" when none runs (``--json``:
``{"engine": false}``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable

from cockpit.cli.errors import one_line
from cockpit.client.daemon import (
    engine_status,
    start_background,
    stop_engine,
    wait_for_engine,
)
from cockpit.client.local import EngineRunning, Workspace, serve_detached
from engine.domain.errors import BadInput, CockpitError
from engine.rpc import wire


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``engine`` and its three sub-commands."""
    eng = sub.add_parser("engine", help="start, stop or look at the workspace's engine")
    eng_sub = eng.add_subparsers(dest="engine_command", metavar="ACTION")
    start = eng_sub.add_parser("start", help="start the engine in the background")
    start.add_argument(
        "--foreground", action="store_true", help="run it in this process until stopped"
    )
    # Internal: the pipe a starting command reads "ready" (or why not) from.
    start.add_argument("--report-fd", type=int, default=None, help=argparse.SUPPRESS)
    eng_sub.add_parser("stop", help="stop the engine (runs in flight become interrupted)")
    status = eng_sub.add_parser("status", help="whether an engine runs, and what it does")
    status.add_argument("--json", action="store_true")


def cmd_engine(open_workspace: Callable[[], Workspace], args: argparse.Namespace) -> int:
    """Dispatch ``engine ACTION`` (``open_workspace``: the workspace the command names)."""
    action = args.engine_command
    if action == "start" and args.foreground:
        return _foreground(open_workspace, args.report_fd)
    ws = open_workspace()
    if action == "start":
        return asyncio.run(_start(ws))
    if action == "stop":
        return asyncio.run(_stop(ws))
    if action == "status":
        return asyncio.run(_status(ws, args.json))
    raise BadInput("engine: say start, stop or status")


def _foreground(open_workspace: Callable[[], Workspace], report_fd: int | None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s engine[{os.getpid()}] %(levelname)s %(name)s: %(message)s",
    )
    report = os.fdopen(report_fd, "w") if report_fd is not None else None

    def tell(what: dict) -> None:
        if report is not None and not report.closed:
            with contextlib.suppress(OSError):
                report.write(json.dumps(what) + "\n")
                report.close()

    def ready(path: object) -> None:
        print(f"engine {os.getpid()} serving {ws.root} on {path}", file=sys.stderr, flush=True)
        tell({"ready": str(path), "pid": os.getpid()})

    try:
        # Opened here, so that a workspace that does not open (its cockpit.toml does not
        # load) is reported to the command that started this engine, as its own error.
        ws = open_workspace()
        asyncio.run(serve_detached(ws, on_ready=ready))
    except (CockpitError, OSError) as exc:
        said = one_line(exc)
        if said is not None:  # the starting command says it as its own error
            text, code = said
            if isinstance(exc, CockpitError):
                error = wire.refusal(exc, text)
            else:
                error = {"code": wire.COCKPIT_ERROR, "message": text, "data": {"exit_code": code}}
            tell({"error": error, "running": isinstance(exc, EngineRunning)})
        raise
    finally:
        tell({"error": {"message": "the engine stopped before it was ready"}})
    return 0


async def _start(ws: Workspace) -> int:
    status = await engine_status(ws)
    if status is not None:
        print(f"engine already running (pid {status['pid']}, socket {status['socket']})")
        return 0
    client = await wait_for_engine(ws, start_background(ws))
    try:
        status = await client.status()
    finally:
        await client.close()
    print(f"engine started (pid {status['pid']}, socket {status['socket']})")
    return 0


async def _stop(ws: Workspace) -> int:
    pid = await stop_engine(ws)
    if pid is None:
        print("no engine running", file=sys.stderr)
        return 1
    print(f"engine {pid} stopped")
    return 0


async def _status(ws: Workspace, as_json: bool) -> int:
    status = await engine_status(ws)
    if status is None:
        if as_json:
            print(json.dumps({"engine": False}))
        else:
            print("no engine running", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(status))
        return 0
    uptime = int(status["uptime_s"])
    print(
        f"engine {status['pid']} up {uptime // 3600}h{uptime % 3600 // 60:02d}m{uptime % 60:02d}s"
        f" · {status['running']} running · {status['queued']} queued · "
        f"{status['clients']} clients · protocol {status['protocol']} · {status['socket']}"
    )
    return 0
