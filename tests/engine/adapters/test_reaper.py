"""The reaper ends a run's processes when the engine that executes it dies, kill -9
included, and only those: real processes, found by their mark as the engine finds them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from engine.adapters.process import run_processes

#: An "engine": watches run A (and watched B, then let it go), starts a detached process
#: of each (no parent-death signal: only the reaper can end them), says their pids, waits.
#: The run ids are A and B followed by argv[1], unique to the test.
ENGINE = textwrap.dedent(
    """
    import asyncio, subprocess, sys
    from engine.adapters.process import marked_env
    from engine.adapters.reaper import Reaper

    async def main(a, b):
        reaper = Reaper()
        async with reaper.watching(b):
            pass
        async with reaper.watching(a):
            pids = [
                subprocess.Popen(
                    ["sleep", "300"], env=marked_env(run_id), start_new_session=True
                ).pid
                for run_id in (a, b)
            ]
            print(*pids, flush=True)
            await asyncio.sleep(300)

    asyncio.run(main("A" + sys.argv[1], "B" + sys.argv[1]))
    """
)


def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_kill_9_of_the_engine_ends_the_processes_of_the_runs_it_was_executing() -> None:
    suffix = f"-{os.getpid()}-{time.monotonic_ns()}"
    engine = subprocess.Popen(
        [sys.executable, "-c", ENGINE, suffix],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path("src").resolve())},
    )
    try:
        line = engine.stdout.readline() if engine.stdout else ""
        watched, let_go = (int(p) for p in line.split())
        assert run_processes(f"A{suffix}") == [watched]
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait()
    try:
        assert _until(lambda: not run_processes(f"A{suffix}"), 10), "outlived the engine"
        # A run the engine had let go of is not its to end.
        time.sleep(0.5)
        assert run_processes(f"B{suffix}") == [let_go]
    finally:
        for pid in (watched, let_go):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
