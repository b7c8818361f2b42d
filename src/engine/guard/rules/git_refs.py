"""The git-refs rule: refs the run does not own moved or deleted, the repository's
``.git`` or config written, history rewritten, git aimed at another checkout."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from engine.guard.command import Simple
from engine.guard.paths import DEVICES, Call
from engine.guard.rules import Check
from engine.guard.rules.argv import _short_flags, _words
from engine.guard.rules.files import _deleted, _find_deletes, _written_arguments
from engine.guard.rules.git import _config_writes, _git, _git_dir

#: A word naming a ``.git`` folder (or file), anywhere in it.
_GIT_PART = re.compile(r"(?:^|/)\.git(?:/|$)")


def _in_git_dir(path: Path) -> bool:
    text = str(path)
    return text.endswith("/.git") or "/.git/" in text


def _git_refs(branches: set[str], own: Callable[[], str | None]) -> Check:
    """Refs the run does not own moved or deleted, the repo's config or ``.git`` written,
    history rewritten, git aimed at another checkout."""

    def check(call: Call, commands: list[Simple]) -> str | None:
        mine = _created_branches(commands)
        branch = own()
        if branch is not None and branch not in branches:
            mine.add(branch)
        for s in commands:
            for target in [*_deleted(s), *_written_arguments(s), *s.writes]:
                if target in DEVICES:
                    continue
                # Resolved only when `.git` is in sight (every written word is checked).
                if ".git" not in target and ".git" not in (s.cwd or ""):
                    continue
                if _GIT_PART.search(target) or _in_git_dir(call.resolve(target, s.cwd)):
                    return f"changing {s.shown(target)!r}: the repository's .git is git's own"
            if s.program == "find" and _find_deletes(s) and ".git" in s.argv:
                return "deleting .git folders: the repository's .git is git's own"
            reason = _git_ref_change(s, branches, mine)
            if reason is not None:
                return reason
            sub, args, folder, _ = _git(s)
            if sub is None or _git_reads(sub, args):
                continue
            if _git_dir(s):
                return f"git {sub} with --git-dir/GIT_DIR works on another repository"
            if folder is None and s.cwd is None:
                continue  # in the worktree itself
            where = call.resolve(folder or ".", s.cwd)
            if not call.writable(where):
                return f"git {sub} in {where}: outside the worktree"
        return None

    return check


#: git subcommands that change nothing (of the repo, its refs or its config).
_GIT_READS = {
    *("status", "log", "diff", "show", "rev-parse", "ls-files", "ls-tree", "ls-remote"),
    *("cat-file", "blame", "grep", "describe", "shortlog", "for-each-ref", "merge-base"),
    *("rev-list", "name-rev", "whatchanged", "count-objects", "fsck", "help", "version"),
    *("fetch", "clone", "archive", "show-ref", "show-branch", "check-ignore", "check-attr"),
    *("var", "diff-tree", "diff-files", "diff-index", "cherry", "range-diff", "format-patch"),
    *("bisect", "difftool", "instaweb", "verify-commit", "verify-tag", "annotate", "init"),
}


def _git_reads(sub: str, args: list[str]) -> bool:
    """Whether ``git SUB ARGS`` only reads (lists branches, tags, stashes, config)."""
    if sub in _GIT_READS or sub.startswith("--"):
        return True
    words = _words(args)
    if sub in ("branch", "tag"):
        listing = {"-l", "--list", "-a", "-r", "--all", "--show-current", "-v", "-vv"}
        return not words or (bool(listing & set(args)) and "-d" not in args)
    if sub in ("stash", "worktree", "remote", "reflog", "notes"):
        listed = not words and sub != "stash"  # `git stash` alone stashes
        return listed or (bool(words) and words[0] in ("list", "show", "get-url"))
    if sub == "config":
        return not _config_writes(args)
    return False


def _created_branches(commands: list[Simple]) -> set[str]:
    """Branches the command line itself creates (``checkout -b``, ``switch -c``)."""
    made: set[str] = set()
    for s in commands:
        sub, args, _, _ = _git(s)
        if sub in ("checkout", "switch", "worktree"):
            for option in ("-b", "-c", "--create"):
                if option in args and args.index(option) + 1 < len(args):
                    made.add(args[args.index(option) + 1])
        elif sub == "branch" and args and not args[0].startswith("-"):
            made.add(args[0])
    return made


def _ref_name(ref: str) -> str:
    return ref.lstrip("+").removeprefix("refs/heads/")


def _git_ref_change(s: Simple, branches: set[str], mine: set[str]) -> str | None:
    """Why ``s`` moves or deletes a ref (or shared state) that is not the run's."""
    sub, args, _, _ = _git(s)
    if sub is None:
        return None
    words = _words(args, {"-m", "--message", "-u", "--set-upstream-to", "--contains", "--sort"})

    def foreign(name: str) -> bool:
        return _ref_name(name) not in mine

    if sub == "update-ref":
        if "--stdin" in args:
            return "git update-ref --stdin moves refs the guard cannot see"
        ref = next(iter(words), "HEAD")
        if ref != "HEAD" and foreign(ref):
            return f"git update-ref moves {ref}: only the run's own branch may move"
    elif sub == "symbolic-ref" and (len(words) >= 2 or {"-d", "--delete"} & set(args)):
        return "git symbolic-ref repoints HEAD or a branch"
    elif sub == "branch":
        flags = _short_flags(args, "mutM") | {a for a in args if a.startswith("--")}
        deletes = {"d", "D", "--delete"} & flags
        moves = {"m", "M", "C", "--move"} & flags
        forced = {"f", "--force"} & flags
        if deletes:
            names = [w for w in words if foreign(w)]
            if names:
                return f"deleting branch {names[0]}: only the run's own branch is its to change"
        elif moves and (len(words) < 2 or foreign(words[0]) or words[-1] in branches):
            return "renaming or overwriting a branch that is not the run's (git branch -m/-M)"
        elif forced and words and foreign(words[0]):
            return f"moving branch {words[0]} (git branch -f): only the run's own branch may move"
    elif sub in ("checkout", "switch"):
        for option in ("-B", "-C", "--force-create"):
            if option in args and args.index(option) + 1 < len(args):
                name = args[args.index(option) + 1]
                if name in branches or (name.startswith("cockpit/") and foreign(name)):
                    return f"resetting branch {name} ({sub} {option}) is for the human"
    elif sub == "fetch" and words:
        for refspec in words[1:]:
            target = _ref_name(refspec.rsplit(":", 1)[-1]) if ":" in refspec else ""
            if not target or target.startswith(("refs/remotes/", "refs/tags/")):
                continue
            # A new local branch (pull/1/head:pr-1) is fine; main, or a forced update, not.
            forced = refspec.startswith("+") and foreign(target)
            if target in branches or forced or (target.startswith("cockpit/") and foreign(target)):
                return f"git fetch into the local branch {target}: not the run's own"
    elif sub == "push" and words:
        if words[0] == ".":
            for refspec in words[1:]:
                target = _ref_name(refspec.rsplit(":", 1)[-1])
                if target and foreign(target):
                    return f"git push . into the local branch {target}: not the run's own"
        deleting = bool({"-d", "--delete"} & set(args))
        deleted = [w.removeprefix(":") for w in words[1:] if deleting or w.startswith(":")]
        names = [d for d in deleted if d and foreign(d)]
        if names:
            return f"deleting {names[0]} on the remote: only the run's own branch is its to delete"
    elif sub == "tag" and (
        {"d", "f", "--delete", "--force"} & (_short_flags(args, "mFu") | set(args))
    ):
        return "deleting or moving a tag (git tag -d/-f): tags are shared with the human"
    elif sub in ("filter-branch", "filter-repo", "replace", "prune"):
        return f"git {sub} rewrites or drops history of the whole repository"
    elif sub == "reflog" and words[:1] and words[0] in ("expire", "delete"):
        return "expiring the reflog drops the history git could recover"
    elif sub == "gc" and any(a.startswith("--prune") and a != "--prune=2.weeks.ago" for a in args):
        return "git gc --prune drops unreachable history at once"
    elif sub == "stash" and words[:1] == ["clear"]:
        return "git stash clear drops every stash, the human's too"
    elif sub == "worktree" and words[:1] and words[0] in ("remove", "prune", "move"):
        return f"git worktree {words[0]} changes other checkouts of the repository"
    elif sub == "remote" and words[:1] and words[0] in ("remove", "rm", "rename", "set-url"):
        return f"git remote {words[0]} changes the repository's remotes, shared with the human"
    elif (
        sub == "config"
        and _config_writes(args)
        and not ({"--global", "--system", "--worktree", "--file", "-f"} & set(args))
    ):
        return "git config writes the repository's config, shared with the human's checkout"
    return None
