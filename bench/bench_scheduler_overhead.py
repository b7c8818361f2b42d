"""scheduler_overhead: ms per run when 200 no-op runs go through the scheduler.

A small repo is the only repo of a fresh workspace whose ``[limits]`` allow
``max_running = 4`` (and ``max_running_per_repo = 4``, or the per-repo default of 2 would
be the real limit). Through a client over an engine of its own (``open_client``, as the
front ends do), 200 no-op scripted runs (one ``say`` step) are submitted, then the
engine executes them (``client.serve()``, an only-engine); the value is the wall time
from the first ``submit`` until the 200th run's ``finished`` state reached the client's
event stream (``subscribe``), divided by 200.

The baseline is one no-op run alone, end to end (``submit`` until ``finished`` reached
the stream), on the same repo: the median of several, measured before the batch. The batch is
repeated (each time on a fresh repo and workspace) and the value is the median.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from cockpit.client import EngineClient, open_client
from cockpit.client.local import EngineOptions, Workspace, open_workspace
from common import emit, log, make_repo, median, temp_dir, write_scenario, write_workspace
from engine.domain.events import RunStateChanged
from engine.domain.state import RunState

RUNS = 200
MAX_RUNNING = 4
ALONE_REPEATS = 5
BATCHES = 3


async def run_batch(ws: Workspace, scenario: str, count: int) -> tuple[float, float, int, int]:
    """Submit ``count`` no-op runs and execute them all.

    Returns (ms from the first submit to the last ``finished``, ms spent submitting,
    the most runs seen starting or running at once, how many runs did not finish).
    A run that fails still counts as done: the failures are reported, not hidden.
    """
    finished: dict[str, float] = {}
    active: set[str] = set()
    peak = 0
    all_ended = asyncio.Event()

    async def watch(client: EngineClient, after_id: int) -> None:
        """Every run's state changes as the client's stream brings them."""
        nonlocal peak
        async for page in client.subscribe(after_id):
            now = time.perf_counter()
            for event in page.events:
                if not isinstance(event, RunStateChanged):
                    continue
                if event.new in (RunState.STARTING, RunState.RUNNING):
                    active.add(event.run_id)
                    peak = max(peak, len(active))
                else:
                    active.discard(event.run_id)
                if event.new.is_terminal:
                    finished.setdefault(event.run_id, now)
            if len(finished) >= count:
                all_ended.set()

    options = EngineOptions(only=frozenset(), poll_interval=0.05)
    async with open_client(ws, options) as client:
        after_id = await client.last_event_id()
        t0 = time.perf_counter()
        runs = [
            await client.submit("app", f"no-op {i}", "scripted", scenario) for i in range(count)
        ]
        submitted = time.perf_counter()
        # The stream resumes after ``after_id``: it misses nothing stored while submitting.
        watching = asyncio.create_task(watch(client, after_id))
        await client.serve()
        finals = [await client.resolve_run(run.id) for run in runs]
        with contextlib.suppress(TimeoutError):  # a run it never saw end is reported below
            await asyncio.wait_for(all_ended.wait(), 30)
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    missing = [r.id for r in finals if r.id not in finished]
    if missing:
        raise RuntimeError(f"{len(missing)} runs never reached a final state")
    failed = [r for r in finals if r.state is not RunState.FINISHED]
    for run in failed[:3]:
        log(f"scheduler_overhead: run {run.id} ended {run.state.value}: {run.error}")
    return (max(finished.values()) - t0) * 1000, (submitted - t0) * 1000, peak, len(failed)


def main() -> None:
    alone: list[float] = []
    per_run: list[float] = []
    submit_per_run: list[float] = []
    peaks: list[int] = []
    failures: list[int] = []
    for batch in range(1, BATCHES + 1):
        # A fresh repo and workspace per batch: worktrees and rows of earlier batches
        # would otherwise make each batch a little slower than the last.
        with temp_dir("scheduler") as tmp:
            repo = make_repo(tmp / "repos" / "app")
            root = write_workspace(
                tmp / "ws", {"app": repo}, max_running=MAX_RUNNING, max_running_per_repo=MAX_RUNNING
            )
            ws = open_workspace(root)
            scenario = write_scenario(tmp / "scenarios")
            # The first single run is an untimed warm-up.
            for rep in range(ALONE_REPEATS + 1):
                ms, _, _, failed = asyncio.run(run_batch(ws, scenario, 1))
                if failed:
                    raise RuntimeError("a no-op run alone failed")
                if rep:
                    alone.append(ms)
            log(f"scheduler_overhead batch {batch}: one no-op run alone, {alone[-ALONE_REPEATS:]}")
            total, submitting, peak, failed = asyncio.run(run_batch(ws, scenario, RUNS))
            per_run.append(total / RUNS)
            submit_per_run.append(submitting / RUNS)
            peaks.append(peak)
            failures.append(failed)
            log(
                f"scheduler_overhead batch {batch}: {RUNS} runs in {total / 1000:.2f} s "
                f"({submitting / 1000:.2f} s submitting), peak running {peak}, {failed} failed"
            )
    emit(
        "scheduler_overhead",
        median(per_run),
        "ms/run",
        "one no-op run alone",
        median(alone),
        goal="<= 1.2",
        digits=1,
        runs=RUNS,
        batches=BATCHES,
        max_running=MAX_RUNNING,
        peak_running=max(peaks),
        submit_ms_per_run=round(median(submit_per_run), 1),
        alone_repeats=len(alone),
        failed_runs=sum(failures),
    )


if __name__ == "__main__":
    main()
