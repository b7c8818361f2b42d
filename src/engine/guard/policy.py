"""The guard's policy for one worktree: the workspace's rules first (the first that matches
decides), then the default rules in order (:meth:`Policy.defaults`), over a command line
taken apart by :func:`engine.guard.shell.parse` or a file tool's path."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import GuardRule
from engine.domain.guard import ALLOW, Decision, GuardVerdict, ToolRequest
from engine.guard.command import Simple, Unreadable
from engine.guard.paths import Call, Places
from engine.guard.rules import Check
from engine.guard.rules.downloads import _encoded_payload, _pipe_to_shell
from engine.guard.rules.files import (
    _empty_variable,
    _links,
    _rm_outside,
    _unknown_delete,
    _write_outside,
)
from engine.guard.rules.git import _force_push, _push_default, _reset_outside, _skip_hooks
from engine.guard.rules.git_refs import _git_refs
from engine.guard.rules.infra import _infra_destroy
from engine.guard.rules.inline import _inline_code
from engine.guard.rules.packages import _global_config, _publish
from engine.guard.rules.secrets import _secrets
from engine.guard.rules.system import _crontab, _fork_bomb, _sudo, _system
from engine.guard.shell import parse


def _current_branch(worktree: Path) -> str | None:
    """The branch checked out in ``worktree`` (read once per policy, from its HEAD)."""
    git = worktree / ".git"
    try:
        if git.is_file():
            pointer = git.read_text().strip()
            folder = Path(pointer.removeprefix("gitdir:").strip())
            git = folder if folder.is_absolute() else worktree / folder
        head = (git / "HEAD").read_text().strip()
    except OSError:
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None


@dataclass
class Policy:
    """The guard's policy for one worktree (a run's, or a repo for ``guard check``)."""

    worktree: Path
    rules: list[GuardRule] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)
    #: Branches a push must not target (the repo's base, main, master).
    default_branches: set[str] = field(default_factory=lambda: {"main", "master"})
    home: Path = field(default_factory=Path.home)
    #: The run's own branch (``cockpit/RUN``), the only one it may move or delete; None:
    #: the branch checked out in the worktree (unless it is a default branch).
    own_branch: str | None = None
    _resolved: tuple[tuple[Path, Path], Places] | None = field(default=None, repr=False)
    _checked_out: tuple[Path, str | None] | None = field(default=None, repr=False)

    def _places(self) -> Places:
        # Resolved on first use and kept (a policy serves every call of one run).
        key = (self.worktree, self.home)
        if self._resolved is None or self._resolved[0] != key:
            self._resolved = (key, Places.of(self.worktree, self.home))
        return self._resolved[1]

    def _own(self) -> str | None:
        if self.own_branch is not None:
            return self.own_branch
        if self._checked_out is None or self._checked_out[0] != self.worktree:
            self._checked_out = (self.worktree, _current_branch(self.worktree))
        return self._checked_out[1]

    def defaults(self) -> list[tuple[str, Check, Decision]]:
        """The default rules in the order they are tried, each with the decision it
        makes: those that deny first, so a call two rules catch is denied."""
        return [
            ("sudo", _sudo, "deny"),
            ("encoded-payload", _encoded_payload, "deny"),
            ("fork-bomb", _fork_bomb, "deny"),
            ("force-push", _force_push, "deny"),
            ("push-default-branch", _push_default(self.default_branches), "deny"),
            ("skip-hooks", _skip_hooks, "deny"),
            ("reset-outside-worktree", _reset_outside, "deny"),
            ("git-refs", _git_refs(self.default_branches, self._own), "deny"),
            ("empty-variable", _empty_variable, "deny"),
            ("rm-outside-worktree", _rm_outside, "deny"),
            ("pipe-to-shell", _pipe_to_shell, "deny"),
            ("secrets", _secrets, "deny"),
            ("write-outside-worktree", _write_outside, "deny"),
            ("unknown-delete", _unknown_delete, "ask"),
            ("publish", _publish, "ask"),
            ("infra-destroy", _infra_destroy, "ask"),
            ("crontab", _crontab, "ask"),
            ("system", _system, "ask"),
            ("global-config", _global_config, "ask"),
            ("inline-code", _inline_code, "ask"),
        ]

    def decide(self, request: ToolRequest) -> GuardVerdict:
        """Allow, ask or deny ``request``, with the rule that decided and why."""
        command = str(request.arguments.get("command") or "") if request.kind == "shell" else ""
        call = Call(request, self.worktree, self.home, self._places(), command)
        path = _path_of(request)
        for rule in self.rules:
            if _matches(rule, call, command, path):
                reason = rule.reason or f"rule {rule.name} says {rule.decision}"
                return GuardVerdict(rule.decision, rule=rule.name, reason=reason)
        if request.kind == "shell":
            try:
                commands = parse(command)
            except Unreadable as exc:
                return GuardVerdict(
                    "ask", rule="unreadable-command", reason=f"cannot read the command: {exc}"
                )
            if any(s.program == "ln" for s in commands):
                call.links = _links(call, commands)
        elif path is not None:
            # A file tool is judged as the shell command doing the same would be.
            simple = Simple([request.kind, path])
            if request.kind in ("write", "edit"):
                simple.writes.append(path)
            else:
                simple.reads.append(path)
            commands = [simple]
        else:
            return ALLOW
        for name, check, decision in self.defaults():
            if name in self.disabled:
                continue
            reason = check(call, commands)
            if reason is not None:
                # What the agent wrote, not the reader's placeholders for substitutions.
                return GuardVerdict(decision, rule=name, reason=commands[0].shown(reason))
        return ALLOW


def _path_of(request: ToolRequest) -> str | None:
    for key in ("path", "file_path", "filename", "notebook_path"):
        value = request.arguments.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _matches(rule: GuardRule, call: Call, command: str, path: str | None) -> bool:
    if rule.tool is not None and rule.tool not in (call.request.kind, call.request.tool):
        return False
    if rule.command is not None and not (command and re.search(rule.command, command)):
        return False
    if rule.path is not None:
        if path is None:
            return False
        resolved = str(call.resolve(path))
        if not (fnmatch.fnmatch(path, rule.path) or fnmatch.fnmatch(resolved, rule.path)):
            return False
    return rule.tool is not None or rule.command is not None or rule.path is not None
