"""Confining a run's processes with bubblewrap (Linux), or saying plainly that we can't.

Inside a run's jail the whole file system is read-only, ``/tmp`` is private and empty,
the home directory's credential folders are not there, and the network is off unless
the profile opens it. Writable: the worktree, the git object store (so ``git add`` and
``git commit`` work), the worktree's own git folder (its index and HEAD), and the run's
branch — and no other ref.

Git moves a branch by writing ``refs/heads/cockpit/RUN.lock`` beside the ref and renaming
it, so the folder holding the ref must be writable; that folder holds every other run's
branch too. The jail therefore mounts a folder of its own there (a *branch view*) holding
only this run's ref: :meth:`BubblewrapJail.enter` writes the branch's commit into it, and
:meth:`BubblewrapJail.leave` carries a commit made inside back to the real ref with a
compare-and-swap ``git update-ref``. Every other ref, ``packed-refs``, the repo's config
and hooks stay read-only, so ``git update-ref -d refs/heads/main`` fails in the kernel.

Processes die with the engine: ``--die-with-parent`` kills the sandbox when the process
that started it dies (even by ``kill -9``), and ``--unshare-pid`` makes the sandbox a
process namespace whose every member the kernel kills when its first process ends.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.ports.sandbox import Jail, RunBounds, SandboxStatus

#: Credential files and folders of the home directory, hidden from every jail.
CREDENTIALS = (
    ".ssh",
    ".aws",
    ".gnupg",
    ".azure",
    ".kube",
    ".docker",
    ".password-store",
    ".config/gh",
    ".config/gcloud",
    ".config/hub",
    ".config/op",
    ".local/share/keyrings",
    ".terraform.d",
    ".netrc",
    ".git-credentials",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".gem/credentials",
    ".vault-token",
)
#: Git must not start a garbage collection inside a jail: it would try to repack refs
#: the jail cannot write.
GIT_IN_JAIL = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "gc.auto",
    "GIT_CONFIG_VALUE_0": "0",
}


class BubblewrapSandbox:
    """The sandbox when bubblewrap runs here; :class:`OpenJail` everywhere else."""

    def __init__(self, home: Path | None = None, program: str | None = None) -> None:
        self._home = Path(home or Path.home())
        self._program = program

    @functools.cached_property
    def _status(self) -> SandboxStatus:
        return probe(self._program)

    def status(self) -> SandboxStatus:
        """Whether bubblewrap confines runs here (probed once: it runs a jail)."""
        return self._status

    def jail(self, bounds: RunBounds) -> Jail:
        """The run's jail: bubblewrap's when it works here, else one that wraps nothing."""
        status = self.status()
        if not status.enforced or status.tool is None:
            return OpenJail()
        return BubblewrapJail(status.tool, bounds, self._home)


#: Without a jail, what keeps a run's processes from outliving the engine: a shell that
#: the kernel sends SIGTERM when the engine dies (``setpriv --pdeathsig``), and that then
#: kills the command's process group — the command and every child it started. The
#: command gets a session of its own (``setsid``) so that the group is only its own.
_REAPER = (
    # fd 3 carries the standard input through: a command sent to the background would
    # otherwise read /dev/null (and an agent talks to Cockpit on its standard input).
    "exec 3<&0; trap 'kill -KILL -$pid 2>/dev/null; exit 143' TERM;"
    ' setsid "$@" <&3 3<&- & pid=$!; exec 3<&-; wait $pid'
)


class OpenJail:
    """No sandbox: commands run unconfined and the guard alone stands; they still die
    with the engine (see :data:`_REAPER`)."""

    enforced = False

    def __init__(self) -> None:
        self._setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None

    def wrap(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        network: bool | None = None,
        writable: Sequence[Path] = (),
    ) -> list[str]:
        """``argv`` under a shell that dies, with its process group, with the engine."""
        if self._setpriv is None:
            return list(argv)
        return [self._setpriv, "--pdeathsig", "TERM", "--", "/bin/sh", "-c", _REAPER, "sh", *argv]

    def shell_line(self, command: str) -> str:
        """``command`` unchanged."""
        return command

    async def enter(self) -> None:
        """Nothing to prepare."""

    async def leave(self) -> str | None:
        """Nothing to carry back."""
        return None


class BubblewrapJail:
    """One run's bubblewrap jail (see the module's docstring for what it allows)."""

    enforced = True

    def __init__(self, program: str, bounds: RunBounds, home: Path) -> None:
        self._program = program
        self._bounds = bounds
        self._home = home
        self._worktree = Path(os.path.realpath(bounds.worktree))
        # Found on first use: the jail is made before the run's worktree is.
        self._git: tuple[Path, Path] | None = None
        self._view: _BranchView | None = None

    def _places(self) -> tuple[Path, Path] | None:
        if self._git is None:
            self._git = _git_places(self._worktree)
            self._view = _BranchView.of(self._bounds, self._git)
        return self._git

    def wrap(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        network: bool | None = None,
        writable: Sequence[Path] = (),
    ) -> list[str]:
        """``argv`` under bubblewrap with the run's bounds."""
        network = self._bounds.network if network is None else network
        args = [self._program, "--die-with-parent", "--unshare-pid"]
        if not network:
            args.append("--unshare-net")
        # Order matters: a later mount hides what an earlier one put at or under its path
        # (the private /tmp must come before a worktree that lives under /tmp).
        args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for shown in _programs_in_tmp(argv):
            args += ["--ro-bind", str(shown), str(shown)]
        if _in_private_tmp(self._home) and self._home.is_dir():
            # Shown as it is, read-only: hiding credentials below would otherwise make
            # an empty, writable home in a private /tmp that silently takes writes.
            args += ["--ro-bind", str(self._home), str(self._home)]
        for name in CREDENTIALS:
            path = self._home / name
            if path.is_dir():
                args += ["--tmpfs", str(path)]
            elif path.exists():
                args += ["--ro-bind", "/dev/null", str(path)]
        git = self._places()
        if git is not None:
            common, private = git
            # The main checkout read-only (not only its .git): under /tmp a folder made
            # just to hold the .git mount would take writes silently, into the jail's
            # own /tmp; read-only, they fail and the agent is told.
            shown = common.parent if common.name == ".git" else common
            if _in_private_tmp(shown):  # elsewhere "/" shows it already (each mount costs)
                args += ["--ro-bind", str(shown), str(shown)]
            args += ["--bind", str(common / "objects"), str(common / "objects")]
            args += ["--bind", str(private), str(private)]
            if self._view is not None:
                args += self._view.mounts(common)
        if _in_private_tmp(self._worktree):
            # The folder holding the worktree read-only, as it is outside /tmp: else the
            # private /tmp holds an empty one that takes `../x` writes silently.
            parent = str(self._worktree.parent)
            args += ["--ro-bind", parent, parent]
        args += ["--bind", str(self._worktree), str(self._worktree)]
        for folder in [*self._bounds.writable, *writable]:
            folder.mkdir(parents=True, exist_ok=True)
            args += ["--bind", str(folder), str(folder)]
        for name, value in GIT_IN_JAIL.items():
            args += ["--setenv", name, value]
        args += ["--chdir", str(cwd or self._worktree), "--", *argv]
        return args

    def shell_line(self, command: str) -> str:
        """``command`` in a network namespace of its own when the run's commands have no
        network (a jail in the jail: the file system as the outer one shows it)."""
        if self._bounds.network:
            return command
        inner = [self._program, "--unshare-net", "--dev-bind", "/", "/", "--die-with-parent"]
        shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"  # agents write bash
        return " ".join(shlex.quote(a) for a in [*inner, "--", shell, "-c", command])

    async def enter(self) -> None:
        """Show the jail the run's branch at its current commit."""
        git = self._places()
        if self._view is not None and git is not None:
            await self._view.enter(self._worktree, git[0])

    async def leave(self) -> str | None:
        """Carry a commit made inside the jail back to the run's branch."""
        if self._view is None:
            return None
        return await self._view.leave(self._worktree)


def _in_private_tmp(path: Path) -> bool:
    """Whether ``path`` is under ``/tmp``, which every jail replaces with its own."""
    return path == Path("/tmp") or Path("/tmp") in path.parents


@functools.cache
def _installs_in_tmp(path_variable: str) -> tuple[Path, ...]:
    """Cockpit's own Python and the folders of ``PATH`` that live under ``/tmp`` (a
    checkout there, as CI may make one): shown read-only in every jail, or the agents'
    programs and the tools their commands call would not be found."""
    found: list[Path] = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        found.append(Path(os.path.realpath(prefix)))
    for entry in path_variable.split(os.pathsep):
        if not entry:
            continue
        folder = Path(os.path.realpath(entry))
        # A bin folder's links point into its parent (a venv, node_modules).
        found.append(folder.parent if folder.name in ("bin", ".bin") else folder)
    return tuple(f for f in found if _in_private_tmp(f) and f.is_dir())


def _programs_in_tmp(argv: Sequence[str]) -> list[Path]:
    """What a command line needs shown that the private ``/tmp`` would hide: the
    installs above, and the program and files it names under ``/tmp`` (an npm package's
    whole ``node_modules``, a script's folder)."""
    shown = list(_installs_in_tmp(os.environ.get("PATH", "")))
    for word in argv:
        if not word.startswith("/tmp/") or not os.path.exists(word):
            continue
        real = Path(os.path.realpath(word))
        parts = real.parts
        if "node_modules" in parts:
            shown.append(Path(*parts[: parts.index("node_modules") + 1]))
        else:
            shown.append(real if real.is_dir() else real.parent)
    # Outermost first, each once: a folder inside one already shown needs no mount.
    kept: list[Path] = []
    for path in sorted(set(shown), key=lambda p: len(p.parts)):
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


def _git_places(worktree: Path) -> tuple[Path, Path] | None:
    """The repo's common git folder and the worktree's own, read from its ``.git`` file
    (None when the worktree is not a linked worktree)."""
    try:
        pointer = (worktree / ".git").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not pointer.startswith("gitdir:"):
        return None
    private = Path(os.path.realpath(worktree / pointer.removeprefix("gitdir:").strip()))
    try:
        common = (private / (private / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except OSError:
        return None
    return common, private


class _BranchView:
    """A folder standing in for the folder of the run's ref inside the jail."""

    def __init__(self, branch: str, folder: str, name: str, scratch: Path) -> None:
        self.branch = branch
        self._folder = folder  # e.g. "cockpit" for cockpit/RUN
        self._name = name
        self._refs = scratch / "refs"
        self._logs = scratch / "logs"
        self._entered: str | None = None

    @classmethod
    def of(cls, bounds: RunBounds, git: tuple[Path, Path] | None) -> _BranchView | None:
        branch = bounds.branch
        # A branch in a folder of its own (cockpit/RUN): a branch at the top of
        # refs/heads would need the view over every branch's folder.
        if git is None or bounds.scratch is None or not branch or "/" not in branch:
            return None
        folder, _, name = branch.rpartition("/")
        return cls(branch, folder, name, bounds.scratch / "branch-view")

    def mounts(self, common: Path) -> list[str]:
        args: list[str] = []
        for view, real in (
            (self._refs, common / "refs" / "heads" / self._folder),
            (self._logs, common / "logs" / "refs" / "heads" / self._folder),
        ):
            # bubblewrap mounts over an existing folder only (the rest is read-only).
            view.mkdir(parents=True, exist_ok=True)
            real.mkdir(parents=True, exist_ok=True)
            args += ["--bind", str(view), str(real)]
        return args

    async def enter(self, worktree: Path, common: Path) -> None:
        # Around every command: the loose ref is read as a file (a git process costs
        # milliseconds); a packed one, by git.
        sha = await asyncio.to_thread(_loose_ref, common, f"refs/heads/{self.branch}")
        if sha is None:
            sha = await _rev(worktree, f"refs/heads/{self.branch}")
        self._entered = sha
        await asyncio.to_thread(self._write, sha)

    def _write(self, sha: str | None) -> None:
        # Emptied, never removed: a long-lived jail has the folders mounted, and a new
        # folder in their place would not be seen inside.
        for folder in (self._refs, self._logs):
            folder.mkdir(parents=True, exist_ok=True)
            for entry in folder.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        if sha is not None:
            (self._refs / self._name).write_text(f"{sha}\n", encoding="ascii")

    async def leave(self, worktree: Path) -> str | None:
        try:
            text = (self._refs / self._name).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None  # deleted inside: the real branch was never at risk
        if not text or text == self._entered:
            return None
        if await _rev(worktree, f"{text}^{{commit}}") is None:
            return f"the branch was set to {text[:40]!r}, which is no commit: left as it was"
        old = self._entered or ""
        code, out = await _git(worktree, "update-ref", f"refs/heads/{self.branch}", text, old)
        if code != 0:
            return f"the branch moved meanwhile; the commit made inside ({text[:12]}) was not kept: {out}"
        self._entered = text
        return None


def _loose_ref(common: Path, ref: str) -> str | None:
    """The commit a loose ref file names (None: packed, symbolic or missing)."""
    try:
        text = (common / ref).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else None


async def _rev(worktree: Path, ref: str) -> str | None:
    code, out = await _git(worktree, "rev-parse", "-q", "--verify", ref)
    return out if code == 0 and out else None


async def _git(cwd: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=str(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", errors="replace").strip()


#: The namespaces and mounts every jail has: a trial jail must start with them.
_TRIAL = (
    "--die-with-parent",
    "--unshare-pid",
    "--unshare-net",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
)


def probe(program: str | None = None) -> SandboxStatus:
    """Whether bubblewrap can make a jail here: found, and a jail of the kind runs use
    (its own process and network namespaces) actually starts."""
    found = shutil.which(program or "bwrap")
    if found is None:
        return SandboxStatus(
            False, "bubblewrap (bwrap) not found: runs are confined by the guard alone"
        )
    try:
        version = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
        trial = subprocess.run(
            [found, *_TRIAL, "--", "true"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus(False, f"bubblewrap did not start ({exc}): the guard alone stands")
    if trial.returncode != 0:
        why = (trial.stderr.strip().splitlines() or [f"exit {trial.returncode}"])[-1]
        return SandboxStatus(
            False, f"bubblewrap is refused here ({why}): runs are confined by the guard alone"
        )
    return SandboxStatus(True, version or "bubblewrap", found)
