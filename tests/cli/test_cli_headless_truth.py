"""Headless output says what happened: ``run --wait`` and ``show --events`` name a gate's
verdict and findings; a question prints the command that answers it; an answer sent
while the run was interrupted answers the question asked again after ``resume``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from clikit import COCKPIT, cockpit, cockpit_json, wait_run

TODO_GATE = """
[[repos.app.gates]]
name = "todo"
kind = "command"
command = "grep -rn TODO --include=*.py . ; test $? -eq 1"
pattern = '^\\./(?P<path>[^:]+):(?P<line>\\d+):(?P<message>.*)$'
blocking = false
"""


def test_gate_verdicts_are_lines_with_their_findings(workspace_root: Path, write_scenario):
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + TODO_GATE)
    path = write_scenario(
        '[[step]]\nwrite = { path = "made.py", content = "# TODO: tidy\\n" }\n'
        '[[step]]\nwrite = { path = "more.py", content = "# TODO: one\\n# TODO: two\\n" }\n'
    )
    done = cockpit("run", "app", "make todos", "--scenario", path, "--wait", cwd=workspace_root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gate_decided" not in done.stdout
    assert "gate todo: failed, 1 finding (first: made.py:1:" in done.stdout
    assert "gate todo: failed, 3 findings (first: " in done.stdout

    run_id = cockpit_json("runs", cwd=workspace_root)[0]["id"]
    shown = cockpit("show", run_id, "--events", cwd=workspace_root)
    assert "gate_decided" not in shown.stdout
    assert "gate todo: failed, 1 finding (first: made.py:1:" in shown.stdout


def test_a_question_prints_the_steer_command(workspace_root: Path, write_scenario):
    path = write_scenario('[[step]]\nask = "tests too?"\n[[step]]\nsay = "ok"\n')
    proc = subprocess.Popen(
        [*COCKPIT, "run", "app", "ask", "--scenario", path, "--wait"],
        cwd=workspace_root,
        stdin=subprocess.DEVNULL,  # not a terminal: the line is the way to answer
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        hint = ""
        for line in proc.stdout:
            if "answer with:" in line:
                hint = line
                break
        runs = cockpit_json("runs", cwd=workspace_root)
        run_id = runs[0]["id"]
        assert f'answer with: cockpit steer {run_id} "YOUR ANSWER"' in hint
        steer = cockpit("steer", run_id, "yes please", cwd=workspace_root)
        assert steer.returncode == 0, steer.stderr
        rest = proc.stdout.read()  # the run goes on to its end
        assert proc.wait(timeout=30) == 0, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Thanks — you said: yes please" in rest
    assert f"run {run_id} finished" in rest


def test_an_answer_sent_while_interrupted_answers_the_question(
    workspace_root: Path, write_scenario
):
    path = write_scenario(
        '[[step]]\nsay = "hello"\n[[step]]\nask = "which colour?"\n[[step]]\nsay = "done"\n'
    )
    proc = subprocess.Popen(
        [*COCKPIT, "run", "app", "ask then die", "--scenario", path, "--wait"],
        cwd=workspace_root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "state → waiting_for_human" in line or not line:
            break
    assert any("waiting_for_human" in line for line in seen), seen
    # The run is the engine's: killing it (not the command following it) interrupts it.
    engine = cockpit_json("engine", "status", "--json", cwd=workspace_root)
    os.kill(engine["pid"], signal.SIGKILL)
    proc.wait(30)

    run_id = cockpit_json("runs", cwd=workspace_root)[0]["id"]
    wait_run(workspace_root, run_id, "interrupted")
    steer = cockpit("steer", run_id, "blue", cwd=workspace_root)
    assert steer.returncode == 0, steer.stderr
    done = cockpit("resume", run_id, "--wait", cwd=workspace_root, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Thanks — you said: blue" in done.stdout
    assert "Noted: blue" not in done.stdout
    # The earlier execution's events come first; the replayed turn does not ask again.
    assert done.stdout.count("asks you: which colour?") == 1
    final = cockpit_json("show", run_id, cwd=workspace_root)
    assert final["state"] == "finished" and final["turns_completed"] == 3


def test_on_a_terminal_the_answer_is_typed_in(workspace_root: Path, write_scenario):
    import pty

    path = write_scenario('[[step]]\nask = "tests too?"\n[[step]]\nsay = "ok"\n')
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*COCKPIT, "run", "app", "ask", "--scenario", path, "--wait"],
        cwd=workspace_root,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    os.close(slave)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if "type the answer here" in line:
                break
        os.write(master, b"green\n")
        rest = proc.stdout.read()
        assert proc.wait(timeout=30) == 0, rest
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Thanks — you said: green" in rest
