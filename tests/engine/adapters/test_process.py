"""Process groups: commands run in their own group and leave nothing behind."""

import asyncio
import contextlib
import os
import subprocess
from pathlib import Path
from unittest import mock

from engine.adapters.process import clip_output, die_with_parent, group_alive, run_shell


async def test_output_and_exit_code(tmp_path: Path):
    code, out = await run_shell("echo hello; echo oops >&2; exit 3", tmp_path)
    assert code == 3
    assert "hello" in out and "oops" in out


async def test_timeout_kills_the_whole_group(tmp_path: Path):
    # The shell starts a grandchild that would outlive a plain kill of the shell.
    marker = tmp_path / "pid"
    code, out = await run_shell(f"sleep 60 & echo $! > {marker}; wait", tmp_path, timeout=0.5)
    assert code == 124 and "timed out" in out
    pid = int(marker.read_text())
    assert not _alive(pid)  # the group is gone when run_shell returns


async def test_cancel_kills_the_whole_group(tmp_path: Path):
    marker = tmp_path / "pid"
    task = asyncio.create_task(run_shell(f"sleep 60 & echo $! > {marker}; wait", tmp_path))
    for _ in range(100):
        if marker.exists() and marker.read_text().strip():
            break
        await asyncio.sleep(0.02)
    pgid = os.getpgid(int(marker.read_text()))
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert not group_alive(pgid)


def test_clip_output_keeps_both_ends():
    text = "A" * 100 + "B" * 100
    clipped = clip_output(text, limit=50)
    assert clipped.startswith("A" * 25) and clipped.endswith("B" * 25)
    assert "elided" in clipped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_child_whose_parent_died_before_it_armed_the_signal_ends_before_exec(
    tmp_path: Path,
) -> None:
    """The parent-death signal is armed in the child after the fork: a parent killed in
    between sends nothing, so the child checks its parent and ends instead of running on
    as an orphan. Here the "parent" it was made for is another process."""
    marker = tmp_path / "ran"
    other = subprocess.Popen(["sleep", "30"])
    try:
        with mock.patch("os.getpid", return_value=other.pid):
            preexec = die_with_parent()  # made for a parent that is not ours
        done = subprocess.run(["touch", str(marker)], preexec_fn=preexec, check=False)
    finally:
        other.kill()
        other.wait()
    assert not marker.exists()
    assert done.returncode != 0
    # Made for this very process, the child runs.
    subprocess.run(["touch", str(marker)], preexec_fn=die_with_parent(), check=True)
    assert marker.exists()
