"""The headless ``cockpit`` command line: its output and exit codes are an API, and it
never imports Textual. Every error becomes one line on stderr and an exit code:
0 success, 1 the thing ran and did not succeed, 2 bad input.

``cockpit.main`` is the ``cockpit`` command: it adds the sub-commands that open the
full-screen cockpit to the ones here."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from cockpit.cli.errors import one_line
from cockpit.cli.parser import build_parser
from cockpit.cli.table import COMMANDS, Handler
from engine.domain.errors import BadInput, CockpitError
from engine.domain.redact import KEY_VARIABLES, Redactor

__all__ = ["COMMANDS", "Handler", "build_parser", "main"]


def main(
    argv: Sequence[str] | None = None, front_ends: Mapping[str | None, Handler] | None = None
) -> int:
    """Parse ``argv``, run its sub-command (from ``COMMANDS``, or from ``front_ends``:
    the ones that open a user interface, keyed by name, ``None`` for no sub-command)
    and return the exit code."""
    try:
        args = build_parser().parse_args(argv)
        handler = COMMANDS.get(args.command) or (front_ends or {}).get(args.command)
        if handler is None:
            # Only when called without the front ends (`cockpit` itself has them).
            what = f"{args.command}: " if args.command else ""
            raise BadInput(f"{what}the headless command line cannot open the cockpit")
        return handler(args)
    except BrokenPipeError:
        # The reader went away (`cockpit runs | head`): nothing more to say to it, and
        # Python's own flush at exit must not fail on the closed pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CockpitError, OSError) as exc:
        said = one_line(exc)
        if said is None:
            raise
        return _error(*said)
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130


def _error(error: object, code: int) -> int:
    """Print ``error`` as the one line on stderr (masked: it may quote a task) and return
    the exit code."""
    line = Redactor(os.environ.get(name) for name in KEY_VARIABLES).text(str(error))
    print(f"cockpit: {line}", file=sys.stderr)
    return code
