"""A run's whole life on a real engine: worktree, turns, snapshots, commit, states."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from engine.bootstrap import open_engine
from engine.domain.errors import BadInput, UnknownRepo
from engine.domain.events import (
    AgentText,
    FileChanged,
    HumanAsked,
    RunStateChanged,
    SteeringDelivered,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    WorkCommitted,
)
from engine.domain.state import RunState
from engine.services.engine import EngineOptions
from enginekit import running_engine, wait_for_state


def git(cwd: Path | str, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


GREET = """
[[step]]
say = "Adding a greeting module"
[[step]]
write = { path = "greet.py", content = "def greet(name):\\n    return f'hi {name}'\\n" }
[[step]]
run = "python3 -c 'import greet; print(greet.greet(\\"x\\"))'"
"""


async def test_full_lifecycle(workspace, scenario):
    path = scenario(GREET)
    async with open_engine(workspace, EngineOptions(only=frozenset(), poll_interval=0.1)) as eng:
        run = await eng.submit("app", "add a greeting", "scripted", path)
        assert run.state is RunState.QUEUED and run.branch == f"cockpit/{run.id}"
        await eng.run()
        final = await eng.resolve_run(run.id)
        events = await eng._store.events_for(run.id)

    assert final.state is RunState.FINISHED, final.error
    assert final.turns_completed == 3
    worktree = Path(final.worktree or "")
    assert worktree.is_absolute() and worktree.is_dir()
    assert workspace.worktrees_dir in worktree.parents

    # Events are dense, ordered and typed; states went the whole way.
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    states = [e.new for e in events if isinstance(e, RunStateChanged)]
    assert states == [RunState.QUEUED, RunState.STARTING, RunState.RUNNING, RunState.FINISHED]
    kinds = [type(e) for e in events]
    assert kinds.index(AgentText) < kinds.index(ToolCallRequested) < kinds.index(FileChanged)
    run_result = [e for e in events if isinstance(e, ToolCallFinished) and e.tool == "run_command"]
    assert run_result and run_result[0].exit_code == 0 and "hi x" in run_result[0].output
    turns = [e for e in events if isinstance(e, TurnFinished)]
    assert [t.turn for t in turns] == [1, 2, 3]
    committed = [e for e in events if isinstance(e, WorkCommitted)]
    assert committed and committed[0].sha

    # One hidden ref per turn; turn 1 has no greet.py yet, turn 2 has it.
    repo = workspace.repo_path("app")
    refs = git(repo, "for-each-ref", "--format=%(refname)", f"refs/cockpit/{run.id}/").split()
    assert sorted(refs) == [f"refs/cockpit/{run.id}/turn-{n}" for n in (1, 2, 3)]
    assert "greet.py" not in git(repo, "ls-tree", "--name-only", f"refs/cockpit/{run.id}/turn-1")
    assert "greet.py" in git(repo, "ls-tree", "--name-only", f"refs/cockpit/{run.id}/turn-2")

    # The work is committed on the run's branch, with a message naming the run and task.
    log = git(repo, "log", "-1", "--format=%s", final.branch)
    assert run.id in log and "add a greeting" in log
    assert "greet.py" in git(repo, "show", "--name-only", "--format=", final.branch)
    # The user's own checkout is untouched.
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"


async def test_ask_waits_for_the_human_and_steering_is_delivered(workspace, scenario):
    path = scenario(
        """
[[step]]
ask = "Should I add tests too?"
[[step]]
say = "carrying on"
[[step]]
wait = 0.3
[[step]]
say = "done"
"""
    )
    async with running_engine(workspace) as eng:
        run = await eng.submit("app", "ask me", "scripted", path)
        waiting = await wait_for_state(eng, run.id, RunState.WAITING_FOR_HUMAN)
        assert waiting.state is RunState.WAITING_FOR_HUMAN
        await eng.steer(run.id, "yes please")
        await wait_for_state(eng, run.id, RunState.RUNNING, RunState.FINISHED)
        await eng.steer(run.id, "use pytest")  # delivered at the start of a later turn
        final = await wait_for_state(eng, run.id, RunState.FINISHED)
        events = await eng._store.events_for(run.id)
    assert final.state is RunState.FINISHED
    asked = [e for e in events if isinstance(e, HumanAsked)]
    delivered = [e.text for e in events if isinstance(e, SteeringDelivered)]
    assert asked[0].question == "Should I add tests too?"
    assert delivered == ["yes please", "use pytest"]
    texts = [e.text for e in events if isinstance(e, AgentText)]
    assert "Thanks — you said: yes please" in texts and "Noted: use pytest" in texts


async def test_fail_step_fails_the_run(workspace, scenario):
    path = scenario('[[step]]\nsay = "x"\n[[step]]\nfail = "simulated crash"\n')
    async with open_engine(workspace, EngineOptions(only=frozenset(), poll_interval=0.1)) as eng:
        run = await eng.submit("app", "crash", "scripted", path)
        await eng.run()
        final = await eng.resolve_run(run.id)
    assert final.state is RunState.FAILED and final.error == "simulated crash"
    assert final.turns_completed == 1


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmd and state != "Z":
                found.append(int(entry.name))
    return found


async def test_cancel_stops_the_agent_and_its_processes(workspace, scenario, tmp_path):
    marker = f"{tmp_path.name}-cancel"
    path = scenario(f'[[step]]\nrun = "sleep 30 # {marker}"\n')
    async with running_engine(workspace) as eng:
        run = await eng.submit("app", "long", "scripted", path)
        await wait_for_state(eng, run.id, RunState.RUNNING)
        deadline = asyncio.get_running_loop().time() + 30
        while not _processes_with(marker):
            assert asyncio.get_running_loop().time() < deadline, "the command never started"
            await asyncio.sleep(0.05)
        cancelled = await eng.cancel(run.id)
    assert cancelled.state is RunState.CANCELLED
    assert _processes_with(marker) == []
    assert Path(cancelled.worktree or "").is_dir()  # cancel never deletes work


async def test_run_timeout_fails_and_kills(workspace_root, scenario, tmp_path):
    from engine.workspace import open_workspace

    toml = workspace_root / "cockpit.toml"
    toml.write_text(toml.read_text().replace('run_timeout = "2m"', 'run_timeout = "1s"'))
    ws = open_workspace(workspace_root)
    marker = f"{tmp_path.name}-timeout"
    path = scenario(f'[[step]]\nrun = "sleep 30 # {marker}"\n')
    async with open_engine(ws, EngineOptions(only=frozenset(), poll_interval=0.1)) as eng:
        run = await eng.submit("app", "slow", "scripted", path)
        await eng.run()
        final = await eng.resolve_run(run.id)
    assert final.state is RunState.FAILED and "timed out" in (final.error or "")
    assert _processes_with(marker) == []


async def test_cancel_of_a_queued_run_is_immediate(workspace, scenario):
    path = scenario('[[step]]\nsay = "x"\n')
    async with open_engine(workspace, listen=False) as eng:
        run = await eng.submit("app", "never runs", "scripted", path)
        cancelled = await eng.cancel(run.id)
        assert cancelled.state is RunState.CANCELLED
        with pytest.raises(BadInput, match="already cancelled"):
            await eng.cancel(run.id)


async def test_concurrency_limits_are_never_exceeded(workspace_root, scenario):
    from engine.workspace import open_workspace

    toml = workspace_root / "cockpit.toml"
    text = toml.read_text().replace("max_running = 4", "max_running = 3")
    toml.write_text(text.replace("max_running_per_repo = 2", "max_running_per_repo = 2"))
    ws = open_workspace(workspace_root)
    path = scenario('[[step]]\nwait = 0.3\n[[step]]\nsay = "ok"\n')
    active: set[str] = set()
    peak = {"all": 0, "app": 0}
    repo_of: dict[str, str] = {}

    def observe(events):
        for event in events:
            if isinstance(event, RunStateChanged):
                if event.new in (RunState.STARTING, RunState.RUNNING):
                    active.add(event.run_id)
                else:
                    active.discard(event.run_id)
                peak["all"] = max(peak["all"], len(active))
                peak["app"] = max(peak["app"], sum(repo_of[r] == "app" for r in active))

    async with running_engine(ws) as eng:
        eng._bus.add_sink(observe)
        runs = []
        for i in range(8):
            repo = "app" if i < 5 else "lib"
            run = await eng.submit(repo, f"task {i}", "scripted", path)
            repo_of[run.id] = repo
            runs.append(run)
        for run in runs:
            await wait_for_state(eng, run.id, RunState.FINISHED, timeout=30)
    assert peak["all"] == 3
    assert peak["app"] == 2


async def test_resume_continues_after_the_last_completed_turn(workspace, scenario):
    # Step 1 appends a line; if resume replayed it, the file would have two lines.
    path = scenario(
        '[[step]]\nrun = "echo once >> log.txt"\n[[step]]\nwait = 30\n[[step]]\nsay = "end"\n'
    )
    async with running_engine(workspace) as eng:
        run = await eng.submit("app", "resumable", "scripted", path)
        deadline = asyncio.get_running_loop().time() + 30
        while not ((current := await eng._store.get_run(run.id)) and current.turns_completed):
            assert asyncio.get_running_loop().time() < deadline, "turn 1 never completed"
            await asyncio.sleep(0.05)
    # Leaving the context shut the engine down: the run is interrupted, not lost.
    async with open_engine(workspace, listen=False) as eng:
        interrupted = await eng.resolve_run(run.id)
    assert interrupted.state is RunState.INTERRUPTED
    assert interrupted.turns_completed == 1
    worktree = Path(interrupted.worktree or "")
    assert (worktree / "log.txt").read_text() == "once\n"

    Path(path).write_text(
        '[[step]]\nrun = "echo once >> log.txt"\n[[step]]\nwait = 0\n[[step]]\nsay = "end"\n'
    )
    async with open_engine(workspace, EngineOptions(only=frozenset(), poll_interval=0.1)) as eng:
        await eng.resume(run.id)
        await eng.run()
        final = await eng.resolve_run(run.id)
        events = await eng._store.events_for(run.id)
    assert final.state is RunState.FINISHED
    assert final.turns_completed == 3
    assert (worktree / "log.txt").read_text() == "once\n"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_remove_worktree_salvages_unmerged_work(workspace, scenario):
    path = scenario('[[step]]\nwrite = { path = "new.txt", content = "precious\\n" }\n')
    async with open_engine(workspace, EngineOptions(only=frozenset(), poll_interval=0.1)) as eng:
        run = await eng.submit("app", "make work", "scripted", path)
        await eng.run()
        salvage = await eng.remove_worktree(run.id)
        final = await eng.resolve_run(run.id)
    assert salvage is not None
    assert salvage.patch.is_file() and "precious" in salvage.patch.read_text()
    assert workspace.salvage_dir in salvage.path.parents
    assert not Path(final.worktree or "").exists()


@pytest.mark.parametrize(
    ("repo", "agent", "error", "needle"),
    [
        ("nope", "scripted", UnknownRepo, "unknown repo 'nope'"),
        ("app", "ghost", BadInput, "unknown agent profile 'ghost'"),
    ],
)
async def test_submit_rejects_bad_input(workspace, scenario, repo, agent, error, needle):
    path = scenario('[[step]]\nsay = "x"\n')
    async with open_engine(workspace, listen=False) as eng:
        with pytest.raises(error, match=needle):
            await eng.submit(repo, "task", agent, path)
        with pytest.raises(BadInput, match="needs a scenario"):
            await eng.submit("app", "task", "scripted", None)
        assert await eng.list_runs() == []
