"""keypress_p95: milliseconds from a keypress to the screen showing its effect, under load.

The load: 20 scripted runs, each streaming ``AgentText`` events (scenario ``stream = {
count = N, interval = 0.01 }`` in one step, i.e. up to 100 events/s per run) in the
workspace's detached engine (``cockpit engine start`` before the app, ``cockpit engine
stop`` after it), with ``max_running = max_running_per_repo = 20``. The cockpit is a
client of that engine (``CockpitApp(ws)``, no engine of its own: asserted). The runs are
submitted through the app's client (``app.session.client.submit``, over the socket) once
the app is up; measuring starts when all 20 are ``running`` in the app's model (and have
streamed for a moment).

The app runs in ``app.run_test(size=(160, 48))`` with the run list focused. A press is a
``Key`` event posted to the app (``app.post_message``, as a terminal driver does; not
``pilot.press``, whose idle waits would add tens of ms to every figure). The cursor bounces
``down``/``up`` over the rows of the run list that are runs, so every press selects
another run. The clock stops when the first frame showing the newly highlighted run's
id in the run pane's header has been composed: the frame must itself write that id inside
the header's region (see :class:`FrameWatch`), not merely follow the header being given
it. Presses are 40-60 ms apart (a fast typist; at random, so they land at any phase of
Textual's 60 fps screen updates, as a person's do), 100 of them after 5 warm-ups.

The baseline is the same app, a client of an idle engine, on a workspace with no runs:
the cursor bounces over the repo rows, the clock stops at the first frame writing the
highlighted repo's name in its pane. ``cpu_share`` is the app process's CPU time / wall
time over the measurement window (``time.process_time()``, all threads; the engine is
another process). ``events_per_s`` is the rate events were stored during the window (the
client's ``last_event_id`` at its start and end; 20 runs x 100/s is the nominal
2,000/s).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import events
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.tui.app import CockpitApp
from cockpit.tui.widgets.run_list import RunList
from common import (
    emit,
    engine_running,
    log,
    make_repo,
    median,
    percentile,
    private_config_home,
    temp_dir,
    write_scenario,
    write_workspace,
)
from engine.domain.state import RunState
from engine.workspace import open_workspace
from frames import FrameWatch

RUNS = 20
REPOS = ("app", "lib")
PRESSES = 100
WARMUP = 5
#: Pauses between presses, drawn from [GAP_MIN_S, GAP_MAX_S] (fixed seed per window).
#: A fixed gap of 50 ms, three periods of Textual's 60 fps screen updates, put every
#: press at the same phase of them, and so every figure on the same side of a wait.
GAP_MIN_S = 0.04
GAP_MAX_S = 0.06
GAP_SEED = 3
SIZE = (160, 48)
#: Long enough to stream through every press (the runs are stopped afterwards).
STREAM = '[[step]]\nstream = { text = "streaming output line", count = 6000, interval = 0.01 }\n'


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every millisecond until it holds (or fail after ``timeout`` s)."""
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


def shown_text(app: CockpitApp, selector: str) -> str:
    """The plain text a ``Static`` of the app was last given."""
    content = app.query_one(selector, Static).content
    return getattr(content, "plain", str(content))


@dataclass
class Window:
    """What one measurement window gave."""

    latencies: list[float]
    cpu_share: float
    events_per_s: float
    still_running: int


async def measure(root: Path, scenario: str | None) -> Window:
    """Latencies (ms) of PRESSES presses, with CPU share and event rate over the window."""
    app = CockpitApp(open_workspace(root))
    assert app.session.detached, "the cockpit hosts an engine"
    result: Window | None = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            result = await drive(app, pilot, scenario)
    except Exception as exc:
        # The figures are taken before the app shuts down: report a failure on the way
        # out, but keep them.
        if result is None:
            raise
        log(f"keypress: the app failed while shutting down, after measuring: {exc!r}")
    assert result is not None
    return result


async def drive(app: CockpitApp, pilot: Pilot, scenario: str | None) -> Window:
    """Submit the load (if any), take the presses, leave: the window's figures."""
    await wait_until(lambda: app.session.client is not None, 30, "the engine")
    client = app.session.client
    assert client is not None
    run_list = app.query_one(RunList)
    await wait_until(lambda: run_list.option_count > len(REPOS), 30, "the run list")
    if scenario is not None:
        for i in range(RUNS):
            await client.submit(REPOS[i % len(REPOS)], f"stream {i}", "scripted", scenario)

        def all_running() -> bool:
            views = app.model.runs.values()
            running = sum(v.run.state is RunState.RUNNING and v.entries_total > 3 for v in views)
            return running == RUNS

        await wait_until(all_running, 240, f"{RUNS} streaming runs")
        await asyncio.sleep(1.0)
        prefix, selector = "run:", "#run-header"
    else:
        prefix, selector = "repo:", "#repo-body"
    rows = [
        index
        for index in range(run_list.option_count)
        if (run_list.get_option_at_index(index).id or "").startswith(prefix)
    ]
    frames = FrameWatch(app)
    run_list.focus()
    run_list.highlighted = rows[0]
    await pilot.pause()
    latencies: list[float] = []
    gaps = random.Random(GAP_SEED)
    position, step = 0, 1
    cpu0 = wall0 = 0.0
    first_event = 0
    for press in range(WARMUP + PRESSES):
        if press == WARMUP:
            first_event = await client.last_event_id()
            cpu0, wall0 = time.process_time(), time.perf_counter()
        if not 0 <= position + step < len(rows):
            step = -step
        position += step
        expected = (run_list.get_option_at_index(rows[position]).id or "").split(":", 1)[1]
        frames.expect(
            lambda expected=expected: f" {expected}" in shown_text(app, selector),
            writes=lambda expected=expected: [(app.query_one(selector), f" {expected}")],
        )
        t0 = time.perf_counter()
        app.post_message(events.Key("down" if step > 0 else "up", None))
        shown_at = await frames.wait(10, f"the pane to show {expected}")
        elapsed = (shown_at - t0) * 1000
        if press >= WARMUP:
            latencies.append(elapsed)
        await asyncio.sleep(gaps.uniform(GAP_MIN_S, GAP_MAX_S))
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    events_in_window = await client.last_event_id() - first_event
    still_running = app.model.counts()["running"]
    # Cockpit's own way out: a client detaches (the engine is stopped after the app).
    app.action_quit_cockpit()
    if scenario is not None and still_running < RUNS:
        log(f"keypress: only {still_running} of {RUNS} runs still streamed at the end")
    return Window(latencies, cpu / wall, events_in_window / wall, still_running)


def main() -> None:
    with temp_dir("keypress") as tmp:
        private_config_home(tmp)
        repos = {name: make_repo(tmp / "repos" / name) for name in REPOS}
        scenario = write_scenario(tmp / "scenarios", STREAM)
        loaded_root = write_workspace(
            tmp / "ws-loaded", repos, max_running=RUNS, max_running_per_repo=RUNS
        )
        idle_root = write_workspace(
            tmp / "ws-idle", repos, max_running=RUNS, max_running_per_repo=RUNS
        )
        log("keypress: baseline (no runs)")
        with engine_running(idle_root):
            idle = asyncio.run(measure(idle_root, None))
        log(f"keypress: {RUNS} streaming runs")
        with engine_running(loaded_root):
            loaded = asyncio.run(measure(loaded_root, scenario))
    ours, theirs = loaded.latencies, idle.latencies
    log(
        f"keypress: loaded p50 {median(ours):.1f} p95 {percentile(ours, 95):.1f} max "
        f"{max(ours):.1f} ms; idle p50 {median(theirs):.1f} p95 {percentile(theirs, 95):.1f} ms"
    )
    emit(
        "keypress_p95",
        percentile(ours, 95),
        "ms",
        "same app, no runs",
        percentile(theirs, 95),
        goal="<= 3",
        target="<= 50 ms",
        digits=1,
        p50=round(median(ours), 1),
        max=round(max(ours), 1),
        baseline_p50=round(median(theirs), 1),
        cpu_share=round(loaded.cpu_share, 3),
        baseline_cpu_share=round(idle.cpu_share, 3),
        events_per_s=round(loaded.events_per_s),
        runs=RUNS,
        presses=PRESSES,
    )


if __name__ == "__main__":
    main()
