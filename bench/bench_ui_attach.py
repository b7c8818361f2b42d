"""attach: milliseconds from the cockpit's start to its first frame showing 20 live runs,
the workspace's detached engine already running them.

The engine (``cockpit engine start``, stopped with ``cockpit engine stop`` after the
repetitions) executes 20 scripted runs, each streaming ``AgentText`` events at up to
100/s (scenario ``stream = { count, interval = 0.01 }``, ``max_running =
max_running_per_repo = 20``), submitted over its socket
(:class:`~cockpit.client.remote.SocketClient`) before the first repetition; the
repetitions start once every run is running and has streamed for a moment, and the
stream lasts past the last one.

Each measurement is a fresh interpreter opening the cockpit the way the ``cockpit``
command does (:mod:`startup`: the child, its stamps, the hello-world baseline), a client
of that engine (a child that hosted an engine, or started one, is an error). The value
is its ``runs_listed`` stamp: the first frame in which the model holds the 20 runs, each
as a live one (running, or waiting on the human), and the frame itself writes every run
id inside the run list. The baseline is the hello-world Textual app (``Header``,
``Static("hello")``, ``Footer``), measured alternately under the same load. Extras:
``first_paint`` (the cockpit's first frame, whatever it shows) and ``content`` (also
every repo's status and the detail pane shown).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cockpit.client.daemon import connect
from cockpit.client.local import open_workspace
from common import (
    emit,
    engine_running,
    log,
    make_repo,
    median,
    private_config_home,
    temp_dir,
    write_scenario,
    write_workspace,
)
from engine.domain.state import RunState
from startup import SIZE, alternate

REPEATS = 9
RUNS = 20
REPOS = ("app", "lib")
#: 100 events/s per run for up to 3 minutes: past the last repetition (the engine is
#: stopped right after it, the runs interrupted).
STREAM = '[[step]]\nstream = { text = "streaming output line", count = 18000, interval = 0.01 }\n'
#: Events each run has streamed before the first repetition.
STREAMED = 50


async def start_runs(root: Path, scenario: str) -> list[str]:
    """Submit the streaming runs to the workspace's engine; their ids, once each one is
    running and has streamed ``STREAMED`` events."""
    client = await connect(open_workspace(root))
    try:
        ids = [
            (await client.submit(REPOS[i % len(REPOS)], f"stream {i}", "scripted", scenario)).id
            for i in range(RUNS)
        ]
        deadline = time.monotonic() + 120
        while True:
            runs = [await client.get_run(run_id) for run_id in ids]
            running = [r for r in runs if r is not None and r.state is RunState.RUNNING]
            if len(running) == RUNS:
                tails = [await client.events_tail(run_id, 1) for run_id in ids]
                if all(tail and tail[-1].seq >= STREAMED for tail in tails):
                    return ids
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(running)} of {RUNS} runs running after 120 s")
            await asyncio.sleep(0.2)
    finally:
        await client.close()


async def still_running(root: Path, ids: list[str]) -> int:
    """How many of the runs are still running."""
    client = await connect(open_workspace(root))
    try:
        runs = [await client.get_run(run_id) for run_id in ids]
        return sum(1 for r in runs if r is not None and r.state is RunState.RUNNING)
    finally:
        await client.close()


def main() -> None:
    with temp_dir("attach") as tmp:
        private_config_home(tmp)
        repos = {name: make_repo(tmp / "repos" / name) for name in REPOS}
        scenario = write_scenario(tmp / "scenarios", STREAM)
        root = write_workspace(tmp / "ws", repos, max_running=RUNS, max_running_per_repo=RUNS)
        with engine_running(root):
            log(f"attach: starting {RUNS} runs streaming at 100 events/s")
            ids = asyncio.run(start_runs(root, scenario))
            stamps, hello = alternate((str(root), str(RUNS), *ids), REPEATS, "attach")
            running = asyncio.run(still_running(root, ids))
            if running < RUNS:
                log(f"attach: only {running} of {RUNS} runs still streamed at the end")
    emit(
        "attach",
        median(stamps["runs_listed"]),
        "ms",
        "textual hello world",
        median(hello),
        goal="<= 1.5",
        digits=1,
        first_paint=round(median(stamps["first_paint"]), 1),
        content=round(median(stamps["content"]), 1),
        min=round(min(stamps["runs_listed"]), 1),
        max=round(max(stamps["runs_listed"]), 1),
        runs=RUNS,
        events_per_s_per_run=100,
        size=f"{SIZE[0]}x{SIZE[1]}",
        repeats=REPEATS,
        still_running=running,
    )


if __name__ == "__main__":
    main()
