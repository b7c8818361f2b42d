"""The guard's default policy over a corpus of shell commands as agents write them:
dangerous ones refused or asked about (by the rule expected, with its decision),
ordinary ones allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from guard_corpus import ASKED, DANGEROUS, ORDINARY

from engine.config import GuardRule
from engine.domain.guard import ToolRequest
from engine.guard import Policy

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
    # An "ask" escalates to the human: it counts, as long as the expected rule decided, and
    # the rules that ask are those the corpus says ask (the others deny).
    wrong = [
        (c, r, v)
        for c, r, v in verdicts
        if v.rule != r or v.decision != ("ask" if r in ASKED else "deny")
    ]
    refused = sum(1 for _, _, v in verdicts if v.decision == "deny")
    asked = sum(1 for _, _, v in verdicts if v.decision == "ask")
    rate = (refused + asked) / len(DANGEROUS)
    with capsys.disabled():
        print(
            f"\nguard corpus: dangerous {refused + asked}/{len(DANGEROUS)} refused or escalated"
            f" ({rate:.1%}: {refused} denied, {asked} asked)"
        )
    assert not wrong, "\n".join(f"{c!r}: wanted {r}, got {v}" for c, r, v in wrong)
    assert rate == 1.0
    # A reason shows the command as written, never the reader's placeholders.
    assert not [v.reason for _, _, v in verdicts if "__COCKPIT_" in v.reason]


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


def test_each_default_rule_can_be_turned_off(policy: Policy) -> None:
    # One call per rule the corpus has: with its rule off, no other rule stands in for it.
    examples = {
        "publish": "npm publish",
        "infra-destroy": "terraform destroy -auto-approve",
        "crontab": "crontab -r",
        "system": "shutdown -h now",
        "global-config": "npm install -g typescript",
        "inline-code": 'python3 -c "import os; os.system(input())"',
        "encoded-payload": "echo cm0gLXJmIH4= | base64 -d | sh",
        "fork-bomb": ":(){ :|:& };:",
        "empty-variable": 'rm -rf "$UNSET/"*',
        "git-refs": "git update-ref -d refs/heads/main",
        "unknown-delete": 'rm -rf "$(cat .build-dir)"',
    }
    assert {name for name, _, _ in policy.defaults()} >= set(examples)
    for name, command in examples.items():
        assert policy.decide(shell(command)).rule == name
        policy.disabled = {name}
        assert policy.decide(shell(command)).decision == "allow", name
        policy.disabled = set()


def test_a_reason_quotes_a_substitution_as_written(policy: Policy) -> None:
    # `$(pwd)` is the folder the command runs in; other substitutions cannot be known.
    assert policy.decide(shell("rm -rf $(pwd)/build")).decision == "allow"
    assert policy.decide(shell("rm -rf `pwd`/../other")).rule == "rm-outside-worktree"
    asked = policy.decide(shell('rm -rf "$(cat .build-dir)/cache"'))
    assert (asked.decision, asked.rule) == ("ask", "unknown-delete")
    assert "$(cat .build-dir)/cache" in asked.reason
    nested = policy.decide(shell("sh -c 'rm -rf $(ls -d ../*)'"))
    assert "$(ls -d ../*)" in nested.reason and "__COCKPIT_" not in nested.reason


def test_the_runs_own_branch_may_move(policy: Policy) -> None:
    policy.own_branch = "cockpit/ab12cd34"
    for command in (
        "git update-ref refs/heads/cockpit/ab12cd34 HEAD~1",
        "git branch -f cockpit/ab12cd34 origin/cockpit/ab12cd34",
        "git push origin --delete cockpit/ab12cd34",
    ):
        assert policy.decide(shell(command)).decision == "allow", command
    for command in (
        "git update-ref refs/heads/cockpit/ffff0000 HEAD",
        "git branch -D cockpit/ffff0000",
        "git checkout -B cockpit/ffff0000",
    ):
        assert policy.decide(shell(command)).rule == "git-refs", command


def test_the_own_branch_is_the_one_checked_out_unless_it_is_a_default(
    policy: Policy, tmp_path: Path
) -> None:
    # A run's worktree: its .git file points at the repo's git folder for it.
    gitdir = tmp_path / "repo.git" / "worktrees" / "run"
    gitdir.mkdir(parents=True)
    (gitdir / "HEAD").write_text("ref: refs/heads/cockpit/ab12cd34\n")
    (policy.worktree / ".git").write_text(f"gitdir: {gitdir}\n")
    assert policy.decide(shell("git update-ref refs/heads/cockpit/ab12cd34 HEAD")).allowed
    # The repo itself (`cockpit guard check`): its main is never the run's to move.
    (gitdir / "HEAD").write_text("ref: refs/heads/main\n")
    fresh = Policy(policy.worktree, default_branches={"main"}, home=policy.home)
    assert fresh.decide(shell("git update-ref refs/heads/main HEAD")).rule == "git-refs"


def test_tmp_is_scratch_space_but_not_next_to_the_worktree(policy: Policy) -> None:
    for command in ("rm -rf /tmp/cockpit-scratch", "mkdir -p /tmp/build", "echo x > /tmp/o"):
        assert policy.decide(shell(command)).allowed, command
    # The worktree's own parent may hold other checkouts, even under /tmp.
    assert policy.decide(shell("rm -rf ../other")).rule == "rm-outside-worktree"
    assert policy.decide(shell("echo x > ../notes.txt")).rule == "write-outside-worktree"
