"""No process outlives its run: after kill -9 of the process executing a run (the
workspace's detached engine, which ``cockpit run`` starts), nothing the run started is
left alive — for every backend, in the sandbox and without one — and a resumed run first
ends whatever an earlier execution left behind, saying so.

Processes are found by the mark every process of a run carries in its environment
(``COCKPIT_RUN=<id>``), which is also how the engine finds them.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from clikit import (
    COCKPIT,
    COCKPIT_WITHOUT_SANDBOX,
    cockpit,
    cockpit_json,
    engine_pid,
    kill_engine,
    start_engine_process,
)

from engine.adapters.process import run_processes
from enginekit import acp_profile, codex_profile

#: A model that never answers (within the test): the agent CLI waits on it.
HANG = '[[turn]]\ndelay = 600\ntext = "never said"\n'
#: A command that outlives a plain kill of its shell, and would write after it.
LONG = "sleep 300 & sleep 300; touch late.txt"

SCRIPTS = {
    "scripted": f"[[step]]\nrun = {LONG!r}\n".replace("'", '"'),
    "anthropic": (
        '[[turn]]\ntext = "Waiting."\n[[turn.tool_use]]\nname = "run_command"\n'
        f'input = {{ command = "{LONG}", timeout = 600 }}\n[[turn]]\ntext = "Done."\n'
    ),
    "claude-code": HANG,
    "acp": "",
    "codex": HANG,
}


@pytest.fixture
def profiles(workspace_root: Path) -> Path:
    config = workspace_root / "cockpit.toml"
    config.write_text(
        config.read_text()
        + '\n[agents.anthropic]\nbackend = "anthropic"\n'
        + '\n[agents.claude-code]\nbackend = "claude-code"\n'
        + 'env = { CLAUDE_CODE_MAX_RETRIES = "0" }\n'
        + acp_profile("acp")
        + codex_profile("codex")
    )
    return workspace_root


def _start(
    root: Path, backend: str, script: Path, sandbox: bool
) -> tuple[subprocess.Popen[str], subprocess.Popen[bytes] | None]:
    """``cockpit run … --wait``, and the engine it was started first when ``sandbox`` is
    false. The run executes in the workspace's engine: with a sandbox, the one the
    command starts; without, one started first that finds no bubblewrap (the engine is
    what jails a run: the command's own view of the machine does not reach it)."""
    engine = None if sandbox else start_engine_process(root, head=COCKPIT_WITHOUT_SANDBOX)
    args = ["run", "app", "never ends", "--agent", backend, "--wait"]
    if backend == "acp":
        # The scripted ACP agent takes its script from its task: one that hangs.
        args[2] = "hang"
    else:
        args += ["--scenario", str(script)]
    command = subprocess.Popen(
        [*COCKPIT, *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return command, engine


def _described(run_id: str) -> list[str]:
    """The run's live processes, each with its parent and command line: what a failure
    names, so an orphan can be told from a process still being set up."""
    out = []
    for pid in run_processes(run_id):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        out.append(f"{pid} (parent {ppid}): {cmd[:160]}")
    return out


def reapers_of(engine_pid: int) -> list[int]:
    """The live reaper processes of an engine (its pid is their last argument)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"reaper_child.py") for a in argv) and str(engine_pid).encode() in argv:
            found.append(int(entry.name))
    return found


def _ancestors(pid: int) -> list[str]:
    """The command names of ``pid`` and of its ancestors."""
    names = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        names.append(stat[stat.index("(") + 1 : stat.rindex(")")])
        pid = int(stat[stat.rindex(")") + 2 :].split()[1])
    return names


def _jailed(run_id: str) -> bool:
    """Whether the run's live processes run under bubblewrap."""
    return any("bwrap" in _ancestors(pid) for pid in run_processes(run_id))


def _wait_for(predicate, timeout: float, what) -> None:
    """Poll ``predicate``; fail after ``timeout`` s saying ``what`` (a callable is asked
    then, so the message shows the state at the failure)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.1)


def _run_id(root: Path) -> str:
    runs = cockpit_json("runs", cwd=root)
    assert len(runs) == 1, runs
    return runs[0]["id"]


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "guard-alone"])
@pytest.mark.parametrize("backend", list(SCRIPTS))
def test_kill_9_of_the_engine_leaves_no_process_of_the_run(
    backend: str, sandbox: bool, profiles: Path, tmp_path: Path
) -> None:
    script = tmp_path / "script.toml"
    script.write_text(SCRIPTS[backend])
    proc, started = _start(profiles, backend, script, sandbox)
    try:
        _wait_for(lambda: cockpit_json("runs", cwd=profiles), 30, "the run was not submitted")
        run_id = _run_id(profiles)
        # Up and working: some process of the run is alive (its command, or its CLI).
        _wait_for(lambda: run_processes(run_id), 60, f"no process of the {backend} run started")
        assert _jailed(run_id) == sandbox, _described(run_id)
        engine = engine_pid(profiles)
        assert engine is not None and engine != proc.pid
        assert started is None or engine == started.pid
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    kill_engine(profiles, engine)
    if started is not None:
        started.wait()
    # The command following the run ends by itself once its engine is gone.
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode != 0, out
    assert "Traceback" not in out and "engine" in out.strip().splitlines()[-1], out
    _wait_for(
        lambda: not run_processes(run_id),
        10,
        lambda: f"processes of the run outlived kill -9 of its engine: {_described(run_id)}",
    )
    _wait_for(lambda: not reapers_of(engine), 10, "the killed engine's reaper never ended")
    assert engine_pid(profiles) is None  # nothing started another engine meanwhile
    run = cockpit_json("show", run_id, cwd=profiles)
    assert run["state"] == "interrupted", run  # the read settles the orphaned run
    worktree = Path(run["worktree"])
    time.sleep(0.5)
    assert not (worktree / "late.txt").exists()


def test_resume_ends_what_an_earlier_execution_left_and_says_so(
    workspace_root: Path, tmp_path: Path
) -> None:
    """A process of the run that survived its engine (started outside any jail, as a
    machine without bubblewrap could leave one) is ended before the run goes on."""
    script = tmp_path / "script.toml"
    script.write_text('[[step]]\nwait = 60\n[[step]]\nsay = "done"\n')
    proc = subprocess.Popen(
        [*COCKPIT, "run", "app", "wait a while", "--scenario", str(script), "--wait"],
        cwd=workspace_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: cockpit_json("runs", cwd=workspace_root), 30, "not submitted")
    run_id = _run_id(workspace_root)
    _wait_for(
        lambda: cockpit_json("show", run_id, cwd=workspace_root)["state"] == "running",
        30,
        "the run never started",
    )
    engine = engine_pid(workspace_root)
    assert engine is not None and engine != proc.pid
    assert reapers_of(engine)  # the engine's, not the command's: the engine runs the run
    kill_engine(workspace_root, engine)
    assert proc.wait(timeout=30) != 0  # the follower ends with its engine
    # The killed engine's reaper ends what was left of the run; it must be done before
    # the straggler below appears, or it ends that too (rightly: it is marked the run's).
    _wait_for(lambda: not reapers_of(engine), 10, "the killed engine's reaper never ended")
    # A straggler of the earlier execution, detached from it, still marked as the run's.
    straggler = subprocess.Popen(
        ["sleep", "300"],
        env={**os.environ, "COCKPIT_RUN": run_id},
        start_new_session=True,
    )
    try:
        # Popen returns once exec has begun (its close-on-exec pipe closed), which is
        # before the kernel has set the new program's environment up: until then the
        # straggler's /proc environ does not show its mark yet.
        _wait_for(
            lambda: run_processes(run_id) == [straggler.pid],
            10,
            lambda: f"the straggler {straggler.pid} is not the run's: {run_processes(run_id)}",
        )
        script.write_text('[[step]]\nwait = 0\n[[step]]\nsay = "done"\n')
        done = cockpit("resume", run_id, "--wait", cwd=workspace_root)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ended 1 process left running by the run's earlier execution" in done.stdout
        assert straggler.wait(timeout=10) is not None
        assert run_processes(run_id) == []
    finally:
        if straggler.poll() is None:
            straggler.kill()
