"""sandbox_overhead: a scripted run of 20 commands in the sandbox, against the same run
without it.

A fresh workspace with one small repo; the scenario has 20 steps, each one command
(``echo N > out_N.txt && cat out_N.txt``), so each also ends a turn (a snapshot), as an
agent's commands do. Timed: the run's ``running`` to ``finished`` in its stored events,
engine start-up and worktree creation excluded. Value: the median with bubblewrap
confining every command (the branch view carried in and out around each); baseline: the
median of the same run where no sandbox can be had (``probe`` reports bubblewrap missing,
so commands run under the guard alone, still reaped with the engine). Repetitions of
both are interleaved so they see the same machine load. Per-command medians (the tool
call's request to its result) are reported beside.
"""

from __future__ import annotations

import asyncio
from unittest import mock

import engine.adapters.sandbox as sandbox_adapter
from common import (
    emit,
    log,
    make_repo,
    median,
    run_to_end,
    temp_dir,
    write_scenario,
    write_workspace,
)
from engine.domain.events import RunStateChanged, ToolCallFinished, ToolCallRequested
from engine.domain.state import RunState
from engine.ports.sandbox import SandboxStatus

COMMANDS = 20
REPEATS = 7
SCENARIO = "".join(
    f'[[step]]\nrun = "echo {i} > out_{i}.txt && cat out_{i}.txt"\n' for i in range(COMMANDS)
)
REAL_PROBE = sandbox_adapter.probe


def _no_sandbox(program: str | None = None) -> SandboxStatus:
    return SandboxStatus(False, "benchmark baseline: no sandbox")


async def one_run(root, scenario: str, confined: bool) -> tuple[float, float]:
    """(run ms, median command ms) of one run, in the sandbox or without it."""
    probe = REAL_PROBE if confined else _no_sandbox
    with mock.patch.object(sandbox_adapter, "probe", probe):
        _, events = await run_to_end(root, "app", "twenty commands", "scripted", scenario, 120)
    started = next(
        e.at for e in events if isinstance(e, RunStateChanged) and e.new is RunState.RUNNING
    )
    ended = next(
        e.at for e in events if isinstance(e, RunStateChanged) and e.new is RunState.FINISHED
    )
    asked = [e.at for e in events if isinstance(e, ToolCallRequested)]
    done = [e.at for e in events if isinstance(e, ToolCallFinished)]
    if len(asked) != COMMANDS or len(done) != COMMANDS:
        raise RuntimeError(f"expected {COMMANDS} commands, saw {len(asked)}/{len(done)}")
    per_command = median([(b - a).total_seconds() * 1000 for a, b in zip(asked, done, strict=True)])
    return (ended - started).total_seconds() * 1000, per_command


def main() -> None:
    if not REAL_PROBE().enforced:
        raise SystemExit(f"sandbox_overhead: no sandbox here: {REAL_PROBE().detail}")
    confined: list[tuple[float, float]] = []
    open_: list[tuple[float, float]] = []
    with temp_dir("sandbox-overhead") as tmp:
        repo = make_repo(tmp / "repos" / "app", files=20, dirs=2)
        root = write_workspace(tmp / "ws", {"app": repo})
        scenario = write_scenario(tmp / "scenarios", SCENARIO)
        for rep in range(REPEATS + 1):  # repetition 0 warms both up, untimed
            jailed = asyncio.run(one_run(root, scenario, True))
            plain = asyncio.run(one_run(root, scenario, False))
            if rep == 0:
                continue
            confined.append(jailed)
            open_.append(plain)
            log(
                f"sandbox_overhead rep {rep}: sandbox {jailed[0]:.0f} ms"
                f" ({jailed[1]:.1f} ms a command), none {plain[0]:.0f} ms ({plain[1]:.1f})"
            )
    emit(
        "sandbox_overhead",
        median([c[0] for c in confined]),
        "ms",
        "the same run without the sandbox",
        median([o[0] for o in open_]),
        goal="<= 1.3",
        digits=1,
        command_ms=round(median([c[1] for c in confined]), 1),
        baseline_command_ms=round(median([o[1] for o in open_]), 1),
        commands=COMMANDS,
        repeats=REPEATS,
    )


if __name__ == "__main__":
    main()
