"""engine_fanout: events/s a subscribed client receives over the engine's socket, against
the engine's own ingest in the same run.

A real detached engine (``cockpit engine start``, a process of its own) executes 20
scripted runs, each streaming ``AgentText`` events at up to 100/s (``stream = { count,
interval = 0.01 }``), with ``max_running = max_running_per_repo = 20``. Two clients
(:class:`~cockpit.client.remote.SocketClient`, the cockpit's own) are subscribed to every
run's events from before the first run is submitted.

The baseline is the engine's ingest: events stored per second, counted from the stored
events' own timestamps (first to last of the window). The value is the slower client's
delivery: events received per second over the same number of events, timed in the
client: from the first event's timestamp to the last page's arrival (so a client that
lags behind gets a longer window and a lower rate). ``ratio`` ≥ 0.5 is the goal. Extra fields: each
client's rate, and the p50/p95 delay from an event's timestamp (the engine's clock, the
same machine's) to its arrival in the slower client.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cockpit.client.daemon import connect
from cockpit.client.local import open_workspace
from cockpit.client.remote import SocketClient
from common import (
    builders,
    emit,
    log,
    make_repo,
    median,
    percentile,
    temp_dir,
    write_scenario,
    write_workspace,
)
from engine.domain.models import utcnow

RUNS = 20
#: Events per run: at 100/s, about 8 s of streaming.
COUNT = 800
STREAM = (
    f'[[step]]\nstream = {{ text = "streaming output line", count = {COUNT}, interval = 0.01 }}\n'
)
CLIENTS = 2


@dataclass
class Received:
    """What one client received: arrival times and delays (seconds)."""

    #: Wall-clock arrival of each page (epoch seconds: comparable with event stamps).
    times: list[float] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    count: int = 0


@dataclass
class Figures:
    """What one measurement gave (events/s; delays in ms)."""

    #: Events stored per second by the engine (the baseline).
    ingest: float
    #: Events per second delivered to the slower client.
    delivered: float
    #: Each client's delivery rate, in the order they connected.
    rates: list[float]
    p50_delay_ms: float
    p95_delay_ms: float


async def receive(client: SocketClient, after_id: int, total: int, got: Received) -> None:
    async for page in client.subscribe(after_id):
        wall = utcnow()
        now = wall.timestamp()
        got.count += len(page.events)
        got.times.append(now)
        got.delays.extend((wall - e.at).total_seconds() for e in page.events)
        if got.count >= total:
            return


async def measure(root: Path, scenario: str) -> Figures:
    ws = open_workspace(root)
    subprocess.run(
        [sys.executable, "-m", "cockpit", "--workspace", str(root), "engine", "start"],
        check=True,
        capture_output=True,
    )
    clients = [await connect(ws) for _ in range(CLIENTS)]
    try:
        start_id = await clients[0].last_event_id()
        # Each run stores its stream plus a few state/turn events: wait for the stream.
        total = RUNS * COUNT
        got = [Received() for _ in clients]
        receivers = [
            asyncio.create_task(receive(c, start_id, total, g))
            for c, g in zip(clients, got, strict=True)
        ]
        runs = [
            await clients[0].submit("app", f"stream {i}", "scripted", scenario) for i in range(RUNS)
        ]
        await asyncio.wait_for(asyncio.gather(*receivers), 120)
        # The engine's ingest: the stored events' timestamps over the same window.
        stamps = []
        for run in runs:
            stamps += [e.at.timestamp() for e in await clients[0].events(run.id)]
        stamps = sorted(stamps)[:total]  # the events every client counted
        ingest = (len(stamps) - 1) / (stamps[-1] - stamps[0])
        # Delivered: the same events over the window from the first one stored to the
        # last one's arrival (a slow client's lag lengthens its window).
        rates = [(len(stamps) - 1) / (g.times[-1] - stamps[0]) for g in got]
        slow = min(range(len(got)), key=lambda i: rates[i])
        return Figures(
            ingest=ingest,
            delivered=rates[slow],
            rates=rates,
            p50_delay_ms=median(got[slow].delays) * 1000,
            p95_delay_ms=percentile(got[slow].delays, 95) * 1000,
        )
    finally:
        try:
            await clients[0].stop_engine()
        finally:
            for c in clients:
                await c.close()


def main() -> None:
    with temp_dir("fanout") as tmp:
        make_repo(tmp / "repos" / "app")
        root = write_workspace(
            tmp / "ws", {"app": "../repos/app"}, max_running=RUNS, max_running_per_repo=RUNS
        )
        scenario = write_scenario(tmp / "scenarios", STREAM)
        log(f"engine_fanout: {RUNS} runs x {COUNT} events at 100/s, {CLIENTS} clients")
        try:
            figures = asyncio.run(measure(root, scenario))
        finally:
            # The engine was asked to stop; one that did not (a failure on the way) must
            # not outlive the folder it serves.
            builders.stop_engines_under(tmp)
    emit(
        "engine_fanout",
        figures.delivered,
        "events/s",
        "engine ingest (events stored per second, same run)",
        figures.ingest,
        goal=">= 0.5",
        digits=1,
        clients=CLIENTS,
        runs=RUNS,
        client_rates=[round(r, 1) for r in figures.rates],
        p50_delay_ms=round(figures.p50_delay_ms, 1),
        p95_delay_ms=round(figures.p95_delay_ms, 1),
    )


if __name__ == "__main__":
    main()
