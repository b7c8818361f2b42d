"""One-line, human-readable descriptions of runs and events (CLI and UI share them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.domain.events import (
    AgentText,
    ErrorOccurred,
    Event,
    FileChanged,
    GateDecided,
    GuardDecided,
    HumanAsked,
    ProcessesEnded,
    ReviewDecided,
    RunStateChanged,
    SkillsLoaded,
    SteeringDelivered,
    SteeringQueued,
    ToolCallFinished,
    ToolCallRequested,
    TurnFinished,
    UsageReported,
    WorkCommitted,
)
from engine.domain.models import Run, utcnow


def _one_line(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``: a count with its noun in the right number."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def state_reason(state: str, reason: str | None) -> str:
    """The reason a state line shows in brackets: nothing when it only repeats the
    state (``cancelled (cancelled)``)."""
    if not reason or reason.strip().lower() == state.lower():
        return ""
    return reason


def finding_line(finding: dict) -> str:
    """One gate finding: ``path:line: code message``."""
    where = str(finding.get("path", ""))
    if finding.get("line"):
        where += f":{finding['line']}"
    return f"{where}: {finding.get('code', '')} {finding.get('message', '')}".strip(" :")


def describe_gate(event: GateDecided) -> str:
    """``gate NAME: VERDICT, N findings (first: …)``, as the run pane words it."""
    text = f"gate {event.name}: {event.status}"
    if event.findings:
        text += f", {plural(len(event.findings), 'finding')}"
        first = finding_line(event.findings[0])
        if first:
            text += f" (first: {_one_line(first, 80)})"
    elif event.detail and event.status != "passed":
        text += f" ({_one_line(event.detail, 80)})"
    return text


def steer_hint(run_id: str, asked: HumanAsked) -> str:
    """The command that answers ``asked``, ready to copy: ``cockpit steer RUN "…"``."""
    if asked.kind == "permission" and asked.choices:
        first, *others = asked.choices
        alternatives = f" (or: {', '.join(others)})" if others else ""
        return f'answer with: cockpit steer {run_id} "{first}"{alternatives}'
    return f'answer with: cockpit steer {run_id} "YOUR ANSWER"'


def describe_event(event: Event) -> str:
    """A short summary of an event, without its timestamp."""
    match event:
        case RunStateChanged(new=new, reason=reason):
            why = state_reason(new.value, reason)
            return f"state → {new.value}" + (f" ({_one_line(why, 80)})" if why else "")
        case GateDecided():
            return describe_gate(event)
        case AgentText(text=text):
            return f"agent: {_one_line(text)}"
        case ToolCallRequested(tool=tool, arguments=args):
            shown = args.get("command") or args.get("path") or ""
            return f"tool {tool}: {_one_line(str(shown), 80)}"
        case ToolCallFinished(tool=tool, output=output, is_error=is_error, exit_code=code):
            status = "error" if is_error else "ok"
            if code is not None:
                status += f", exit {code}"
            return f"tool {tool} {status}: {_one_line(output, 80)}"
        case FileChanged(path=path, change=change):
            return f"file {change}: {path}"
        case TurnFinished(turn=turn, sha=sha):
            return f"turn {turn} finished (snapshot {sha[:10]})"
        case SteeringQueued(text=text):
            return f"steering sent: {_one_line(text, 80)}"
        case SteeringDelivered(text=text):
            return f"steering delivered: {_one_line(text, 80)}"
        case HumanAsked(question=question):
            return f"asks you: {_one_line(question)}"
        case UsageReported(input_tokens=i, output_tokens=o, cost_usd=cost):
            return f"usage: {i} in / {o} out" + (f", ${cost:.4f}" if cost is not None else "")
        case ErrorOccurred(message=message):
            return f"error: {_one_line(message)}"
        case GuardDecided(rule=rule, tool=tool, action=action, outcome=outcome, reason=reason):
            why = f": {_one_line(reason, 60)}" if reason else ""
            return f"guard {outcome} {tool} {_one_line(action, 60)} ({rule}{why})"
        case ReviewDecided(decision="approved", base=base, sha=sha, merged=False):
            return f"approved: nothing to merge, {base} already had it ({(sha or '')[:10]})"
        case ReviewDecided(decision="approved", base=base, sha=sha, squash=squash):
            return (
                f"approved: {'squashed' if squash else 'merged'} into {base} ({(sha or '')[:10]})"
            )
        case ReviewDecided(salvage=salvage):
            return f"rejected: work saved in {salvage}"
        case SkillsLoaded(names=names):
            return f"skills loaded: {', '.join(names)}"
        case ProcessesEnded(count=count):
            ended = plural(count, "process", "processes")
            return f"ended {ended} left running by the run's earlier execution"
        case WorkCommitted(branch=branch, sha=sha):
            return f"work committed to {branch}" + (f" ({sha[:10]})" if sha else " (no changes)")
    return event.type


def age(moment: datetime, now: datetime | None = None) -> str:
    """A compact age such as ``42s``, ``5m``, ``3h``, ``2d``."""
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


#: Decided runs older than this are left out of the list and of ``cockpit runs``
#: (``--all`` and the cockpit's ``cockpit.all_runs`` key show them).
HIDE_DECIDED_AFTER = timedelta(days=1)


def hidden_by_default(run: Run, now: datetime | None = None) -> bool:
    """Whether ``run`` was decided (merged or rejected) more than a day ago."""
    if run.decided_at is None:
        return False
    return (now or utcnow()) - run.decided_at > HIDE_DECIDED_AFTER


def run_row(run: Run) -> list[str]:
    """Columns of ``cockpit runs``: id, state (the decision once made: merged, nothing
    to merge, rejected), repo, agent, turns, age, task."""
    return [
        run.id,
        run.outcome,
        run.repo,
        run.agent,
        str(run.turns_completed),
        age(run.created_at),
        _one_line(run.task, 60),
    ]
