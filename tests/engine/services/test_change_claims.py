"""Issue 23: a run whose agent reported changes but whose worktree has none says so."""

from __future__ import annotations

import pytest

from engine.domain.events import ErrorOccurred, FileChanged, ToolCallFinished, ToolCallRequested
from engine.domain.state import RunState
from engine.services.claims import NO_CHANGES, ChangeClaims
from engine.workspace import Workspace
from enginekit import running_engine, wait_for_state

WRITE_THEN_REMOVE = """
[[step]]
write = { path = "hello.txt", content = "hi\\n" }
[[step]]
run = { command = "rm hello.txt" }
"""
SCRATCH = """
[[step]]
write = { path = "scratch.txt", content = "tmp\\n" }
[[step]]
delete = "scratch.txt"
"""
SAYS_ONLY = '[[step]]\nsay = "Nothing to do here."\n'
WRITES = '[[step]]\nwrite = { path = "hello.txt", content = "hi\\n" }\n'


async def _errors(workspace: Workspace, scenario, text: str) -> list[ErrorOccurred]:
    async with running_engine(workspace) as engine:
        run = await engine.submit("app", "task", "scripted", scenario(text))
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED)
        assert run.state is RunState.FINISHED, run.error
        events = await engine._store.events_for(run.id)
    return [e for e in events if isinstance(e, ErrorOccurred)]


async def test_reported_changes_with_an_empty_worktree_are_flagged(
    workspace: Workspace, scenario
) -> None:
    (error,) = await _errors(workspace, scenario, WRITE_THEN_REMOVE)
    assert error.message == NO_CHANGES
    assert error.detail == "reported changed: hello.txt"


@pytest.mark.parametrize("text", [SCRATCH, SAYS_ONLY, WRITES], ids=["scratch", "says", "writes"])
async def test_no_false_alarm(workspace: Workspace, scenario, text: str) -> None:
    assert await _errors(workspace, scenario, text) == []


def _call(call_id: str, kind: str, path: str) -> ToolCallRequested:
    return ToolCallRequested(
        run_id="r", call_id=call_id, tool=kind, kind=kind, arguments={"path": path}
    )


def test_claims_come_from_successful_writes_and_file_changes_only() -> None:
    claims = ChangeClaims()
    claims.see(_call("1", "write", "a.txt"))
    claims.see(ToolCallFinished(run_id="r", call_id="1", tool="write", is_error=True))
    claims.see(_call("2", "shell", "b.txt"))
    claims.see(ToolCallFinished(run_id="r", call_id="2", tool="shell"))
    assert claims.paths == []  # a failed write, a command: no claim
    claims.see(_call("3", "edit", "c.txt"))
    claims.see(ToolCallFinished(run_id="r", call_id="3", tool="edit"))
    claims.see(FileChanged(run_id="r", path="d.txt", change="modified"))
    assert claims.paths == ["c.txt", "d.txt"]


def test_a_file_added_and_deleted_again_is_no_claim() -> None:
    claims = ChangeClaims()
    claims.see(FileChanged(run_id="r", path="tmp.txt", change="added"))
    claims.see(FileChanged(run_id="r", path="tmp.txt", change="deleted"))
    claims.see(FileChanged(run_id="r", path="old.txt", change="deleted"))
    assert claims.paths == ["old.txt"]
