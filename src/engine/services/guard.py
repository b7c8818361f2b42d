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
import glob
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from engine.config import GuardRule
from engine.domain.guard import ALLOW, GuardVerdict, ToolRequest
from engine.domain.shell import (
    SHELLS,
    Simple,
    Unreadable,
    find_roots,
    parse,
    substituted_words,
)

DOWNLOADERS = {"curl", "wget", "fetch", "aria2c"}
INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php", "eval", "source", "."}
#: Programs that run a command as another user (root, usually).
AS_ROOT = {"sudo", "doas", "pkexec", "run0"}
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
    _root: str = field(init=False, repr=False)
    _secret_dirs: tuple[str, ...] = field(init=False, repr=False)
    _secret_files: frozenset[str] = field(init=False, repr=False)
    _secret_prefixes: tuple[str, ...] = field(init=False, repr=False)

    @classmethod
    def of(cls, worktree: Path, home: Path) -> Places:
        real_home = Path(os.path.realpath(home))
        return cls(
            Path(os.path.realpath(worktree)),
            tuple(real_home / folder for folder in SECRET_DIRS),
            frozenset(real_home / name for name in SECRET_FILES),
        )

    def __post_init__(self) -> None:
        # Compared as strings (below), made once: every path of every call is compared.
        object.__setattr__(self, "_root", str(self.root))
        object.__setattr__(self, "_secret_dirs", tuple(str(d) for d in self.secret_dirs))
        # The credential files and folders, and what paths inside those folders start
        # with: one set lookup and one startswith per path.
        names = {str(f) for f in self.secret_files} | set(self._secret_dirs)
        object.__setattr__(self, "_secret_files", frozenset(names))
        prefixes = tuple(d.rstrip(os.sep) + os.sep for d in self._secret_dirs)
        object.__setattr__(self, "_secret_prefixes", prefixes)

    def in_root(self, path: Path) -> bool:
        """Whether the (resolved) ``path`` is the worktree or inside it."""
        return _under(str(path), self._root)

    def secret(self, path: str) -> bool:
        """Whether the resolved ``path`` (as a string: every argument of every call is
        checked) is a credential folder, in one, or a credential file of the home
        directory."""
        return path in self._secret_files or path.startswith(self._secret_prefixes)


def _under(path: str, folder: str) -> bool:
    # Comparing strings of resolved paths: Path.is_relative_to costs ~30 µs a call, and
    # every path of every tool call is compared with several folders.
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass
class Call:
    """A tool call being judged: the request, the worktree, the home directory."""

    request: ToolRequest
    worktree: Path
    home: Path
    places: Places

    def resolve(self, word: str, cwd: str | None = None) -> Path:
        """``word`` as an absolute path: ``~``, ``~user``, ``$HOME`` and ``$PWD``
        expanded, relative to ``cwd`` (itself relative to the worktree), ``..`` and
        symlinks resolved."""
        base = self.places.root if cwd is None else self.resolve(cwd)
        word = _expand(word, self.home, base)
        if "/" not in word and word not in ("", ".", ".."):
            # One name in a folder already resolved: only a symlink needs following, and
            # most words of a command line (programs, options, names) are not files at
            # all — one lstat instead of realpath's walk of every folder above.
            candidate = os.path.join(base, word)
            try:
                if not stat.S_ISLNK(os.lstat(candidate).st_mode):
                    return Path(candidate)
            except OSError:
                return Path(candidate)
        return Path(os.path.realpath(base / word))

    def inside(self, path: Path) -> bool:
        return self.places.in_root(path)


def _expand(word: str, home: Path, cwd: Path) -> str:
    """``word`` with the variables and tildes a path starts with replaced as the shell
    would (``$PWD`` is the folder the command runs in; ``~user`` another home, next to
    this one)."""
    for name, value in (("HOME", home), ("PWD", cwd)):
        for variable in (f"${name}", f"${{{name}}}"):
            if word == variable or word.startswith(f"{variable}/"):
                return f"{value}{word[len(variable) :]}"
    if word == "~" or word.startswith("~/"):
        return f"{home}{word[1:]}"
    user = re.match(r"~([A-Za-z_][\w.-]*)(?=/|$)", word)
    if user:
        return f"{home.parent / user[1]}{word[user.end() :]}"
    return word


#: A default rule: its name, and a check returning the reason it refuses (or None).
Check = Callable[[Call, list[Simple]], str | None]


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
    if simple.program != "git":
        return NOT_GIT
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


def _short_flags(args: Iterable[str], takes_value: str = "") -> set[str]:
    """The letters of every short-option cluster (``-fu`` → f, u). A letter in
    ``takes_value`` ends its cluster and takes the next word too (``-m "-n"`` is a
    message, not ``-n``)."""
    letters: set[str] = set()
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--":
            break
        if not arg.startswith("-") or arg.startswith("--"):
            continue
        for k, letter in enumerate(arg[1:], 1):
            letters.add(letter)
            if letter in takes_value:
                skip = k == len(arg) - 1  # nothing attached: the value is the next word
                break
    return letters


def _option_values(args: list[str], short: str, long: str) -> list[str]:
    """The values given to an option: ``-o X``, ``-sSLo X``, ``-oX``, ``--output X``
    or ``--output=X``."""
    values: list[str] = []
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg == long:
            values.append(following)
        elif arg.startswith(f"{long}="):
            values.append(arg[len(long) + 1 :])
        elif arg.startswith("-") and not arg.startswith("--") and short in arg[1:]:
            values.append(arg[arg.index(short, 1) + 1 :] or following)
    return values


def _sudo(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        if s.program in AS_ROOT or (s.program == "su" and "-c" in s.argv):
            return "running as root (sudo) is not allowed for agents"
    return None


def _force_push(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        sub, args, _, _ = _git(s)
        if sub != "push":
            continue
        # --mirror force-updates (and deletes) every ref on the remote.
        forced = any(a.startswith(("--force", "--mirror")) for a in args)
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


def _rm_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        for target in _deleted(s):
            if "__COCKPIT_SUBST_" in target or not call.inside(call.resolve(target, s.cwd)):
                return f"deleting {target!r}: outside the worktree"
    return None


def _deleted(s: Simple) -> list[str]:
    """What ``s`` deletes: ``rm``'s operands, or the folders ``find`` searches when it
    deletes what it finds (``-delete``, ``-exec rm``)."""
    if s.program in ("rm", "rmdir", "shred", "unlink"):
        return _operands(s.argv[1:])
    if s.program == "find" and ("-delete" in s.argv or _find_runs_rm(s.argv)):
        return find_roots(s.argv)
    return []


def _operands(args: list[str]) -> list[str]:
    """The words that are not options (all of them after ``--``)."""
    if "--" in args:
        end = args.index("--")
        return [a for a in args[:end] if not a.startswith("-")] + args[end + 1 :]
    return [a for a in args if not a.startswith("-")]


def _find_runs_rm(argv: list[str]) -> bool:
    return any(
        word in ("-exec", "-execdir", "-ok", "-okdir")
        and argv[i + 1 : i + 2] in (["rm"], ["/bin/rm"], ["shred"])
        for i, word in enumerate(argv)
    )


def _pipe_to_shell(call: Call, commands: list[Simple]) -> str | None:
    downloads_in_subst = any(s.program in DOWNLOADERS and s.substituted for s in commands)
    fetched = {call.resolve(f, s.cwd) for s in commands for f in _downloaded(s) if f != "-"}
    for s in commands:
        if s.program in INTERPRETERS:
            # Anywhere upstream in the pipeline: `curl … | tee x.sh | sh` runs it too.
            if _runs_stdin(s) and any(source.program in DOWNLOADERS for source in _upstream(s)):
                return "running a downloaded script (curl | sh) is not allowed"
            if downloads_in_subst and substituted_words(s):
                return 'running a downloaded script (sh -c "$(curl …)") is not allowed'
        script = _script_run(s)
        if fetched and script is not None and call.resolve(script, s.cwd) in fetched:
            return "running a script downloaded by the same command (curl -o x.sh && sh x.sh) is not allowed"
    return None


#: The options that give an interpreter its code inline (a shell's is ``-c``).
INLINE_CODE = {"python": "cm", "python3": "cm", "perl": "eE", "ruby": "e", "node": "ep", "php": "r"}
#: Files naming the standard input.
STDIN_FILES = {"-", "/dev/stdin", "/dev/fd/0"}


def _runs_stdin(s: Simple) -> bool:
    """Whether an interpreter runs the program on its standard input (``sh``,
    ``bash -s``, ``python3 -``), rather than reading it as data (``python3 -m json.tool``)."""
    args = s.argv[1:]
    if set(INLINE_CODE.get(s.program, "c")) & _short_flags(args):
        return False
    operands = [a for a in args if not a.startswith("-") or a in STDIN_FILES]
    return not operands or operands[0] in STDIN_FILES or "-s" in args


def _upstream(s: Simple) -> Iterable[Simple]:
    source = s.piped_from
    while source is not None:
        yield source
        source = source.piped_from


def _downloaded(s: Simple) -> list[str]:
    """The files ``curl``/``wget`` save to (``-`` is standard output)."""
    args = s.argv[1:]
    if s.program == "curl":
        named = _option_values(args, "o", "--output")
        remote = "O" in _short_flags(args, "o") or "--remote-name" in args
        return named + (_url_names(args) if remote else [])
    if s.program == "wget":
        return _option_values(args, "O", "--output-document") or _url_names(args)
    return []


def _url_names(args: list[str]) -> list[str]:
    """The file names a download of each URL in ``args`` is saved under."""
    urls = [a for a in args if re.match(r"^[a-z]+://", a)]
    return [u.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] for u in urls]


def _script_run(s: Simple) -> str | None:
    """The script file ``s`` runs: an interpreter's first operand, or the program
    itself when it is named by a path (``./install.sh``)."""
    if s.program in INTERPRETERS:
        operands = [a for a in s.argv[1:] if not a.startswith("-")]
        return operands[0] if operands and "-c" not in s.argv else None
    return s.argv[0] if s.argv and "/" in s.argv[0] else None


#: A credential folder anywhere in a path (anyone's, not only this home's).
_CREDENTIAL_PART = re.compile(r"/\.(?:ssh|aws|gnupg)(?:/|$)")


def _is_secret(call: Call, path: Path) -> bool:
    # On the path's text: every argument of every command is judged here, and Path's
    # name and parts are parsed anew on each use.
    text = str(path)
    name = text.rpartition(os.sep)[2]
    if name == ".env" or (name.startswith(".env.") and not name.endswith(ENV_TEMPLATES)):
        return True
    return _CREDENTIAL_PART.search(text) is not None or call.places.secret(text)


def _secrets(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        args = s.argv[1:]
        if (s.program == "pass" and args[:1] == ["show"]) or (s.program == "pass" and args):
            return "reading a password store (pass) is not allowed"
        if s.program in ("gpg", "gpg2") and (
            {"--decrypt", "-d"} & set(args) or "d" in _short_flags(args)
        ):
            return "decrypting with gpg is not allowed"
        # A file only written (`cp .env.example .env`, `touch .env`) is not read.
        written = set(_written_arguments(s))
        for word in dict.fromkeys([*args, *s.reads]):  # a file tool's path is in both
            if word.startswith("@") or "=@" in word:
                word = word.split("@", 1)[1]  # curl -d @FILE, -F key=@FILE send the file
            if word.startswith("-") or "__COCKPIT_SUBST_" in word or word in written:
                continue
            if any(_is_secret(call, path) for path in _paths(call, word, s.cwd)):
                return f"{word!r} holds secrets"
    return None


def _paths(call: Call, word: str, cwd: str | None) -> list[Path]:
    """``word`` resolved, and the files it matches if it is a glob (``cat .env*``
    reads whatever the shell expands it to)."""
    path = call.resolve(word, cwd)
    if not any(c in word for c in "*?["):
        return [path]
    return [path, *(Path(os.path.realpath(p)) for p in glob.glob(str(path)))]


#: Programs whose last argument is where they write, and those writing each argument.
_WRITES_LAST = {"cp", "mv", "install", "ln", "rsync", "scp"}
_WRITES_ALL = {"touch", "mkdir", "tee", "truncate", "chmod", "chown"}
#: Programs taking the folder they write into as ``-t DIR`` (GNU coreutils).
_TARGET_DIRECTORY = {"cp", "mv", "install", "ln"}


def _written_arguments(s: Simple) -> list[str]:
    """The files ``s``'s program writes because of its arguments (as written)."""
    argv, program = s.argv[1:], s.program
    args = [a for a in argv if not a.startswith("-")]
    if program in _TARGET_DIRECTORY and (
        folders := _option_values(argv, "t", "--target-directory")
    ):
        return folders
    if program == "install" and "d" in _short_flags(argv, "mogt"):
        return args  # install -d DIR...: every operand is a folder made
    if program in _WRITES_LAST:
        return args[-1:] if len(args) >= 2 else []
    if program in _WRITES_ALL:
        return args[1:] if program in ("chmod", "chown") else args
    if program == "dd":
        return [a[3:] for a in argv if a.startswith("of=")]
    if program == "sed" and any(a.startswith("-i") for a in argv):
        return args[1:]
    return _downloaded(s)


def _write_outside(call: Call, commands: list[Simple]) -> str | None:
    for s in commands:
        for target in [*s.writes, *_written_arguments(s)]:
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
