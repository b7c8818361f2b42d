"""A run's skills reach the model: in the built-in harness's system prompt, and appended
to Claude Code's; unknown or malformed skills refuse the submission (exit 2)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agentkit import CODEX, acp_profile, with_profiles

from engine.adapters.modelserver import ModelServer, parse_model_script
from engine.bootstrap import open_engine
from engine.domain.errors import BadInput
from engine.domain.events import AgentText, SkillsLoaded
from engine.domain.state import RunState
from engine.workspace import Workspace
from enginekit import git, running_engine, wait_for_state

KEY_ENV = "COCKPIT_TEST_SKILLS_KEY"


def write_skill(folder: Path, name: str, text: str) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "SKILL.md").write_text(text)


@pytest.fixture
async def server() -> AsyncIterator[ModelServer]:
    async with ModelServer(parse_model_script({"turn": [{"text": "Done."}]})) as server:
        yield server


@pytest.fixture
def ws(workspace_root: Path, server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-real-key")
    skills = workspace_root / "skills"
    write_skill(
        skills,
        "release",
        "---\nname: release\ndescription: How releases are cut here.\nrequires: [changelog]\n"
        "---\nTag releases as vYYYY.MM, never by hand.\n",
    )
    write_skill(
        skills,
        "changelog",
        "---\nname: changelog\ndescription: Keep the changelog.\n---\nEvery change gets a line.\n",
    )
    # The repo's own skill, in Claude Code's folder, applying to this repo by name.
    repo = workspace_root.parent / "repos" / "app"
    write_skill(
        repo / ".claude" / "skills",
        "house-style",
        "---\nname: house-style\ndescription: Our style.\napplies_to: [app]\n---\n"
        "Functions are short.\n",
    )
    # The repo's instruction files: implicit skills of every run on it.
    (repo / "AGENTS.md").write_text("Agents: run the linter before you finish.\n")
    (repo / "CLAUDE.md").write_text("Claude: prefer small commits.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "skills")
    tables = "".join(
        f'\n[agents.{backend}]\nbackend = "{backend}"\nmodel = "claude-sonnet-5"\n'
        f'base_url = "{server.url}"\napi_key_env = "{KEY_ENV}"\n'
        'env = { CLAUDE_CODE_MAX_RETRIES = "0" }\n'
        for backend in ("anthropic", "claude-code")
    )
    return with_profiles(workspace_root, tables)


@pytest.mark.parametrize("backend", ["anthropic", "claude-code"])
async def test_the_runs_skills_are_in_the_system_prompt(
    backend: str, ws: Workspace, server: ModelServer
) -> None:
    async with running_engine(ws) as engine:
        run = await engine.submit("app", "cut a release", backend, skills=["release"])
        run = await wait_for_state(engine, run.id, RunState.FINISHED, RunState.FAILED, timeout=120)
        loaded = [e for e in await engine._store.events_for(run.id) if isinstance(e, SkillsLoaded)]
    assert run.state is RunState.FINISHED, run.error
    assert [e.names for e in loaded] == [
        ["AGENTS.md", "CLAUDE.md", "changelog", "release", "house-style"]
    ]
    request = server.turn_requests[0].body
    system = json.dumps(request.get("system"))
    # The named skill, what it requires (first), and the repo's applicable one.
    for line in ("Tag releases as vYYYY.MM", "Every change gets a line.", "Functions are short."):
        assert line in system, (line, system[:2000])
    assert system.index("Every change gets a line.") < system.index("Tag releases")
    # AGENTS.md reaches both; CLAUDE.md once (Claude Code reads it itself).
    assert "Agents: run the linter" in system
    assert json.dumps(request).count("Claude: prefer small commits.") == 1


async def test_unknown_or_malformed_skills_refuse_the_submission(ws: Workspace) -> None:
    async with open_engine(ws, listen=False) as engine:
        with pytest.raises(BadInput, match="unknown skill 'nope'"):
            await engine.submit("app", "x", "anthropic", skills=["nope"])
        write_skill(ws.root / "skills", "broken", "no front matter\n")
        with pytest.raises(BadInput, match=r"skills/broken/SKILL.md: no front matter"):
            await engine.submit("app", "x", "anthropic")
        assert await engine.list_runs() == []  # nothing half-queued


async def test_acp_and_codex_get_the_skills_before_the_task(
    ws: Workspace, server: ModelServer, workspace_root: Path
) -> None:
    ws = with_profiles(
        workspace_root,
        acp_profile("acp"),
        f'\n[agents.codex]\nbackend = "codex"\ncommand = "{CODEX}"\nmodel = "gpt-scripted"\n'
        f'base_url = "{server.url}"\napi_key_env = "{KEY_ENV}"\n',
    )
    async with running_engine(ws) as engine:
        acp_run = await engine.submit("app", "cut a release", "acp", skills=["release"])
        acp_run = await wait_for_state(
            engine, acp_run.id, RunState.FINISHED, RunState.FAILED, timeout=120
        )
        said = " ".join(
            e.text for e in await engine._store.events_for(acp_run.id) if isinstance(e, AgentText)
        )
        codex_run = await engine.submit("app", "cut a release", "codex", skills=["release"])
        codex_run = await wait_for_state(
            engine, codex_run.id, RunState.FINISHED, RunState.FAILED, timeout=120
        )
    assert acp_run.state is RunState.FINISHED, acp_run.error
    # The scripted ACP agent repeats its first prompt: the skills, then the task.
    assert "Tag releases as vYYYY.MM" in said and "cut a release" in said
    assert said.index("Tag releases") < said.index("cut a release")
    assert codex_run.state is RunState.FINISHED, codex_run.error
    sent = json.dumps(server.turn_requests[-1].body.get("input"))
    assert "Tag releases as vYYYY.MM" in sent and "Every change gets a line." in sent
