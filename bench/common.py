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

# Benchmarks commit in throw-away repos: an identity that never depends on the machine.
os.environ.update(
    GIT_AUTHOR_NAME="Cockpit Bench",
    GIT_AUTHOR_EMAIL="bench@cockpit.invalid",
    GIT_COMMITTER_NAME="Cockpit Bench",
    GIT_COMMITTER_EMAIL="bench@cockpit.invalid",
)
os.environ.pop("COCKPIT_WORKSPACE", None)

#: A scenario doing nothing but say one line: one turn, no file changes.
NOOP_SCENARIO = '[[step]]\nsay = "ok"\n'


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


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout (raises on failure)."""
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def make_repo(path: Path, files: int = 2, dirs: int = 1) -> Path:
    """A git repo at ``path`` on ``main`` with one commit of ``files`` small text files
    spread over ``dirs`` folders (plus a README)."""
    path.mkdir(parents=True)
    (path / "README.md").write_text(f"# {path.name}\n")
    for i in range(files):
        folder = path / "src" / f"pkg{i % dirs:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{i:05d}.py").write_text(
            f'"""Module {i}."""\n\nVALUE = {i}\n\n\ndef f{i}(x):\n    return x + VALUE\n'
        )
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def write_workspace(
    root: Path,
    repos: dict[str, Path],
    *,
    max_running: int = 4,
    max_running_per_repo: int = 2,
    run_timeout: str = "5m",
) -> Path:
    """Write ``root/cockpit.toml`` naming ``repos`` (absolute paths) and a scripted
    profile; return the root (open it with ``engine.workspace.open_workspace``)."""
    root.mkdir(parents=True, exist_ok=True)
    tables = "".join(
        f'\n[repos.{name}]\npath = {json.dumps(str(path))}\nbase = "main"\n'
        for name, path in repos.items()
    )
    (root / "cockpit.toml").write_text(
        "[limits]\n"
        f"max_running = {max_running}\n"
        f"max_running_per_repo = {max_running_per_repo}\n"
        f'run_timeout = "{run_timeout}"\n'
        f"{tables}\n"
        '[agents.scripted]\nbackend = "scripted"\n'
    )
    return root


def write_scenario(folder: Path, text: str = NOOP_SCENARIO, name: str = "scenario.toml") -> str:
    """Write a scenario file into ``folder``; return its absolute path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return str(path)


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


async def seed_finished_runs(
    db_path: Path,
    repos: Sequence[str],
    runs: int,
    events_per_run: int,
    text: str = "The agent is reading the module and thinking about what to change next.",
    chunk: int = 5_000,
) -> list[str]:
    """Insert ``runs`` finished run rows (round-robin over ``repos``) straight into the
    store at ``db_path``, each with ``events_per_run`` events: queued, running, agent
    texts, finished. Nothing is executed; returns the run ids, oldest first."""
    from datetime import timedelta

    from engine.adapters.store.sqlite import SqliteRunStore
    from engine.domain.events import AgentText, Event, RunStateChanged
    from engine.domain.models import Run, utcnow
    from engine.domain.state import RunState

    store = SqliteRunStore(db_path)
    await store.open()
    ids: list[str] = []
    try:
        start = utcnow() - timedelta(hours=1)
        for i in range(runs):
            run_id = f"b{i:07d}"
            created = start + timedelta(seconds=i)
            run = Run(
                id=run_id,
                repo=repos[i % len(repos)],
                task=f"bench task {i}: tidy the module and add a test",
                agent="scripted",
                state=RunState.FINISHED,
                branch=f"cockpit/{run_id}",
                base="main",
                turns_completed=1,
                created_at=created,
                updated_at=created,
                started_at=created,
                finished_at=created + timedelta(minutes=5),
            )
            await store.insert_run(run)
            ids.append(run_id)
            events: list[Event] = [
                RunStateChanged(run_id=run_id, seq=1, new=RunState.QUEUED, reason="submitted"),
                RunStateChanged(run_id=run_id, seq=2, old=RunState.QUEUED, new=RunState.RUNNING),
            ]
            events += [
                AgentText(run_id=run_id, seq=seq, text=f"{text} {seq}")
                for seq in range(3, events_per_run)
            ]
            events.append(
                RunStateChanged(
                    run_id=run_id,
                    seq=max(3, events_per_run),
                    old=RunState.RUNNING,
                    new=RunState.FINISHED,
                )
            )
            for offset in range(0, len(events), chunk):
                await store.append_events(events[offset : offset + chunk])
    finally:
        await store.close()
    return ids


async def run_to_end(
    root: Path, repo: str, task: str, agent: str, scenario: str | None, timeout: float
) -> tuple[Any, list[Any]]:
    """Run one task on an engine of its own until the run ends; the finished run and its
    stored events (a run that did not finish is an error naming its state)."""
    from engine.bootstrap import open_engine
    from engine.domain.state import RunState
    from engine.services.engine import EngineOptions
    from engine.workspace import open_workspace

    ws = open_workspace(root)
    async with open_engine(ws, EngineOptions(poll_interval=0.02)) as engine:
        loop = asyncio.create_task(engine.run())
        try:
            run = await engine.submit(repo, task, agent, scenario)
            deadline = time.monotonic() + timeout
            while True:
                stored = await engine.store.get_run(run.id)
                if stored is not None and stored.state.is_terminal:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{agent}: the run did not end within {timeout:g}s")
                await asyncio.sleep(0.05)
            if stored.state is not RunState.FINISHED:
                raise RuntimeError(f"{agent}: the run {stored.state.value}: {stored.error}")
            return stored, await engine.store.events_for(run.id)
        finally:
            engine.request_stop()
            await loop
