"""The demo's scripted agent improvises: a task typed with no scenario becomes a plausible
run (a module read, a function added, a note written, a command run, a report), made up
from the task and the repo, the same every time, and resumable after a kill."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builders import alive
from engine.adapters.agents.improvise import improvise
from engine.adapters.agents.scenario import Scenario
from engine.bootstrap import open_engine
from engine.demo import build_demo_workspace
from engine.domain.errors import BadInput
from engine.domain.events import AgentText, GateDecided, ToolCallFinished, WorkCommitted
from engine.domain.state import RunState
from engine.services.engine import EngineOptions
from engine.workspace import Workspace, open_workspace
from enginekit import git

COCKPIT = [sys.executable, "-m", "cockpit"]

#: What a newcomer types first, one per demo repo; the last has quotes and a backslash
#: that must not break the code written.
TYPED = {
    "api": "add a /health endpoint",
    "cli": "add a --quiet flag",
    "shared": 'handle "quoted" words and back\\slashes in slug()',
}


def functions(source: str) -> list[str]:
    """The top-level functions a module defines."""
    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


def demo(tmp_path: Path) -> Workspace:
    return open_workspace(build_demo_workspace(tmp_path / "demo"))


async def test_a_typed_task_runs_on_every_demo_repo_and_passes_its_gates(tmp_path: Path):
    ws = demo(tmp_path)
    async with open_engine(ws, EngineOptions(only=frozenset(), poll_interval=0.05)) as engine:
        runs = {repo: await engine.submit(repo, task) for repo, task in TYPED.items()}
        await engine.run()
        finals = {repo: await engine.resolve_run(run.id) for repo, run in runs.items()}
        events = {repo: await engine._store.events_for(run.id) for repo, run in runs.items()}

    for repo, run in finals.items():
        assert run.state is RunState.FINISHED, (repo, run.error)
        assert run.agent == "scripted" and run.scenario is None
        assert run.turns_completed == 5, repo
        repo_path = ws.repo_path(repo)
        changed = git(repo_path, "diff", "--name-status", f"{run.base_sha}..{run.branch}")
        lines = sorted(changed.splitlines())
        # One module of the repo's own gained a function; a note was added.
        assert len(lines) == 2, (repo, changed)
        assert lines[0].startswith("A\tnotes/") and lines[0].endswith(".md"), changed
        status, module = lines[1].split("\t")
        assert status == "M" and module.startswith(f"{repo}/") and module.endswith(".py")
        before = git(repo_path, "show", f"{run.base_sha}:{module}")
        after = git(repo_path, "show", f"{run.branch}:{module}")
        numstat = git(repo_path, "diff", "--numstat", f"{run.base_sha}..{run.branch}", "--", module)
        assert numstat.split()[1] == "0", (repo, numstat)  # lines added, none lost
        assert len(set(functions(after)) - set(functions(before))) == 1, after

        kinds = [type(e) for e in events[repo]]
        assert WorkCommitted in kinds
        commands = [e for e in events[repo] if isinstance(e, ToolCallFinished)]
        ran = [c for c in commands if c.tool == "run_command"]
        assert [c.exit_code for c in ran] == [0, 0], ran
        assert f"{module} parses" in ran[-1].output
        assert not any(c.is_error for c in commands), commands
        report = [e.text for e in events[repo] if isinstance(e, AgentText)][-1]
        assert report.startswith("Done:") and module in report and "notes/" in report

        # The code written passes the repo's ruff gates (api: lint; cli: the defaults,
        # lint and format; shared: advisory lint), judged for real every turn.
        verdicts = [e for e in events[repo] if isinstance(e, GateDecided) and e.status != "running"]
        names = {v.name for v in verdicts}
        assert names >= ({"lint", "format"} if repo == "cli" else {"lint"}), (repo, names)
        assert all(v.status == "passed" for v in verdicts), [
            (v.name, v.turn, v.status, v.findings, v.detail) for v in verdicts
        ]

    api = finals["api"]
    app = git(ws.repo_path("api"), "show", f"{api.branch}:api/app.py")
    assert "def health_endpoint() -> dict:" in app and "def login(" in app
    note = git(ws.repo_path("api"), "show", f"{api.branch}:notes/health-endpoint.md")
    assert "Task: add a /health endpoint" in note and "`health_endpoint()`" in note


def test_the_same_task_makes_the_same_run(tmp_path: Path):
    ws = demo(tmp_path)
    api = ws.repo_path("api")
    first = improvise("add a /health endpoint", api).model_dump()
    assert improvise("add a /health endpoint", api).model_dump() == first
    other = improvise("add a /metrics endpoint", api).model_dump()
    assert other != first
    edit = next(s["edit"] for s in other["step"] if s.get("edit"))
    assert "def metrics_endpoint()" in edit["new"]


def perform_edits(scenario: Scenario, tree: Path) -> None:
    """Apply a scenario's edits and writes the way the scripted backend does."""
    for step in scenario.step:
        if step.edit:
            target = tree / step.edit.path
            text = target.read_text()
            assert step.edit.old in text
            target.write_text(text.replace(step.edit.old, step.edit.new, 1))
        if step.write:
            (tree / step.write.path).parent.mkdir(parents=True, exist_ok=True)
            (tree / step.write.path).write_text(step.write.content)


def test_the_module_picked_is_the_one_the_task_is_about(tmp_path: Path):
    tree = tmp_path / "repo"
    files = {
        "billing/invoice.py": "def total(lines):\n    return sum(lines)\n",
        "users/profile.py": "def name(user):\n    return user.name\n",
        "tests/test_invoice.py": "def test_invoice():\n    pass\n",
        "billing/__init__.py": "",
    }
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    scenario = improvise("send the invoice by email", tree)
    edits = [s.edit for s in scenario.step if s.edit]
    assert [e.path for e in edits] == ["billing/invoice.py"]
    perform_edits(scenario, tree)
    text = (tree / "billing/invoice.py").read_text()
    assert text.startswith(files["billing/invoice.py"])
    assert "def send_invoice_email() -> dict:" in text
    ast.parse(text)


@pytest.mark.parametrize(
    ("original", "where"),
    [
        # A main guard: the function goes before it.
        (
            'import sys\n\n\ndef main():\n    return 0\n\n\nif __name__ == "__main__":\n'
            "    sys.exit(main())\n",
            "before-main",
        ),
        # The last line also appears earlier: the edit must still land at the end.
        ("def a():\n    return 0\n\n\ndef b():\n    return 0\n", "end"),
        # No newline at the end, trailing blank lines elsewhere.
        ("X = 1\n\n\n\nY = 2", "end"),
    ],
)
def test_the_function_is_added_where_it_belongs(tmp_path: Path, original: str, where: str):
    tree = tmp_path / "repo"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "mod.py").write_text(original)
    perform_edits(improvise("add a retry helper", tree), tree)
    text = (tree / "pkg" / "mod.py").read_text()
    ast.parse(text)
    assert text.count("def retry_helper()") == 1
    if where == "before-main":
        assert text.index("def retry_helper()") < text.index("if __name__")
        assert text.endswith("    sys.exit(main())\n")
    else:
        assert text.startswith(original.rstrip()) and text.endswith('"started"}\n')
    # Two blank lines around the new top-level function, as ruff and black want.
    assert "\n\n\ndef retry_helper()" in text


def test_a_name_the_module_has_gets_a_suffix_and_a_repo_without_python_gets_a_note(
    tmp_path: Path,
):
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "app.py").write_text("def health_endpoint():\n    return 1\n")
    edit = next(s.edit for s in improvise("add a /health endpoint", tree).step if s.edit)
    assert "def health_endpoint_2()" in edit.new

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "README.md").write_text("# docs\n")
    scenario = improvise("explain the release process", docs)
    assert not any(s.edit for s in scenario.step)
    writes = [s.write.path for s in scenario.step if s.write]
    assert writes == ["notes/explain-release-process.md"]
    runs = [s.run.command for s in scenario.step if s.run]
    assert runs == ["head -n 60 README.md", "wc -l notes/explain-release-process.md"]


async def test_without_improvise_a_scenario_is_still_required(tmp_path: Path):
    ws = demo(tmp_path)
    config = ws.root / "cockpit.toml"
    config.write_text(config.read_text().replace("improvise = true\n", ""))
    async with open_engine(open_workspace(ws.root), listen=False) as engine:
        with pytest.raises(BadInput, match=r"needs a scenario.*improvise = true"):
            await engine.submit("api", "add a /health endpoint")


#: A rule making the improvised run wait on the human at its check command (turn 4).
ASK_PYTHON = """
[[guard.rules]]
name = "ask-python"
decision = "ask"
tool = "shell"
command = "^python3 -c"
"""


def cockpit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COCKPIT, "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def engine_pid(root: Path) -> int | None:
    """The pid of the workspace's detached engine, None when none runs."""
    status = json.loads(cockpit(root, "engine", "status", "--json").stdout)
    return status["pid"] if status["engine"] else None


def show(root: Path, run_id: str) -> dict:
    done = cockpit(root, "show", run_id, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.timeout(240)
def test_an_improvised_run_resumes_after_kill_9_with_the_same_steps(tmp_path: Path):
    root = build_demo_workspace(tmp_path / "demo")
    config = root / "cockpit.toml"
    plain = config.read_text()
    config.write_text(plain + ASK_PYTHON)
    task = "add a /health endpoint"
    proc = subprocess.Popen(
        [*COCKPIT, "--workspace", str(root), "run", "api", task, "--wait"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:  # ends at EOF if the run never waits (then the assert fails)
        seen.append(line)
        if "waiting_for_human" in line:
            break
    assert any("waiting_for_human" in line for line in seen), seen
    run_id = seen[0].split()[1]
    # The run executes in the workspace's engine, which the command started: kill that.
    engine = engine_pid(root)
    assert engine is not None and engine != proc.pid
    os.kill(engine, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(engine):
        assert time.monotonic() < deadline, "the engine outlived kill -9"
        time.sleep(0.02)
    # The command following the run ends by itself with its engine.
    proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert engine_pid(root) is None

    runs = cockpit(root, "runs", "--json")
    assert runs.returncode == 0, runs.stderr
    (killed,) = json.loads(runs.stdout)
    assert killed["id"] == run_id and killed["state"] == "interrupted", killed
    assert killed["turns_completed"] == 3
    worktree = Path(killed["worktree"])
    assert (worktree / "notes" / "health-endpoint.md").is_file()
    assert (worktree / "api" / "app.py").read_text().count("def health_endpoint(") == 1

    # Resumed without the rule: the worktree it finds has changed, yet it carries on
    # with the steps it made up at first (a plan made again would pick new names).
    config.write_text(plain)
    done = cockpit(root, "resume", run_id, "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    final = show(root, run_id)
    assert final["state"] == "finished" and final["turns_completed"] == 5, final
    repo = root / "repos" / "api"
    changed = git(repo, "diff", "--name-only", f"{final['base_sha']}..{final['branch']}").split()
    assert sorted(changed) == ["api/app.py", "notes/health-endpoint.md"]
    app = git(repo, "show", f"{final['branch']}:api/app.py")
    assert app.count("def health_endpoint(") == 1 and "health_endpoint_2" not in app
    events = cockpit(root, "show", run_id, "--events", "--json")
    checks = [
        e
        for e in json.loads(events.stdout)["events"]
        if e["type"] == "tool_call_finished" and e["tool"] == "run_command"
    ]
    assert checks[-1]["exit_code"] == 0 and "api/app.py parses" in checks[-1]["output"]
    assert [e["text"] for e in json.loads(events.stdout)["events"] if e["type"] == "agent_text"][
        -1
    ].startswith("Done: health_endpoint() is in api/app.py")
