"""run_start: milliseconds from submitting a run to its agent starting.

A 30,000-file repo (300 folders, small text files, one commit) is the only repo of a fresh
workspace. Each repetition opens a client over an engine of its own (``open_client``, as
the front ends do), calls ``client.submit`` and ``client.serve()`` (an only-engine: it
executes the run it submitted) and stops the clock when the ``RunStateChanged`` to
``running`` reaches the client's stream of the run's events (``run_events``), i.e. after
the worktree was created and the state persisted. Every repetition is a new run with a
new worktree.

The baseline is a bare ``git worktree add -b BRANCH PATH main`` of the same repo, timed as
a subprocess; its repetitions are interleaved with the engine's so both see the same
machine load.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

from cockpit.client import EngineClient, open_client
from cockpit.client.local import EngineOptions, Workspace, open_workspace
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
from engine.domain.events import RunStateChanged
from engine.domain.state import RunState

FILES = 30_000
DIRS = 300
REPEATS = 7


async def running_at(client: EngineClient, run_id: str) -> float | None:
    """When (``perf_counter``) the run's change to ``running`` reached the client's
    stream of its events; None when it never ran. Returns once the run has ended."""
    seen: float | None = None
    async for event in client.run_events(run_id):
        if seen is None and isinstance(event, RunStateChanged) and event.new is RunState.RUNNING:
            seen = time.perf_counter()
    return seen


async def submit_to_running(ws: Workspace, scenario: str) -> float:
    """Milliseconds from ``submit`` to the run's ``running`` state reaching the client."""
    async with open_client(ws, EngineOptions(only=frozenset(), poll_interval=0.05)) as client:
        t0 = time.perf_counter()
        run = await client.submit("big", "start me", "scripted", scenario)
        watch = asyncio.create_task(running_at(client, run.id))
        await client.serve()
        started = await asyncio.wait_for(watch, 30)
        final = await client.resolve_run(run.id)
    if final.state is not RunState.FINISHED or started is None:
        raise RuntimeError(f"run {run.id} ended {final.state.value}: {final.error}")
    return (started - t0) * 1000


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
