"""Review decisions that were cut short, finished or undone from their journal.

A decision (approve, reject) journals itself before it moves any ref (see
:mod:`engine.services.journal`). Whoever next touches the workspace's repos (listing
runs, a new decision, an engine starting) calls :func:`recover_decisions`, which for
every journal whose process is gone settles things so that:

* the base branch is at its old commit or at the merge, never elsewhere because of us;
* where the base is checked out, the files the merge touched are what its ``HEAD``
  holds, index included (files holding someone's own edits are left alone);
* the run is recorded approved exactly when the base has the merge: recorded if it has
  it and was not, never recorded if it has not (the run can be approved again);
* once recorded, the run's worktree and branch are gone;
* no git process the dead decision started is still running, and none of the lock files
  a killed git leaves blocks the repo (removed only while no git works in it).

Every step can itself be killed and run again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from engine.domain.errors import GitError
from engine.domain.events import ReviewDecided
from engine.services.journal import Busy, Entry, Held, Journal

if TYPE_CHECKING:
    from engine.services.engine import Engine

log = logging.getLogger(__name__)

#: ``PHASE@FILE``: the decision stops at ``PHASE``, writes its pid to ``FILE`` and waits
#: there until ``FILE`` is deleted: a test kills it at exactly that moment, or changes
#: something and lets it go on.
PAUSE_ENV = "COCKPIT_TEST_PAUSE"


def journal_of(engine: Engine) -> Journal:
    """The workspace's decision journals."""
    return Journal(engine.workspace.state_dir / "journal")


def tag_of(run_id: str) -> str:
    """What every git process deciding ``run_id`` carries in its environment (then the
    deciding process's pid)."""
    return f"decision-{run_id}:"


def own_tag(run_id: str) -> str:
    """This process's mark on its git processes deciding ``run_id``."""
    return f"{tag_of(run_id)}{os.getpid()}"


async def checkpoint(phase: str) -> None:
    """A named point of a decision, where ``COCKPIT_TEST_PAUSE=PHASE@FILE`` stops it
    (see :data:`PAUSE_ENV`); nothing otherwise."""
    wanted = os.environ.get(PAUSE_ENV, "")
    name, _, marker = wanted.partition("@")
    if name != phase or not marker:
        return
    await asyncio.to_thread(Path(marker).write_text, str(os.getpid()))
    while await asyncio.to_thread(Path(marker).exists):
        await asyncio.sleep(0.05)


async def record(engine: Engine, event: ReviewDecided) -> None:
    """Store the decision as the run's newest event (no engine owns a finished run)."""
    await engine._bus.track(event.run_id)
    engine._bus.emit(event)
    await engine._bus.flush()


async def decision_of(engine: Engine, run_id: str) -> ReviewDecided | None:
    """The run's recorded review decision, if any."""
    for event in await engine._store.events_for(run_id):
        if isinstance(event, ReviewDecided):
            return event
    return None


async def recover_decisions(engine: Engine) -> None:
    """Finish or undo every decision whose process died (see the module's docstring);
    one that cannot be settled now (a live git works in its repo) is left for the next
    command, with a warning. Decisions of live processes are left alone."""
    journal = journal_of(engine)
    for run_id in await journal.pending():
        try:
            async with journal.hold(run_id) as held:
                await settle_decision(engine, held)
        except Busy:
            continue
        except Exception as exc:
            log.warning("run %s: a decision cut short is not settled yet: %s", run_id, exc)


async def settle_decision(engine: Engine, held: Held) -> None:
    """Finish or undo the decision journaled in ``held`` (its lock is ours), then drop
    the journal."""
    entry = await held.read()
    if entry is None:  # killed before the first entry was written: nothing happened
        await held.finish()
        return
    merges = engine.merges
    repo = Path(entry.repo)
    with merges.tied(own_tag(entry.run)):
        checkout = Path(entry.checkout) if entry.checkout else None
        cleared = await merges.clear_leftovers(
            repo,
            tag_of(entry.run),
            own_tag(entry.run),
            [entry.base, entry.branch],
            checkout,
            Path(entry.worktree),
        )
        if not cleared:
            raise GitError(f"a git process is at work in {repo}; its locks are left alone")
        decided = await decision_of(engine, entry.run)
        if entry.merge is None or entry.old is None:
            # No merge commit was made: nothing of the base moved. A decision already
            # recorded (a reject, or an approval with nothing to merge) was only cut short
            # while cleaning up.
            if decided is not None:
                await merges.discard(repo, Path(entry.worktree), entry.branch)
            await held.finish()
            return
        await _settle_merge(engine, entry, decided is not None)
    await held.finish()


async def _settle_merge(engine: Engine, entry: Entry, recorded: bool) -> None:
    """An approval that had made its merge commit: done if the base has it, else
    undone; the checkout is brought to the base either way."""
    assert entry.merge is not None and entry.old is not None
    merges = engine.merges
    repo = Path(entry.repo)
    tip = await engine._worktrees.resolve(repo, f"refs/heads/{entry.base}")
    landed = tip == entry.merge or await merges.contains(repo, tip, entry.merge)
    checkout = await merges.checkout_of(repo, entry.base)
    # Only while the base is at one of the two ends: anything else is someone's own
    # commit, and their checkout is theirs to look after.
    if checkout is not None and tip in (entry.old, entry.merge):
        kept = await merges.settle(checkout, entry.old, entry.merge)
        if kept:
            log.warning(
                "%s: %d file(s) hold edits made during the approval of run %s and were"
                " left as they are: %s",
                checkout,
                len(kept),
                entry.run,
                ", ".join(kept[:8]),
            )
    if not landed:
        return  # undone: the run was not recorded and can be approved again
    if not recorded:
        await record(
            engine,
            ReviewDecided(
                run_id=entry.run,
                decision="approved",
                base=entry.base,
                sha=entry.merge,
                squash=entry.squash,
                gates_overridden=entry.gates_overridden,
                merged=True,
            ),
        )
    await merges.discard(repo, Path(entry.worktree), entry.branch)
