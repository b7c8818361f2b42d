"""The detached engine (issue 15) with real processes: ``cockpit engine start | stop |
status``, commands that start it when none runs, a stale socket, a socket path too long
for the OS, another uid refused, clients killed with -9 and reconnecting, the engine
killed with -9, idle exit, notifications with several clients attached, ``run --wait``
through the engine (Ctrl-C included) and two commands racing to start it.

Every engine here is a real ``cockpit engine start --foreground`` process; the
conftest's autouse fixture stops whatever is left under the test's ``tmp_path``.
``test_another_uid_is_refused`` needs root (skipped otherwise).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from clikit import COCKPIT, cockpit, cockpit_json, wait_run

import builders
from builders import alive, engines_under
from engine.adapters.process import run_processes
from engine.rpc import wire
from engine.rpc.address import MAX_PATH, lock_owner

#: Seconds any wait of this module may take before the test fails.
PATIENCE = 30.0

#: A client of the workspace's engine over its socket, as a separate process: it
#: subscribes to every run's events after argv[3] and prints one line per page,
#: ``page LAST_ID RUN:SEQ RUN:SEQ…``, flushed; with argv[4] (a run id) it ends once that
#: run has ended, else it reads until killed. argv[1]: the workspace's root; argv[2]:
#: ``connect`` (to the running engine) or ``start`` (it, when none runs, as commands do).
SUBSCRIBER = """\
import asyncio, sys
from pathlib import Path
from cockpit.client.daemon import connect, connect_or_start
from cockpit.client.local import open_workspace
from engine.domain.events import RunStateChanged
from engine.domain.state import TERMINAL

async def main():
    workspace, how, after = open_workspace(Path(sys.argv[1])), sys.argv[2], int(sys.argv[3])
    until = sys.argv[4] if len(sys.argv) > 4 else None
    client = await (connect_or_start(workspace) if how == "start" else connect(workspace))
    print("connected", flush=True)
    async for page in client.subscribe(after):
        keys = " ".join(f"{e.run_id}:{e.seq}" for e in page.events)
        print(f"page {page.last_id} {keys}", flush=True)
        if until and any(
            isinstance(e, RunStateChanged) and e.run_id == until and e.new in TERMINAL
            for e in page.events
        ):
            break
    await client.close()

asyncio.run(main())
"""

#: A notify command: appends what it got on stdin to argv[1], one line per call.
NOTIFY = """\
import sys
data = sys.stdin.read().replace("\\n", " ")
with open(sys.argv[1], "a") as f:
    f.write(data + "\\n")
"""

#: A run that streams events for a few seconds (a run still producing while clients
#: come and go).
SLOW_STREAM = '[[step]]\nstream = { text = "chunk", count = 300, interval = 0.02 }\n'
#: Says something, then waits long enough to be caught in flight.
SAY_THEN_WAIT = '[[step]]\nsay = "before"\n[[step]]\nwait = 10\n[[step]]\nsay = "after"\n'


# --- helpers ---------------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float, what: str | Callable[[], str]) -> Any:
    """Poll ``predicate`` until it returns something true (returned); fail after
    ``timeout`` s saying ``what`` (a callable is asked then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.05)


def status(root: Path, env: dict | None = None) -> tuple[int, dict]:
    """``cockpit engine status --json``: its exit code and what it printed."""
    done = cockpit("engine", "status", "--json", cwd=root, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def engine_log(root: Path) -> str:
    """The tail of the workspace's engine log (what a failure shows)."""
    try:
        return "\n".join((root / ".cockpit/logs/engine.log").read_text().splitlines()[-15:])
    except OSError:
        return "(no engine log)"


def engine_pid(root: Path, env: dict | None = None) -> int:
    """The running engine's pid, as ``engine status --json`` says it."""
    code, said = status(root, env)
    assert code == 0, (said, engine_log(root))
    return int(said["pid"])


def lock_pid(root: Path) -> int:
    """The pid the engine's lock file names (no command to wait for)."""
    pid = lock_owner(root / ".cockpit")
    assert pid is not None and alive(pid), engine_log(root)
    return pid


def start(root: Path, env: dict | None = None) -> int:
    """``cockpit engine start``; the engine's pid."""
    done = cockpit("engine", "start", cwd=root, env=env)
    assert done.returncode == 0, (done.stdout, done.stderr, engine_log(root))
    return engine_pid(root, env)


def submit(root: Path, scenario: str, task: str = "daemon work") -> str:
    """``cockpit run`` (no --wait): the run's id."""
    done = cockpit("run", "app", task, "--scenario", scenario, cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout.strip()


def append_config(root: Path, text: str) -> None:
    config = root / "cockpit.toml"
    config.write_text(config.read_text() + text)


class Lines:
    """A child process's stdout read line by line, with deadlines."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self._fd = proc.stdout.fileno()
        self._buffer = b""
        self.lines: list[str] = []
        self.ended = False

    def pump(self, timeout: float) -> None:
        """Read what the child wrote within ``timeout`` s (whole lines only)."""
        if self.ended:
            return
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return
        chunk = os.read(self._fd, 65536)
        if not chunk:
            self.ended = True
            return
        self._buffer += chunk
        *whole, self._buffer = self._buffer.split(b"\n")
        self.lines += [line.decode(errors="replace") for line in whole]

    def until(self, found: Callable[[list[str]], bool], timeout: float = PATIENCE) -> None:
        deadline = time.monotonic() + timeout
        while not found(self.lines):
            assert not self.ended, f"the child ended first: {self.lines[-20:]}"
            assert time.monotonic() < deadline, f"not seen in time: {self.lines[-20:]}"
            self.pump(0.1)

    def rest(self, timeout: float = PATIENCE) -> None:
        """Read until the child closes its stdout."""
        deadline = time.monotonic() + timeout
        while not self.ended:
            assert time.monotonic() < deadline, f"the child did not end: {self.lines[-20:]}"
            self.pump(0.1)


@contextlib.contextmanager
def child(*argv: str, cwd: Path) -> Generator[Lines]:
    """A child process (stdout piped, stderr with it) killed when the block ends."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield Lines(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def subscriber(root: Path, after_id: int = 0, until: str | None = None, *, how: str = "connect"):
    """:data:`SUBSCRIBER` as a child process of the workspace at ``root``."""
    args = [sys.executable, "-c", SUBSCRIBER, str(root), how, str(after_id)]
    return child(*args, *([until] if until else []), cwd=root)


def pages(lines: list[str]) -> list[tuple[int, list[str]]]:
    """The ``page`` lines a :data:`SUBSCRIBER` printed: (last id, event keys)."""
    found = []
    for line in lines:
        if line.startswith("page "):
            _, last, *keys = line.split(" ")
            found.append((int(last), [k for k in keys if k]))
    return found


def stored_keys(root: Path, run_id: str) -> list[str]:
    """The run's events as the store has them (``show --events --json``), as keys."""
    shown = cockpit_json("show", run_id, "--events", cwd=root)
    return [f"{e['run_id']}:{e['seq']}" for e in shown["events"]]


# --- start, status, stop ---------------------------------------------------------------


def test_start_status_stop(workspace_root: Path, tmp_path: Path) -> None:
    root = workspace_root
    done = cockpit("engine", "status", cwd=root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "no engine running" in done.stderr
    assert status(root) == (1, {"engine": False})

    done = cockpit("engine", "start", cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    code, said = status(root)
    assert code == 0, said
    wanted = {"engine", "pid", "socket", "uptime_s", "running", "queued", "clients", "protocol"}
    assert wanted <= said.keys(), said
    assert said["engine"] is True
    pid = said["pid"]
    assert isinstance(pid, int) and alive(pid)
    assert engines_under(tmp_path) == [pid]
    sock = root / ".cockpit" / "engine.sock"
    assert said["socket"] == str(sock)
    mode = os.lstat(sock).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600, oct(mode)
    assert isinstance(said["uptime_s"], int | float) and said["uptime_s"] >= 0
    for count in ("running", "queued", "clients"):
        assert type(said[count]) is int and said[count] == 0, (count, said)
    assert said["protocol"] == wire.PROTOCOL

    done = cockpit("engine", "status", cwd=root)
    assert done.returncode == 0, done.stderr
    assert str(pid) in done.stdout

    again = cockpit("engine", "start", cwd=root)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert "already running" in again.stdout
    assert str(pid) in again.stdout
    assert engine_pid(root) == pid
    assert engines_under(tmp_path) == [pid]

    done = cockpit("engine", "stop", cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert not alive(pid)
    assert engines_under(tmp_path) == []
    assert status(root) == (1, {"engine": False})
    assert not sock.exists()

    done = cockpit("engine", "stop", cwd=root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "no engine running" in done.stderr


def test_a_stale_socket_is_detected_and_replaced(
    workspace_root: Path, write_scenario, tmp_path: Path
) -> None:
    root = workspace_root
    sock = root / ".cockpit" / "engine.sock"
    sock.parent.mkdir(exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock))
    dead.listen()
    dead.close()  # not unlinked: the socket file of an engine that died
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)

    done = cockpit("engine", "status", cwd=root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "no engine running" in done.stderr
    assert status(root) == (1, {"engine": False})

    done = cockpit(
        "run",
        "app",
        "after a crash",
        "--scenario",
        write_scenario('[[step]]\nsay = "hi"\n'),
        "--wait",
        cwd=root,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "finished" in done.stdout
    pid = engine_pid(root)
    assert engines_under(tmp_path) == [pid]
    mode = os.lstat(sock).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, oct(mode)


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR with a short path (as ``/run/user/UID`` is)."""
    folder = Path(tempfile.mkdtemp(prefix="xdg-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def long_workspace(tmp_path: Path, make_repo) -> Path:
    """A workspace whose ``.cockpit/engine.sock`` is too long a path to bind."""
    make_repo("app")
    root = builders.write_workspace(
        tmp_path / ("workspace-with-a-long-name-" + "x" * 90), {"app": "../repos/app"}
    )
    assert len(os.fsencode(str(root / ".cockpit" / "engine.sock"))) > MAX_PATH
    return root


def test_a_socket_path_too_long_goes_under_xdg_runtime_dir(
    tmp_path: Path, make_repo, write_scenario, runtime_dir: Path
) -> None:
    root = long_workspace(tmp_path, make_repo)
    link = root / ".cockpit" / "engine.sock"
    runtime = runtime_dir
    env = {"XDG_RUNTIME_DIR": str(runtime)}

    pid = start(root, env)
    assert link.is_symlink()
    target = Path(os.readlink(link))
    assert target.is_absolute()
    assert target.parent == runtime / f"cockpit-{os.getuid()}", target
    mode = os.stat(target).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, oct(mode)
    code, said = status(root, env)
    assert code == 0 and said["pid"] == pid, said
    assert said["socket"] == str(link)

    scenario = write_scenario('[[step]]\nsay = "through the link"\n')
    done = cockpit("run", "app", "long path", "--scenario", scenario, "--wait", cwd=root, env=env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "through the link" in done.stdout
    assert engine_pid(root, env) == pid  # the same engine served it

    done = cockpit("engine", "stop", cwd=root, env=env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert not alive(pid)
    assert not link.is_symlink() and not link.exists()
    assert not target.exists()


def test_a_runtime_dir_itself_too_deep_is_said_or_avoided(tmp_path: Path, make_repo) -> None:
    """The place under ``$XDG_RUNTIME_DIR`` may be too long too (``bind_path`` checks
    every place it tries): either the engine starts somewhere that fits, or the one
    line says why, never a bare ``AF_UNIX path too long``."""
    root = long_workspace(tmp_path, make_repo)
    deep = tmp_path / ("runtime-" + "r" * 100)
    deep.mkdir(mode=0o700)
    done = cockpit("engine", "start", cwd=root, env={"XDG_RUNTIME_DIR": str(deep)})
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "too long" in done.stderr, (done.stderr, engine_log(root))
    else:
        assert engine_pid(root, {"XDG_RUNTIME_DIR": str(deep)}) > 0


def test_the_fallback_socket_folder_is_private(
    tmp_path: Path, make_repo, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no ``$XDG_RUNTIME_DIR``, a long path's socket goes to ``$TMPDIR/cockpit-UID``:
    a folder someone else made there first (world-writable, another owner) could have
    the socket swapped for theirs, so the engine refuses it in one line naming it (and
    clients check who serves the socket they connect to)."""
    root = long_workspace(tmp_path, make_repo)
    temp = runtime_dir  # a short path, used here as the system's temporary folder
    squatted = temp / f"cockpit-{os.getuid()}"
    squatted.mkdir()
    squatted.chmod(0o777)
    if os.geteuid() == 0:
        os.chown(squatted, 65534, 65534)  # made by someone else, first
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    env = {"TMPDIR": str(temp)}
    done = cockpit("engine", "start", cwd=root, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert str(squatted) in done.stderr, (done.stderr, engine_log(root))
        return  # refused, saying so
    target = Path(os.readlink(root / ".cockpit" / "engine.sock"))
    folder = os.stat(target.parent)
    assert folder.st_uid == os.getuid(), f"{target.parent} belongs to uid {folder.st_uid}"
    assert stat.S_IMODE(folder.st_mode) & 0o022 == 0, oct(folder.st_mode)


# --- who may connect -------------------------------------------------------------------


def _connect_as(uid: int, folder: Path, name: str) -> dict[str, Any]:
    """In a forked child running as ``uid`` (no groups of ours), connect to the socket
    ``folder/name`` and say hello; what it read and whether the engine closed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: as few moving parts as possible, then _exit
        report: dict[str, Any] = {"lines": [], "closed": False}
        try:
            os.close(read_end)
            os.chdir(folder)  # reached as root: no folder above must let uid in
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            report["uid"] = os.getuid()
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(10)
            conn.connect(name)
            with contextlib.suppress(OSError):
                conn.sendall(wire.request(1, "hello", {"protocol": wire.PROTOCOL}))
            data = b""
            while True:
                try:
                    chunk = conn.recv(65536)
                except ConnectionResetError:
                    chunk = b""  # closed with our hello unread: a reset, after its answer
                if not chunk:
                    report["closed"] = True
                    break
                data += chunk
            report["lines"] = [json.loads(line) for line in data.splitlines() if line]
        except BaseException as exc:  # said to the parent, never raised in a fork
            report["error"] = f"{type(exc).__name__}: {exc}"
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    try:
        deadline = time.monotonic() + PATIENCE
        while True:
            assert time.monotonic() < deadline, "the other uid's client hung"
            if not select.select([read_end], [], [], 0.5)[0]:
                continue
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return json.loads(data)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another uid")
def test_another_uid_is_refused(workspace_root: Path) -> None:
    """Needs root: a client running as uid 65534 (nobody) is refused by SO_PEERCRED,
    even though the socket's mode would let it in."""
    root = workspace_root
    pid = start(root)
    sock = root / ".cockpit" / "engine.sock"
    folder_mode = stat.S_IMODE(os.stat(sock.parent).st_mode)
    try:
        sock.chmod(0o666)  # file permissions would let anyone connect
        sock.parent.chmod(folder_mode | 0o011)
        report = _connect_as(65534, sock.parent, sock.name)
    finally:
        sock.parent.chmod(folder_mode)
    assert "error" not in report, report
    assert report["uid"] == 65534
    lines = report["lines"]
    assert len(lines) == 1, lines
    assert lines[0]["jsonrpc"] == "2.0"
    assert lines[0]["error"]["code"] == wire.NOT_ALLOWED, lines
    assert "result" not in lines[0]
    assert report["closed"] is True
    # The owner is still served, by the same engine.
    assert engine_pid(root) == pid
    assert alive(pid)


# --- clients and the engine killed -----------------------------------------------------


def test_a_client_killed_with_9_reconnects_and_misses_nothing(
    workspace_root: Path, write_scenario
) -> None:
    root = workspace_root
    start(root)
    with subscriber(root) as first:
        first.until(lambda lines: "connected" in lines)
        run_id = submit(root, write_scenario(SLOW_STREAM))
        first.until(lambda lines: sum(len(keys) for _, keys in pages(lines)) >= 30)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        first.rest()
    seen = pages(first.lines)
    assert cockpit_json("show", run_id, cwd=root)["state"] == "running", "killed too late"
    last_id = seen[-1][0]
    before = [key for _, keys in seen for key in keys]

    with subscriber(root, last_id, until=run_id) as second:
        second.rest()
        assert second.proc.wait(timeout=10) == 0, second.lines
    after = [key for _, keys in pages(second.lines) for key in keys]

    stored = stored_keys(root, run_id)
    assert len(stored) > 300
    assert before + after == stored  # no gap, no duplicate, in order
    assert before and after


def test_kill_9_of_the_engine_leaves_no_orphan_and_the_run_resumes(
    workspace_root: Path, tmp_path: Path
) -> None:
    from test_run_processes import reapers_of

    root = workspace_root
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        '[[step]]\nwrite = { path = "first.txt", content = "turn one\\n" }\n'
        '[[step]]\nrun = "sleep 300 & sleep 300; touch late.txt"\n'
        "[[step]]\nwait = 60\n"
    )
    run_id = submit(root, str(scenario))
    pid = engine_pid(root)
    wait_for(lambda: run_processes(run_id), PATIENCE, "the run's command never started")
    reapers = reapers_of(pid)
    assert reapers, "the engine started no reaper"
    shown = cockpit_json("show", run_id, cwd=root)
    worktree = Path(shown["worktree"])
    assert shown["state"] == "running"

    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), 10, "the engine outlived kill -9")
    wait_for(
        lambda: not run_processes(run_id),
        10,
        lambda: f"processes of the run outlived their engine: {run_processes(run_id)}",
    )
    wait_for(lambda: not any(alive(p) for p in reapers), 10, "the reaper outlived its engine")
    assert engines_under(tmp_path) == []
    assert worktree.is_dir()
    assert (worktree / "first.txt").read_text() == "turn one\n"
    assert not (worktree / "late.txt").exists()
    done = cockpit("engine", "status", cwd=root)
    assert done.returncode == 1, (done.stdout, done.stderr)

    # The next engine reconciles: the run is interrupted, and resumable. Its scenario is
    # read again on resume: the turn it was killed in now just says so.
    scenario.write_text(
        '[[step]]\nwrite = { path = "first.txt", content = "turn one\\n" }\n'
        '[[step]]\nsay = "resumed after the crash"\n'
    )
    new_pid = start(root)
    assert new_pid != pid
    runs = cockpit_json("runs", cwd=root)
    assert [(r["id"], r["state"]) for r in runs] == [(run_id, "interrupted")]
    done = cockpit("resume", run_id, "--wait", cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "resumed after the crash" in done.stdout
    assert f"run {run_id} finished" in done.stdout
    assert (worktree / "first.txt").read_text() == "turn one\n"
    assert not (worktree / "late.txt").exists()


# --- idle exit -------------------------------------------------------------------------

IDLE = '\n[engine]\nidle_exit = "2s"\n'


def stays_up(pid: int, seconds: float) -> None:
    """``pid`` is alive all along the next ``seconds`` seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert alive(pid), "the engine exited while it was not idle"
        time.sleep(0.1)


def test_an_idle_engine_exits_by_itself(workspace_root: Path, tmp_path: Path) -> None:
    root = workspace_root
    append_config(root, IDLE)
    started = time.monotonic()
    done = cockpit("engine", "start", cwd=root)
    assert done.returncode == 0, (done.stdout, done.stderr, engine_log(root))
    said = re.fullmatch(r"engine started \(pid (\d+), socket .*\)\n", done.stdout)
    assert said, done.stdout
    pid = int(said[1])
    wait_for(lambda: not alive(pid), 10, "the idle engine did not exit")
    took = time.monotonic() - started
    assert took >= 1.5, f"it exited after {took:.1f} s, before idle_exit"
    assert engines_under(tmp_path) == []
    assert not (root / ".cockpit" / "engine.sock").exists()
    assert status(root) == (1, {"engine": False})


def test_an_engine_with_a_client_does_not_idle_out(workspace_root: Path) -> None:
    root = workspace_root
    append_config(root, IDLE)
    with subscriber(root, how="start") as held:  # no moment without a client
        held.until(lambda lines: "connected" in lines)
        pid = lock_pid(root)
        stays_up(pid, 5)
        assert status(root)[1]["clients"] == 1
    # The client gone, the engine goes in its own time.
    wait_for(lambda: not alive(pid), 10, "the engine did not exit once idle")


def test_an_engine_with_a_run_in_flight_does_not_idle_out(
    workspace_root: Path, write_scenario
) -> None:
    root = workspace_root
    append_config(root, IDLE)
    run_id = submit(root, write_scenario('[[step]]\nwait = 10\n[[step]]\nsay = "late"\n'))
    pid = lock_pid(root)
    stays_up(pid, 4)
    said = status(root)[1]
    assert (said["running"], said["clients"]) == (1, 0), said
    run = wait_run(root, run_id, "finished", "failed", timeout=PATIENCE)
    assert run["state"] == "finished", run
    wait_for(lambda: not alive(pid), 10, "the engine did not exit once idle")


# --- notifications ---------------------------------------------------------------------


def test_one_notification_whatever_clients_are_attached(
    workspace_root: Path, write_scenario, tmp_path: Path
) -> None:
    root = workspace_root
    script = tmp_path / "notify.py"
    script.write_text(NOTIFY)
    out = tmp_path / "notified.jsonl"
    append_config(
        root, f"\n[notify]\ncommand = {json.dumps([sys.executable, str(script), str(out)])}\n"
    )
    start(root)
    with subscriber(root) as one, subscriber(root) as two:
        one.until(lambda lines: "connected" in lines)
        two.until(lambda lines: "connected" in lines)
        assert status(root)[1]["clients"] == 2
        run_id = submit(root, write_scenario('[[step]]\nsay = "ready"\n'))
        run = wait_run(root, run_id, "finished", "failed")
        assert run["state"] == "finished", run
        wait_for(out.exists, 10, "no notification")

        def reviews() -> list[dict]:
            said = [json.loads(line) for line in out.read_text().splitlines() if line]
            return [n for n in said if n["kind"] == "review" and n["run_id"] == run_id]

        wait_for(reviews, 10, "no review notification")
        time.sleep(1.5)  # room for a second one, which must not come
        notified = [json.loads(line) for line in out.read_text().splitlines() if line]
        assert [(n["kind"], n["run_id"]) for n in notified] == [("review", run_id)]
        # Both clients saw the run end.
        for client in (one, two):
            client.until(lambda lines: any(f"{run_id}:" in line for line in lines))


# --- run --wait through the engine -----------------------------------------------------


def test_run_wait_streams_and_exits_with_the_outcome(
    workspace_root: Path, write_scenario, tmp_path: Path
) -> None:
    root = workspace_root
    done = cockpit(
        "run",
        "app",
        "good",
        "--scenario",
        write_scenario('[[step]]\nsay = "all good"\n'),
        "--wait",
        cwd=root,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    run_id = cockpit_json("runs", cwd=root)[0]["id"]
    assert "agent: all good" in done.stdout
    assert "state → running" in done.stdout
    assert f"run {run_id} finished" in done.stdout
    pid = engine_pid(root)
    assert engines_under(tmp_path) == [pid]  # it went through the detached engine

    failing = write_scenario(
        '[[step]]\nsay = "x"\n[[step]]\nfail = "simulated crash"\n', "fail.toml"
    )
    done = cockpit("run", "app", "bad", "--scenario", failing, "--wait", cwd=root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "failed" in done.stdout and "simulated crash" in done.stdout
    assert engine_pid(root) == pid


def test_ctrl_c_of_run_wait_leaves_the_run_to_the_engine(
    workspace_root: Path, write_scenario
) -> None:
    root = workspace_root
    scenario = write_scenario(SAY_THEN_WAIT)
    with child(
        *COCKPIT, "run", "app", "interrupted", "--scenario", scenario, "--wait", cwd=root
    ) as follow:
        follow.until(lambda lines: any("agent: before" in line for line in lines))
        follow.proc.send_signal(signal.SIGINT)
        follow.rest()
        assert follow.proc.wait(timeout=10) == 130, follow.lines
    said = "\n".join(follow.lines)
    assert "keeps going in the engine" in said, said
    run_id = cockpit_json("runs", cwd=root)[0]["id"]
    # Not cancelled, not interrupted: still running (or, on a slow machine, already
    # through its wait), and it ends as the scenario says, its last line said.
    assert cockpit_json("show", run_id, cwd=root)["state"] in ("running", "finished")
    run = wait_run(root, run_id, "finished", "failed", "interrupted", timeout=PATIENCE)
    assert run["state"] == "finished", run
    texts = [e.get("text") for e in cockpit_json("show", run_id, "--events", cwd=root)["events"]]
    assert "after" in texts


# --- racing to start the engine --------------------------------------------------------


def test_two_commands_at_once_start_one_engine(
    workspace_root: Path, write_scenario, tmp_path: Path
) -> None:
    root = workspace_root
    scenario = write_scenario('[[step]]\nsay = "raced"\n')
    procs = [
        subprocess.Popen(
            [*COCKPIT, "run", "app", f"race {n}", "--scenario", scenario],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (out, err)
        ids.append(out.strip())
    assert len(set(ids)) == 2
    for run_id in ids:
        run = wait_run(root, run_id, "finished", "failed", timeout=PATIENCE)
        assert run["state"] == "finished", run
    # The loser of the race has gone: one engine serves, the one holding the lock.
    wait_for(
        lambda: len(engines_under(tmp_path)) == 1, 10, lambda: f"engines: {engines_under(tmp_path)}"
    )
    assert engines_under(tmp_path) == [engine_pid(root)]


def test_the_engine_follows_an_edited_config(
    workspace_root: Path, make_repo, write_scenario
) -> None:
    """A repo added (and a broken edit) while the engine runs: the next command sees the
    new repo without a restart; a config that does not load is one line from the
    command, and the engine keeps serving with the one it had."""
    pid = start(workspace_root)
    extra = make_repo("extra")
    added = cockpit("repo", "add", str(extra), cwd=workspace_root)
    assert added.returncode == 0, added.stderr
    scenario = write_scenario('[[step]]\nwrite = { path = "x.txt", content = "x\\n" }\n')
    done = cockpit("run", "extra", "on the new repo", "--scenario", scenario, "--wait",
                   cwd=workspace_root)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert engine_pid(workspace_root) == pid  # the same engine, not a new one
    config = workspace_root / "cockpit.toml"
    good = config.read_text()
    config.write_text(good + "\n[limits]\nmax_running = 'many'\n")
    broken = cockpit("runs", cwd=workspace_root)
    assert broken.returncode == 2 and len(broken.stderr.strip().splitlines()) == 1
    config.write_text(good)
    again = cockpit("run", "extra", "again", "--scenario", scenario, "--wait", cwd=workspace_root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert engine_pid(workspace_root) == pid


def test_a_folder_where_the_socket_goes_is_one_line(workspace_root: Path) -> None:
    (workspace_root / ".cockpit" / "engine.sock").mkdir(parents=True)
    for argv in (("engine", "start"), ("run", "app", "a task")):
        done = cockpit(*argv, cwd=workspace_root)
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert done.stderr.strip().splitlines() == [
            f"cockpit: {workspace_root / '.cockpit' / 'engine.sock'} is a folder, not the "
            "engine's socket: move it aside"
        ]
    assert not engines_under(workspace_root)


def test_the_cockpit_refuses_a_config_that_does_not_load_with_or_without_an_engine(
    workspace_root: Path,
) -> None:
    # The cockpit does not read the schema itself (the engine does): still, a file that
    # does not load is its one line and exit code 2 before the screen is taken, whether
    # the engine it starts refuses the file or a running engine finds it broken since.
    config = workspace_root / "cockpit.toml"
    good = config.read_text()
    broken = good + "\n[sandbox]\nrequired = 'sometimes'\n"
    expected = f"cockpit: {config}: sandbox.required: Input should be a valid boolean"
    config.write_text(broken)
    done = cockpit(cwd=workspace_root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[0].startswith(expected), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout.strip()
    assert not engines_under(workspace_root)
    config.write_text(good)
    pid = start(workspace_root)
    config.write_text(broken)
    done = cockpit(cwd=workspace_root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.strip().startswith(expected), done.stderr
    assert engines_under(workspace_root) == [pid]  # the engine goes on, with its config
    config.write_text(good)
    assert cockpit("engine", "status", cwd=workspace_root).returncode == 0
