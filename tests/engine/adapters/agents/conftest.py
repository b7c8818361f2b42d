"""Fixtures of the agent backend tests."""

from __future__ import annotations

# Imported once here, not first inside a run: building acp's schema parses its source
# (pydantic's attribute docstrings). Python 3.11's ast.parse breaks ("AST constructor
# recursion depth mismatch") when a garbage collection in the middle of it reports an
# unraisable error (a subprocess transport left by an earlier test) and pytest's hook
# formats that traceback, which parses too; on xdist workers the first import could land
# in such a run (test_a_run_that_times_out_leaves_no_process[acp]).
import acp  # noqa: F401
