"""rss_20x10k: resident memory (MiB) of the cockpit with 20 runs x 10,000 events stored.

The store is filled directly (``append_events``; run rows fixed in state ``finished``, no
agent executes): per run a queued and a running state change, ~10,000 ``AgentText``
events of ~80 characters, a finished state change. Each workspace's detached engine is
started (``cockpit engine start``) before the repetitions and stopped (``cockpit engine
stop``) after them: what is measured is the cockpit, a client of it. Each measurement is
a fresh child process (``python -c CHILD``) that opens the workspace, runs ``CockpitApp``
(no engine of its own: asserted) in ``app.run_test(size=(160, 48))``, waits until the
app's model holds every stored run and the run list shows them, lets the app settle
(``pilot.pause()`` and 0.5 s), collects garbage and reads ``VmRSS`` from
``/proc/self/status`` (``VmHWM``, the peak, is an extra), then detaches. The baseline is
the same app on a workspace with the same repos and no runs. Both alternate, 3
repetitions each; medians.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from common import (
    emit,
    engine_running,
    log,
    make_repo,
    median,
    private_config_home,
    seed_finished_runs,
    temp_dir,
    write_workspace,
)
from engine.workspace import open_workspace

RUNS = 20
EVENTS_PER_RUN = 10_000
REPOS = ("app", "lib", "web")
REPEATS = 3

#: ``python -c CHILD WORKSPACE RUNS``: prints ``{"rss": KiB, "hwm": KiB, "runs": n}``.
CHILD = """
import asyncio, gc, json, sys
from pathlib import Path

from cockpit.tui.app import CockpitApp
from cockpit.tui.widgets.run_list import RunList
from engine.workspace import open_workspace

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])

async def main():
    runs = int(sys.argv[2])
    app = CockpitApp(open_workspace(Path(sys.argv[1])))
    assert app.session.detached, "the cockpit hosts an engine"
    async with app.run_test(size=(160, 48)) as pilot:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        run_list = app.query_one(RunList)
        while not (
            app.session.client is not None
            and len(app.model.runs) >= runs
            and run_list.option_count > len(app.model.repos)
        ):
            if loop.time() > deadline:
                raise SystemExit("the app did not load the runs in 120 s")
            await asyncio.sleep(0.01)
        await pilot.pause()
        await asyncio.sleep(0.5)
        await pilot.pause()
        gc.collect()
        result = {"rss": status("VmRSS"), "hwm": status("VmHWM"), "runs": len(app.model.runs)}
        # Printed before shutting down: a failure on the way out does not void the figure.
        print(json.dumps(result), flush=True)
        app.action_quit_cockpit()  # a client detaches: its engine goes on

asyncio.run(main())
"""


def measure(root: Path, runs: int) -> dict[str, int]:
    """One child's memory figures (KiB) once its app has loaded ``runs`` runs."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(runs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"rss child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["?"]
        log(f"rss: the app failed while shutting down, after measuring: {last[0]}")
    return json.loads(lines[-1])


def main() -> None:
    loaded: list[dict[str, int]] = []
    empty: list[dict[str, int]] = []
    with temp_dir("rss") as tmp:
        private_config_home(tmp)
        repos = {name: make_repo(tmp / "repos" / name) for name in REPOS}
        loaded_root = write_workspace(tmp / "ws-loaded", repos)
        empty_root = write_workspace(tmp / "ws-empty", repos)
        log(f"rss: storing {RUNS} runs x {EVENTS_PER_RUN:,} events")
        ws = open_workspace(loaded_root)
        asyncio.run(seed_finished_runs(ws.db_path, REPOS, RUNS, EVENTS_PER_RUN))
        db_mib = ws.db_path.stat().st_size / 2**20
        with engine_running(loaded_root), engine_running(empty_root):
            for rep in range(1, REPEATS + 1):
                ours = measure(loaded_root, RUNS)
                theirs = measure(empty_root, 0)
                if ours["runs"] != RUNS:
                    raise RuntimeError(f"the app loaded {ours['runs']} of {RUNS} runs")
                loaded.append(ours)
                empty.append(theirs)
                log(
                    f"rss rep {rep}: {RUNS}x{EVENTS_PER_RUN} {ours['rss'] / 1024:.1f} MiB "
                    f"(peak {ours['hwm'] / 1024:.1f}); no runs {theirs['rss'] / 1024:.1f} "
                    f"MiB (peak {theirs['hwm'] / 1024:.1f})"
                )
    emit(
        "rss_20x10k",
        median([m["rss"] for m in loaded]) / 1024,
        "MiB",
        "same app, no runs",
        median([m["rss"] for m in empty]) / 1024,
        goal="<= 3",
        digits=1,
        peak=round(median([m["hwm"] for m in loaded]) / 1024, 1),
        baseline_peak=round(median([m["hwm"] for m in empty]) / 1024, 1),
        runs=RUNS,
        events_per_run=EVENTS_PER_RUN,
        db_mib=round(db_mib, 1),
        repeats=REPEATS,
    )


if __name__ == "__main__":
    main()
