"""The git-refs rule: refs the run does not own moved or deleted, the repository's
``.git`` or config written, history rewritten, git aimed at another checkout."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable
from pathlib import Path

from engine.guard.command import Simple, find_roots
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
        on: str | None = None  # the branch a `git checkout`/`switch` on this line went to
        for s in commands:
            for target in [*_deleted(s), *_written_arguments(s), *s.writes]:
                if target in DEVICES:
                    continue
                if _globs_git(call, target, s.cwd):
                    return f"{s.shown(target)!r} matches .git: the repository's .git is git's own"
                # Resolved only when `.git` is in sight (every written word is checked).
                if ".git" not in target and ".git" not in (s.cwd or ""):
                    continue
                if _GIT_PART.search(target) or _in_git_dir(call.resolve(target, s.cwd)):
                    return f"changing {s.shown(target)!r}: the repository's .git is git's own"
            finds = s.program == "find" and _find_deletes(s)
            if finds and (".git" in s.argv or _find_everything(call, s)):
                return "deleting .git folders: the repository's .git is git's own"
            reason = _git_ref_change(s, branches, mine)
            if reason is not None:
                return reason
            sub, args, folder, _ = _git(s)
            on = _switched_to(sub, args, on)
            if sub in _MOVES_BRANCH and on is not None and _theirs(on, branches, mine):
                return f"git {sub} on {on}: only the run's own branch may move"
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


#: git subcommands that move the branch checked out (not `pull`: a fast-forward from
#: upstream loses nothing).
_MOVES_BRANCH = {"merge", "reset", "cherry-pick", "revert", "commit", "am", "rebase"}


def _theirs(branch: str, branches: set[str], mine: set[str]) -> bool:
    """Whether ``branch`` is the human's (a default branch) or another run's."""
    return branch not in mine and (branch in branches or branch.startswith("cockpit/"))


def _switched_to(sub: str | None, args: list[str], on: str | None) -> str | None:
    """The branch checked out after ``git SUB ARGS`` (``on`` before it)."""
    if sub not in ("checkout", "switch") or "--" in args:
        return on
    if {"-b", "-B", "-c", "-C", "--create", "--force-create", "--orphan", "--detach"} & set(args):
        return None  # a new branch (the run's), or no branch at all
    words = _words(args, {"-t", "--track"})
    return _ref_name(words[0]) if len(words) == 1 else on


def _globs_git(call: Call, target: str, cwd: str | None) -> bool:
    """Whether ``target`` is a glob the shell expands to the repository's ``.git``
    (``rm -rf .[!.]*``, ``.git*``), in a folder holding one."""
    if not any(c in target for c in "*?["):
        return False
    folder, _, pattern = target.rstrip("/").rpartition("/")
    # The shell's globs match a leading dot only when they start with one.
    if not pattern.startswith((".", "[.")) or not fnmatch.fnmatchcase(".git", pattern):
        return False
    where = call.resolve(folder or ".", cwd)
    return where == call.places.root or os.path.lexists(os.path.join(where, ".git"))


#: What narrows what ``find`` deletes to some of the files it searches.
_FIND_FILTERS = {
    *("-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename"),
    *("-iwholename", "-prune", "-empty", "-samefile", "-inum", "-lname", "-ilname"),
}


def _find_everything(call: Call, s: Simple) -> bool:
    """Whether ``find`` deletes whatever it finds from the worktree's top (where its
    ``.git`` is), with no name or path narrowing it."""
    if _FIND_FILTERS & set(s.argv):
        return False
    return any(call.resolve(r, s.cwd) == call.places.root for r in find_roots(s.argv))


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
            if not words:  # `… | xargs git branch -D`: the names come from elsewhere
                return "deleting branches named by another command: which ones cannot be known"
        elif moves and (len(words) < 2 or foreign(words[0]) or words[-1] in branches):
            return "renaming or overwriting a branch that is not the run's (git branch -m/-M)"
        elif forced and words and foreign(words[0]):
            return f"moving branch {words[0]} (git branch -f): only the run's own branch may move"
    elif sub in ("checkout", "switch") or (sub == "worktree" and "-B" in args):
        for option in ("-B", "-C", "--force-create"):
            if option in args and args.index(option) + 1 < len(args):
                name = args[args.index(option) + 1]
                if name in branches or (name.startswith("cockpit/") and foreign(name)):
                    return f"resetting branch {name} ({sub} {option}) is for the human"
    elif sub in ("fetch", "pull") and words:
        for refspec in words[1:]:
            target = _ref_name(refspec.rsplit(":", 1)[-1]) if ":" in refspec else ""
            if not target or target.startswith(("refs/remotes/", "refs/tags/")):
                continue
            # A new local branch (pull/1/head:pr-1) is fine; main, or a forced update, not.
            forced = refspec.startswith("+") and foreign(target)
            if target in branches or forced or (target.startswith("cockpit/") and foreign(target)):
                return f"git {sub} into the local branch {target}: not the run's own"
    elif sub == "push" and "--prune" in args:
        return "git push --prune deletes every remote branch missing here"
    elif sub == "push" and any("*" in w.rpartition(":")[2] for w in words[1:]):
        return "a git push to every branch (a * refspec) pushes the human's too"
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
    elif sub == "rebase":
        named = _words(args, {"--onto", "-s", "--strategy", "-X", "--strategy-option", "-x"})
        target = _ref_name(named[1]) if len(named) >= 2 else ""
        if target and target != "HEAD" and not set("~^@") & set(target) and foreign(target):
            return f"git rebase of {target}: only the run's own branch may move"
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
