"""The run state machine: every legal transition is listed here; anything else raises."""

from __future__ import annotations

from enum import StrEnum

from engine.domain.errors import IllegalTransition


class RunState(StrEnum):
    """Lifecycle of a run. Terminal states: finished, failed, cancelled."""

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    WAITING_FOR_HUMAN = "waiting_for_human"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def is_terminal(self) -> bool:
        """Finished, failed and cancelled runs move no more by themselves (a failed one may
        be resumed, a finished one sent back with review comments)."""
        return self in TERMINAL

    @property
    def is_active(self) -> bool:
        """States in which an engine owns the run and must hold its lease."""
        return self in ACTIVE


TERMINAL = frozenset({RunState.FINISHED, RunState.FAILED, RunState.CANCELLED})
ACTIVE = frozenset({RunState.STARTING, RunState.RUNNING, RunState.WAITING_FOR_HUMAN})

_S = RunState
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    _S.QUEUED: frozenset({_S.STARTING, _S.CANCELLED}),
    _S.STARTING: frozenset({_S.RUNNING, _S.FAILED, _S.CANCELLED, _S.INTERRUPTED}),
    _S.RUNNING: frozenset(
        {_S.WAITING_FOR_HUMAN, _S.FINISHED, _S.FAILED, _S.CANCELLED, _S.INTERRUPTED}
    ),
    _S.WAITING_FOR_HUMAN: frozenset({_S.RUNNING, _S.FAILED, _S.CANCELLED, _S.INTERRUPTED}),
    # Resume puts an interrupted (or failed) run back in the queue; its worktree is kept.
    _S.INTERRUPTED: frozenset({_S.QUEUED, _S.CANCELLED}),
    _S.FAILED: frozenset({_S.QUEUED}),
    # Review comments send a finished run back to its agent (its worktree is kept).
    _S.FINISHED: frozenset({_S.QUEUED}),
    _S.CANCELLED: frozenset(),
}


def can_transition(old: RunState, new: RunState) -> bool:
    """Whether ``old -> new`` is a legal move."""
    return new in TRANSITIONS[old]


def transition(old: RunState, new: RunState) -> RunState:
    """Return ``new`` if ``old -> new`` is legal, else raise :class:`IllegalTransition`."""
    if not can_transition(old, new):
        raise IllegalTransition(f"a run cannot go from {old.value} to {new.value}")
    return new
