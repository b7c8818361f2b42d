"""A run's facts folded from its events (``engine.domain.facts``): the totals and the
latest verdicts of its whole history, each event folded once, whoever folds it."""

from __future__ import annotations

from datetime import timedelta

from builders import eventful_run
from engine.domain import codec
from engine.domain.events import (
    AgentText,
    Event,
    GateDecided,
    GuardDecided,
    HumanAsked,
    ReviewDecided,
    RunStateChanged,
    UsageReported,
)
from engine.domain.facts import FACT_TYPES, RunFacts
from engine.domain.models import utcnow
from engine.domain.state import RunState

EVENTS = 700


def folded(events: list[Event], facts: RunFacts | None = None) -> RunFacts:
    facts = facts if facts is not None else RunFacts()
    for event in events:
        facts.apply(event)
    return facts


def test_the_facts_are_those_of_the_whole_history() -> None:
    _, events = eventful_run("r1", "app", EVENTS)
    facts = folded(events)
    usage = [e for e in events if isinstance(e, UsageReported)]
    guard = [e for e in events if isinstance(e, GuardDecided)]
    assert len(usage) > 100  # far more than one page's worth of the run
    assert facts.input_tokens == 10 * len(usage)
    assert facts.output_tokens == 3 * len(usage)
    assert facts.cost_usd is not None and abs(facts.cost_usd - 0.01 * len(usage)) < 1e-9
    refused = sum(e.outcome == "refused" for e in guard)
    assert facts.guard == {
        "no-rm": {"refused": refused},
        "ask-net": {"allowed": len(guard) - refused},
    }
    # The latest verdict of each gate: "tests" failed early and passed last.
    assert {name: g.status for name, g in facts.gates.items()} == {
        "tests": "passed",
        "lint": "passed",
    }
    assert facts.gates["tests"].seq == EVENTS - 1
    assert facts.skills == ["tdd", "small-commits"]
    # The question was answered (the run left waiting_for_human): none is open.
    assert facts.question is None
    assert facts.state is RunState.FINISHED and facts.seq == EVENTS
    assert [t.new for t in facts.transitions] == [
        RunState.QUEUED,
        RunState.RUNNING,
        RunState.WAITING_FOR_HUMAN,
        RunState.RUNNING,
        RunState.FINISHED,
    ]
    assert facts.files_touched == sum(e.type == "file_changed" for e in events) > 0


def test_each_event_is_folded_once_wherever_the_fold_was_cut() -> None:
    """What the engine folded, then a client with the events after: the same facts as
    one fold, and events given again (a follower's overlap) change nothing."""
    _, events = eventful_run("r1", "app", 120)
    whole = folded(events)
    for cut in (0, 1, 9, 50, 119, 120):
        engine_side = folded(events[:cut])
        client_side = folded(events[max(0, cut - 30) :], engine_side.copy())
        assert client_side == whole, cut
    assert not whole.copy().apply(events[-1])
    assert folded(events, whole.copy()) == whole


def test_an_open_question_stays_until_the_run_leaves_waiting() -> None:
    at = utcnow()
    asked = HumanAsked(
        run_id="r", seq=3, at=at, question="allow curl?", kind="permission", choices=["once"]
    )
    waiting = RunStateChanged(
        run_id="r", seq=4, old=RunState.RUNNING, new=RunState.WAITING_FOR_HUMAN
    )
    facts = folded([asked, waiting, AgentText(run_id="r", seq=5, text="…")])
    assert (facts.question, facts.question_since, facts.question_kind, facts.choices) == (
        "allow curl?",
        at,
        "permission",
        ["once"],
    )
    facts.apply(
        RunStateChanged(run_id="r", seq=6, old=RunState.WAITING_FOR_HUMAN, new=RunState.RUNNING)
    )
    assert facts.question is None


def test_a_copy_is_independent_of_its_original() -> None:
    _, events = eventful_run("r1", "app", 60)
    original = folded(events)
    kept = codec.encode(original)
    copy = original.copy()
    copy.guard["no-rm"]["refused"] += 5
    copy.skills.append("more")
    copy.choices.append("no")
    copy.transitions.clear()
    copy.gates.clear()
    assert codec.encode(original) == kept


def test_facts_cross_the_wire_unchanged() -> None:
    _, events = eventful_run("r1", "app", 80)
    facts = folded(events)
    facts.review = ReviewDecided(run_id="r1", seq=81, decision="approved", base="main", sha="ab")
    assert codec.decode(RunFacts, codec.encode(facts)) == facts


def test_fact_types_are_the_types_that_change_facts() -> None:
    """Every event that changes the facts is of a type the store reads for them, and
    every such type changes them: a type missing from FACT_TYPES would make the engine's
    facts silently wrong."""
    _, events = eventful_run("r1", "app", 60)
    samples: list[Event] = [
        *events,
        ReviewDecided(run_id="r1", decision="rejected", salvage="cockpit/salvage/r1"),
    ]
    changing: set[str] = set()
    for event in samples:
        facts = RunFacts(seq=0)
        facts.apply(event)
        if facts != RunFacts(seq=event.seq):
            changing.add(event.type)
    assert changing == set(FACT_TYPES)


def test_a_gate_verdict_on_an_older_turn_is_still_the_latest() -> None:
    at = utcnow()
    first = GateDecided(run_id="r", seq=2, at=at, name="tests", kind="pytest", status="passed")
    later = GateDecided(
        run_id="r", seq=3, at=at + timedelta(seconds=1), name="tests", kind="pytest", status="error"
    )
    assert folded([first, later]).gates == {"tests": later}
