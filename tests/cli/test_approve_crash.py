"""``kill -9`` of the engine making a ``cockpit approve`` at ten moments, on a repo of
20,000 files with the base branch checked out, and a run adding 5,000 files, changing
and deleting some.

After each kill the next command that touches the repo (``cockpit runs``) must leave:
the base at its old commit or at the merge; the checkout clean and at the base; the run
recorded approved exactly when the base has the merge; when merged, no branch and no
worktree left; when not, a run that approves cleanly; no journal, no lock file and no
git process left behind.

The approval is made by the workspace's detached engine, started for each moment (with
``COCKPIT_TEST_PAUSE`` in its environment when it must stop) before ``cockpit approve``
asks it: that engine is what is killed; the command, its client, ends by itself. Six
moments are exact (the approval stops at a named phase, ``COCKPIT_TEST_PAUSE``, and is
killed there), two are in the middle of the two long git commands (``read-tree``
writing the checkout, ``worktree remove`` deleting the run's worktree), two are at a
fraction of an uninterrupted approval's duration.

The repo is built once and copied for every moment, always to the same path (git and
the run store hold absolute paths), in a RAM-backed folder when the machine has one:
copying 45,000 files is several times slower on a disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clikit import COCKPIT, alive, cockpit, engine_pid, kill_engine, start_engine, stop_engine

from builders import engines_under, stop_engines_under
from enginekit import git

#: On one xdist worker: the module-scoped template (a repo of 20,000 files) is built once.
pytestmark = pytest.mark.xdist_group("approve-crash")

FOLDERS, PER_FOLDER = 200, 100  # 20,000 files
ADDED = 5_000

#: The agent's work: 5,000 new files in 50 new folders, 100 files changed, 100 deleted.
SCENARIO = f'''
[[step]]
run = """python3 -c '
import pathlib
for i in range({ADDED}):
    p = pathlib.Path(f"new/n{{i // 100:02}}/x{{i}}.txt")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f"new {{i}}\\\\n")
for d in range(100):
    pathlib.Path(f"d{{d:03}}/f000.txt").write_text("changed\\\\n")
    pathlib.Path(f"d{{d:03}}/f001.txt").unlink()
'"""
'''


@dataclass(frozen=True)
class Template:
    """A workspace with one finished run, kept at ``saved`` and copied to ``live``."""

    saved: Path
    live: Path
    run: str
    old: str  # the base before the approval
    tip: str  # the run's branch

    @property
    def repo(self) -> Path:
        return self.live / "repos" / "app"

    @property
    def ws(self) -> Path:
        return self.live / "ws"

    @property
    def worktree(self) -> Path:
        return self.ws / ".cockpit" / "worktrees" / "app" / self.run

    def fresh(self) -> None:
        """The live copy, as the template is, with no engine serving it (one a former
        moment left would still hold the same paths)."""
        stop_engines_under(self.live)
        assert not engines_under(self.live)
        shutil.rmtree(self.live, ignore_errors=True)
        subprocess.run(["cp", "-a", str(self.saved), str(self.live)], check=True)


def _fast_folder() -> Path | None:
    """A RAM-backed folder with room for a few copies, if this machine has one."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    stat = os.statvfs(shm)
    return shm if stat.f_bavail * stat.f_frsize > 2 * 1024**3 else None


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    fast = _fast_folder()
    if fast is not None:
        base = Path(tempfile.mkdtemp(prefix="approve-crash-", dir=fast))
    else:
        base = tmp_path_factory.mktemp("approve-crash")
    live = base / "live"
    repo = live / "repos" / "app"
    for d in range(FOLDERS):
        folder = repo / f"d{d:03}"
        folder.mkdir(parents=True)
        for f in range(PER_FOLDER):
            (folder / f"f{f:03}.txt").write_text(f"{d} {f}\n")
    git(repo, "init", "-q", "-b", "main")
    subprocess.run("git add -A && git commit -qm initial", shell=True, cwd=repo, check=True)
    ws = live / "ws"
    ws.mkdir()
    (ws / "cockpit.toml").write_text(
        '[repos.app]\npath = "../repos/app"\nbase = "main"\n'
        '[agents.scripted]\nbackend = "scripted"\n'
    )
    scenario = base / "scenario.toml"
    scenario.write_text(SCENARIO)
    done = cockpit("run", "app", "add files", "--scenario", str(scenario), "--wait", "--json",
                   cwd=ws, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)["id"]
    # One pack instead of 25,000 loose objects: a copy per moment is much cheaper.
    git(repo, "gc", "-q")
    old = git(repo, "rev-parse", "main").strip()
    tip = git(repo, "rev-parse", f"cockpit/{run}").strip()
    # The run's engine, which `run --wait` started, must not serve the renamed folder.
    stop_engine(ws)
    saved = base / "saved"
    live.rename(saved)
    try:
        yield Template(saved, live, run, old, tip)
    finally:
        stop_engines_under(base)  # outside the tests' tmp_path: not stopped for us
        shutil.rmtree(base, ignore_errors=True)


# --- watching and killing an approval --------------------------------------------------
def _children(pid: int) -> list[int]:
    """Every live descendant of ``pid``."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{name}/stat").read_text()
                parents[int(name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, p in parents.items() if p == parent]
        found += kids
        frontier += kids
    return found


def _running(pid: int, words: str) -> bool:
    """Whether a descendant of ``pid`` runs a command line holding ``words``."""
    for child in _children(pid):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if words.encode() in argv:
                return True
    return False


@dataclass(frozen=True)
class Approving:
    """``cockpit approve`` under way: the command, and the engine making the approval."""

    proc: subprocess.Popen
    engine: int


def _until(condition: Callable[[], bool], a: Approving, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert a.proc.poll() is None, f"approve ended before {what}: {a.proc.communicate()}"
        assert alive(a.engine), f"the engine died before {what}"
        assert time.monotonic() < deadline, f"no {what} within 60 s"
        time.sleep(0.002)


def _approve(t: Template, env: dict[str, str] | None = None) -> Approving:
    """Start the workspace's engine (with ``env``: the engine makes the approval), then
    ``cockpit approve`` asking it."""
    engine = start_engine(t.ws, env)
    proc = subprocess.Popen(
        [*COCKPIT, "approve", t.run],
        cwd=t.ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Approving(proc, engine)


def _kill(t: Template, a: Approving) -> None:
    """kill -9 the engine; the command waiting on it ends by itself, and starts no other."""
    if alive(a.engine):  # (it may have ended by itself: never here, but a pid is reused)
        kill_engine(t.ws, a.engine)
    _, err = a.proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert engine_pid(t.ws) is None


def pause_at(phase: str) -> Callable[[Template], None]:
    """Stop the approval at ``phase`` (the engine's test hook), kill it there."""

    def kill(t: Template) -> None:
        marker = t.live / f"paused-{phase}"
        a = _approve(t, {"COCKPIT_TEST_PAUSE": f"{phase}@{marker}"})
        _until(lambda: marker.exists() and marker.read_text() != "", a, f"phase {phase}")
        assert int(marker.read_text()) == a.engine  # the engine stopped there, not the command
        _kill(t, a)
        assert a.proc.returncode != 0  # the approval never ended

    return kill


def _entries(folder: Path) -> int:
    """How many entries ``folder`` holds; -1 once it is gone."""
    try:
        return len(os.listdir(folder))
    except FileNotFoundError:
        return -1


def while_writing_the_checkout(t: Template) -> None:
    """Kill once ``read-tree`` has written part of the 5,000 new files."""
    a = _approve(t)

    def started() -> bool:
        return _running(a.engine, "read-tree") or (t.repo / "new").exists()

    _until(started, a, "git read-tree")
    with contextlib.suppress(AssertionError):  # git may finish first: a later moment
        _until(lambda: (t.repo / "new" / "n10").exists(), a, "new files")
    _kill(t, a)


def while_removing_the_worktree(t: Template) -> None:
    """Kill once ``worktree remove`` has deleted part of the run's worktree."""
    a = _approve(t)
    whole = FOLDERS + 2  # d000..d199, new, .git

    def started() -> bool:
        return _running(a.engine, "worktree remove") or _entries(t.worktree) < whole

    _until(started, a, "git worktree remove")
    with contextlib.suppress(AssertionError):  # git may finish first: a later moment
        _until(lambda: _entries(t.worktree) < whole - 20, a, "a removal")
    _kill(t, a)


def _journal(t: Template) -> Path:
    return t.ws / ".cockpit" / "journal" / f"{t.run}.json"


def after(fraction: float) -> Callable[[Template], None]:
    """Kill at ``fraction`` of the time an uninterrupted approval works with its journal
    written (measured first), counted from when the journal appears."""

    def kill(t: Template) -> None:
        if not _work:  # this moment alone was asked for
            test_an_uninterrupted_approval_on_20k_files(t)
            t.fresh()
        a = _approve(t)
        _until(_journal(t).exists, a, "the journal")
        time.sleep(fraction * _work[0])
        _kill(t, a)

    return kill


#: How long an uninterrupted approval works once its journal is written (seconds).
_work: list[float] = []

MOMENTS = [
    pytest.param(pause_at("begun"), id="begun"),
    pytest.param(after(0.3), id="after-0.3"),
    pytest.param(pause_at("merge-made"), id="merge-made"),
    pytest.param(while_writing_the_checkout, id="writing-the-checkout"),
    pytest.param(pause_at("checkout-updated"), id="checkout-updated"),
    pytest.param(pause_at("base-moved"), id="base-moved"),
    pytest.param(pause_at("recorded"), id="recorded"),
    pytest.param(while_removing_the_worktree, id="removing-the-worktree"),
    pytest.param(after(0.7), id="after-0.7"),
    pytest.param(pause_at("discarded"), id="discarded"),
]


# --- what must hold afterwards ---------------------------------------------------------
def _git_processes_in(folder: Path) -> list[str]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if not Path(f"/proc/{name}/comm").read_text().startswith("git"):
                continue
            cwd = os.readlink(f"/proc/{name}/cwd")
            if cwd.startswith(str(folder)):
                argv = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"{name}: {argv.decode(errors='replace')}")
    return found


def _decision(t: Template) -> dict | None:
    done = cockpit("show", t.run, "--events", "--json", cwd=t.ws)
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)["events"]
    decided = [e for e in events if e["type"] == "review_decided"]
    assert len(decided) <= 1, decided
    return decided[0] if decided else None


def assert_settled(t: Template) -> bool:
    """Everything the issue asks for after the next command; whether it merged."""
    assert not _git_processes_in(t.live.parent), _git_processes_in(t.live.parent)
    base = git(t.repo, "rev-parse", "refs/heads/main").strip()
    merged = base != t.old
    if merged:  # a merge commit of the run's branch onto the old base, with its tree
        assert git(t.repo, "rev-parse", f"{base}^1", f"{base}^2").split() == [t.old, t.tip]
        assert git(t.repo, "rev-parse", f"{base}^{{tree}}") == git(
            t.repo, "rev-parse", f"{t.tip}^{{tree}}"
        )
    assert git(t.repo, "rev-parse", "HEAD").strip() == base
    assert git(t.repo, "status", "--porcelain", "--untracked-files=all") == ""
    decision = _decision(t)
    assert (decision is not None) == merged, decision
    branches = git(t.repo, "branch", "--list", f"cockpit/{t.run}").strip()
    worktrees = git(t.repo, "worktree", "list", "--porcelain")
    if merged:
        assert decision is not None and decision["sha"] == base
        assert decision["decision"] == "approved"
        assert branches == ""
        assert str(t.worktree) not in worktrees
        assert not t.worktree.exists()
    else:
        assert branches != ""
        assert str(t.worktree) in worktrees
    assert not list((t.ws / ".cockpit" / "journal").glob("*.json"))
    # (Cockpit's own cockpit-worktrees.lock is flocked: it is never stale.)
    locks = [p for p in (t.repo / ".git").rglob("*.lock") if p.name != "cockpit-worktrees.lock"]
    assert not locks
    return merged


def test_an_uninterrupted_approval_on_20k_files(template: Template) -> None:
    template.fresh()
    a = _approve(template)
    _until(_journal(template).exists, a, "the journal")
    started = time.monotonic()
    _, err = a.proc.communicate(timeout=120)
    _work.append(time.monotonic() - started)
    assert a.proc.returncode == 0, err
    assert assert_settled(template)
    assert (template.repo / "new" / "n49" / "x4999.txt").read_text() == "new 4999\n"
    assert not (template.repo / "d000" / "f001.txt").exists()


@pytest.mark.parametrize("kill", MOMENTS)
def test_kill_9_during_approve_then_the_next_command_settles_it(
    template: Template, kill: Callable[[Template], None]
) -> None:
    template.fresh()
    kill(template)
    # No engine runs: the command reads the store itself, settling the cut-short decision.
    done = cockpit("runs", "--json", cwd=template.ws)
    assert done.returncode == 0, done.stderr
    if assert_settled(template):
        return
    # Undone: the run is approvable as if nothing had happened.
    again = cockpit("approve", template.run, cwd=template.ws, timeout=120)
    assert again.returncode == 0, again.stderr
    assert assert_settled(template)
