"""The guard: every tool call of every backend is judged here before it runs.

The workspace's ``[[guard.rules]]`` come first (the first that matches decides, so a user
can allow what a default refuses); then the default rules, each of which can be turned
off by name in ``[guard] disable``. Shell commands are taken apart (``engine.guard.shell``)
so quoting, ``&&``, pipes, subshells and ``sh -c`` do not hide what runs; paths are
resolved (``~`` and ``$HOME`` expanded, ``cd`` followed, symlinks followed) against the
run's worktree. Most default rules deny; those over calls a human may well want to let
through (a release, a cloud change, a global install) ask.

The package: :mod:`~engine.guard.shell` reads a command line (with
:mod:`~engine.guard.lexer`, :mod:`~engine.guard.command` and
:mod:`~engine.guard.interpreters`); :mod:`~engine.guard.paths` resolves paths against
the worktree; :mod:`engine.guard.rules` holds the default rules, a module per family;
:mod:`~engine.guard.policy` tries the workspace's rules, then the defaults.
"""

from __future__ import annotations

from engine.guard.policy import Policy

__all__ = ["Policy"]
