"""The contract of a client's guard and settings reads: overriding a refusing rule, the
guard's ledger and counts, what the guard would decide, a repo's settings and skills,
the sandbox, and masking keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from clientkit import ASK, ESCAPE_THEN_RETRY, KEY_VALUE, asked, finished, refused

from cockpit.client import EngineClient
from engine.domain.errors import BadInput, UnknownRepo, UnknownRun
from engine.domain.events import SteeringDelivered
from engine.domain.guard import ToolRequest
from engine.domain.redact import MASK

Scenario = Callable[[str], str]

OUTSIDE = "write-outside-worktree"


async def test_override_guard_lets_a_refused_call_retry_and_the_ledger_says_so(
    client: EngineClient, scenario: Scenario
) -> None:
    run = await client.submit("app", "escape", "scripted", scenario(ESCAPE_THEN_RETRY))
    await asked(client, run.id)
    ledger = await client.guard_ledger(run.id)
    assert [(r.rule, r.decision, r.outcome, r.action) for r in ledger] == [
        (OUTSIDE, "deny", "refused", "touch ../outside.txt")
    ]
    with refused(BadInput, 2, "rule 'sudo' refused nothing"):
        await client.override_guard(run.id, "sudo")
    record = await client.override_guard(run.id[:6], OUTSIDE)
    assert (record.run_id, record.rule, record.decision, record.outcome, record.action) == (
        run.id,
        OUTSIDE,
        "override",
        "overridden",
        "touch ../outside.txt",
    )
    await client.steer(run.id, "yes")
    await finished(client, run.id)
    ledger = await client.guard_ledger(run.id)
    assert [(r.decision, r.outcome) for r in ledger] == [
        ("deny", "refused"),
        ("override", "overridden"),
        ("deny", "allowed"),
    ]
    told = [e.text for e in await client.events(run.id) if isinstance(e, SteeringDelivered)]
    assert any(f"lifted the guard rule '{OUTSIDE}'" in text for text in told), told
    assert (await client.guard_counts())[OUTSIDE] == {"refused": 1, "overridden": 1, "allowed": 1}
    with refused(BadInput, 2, "nothing left to allow"):
        await client.override_guard(run.id, OUTSIDE)
    with refused(UnknownRun, 2):
        await client.override_guard("zzzzzzzz", OUTSIDE)


async def test_guard_ledger_of_every_run_and_guard_counts(
    client: EngineClient, scenario: Scenario
) -> None:
    assert await client.guard_ledger() == []
    assert await client.guard_counts() == {}
    steps = '[[step]]\nrun = "rm README.md"\n[[step]]\nrun = "touch ../outside.txt"\n'
    lib = await client.submit("lib", "remove", "scripted", scenario(steps))
    app = await client.submit("app", "remove", "scripted", scenario(steps))
    await finished(client, lib.id)
    await finished(client, app.id)
    every = await client.guard_ledger()
    assert sorted((r.run_id, r.rule, r.outcome) for r in every) == sorted(
        [
            (lib.id, "lib-no-rm", "refused"),
            (lib.id, OUTSIDE, "refused"),
            (app.id, OUTSIDE, "refused"),
        ]
    )
    assert [r.at for r in every] == sorted(r.at for r in every)  # oldest first
    assert [r.rule for r in await client.guard_ledger(lib.id)] == ["lib-no-rm", OUTSIDE]
    assert await client.guard_ledger("ffffffff") == []
    assert await client.guard_counts() == {"lib-no-rm": {"refused": 1}, OUTSIDE: {"refused": 2}}


async def test_guard_check_judges_a_call_under_a_repos_rules_too(
    client: EngineClient, repos: dict[str, Path]
) -> None:
    remove = ToolRequest("shell", "run_command", {"command": "rm notes.txt"})
    in_lib = await client.guard_check(remove, "lib", repos["lib"])
    assert (in_lib.decision, in_lib.rule, in_lib.allowed) == ("deny", "lib-no-rm", False)
    assert "lib keeps its files" in in_lib.reason
    anywhere = await client.guard_check(remove, None, repos["lib"])
    assert anywhere.allowed and anywhere.rule != "lib-no-rm"
    outside = ToolRequest("shell", "run_command", {"command": "touch ../elsewhere.txt"})
    verdict = await client.guard_check(outside, "app", repos["app"])
    assert (verdict.decision, verdict.rule) == ("deny", OUTSIDE)
    with refused(UnknownRepo, 2):
        await client.guard_check(remove, "nope", repos["app"])


async def test_repos_by_name_with_their_absolute_paths(
    client: EngineClient, repos: dict[str, Path]
) -> None:
    listed = await client.repos()
    assert list(listed) == ["app", "lib"]
    assert listed == {name: path.resolve() for name, path in repos.items()}
    assert all(path.is_absolute() for path in listed.values())


async def test_repo_settings_as_configured(client: EngineClient) -> None:
    app = await client.repo_settings("app")
    assert (app.path, app.base, app.merge, app.gates) == ("../repos/app", "main", "merge", None)
    lib = await client.repo_settings("lib")
    assert [g.name for g in lib.gates or []] == ["no-blocked"]
    assert [r.name for r in lib.guard.rules] == ["lib-no-rm"]
    with refused(UnknownRepo, 2, "nope"):
        await client.repo_settings("nope")


async def test_available_skills_include_the_workspaces_own(client: EngineClient) -> None:
    skills = {skill.name: skill for skill in await client.available_skills("app")}
    notes = skills["contract-notes"]
    assert notes.description == "Notes the contract suite leaves for agents."
    assert notes.body == "Keep notes short."
    assert "cockpit-worktree" in skills  # shipped with Cockpit
    with refused(UnknownRepo, 2):
        await client.available_skills("nope")


async def test_sandbox_status_says_what_confines_runs(client: EngineClient) -> None:
    status = await client.sandbox_status()
    assert isinstance(status.enforced, bool) and status.detail.strip()
    if status.enforced:
        assert status.tool is not None and Path(status.tool).exists()
    assert await client.sandbox_status() == status


async def test_redact_masks_the_workspaces_keys_and_key_shapes(
    client: EngineClient, scenario: Scenario
) -> None:
    shaped = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    assert client.redact(f"key={KEY_VALUE}; other={shaped}.") == f"key={MASK}; other={MASK}."
    assert client.redact("nothing secret here") == "nothing secret here"
    # What the engine stores is masked the same way.
    run = await client.submit("app", "steer me", "scripted", scenario(ASK))
    await asked(client, run.id)
    await client.steer(run.id, f"use {KEY_VALUE}")
    await finished(client, run.id)
    delivered = [e.text for e in await client.events(run.id) if isinstance(e, SteeringDelivered)]
    assert delivered == [f"use {MASK}"]
