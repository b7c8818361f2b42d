"""Builders the tests and the benchmarks share: throw-away git repos, workspaces, scenario
files, agent profiles and runs stored as if they had happened.

Plain functions, no pytest: ``tests/conftest.py`` and ``tests/enginekit.py`` wrap them
in fixtures and helpers (as ``builders``: pytest puts tests/ on ``sys.path``);
``bench/common.py`` and ``bench/agents.py`` import them as ``tests.builders`` (common
puts the repo's root on ``sys.path``). So this module imports nothing else of tests/.
Nothing here runs an engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from cockpit.client.daemon import process_running
from engine.adapters.store.sqlite import SqliteRunStore
from engine.domain.events import (
    AgentText,
    Event,
    FileChanged,
    GateDecided,
    GuardDecided,
    HumanAsked,
    RunStateChanged,
    SkillsLoaded,
    UsageReported,
)
from engine.domain.models import Run, utcnow
from engine.domain.state import RunState

TESTS = Path(__file__).resolve().parent
#: The Codex CLI `make` installs from package.json (npm ci).
CODEX = TESTS.parent / "node_modules" / ".bin" / "codex"
#: A real ACP agent process for the tests (scripted, in Python).
ACP_AGENT = TESTS / "engine" / "adapters" / "agents" / "acp_scripted_agent.py"
#: A real ACP agent from npm (Claude Code behind ACP), pinned in package.json.
CLAUDE_AGENT_ACP = TESTS.parent / "node_modules" / ".bin" / "claude-agent-acp"

#: A scenario doing nothing but say one line: one turn, no file changes.
NOOP_SCENARIO = '[[step]]\nsay = "ok"\n'
#: What the agent of a seeded run says, event after event (:func:`finished_run`).
AGENT_TEXT = "The agent is reading the module and thinking about what to change next."


# --- the process's environment -----------------------------------------------------------


def private_environment(name: str, email: str) -> None:
    """Give git an identity that never depends on the machine (commits in throw-away
    repos, by this process and the ones it starts), and forget any ``COCKPIT_WORKSPACE``
    the caller's shell set, so nothing finds the user's own workspace."""
    os.environ.update(
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
    )
    os.environ.pop("COCKPIT_WORKSPACE", None)


# --- git repos -----------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout (raises on failure). Commits are never
    signed, whatever the user's git configuration asks."""
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def python_modules(count: int, dirs: int = 1) -> dict[str, str]:
    """``count`` small generated Python modules spread over ``dirs`` folders
    (``src/pkgNNN/modNNNNN.py``), by relative path: a repo of any size."""
    return {
        f"src/pkg{i % dirs:03d}/mod{i:05d}.py": (
            f'"""Module {i}."""\n\nVALUE = {i}\n\n\ndef f{i}(x):\n    return x + VALUE\n'
        )
        for i in range(count)
    }


def make_repo(path: Path, files: Mapping[str, str] | None = None, *, branch: str = "main") -> Path:
    """A new git repo at ``path`` (which must not exist) on ``branch`` with one commit,
    ``initial``, of ``files`` (text by relative path; none or empty: a README naming
    the repo and ``src/app.py``). Returns ``path``."""
    if not files:
        files = {"README.md": f"# {path.name}\n", "src/app.py": "x = 1\n"}
    path.mkdir(parents=True)
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git(path, "init", "-q", "-b", branch)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


# --- workspaces, profiles, scenarios -------------------------------------------------------


def write_workspace(
    root: Path,
    repos: Mapping[str, Path | str],
    *,
    max_running: int = 4,
    max_running_per_repo: int = 2,
    run_timeout: str = "5m",
    base: str = "main",
    extra: str = "",
) -> Path:
    """Write ``root/cockpit.toml`` (making ``root`` when needed): ``[limits]``, one
    ``[repos.NAME]`` table per entry of ``repos`` (its path as given: absolute, or
    relative to ``root``; every repo on ``base``), a ``scripted`` agent profile, then
    ``extra`` (more profiles, gates, guard rules). Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    tables = "".join(
        f'\n[repos.{name}]\npath = {json.dumps(str(path))}\nbase = "{base}"\n'
        for name, path in repos.items()
    )
    (root / "cockpit.toml").write_text(
        "\n[limits]\n"
        f"max_running = {max_running}\n"
        f"max_running_per_repo = {max_running_per_repo}\n"
        f'run_timeout = "{run_timeout}"\n'
        f"{tables}"
        '\n[agents.scripted]\nbackend = "scripted"\n'
        f"{extra}"
    )
    return root


def write_scenario(folder: Path, text: str = NOOP_SCENARIO, name: str = "scenario.toml") -> str:
    """Write a scenario file ``name`` into ``folder`` (made when needed); return its
    absolute path, as ``submit`` takes it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return str(path)


def acp_profile(name: str) -> str:
    """An ``[agents.NAME]`` table running the scripted ACP agent."""
    return f'\n[agents.{name}]\nbackend = "acp"\ncommand = "{sys.executable}"\nargs = ["{ACP_AGENT}"]\n'


def codex_profile(name: str) -> str:
    """An ``[agents.NAME]`` table running the installed Codex CLI."""
    return f'\n[agents.{name}]\nbackend = "codex"\ncommand = "{CODEX}"\nmodel = "gpt-scripted"\n'


# --- runs stored as if they had happened ---------------------------------------------------


async def store_runs(
    db_path: Path, runs: Iterable[tuple[Run, Sequence[Event]]], chunk: int = 5_000
) -> list[str]:
    """Insert each run row, then its events (``chunk`` at a time), straight into the
    store at ``db_path``: data for a test or a benchmark to read, with no engine and
    nothing executed. ``runs`` may be a generator, so a big seed is never all in memory.
    Returns the run ids in the order given."""
    store = SqliteRunStore(db_path)
    await store.open()
    ids: list[str] = []
    try:
        for run, events in runs:
            await store.insert_run(run)
            ids.append(run.id)
            for offset in range(0, len(events), chunk):
                await store.append_events(list(events[offset : offset + chunk]))
    finally:
        await store.close()
    return ids


def finished_run(
    run_id: str,
    repo: str,
    task: str,
    events: int,
    *,
    created: datetime | None = None,
    text: str = AGENT_TEXT,
) -> tuple[Run, list[Event]]:
    """A finished run of the ``scripted`` profile (one turn, five minutes long, created
    at ``created``: an hour ago by default) and ``events`` events of it: queued, running,
    agent texts (``text`` and the seq), finished."""
    start = created if created is not None else utcnow() - timedelta(hours=1)
    run = Run(
        id=run_id,
        repo=repo,
        task=task,
        agent="scripted",
        state=RunState.FINISHED,
        branch=f"cockpit/{run_id}",
        base="main",
        turns_completed=1,
        created_at=start,
        updated_at=start,
        started_at=start,
        finished_at=start + timedelta(minutes=5),
    )
    stored: list[Event] = [
        RunStateChanged(run_id=run_id, seq=1, new=RunState.QUEUED, reason="submitted"),
        RunStateChanged(run_id=run_id, seq=2, old=RunState.QUEUED, new=RunState.RUNNING),
    ]
    stored += [AgentText(run_id=run_id, seq=seq, text=f"{text} {seq}") for seq in range(3, events)]
    stored.append(
        RunStateChanged(
            run_id=run_id, seq=max(3, events), old=RunState.RUNNING, new=RunState.FINISHED
        )
    )
    return run, stored


def eventful_run(run_id: str, repo: str, events: int) -> tuple[Run, list[Event]]:
    """A finished run (as :func:`finished_run`) whose ``events`` events hold a bit of
    everything a run's facts are folded from, spread over its whole history: a usage
    report every 5th event (10 tokens in, 3 out, $0.01), a guard decision every 7th
    (``no-rm`` refusing, ``ask-net`` allowing in turn), the ``tests`` gate failing early
    and passing last, ``lint`` once, the skills loaded, file changes, and a question
    asked and answered; the rest agent text."""
    run, stored = finished_run(run_id, repo, f"eventful {run_id}", events)
    body: list[Event] = []
    last = stored[-1].seq
    for seq in range(3, last):
        if seq == 3:
            body.append(SkillsLoaded(run_id=run_id, seq=seq, names=["tdd", "small-commits"]))
        elif seq == 4:
            body.append(
                GateDecided(
                    run_id=run_id, seq=seq, name="tests", kind="pytest", status="failed", turn=0
                )
            )
        elif seq == 6:
            body.append(
                GateDecided(
                    run_id=run_id, seq=seq, name="lint", kind="ruff", status="passed", turn=0
                )
            )
        elif seq == 8:
            body.append(HumanAsked(run_id=run_id, seq=seq, question="which module?"))
        elif seq == 9:
            body.append(
                RunStateChanged(
                    run_id=run_id, seq=seq, old=RunState.RUNNING, new=RunState.WAITING_FOR_HUMAN
                )
            )
        elif seq == 11:
            body.append(
                RunStateChanged(
                    run_id=run_id, seq=seq, old=RunState.WAITING_FOR_HUMAN, new=RunState.RUNNING
                )
            )
        elif seq == last - 1:
            body.append(
                GateDecided(
                    run_id=run_id, seq=seq, name="tests", kind="pytest", status="passed", turn=1
                )
            )
        elif seq % 5 == 0:
            body.append(
                UsageReported(
                    run_id=run_id, seq=seq, input_tokens=10, output_tokens=3, cost_usd=0.01
                )
            )
        elif seq % 7 == 0:
            refused = seq % 14 == 0
            body.append(
                GuardDecided(
                    run_id=run_id,
                    seq=seq,
                    rule="no-rm" if refused else "ask-net",
                    tool="shell",
                    action="rm -rf build" if refused else "curl example.org",
                    decision="deny" if refused else "allow",
                    outcome="refused" if refused else "allowed",
                )
            )
        elif seq % 11 == 0:
            body.append(FileChanged(run_id=run_id, seq=seq, path=f"m{seq}.py", change="added"))
        else:
            body.append(AgentText(run_id=run_id, seq=seq, text=f"{AGENT_TEXT} {seq}"))
    return run, [*stored[:2], *body, stored[-1]]


async def seed_finished_runs(
    db_path: Path,
    repos: Sequence[str],
    runs: int,
    events_per_run: int,
    text: str = AGENT_TEXT,
    chunk: int = 5_000,
) -> list[str]:
    """Insert ``runs`` finished run rows (round-robin over ``repos``, one second apart,
    the first an hour ago) straight into the store at ``db_path``, each with
    ``events_per_run`` events (see :func:`finished_run`). Nothing is executed; returns
    the run ids (``b0000000``, ``b0000001``…), oldest first."""
    start = utcnow() - timedelta(hours=1)

    def each() -> Iterator[tuple[Run, Sequence[Event]]]:
        for i in range(runs):
            yield finished_run(
                f"b{i:07d}",
                repos[i % len(repos)],
                f"bench task {i}: tidy the module and add a test",
                events_per_run,
                created=start + timedelta(seconds=i),
                text=text,
            )

    return await store_runs(db_path, each(), chunk)


# --- detached engines ---------------------------------------------------------------------
def engines_under(folder: Path) -> list[int]:
    """Pids of detached engines (``cockpit … engine start --foreground``) serving a
    workspace under ``folder``: what a test or a benchmark started and must stop."""
    inside = str(folder.resolve())
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = [
                a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0")
            ]
        except OSError:
            continue
        if "--foreground" not in argv or "engine" not in argv or "--workspace" not in argv:
            continue
        root = argv[argv.index("--workspace") + 1]
        if root == inside or root.startswith(inside + os.sep):
            found.append(int(entry.name))
    return found


def stop_engines_under(folder: Path, timeout: float = 15.0) -> list[int]:
    """SIGTERM every engine serving a workspace under ``folder`` and wait for them to
    exit (SIGKILL after ``timeout``); the pids stopped."""
    import signal
    import time

    pids = engines_under(folder)
    for pid in pids:
        with _gone():
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            with _gone():
                os.kill(pid, signal.SIGKILL)
    return pids


#: Whether a pid runs, read from /proc (it holds for a process that is not this one's
#: child; a zombie counts as dead): the client's own check.
alive = process_running


def _gone():
    import contextlib

    return contextlib.suppress(ProcessLookupError)
