"""Gates on a run: every turn judged on its snapshot, verdicts bound to that tree,
failing blocking gates sent back to the agent (the fix loop), then the human."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.domain.events import (
    AgentText,
    GateDecided,
    HumanAsked,
    SteeringDelivered,
    TurnFinished,
    WorkCommitted,
)
from engine.domain.state import RunState
from engine.workspace import Workspace, open_workspace
from enginekit import running_engine, wait_for_state

APP = '[repos.app]\npath = "../repos/app"\nbase = "main"\n'
LINT = '\n[[repos.app.gates]]\nname = "lint"\nkind = "ruff"\n'
#: Turn 1 leaves an unused import; turn 2 (after the fix request) removes it.
FIXING = (
    '[[step]]\nwrite = { path = "bad.py", content = "import os\\n" }\n'
    '[[step]]\nwrite = { path = "bad.py", content = "X = 1\\n" }\n'
)


def configure(workspace_root: Path, fix_rounds: int, gates: str = LINT) -> Workspace:
    config = workspace_root / "cockpit.toml"
    text = config.read_text().replace(APP, APP + f"fix_rounds = {fix_rounds}\n")
    config.write_text(text + gates)
    return open_workspace(workspace_root)


async def test_the_fix_loop_sends_findings_back_and_the_gate_then_passes(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    ws = configure(workspace_root, fix_rounds=2)
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "add bad.py", "scripted", scenario(FIXING))
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
        events = await engine._store.events_for(run.id)
    assert run.state is RunState.FINISHED, run.error
    turns = {e.turn: e.sha for e in events if isinstance(e, TurnFinished)}
    decided = [e for e in events if isinstance(e, GateDecided)]
    # Each gate is shown running, then its verdict.
    assert [(v.turn, v.status) for v in decided] == [
        (1, "running"),
        (1, "failed"),
        (2, "running"),
        (2, "passed"),
    ]
    verdicts = [v for v in decided if v.status != "running"]
    # Each verdict is bound to the snapshot of the turn it judged.
    assert [v.tree for v in verdicts] == [turns[1], turns[2]]
    assert [(f["path"], f["line"], f["code"]) for f in verdicts[0].findings] == [
        ("bad.py", 1, "F401")
    ]
    # The findings reached the agent as steering before its second turn.
    request = next(e for e in events if isinstance(e, SteeringDelivered))
    assert "fix round 1 of 2" in request.text and "bad.py:1: F401" in request.text
    noted = next(e for e in events if isinstance(e, AgentText) and e.text.startswith("Noted:"))
    assert events.index(request) < events.index(noted) < events.index(verdicts[1])


async def test_after_the_last_fix_round_the_run_waits_for_the_human(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    ws = configure(workspace_root, fix_rounds=1)
    stubborn = '[[step]]\nwrite = { path = "bad.py", content = "import os\\n" }\n' * 2
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "add bad.py", "scripted", scenario(stubborn))
        run = await wait_for_state(engine, run.id, RunState.WAITING_FOR_HUMAN, timeout=60)
        asked = [e for e in await engine._store.events_for(run.id) if isinstance(e, HumanAsked)]
        assert "still fail after 1 fix round(s): lint" in asked[-1].question
        await engine.steer(run.id, "leave it, I will fix it myself")
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
    assert run.state is RunState.FINISHED, run.error


async def test_finish_gates_judge_the_final_commit_and_advisory_ones_do_not_steer(
    workspace_root: Path, scenario: Callable[..., str]
) -> None:
    gates = (
        '\n[[repos.app.gates]]\nname = "lint"\nkind = "ruff"\nblocking = false\n'
        '\n[[repos.app.gates]]\nname = "format"\nkind = "ruff-format"\nwhen = "finish"\n'
    )
    ws = configure(workspace_root, fix_rounds=2, gates=gates)
    path = scenario('[[step]]\nwrite = { path = "bad.py", content = "import os\\n" }\n')
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "add bad.py", "scripted", path)
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=60)
        events = await engine._store.events_for(run.id)
    assert run.state is RunState.FINISHED, run.error
    verdicts = {e.name: e for e in events if isinstance(e, GateDecided) and e.status != "running"}
    assert verdicts["lint"].status == "failed" and not verdicts["lint"].blocking
    assert not any(isinstance(e, SteeringDelivered) for e in events)  # advisory: no fix loop
    commit = next(e for e in events if isinstance(e, WorkCommitted))
    assert (verdicts["format"].status, verdicts["format"].tree) == ("passed", commit.sha)
    assert verdicts["format"].turn is None


def test_a_pyproject_calls_for_default_gates_unless_gates_are_written(tmp_path: Path) -> None:
    from engine.config import RepoConfig
    from engine.services.gates import repo_gates

    checkout = tmp_path / "repo"
    checkout.mkdir()
    unset = RepoConfig(path="repo")
    assert repo_gates(unset, checkout) == []  # no pyproject: nothing assumed
    (checkout / "pyproject.toml").write_text(
        "[tool.ruff]\nline-length = 100\n[tool.ty]\n[tool.pytest.ini_options]\naddopts = '-q'\n"
    )
    defaults = repo_gates(unset, checkout)
    assert [(g.name, g.kind, g.when) for g in defaults] == [
        ("lint", "ruff", "turn"),
        ("format", "ruff-format", "turn"),
        ("types", "ty", "turn"),
        ("tests", "pytest", "finish"),
    ]
    assert repo_gates(RepoConfig(path="repo", gates=[]), checkout) == []  # opted out


async def test_an_adapter_that_raises_is_that_gates_error_not_the_runs(tmp_path: Path) -> None:
    from engine.domain.gates import GateStatus
    from engine.ports.gate import GateSpec
    from engine.services.gates import check_tree

    class Broken:
        kind = "ruff"

        async def check(self, spec: GateSpec, tree: Path):
            raise KeyError("surprise")

    [result] = await check_tree({"ruff": Broken()}, [GateSpec("lint", "ruff")], tmp_path)
    assert result.status is GateStatus.ERROR
    assert "internal error in the ruff gate: KeyError" in result.detail
