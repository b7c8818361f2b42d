"""The guard's default policy over a corpus of shell commands as agents write them:
dangerous ones refused (with the rule that refused them), ordinary ones allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from guard_corpus import DANGEROUS, ORDINARY

from engine.config import GuardRule
from engine.domain.guard import ToolRequest
from engine.services.guard import Policy

#: The share of ordinary commands the guard may refuse (each one costs an agent a turn).
ORDINARY_REFUSED_AT_MOST = 0.02


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    (worktree / "src").mkdir()
    (worktree / "tests").mkdir()
    (worktree / ".env").write_text("TOKEN=secret\n")  # most worktrees have one
    return Policy(worktree, default_branches={"main", "master", "trunk"}, home=tmp_path / "home")


def shell(command: str) -> ToolRequest:
    return ToolRequest("shell", "Bash", {"command": command})


def test_dangerous_commands_are_refused_by_the_right_rule(
    policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    verdicts = [(command, rule, policy.decide(shell(command))) for command, rule in DANGEROUS]
    # An "ask" escalates to the human: it counts, as long as the expected rule decided.
    wrong = [(c, r, v) for c, r, v in verdicts if v.decision == "allow" or v.rule != r]
    refused = sum(1 for _, _, v in verdicts if v.decision != "allow")
    with capsys.disabled():
        print(
            f"\nguard corpus: dangerous {refused}/{len(DANGEROUS)} refused or escalated"
            f" ({refused / len(DANGEROUS):.1%})"
        )
    assert not wrong, "\n".join(f"{c!r}: wanted {r}, got {v}" for c, r, v in wrong)


def test_ordinary_commands_are_allowed(policy: Policy, capsys: pytest.CaptureFixture[str]) -> None:
    verdicts = [(command, policy.decide(shell(command))) for command in ORDINARY]
    refused = [(c, v) for c, v in verdicts if v.decision != "allow"]
    rate = len(refused) / len(ORDINARY)
    with capsys.disabled():
        print(f"\nguard corpus: ordinary {len(refused)}/{len(ORDINARY)} refused ({rate:.1%})")
    assert rate <= ORDINARY_REFUSED_AT_MOST, "refused:\n" + "\n".join(
        f"{c!r}: {v}" for c, v in refused
    )


def test_file_tools_are_judged_like_the_shell(policy: Policy) -> None:
    def verdict(kind: str, path: str):
        return policy.decide(ToolRequest(kind, kind, {"path": path}))

    assert verdict("write", "src/app.py").decision == "allow"
    assert verdict("read", "README.md").decision == "allow"
    assert verdict("write", "../escape.py").rule == "write-outside-worktree"
    assert verdict("edit", "/etc/passwd").rule == "write-outside-worktree"
    assert verdict("read", "~/.ssh/id_rsa").rule == "secrets"
    assert verdict("read", ".env").rule == "secrets"


def test_a_symlink_out_of_the_worktree_is_followed(policy: Policy, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (policy.worktree / "link").symlink_to(outside)
    assert policy.decide(shell("echo x > link/file")).rule == "write-outside-worktree"
    assert policy.decide(shell("rm -rf link/")).rule == "rm-outside-worktree"


def test_rules_decide_first_and_defaults_can_be_turned_off(policy: Policy) -> None:
    policy.rules = [
        GuardRule(name="tmp-ok", decision="allow", command=r"^touch /tmp/"),
        GuardRule(name="no-docker", decision="ask", tool="shell", command=r"\bdocker\b"),
    ]
    assert policy.decide(shell("touch /tmp/marker")).decision == "allow"
    asked = policy.decide(shell("docker build ."))
    assert (asked.decision, asked.rule) == ("ask", "no-docker")
    policy.disabled = {"sudo"}
    assert policy.decide(shell("sudo ls")).decision == "allow"


def test_an_unreadable_command_is_asked_about(policy: Policy) -> None:
    verdict = policy.decide(shell("echo 'unterminated"))
    assert (verdict.decision, verdict.rule) == ("ask", "unreadable-command")
