"""The run state machine."""

import itertools

import pytest

from engine.domain.errors import IllegalTransition
from engine.domain.state import TRANSITIONS, RunState, can_transition, transition


def test_happy_path_is_legal():
    path = [
        RunState.QUEUED,
        RunState.STARTING,
        RunState.RUNNING,
        RunState.WAITING_FOR_HUMAN,
        RunState.RUNNING,
        RunState.FINISHED,
    ]
    for old, new in itertools.pairwise(path):
        assert transition(old, new) is new


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (RunState.FINISHED, RunState.RUNNING),
        (RunState.CANCELLED, RunState.QUEUED),
        (RunState.QUEUED, RunState.RUNNING),
        (RunState.QUEUED, RunState.FINISHED),
        (RunState.INTERRUPTED, RunState.RUNNING),
    ],
)
def test_illegal_transitions_raise(old, new):
    with pytest.raises(IllegalTransition, match=f"{old.value} to {new.value}"):
        transition(old, new)


def test_every_state_has_an_entry_and_terminal_states_only_go_back_to_the_queue():
    assert set(TRANSITIONS) == set(RunState)
    # A finished run goes back to the queue only when review comments send it back.
    assert TRANSITIONS[RunState.FINISHED] == {RunState.QUEUED}
    assert not TRANSITIONS[RunState.CANCELLED]
    assert can_transition(RunState.INTERRUPTED, RunState.QUEUED)
    assert RunState.FAILED.is_terminal and not RunState.INTERRUPTED.is_terminal
