"""The guard's policy: every tool call of every backend is judged here before it runs.

The workspace's ``[[guard.rules]]`` come first (the first that matches decides, so a user
can allow what a default refuses); then the default rules, each of which can be turned
off by name in ``[guard] disable``. Shell commands are taken apart (``engine.domain.shell``)
so quoting, ``&&``, pipes, subshells and ``sh -c`` do not hide what runs; paths are
resolved (``~`` and ``$HOME`` expanded, ``cd`` followed, symlinks followed) against the
run's worktree.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import GuardRule
from engine.domain.guard import ALLOW, GuardVerdict, ToolRequest
from engine.domain.shell import SHELLS, Simple, Unreadable, parse, substituted_words

DOWNLOADERS = {"curl", "wget", "fetch", "aria2c"}
INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php", "eval", "source", "."}
#: Device files a command may write to without writing anywhere.
DEVICES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}
#: Folders (under the home directory) and files that hold credentials.
SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".config/gcloud", ".kube", ".docker")
SECRET_FILES = (".netrc", ".pgpass", ".git-credentials", ".npmrc", ".pypirc")
#: ``.env`` files are secrets; their committed templates are not.
ENV_TEMPLATES = (".example", ".sample", ".template", ".dist")


@dataclass(frozen=True)
class Places:
    """What a policy compares paths with, resolved once (resolving costs system calls):
    the worktree, and the home directory's credential folders and files."""

    root: Path
    secret_dirs: tuple[Path, ...]
    secret_files: frozenset[Path]

    @classmethod
    def of(cls, worktree: Path, home: Path) -> Places:
        real_home = Path(os.path.realpath(home))
        return cls(
            Path(os.path.realpath(worktree)),
            tuple(real_home / folder for folder in SECRET_DIRS),
            frozenset(real_home / name for name in SECRET_FILES),
        )


@dataclass
class Call:
    """A tool call being judged: the request, the worktree, the home directory."""

    request: ToolRequest
    worktree: Path
    home: Path
    places: Places

    def resolve(self, word: str, cwd: str | None = None) -> Path:
        """``word`` as an absolute path: ``~``/``$HOME`` expanded, relative to ``cwd``
        (itself relative to the worktree), ``..`` and symlinks resolved."""
        for prefix in ("~/", "$HOME/", "${HOME}/"):
            if word.startswith(prefix):
                word = f"{self.home}/{word[len(prefix) :]}"
        if word in ("~", "$HOME", "${HOME}"):
            word = str(self.home)
        base = self.worktree
        if cwd is not None:
            base = self.resolve(cwd)
        return Path(os.path.realpath(base / word))

    def inside(self, path: Path) -> bool:
        # is_relative_to: `root in path.parents` builds every parent, on every call.
        return path.is_relative_to(self.places.root)


#: A default rule: its name, and a check returning the reason it refuses (or None).
Check = Callable[[Call, list[Simple]], str | None]


def _git_subcommand(simple: Simple) -> tuple[str | None, list[str], str | None]:
    """(subcommand, its arguments, the ``-C`` folder) of a ``git`` command."""
    if simple.program != "git":
        return None, [], None
    args = simple.argv[1:]
    folder = None
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option in ("-C", "-c", "--git-dir", "--work-tree") and args:
            value = args.pop(0)
            if option == "-C":
                folder = value
    return (args[0] if args else None), args[1:], folder


def _short_flags(args: Iterable[str]) -> set[str]:
    """The letters of every short-option cluster (``-fu`` → f, u)."""
    return {c for a in args if a.startswith("-") and not a.startswith("--") for c in a[1:]}


def _sudo(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if s.program in ("sudo", "doas") or (s.program == "su" and "-c" in s.argv):
            return "running as root (sudo) is not allowed for agents"
    return None


def _force_push(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        sub, args, _ = _git_subcommand(s)
        if sub != "push":
            continue
        forced = any(
            a.startswith(("--force", "--force-with-lease", "--force-if-includes")) for a in args
        )
        if forced or "f" in _short_flags(args) or any(a.startswith("+") for a in args):
            return "force pushes rewrite shared history"
    return None


def _push_default(branches: set[str]) -> Check:
    def check(call: Call, commands: list[Simple]) -> str | None:
        for s in commands:
            sub, args, _ = _git_subcommand(s)
            if sub != "push":
                continue
            positional = [a for a in args if not a.startswith("-")]
            for refspec in positional[1:]:  # the first is the remote
                target = refspec.lstrip("+").rsplit(":", 1)[-1].removeprefix("refs/heads/")
                if target in branches:
                    return f"pushing to the default branch ({target}) is for the human"
        return None

    return check


def _skip_hooks(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        sub, args, _ = _git_subcommand(s)
        if sub is None:
            continue
        if "--no-verify" in args or (sub == "commit" and "n" in _short_flags(args)):
            return "skipping git hooks (--no-verify, commit -n) bypasses the repo's checks"
    return None


def _reset_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        sub, args, folder = _git_subcommand(s)
        destructive = (sub == "reset" and "--hard" in args) or (
            sub == "clean" and ({"f", "x", "d"} & _short_flags(args) or "--force" in args)
        )
        if destructive and not call.inside(call.resolve(folder or ".", s.cwd)):
            return f"git {sub} aimed outside the worktree"
    return None


def _rm_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if s.program not in ("rm", "rmdir", "shred", "unlink"):
            continue
        targets = [a for a in s.argv[1:] if not a.startswith("-")] or []
        for target in targets:
            if "__COCKPIT_SUBST_" in target or not call.inside(call.resolve(target, s.cwd)):
                return f"deleting {target!r}: outside the worktree"
    return None


def _pipe_to_shell(call: Call, commands: list[Simple]) -> str | None:
    downloads_in_subst = any(s.program in DOWNLOADERS and s.substituted for s in commands)
    for s in commands:
        if s.program not in INTERPRETERS:
            continue
        source = s.piped_from
        if source is not None and source.program in DOWNLOADERS:
            return "running a downloaded script (curl | sh) is not allowed"
        if downloads_in_subst and substituted_words(s):
            return 'running a downloaded script (sh -c "$(curl …)") is not allowed'
    return None


def _is_secret(call: Call, path: Path) -> bool:
    name = path.name
    if name == ".env" or (name.startswith(".env.") and not name.endswith(ENV_TEMPLATES)):
        return True
    if {".ssh", ".aws", ".gnupg"} & set(path.parts):  # anyone's, not only this home's
        return True
    places = call.places
    return any(path.is_relative_to(folder) for folder in places.secret_dirs) or (
        path in places.secret_files
    )


def _secrets(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        args = s.argv[1:]
        if (s.program == "pass" and args[:1] == ["show"]) or (s.program == "pass" and args):
            return "reading a password store (pass) is not allowed"
        if s.program in ("gpg", "gpg2") and (
            {"--decrypt", "-d"} & set(args) or "d" in _short_flags(args)
        ):
            return "decrypting with gpg is not allowed"
        for word in [*args, *s.reads]:
            if word.startswith("-") or "__COCKPIT_SUBST_" in word:
                continue
            if _is_secret(call, call.resolve(word, s.cwd)):
                return f"{word!r} holds secrets"
    return None


#: Programs whose last argument is where they write, and those writing each argument.
_WRITES_LAST = {"cp", "mv", "install", "ln", "rsync", "scp"}
_WRITES_ALL = {"touch", "mkdir", "tee", "truncate", "chmod", "chown"}


def _write_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        targets = list(s.writes)
        args = [a for a in s.argv[1:] if not a.startswith("-")]
        if s.program in _WRITES_LAST and len(args) >= 2:
            targets.append(args[-1])
        elif s.program in _WRITES_ALL:
            targets += args[1:] if s.program in ("chmod", "chown") else args
        elif s.program == "dd":
            targets += [a[3:] for a in s.argv[1:] if a.startswith("of=")]
        elif s.program == "sed" and any(a.startswith("-i") for a in s.argv[1:]):
            targets += args[1:]
        for target in targets:
            if target in DEVICES or "__COCKPIT_SUBST_" in target:
                continue
            if not call.inside(call.resolve(target, s.cwd)):
                return f"writing {target!r}: outside the worktree"
    return None


@dataclass
class Policy:
    """The guard's policy for one worktree (a run's, or a repo for ``guard check``)."""

    worktree: Path
    rules: list[GuardRule] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)
    #: Branches a push must not target (the repo's base, main, master).
    default_branches: set[str] = field(default_factory=lambda: {"main", "master"})
    home: Path = field(default_factory=Path.home)
    _resolved: tuple[tuple[Path, Path], Places] | None = field(default=None, repr=False)

    def _places(self) -> Places:
        # Resolved on first use and kept (a policy serves every call of one run).
        key = (self.worktree, self.home)
        if self._resolved is None or self._resolved[0] != key:
            self._resolved = (key, Places.of(self.worktree, self.home))
        return self._resolved[1]

    def defaults(self) -> list[tuple[str, Check]]:
        """The default rules in the order they are tried."""
        return [
            ("sudo", _sudo),
            ("force-push", _force_push),
            ("push-default-branch", _push_default(self.default_branches)),
            ("skip-hooks", _skip_hooks),
            ("reset-outside-worktree", _reset_outside),
            ("rm-outside-worktree", _rm_outside),
            ("pipe-to-shell", _pipe_to_shell),
            ("secrets", _secrets),
            ("write-outside-worktree", _write_outside),
        ]

    def decide(self, request: ToolRequest) -> GuardVerdict:
        """Allow, ask or deny ``request``, with the rule that decided and why."""
        call = Call(request, self.worktree, self.home, self._places())
        command = str(request.arguments.get("command") or "") if request.kind == "shell" else ""
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
        for name, check in self.defaults():
            if name in self.disabled:
                continue
            reason = check(call, commands)
            if reason is not None:
                return GuardVerdict("deny", rule=name, reason=reason)
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
