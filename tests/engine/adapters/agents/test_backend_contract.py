"""Behaviour every agent backend owes the engine, run over each real backend: the real
client (anthropic SDK, Claude Code, an ACP agent process, the Codex CLI) against a
scripted model (or a scripted ACP agent), in real worktrees."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from agentkit import acp_profile, codex_profile, deny_shell, with_profiles

from engine.adapters.process import run_processes
from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    HumanAsked,
    SteeringDelivered,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
)
from engine.domain.state import RunState
from engine.workspace import Workspace
from enginekit import git, running_engine, wait_for_state

BACKENDS = ["anthropic", "claude-code", "acp", "codex"]

#: A model that never answers its first request (within the test).
HANG = '[[turn]]\ndelay = 600\ntext = "never said"\n'


@pytest.fixture
def ws(workspace_root: Path) -> Workspace:
    return with_profiles(
        workspace_root,
        '\n[agents.anthropic]\nbackend = "anthropic"\n',
        '\n[agents.claude-code]\nbackend = "claude-code"\n'
        'env = { CLAUDE_CODE_MAX_RETRIES = "0" }\n',
        acp_profile("acp"),
        codex_profile("codex"),
    )


async def assert_no_process_left(run_id: str) -> None:
    """However the run ended, no process it started is alive (found by the mark every
    process of a run carries) within a few seconds."""
    deadline = asyncio.get_running_loop().time() + 10
    while left := run_processes(run_id):
        assert asyncio.get_running_loop().time() < deadline, f"still alive: {left}"
        await asyncio.sleep(0.1)


def processes_in(folder: Path) -> list[int]:
    """Pids whose working directory is inside ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == folder or folder in cwd.parents:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("backend", BACKENDS)
async def test_cancel_stops_the_agent_and_leaves_no_process(
    backend: str, ws: Workspace, tmp_path: Path
) -> None:
    script = tmp_path / "hang.toml"
    script.write_text(HANG)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "hang until cancelled", backend, str(script))
        await wait_for_state(engine, run.id, RunState.RUNNING, timeout=60)
        worktree = (ws.worktrees_dir / "app" / run.id).resolve()
        if backend != "anthropic":  # the others run in a process of their own: it is up
            deadline = asyncio.get_running_loop().time() + 30
            while not processes_in(worktree):
                assert asyncio.get_running_loop().time() < deadline, f"no {backend} process"
                await asyncio.sleep(0.1)
        cancelled = await engine.cancel(run.id)
        assert cancelled.state is RunState.CANCELLED
    deadline = asyncio.get_running_loop().time() + 10
    while processes_in(worktree):
        assert asyncio.get_running_loop().time() < deadline, processes_in(worktree)
        await asyncio.sleep(0.1)
    await assert_no_process_left(run.id)


#: Per backend, a model script (or, for acp, the scripted agent's prompt) that says
#: something, then makes a file in the worktree with the backend's own tool.
TASKS = {
    "anthropic": (
        '[[turn]]\ntext = "Writing the file."\n[[turn.tool_use]]\nname = "write_file"\n'
        'input = { path = "contract.txt", content = "made by the agent\\n" }\n'
        '[[turn]]\ntext = "Done."\n'
    ),
    "claude-code": (
        '[[turn]]\ntext = "Writing the file."\n[[turn.tool_use]]\nname = "Write"\n'
        'input = { file_path = "{cwd}/contract.txt", content = "made by the agent\\n" }\n'
        '[[turn]]\ntext = "Done."\n'
    ),
    "codex": (
        '[[turn]]\ntext = "Writing the file."\n[[turn.tool_use]]\nname = "exec_command"\n'
        "input = { cmd = \"printf 'made by the agent\\\\n' > contract.txt\" }\n"
        '[[turn]]\ntext = "Done."\n'
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_task_end_to_end(backend: str, ws: Workspace, tmp_path: Path) -> None:
    scenario = None
    if backend in TASKS:
        script = tmp_path / "task.toml"
        script.write_text(TASKS[backend])
        scenario = str(script)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "make contract.txt", backend, scenario)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run.id)
    await assert_no_process_left(run.id)

    # The change landed (committed on the run's branch).
    expected = "from acp\n" if backend == "acp" else "made by the agent\n"
    name = "notes.txt" if backend == "acp" else "contract.txt"
    assert git(ws.repo_path("app"), "show", f"{run.branch}:{name}") == expected
    # Text, tool call, tool result, turn end: each there, in that order.
    kinds = (AgentText, ToolCallRequested, ToolCallFinished, TurnFinished)
    firsts = [next(i for i, e in enumerate(events) if isinstance(e, kind)) for kind in kinds]
    assert firsts == sorted(firsts), [type(e).__name__ for e in events]
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))  # dense and ordered


#: The model takes a moment over its first reply (time to steer), then acknowledges.
STEERED = '[[turn]]\ndelay = 2.0\ntext = "Working."\n[[turn]]\ntext = "Got it."\n'


@pytest.mark.parametrize("backend", BACKENDS)
async def test_steering_reaches_the_agent(backend: str, ws: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "steered.toml"
    script.write_text(STEERED)
    async with running_engine(ws) as engine:
        # The acp scripted agent needs no model: its first prompt does its own work.
        scenario = None if backend == "acp" else str(script)
        run = await engine.submit("app", "work slowly, and listen", backend, scenario)
        await wait_for_state(engine, run.id, RunState.RUNNING, timeout=60)
        await engine.steer(run.id, "please also say thanks")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run.id)
        saved = await engine._store.load_agent_state(run.id)

    delivered = [i for i, e in enumerate(events) if isinstance(e, SteeringDelivered)]
    assert delivered, "no steering_delivered receipt"
    receipt = events[delivered[0]]
    assert isinstance(receipt, SteeringDelivered) and receipt.text == "please also say thanks"
    if backend == "anthropic":
        # Delivered at a turn start (which one depends on timing): it is in the saved
        # conversation, and the model replied after it.
        assert saved is not None
        messages = saved["messages"]
        where = next(
            i
            for i, m in enumerate(messages)
            if m["role"] == "user" and "please also say thanks" in json.dumps(m["content"])
        )
        assert any(m["role"] == "assistant" for m in messages[where:])
        return
    # The agent answered after the receipt: a reply only a steered conversation gets.
    after = [e.text for e in events[delivered[0] :] if isinstance(e, AgentText)]
    wanted = (
        "Noted: Message from the human: please also say thanks" if backend == "acp" else "Got it."
    )
    assert any(text.startswith(wanted) for text in after), after


#: Per backend, a model script that asks for a shell command the guard refuses, then
#: carries on. (acp: the scripted agent asks permission for ``rm -rf /`` on its own.)
REFUSED = {
    "anthropic": (
        '[[turn]]\ntext = "Running it."\n[[turn.tool_use]]\nname = "run_command"\n'
        'input = { command = "touch refused.txt", timeout = 10 }\n'
        '[[turn]]\ntext = "Understood."\n'
    ),
    "claude-code": (
        '[[turn]]\ntext = "Running it."\n[[turn.tool_use]]\nname = "Bash"\n'
        'input = { command = "touch refused.txt" }\n[[turn]]\ntext = "Understood."\n'
    ),
}


# codex is not here: `codex exec --json` asks for no approvals, so no guard sees its tool
# calls; its floor is Codex's own sandbox (test_codex_backend: a write outside refused).
@pytest.mark.parametrize("backend", ["anthropic", "claude-code", "acp"])
async def test_the_guard_refuses_a_tool_call(
    backend: str, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny_shell(monkeypatch, "no shell in the contract test")
    scenario = None
    if backend in REFUSED:
        script = tmp_path / "refused.toml"
        script.write_text(REFUSED[backend])
        scenario = str(script)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "run a command", backend, scenario)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error  # a refusal is not a failure
        events = await engine._store.events_for(run.id)

    shell = [e for e in events if isinstance(e, ToolCallRequested) and e.kind == "shell"]
    assert shell, [type(e).__name__ for e in events]
    finished = {e.call_id: e for e in events if isinstance(e, ToolCallFinished)}
    refused = finished[shell[0].call_id]
    assert refused.is_error
    if backend != "acp":  # ACP's permission answer carries no reason, only "rejected"
        assert "no shell in the contract test" in refused.output
    assert not (ws.worktrees_dir / "app" / run.id / "refused.txt").exists()
    # The agent went on after the refusal: it spoke again.
    after = [e for e in events if isinstance(e, AgentText) and e.seq > refused.seq]
    assert after, "the agent stopped at the refusal"


#: Per backend, a first reply that works (a tool call, so a second request follows) and a
#: second reply. While ``delay`` is set the second reply never comes in the test: the
#: engine is stopped then, and the run resumed with the delay gone.
RESUMED = {
    "anthropic": ('name = "write_file"\ninput = { path = "part1.txt", content = "one\\n" }\n'),
    "claude-code": (
        'name = "Write"\ninput = { file_path = "{cwd}/part1.txt", content = "one\\n" }\n'
    ),
    "codex": 'name = "exec_command"\ninput = { cmd = "printf \'one\\\\n\' > part1.txt" }\n',
}


def resumed_script(backend: str, delay: float) -> str:
    # The third turn says the same: Claude Code closes the exchange its interruption cut
    # short with an assistant message of its own ("No response requested."), so its
    # resumed conversation holds two replies.
    return (
        f'[[turn]]\ntext = "First part."\n[[turn.tool_use]]\n{RESUMED[backend]}'
        f'[[turn]]\ndelay = {delay}\ntext = "Second part."\n'
        '[[turn]]\ntext = "Second part."\n'
    )


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_interrupted_run_resumes_where_it_stopped(
    backend: str, ws: Workspace, tmp_path: Path
) -> None:
    script = tmp_path / "resumed.toml"
    scenario = None
    task = "hang on the first prompt"  # acp: the scripted agent never answers it
    if backend in RESUMED:
        script.write_text(resumed_script(backend, delay=600))
        scenario, task = str(script), "write part one, then part two"
    async with running_engine(ws) as engine:
        run = await engine.submit("app", task, backend, scenario)
        await wait_for_state(engine, run.id, RunState.RUNNING, timeout=60)
        deadline = asyncio.get_running_loop().time() + 90

        async def progressed() -> bool:
            if backend == "acp":  # its session is open (its text is held until the turn ends)
                return bool(await engine._store.load_agent_state(run.id))
            events = await engine._store.events_for(run.id)
            return any(isinstance(e, ToolCallFinished) for e in events)

        while not await progressed():
            assert asyncio.get_running_loop().time() < deadline, "the first part never came"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # the agent is now waiting on its second reply
    if backend in RESUMED:
        script.write_text(resumed_script(backend, delay=0))
    async with running_engine(ws) as engine:
        stopped = await wait_for_state(engine, run.id, RunState.INTERRUPTED, timeout=30)
        before = len(await engine._store.events_for(run.id))
        await engine.resume(stopped.id)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        assert run.state is RunState.FINISHED, run.error
        events = (await engine._store.events_for(run.id))[before:]

    said = " ".join(e.text for e in events if isinstance(e, AgentText))
    if backend == "acp":
        # Only a loaded session answers "Noted:"; a new one would start "Working on:".
        assert "Noted: Continue the task where you left off." in said, said
        return
    # The resumed agent sent its conversation so far (one reply in it): the model went on
    # with the second part and was not asked to start over.
    assert "Second part." in said and "First part." not in said, said
    assert git(ws.repo_path("app"), "show", f"{run.branch}:part1.txt") == "one\n"


#: Per process backend: what makes the real client die at once, and a line of what it
#: says on stderr then. (anthropic runs in the engine's process: no stderr of its own.)
CRASHES = {
    "claude-code": ('args = ["--no-such-flag"]\n', "no-such-flag"),
    "codex": ('args = ["--no-such-flag"]\n', "no-such-flag"),
    "acp": ("", "the disk is on fire"),
}


@pytest.mark.parametrize("backend", list(CRASHES))
async def test_a_crashed_agent_fails_the_run_with_its_stderr_kept(
    backend: str, workspace_root: Path, tmp_path: Path
) -> None:
    extra, said = CRASHES[backend]
    scenario = None
    if backend in TASKS:  # a scripted model (never reached: the client dies first)
        script = tmp_path / "task.toml"
        script.write_text(TASKS[backend])
        scenario = str(script)
    tables = {
        "claude-code": '\n[agents.broken]\nbackend = "claude-code"\n',
        "codex": codex_profile("broken"),
        "acp": acp_profile("broken"),
    }
    ws = with_profiles(workspace_root, tables[backend] + extra)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "crash now", "broken", scenario)
        run = await wait_for_state(engine, run.id, RunState.FAILED, RunState.FINISHED, timeout=60)
        events = await engine._store.events_for(run.id)
    assert run.state is RunState.FAILED
    await assert_no_process_left(run.id)
    errors = [e for e in events if isinstance(e, ErrorOccurred)]
    assert errors and errors[-1].detail and said in errors[-1].detail, errors


async def test_a_hung_agent_fails_with_its_stderr_kept(workspace_root: Path) -> None:
    # The silence is counted from the agent's start: on a busy machine the scripted agent
    # took more than 1.5 s to import its libraries and say it hangs, so it was stopped
    # before it had anything on stderr to keep; with three test workers beside it, it
    # took more than 4 s: 8 s of silence are asked for.
    ws = with_profiles(workspace_root, acp_profile("slow") + "idle_timeout = 8\n")
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "hang forever", "slow")
        run = await wait_for_state(engine, run.id, RunState.FAILED, timeout=60)
        events = await engine._store.events_for(run.id)
    assert "idle_timeout" in (run.error or "")
    await assert_no_process_left(run.id)
    error = next(e for e in events if isinstance(e, ErrorOccurred))
    assert error.detail and "a model that never answers" in error.detail


#: A command the default policy refuses (writing outside the worktree), as each
#: model-backed client would ask to run it.
ESCAPE = {
    "anthropic": (
        '[[turn]]\ntext = "Leaving a note outside."\n[[turn.tool_use]]\nname = "run_command"\n'
        'input = { command = "cd .. && touch escaped.txt", timeout = 10 }\n'
        '[[turn]]\ntext = "Understood."\n'
    ),
    "claude-code": (
        '[[turn]]\ntext = "Leaving a note outside."\n[[turn.tool_use]]\nname = "Bash"\n'
        'input = { command = "cd .. && touch escaped.txt" }\n[[turn]]\ntext = "Understood."\n'
    ),
}


@pytest.mark.parametrize("backend", list(ESCAPE))
async def test_the_default_policy_refuses_a_write_outside_the_worktree(
    backend: str, ws: Workspace, tmp_path: Path
) -> None:
    script = tmp_path / "escape.toml"
    script.write_text(ESCAPE[backend])
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "leave a note", backend, str(script))
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        events = await engine._store.events_for(run.id)
        ledger = await engine._store.guard_ledger(run.id)
        counts = await engine._store.guard_counts()
    assert run.state is RunState.FINISHED, run.error
    assert not (ws.worktrees_dir / "app" / "escaped.txt").exists()  # never ran
    # The ledger keeps the decision as evidence.
    assert [(r.rule, r.decision, r.outcome, r.action) for r in ledger] == [
        ("write-outside-worktree", "deny", "refused", "cd .. && touch escaped.txt")
    ]
    assert counts["write-outside-worktree"]["refused"] >= 1
    refused = next(e for e in events if isinstance(e, ToolCallFinished) and e.is_error)
    assert "write-outside-worktree" in refused.output and "outside the worktree" in refused.output


#: The model asks to run a command a workspace rule says to ask the human about.
ASKED = {
    "anthropic": (
        '[[turn]]\ntext = "Touching."\n[[turn.tool_use]]\nname = "run_command"\n'
        'input = { command = "touch asked.txt", timeout = 10 }\n[[turn]]\ntext = "Done."\n'
    ),
    "claude-code": (
        '[[turn]]\ntext = "Touching."\n[[turn.tool_use]]\nname = "Bash"\n'
        'input = { command = "touch asked.txt" }\n[[turn]]\ntext = "Done."\n'
    ),
}
ASK_RULE = (
    '\n[[guard.rules]]\nname = "ask-touch"\ndecision = "ask"\ncommand = "^touch "\n'
    'reason = "touching files needs a yes"\n'
)


@pytest.mark.parametrize("answer", ["yes", "no, not that"])
@pytest.mark.parametrize("backend", list(ASKED))
async def test_an_ask_waits_for_the_human_and_follows_the_answer(
    backend: str, answer: str, workspace_root: Path, tmp_path: Path
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text() + ASK_RULE)
    ws = with_profiles(
        workspace_root,
        '\n[agents.anthropic]\nbackend = "anthropic"\n',
        '\n[agents.claude-code]\nbackend = "claude-code"\nenv = { CLAUDE_CODE_MAX_RETRIES = "0" }\n',
    )
    script = tmp_path / "asked.toml"
    script.write_text(ASKED[backend])
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "touch a file", backend, str(script))
        waiting = await wait_for_state(engine, run.id, RunState.WAITING_FOR_HUMAN, timeout=120)
        events = await engine._store.events_for(run.id)
        question = [e for e in events if isinstance(e, HumanAsked)][-1].question
        assert "touch asked.txt" in question and "touching files needs a yes" in question
        await engine.steer(waiting.id, answer)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        ledger = await engine._store.guard_ledger(run.id)
    assert run.state is RunState.FINISHED, run.error
    made = (ws.worktrees_dir / "app" / run.id / "asked.txt").exists()
    assert made is (answer == "yes")
    outcome = "allowed" if answer == "yes" else "refused"
    assert [(r.rule, r.decision, r.outcome) for r in ledger] == [("ask-touch", "ask", outcome)]


#: A command that outlives its shell, for as long as the run is allowed.
LINGER = {
    "anthropic": (
        '[[turn]]\ntext = "Working."\n[[turn.tool_use]]\nname = "run_command"\n'
        'input = { command = "sleep 300 & sleep 300", timeout = 600 }\n[[turn]]\ntext = "Done."\n'
    ),
    "claude-code": HANG,
    "acp": None,
    "codex": HANG,
}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_run_that_times_out_leaves_no_process(
    backend: str, workspace_root: Path, tmp_path: Path
) -> None:
    config = workspace_root / "cockpit.toml"
    config.write_text(config.read_text().replace('run_timeout = "2m"', 'run_timeout = "6s"'))
    ws = with_profiles(
        workspace_root,
        '\n[agents.anthropic]\nbackend = "anthropic"\n',
        '\n[agents.claude-code]\nbackend = "claude-code"\n',
        acp_profile("acp"),
        codex_profile("codex"),
    )
    scenario = None
    linger = LINGER[backend]
    if linger is not None:
        script = tmp_path / "linger.toml"
        script.write_text(linger)
        scenario = str(script)
    task = "hang" if backend == "acp" else "take your time"
    async with running_engine(ws) as engine:
        run = await engine.submit("app", task, backend, scenario)
        run = await wait_for_state(engine, run.id, RunState.FAILED, RunState.FINISHED, timeout=60)
    assert run.state is RunState.FAILED and "timed out" in (run.error or ""), run.error
    await assert_no_process_left(run.id)
