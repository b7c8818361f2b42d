"""The guard's default rules, one module per family. Each is a :data:`Check`: given the
call and every simple command of its command line, the reason it decides, or None.
:class:`engine.guard.policy.Policy` tries them in order; how they read a command's words
is shared in :mod:`engine.guard.rules.argv`."""

from __future__ import annotations

from collections.abc import Callable

from engine.guard.command import Simple
from engine.guard.paths import Call

#: A default rule's check: the reason it decides (its rule's decision), or None.
Check = Callable[[Call, list[Simple]], str | None]
