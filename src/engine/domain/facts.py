"""What a run's whole history says, folded from its events: the totals, the latest
verdicts and the open question a client shows of a run without holding every event.

The engine folds them from every stored event (:meth:`EngineApi.run_facts`, and with
each snapshot); a client folds the events that come after into its own copy. So a run
of 100,000 events shows the tokens it used, not those of the page a client read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from engine.domain.events import (
    Event,
    FileChanged,
    GateDecided,
    GuardDecided,
    HumanAsked,
    ReviewDecided,
    RunStateChanged,
    SkillsLoaded,
    UsageReported,
)
from engine.domain.state import RunState

#: The events that change a run's facts (their ``type``): the store reads only these to
#: fold them, through an index of its own (the SQL names the same types).
FACT_TYPES = frozenset(
    {
        "run_state_changed",
        "usage_reported",
        "guard_decided",
        "gate_decided",
        "human_asked",
        "skills_loaded",
        "review_decided",
        "file_changed",
    }
)


@dataclass(kw_only=True)
class Transition:
    """One of a run's state changes: when, from what, to what."""

    at: datetime
    old: RunState | None
    new: RunState


@dataclass(kw_only=True)
class RunFacts:
    """A run's facts after its events up to ``seq`` (each of :data:`FACT_TYPES` folded
    once, in order)."""

    #: The seq of the newest event folded in (0: none). An event at or below it is in.
    seq: int = 0
    #: The state its events tell (None before the first state change).
    state: RunState | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    #: Summed over the reports that gave one (None: no backend reported a cost).
    cost_usd: float | None = None
    #: The guard's decisions: rule → outcome → count.
    guard: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The latest verdict of each gate, by gate name.
    gates: dict[str, GateDecided] = field(default_factory=dict)
    #: The open question (None once the run left ``waiting_for_human``): its text, since
    #: when, ``question`` or ``permission``, and the answers offered.
    question: str | None = None
    question_since: datetime | None = None
    question_kind: str = "question"
    choices: list[str] = field(default_factory=list)
    #: The skills the run loaded, in the order the agent got them.
    skills: list[str] = field(default_factory=list)
    #: The human's review decision, once made.
    review: ReviewDecided | None = None
    #: File changes reported (each add, edit or delete counts).
    files_touched: int = 0
    #: Every state change, oldest first: the run's active time is summed from them.
    transitions: list[Transition] = field(default_factory=list)

    def apply(self, event: Event) -> bool:
        """Fold one event in; False when it was already (its seq is not past ``seq``).
        An event of no fact type only moves ``seq``."""
        if event.seq and event.seq <= self.seq:
            return False
        self.seq = max(self.seq, event.seq)
        match event:
            case RunStateChanged(new=new):
                old = self.state if self.state is not None else event.old
                self.transitions.append(Transition(at=event.at, old=event.old, new=new))
                self.state = new
                if old is RunState.WAITING_FOR_HUMAN and new is not old:
                    self.question = None  # answered, cancelled or interrupted
            case UsageReported(input_tokens=i, output_tokens=o, cost_usd=cost):
                self.input_tokens += i
                self.output_tokens += o
                if cost is not None:
                    self.cost_usd = (self.cost_usd or 0.0) + cost
            case GuardDecided(rule=rule, outcome=outcome):
                outcomes = self.guard.setdefault(rule, {})
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            case GateDecided(name=name):
                self.gates[name] = event
            case HumanAsked(question=question, kind=kind, choices=choices):
                self.question = question
                self.question_since = event.at
                self.question_kind = kind
                self.choices = list(choices)
            case SkillsLoaded(names=names):
                self.skills = list(names)
            case ReviewDecided():
                self.review = event
            case FileChanged():
                self.files_touched += 1
        return True

    def copy(self) -> RunFacts:
        """An independent copy: every field carried over, its tables and lists rebuilt
        (events are never changed, so they are shared)."""
        return dataclasses.replace(
            self,
            guard={rule: dict(outcomes) for rule, outcomes in self.guard.items()},
            gates=dict(self.gates),
            choices=list(self.choices),
            skills=list(self.skills),
            transitions=list(self.transitions),
        )
