"""Liveness of an engine process, as orphan recovery sees it."""

import os
import subprocess
import time

from engine.domain.models import EngineId
from engine.services.recovery import HOST, owner_alive, process_alive


def test_a_killed_but_unreaped_process_is_dead():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert process_alive(child.pid)
        child.kill()
        time.sleep(0.2)  # not reaped yet: it is a zombie, and kill(pid, 0) still succeeds
        assert not process_alive(child.pid)
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
