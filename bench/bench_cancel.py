"""cancel_<backend>: milliseconds from ``client.cancel(run)`` to the agent being gone.

For each real backend a run is started, through a client over an engine of its own
(``open_client``, as the front ends do), on a model that never answers (a scripted model
script with a long delay; for ``acp`` a scripted ACP agent told to hang), and once the
agent is up (state ``running`` and, for the backends with a process of their own, a
process whose working directory is the run's worktree) it is cancelled. The clock stops
when no process is left in the worktree (polled every 5 ms) and the run is recorded
``cancelled``; for ``anthropic``, which runs inside the engine, when the cancel returns.
No baseline; the issue's target is ≤ 2000 ms. Medians of REPEATS cancels.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agents import BACKENDS, CODEX, PROFILES, processes_in
from cockpit.client import open_client
from cockpit.client.local import EngineOptions, open_workspace
from common import emit, log, make_repo, median, temp_dir, write_workspace
from engine.domain.state import RunState

REPEATS = 3
HANG = '[[turn]]\ndelay = 600\ntext = "never said"\n'


async def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not await check():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def one_cancel(root: Path, backend: str, script: Path) -> float:
    ws = open_workspace(root)
    async with open_client(ws, EngineOptions(poll_interval=0.05)) as client:
        serving = asyncio.create_task(client.serve())
        try:
            run = await client.submit("app", "hang until cancelled", backend, str(script))
            worktree = (ws.worktrees_dir / "app" / run.id).resolve()

            async def up() -> bool:
                stored = await client.get_run(run.id)
                running = stored is not None and stored.state is RunState.RUNNING
                return running and (backend == "anthropic" or processes_in(worktree) > 0)

            await wait_for(up, 120, f"{backend} to start")
            await asyncio.sleep(1.0)  # settled: waiting on its model
            t0 = time.perf_counter()
            cancelled = await client.cancel(run.id)

            async def gone() -> bool:
                return processes_in(worktree) == 0

            await wait_for(gone, 30, f"{backend}'s processes to end")
            elapsed = (time.perf_counter() - t0) * 1000
            if cancelled.state is not RunState.CANCELLED:
                raise RuntimeError(f"{backend}: run ended {cancelled.state.value}")
            return elapsed
        finally:
            client.stop()
            await serving


def main() -> None:
    with temp_dir("cancel") as tmp:
        repo = make_repo(tmp / "repos" / "app")
        root = write_workspace(tmp / "ws", {"app": repo}, run_timeout="10m")
        with (root / "cockpit.toml").open("a") as config:
            config.write(PROFILES)
        script = tmp / "hang.toml"
        script.write_text(HANG)
        for backend in BACKENDS:
            if backend == "codex" and not CODEX.exists():
                log("cancel: no Codex CLI (npm ci installs it); codex skipped")
                continue
            times = [asyncio.run(one_cancel(root, backend, script)) for _ in range(REPEATS)]
            log(f"cancel {backend}: {', '.join(f'{t:.0f}' for t in times)} ms")
            emit(
                f"cancel_{backend}",
                median(times),
                "ms",
                None,
                None,
                target="<= 2000 ms",
                digits=1,
                max=round(max(times), 1),
                repeats=REPEATS,
            )


if __name__ == "__main__":
    main()
