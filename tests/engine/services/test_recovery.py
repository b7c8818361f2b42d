"""Liveness of an engine process, as orphan recovery sees it."""

import os
import subprocess
import time
from pathlib import Path

from engine.domain.models import EngineId
from engine.services.recovery import HOST, owner_alive, process_alive


def test_a_killed_but_unreaped_process_is_dead():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert process_alive(child.pid)
        child.kill()
        # Not reaped (no wait() yet): a zombie, for which kill(pid, 0) still succeeds. The
        # signal lands when the child next runs: on a busy machine not at once.
        deadline = time.monotonic() + 10
        while process_alive(child.pid):
            assert time.monotonic() < deadline, "a killed, unreaped child still counts as alive"
            time.sleep(0.01)
        assert Path(f"/proc/{child.pid}/stat").exists()  # still there, unreaped
    finally:
        child.wait()
    assert not process_alive(child.pid)


def test_owner_tokens():
    me = EngineId(host=HOST, pid=os.getpid(), started=time.time())
    assert owner_alive(me.token)
    assert not owner_alive(None)
    assert not owner_alive("garbage")
    # Another machine's engine can only be judged by its lease.
    assert owner_alive(EngineId(host="elsewhere", pid=1, started=0).token)
