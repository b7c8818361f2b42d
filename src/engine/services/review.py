"""A finished run's last step, decided by the human: approve (merge its branch into the
repo's base branch) or reject (save its work, remove its worktree and branch).

Approval checks everything before any ref moves: the run's blocking gates on its final
tree (unless overridden, which is recorded), a clean checkout wherever the base branch
is checked out, and the merge itself worked out in memory, so a conflict leaves both
branches, the index and every file as they were.

A decision is journaled before any ref moves and its git processes die with it, so one
killed at any moment is finished or undone by the next command that touches the repo
(see :mod:`engine.services.decisions`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from engine.domain.errors import BadInput, GatesRed, GitError, ReviewRefused
from engine.domain.events import ReviewDecided
from engine.domain.models import Run, turn_ref, utcnow
from engine.domain.review import WHOLE_RUN, Approval, Span
from engine.domain.state import RunState
from engine.services.decisions import (
    checkpoint,
    decision_of,
    journal_of,
    own_tag,
    record,
    recover_decisions,
    settle_decision,
)
from engine.services.journal import Busy, Entry, Held

if TYPE_CHECKING:
    from engine.services.engine import Engine

log = logging.getLogger(__name__)

#: Files named in a refusal's one line before "and N more".
SHOWN_FILES = 8


def _files(paths: list[str]) -> str:
    more = len(paths) - SHOWN_FILES
    return ", ".join(paths[:SHOWN_FILES]) + (f" and {more} more" if more > 0 else "")


async def _decidable(engine: Engine, ref: str) -> Run:
    """The run, if a review decision can be made on it now."""
    run = await engine.resolve_run(ref)
    for event in await engine._store.events_for(run.id):
        if isinstance(event, ReviewDecided):
            raise BadInput(f"run {run.id} was already {event.decision}")
    if run.state is not RunState.FINISHED:
        raise BadInput(
            f"run {run.id} is {run.state.value.replace('_', ' ')}; only a finished run"
            " can be approved or rejected"
        )
    if run.worktree is None or run.base_sha is None or not Path(run.worktree).is_dir():
        raise BadInput(f"run {run.id} has no worktree left to review")
    return run


@contextlib.asynccontextmanager
async def _deciding(engine: Engine, run_id: str) -> AsyncGenerator[Held]:
    """This process alone decides ``run_id`` for the block, and the git processes it
    starts meanwhile die with it. A journal left by an earlier decision of the run that
    recovery could not settle is settled first (or the decision refused, saying why)."""
    journal = journal_of(engine)
    try:
        async with journal.hold(run_id) as held:
            if await held.read() is not None:
                try:
                    await settle_decision(engine, held)
                except GitError as exc:
                    raise ReviewRefused(
                        f"run {run_id}: an earlier decision was cut short and cannot be"
                        f" finished yet ({exc}); try again"
                    ) from None
        async with journal.hold(run_id) as held:
            with engine.merges.tied(own_tag(run_id)):
                yield held
    except Busy:
        raise BadInput(f"run {run_id} is being decided by another Cockpit right now") from None


async def _unwind(engine: Engine, held: Held) -> None:
    """A decision failed (or was cancelled) part-way: finish or undo what it started,
    as recovery would; a journal that cannot be settled now stays for the next command."""
    if held.finished:
        return
    entry = await held.read()
    if entry is None or (entry.merge is None and await decision_of(engine, entry.run) is None):
        # No merge commit yet and nothing recorded: nothing of the base moved (edits
        # committed to the run's own branch stay, as they would have anyway).
        await held.finish()
        return
    try:
        await settle_decision(engine, held)
    except Exception as exc:
        log.warning("run %s: a failed decision is not settled yet: %s", entry.run, exc)


async def approve(
    engine: Engine, ref: str, *, squash: bool | None = None, override_gates: bool = False
) -> Approval:
    """Merge a finished run's branch into its repo's base branch (a merge commit, or one
    squashed commit: ``squash``, default the repo's ``merge`` setting). Raises
    :class:`ReviewRefused` (nothing moved) on red blocking gates without
    ``override_gates``, a dirty checkout of the base branch, or a conflict.

    Journaled before any ref moves (see :mod:`engine.services.decisions`): killed at
    any moment, the next command finds the base at its old commit or at the merge, and
    the run recorded approved exactly when it is at the merge."""
    await recover_decisions(engine)
    run_id = (await engine.resolve_run(ref)).id
    async with _deciding(engine, run_id) as held:
        run = await _decidable(engine, run_id)
        entry = Entry(
            decision="approve",
            run=run.id,
            repo=str(engine.workspace.repo_path(run.repo)),
            base=engine.workspace.repo(run.repo).base,
            branch=run.branch,
            worktree=str(run.worktree),
        )
        await held.write(entry)
        await checkpoint("begun")
        try:
            done = await _approve(engine, run, held, entry, squash, override_gates)
        except BaseException:
            await _unwind(engine, held)
            raise
        await held.finish()
        return done


async def _approve(
    engine: Engine,
    run: Run,
    held: Held,
    entry: Entry,
    squash: bool | None,
    override_gates: bool,
) -> Approval:
    """The approval itself, its journal begun."""
    config = engine.workspace.repo(run.repo)
    squash = config.merge == "squash" if squash is None else squash
    repo = Path(entry.repo)
    merges = engine.merges

    # No process of the run may still be writing in its worktree (an earlier execution
    # whose engine died): what is approved is what the human saw.
    await engine.end_run_processes(run.id)
    # Edits made in the worktree after the run (by the human) are part of what is approved.
    await engine._worktrees.commit_work(
        Path(run.worktree or ""), f"cockpit run {run.id}: changes made after the run"
    )
    _, results = await engine.check_gates(run.id)
    red = [r.name for r in results if r.holds_back]
    if red and not override_gates:
        raise GatesRed(
            f"run {run.id}: blocking gates are red ({', '.join(red)}); fix them, or approve"
            " with --override-gates (recorded)",
            red,
        )
    checkout = await merges.checkout_of(repo, config.base)
    if checkout is not None:
        status = await engine._worktrees.status(checkout)
        if not status.clean:
            paths = [path for _, path in status.dirty]
            raise ReviewRefused(
                f"{config.base} is checked out in {checkout} with uncommitted changes"
                f" ({_files(paths)}); commit or stash them, then approve again"
            )
    base_sha = await engine._worktrees.resolve(repo, f"refs/heads/{config.base}")
    preview = await merges.preview(repo, base_sha, run.branch)
    if preview.tree is None:
        raise ReviewRefused(
            f"run {run.id}: merging {run.branch} into {config.base} conflicts in"
            f" {_files(preview.conflicts)}; nothing was changed"
        )
    merged = not preview.unchanged
    sha = base_sha  # the base already has every change: no empty merge commit is made
    if merged:
        sha = await _merge_commit(engine, run, repo, preview.tree, base_sha, squash, red)
        await held.write(entry.merging(base_sha, sha, checkout, squash, red))
        await checkpoint("merge-made")
        await _land(engine, run, repo, checkout, base_sha, sha)
    await record(
        engine,
        ReviewDecided(
            run_id=run.id,
            decision="approved",
            base=config.base,
            sha=sha,
            squash=squash,
            gates_overridden=red,
            merged=merged,
        ),
    )
    await checkpoint("recorded")
    # Approved: the worktree and branch have nothing left that the base does not hold.
    await merges.discard(repo, Path(run.worktree or ""), run.branch)
    await checkpoint("discarded")
    return Approval(run.id, config.base, sha, squash, red, merged=merged)


async def _land(
    engine: Engine, run: Run, repo: Path, checkout: Path | None, old: str, new: str
) -> None:
    """Bring the checkout of the base (if any) to the merge, then move the base there
    (compare-and-swap): the move is the moment the approval happens."""
    merges = engine.merges
    base = engine.workspace.repo(run.repo).base
    if checkout is not None:
        await merges.update_checkout(checkout, old, new)
        await checkpoint("checkout-updated")
    try:
        await merges.move_branch(repo, base, new, old, f"cockpit approve {run.id}")
    except GitError:
        if checkout is not None:  # its files back to what they were
            await merges.settle(checkout, old, new, onto=old)
        raise ReviewRefused(
            f"run {run.id}: {base} moved while the merge was made; nothing was merged,"
            " approve again"
        ) from None
    await checkpoint("base-moved")


async def _merge_commit(
    engine: Engine, run: Run, repo: Path, tree: str, base_sha: str, squash: bool, red: list[str]
) -> str:
    """The commit landing the run on its base: a merge of its branch, or one squashed
    commit, saying which gates were overridden if any."""
    title = run.task.strip().splitlines()[0][:72]
    if squash:
        message = f"{title}\n\nSquashed from cockpit run {run.id} ({run.branch})."
        parents = [base_sha]
    else:
        branch_sha = await engine._worktrees.resolve(repo, f"refs/heads/{run.branch}")
        message = f"Merge cockpit run {run.id}: {title}\n\nBranch {run.branch}."
        parents = [base_sha, branch_sha]
    if red:
        message += f"\nGates overridden at approval: {', '.join(red)}."
    return await engine.merges.commit(repo, tree, parents, message)


async def reject(engine: Engine, ref: str) -> Path:
    """Throw a finished run's work away, keeping a salvage bundle (the patch, untracked
    files and the branch's commits); returns the bundle's folder. Journaled like an
    approval: killed after the decision is recorded, the next command removes what is
    left of the worktree and the branch."""
    await recover_decisions(engine)
    run_id = (await engine.resolve_run(ref)).id
    async with _deciding(engine, run_id) as held:
        run = await _decidable(engine, run_id)
        assert run.worktree is not None and run.base_sha is not None
        repo = engine.workspace.repo_path(run.repo)
        await held.write(
            Entry(
                decision="reject",
                run=run.id,
                repo=str(repo),
                base=engine.workspace.repo(run.repo).base,
                branch=run.branch,
                worktree=run.worktree,
            )
        )
        try:
            stamp = f"{utcnow():%Y%m%dT%H%M%S}"
            dest = engine.workspace.salvage_dir / f"{run.id}-rejected-{stamp}"
            saved = await engine._worktrees.salvage(Path(run.worktree), run.base_sha, dest)
            # Recorded before the removal: were that to fail, the decision and the bundle
            # stand (and recovery finishes the removal).
            await record(
                engine,
                ReviewDecided(
                    run_id=run.id, decision="rejected", salvage=str(saved.path.resolve())
                ),
            )
            await checkpoint("recorded")
            await engine.merges.discard(repo, Path(run.worktree), run.branch)
        except BaseException:
            await _unwind(engine, held)
            raise
        await held.finish()
        return saved.path.resolve()


async def review_patch(
    engine: Engine, ref: str, span: Span = WHOLE_RUN, known: Run | None = None
) -> tuple[Run, str]:
    """The run and the diff text of ``span``: the run's branch (a finished run's final
    commit) against its base, or between turn snapshots.

    ``known`` is the run as the caller last read it (a screen opening on it): git is
    started at once with it, without waiting for the store, whose answer comes only once
    the event loop is free of drawing that screen.
    """
    run = known if known is not None and known.base_sha else await engine.resolve_run(ref)
    if run.base_sha is None:
        raise BadInput(f"run {run.id} has not started: there is nothing to review")
    repo = engine.workspace.repo_path(run.repo)
    if span.turns is None and run.decided:
        # Decided: its branch is gone; the whole run is its last turn's snapshot.
        if run.turns_completed < 1:
            raise BadInput(f"run {run.id} was {run.decision}; it left no snapshot to show")
        new = turn_ref(run.id, run.turns_completed)
        old = run.base_sha
    elif span.turns is None:
        new = f"refs/heads/{run.branch}"
        old = run.base_sha
    else:
        first, last = span.turns
        if not 1 <= last <= run.turns_completed or not 1 <= first <= last:
            raise BadInput(f"run {run.id} has turns 1–{run.turns_completed}")
        old = run.base_sha if first == 1 else turn_ref(run.id, first - 1)
        new = turn_ref(run.id, last)
    try:
        return run, await engine.merges.patch_between(repo, old, new)
    except GitError:
        if known is not None and not known.decided:
            fresh = await engine.resolve_run(run.id)
            if fresh.decided:  # decided since the caller read it: its branch is gone
                return await review_patch(engine, ref, span, known=fresh)
        await engine._worktrees.resolve(repo, new)  # one clear line if it is gone
        raise


async def already_merged(engine: Engine, run: Run) -> bool:
    """Whether the base already has every change of an undecided run's branch (approving
    it would merge nothing). Read-only: the merge is worked out in memory."""
    if run.decided or not run.branch:
        return False
    repo = engine.workspace.repo_path(run.repo)
    base = engine.workspace.repo(run.repo).base
    try:
        base_sha = await engine._worktrees.resolve(repo, f"refs/heads/{base}")
        preview = await engine.merges.preview(repo, base_sha, run.branch)
    except GitError:
        return False
    return preview.tree is not None and preview.unchanged


async def revert_parts(
    engine: Engine, ref: str, patches: list[str], restored: list[str], summary: str
) -> str | None:
    """Take rejected parts of a finished run out of its branch: reverse-apply
    ``patches`` (hunks or lines, whole-run diffs against the base) and make ``restored``
    files what they were at the base; then commit, saying so. Returns the commit (None
    when nothing changed)."""
    await recover_decisions(engine)
    run_id = (await engine.resolve_run(ref)).id
    # Held like a decision: an approval of the run cannot start half-way through this.
    async with _deciding(engine, run_id):
        run = await _decidable(engine, run_id)
        assert run.worktree is not None and run.base_sha is not None
        worktree = Path(run.worktree)
        # Edits the human made in the worktree first, so the revert commit holds only itself.
        await engine._worktrees.commit_work(
            worktree, f"cockpit run {run.id}: changes made after the run"
        )
        for patch in patches:
            await engine.merges.revert(worktree, patch)
        if restored:
            await engine.merges.restore(worktree, run.base_sha, restored)
        return await engine._worktrees.commit_work(worktree, f"Review: rejected {summary}")


class ReviewCommands:
    """The review decisions and reads as methods of the engine (a mixin of
    :class:`~engine.services.engine.Engine`): the API clients call."""

    async def approve(
        self, ref: str, *, squash: bool | None = None, override_gates: bool = False
    ) -> Approval:
        """See :func:`approve`."""
        return await approve(self._engine(), ref, squash=squash, override_gates=override_gates)

    async def reject(self, ref: str) -> Path:
        """See :func:`reject`."""
        return await reject(self._engine(), ref)

    async def revert_parts(
        self, ref: str, patches: list[str], restored: list[str], summary: str
    ) -> str | None:
        """See :func:`revert_parts`."""
        return await revert_parts(self._engine(), ref, patches, restored, summary)

    async def review_patch(
        self, ref: str, span: Span = WHOLE_RUN, known: Run | None = None
    ) -> tuple[Run, str]:
        """See :func:`review_patch`."""
        return await review_patch(self._engine(), ref, span, known)

    async def already_merged(self, run: Run) -> bool:
        """See :func:`already_merged`."""
        return await already_merged(self._engine(), run)

    def _engine(self) -> Engine:
        return cast("Engine", self)  # mixed into Engine only
