"""The snapshot workspaces sit at fixed paths under the temp folder (the header shows the
workspace root), so two tests building one at once, on two xdist workers or in two
pytest runs on one machine, would remove each other's: one snapshot test at a time."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

LOCK = Path(tempfile.gettempdir()) / "cockpit-snapshots.lock"


@pytest.fixture(autouse=True)
def _one_snapshot_test_at_a_time() -> Iterator[None]:
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
