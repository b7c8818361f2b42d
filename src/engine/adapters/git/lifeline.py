"""Git processes that die with the process that started them, while a review decision
is being carried out.

A ``kill -9`` of ``cockpit approve`` must not leave a ``git read-tree`` or ``git worktree
remove`` running on: it would go on changing files and holding locks that the next
command's recovery has to trust are stale. Inside :func:`tied`, every git process
:func:`spawn_options` prepares (``git_exit`` asks it for each one) gets two things:

* the kernel's parent-death signal (``PR_SET_PDEATHSIG``, Linux), so it is killed the
  moment this process dies, however it dies; set by ``setpriv`` from util-linux when
  present (an ``exec`` more), else by a ``preexec_fn`` (which makes Python fork the whole
  interpreter instead of using ``vfork``: about 10 ms per git call in a big process);
* a mark in its environment, ``COCKPIT_DECISION=TAG``, inherited by anything it starts,
  so recovery can find and end such a process should one ever outlive its parent (the
  window between ``fork`` and the ``prctl``, or a platform without the signal).

Outside :func:`tied` nothing changes: ordinary git calls (the cockpit polling ``git
status``) pay nothing.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Generator
from contextvars import ContextVar

from engine.adapters.process import die_with_parent

#: The environment variable marking a decision's git processes.
MARK = "COCKPIT_DECISION"

_tag: ContextVar[str | None] = ContextVar("cockpit_decision_tag", default=None)

#: Whether ``setpriv --pdeathsig`` works here: None until first asked.
_setpriv: list[str] | None = None


@contextlib.contextmanager
def tied(tag: str) -> Generator[None]:
    """Within this block (this task and the tasks it starts), git processes die with
    this process and carry ``COCKPIT_DECISION=tag``."""
    token = _tag.set(tag)
    try:
        yield
    finally:
        _tag.reset(token)


def spawn_options(cmd: tuple[str, ...], env: dict[str, str]) -> tuple[tuple[str, ...], dict]:
    """The command to start and extra ``create_subprocess_exec`` keywords for ``cmd``;
    marks ``env`` when inside :func:`tied`. Outside, ``cmd`` as it is and no keywords."""
    tag = _tag.get()
    if tag is None:
        return cmd, {}
    env[MARK] = tag
    if not sys.platform.startswith("linux"):
        return cmd, {}  # no parent-death signal: recovery's scan is the only net
    wrapper = _setpriv_prefix()
    if wrapper:
        return (*wrapper, *cmd), {}
    return cmd, {"preexec_fn": die_with_parent()}


def _setpriv_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL --`` when this machine's setpriv knows the option
    (util-linux 2.33+); asked once per process (a ~2 ms check)."""
    global _setpriv
    if _setpriv is None:
        _setpriv = []
        path = shutil.which("setpriv")
        if path:
            probe = [path, "--pdeathsig", "KILL", "--"]
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                done = subprocess.run([*probe, "true"], capture_output=True, timeout=5)
                if done.returncode == 0:
                    _setpriv = probe
    return _setpriv
