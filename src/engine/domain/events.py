"""Typed domain events (past tense): dataclasses told apart by their ``type`` field.

Every event carries the run it belongs to, a per-run sequence number (assigned by the
engine that owns the run, so it is dense and ordered) and a UTC timestamp.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from engine.domain import codec
from engine.domain.models import utcnow
from engine.domain.state import RunState


@dataclass(kw_only=True)
class EventBase:
    """Fields every event has. ``seq`` is 0 until the bus assigns it."""

    run_id: str
    seq: int = 0
    at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True)
class RunStateChanged(EventBase):
    """The run moved from ``old`` to ``new``; ``reason`` says why when it is not obvious."""

    type: Literal["run_state_changed"] = "run_state_changed"
    old: RunState | None = None
    new: RunState
    reason: str | None = None


@dataclass(kw_only=True)
class AgentText(EventBase):
    """Text the agent said (a whole message or a streamed chunk)."""

    type: Literal["agent_text"] = "agent_text"
    text: str


@dataclass(kw_only=True)
class ToolCallRequested(EventBase):
    """The agent asked to run a tool; ``kind`` is the guard's tool kind (shell/read/write/edit)."""

    type: Literal["tool_call_requested"] = "tool_call_requested"
    call_id: str
    tool: str
    kind: str = "other"
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class ToolCallFinished(EventBase):
    """A tool call ended; ``output`` is the (possibly truncated) result shown to the agent."""

    type: Literal["tool_call_finished"] = "tool_call_finished"
    call_id: str
    tool: str
    output: str = ""
    is_error: bool = False
    exit_code: int | None = None


@dataclass(kw_only=True)
class FileChanged(EventBase):
    """A file in the worktree was added, modified or deleted."""

    type: Literal["file_changed"] = "file_changed"
    path: str
    change: Literal["added", "modified", "deleted"]


@dataclass(kw_only=True)
class TurnFinished(EventBase):
    """An agent turn ended and the worktree was snapshotted on ``ref``."""

    type: Literal["turn_finished"] = "turn_finished"
    turn: int
    ref: str
    sha: str


@dataclass(kw_only=True)
class SteeringQueued(EventBase):
    """A steering message (or an answer) was sent to the run and waits for the agent:
    every cockpit shows it as pending, whichever one it was typed in."""

    type: Literal["steering_queued"] = "steering_queued"
    steering_id: int
    text: str


@dataclass(kw_only=True)
class SteeringDelivered(EventBase):
    """A steering message (or an answer) reached the agent."""

    type: Literal["steering_delivered"] = "steering_delivered"
    steering_id: int
    text: str


@dataclass(kw_only=True)
class HumanAsked(EventBase):
    """The run waits for the human's answer: an agent's ``question``, or (``kind``
    ``permission``) the guard asking whether a tool call may run, with the answers the
    cockpit offers as ``choices``."""

    type: Literal["human_asked"] = "human_asked"
    question: str
    kind: Literal["question", "permission"] = "question"
    choices: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class UsageReported(EventBase):
    """Token counts and cost, when the backend reports them."""

    type: Literal["usage_reported"] = "usage_reported"
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


@dataclass(kw_only=True)
class ErrorOccurred(EventBase):
    """Something went wrong; ``detail`` may hold stderr or a traceback summary."""

    type: Literal["error"] = "error"
    message: str
    detail: str | None = None


@dataclass(kw_only=True)
class WorkCommitted(EventBase):
    """At the end of a run the worktree's work was committed to the run's branch."""

    type: Literal["work_committed"] = "work_committed"
    branch: str
    sha: str | None = None
    message: str = ""


@dataclass(kw_only=True)
class GateDecided(EventBase):
    """A gate judged the run's tree: ``tree`` is the commit it judged (a turn snapshot,
    or the final commit), so a verdict on an older tree can be shown as stale.
    ``findings`` hold :meth:`engine.domain.gates.Finding.as_json` dicts."""

    type: Literal["gate_decided"] = "gate_decided"
    name: str
    kind: str
    status: str
    blocking: bool = True
    findings: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""
    tree: str | None = None
    turn: int | None = None


@dataclass(kw_only=True)
class GuardDecided(EventBase):
    """A guard rule judged a tool call before it ran: its ``decision`` (allow, ask, deny)
    and the ``outcome`` (``allowed`` or ``refused``, after the human for an ask). The
    same decision is a row of the guard's ledger."""

    type: Literal["guard_decided"] = "guard_decided"
    rule: str
    tool: str
    action: str
    decision: str
    outcome: str
    reason: str = ""


@dataclass(kw_only=True)
class ReviewDecided(EventBase):
    """The human decided a finished run: ``approved`` (its branch merged into ``base`` as
    ``sha``, squashed or not, ``gates_overridden`` naming red blocking gates let
    through) or ``rejected`` (its work saved in ``salvage``, worktree and branch gone)."""

    type: Literal["review_decided"] = "review_decided"
    decision: Literal["approved", "rejected"]
    base: str = ""
    sha: str | None = None
    squash: bool = False
    gates_overridden: list[str] = field(default_factory=list)
    salvage: str | None = None
    #: False when the base already had every change and nothing was merged.
    merged: bool = True


@dataclass(kw_only=True)
class SkillsLoaded(EventBase):
    """The skills the run loaded (names, in the order the agent gets them)."""

    type: Literal["skills_loaded"] = "skills_loaded"
    names: list[str]


@dataclass(kw_only=True)
class ProcessesEnded(EventBase):
    """Processes left alive by an earlier execution of the run (its engine was killed)
    were ended before the run went on."""

    type: Literal["processes_ended"] = "processes_ended"
    count: int


Event = (
    RunStateChanged
    | AgentText
    | ToolCallRequested
    | ToolCallFinished
    | FileChanged
    | TurnFinished
    | SteeringQueued
    | SteeringDelivered
    | HumanAsked
    | UsageReported
    | ErrorOccurred
    | WorkCommitted
    | GateDecided
    | GuardDecided
    | SkillsLoaded
    | ProcessesEnded
    | ReviewDecided
)


def event_from_json(data: str | bytes) -> Event:
    """Parse one stored event back into its typed class."""
    return event_from_data(json.loads(data))


def events_from_json(texts: Iterable[str | bytes]) -> list[Event]:
    """Stored events back into their typed classes, the JSON of all parsed at once."""
    items = [t.decode() if isinstance(t, bytes) else t for t in texts]
    return codec.decode(list[Event], json.loads("[" + ",".join(items) + "]"))


def event_from_data(data: Any) -> Event:
    """One event from its JSON data (``ValueError`` when it is not one)."""
    return codec.decode(Event, data)


#: One encoder for every event stored (``json.dumps`` with options builds one per call).
_TO_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def event_to_json(event: Event) -> str:
    """Serialise one event for storage."""
    return _TO_JSON(codec.encode(event))
