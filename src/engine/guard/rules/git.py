"""git commands read (subcommand, ``-C`` folder, ``-c`` settings, config writes), and the
rules over pushes and hooks: force-push, push-default-branch, skip-hooks,
reset-outside-worktree."""

from __future__ import annotations

from typing import NamedTuple

from engine.guard.command import Simple
from engine.guard.paths import Call
from engine.guard.rules import Check
from engine.guard.rules.argv import _memo, _short_flags, _words


class Git(NamedTuple):
    """A ``git`` command: its subcommand and the subcommand's arguments, the folder it
    works in (``-C``, ``--work-tree``, ``GIT_WORK_TREE``) and its ``-c`` settings."""

    sub: str | None
    args: list[str]
    folder: str | None
    config: list[str]


NOT_GIT = Git(None, [], None, [])


def _git(simple: Simple) -> Git:
    """``simple`` read as a ``git`` command (:data:`NOT_GIT` when it is not one)."""
    return NOT_GIT if simple.program != "git" else _memo(simple, "git", _read_git)


def _read_git(simple: Simple) -> Git:
    args = simple.argv[1:]
    folder = next((e.split("=", 1)[1] for e in simple.env if e.startswith("GIT_WORK_TREE=")), None)
    config: list[str] = []
    while args and args[0].startswith("-"):
        option, _, value = args.pop(0).partition("=")
        if option in ("-C", "-c", "--git-dir", "--work-tree") and not value and args:
            value = args.pop(0)
        if option == "-C":
            folder = value if folder is None else f"{folder}/{value}"  # each -C is relative
        elif option == "--work-tree":
            folder = value
        elif option == "-c":
            config.append(value)
    return Git(args[0] if args else None, args[1:], folder, config)


def _git_dir(simple: Simple) -> bool:
    """Whether a ``git`` command names its repository (``--git-dir``, ``GIT_DIR``)."""
    return any(e.startswith("GIT_DIR=") for e in simple.env) or any(
        a == "--git-dir" or a.startswith("--git-dir=") for a in simple.argv[1:]
    )


_CONFIG_WRITES = {
    *("--add", "--unset", "--unset-all", "--replace-all", "--rename-section"),
    *("--remove-section", "-e", "--edit"),
}
_CONFIG_READS = {
    *("--get", "--get-all", "--get-regexp", "--get-urlmatch", "-l", "--list"),
    *("--show-origin", "--show-scope", "--name-only"),
}
_CONFIG_VALUES = {"--file", "-f", "--blob", "--type", "--default", "--comment", "--value"}


def _config_writes(args: list[str]) -> bool:
    """Whether ``git config ARGS`` writes a setting."""
    if _CONFIG_WRITES & set(args):
        return True
    words = _words(args, _CONFIG_VALUES)
    if words[:1] and words[0] in ("set", "unset", "rename-section", "remove-section", "edit"):
        return True
    if (words[:1] and words[0] in ("get", "list")) or _CONFIG_READS & set(args):
        return False
    return len(words) >= 2


def _force_push(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        sub, args, _, _ = _git(s)
        if sub != "push":
            continue
        # --mirror force-updates (and deletes) every ref on the remote.
        forced = any(
            a.startswith(("--force", "--mirror")) and not a.startswith("--force-if-includes")
            for a in args
        )
        if forced or "f" in _short_flags(args, "o") or any(a.startswith("+") for a in args):
            return "force pushes rewrite shared history"
    return None


def _push_default(branches: set[str]) -> Check:
    def check(call: Call, commands: list[Simple]) -> str | None:
        for s in commands:
            sub, args, _, _ = _git(s)
            if sub != "push":
                continue
            if {"--all", "--branches"} & set(args):
                return (
                    "pushing every branch (--all) pushes the default branch, which is for the human"
                )
            positional = [a for a in args if not a.startswith("-")]
            for refspec in positional[1:]:  # the first is the remote
                target = refspec.lstrip("+").rsplit(":", 1)[-1].removeprefix("refs/heads/")
                if target in branches:
                    return f"pushing to the default branch ({target}) is for the human"
        return None

    return check


#: Environment settings that turn a repo's hook manager off.
HOOKS_OFF_ENV = {"HUSKY=0", "HUSKY_SKIP_HOOKS=1"}


def _skip_hooks(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        sub, args, _, config = _git(s)
        if sub is None:
            continue
        if "--no-verify" in args or (sub == "commit" and "n" in _short_flags(args, "mFcCt")):
            return "skipping git hooks (--no-verify, commit -n) bypasses the repo's checks"
        # Pointing hooksPath elsewhere, or telling husky to stand down, skips them too.
        if any(c.lower().startswith("core.hookspath=") for c in config) or (
            HOOKS_OFF_ENV & set(s.env)
        ):
            return "turning git hooks off (core.hooksPath, HUSKY=0) bypasses the repo's checks"
        hooks = sub == "config" and any(a.lower() == "core.hookspath" for a in args)
        if hooks and _config_writes(args):
            return "pointing core.hooksPath elsewhere bypasses the repo's checks"
    return None


def _reset_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        sub, args, folder, _ = _git(s)
        destructive = (sub == "reset" and "--hard" in args) or (
            sub == "clean" and ({"f", "x", "d"} & _short_flags(args) or "--force" in args)
        )
        if destructive and not call.inside(call.resolve(folder or ".", s.cwd)):
            return f"git {sub} aimed outside the worktree"
    return None
