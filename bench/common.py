"""Helpers shared by the benchmarks: statistics, output, throw-away repos and workspaces.

Every benchmark prints one JSON line per figure on stdout (see :func:`emit`) and writes
progress to stderr. Everything it creates lives in a temporary folder removed at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

# The builders of repos, workspaces and seeded runs live in tests/builders.py, shared with
# the tests. A benchmark runs as a script with only bench/ on sys.path: put the repo's
# root there, here and only here (every benchmark imports this module, or agents.py,
# which imports it first), so ``tests.builders`` imports. The root rather than tests/
# itself: ``tests.builders`` is a name type checkers resolve from the project root too.
# Appended, not prepended: bench/'s own modules and the installed packages come first.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from tests import builders
from tests.builders import (
    NOOP_SCENARIO,
    git,
    private_environment,
    python_modules,
    seed_finished_runs,
    store_runs,
    write_scenario,
    write_workspace,
)

from cockpit.client import open_client
from cockpit.client.local import EngineOptions, open_workspace
from engine.domain.models import Run
from engine.domain.state import RunState

__all__ = [
    "NOOP_SCENARIO",
    "builders",
    "cockpit_command",
    "emit",
    "engine_running",
    "git",
    "log",
    "make_repo",
    "median",
    "percentile",
    "private_config_home",
    "rss_kib",
    "run_to_end",
    "seed_finished_runs",
    "store_runs",
    "temp_dir",
    "write_scenario",
    "write_workspace",
]

# Benchmarks commit in throw-away repos: an identity that never depends on the machine.
private_environment("Cockpit Bench", "bench@cockpit.invalid")


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (which must not be empty)."""
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def log(message: str) -> None:
    """Progress and diagnostics: stderr only, stdout is for the JSON lines."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(
    bench: str,
    value: float,
    unit: str,
    baseline: str | None,
    baseline_value: float | None,
    *,
    goal: str | None = None,
    target: str | None = None,
    digits: int = 2,
    **extra: Any,
) -> dict[str, Any]:
    """Print one figure as a JSON line: ``ratio`` is ``value / baseline_value`` (no
    baseline: ``baseline``, ``baseline_value`` and ``ratio`` are left out).

    ``goal`` is the ratio's goal (e.g. ``">= 0.5"``); ``target`` an absolute goal on
    ``value``. Extra keyword fields (``p50``, ``runs``, ...) are appended as given.
    """
    line: dict[str, Any] = {"bench": bench, "value": round(value, digits), "unit": unit}
    # A figure with no sensible baseline gives only its target (TESTING.md).
    if baseline is not None and baseline_value is not None:
        line["baseline"] = baseline
        line["baseline_value"] = round(baseline_value, digits)
        line["ratio"] = round(value / baseline_value, 3) if baseline_value else None
    if goal is not None:
        line["goal"] = goal
    if target is not None:
        line["target"] = target
    line.update(extra)
    print(json.dumps(line), flush=True)
    return line


@contextlib.contextmanager
def temp_dir(prefix: str) -> Generator[Path]:
    """A fresh temporary folder, removed (with everything in it) on exit."""
    with tempfile.TemporaryDirectory(prefix=f"cockpit-bench-{prefix}-") as name:
        yield Path(name).resolve()


def make_repo(path: Path, files: int = 2, dirs: int = 1) -> Path:
    """A git repo at ``path`` on ``main`` with one commit of ``files`` small generated
    Python modules spread over ``dirs`` folders, plus a README (:func:`builders.make_repo`
    of :func:`builders.python_modules`)."""
    return builders.make_repo(
        path, {"README.md": f"# {path.name}\n", **python_modules(files, dirs)}
    )


# --- detached engines ----------------------------------------------------------------------


def cockpit_command(root: Path, *args: str) -> str:
    """Run ``cockpit --workspace ROOT ARGS…`` to its end; its stdout (raises on failure)."""
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cockpit {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


@contextlib.contextmanager
def engine_running(root: Path) -> Generator[int]:
    """The workspace's detached engine for the block (``cockpit engine start``; ``cockpit
    engine stop`` after): its pid. No engine serving the workspace outlives the block,
    and another one (a cockpit that started its own) is an error."""
    try:
        cockpit_command(root, "engine", "start")
        pid = json.loads(cockpit_command(root, "engine", "status", "--json"))["pid"]
        yield pid
        others = [p for p in builders.engines_under(root) if p != pid]
        if others:
            raise RuntimeError(f"engines other than {pid} served {root}: {others}")
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            cockpit_command(root, "engine", "stop")
        builders.stop_engines_under(root)


# --- helpers of the UI benchmarks (bench_ui_*.py) -----------------------------------------


def private_config_home(root: Path) -> Path:
    """Point ``XDG_CONFIG_HOME`` (UI settings, user themes) at ``root/xdg``, never the
    user's own, for this process and the subprocesses it starts; return the folder."""
    home = root / "xdg"
    home.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CONFIG_HOME"] = str(home)
    return home


def rss_kib(field: str = "VmRSS") -> int:
    """A memory figure of this process from ``/proc/self/status`` (``VmRSS``, ``VmHWM``…)
    in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


async def run_to_end(
    root: Path, repo: str, task: str, agent: str, scenario: str | None, timeout: float
) -> tuple[Run, list[Any]]:
    """Run one task on an engine of its own, through the client the front ends use,
    until the run ends; the finished run and its stored events (a run that did not
    finish is an error naming its state)."""
    async with open_client(open_workspace(root), EngineOptions(poll_interval=0.02)) as client:
        serving = asyncio.create_task(client.serve())
        try:
            run = await client.submit(repo, task, agent, scenario)
            deadline = time.monotonic() + timeout
            while True:
                stored = await client.get_run(run.id)
                if stored is not None and stored.state.is_terminal:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{agent}: the run did not end within {timeout:g}s")
                await asyncio.sleep(0.05)
            if stored.state is not RunState.FINISHED:
                raise RuntimeError(f"{agent}: the run {stored.state.value}: {stored.error}")
            return stored, await client.events(run.id)
        finally:
            client.stop()
            await serving
