"""The decision journal on disk: one holder per run, entries replaced whole, gone once
finished."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from engine.services.journal import Busy, Entry, Journal


def entry(run: str = "r1") -> Entry:
    return Entry("approve", run, "/repo", "main", f"cockpit/{run}", f"/wt/{run}")


async def test_one_holder_per_run_and_the_journal_survives_its_holder(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    async with journal.hold("r1") as held:
        with pytest.raises(Busy):
            async with journal.hold("r1"):
                pass
        async with journal.hold("r2"):  # another run: its own lock
            pass
        await held.write(entry())
        await held.write(entry().merging("a" * 40, "b" * 40, Path("/repo"), True, ["ruff"]))
    assert await journal.pending() == ["r1"]
    on_disk = json.loads((tmp_path / "journal" / "r1.json").read_text())
    assert on_disk["version"] == 1 and on_disk["phase"] == "merging"
    async with journal.hold("r1") as held:  # its holder is gone: the next one reads it
        read = await held.read()
        assert read is not None
        assert (read.old, read.merge, read.checkout) == ("a" * 40, "b" * 40, "/repo")
        assert read.squash and read.gates_overridden == ["ruff"]
        await held.finish()
    assert await journal.pending() == []
    assert list((tmp_path / "journal").iterdir()) == []


async def test_a_lock_left_by_a_holder_that_finished_is_not_trusted(tmp_path: Path) -> None:
    """A process that opened the lock file just before its holder finished (and unlinked
    it) gets a lock on a file nobody else sees: it must take the path's new file."""
    folder = tmp_path / "journal"
    journal = Journal(folder)
    async with journal.hold("r1"):
        orphan = os.open(folder / "r1.lock", os.O_RDWR)
    # The holder is gone and so is the file: the orphan descriptor locks fine...
    fcntl.flock(orphan, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        # ...and excludes nobody: the next holder takes a new file at the path.
        async with journal.hold("r1") as held:
            await held.write(entry())
            assert (folder / "r1.lock").exists()
            with pytest.raises(Busy):
                async with journal.hold("r1"):
                    pass
            await held.finish()
    finally:
        os.close(orphan)
    assert list(folder.iterdir()) == []
