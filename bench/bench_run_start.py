"""run_start: milliseconds from submitting a run to its agent starting.

A 30,000-file repo (300 folders, small text files, one commit) is the only repo of a fresh
workspace. Each repetition opens an engine, calls ``engine.submit`` and ``engine.run()``
(an only-engine: it executes the run it submitted) and stops the clock when the
``RunStateChanged`` to ``running`` reaches a bus sink, i.e. after the worktree was
created and the state persisted. Every repetition is a new run with a new worktree.

The baseline is a bare ``git worktree add -b BRANCH PATH main`` of the same repo, timed as
a subprocess; its repetitions are interleaved with the engine's so both see the same
machine load.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

from common import (
    emit,
    log,
    make_repo,
    median,
    percentile,
    temp_dir,
    write_scenario,
    write_workspace,
)
from engine.bootstrap import open_engine
from engine.domain.events import Event, RunStateChanged
from engine.domain.state import RunState
from engine.services.engine import EngineOptions
from engine.workspace import Workspace, open_workspace

FILES = 30_000
DIRS = 300
REPEATS = 7


async def submit_to_running(ws: Workspace, scenario: str) -> float:
    """Milliseconds from ``submit`` to the run's ``running`` state reaching a sink."""
    started: dict[str, float] = {}

    def sink(events: list[Event]) -> None:
        for event in events:
            if isinstance(event, RunStateChanged) and event.new is RunState.RUNNING:
                started.setdefault(event.run_id, time.perf_counter())

    async with open_engine(ws, EngineOptions(only=frozenset(), poll_interval=0.05)) as engine:
        engine.bus.add_sink(sink)
        t0 = time.perf_counter()
        run = await engine.submit("big", "start me", "scripted", scenario)
        await engine.run()
        final = await engine.resolve_run(run.id)
    if final.state is not RunState.FINISHED or run.id not in started:
        raise RuntimeError(f"run {run.id} ended {final.state.value}: {final.error}")
    return (started[run.id] - t0) * 1000


def bare_worktree_add(repo_path: str, path: str, branch: str) -> float:
    """Milliseconds for ``git worktree add -b BRANCH PATH main`` as a subprocess."""
    t0 = time.perf_counter()
    subprocess.run(
        ["git", "worktree", "add", "-q", "-b", branch, path, "main"],
        cwd=repo_path,
        check=True,
        capture_output=True,
    )
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    engine_ms: list[float] = []
    git_ms: list[float] = []
    with temp_dir("run-start") as tmp:
        log(f"run_start: generating a {FILES}-file repo")
        repo = make_repo(tmp / "repos" / "big", files=FILES, dirs=DIRS)
        ws = open_workspace(write_workspace(tmp / "ws", {"big": repo}))
        scenario = write_scenario(tmp / "scenarios")
        bare_dir = tmp / "bare"
        bare_dir.mkdir()
        # Repetition 0 is an untimed warm-up of both (page cache, imports).
        for rep in range(REPEATS + 1):
            ms = asyncio.run(submit_to_running(ws, scenario))
            bare = bare_worktree_add(str(repo), str(bare_dir / f"wt{rep}"), f"bench/wt{rep}")
            if rep == 0:
                continue
            engine_ms.append(ms)
            git_ms.append(bare)
            log(f"run_start rep {rep}: engine {ms:.1f} ms, git worktree add {bare:.1f} ms")
    emit(
        "run_start",
        median(engine_ms),
        "ms",
        "git worktree add",
        median(git_ms),
        goal="<= 1.5",
        digits=1,
        p50=round(median(engine_ms), 1),
        p90=round(percentile(engine_ms, 90), 1),
        files=FILES,
        repeats=REPEATS,
    )


if __name__ == "__main__":
    main()
