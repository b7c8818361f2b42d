"""Where a tool call's paths lead: the places a policy compares them with (the worktree,
the temporary folder, the home directory's credentials: :class:`Places`), and the call
being judged, which resolves a word as the shell would (:class:`Call`)."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from engine.domain.guard import ToolRequest

#: Device files a command may write to without writing anywhere.
DEVICES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}
#: Folders (under the home directory) and files that hold credentials.
SECRET_DIRS = (
    *(".ssh", ".aws", ".gnupg", ".config/gcloud", ".kube", ".docker", ".azure"),
    *(".config/gh", ".password-store", "Library/Keychains", ".local/share/keyrings"),
    *(".config/op", ".config/doctl", ".config/github-copilot", ".fly"),
)
SECRET_FILES = (
    *(".netrc", ".pgpass", ".git-credentials", ".npmrc", ".pypirc", ".vault-token"),
    *(".config/git/credentials", ".cargo/credentials", ".cargo/credentials.toml"),
    *(".gem/credentials", ".config/hub", ".boto", ".s3cfg", ".bash_history", ".zsh_history"),
    *(".terraform.d/credentials.tfrc.json", ".config/rclone/rclone.conf", ".my.cnf"),
    *(".composer/auth.json", ".config/composer/auth.json", ".m2/settings-security.xml"),
    # Coding agents' and model hubs' own logins.
    *(".claude/.credentials.json", ".claude.json", ".codex/auth.json"),
    *(".gemini/oauth_creds.json", ".huggingface/token", ".cache/huggingface/token"),
)
#: Where a run may write besides its worktree: the sandbox gives each run its own /tmp.
TEMP_DIRS = ("/tmp",)


@dataclass(frozen=True)
class Places:
    """What a policy compares paths with, resolved once (resolving costs system calls):
    the worktree, the temporary folder, and the home directory's credential folders
    and files."""

    root: Path
    secret_dirs: tuple[Path, ...]
    secret_files: frozenset[Path]
    temps: tuple[str, ...] = ()
    #: The part of a temporary folder the worktree itself is in (other checkouts may
    #: be next to it there), which is no scratch space.
    kept: tuple[str, ...] = ()
    _root: str = field(init=False, repr=False)
    _secret_dirs: tuple[str, ...] = field(init=False, repr=False)
    _secret_files: frozenset[str] = field(init=False, repr=False)
    _secret_prefixes: tuple[str, ...] = field(init=False, repr=False)

    @classmethod
    def of(cls, worktree: Path, home: Path) -> Places:
        real_home = Path(os.path.realpath(home))
        root = os.path.realpath(worktree)
        temps = tuple(dict.fromkeys(os.path.realpath(t) for t in TEMP_DIRS))
        kept = tuple(
            os.path.join(temp, root[len(temp) :].lstrip(os.sep).split(os.sep, 1)[0])
            for temp in temps
            if _under(root, temp) and root != temp
        )
        return cls(
            Path(root),
            tuple(real_home / folder for folder in SECRET_DIRS),
            frozenset(real_home / name for name in SECRET_FILES),
            temps,
            kept,
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

    def in_temp(self, path: Path, deleted: bool = False) -> bool:
        """Whether the (resolved) ``path`` is in the temporary folder (the run's own):
        not where the worktree is, nor (``deleted``) a folder holding it."""
        text = str(path)
        return any(_under(text, temp) for temp in self.temps) and not any(
            _under(text, kept) or (deleted and _holds(text, kept)) for kept in self.kept
        )

    def secret(self, path: str) -> bool:
        """Whether the resolved ``path`` (as a string: every argument of every call is
        checked) is a credential folder, in one, or a credential file of the home
        directory."""
        return path in self._secret_files or path.startswith(self._secret_prefixes)


def _holds(path: str, kept: str) -> bool:
    """Whether deleting ``path`` (a glob, perhaps: ``/tmp/*``) deletes ``kept``."""
    if _under(kept, path):
        return True
    if not any(c in path for c in "*?["):
        return False
    depth = path.count(os.sep)
    return fnmatch.fnmatchcase(os.sep.join(kept.split(os.sep)[: depth + 1]), path)


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
    #: The command line as the agent wrote it ("" for a file tool).
    command: str = ""
    #: Symbolic links the command line makes to places outside (link → target).
    links: dict[str, str] = field(default_factory=dict)

    def resolve(self, word: str, cwd: str | None = None) -> Path:
        """``word`` as an absolute path: ``~``, ``~user``, ``$HOME`` and ``$PWD``
        expanded, relative to ``cwd`` (itself relative to the worktree), ``..`` and
        symlinks resolved."""
        base = self.places.root if cwd is None else self.resolve(cwd)
        if self.links and word.endswith("/"):
            return self._through_links(self.resolve(word.rstrip("/") or "/", cwd), True)
        word = _expand(word, self.home, base)
        if "/" not in word and word not in ("", ".", ".."):
            # One name in a folder already resolved: only a symlink needs following, and
            # most words of a command line (programs, options, names) are not files at
            # all — one lstat instead of realpath's walk of every folder above.
            candidate = os.path.join(base, word)
            try:
                if not stat.S_ISLNK(os.lstat(candidate).st_mode):
                    return self._through_links(Path(candidate))
            except OSError:
                return self._through_links(Path(candidate))
        return self._through_links(Path(os.path.realpath(base / word)))

    def _through_links(self, path: Path, into: bool = False) -> Path:
        """``path`` through a link the same command line makes (``ln -s / x && rm -rf
        x/``: the link is not there yet when the command is judged). The link itself
        is only followed ``into`` (``x/``; ``rm x`` deletes the link)."""
        if not self.links:
            return path
        text = str(path)
        for link, target in self.links.items():
            if text.startswith(link + os.sep) or (into and text == link):
                return Path(target + text[len(link) :])
        return path

    def inside(self, path: Path) -> bool:
        return self.places.in_root(path)

    def writable(self, path: Path, deleted: bool = False) -> bool:
        """Whether a run may write or delete ``path``: in its worktree or in /tmp."""
        return self.places.in_root(path) or self.places.in_temp(path, deleted)


#: ``${NAME:-default}`` (or ``${NAME-default}``): the default stands for the value.
_DEFAULTED = re.compile(r"\$\{[A-Za-z_]\w*:?[-=]([^}]*)\}")


def _expand(word: str, home: Path, cwd: Path) -> str:
    """``word`` with the variables and tildes a path starts with replaced as the shell
    would (``$PWD`` is the folder the command runs in; ``~user`` another home, next to
    this one; ``$TMPDIR`` the temporary folder)."""
    if word.startswith("${") and (defaulted := _DEFAULTED.match(word)):
        word = defaulted[1] + word[defaulted.end() :]
    for name, value in (("HOME", home), ("PWD", cwd), ("TMPDIR", TEMP_DIRS[0])):
        for variable in (f"${name}", f"${{{name}}}"):
            if word == variable or word.startswith(f"{variable}/"):
                return f"{value}{word[len(variable) :]}"
    if word == "~" or word.startswith("~/"):
        return f"{home}{word[1:]}"
    user = re.match(r"~([A-Za-z_][\w.-]*)(?=/|$)", word)
    if user:
        return f"{home.parent / user[1]}{word[user.end() :]}"
    return word
